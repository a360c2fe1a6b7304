"""Reading a confusion matrix with many classes: the most confused pairs, a class order that puts classes
confused with each other side by side, and the default subset of classes to show.

All functions take (k, k) counts (rows = true class, columns = predicted class, `core.evaluate.confusion_counts`)
and return plain Python / numpy values.
"""
from __future__ import annotations

from collections.abc import Sequence

import numpy as np

#: above this many classes the Errors page shows only the classes of the top confused pairs by default
SUBSET_ABOVE = 20
#: confused pairs whose classes make the default subset
SUBSET_PAIRS = 12


def confused_pairs(counts: np.ndarray, labels: Sequence[str] | None = None, top: int | None = None) -> list[dict]:
    """Off-diagonal cells with at least one text, most frequent first (ties: lower true, then predicted index).

    Each row: true / predicted (class index), true_label / predicted_label (when `labels` is given), count,
    share (count / texts of the true class, 0..1).
    """
    c = np.asarray(counts, dtype=np.int64)
    totals = np.maximum(c.sum(axis=1), 1)
    off = c.copy()
    np.fill_diagonal(off, 0)
    ii, jj = np.nonzero(off)
    order = np.lexsort((jj, ii, -off[ii, jj]))[: top if top is not None else None]
    rows = []
    for i, j in zip(ii[order], jj[order]):
        row = {"true": int(i), "predicted": int(j), "count": int(off[i, j]), "share": float(off[i, j] / totals[i])}
        if labels is not None:
            row["true_label"], row["predicted_label"] = str(labels[i]), str(labels[j])
        rows.append(row)
    return rows


def cluster_order(counts: np.ndarray) -> np.ndarray:
    """(k,) permutation of the classes that puts classes confused with each other next to each other.

    Similarity of classes a and b = (texts of a predicted as b + of b predicted as a) / (texts of a + of b), the
    symmetrised off-diagonal confusion rate; average-linkage hierarchical clustering on 1 - similarity / max with
    scipy's optimal leaf ordering. Classes never confused keep their relative order at the end.
    """
    c = np.asarray(counts, dtype=np.float64)
    k = len(c)
    if k < 3:
        return np.arange(k)
    totals = c.sum(axis=1)
    sym = c + c.T
    np.fill_diagonal(sym, 0.0)
    sim = sym / np.maximum(totals[:, None] + totals[None, :], 1.0)
    involved = np.flatnonzero(sim.sum(axis=1) > 0)
    rest = np.setdiff1d(np.arange(k), involved)
    if len(involved) < 3:
        return np.concatenate([involved, rest]).astype(np.int64)
    from scipy.cluster.hierarchy import leaves_list, linkage
    from scipy.spatial.distance import squareform

    s = sim[np.ix_(involved, involved)]
    dist = 1.0 - s / s.max()
    np.fill_diagonal(dist, 0.0)
    tree = linkage(squareform(dist, checks=False), method="average", optimal_ordering=True)
    return np.concatenate([involved[leaves_list(tree)], rest]).astype(np.int64)


def default_subset(counts: np.ndarray, above: int = SUBSET_ABOVE, pairs: int = SUBSET_PAIRS) -> list[int]:
    """Class indices shown by default: every class up to `above` classes, else the classes of the `pairs` most
    confused pairs (every class when nothing is confused), in index order."""
    k = len(counts)
    if k <= above:
        return list(range(k))
    chosen = {i for row in confused_pairs(counts, top=pairs) for i in (row["true"], row["predicted"])}
    return sorted(chosen) if chosen else list(range(k))
