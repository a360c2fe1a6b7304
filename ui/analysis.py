"""Cached per-model analyses for the Predict and Errors pages: self-attention views, label quality, confusable words.

The numbers come from core.explain (attention, label_quality, confusable); this module only caches them per
artifact version and text.
"""
from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import streamlit as st

from core import artifacts
from core import plots_explain as xplots
from core.base import Attention
from core.evaluations import evaluation_stamp
from core.explain import attention as A
from core.safety import clean_text

from .cache import load_predictions, locked_model


@st.cache_data(max_entries=32, show_spinner=False)
def _attention(name: str, stamp: str, text: str) -> Attention:
    with locked_model(name) as model:
        return model.attention(text)


def attention_of(name: str, text: str) -> Attention:
    """model.attention(text) of artifact `name` (cached per text): weights (L, H, T, T) or (T,) pooling."""
    return _attention(name, artifacts.stamp(name), clean_text(text)[0])


# cache_resource, not cache_data: a cache_data hit unpickles the figure (~50 ms for a 64 x 64 heatmap); the figure
# is only read by st.plotly_chart, so sharing one object between reruns and sessions is safe
@st.cache_resource(max_entries=64, show_spinner=False)
def _attention_view(name: str, stamp: str, text: str, layer: int | None, head: int | None, rollout: bool,
                    title: str) -> tuple[Any, list[str], np.ndarray]:
    tokens, matrix = A.attention_matrix(_attention(name, stamp, text), layer, head, rollout)
    return xplots.attention_heatmap(matrix, tokens, title=title), tokens, matrix[0]


def attention_view(name: str, text: str, layer: int | None, head: int | None, rollout: bool, title: str
                   ) -> tuple[Any, list[str], np.ndarray]:
    """(heatmap figure, words, first row of the matrix) of core.explain.attention.attention_matrix for model
    `name` and `text`, cached: building a 64 x 64 heatmap costs ~0.1 s on a busy CPU, and reruns (another class,
    another explanation method) should not pay it again."""
    return _attention_view(name, artifacts.stamp(name), clean_text(text)[0], layer, head, rollout, title)


@st.cache_resource(max_entries=64, show_spinner=False)
def _attention_summary(name: str, stamp: str, text: str) -> dict[str, tuple[list[str], np.ndarray]]:
    return A.summary(_attention(name, stamp, text))


def attention_summary(name: str, text: str) -> dict[str, tuple[list[str], np.ndarray]]:
    """core.explain.attention.summary of `text` (per-word attention, special tokens dropped), cached."""
    return _attention_summary(name, artifacts.stamp(name), clean_text(text)[0])


@st.cache_data(max_entries=32, show_spinner="Scoring every window of the text…")
def _chunks(name: str, stamp: str, text: str) -> dict[str, Any]:
    with locked_model(name) as model:
        spans, proba = model.chunk_proba(text)
        config = getattr(model, "config", None) or getattr(model, "meta", None) or {}
        return {"spans": spans, "proba": proba, "chunking": getattr(model, "chunking", None) or
                config.get("chunking") or "off", "max_length": config.get("max_length"),
                "stride": config.get("stride")}


def chunk_view(name: str, text: str) -> dict[str, Any]:
    """model.chunk_proba(text) of artifact `name` (cached per text): spans [(start_char, end_char)], proba
    (n_chunks, k), and the model's chunking ("off" / "mean" / "max"), max_length and stride."""
    return _chunks(name, artifacts.stamp(name), clean_text(text)[0])


def _stamp(name: str, evaluation: str | None) -> str:
    """Cache key of the stored predictions read: the artifact's stamp, plus the evaluation record's."""
    return artifacts.stamp(name) + (f"|{evaluation_stamp(name, evaluation)}" if evaluation else "")


@st.cache_data(max_entries=16, show_spinner="Scoring label quality…")
def _label_quality(name: str, stamp: str, evaluation: str | None = None) -> pd.DataFrame:
    from core.explain.label_quality import label_quality as lq

    p = load_predictions(name, evaluation)
    return lq(p.y_true, p.proba, multilabel=p.multilabel)


def label_quality(name: str, evaluation: str | None = None) -> pd.DataFrame:
    """core.explain.label_quality on the stored test probabilities of `name` (or of its evaluation record
    `evaluation`): one row per text with quality, suspicion (= 1 - quality; high = the label is probably
    wrong), flag; attrs engine / note."""
    return _label_quality(name, _stamp(name, evaluation), evaluation)


@st.cache_data(max_entries=64, show_spinner="Finding confusable words…")
def _confusable(name: str, stamp: str, a: int, b: int, method: str, reference: str, top: int,
                evaluation: str | None = None) -> pd.DataFrame:
    from core.explain.confusable import confusable_words as cw

    p = load_predictions(name, evaluation)
    return cw(p.texts, p.y_true.astype(int), p.y_pred, a, b, method=method, reference=reference, top=top)


def confusable_words(name: str, a: int, b: int, method: str = "log_odds", reference: str = "a",
                     top: int = 20, evaluation: str | None = None) -> pd.DataFrame:
    """Words over-represented in test texts (or `evaluation`'s texts) of class `a` predicted as `b`
    (core.explain.confusable)."""
    return _confusable(name, _stamp(name, evaluation), int(a), int(b), method, reference, int(top), evaluation)
