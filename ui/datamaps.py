"""Data maps and the relabel queue in the browser: cached core.dynamics / core.relabel results, the progress bar
of a first cross-validation, and "save selection as slice" (core.slices.store)."""
from __future__ import annotations

from typing import Any

import pandas as pd
import streamlit as st

from core import artifacts
from core import dynamics as D


def _progress_bar(text: str):
    """A progress callback drawing an st.progress bar on its first call (nothing when results are on disk)."""
    bars: list[Any] = []

    def show(done, total, message="", extra=None):
        if not bars:
            bars.append(st.progress(0.0, text=text))
        bars[0].progress(min(1.0, done / max(total, 1)), text=message or text)

    show.bars = bars  # type: ignore[attr-defined]
    return show


@st.cache_data(max_entries=8, show_spinner=False)
def _frame(name: str, stamp: str, label: str | None) -> pd.DataFrame:
    dyn, ds = D.dynamics_of(name)
    return D.with_label_issues(D.data_map(dyn, ds, label), dyn, ds)


def ensure_dynamics(name: str) -> None:
    """Cross-validate a TF-IDF model's dynamics the first time, with a progress bar (cached on disk after)."""
    if D.status(name) == "cross-validate":
        show = _progress_bar("Cross-validating the model on its training rows (first time only; cached on disk)…")
        try:
            D.dynamics_of(name, progress=show)
        finally:
            for bar in show.bars:  # type: ignore[attr-defined]
                bar.empty()


def data_map(name: str, label: str | None = None) -> pd.DataFrame:
    """core.dynamics data map of `name` (per `label` for multi-label) with cleanlab flags."""
    ensure_dynamics(name)
    return _frame(name, artifacts.stamp(name) + "|" + D.status(name), label)


def save_rows_as_slice(dataset: str, name: str, texts: list[str], description: str) -> str:
    """Save `texts` as slice `name` (kind "texts") of `dataset` through core.slices.store; returns the message."""
    from core.slices.store import save_slice

    save_slice(dataset, name, kind="texts", definition=list(texts), description=description)
    return f"Saved {len(texts):,} rows as slice “{name}” of {dataset}."


@st.cache_data(max_entries=8, show_spinner="Ranking the relabel queue…")
def _queue(name: str, stamp: str) -> pd.DataFrame:
    from core.relabel.queue import build_queue

    return build_queue(name)


def overlay_version(name: str) -> int:
    """Saved corrections version of model `name`'s dataset (0 = none)."""
    from core.relabel.corrections import load_overlay

    return load_overlay(D.model_dataset(name)).version


def relabel_queue(name: str) -> pd.DataFrame:
    """core.relabel.queue.build_queue of `name`, cached per artifact, dynamics and corrections version (a saved
    correction takes its row out of the queue at once)."""
    ensure_dynamics(name)
    return _queue(name, f"{artifacts.stamp(name)}|{D.status(name)}|{overlay_version(name)}")


def start_retrain(name: str, new_name: str | None) -> str | None:
    """Start `python -m core retrain NAME [--name NEW]` in the background (errors shown; None if not started)."""
    from core import jobs

    from .jobs import _start

    def start() -> str:
        if new_name:
            artifacts.check_new_name(new_name)
        info = artifacts.get_artifact(name)
        return jobs.start_job(info.dataset, info.kind, name=new_name, command="retrain", extra_args=[name])

    return _start("retraining", start)
