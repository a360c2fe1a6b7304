"""Rank pool texts for labelling: uncertainty sampling with a diversity step.

Uncertainty of a text from the model's probabilities (higher = more to learn from):
    entropy  multi-class: -Σ p log p / log k (0..1); multi-label: mean binary entropy over labels
    margin   multi-class: 1 - (p₁ - p₂); multi-label: 1 - min_j |2 p_j - 1| (the label nearest its threshold)
    least    multi-class: 1 - max p; multi-label: as margin
Diversity: candidates are taken in uncertainty order and one is skipped when its cosine similarity to a text
already in the batch is ≥ max_similarity (in the model's embedding space when it declares `embed`, else TF-IDF
of the candidates), so a batch never spends labels on near copies of one text.
"""
from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np
import pandas as pd

from ..errors import ParamError
from ..progress import null_progress
from .store import LABEL_SEP, load_pool

Progress = Callable[[float, str], None]
EPS = 1e-12


def _entropy(p: np.ndarray, multilabel: bool) -> np.ndarray:
    if multilabel:
        q = np.clip(p, EPS, 1 - EPS)
        return (-(q * np.log2(q) + (1 - q) * np.log2(1 - q))).mean(axis=1)
    k = p.shape[1]
    return -(p * np.log(np.clip(p, EPS, 1))).sum(axis=1) / np.log(max(k, 2))


def _margin(p: np.ndarray, multilabel: bool) -> np.ndarray:
    if multilabel:
        return 1.0 - np.abs(2 * p - 1).min(axis=1)
    top2 = np.sort(p, axis=1)[:, -2:] if p.shape[1] > 1 else np.hstack([np.zeros_like(p), p])
    return 1.0 - (top2[:, 1] - top2[:, 0])


def _least(p: np.ndarray, multilabel: bool) -> np.ndarray:
    return _margin(p, True) if multilabel else 1.0 - p.max(axis=1)


#: name -> (uncertainty function (n, k) probabilities -> (n,) scores, description)
METHODS: dict[str, tuple[Callable[[np.ndarray, bool], np.ndarray], str]] = {
    "entropy": (_entropy, "spread of the whole probability distribution"),
    "margin": (_margin, "gap between the two most probable classes"),
    "least": (_least, "one minus the top probability"),
}


def uncertainty(proba: np.ndarray, multilabel: bool, method: str = "entropy") -> np.ndarray:
    """(n,) uncertainty scores in [0, 1] of (n, k) probabilities."""
    if method not in METHODS:
        raise ParamError(f"unknown uncertainty method {method!r}; known: {', '.join(METHODS)}")
    return METHODS[method][0](np.asarray(proba, dtype=np.float64), multilabel)


def _unit(x: np.ndarray) -> np.ndarray:
    return x / np.maximum(np.linalg.norm(x, axis=1, keepdims=True), EPS)


def vectors(texts: Sequence[str], embed: Callable[[Sequence[str]], np.ndarray] | None = None):
    """Unit-length rows to compare texts: the model's embeddings when given, else TF-IDF (sparse)."""
    if embed is not None:
        return _unit(np.asarray(embed(list(texts)), dtype=np.float32))
    from sklearn.feature_extraction.text import TfidfVectorizer

    return TfidfVectorizer(sublinear_tf=True, min_df=1).fit_transform(list(texts))  # rows are l2-normalised


def diverse_top(order: np.ndarray, vecs, size: int, max_similarity: float = 0.9) -> tuple[list[int], int]:
    """Greedy: walk `order` (indices, best first), keep an index unless it is ≥ max_similarity (cosine) to one
    already kept; stop at `size`. Returns (kept indices, how many were skipped as near duplicates)."""
    kept: list[int] = []
    skipped = 0
    for i in order:
        if len(kept) >= size:
            break
        if kept:
            row = vecs[int(i)]
            sims = (vecs[kept] @ row.T)
            sims = np.asarray(sims.todense() if hasattr(sims, "todense") else sims).ravel()
            if sims.max() >= max_similarity:
                skipped += 1
                continue
        kept.append(int(i))
    return kept, skipped


def rank_pool(model_name: str, dataset: str | None = None, size: int = 50, method: str = "entropy",
              max_similarity: float = 0.9, progress: Progress | None = None) -> pd.DataFrame:
    """The next batch to label from the pool of `dataset` (default: the model's dataset), most useful first.

    Columns: rank, id, text, uncertainty, suggested (the model's label; multi-label: names joined by ";"),
    confidence. `frame.attrs` holds method, pool size, candidates and near duplicates skipped.
    """
    from ..artifacts import get_artifact, load_model

    if size < 1:
        raise ParamError(f"batch size must be ≥ 1, got {size}")
    if not 0 < max_similarity <= 1:
        raise ParamError(f"max_similarity must be in (0, 1], got {max_similarity}")
    info = get_artifact(model_name)
    dataset = dataset or info.dataset
    pool = load_pool(dataset)
    pool = pool[pool["status"] == "unlabelled"].reset_index(drop=True)
    if pool.empty:
        raise ParamError(f"the pool of {dataset} has no unlabelled text; add texts first")
    model = load_model(model_name)
    texts = pool["text"].tolist()
    from ..train import predict_in_chunks

    proba = predict_in_chunks(model, texts, (lambda d, t, m: progress(d / max(t, 1), m)) if progress else
                              null_progress, message="scoring the pool")
    scores = uncertainty(proba, model.multilabel, method)
    order = np.argsort(-scores, kind="stable")
    candidates = order[: min(len(order), max(size * 10, 200))]  # diversity is judged among the top candidates
    embed = model.embed if "embed" in model.capabilities else None
    vecs = vectors([texts[i] for i in candidates], embed)
    kept_local, skipped = diverse_top(np.arange(len(candidates)), vecs, size, max_similarity)
    kept = candidates[kept_local]
    labels = list(model.labels)
    if model.multilabel:
        thr = getattr(model, "threshold", 0.5)
        suggested = [LABEL_SEP.join(labels[j] for j in np.flatnonzero(proba[i] >= thr)) for i in kept]
    else:
        suggested = [labels[int(proba[i].argmax())] for i in kept]
    frame = pd.DataFrame({"rank": np.arange(1, len(kept) + 1), "id": pool["id"].to_numpy()[kept],
                          "text": [texts[i] for i in kept], "uncertainty": scores[kept].round(4),
                          "suggested": suggested, "confidence": proba[kept].max(axis=1).round(4)})
    frame.attrs.update(method=method, pool=len(pool), candidates=len(candidates), near_duplicates_skipped=skipped,
                       space="embeddings" if embed is not None else "tf-idf")
    return frame
