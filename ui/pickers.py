"""Model and dataset pickers whose choice is remembered across pages.

A link like ?model=NAME&dataset=NAME seeds the remembered choices once, in app.py (the one place that reads those
query parameters); the pickers below fall back to the remembered choice whenever their own widget has no value.
"""
from __future__ import annotations

from collections.abc import Callable
from typing import Any

import streamlit as st

from core import artifacts

from .cache import artifact_infos
from .chrome import PAGE_DATASET, empty_state
from .datasets import dataset_list

SHARED_MODEL, SHARED_DATASET = "_shared_model", "_shared_dataset"


def _remembered_select(label: str, options: list[str], key: str, shared: str, format_func: Callable = str,
                       help: str | None = None) -> str | None:
    """A selectbox whose choice is remembered across pages in session_state[`shared`].

    Widget state is dropped when the user changes page, so the widget is re-seeded from `shared`.
    """
    if not options:
        return None
    if st.session_state.get(key) not in options:
        remembered = st.session_state.get(shared)
        st.session_state[key] = remembered if remembered in options else options[0]
    value = st.selectbox(label, options, key=key, format_func=format_func, help=help)
    st.session_state[shared] = value
    return value


def _dataset_titles(rows: list[dict[str, Any]]) -> dict[str, str]:
    out = {}
    for r in rows:
        task = "multi-label" if r.get("task") == "multilabel" else "multi-class"
        out[r["name"]] = f"{r.get('title') or r['name']} ({r['name']}, {task}, {r.get('language', '?')})"
    return out


def pick_dataset(key: str = "dataset", label: str = "Dataset", help: str | None = None) -> str | None:
    """Choose an available dataset (built-in or uploaded); None with an explanation if none is available."""
    rows = dataset_list()
    names = [r["name"] for r in rows if r.get("available", True)]
    if not names:
        empty_state("No dataset is available: the built-in datasets were not found on the data search path. "
                    "Upload your own file.", PAGE_DATASET, "Upload a dataset", ":material/upload:")
        return None
    titles = _dataset_titles(rows)
    return _remembered_select(label, names, key, SHARED_DATASET, format_func=lambda n: titles.get(n, n), help=help)


def model_label(info: artifacts.ArtifactInfo) -> str:
    """"name · kind · dataset · acc 0.912" for a picker."""
    m = info.metrics or {}
    acc = m.get("accuracy")
    return f"{info.name} · {info.kind} · {info.dataset}" + (f" · acc {acc:.3f}" if isinstance(acc, float) else "")


def _working(dataset: str | None, require: str | None) -> list[artifacts.ArtifactInfo]:
    """Working artifacts (of `dataset`, declaring `require`), newest first."""
    return [i for i in artifact_infos(dataset) if i.ok and (not require or require in i.capabilities)]


def pick_model(dataset: str | None = None, key: str = "model", require: str | None = None,
               label: str = "Model", help: str | None = None) -> str | None:
    """Choose a working trained model (optionally on `dataset`, declaring capability `require`).

    Draws an empty state with a link to Train and returns None when there is none.
    """
    infos = _working(dataset, require)
    if not infos:
        where = f" on {dataset}" if dataset else ""
        need = f" that supports “{require}”" if require else ""
        empty_state(f"No model{need} trained{where} yet — train one.")
        return None
    by_name = {i.name: i for i in infos}
    return _remembered_select(label, list(by_name), key, SHARED_MODEL,
                              format_func=lambda n: model_label(by_name[n]), help=help)


def pick_models(dataset: str | None = None, key: str = "models", label: str = "Models",
                default_n: int = 3, require: str | None = None) -> list[str]:
    """Choose several working models (the newest `default_n` preselected)."""
    names = [i.name for i in _working(dataset, require)]
    if key in st.session_state:
        st.session_state[key] = [n for n in st.session_state[key] if n in names]
        return st.multiselect(label, names, key=key)
    return st.multiselect(label, names, default=names[:default_n], key=key)


def pick_other_model(exclude: str, key: str, label: str = "Second model", require: str | None = None,
                     dataset: str | None = None) -> str | None:
    """A second model (not `exclude`), not shared with the other pages' pickers; models of `dataset` first."""
    infos = [i for i in _working(None, require) if i.name != exclude]
    if dataset:
        infos = [i for i in infos if i.dataset == dataset] + [i for i in infos if i.dataset != dataset]
    if not infos:
        st.info("No other model to compare with" + (f" (one that supports “{require}”)" if require else "") + ".",
                icon=":material/info:")
        return None
    by_name = {i.name: i for i in infos}
    if st.session_state.get(key) not in by_name:
        st.session_state.pop(key, None)
    return st.selectbox(label, list(by_name), key=key, format_func=lambda n: model_label(by_name[n]))


def model_and_predictions(key: str, empty: str, min_texts: int = 1, require: str | None = None
                          ) -> tuple[str, artifacts.Predictions]:
    """`pick_model` and its stored test predictions; stops the page (after saying why) when there is no model,
    the predictions cannot be read, or the test split has fewer than `min_texts` texts (message `empty`)."""
    from .cache import load_predictions
    from .chrome import guard

    name = pick_model(key=key, require=require)
    if name is None:
        st.stop()
    preds = None
    with guard("Could not read the stored predictions"):
        preds = load_predictions(name)
    if preds is None:
        st.stop()
    if len(preds.texts) < min_texts:
        empty_state(empty, None)
        st.stop()
    return name, preds


def dataset_and_models(key: str, empty: str = "No model trained on {dataset} yet — train one."
                       ) -> tuple[str, list[artifacts.ArtifactInfo]]:
    """`pick_dataset` and its working models, newest first; stops the page when there is no dataset or no model
    (message `empty`, formatted with the dataset's name)."""
    dataset = pick_dataset(key=key)
    if dataset is None:
        st.stop()
    infos = _working(dataset, None)
    if not infos:
        empty_state(empty.format(dataset=dataset))
        st.stop()
    return dataset, infos
