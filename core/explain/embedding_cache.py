"""Sentence embeddings of an artifact's test texts for the embedding maps, cached on disk.

The sample is seeded and stratified by true label (at most EMBED_CAP texts); the cache key holds the artifact's
folder + manifest mtime and the sampled rows, so a re-trained model is never served stale vectors. The Embeddings
page and `python -m core zoo` (which warms the maps of its demo models) share this one code path.
"""
from __future__ import annotations

import hashlib
import re
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np

from .. import artifacts, config
from ..atomic import atomic_write
from ..progress import ProgressCallback, null_progress
from .projection import stratified_sample

EMBED_CAP = 3000
EMBED_BATCH = 64  # texts per embed() call: progress moves, and the dashboard's model lock is released in between

EmbedFn = Callable[[Sequence[str]], np.ndarray]


def sample_indices(preds: artifacts.Predictions, cap: int = EMBED_CAP) -> np.ndarray:
    """(m,) test-row indices of the seeded, label-stratified sample (m = min(cap, n))."""
    return stratified_sample(len(preds.texts), cap, strata=preds.y_true, seed=0)


def cache_path(name: str, idx: np.ndarray, rows: str = "") -> Path:
    """rows: which rows `idx` index ("" = the model's test split; an evaluation record's stamp otherwise)."""
    salt = f"|{rows}" if rows else ""
    key = hashlib.sha256(f"{artifacts.stamp(name)}|{idx.tobytes().hex()}{salt}".encode()).hexdigest()[:16]
    return config.cache_dir() / "embeddings" / f"{re.sub(r'[^A-Za-z0-9_.-]+', '_', name)[:80]}-{key}.npy"


def cached(name: str, idx: np.ndarray, rows: str = "") -> np.ndarray | None:
    """The stored (m, d) embeddings of these rows, or None."""
    try:
        emb = np.load(cache_path(name, idx, rows), allow_pickle=False)
    except (OSError, ValueError):
        return None
    return emb if len(emb) == len(idx) else None


def embed_sample(name: str, cap: int = EMBED_CAP, *, embed: EmbedFn | None = None,
                 preds: artifacts.Predictions | None = None,
                 progress: ProgressCallback = null_progress) -> tuple[np.ndarray, np.ndarray]:
    """(indices (m,), embeddings (m, d) float32) of the sample of `name`'s test texts; computed once, then read from
    disk. `embed` embeds a batch of texts (default: the loaded model's embed()); progress gets (0, total) before the
    first batch and (done, total) after each, and is never called on a cache hit."""
    preds = preds if preds is not None else artifacts.load_predictions(name)
    idx = sample_indices(preds, cap)
    return idx, embed_rows(name, idx, embed=embed, preds=preds, progress=progress)


def embed_rows(name: str, idx: np.ndarray, *, embed: EmbedFn | None = None,
               preds: artifacts.Predictions | None = None,
               progress: ProgressCallback = null_progress, rows: str = "") -> np.ndarray:
    """(m, d) float32 embeddings of rows `idx` (m,) of `preds` (default: `name`'s test split), computed once,
    then read from disk (the Embeddings page's sample and slice discovery's pool share this cache). rows: names
    the rows when `preds` are not the test split (an evaluation record's stamp), so caches never mix."""
    hit = cached(name, idx, rows)
    if hit is not None:
        return hit
    preds = preds if preds is not None else artifacts.load_predictions(name)
    if embed is None:
        embed = artifacts.load_model(name).embed
    texts = [preds.texts[i] for i in idx]
    progress(0, len(texts), f"Embedding {len(texts):,} test texts…")
    parts = []
    for s in range(0, len(texts), EMBED_BATCH):
        parts.append(np.asarray(embed(texts[s:s + EMBED_BATCH]), dtype=np.float32))
        done = min(s + EMBED_BATCH, len(texts))
        progress(done, len(texts), f"Embedded {done:,} of {len(texts):,} test texts…")
    emb = np.concatenate(parts) if parts else np.zeros((0, 0), np.float32)
    path = cache_path(name, idx, rows)
    atomic_write(path, lambda tmp: np.save(tmp, emb))  # a crash never leaves a half-written cache entry
    return emb
