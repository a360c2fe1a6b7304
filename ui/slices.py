"""The Slices page's bridge to core.slices: slice tables, comparisons and discovery with an st.progress bar, cached
per model version, dataset and saved-slice list (core.slices also caches them on disk, so a new session reads
them without recomputing)."""
from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pandas as pd
import streamlit as st

from core import artifacts, slices
from core.slices import store

from .cache import locked_model


def _progress(text: str) -> tuple[Callable[..., None], list]:
    """A core ProgressCallback drawing an st.progress bar on its first call (so cache hits show nothing)."""
    bars: list = []

    def report(done: float, total: float, message: str = "", extra: Any = None) -> None:
        if not bars:
            bars.append(st.progress(0.0, text=text))
        bars[0].progress(min(1.0, done / total) if total else 0.0, text=message or text)

    return report, bars


def _run(text: str, work: Callable[[Callable[..., None]], Any]) -> Any:
    report, bars = _progress(text)
    with st.spinner(text):
        out = work(report)
    for bar in bars:
        bar.empty()
    return out


def _key(dataset: str | None) -> str:
    return store.store_stamp(dataset) if dataset else ""


# cached functions take the progress callback as `_progress` (leading underscore: not part of the cache key), so
# a cache hit draws no bar at all
@st.cache_data(max_entries=16, show_spinner=False)
def _table(name: str, stamp: str, dataset: str | None, store_key: str, _progress) -> pd.DataFrame:
    return slices.slice_table(name, dataset, progress=_progress)


def slice_table(name: str, dataset: str | None = None) -> pd.DataFrame:
    """core.slices.slice_table of model `name` (its test split, or `dataset`'s), cached."""
    key = _key(dataset or artifacts.get_artifact(name).dataset)
    return _run("Computing metrics by slice…", lambda p: _table(name, artifacts.stamp(name), dataset, key, p))


@st.cache_data(max_entries=16, show_spinner=False)
def _against(name: str, parent: str, stamps: tuple[str, str], dataset: str | None, store_key: str,
             _progress) -> pd.DataFrame:
    return slices.against_table(name, parent, dataset, progress=_progress)


def slice_against(name: str, parent: str, dataset: str | None = None) -> pd.DataFrame:
    """core.slices.against_table of `name` against `parent`, cached."""
    key = _key(dataset or artifacts.get_artifact(parent).dataset)
    stamps = (artifacts.stamp(name), artifacts.stamp(parent))
    return _run(f"Comparing {name} with {parent} slice by slice…",
                lambda p: _against(name, parent, stamps, dataset, key, p))


@st.cache_data(max_entries=16, show_spinner=False)
def _discover(name: str, stamp: str, dataset: str | None, space: str, _progress) -> slices.Discovery:
    def embed(texts):
        with locked_model(name) as model:  # the model is shared by every session: lock per batch
            return model.embed(texts)

    return slices.discover(name, dataset, space=space, progress=_progress, embed=embed)


def discover_slices(name: str, dataset: str | None = None, space: str = "auto") -> slices.Discovery:
    """core.slices.discover of model `name`, cached."""
    return _run("Clustering the errors (first time only; cached on disk)…",
                lambda p: _discover(name, artifacts.stamp(name), dataset, space, p))


@st.cache_data(max_entries=8, show_spinner=False)
def _eval_set(name: str, stamp: str, dataset: str | None) -> slices.EvalSet:
    return slices.eval_set(name, dataset)


def slice_rows(name: str, dataset: str | None = None) -> slices.EvalSet:
    """The rows the tables above are computed on (core.slices.eval_set), cached."""
    return _eval_set(name, artifacts.stamp(name), dataset)


@st.cache_data(max_entries=8, show_spinner=False)
def _columns(dataset: str, rows_key: str, _texts: list[str]) -> pd.DataFrame | None:
    from core.slices.columns import columns_for

    return columns_for(dataset, _texts)


def slice_columns(rows: slices.EvalSet) -> pd.DataFrame | None:
    """The metadata columns of the rows' dataset aligned with its texts (core.slices.columns), cached."""
    return _columns(rows.dataset, f"{rows.stamp}|{rows.fingerprint}", rows.preds.texts)


def refresh_slices() -> None:
    """Forget cached tables after a slice was saved or deleted (the store stamp changes their key anyway)."""
    _table.clear()
    _against.clear()
