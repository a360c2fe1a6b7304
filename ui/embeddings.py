"""Embedding maps: a cached, stratified sample of a model's sentence vectors and its 2-D projection."""
from __future__ import annotations

import numpy as np
import streamlit as st

from core import artifacts
from core.explain.embedding_cache import EMBED_CAP  # noqa: F401 - re-exported: the Embeddings page's sample size

from .cache import load_predictions, locked_model
from .forms import families

#: Families whose models declare "embed" (the Embeddings page's empty state names them).
EMBED_FAMILIES = {"rnn": "RNN / GRU / LSTM", "scratch_transformer": "from-scratch transformer",
                  "transformer": "pretrained encoder (MiniLM, BERT…)"}


def embed_families() -> dict[str, str]:
    """kind -> title of the families whose models provide embeddings (titles from the registry when importable)."""
    ok, _ = families()
    return {k: getattr(ok.get(k), "TITLE", title) for k, title in EMBED_FAMILIES.items()}


def embed_sample(name: str, cap: int = EMBED_CAP) -> tuple[np.ndarray, np.ndarray]:
    """(indices (m,), embeddings (m, d)) of a seeded sample of at most `cap` test texts of `name`, stratified
    by true label. Cached on disk per artifact version by core.explain.embedding_cache (the zoo pre-computes its
    demo models'); a progress bar shows while computing."""
    from core.explain import embedding_cache

    def embed(batch):  # the shared model is locked per batch, so other sessions' predictions interleave
        with locked_model(name) as model:
            return model.embed(batch)

    bars = []  # created on the first progress call, i.e. only when the vectors are not on disk yet

    def show(done, total, message="", extra=None):
        if not bars:
            bars.append(st.progress(0.0, text=f"Embedding {total:,} test texts (first time only; cached on disk)…"))
        if done:
            bars[0].progress(done / max(total, 1), text=message)

    try:
        return embedding_cache.embed_sample(name, cap, embed=embed, preds=load_predictions(name), progress=show)
    finally:
        for bar in bars:
            bar.empty()


@st.cache_data(max_entries=16, show_spinner=False)
def _projection(name: str, stamp: str, method: str, n: int, _emb: np.ndarray):
    from core.explain.projection import project

    return project(_emb, method, cap=max(n, 1), artifact=name)


def projection(name: str, method: str, embeddings: np.ndarray):
    """core.explain.projection.project of `embeddings` (the rows embed_sample returned): a Projection whose
    `indices` are positions in `embeddings`. Cached in memory and on disk per artifact version."""
    with st.spinner(f"Projecting {len(embeddings):,} points with {method.upper()} (cached after the first time)…"):
        return _projection(name, artifacts.stamp(name), method, len(embeddings), embeddings)
