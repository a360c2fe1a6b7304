"""Metrics on arrays: accuracy, precision / recall / F1, per-class report, confusion matrix, ROC-AUC
and calibration (ECE + reliability bins).

Everything here takes `y_true` and probabilities, never a model, so it works for every family and
for stored predictions. Every returned value is JSON-able (floats, ints, lists, None).
"""
from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
from sklearn.metrics import (
    accuracy_score,
    confusion_matrix,
    hamming_loss,
    multilabel_confusion_matrix,
    precision_recall_fscore_support,
    roc_auc_score,
)

AVERAGES = ("micro", "macro", "weighted")


def _check(y_true: np.ndarray, proba: np.ndarray, labels: Sequence[str], multilabel: bool) -> None:
    if proba.ndim != 2 or proba.shape[1] != len(labels):
        raise ValueError(f"proba must be (n, {len(labels)}), got {proba.shape}")
    if len(y_true) != len(proba):
        raise ValueError(f"y_true has {len(y_true)} rows but proba has {len(proba)}")
    if multilabel and y_true.shape != proba.shape:
        raise ValueError(f"multi-label y_true must be {proba.shape} 0/1, got {y_true.shape}")
    if not multilabel:
        if y_true.ndim != 1:
            raise ValueError(f"multi-class y_true must be (n,) label indices, got {y_true.shape}")
        if len(y_true) and (y_true.min() < 0 or y_true.max() >= len(labels)):
            raise ValueError(f"y_true holds label indices outside 0..{len(labels) - 1}")


def _auc(y: np.ndarray, score: np.ndarray) -> float | None:
    """Binary ROC-AUC, or None when only one class is present (AUC undefined)."""
    if len(np.unique(y)) < 2:
        return None
    return float(roc_auc_score(y, score))


def calibration_bins(confidence: np.ndarray, correct: np.ndarray, n_bins: int = 10) -> list[dict[str, Any]]:
    """Equal-width reliability bins over [0, 1].

    confidence: (m,) predicted probability of the event; correct: (m,) 0/1 whether it happened.
    Bin i covers (lower, upper] (the first bin also holds 0). Each bin: lower, upper, confidence (mean
    predicted probability), accuracy (observed frequency), count; confidence/accuracy are None if empty.
    """
    confidence = np.asarray(confidence, dtype=np.float64).ravel()
    correct = np.asarray(correct, dtype=np.float64).ravel()
    edges = np.linspace(0.0, 1.0, n_bins + 1)
    # searchsorted on the inner edges gives right-closed bins: edges[i] < c <= edges[i + 1]
    idx = np.searchsorted(edges[1:-1], confidence, side="left")
    bins = []
    for i in range(n_bins):
        mask = idx == i
        count = int(mask.sum())
        bins.append({
            "lower": float(edges[i]),
            "upper": float(edges[i + 1]),
            "confidence": float(confidence[mask].mean()) if count else None,
            "accuracy": float(correct[mask].mean()) if count else None,
            "count": count,
        })
    return bins


def ece_from_bins(bins: list[dict[str, Any]]) -> float:
    """Expected calibration error: sum over bins of (count / total) * |accuracy - confidence|."""
    total = sum(b["count"] for b in bins)
    if total == 0:
        return 0.0
    return float(sum(b["count"] / total * abs(b["accuracy"] - b["confidence"]) for b in bins if b["count"]))


def _mce_from_bins(bins: list[dict[str, Any]]) -> float:
    """Maximum calibration error: the worst non-empty bin's |accuracy - confidence|."""
    gaps = [abs(b["accuracy"] - b["confidence"]) for b in bins if b["count"]]
    return float(max(gaps)) if gaps else 0.0


def _averaged(y_true: np.ndarray, y_pred: np.ndarray, k: int) -> dict[str, float]:
    out: dict[str, float] = {}
    for avg in AVERAGES:
        p, r, f, _ = precision_recall_fscore_support(
            y_true, y_pred, labels=list(range(k)), average=avg, zero_division=0
        )
        out[f"precision_{avg}"] = float(p)
        out[f"recall_{avg}"] = float(r)
        out[f"f1_{avg}"] = float(f)
    return out


def evaluate(
    y_true: np.ndarray,
    proba: np.ndarray,
    labels: Sequence[str],
    multilabel: bool = False,
    threshold: float | np.ndarray = 0.5,
    n_bins: int = 10,
) -> dict[str, Any]:
    """All test metrics of one model as a JSON-able dict.

    y_true: (n,) label indices, or (n, k) 0/1 if `multilabel`; proba: (n, k) probabilities.
    Multi-class predictions are the argmax; multi-label ones are `proba >= threshold` (a float or (k,)).

    Keys (both tasks): n, labels, multilabel, accuracy (subset accuracy for multi-label),
    precision/recall/f1 _micro/_macro/_weighted, per_class [{label, precision, recall, f1, support,
    roc_auc}], roc_auc_macro, roc_auc_micro, ece, mce, calibration_bins [{lower, upper, confidence,
    accuracy, count}].
    Multi-class adds confusion (k x k counts, rows = true, cols = predicted) and confusion_normalized
    (row-normalised; all-zero rows stay zero); ECE uses the top-label confidence.
    Multi-label adds hamming_loss, f1_samples, confusion_per_label (k x 2 x 2, [[tn, fp], [fn, tp]])
    and threshold; ECE runs over all n*k label probabilities (predicted P(label) vs observed frequency).
    Labels absent from y_true get 0 scores (zero_division=0) and roc_auc None.
    """
    y_true = np.asarray(y_true)
    proba = np.asarray(proba, dtype=np.float64)
    labels = [str(x) for x in labels]
    k = len(labels)
    _check(y_true, proba, labels, multilabel)
    y_true = y_true.astype(np.int64)

    out: dict[str, Any] = {"n": int(len(y_true)), "labels": labels, "multilabel": bool(multilabel)}
    if multilabel:
        y_pred = (proba >= np.asarray(threshold, dtype=np.float64)).astype(np.int64)
        out["accuracy"] = float(accuracy_score(y_true, y_pred))  # subset accuracy
        out["hamming_loss"] = float(hamming_loss(y_true, y_pred))
        out["threshold"] = np.asarray(threshold, dtype=np.float64).tolist()
    else:
        y_pred = proba.argmax(axis=1)
        out["accuracy"] = float(accuracy_score(y_true, y_pred)) if len(y_true) else 0.0
    out.update(_averaged(y_true, y_pred, k))
    if multilabel:
        out["f1_samples"] = float(precision_recall_fscore_support(
            y_true, y_pred, average="samples", zero_division=0)[2]) if len(y_true) else 0.0

    p, r, f, s = precision_recall_fscore_support(y_true, y_pred, labels=list(range(k)), zero_division=0)
    # one-vs-rest indicator of each class (multi-class) or the label column (multi-label)
    indicator = y_true if multilabel else (y_true[:, None] == np.arange(k)[None, :]).astype(np.int64)
    aucs = [_auc(indicator[:, j], proba[:, j]) for j in range(k)]
    out["per_class"] = [
        {"label": labels[j], "precision": float(p[j]), "recall": float(r[j]), "f1": float(f[j]),
         "support": int(s[j]), "roc_auc": aucs[j]}
        for j in range(k)
    ]
    valid = [a for a in aucs if a is not None]
    out["roc_auc_macro"] = float(np.mean(valid)) if valid else None
    out["roc_auc_micro"] = _auc(indicator.ravel(), proba.ravel()) if len(y_true) else None

    if multilabel:
        out["confusion_per_label"] = multilabel_confusion_matrix(y_true, y_pred, labels=list(range(k))).tolist()
        bins = calibration_bins(proba.ravel(), y_true.ravel(), n_bins)
    else:
        cm = confusion_matrix(y_true, y_pred, labels=list(range(k)))
        rows = cm.sum(axis=1, keepdims=True)
        out["confusion"] = cm.tolist()
        out["confusion_normalized"] = np.divide(cm, rows, out=np.zeros(cm.shape), where=rows > 0).tolist()
        bins = calibration_bins(proba.max(axis=1), (y_pred == y_true), n_bins)
    out["calibration_bins"] = bins
    out["ece"] = ece_from_bins(bins)
    out["mce"] = _mce_from_bins(bins)
    return out


def confusion_cell_indices(y_true: np.ndarray, y_pred: np.ndarray, true_idx: int, pred_idx: int) -> np.ndarray:
    """Row indices (int64, ascending) of the examples in confusion cell (true = true_idx, predicted = pred_idx).

    Multi-class only: y_true and y_pred are (n,) label indices.
    """
    y_true, y_pred = np.asarray(y_true), np.asarray(y_pred)
    if y_true.ndim != 1 or y_pred.shape != y_true.shape:
        raise ValueError("confusion_cell_indices needs (n,) label indices for y_true and y_pred")
    return np.flatnonzero((y_true == true_idx) & (y_pred == pred_idx)).astype(np.int64)


def per_class_delta(metrics_a: dict[str, Any], metrics_b: dict[str, Any]) -> list[dict[str, Any]]:
    """Per-class change from model A to model B (delta = B - A), matched by label name.

    Per-class accuracy of a class is its recall (share of its examples predicted correctly).
    Each row: label, support, recall_a, recall_b, delta_recall, precision_a/b, delta_precision,
    f1_a/b, delta_f1. Labels missing from either report are skipped. Order: A's label order.
    """
    by_b = {row["label"]: row for row in metrics_b.get("per_class", [])}
    rows = []
    for a in metrics_a.get("per_class", []):
        b = by_b.get(a["label"])
        if b is None:
            continue
        row: dict[str, Any] = {"label": a["label"], "support": a["support"]}
        for key in ("recall", "precision", "f1"):
            row[f"{key}_a"] = float(a[key])
            row[f"{key}_b"] = float(b[key])
            row[f"delta_{key}"] = float(b[key]) - float(a[key])
        rows.append(row)
    return rows


def confusion_counts(y_true: np.ndarray, y_pred: np.ndarray, k: int) -> np.ndarray:
    """(k, k) int64 counts: rows = true class, columns = predicted class (multi-class (n,) label indices)."""
    counts = np.zeros((k, k), dtype=np.int64)
    np.add.at(counts, (np.asarray(y_true, dtype=int), np.asarray(y_pred, dtype=int)), 1)
    return counts


def top_confusion(counts: np.ndarray) -> tuple[int, int]:
    """(true, predicted) of the most frequent confusion (largest off-diagonal cell); (0, 0) with one class."""
    if len(counts) < 2:
        return 0, 0
    off = np.asarray(counts).copy()
    np.fill_diagonal(off, -1)
    i, j = np.unravel_index(int(off.argmax()), off.shape)
    return int(i), int(j)


#: Outcomes of one label of a multi-label model: (true value, predicted value) of the texts in it.
LABEL_OUTCOMES = {"fn": (1, 0), "fp": (0, 1), "tp": (1, 1)}


def label_counts(y_true: np.ndarray, y_pred: np.ndarray) -> dict[str, np.ndarray]:
    """Multi-label (n, k) 0/1 arrays -> {"tp", "fp", "fn"}: (k,) counts per label."""
    y_true, y_pred = np.asarray(y_true, dtype=int), np.asarray(y_pred, dtype=int)
    return {o: ((y_true == t) & (y_pred == p)).sum(axis=0) for o, (t, p) in LABEL_OUTCOMES.items()}


def label_outcome_indices(y_true: np.ndarray, y_pred: np.ndarray, label: int, outcome: str) -> np.ndarray:
    """Row indices (ascending) of the texts whose label `label` is a false negative ("fn"), false positive ("fp")
    or true positive ("tp"); multi-label (n, k) 0/1 arrays."""
    t, p = LABEL_OUTCOMES[outcome]
    y_true, y_pred = np.asarray(y_true), np.asarray(y_pred)
    return np.flatnonzero((y_true[:, label] == t) & (y_pred[:, label] == p)).astype(np.int64)
