"""The retrain loop: apply a model's dataset corrections (a new dataset version) and train a new model with the
source model's family and settings on it (core.pool.grow.retrain: the same "retrain with the recorded settings"
the active-learning loop uses)."""
from __future__ import annotations

from pathlib import Path

from .. import artifacts
from ..dynamics.source import model_dataset
from ..progress import ProgressCallback, null_progress
from .apply import save_corrected


def full_dataset(name: str):
    """The whole dataset model `name` was trained on (no max_train sample): corrections apply to every row."""
    from ..data import load_dataset

    ds = model_dataset(name)
    return load_dataset(ds.name) if ds.meta.get("max_train") else ds


def retrain(name: str, new_name: str | None = None, progress: ProgressCallback = null_progress) -> tuple[Path, str]:
    """Save the corrected dataset version of model `name`'s data, train `new_name` (default "<name>-corrected",
    the next free one) with the same family and settings on it; returns (artifact folder, dataset reference)."""
    from ..pool.grow import retrain as retrain_on
    from ..pool.grow import retrain_settings

    retrain_settings(name)  # refuses a compressed variant before any dataset version is written
    if new_name is not None:
        artifacts.check_new_name(new_name)
    ref, _ = save_corrected(full_dataset(name))
    new_name = new_name or artifacts.unique_name(f"{name[:50]}-corrected")
    return retrain_on(name, ref, new_name, progress), ref
