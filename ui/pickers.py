"""Model and dataset pickers whose choice is remembered across pages.

A link like ?model=NAME&dataset=NAME seeds the remembered choices once, in app.py (the one place that reads those
query parameters); the pickers below fall back to the remembered choice whenever their own widget has no value,
and follow it when another page (or a save) moved it. Choosing a model moves the shared dataset to that model's
dataset, so pages that choose a dataset open on the dataset of the selected model.
"""
from __future__ import annotations

from collections.abc import Callable
from typing import Any

import streamlit as st

from core import artifacts

from .cache import artifact_info, artifact_infos
from .chrome import PAGE_DATASET, empty_state
from .datasets import dataset_list

SHARED_MODEL, SHARED_DATASET = "_shared_model", "_shared_dataset"
#: The shared model whose dataset was last copied into SHARED_DATASET (see `_follow_model`).
_SYNCED_MODEL = "_shared_synced_model"


def _seen_key(key: str) -> str:
    return f"_seen_{key}"


def _remembered_select(label: str, options: list[str], key: str, shared: str, format_func: Callable = str,
                       help: str | None = None) -> str | None:
    """A selectbox whose choice is remembered across pages in session_state[`shared`].

    Widget state is dropped when the user changes page, so the widget is re-seeded from `shared`; it is also
    re-seeded when `shared` was moved elsewhere since this widget last wrote it (a model picked on another page,
    a dataset just saved), so the page follows the user's latest choice.
    """
    if not options:
        return None
    ss = st.session_state
    remembered = ss.get(shared)
    moved = remembered in options and remembered != ss.get(key) and remembered != ss.get(_seen_key(key))
    if ss.get(key) not in options or moved:
        ss[key] = remembered if remembered in options else options[0]
    value = st.selectbox(label, options, key=key, format_func=format_func, help=help)
    ss[shared] = ss[_seen_key(key)] = value
    return value


def _follow_model() -> None:
    """Move the shared dataset to the dataset of the shared model when the model changed since the last move.

    A link naming both (?model=X&dataset=Y) keeps its dataset: app.py seeded both at once."""
    ss = st.session_state
    model = ss.get(SHARED_MODEL)
    if not model or ss.get(_SYNCED_MODEL) == model:
        return
    ss[_SYNCED_MODEL] = model
    seeded = ss.get("_seeded_dataset")
    if seeded and ss.get("_seeded_model") == model and seeded == ss.get(SHARED_DATASET):
        return
    info = artifact_info(model)
    if info is not None:
        ss[SHARED_DATASET] = info.dataset


def select_model(name: str) -> None:
    """Make `name` the shared model (a button callback: "use this model"); the pickers follow it."""
    st.session_state[SHARED_MODEL] = name


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
    _follow_model()
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
    value = _remembered_select(label, list(by_name), key, SHARED_MODEL,
                               format_func=lambda n: model_label(by_name[n]), help=help)
    _follow_model()
    return value


def pick_models(dataset: str | None = None, key: str = "models", label: str = "Models",
                default_n: int = 3, require: str | None = None, only: list[str] | None = None) -> list[str]:
    """Choose several working models (the newest `default_n` preselected; `only`: among these names, e.g. the
    models scored on one test set)."""
    names = [i.name for i in _working(dataset, require) if only is None or i.name in only]
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


def offer_models(infos: list[artifacts.ArtifactInfo], key: str) -> None:
    """A "Use NAME" button per model; a click makes it the shared model (every picker follows on the rerun)."""
    for i in infos:
        st.button(f"Use {model_label(i)}", key=f"{key}-{i.name}", on_click=select_model, args=(i.name,),
                  icon=":material/arrow_forward:")


def require_selected(require: str, lacking: str, key: str) -> None:
    """When the shared model lacks capability `require`, say so (`lacking`, e.g. "has no sentence vectors"),
    list the models of its dataset that have it — a button each, those of other datasets in an expander — and
    stop the page: a page never silently switches to another model (or another dataset's model)."""
    info = artifact_info(st.session_state.get(SHARED_MODEL) or "")
    if info is None or require in info.capabilities:
        return
    capable = _working(None, require)
    here = [i for i in capable if i.dataset == info.dataset]
    elsewhere = [i for i in capable if i.dataset != info.dataset]
    listed = ", ".join(f"`{i.name}`" for i in here) or "none"
    st.info(f"The selected model `{info.name}` ({info.kind} on `{info.dataset}`) {lacking}. Models of "
            f"`{info.dataset}` that have them: {listed}.", icon=":material/info:")
    offer_models(here, key)
    if elsewhere:
        with st.expander(f"{len(elsewhere)} model(s) with them on other datasets"):
            offer_models(elsewhere, key)
    if not here:
        empty_state(f"No model of {info.dataset} has them yet: train one.")
    st.stop()
