"""The retrain loop: apply a model's dataset corrections (a new dataset version) and train a new model with the
source model's settings on it (core.train.run)."""
from __future__ import annotations

from pathlib import Path
from typing import Any

from .. import artifacts
from ..dynamics.source import model_dataset
from ..progress import ProgressCallback, null_progress
from .apply import save_corrected


def source_settings(name: str) -> tuple[str, dict[str, Any], int | None]:
    """(kind, settings, max_train) model `name` was trained with (its manifest config)."""
    info = artifacts.get_artifact(name)
    settings = dict(info.manifest.get("config") or {})
    max_train = settings.pop("max_train", None)
    return info.kind, settings, max_train


def full_dataset(name: str):
    """The whole dataset model `name` was trained on (no max_train sample): corrections apply to every row."""
    from ..data import load_dataset

    ds = model_dataset(name)
    return load_dataset(ds.name) if ds.meta.get("max_train") else ds


def retrain(name: str, new_name: str | None = None, progress: ProgressCallback = null_progress) -> tuple[Path, str]:
    """Save the corrected dataset version of model `name`'s data, train `new_name` (default "<name>-corrected",
    the next free one) with the same family and settings on it; returns (artifact folder, dataset reference)."""
    kind, settings, max_train = source_settings(name)
    if new_name is not None:
        artifacts.check_new_name(new_name)
    ref, _ = save_corrected(full_dataset(name))
    from ..train import run

    new_name = new_name or artifacts.unique_name(f"{name[:50]}-corrected")
    return run(ref, kind, settings, name=new_name, progress=progress, max_train=max_train), ref
