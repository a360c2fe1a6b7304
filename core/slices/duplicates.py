"""Exact and near duplicates of evaluated texts among the training texts, and those whose copy has another label.

exact: the normalised texts are equal (NFKC, lower case, every run of non-word characters as one space).
near:  not exact, and some training text shares at least NEAR_JACCARD of their word 3-gram sets (Jaccard). The
       candidates of a text are the CANDIDATES training texts sharing most of its *rare* 3-grams (those in at most
       RARE_DF training texts): one sparse product instead of n x m comparisons, so 7,600 texts against 120,000
       take seconds. Texts shorter than 3 words can only be exact duplicates.
conflict: an exact or near duplicate whose training copy carries another label (multi-label: another label set).
"""
from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

NEAR_JACCARD = 0.7
RARE_DF = 50
CANDIDATES = 3
N_FEATURES = 2 ** 21
_NON_WORD = re.compile(r"[\W_]+")


@dataclass
class DuplicateMatch:
    """(n,) masks over the evaluated texts, and (n,) index of the matched training text (-1: none)."""

    exact: np.ndarray
    near: np.ndarray
    conflict: np.ndarray
    match: np.ndarray


def normalise(text: str) -> str:
    return _NON_WORD.sub(" ", unicodedata.normalize("NFKC", text).lower()).strip()


def _label_keys(y: np.ndarray) -> np.ndarray:
    """(n,) hashable label of each row: the index, or the 0/1 row as bytes (multi-label)."""
    y = np.asarray(y)
    if y.ndim == 1:
        return y.astype(np.int64)
    return np.array([row.tobytes() for row in np.ascontiguousarray(y.astype(np.int8))], dtype=object)


def _shingles(texts: Sequence[str]):
    from sklearn.feature_extraction.text import HashingVectorizer

    vec = HashingVectorizer(ngram_range=(3, 3), token_pattern=r"(?u)\b\w+\b", binary=True, norm=None,
                            alternate_sign=False, n_features=N_FEATURES, dtype=np.float32)
    return vec.transform(texts).tocsr()


def _near(norm: list[str], train_norm: list[str]) -> tuple[np.ndarray, np.ndarray]:
    """(best Jaccard (n,), its training index (n,), -1 when no candidate) over rare-3-gram candidates."""
    a, b = _shingles(norm), _shingles(train_norm)
    df = np.asarray((b > 0).sum(axis=0)).ravel()
    rare = np.flatnonzero((df > 0) & (df <= RARE_DF))
    shared = (a[:, rare] @ b[:, rare].T).tocoo()
    best_j, best_i = np.zeros(len(norm)), np.full(len(norm), -1)
    if not shared.nnz:
        return best_j, best_i
    # the CANDIDATES training texts sharing most rare 3-grams, per evaluated text
    order = np.lexsort((-shared.data, shared.row))
    rows, cols = shared.row[order], shared.col[order]
    rank = np.arange(len(rows)) - np.searchsorted(rows, rows)
    keep = rank < CANDIDATES
    rows, cols = rows[keep], cols[keep]
    inter = np.asarray(a[rows].multiply(b[cols]).sum(axis=1)).ravel()
    size_a, size_b = np.diff(a.indptr), np.diff(b.indptr)
    jac = inter / np.maximum(size_a[rows] + size_b[cols] - inter, 1)
    for r, c, j in zip(rows, cols, jac):  # at most CANDIDATES per row: a short loop over the candidates
        if j > best_j[r]:
            best_j[r], best_i[r] = j, c
    return best_j, best_i


def match_training(texts: Sequence[str], y: np.ndarray, train_texts: Sequence[str], train_y: np.ndarray,
                   threshold: float = NEAR_JACCARD) -> DuplicateMatch:
    """Duplicates of `texts` (labels `y`) among `train_texts` (labels `train_y`); see the module doc."""
    norm = [normalise(t) for t in texts]
    train_norm = [normalise(t) for t in train_texts]
    keys, train_keys = _label_keys(y), _label_keys(train_y)
    labels_of: dict[str, set] = {}
    first: dict[str, int] = {}
    for i, (t, k) in enumerate(zip(train_norm, train_keys)):
        labels_of.setdefault(t, set()).add(k)
        first.setdefault(t, i)
    exact = np.array([t in first for t in norm], bool)
    match = np.array([first.get(t, -1) for t in norm], np.int64)
    conflict = np.array([bool(t in labels_of and labels_of[t] - {k}) for t, k in zip(norm, keys)], bool)
    near = np.zeros(len(norm), bool)
    if len(norm) and len(train_norm):
        jac, idx = _near(norm, train_norm)
        near = (jac >= threshold) & ~exact
        match = np.where(near, idx, match)
        conflict |= near & np.array([near[i] and train_keys[idx[i]] != keys[i] for i in range(len(norm))], bool)
    return DuplicateMatch(exact=exact, near=near, conflict=conflict, match=match)
