"""Cached access to artifacts: model lists, stored predictions, loaded models (shared, locked), comparisons.

st.cache_resource objects are shared by every browser session of the server; st.cache_data results are copied
per call. Every key holds the artifact's stamp (folder + manifest mtime, core.artifacts.stamp), so a model
re-trained under the same name is never served stale.
"""
from __future__ import annotations

import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
import streamlit as st

from core import artifacts, bench, config, evaluations, scoresets
from core.base import TextClassifier
from core.safety import clean_text, clean_texts


@st.cache_data(ttl=3, show_spinner=False)
def _artifact_infos(root: str, dataset: str | None, include_broken: bool) -> list[artifacts.ArtifactInfo]:
    return artifacts.list_artifacts(dataset=dataset, include_broken=include_broken)


def artifact_infos(dataset: str | None = None, include_broken: bool = False) -> list[artifacts.ArtifactInfo]:
    """Artifacts, newest first (cached for 3 s so several widgets on one page share one directory scan)."""
    return _artifact_infos(str(config.artifacts_dir()), dataset, include_broken)


def artifact_info(name: str) -> artifacts.ArtifactInfo | None:
    """The info of one working artifact from the cached list (None if unknown or broken)."""
    return next((i for i in artifact_infos() if i.name == name), None)


def refresh_artifacts() -> None:
    """Forget cached artifact lists (after training, deleting, ...)."""
    _artifact_infos.clear()


@st.cache_data(max_entries=16, show_spinner="Loading test predictions…")
def _predictions(name: str, stamp: str) -> artifacts.Predictions:
    return artifacts.load_predictions(name)


@st.cache_data(max_entries=16, show_spinner="Loading evaluation predictions…")
def _eval_predictions(name: str, evaluation: str, stamp: str) -> artifacts.Predictions:
    return evaluations.load_evaluation_predictions(name, evaluation)


def load_predictions(name: str, evaluation: str | None = None) -> artifacts.Predictions:
    """Stored predictions of `name` (never re-runs inference): its own test split, or with `evaluation` (an
    id of core.evaluations) the set that record scored, in the same format."""
    if evaluation:
        return _eval_predictions(name, evaluation, evaluations.evaluation_stamp(name, evaluation))
    return _predictions(name, artifacts.stamp(name))


@dataclass
class _Loaded:
    model: TextClassifier
    lock: threading.Lock


@st.cache_resource(max_entries=6, show_spinner="Loading model…")
def _model(name: str, stamp: str) -> _Loaded:
    # One instance per artifact is shared by every browser session: torch / sklearn objects are not
    # guaranteed thread-safe (tokenizer state, eval-mode switches), hence the lock around each call.
    return _Loaded(artifacts.load_model(name), threading.Lock())


def load_model(name: str) -> TextClassifier:
    """The model of artifact `name`, loaded once per process. Call it through `predict_proba` / `locked_model`."""
    return _model(name, artifacts.stamp(name)).model


@contextmanager
def locked_model(name: str) -> Iterator[TextClassifier]:
    """`with ui.locked_model(name) as m: m.attention(text)` — exclusive use of the shared model."""
    loaded = _model(name, artifacts.stamp(name))
    with loaded.lock:
        yield loaded.model


def predict_proba(name: str, texts: Sequence[str]) -> np.ndarray:
    """(n, k) probabilities from model `name`, serialised per model across sessions.

    Texts go through core.safety.clean_texts first (cut to MAX_TEXT_CHARS, invalid characters removed), so
    one pasted book cannot hold the model's lock for long; pages show clean_text's notice themselves.
    """
    texts = clean_texts(texts)
    with locked_model(name) as model:
        return np.asarray(model.predict_proba(texts))


@st.cache_data(max_entries=256, show_spinner=False)
def _proba_one(name: str, stamp: str, text: str) -> np.ndarray:
    return predict_proba(name, [text])[0]


def predict_one(name: str, text: str) -> np.ndarray:
    """(k,) probabilities of one text, cached per (model version, text): reruns that only change a picker
    (layer, head, class, method) skip the forward pass."""
    return _proba_one(name, artifacts.stamp(name), clean_text(text)[0])


def model_id(name: str) -> str:
    """Identity of an artifact version for core's disk caches (SHAP's): name + manifest mtime."""
    return f"{name}@{artifacts.stamp(name).rsplit('@', 1)[-1]}"


def delete_model(name: str, confirm: str) -> None:
    """Delete artifact `name` when `confirm` repeats its name exactly (ArtifactError otherwise); forgets
    every cached list, prediction table and loaded model of it."""
    artifacts.delete_artifact(name, confirm)
    refresh_artifacts()
    _predictions.clear()
    _model.clear()


@st.cache_data(max_entries=16, show_spinner="Comparing predictions…")
def _changed(name: str, reference: str, stamp: str) -> pd.DataFrame:
    return bench.changed_predictions(name, reference)


def changed_predictions(name: str, reference: str) -> pd.DataFrame:
    """core.bench.changed_predictions from the stored test predictions: text, true, reference,
    reference_confidence, variant, variant_confidence (one row per test example whose prediction changed)."""
    return _changed(name, reference, artifacts.stamp(name) + "|" + artifacts.stamp(reference))


@st.cache_data(max_entries=4, show_spinner=False)
def _bench_runs(bench_dir: str, stamp: str) -> list[dict[str, Any]]:
    return bench.saved_runs()


def bench_runs() -> list[dict[str, Any]]:
    """core.bench.saved_runs (newest first: path, rows, machine, models, reference, created), cached until a run
    is added or removed."""
    return _bench_runs(str(bench.bench_dir()), bench.runs_stamp())


@st.cache_data(ttl=10, show_spinner="Checking the models' datasets…")
def _dataset_marks(dataset: str | None, stamps: tuple[str, ...]) -> dict[str, str]:
    return scoresets.dataset_marks([i for i in artifact_infos(dataset) if i.ok])


def dataset_marks(dataset: str | None = None) -> dict[str, str]:
    """Model name -> "dataset changed" / "dataset gone" / "" (core.scoresets.dataset_marks) for every working
    model (of `dataset`); cached for 10 s per set of artifact versions (current dataset fingerprints are cached
    per dataset stamp in core, so a dataset is loaded at most once per version of its files)."""
    return _dataset_marks(dataset, tuple(artifacts.stamp(i.name) for i in artifact_infos(dataset) if i.ok))
