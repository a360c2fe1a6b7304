"""Slice metrics with bootstrap confidence intervals, vectorised.

Every metric here is a function of per-row counts summed over the rows of a slice: correct (0/1), and per class
tp / fp / fn (0/1 each; multi-class: one-hot of the true / predicted class). A bootstrap resample is a vector of
how often each row was drawn, so B resamples are a (B, n) count matrix C and all their sums are one product
C @ S, S = (n, m) per-row statistics. Paired comparisons (a variant against its parent on the same rows) put
both models' statistics side by side in S, so both see the same resamples.

Metrics (point estimates use every row once; intervals are percentile intervals of the B resamples):
    accuracy   share of rows predicted exactly right (multi-label: every label right, "exact match")
    f1_macro   mean F1 over the classes present in the resample (in the true or the predicted labels), as
               scikit-learn does for a multi-class task
    f1_micro   multi-label only: 2 sum(tp) / (2 sum(tp) + sum(fp) + sum(fn))
"""
from __future__ import annotations

import zlib

import numpy as np

from ..predictions import Predictions

B_DEFAULT = 1000
#: Largest count matrix built at once (B x n cells): bounds memory on big test sets (~32 MB of int64).
MAX_CELLS = 4_000_000


def row_stats(preds: Predictions) -> np.ndarray:
    """(n, 1 + 3k) float32 per-row statistics: correct, then tp (k), fp (k), fn (k)."""
    y_pred = preds.y_pred
    y = np.asarray(preds.y_true)
    k = len(preds.labels)
    if preds.multilabel:
        t, p = y.astype(bool), y_pred.astype(bool)
        correct = (t == p).all(axis=1)
    else:
        eye = np.eye(k, dtype=bool)
        t, p = eye[y.astype(np.int64)], eye[y_pred.astype(np.int64)]
        correct = y == y_pred
    cols = [correct[:, None], t & p, ~t & p, t & ~p]
    return np.concatenate(cols, axis=1).astype(np.float32)


def metrics_of(sums: np.ndarray, n: np.ndarray, k: int, multilabel: bool) -> dict[str, np.ndarray]:
    """Metrics from summed statistics. sums: (..., 1 + 3k) (row_stats summed), n: (...) rows summed."""
    tp, fp, fn = sums[..., 1:1 + k], sums[..., 1 + k:1 + 2 * k], sums[..., 1 + 2 * k:1 + 3 * k]
    denom = 2 * tp + fp + fn
    with np.errstate(invalid="ignore", divide="ignore"):
        f1 = np.where(denom > 0, 2 * tp / np.where(denom > 0, denom, 1), np.nan)
        present = (denom > 0).sum(axis=-1)
        out = {"accuracy": sums[..., 0] / np.where(n > 0, n, np.nan),
               "f1_macro": np.where(present > 0, np.nansum(f1, axis=-1) / np.maximum(present, 1), np.nan)}
        if multilabel:
            d = denom.sum(axis=-1)
            out["f1_micro"] = np.where(d > 0, 2 * tp.sum(axis=-1) / np.where(d > 0, d, 1), np.nan)
    return out


def seed_for(name: str, seed: int) -> int:
    """A per-slice seed: the same slice gets the same resamples whatever else is in the table."""
    return (zlib.crc32(name.encode("utf-8")) + 7919 * seed) % (2 ** 32)


def resample_sums(stats: np.ndarray, b: int, seed: int) -> np.ndarray:
    """(b, m) sums of `stats` (n, m) over b bootstrap resamples of its n rows (with replacement)."""
    n = len(stats)
    rng = np.random.default_rng(seed)
    out = np.empty((b, stats.shape[1]), np.float64)
    step = max(1, MAX_CELLS // max(n, 1))
    for s in range(0, b, step):
        rows = min(step, b - s)
        draws = rng.integers(0, n, size=(rows, n))
        counts = np.bincount((draws + n * np.arange(rows)[:, None]).ravel(), minlength=rows * n).reshape(rows, n)
        out[s:s + rows] = counts @ stats.astype(np.float64)
    return out


def interval(samples: np.ndarray, confidence: float) -> tuple[float, float]:
    """Percentile interval of `samples` (NaNs ignored); (nan, nan) when none is finite."""
    finite = samples[np.isfinite(samples)]
    if not len(finite):
        return float("nan"), float("nan")
    a = (1 - confidence) / 2
    lo, hi = np.quantile(finite, [a, 1 - a])
    return float(lo), float(hi)


def metrics_and_errors(stats: np.ndarray, k: int, multilabel: bool, *, b: int = B_DEFAULT, seed: int = 0,
                       confidence: float = 0.95) -> tuple[dict[str, float], np.ndarray]:
    """(slice_metrics, (b,) bootstrap samples of the error rate): the samples give the lift's interval."""
    n = len(stats)
    point = metrics_of(stats.sum(axis=0), np.asarray(n), k, multilabel)
    out: dict[str, float] = {"n": n}
    boot = metrics_of(resample_sums(stats, b, seed), np.full(b, n), k, multilabel) if n else {}
    for key, value in point.items():
        out[key] = float(value)
        out[f"{key}_lo"], out[f"{key}_hi"] = interval(boot[key], confidence) if n else (np.nan, np.nan)
    return out, (1 - boot["accuracy"] if n else np.zeros(0))


def slice_metrics(stats: np.ndarray, k: int, multilabel: bool, *, b: int = B_DEFAULT, seed: int = 0,
                  confidence: float = 0.95) -> dict[str, float]:
    """{n, metric, metric_lo, metric_hi} for the rows of `stats` (row_stats of a slice)."""
    return metrics_and_errors(stats, k, multilabel, b=b, seed=seed, confidence=confidence)[0]


def paired_delta(stats_a: np.ndarray, stats_b: np.ndarray, k: int, multilabel: bool, *, b: int = B_DEFAULT,
                 seed: int = 0, confidence: float = 0.95) -> dict[str, float]:
    """{metric_a, metric_b, delta (b - a), delta_lo, delta_hi} on the same rows, both resampled together."""
    n = len(stats_a)
    m = stats_a.shape[1]
    both = np.concatenate([stats_a, stats_b], axis=1)
    pa = metrics_of(stats_a.sum(axis=0), np.asarray(n), k, multilabel)
    pb = metrics_of(stats_b.sum(axis=0), np.asarray(n), k, multilabel)
    sums = resample_sums(both, b, seed) if n else np.zeros((0, 2 * m))
    ba = metrics_of(sums[:, :m], np.full(len(sums), n), k, multilabel)
    bb = metrics_of(sums[:, m:], np.full(len(sums), n), k, multilabel)
    out: dict[str, float] = {"n": n}
    for key in pa:
        out[f"{key}_parent"], out[f"{key}_variant"] = float(pa[key]), float(pb[key])
        out[f"delta_{key}"] = float(pb[key] - pa[key])
        lo, hi = interval(bb[key] - ba[key], confidence) if n else (np.nan, np.nan)
        out[f"delta_{key}_lo"], out[f"delta_{key}_hi"] = lo, hi
    return out
