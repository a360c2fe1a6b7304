""""The label is probably wrong": per-example label-quality scores from out-of-sample probabilities.

Uses cleanlab (confident learning): `cleanlab.rank.get_label_quality_scores` + `cleanlab.filter.
find_label_issues` for single-label tasks, `cleanlab.multilabel_classification` for multi-label ones.
If cleanlab is missing or refuses the input (e.g. a class with no examples), falls back to
self-confidence: quality = p(given label), flagged when the model predicts another class and
p(given) is below that class's average self-confidence (the per-class threshold of confident learning).

The probabilities must be out-of-sample: a model's test-split probabilities are (the test split was never
trained on), which is what an artifact's predictions.npz holds. Training-split probabilities would
trust memorised labels and hide the issues.
"""
from __future__ import annotations

import numpy as np
import pandas as pd

NOTE = ("Scores come from the model's test-split probabilities, which are out-of-sample (the model never "
        "trained on these texts). Low quality = the model confidently disagrees with the given label; a flag "
        "is a suspicion to review, not a verdict.")


def _fallback(y: np.ndarray, p: np.ndarray, multilabel: bool) -> tuple[np.ndarray, np.ndarray]:
    if multilabel:
        # per-class self-confidence of the given 0/1 value; the worst class decides
        conf = np.where(y == 1, p, 1 - p)
        quality = conf.min(axis=1)
        return quality, quality < 0.5
    k = p.shape[1]
    quality = p[np.arange(len(y)), y]
    thresholds = np.array([quality[y == j].mean() if np.any(y == j) else 0.5 for j in range(k)])
    flags = (p.argmax(axis=1) != y) & (quality < thresholds[y])
    return quality, flags


def label_quality(y_true, proba, multilabel: bool = False, method: str = "self_confidence") -> pd.DataFrame:
    """Label-quality table, one row per example, in input order.

    y_true: (n,) int labels, or (n, k) 0/1 for multi-label; proba: (n, k) out-of-sample probabilities.
    method: cleanlab ranking method ("self_confidence", "normalized_margin", "confidence_weighted_entropy").
    Columns: quality in [0, 1] (low = label likely wrong), suspicion = 1 - quality, flag (bool, cleanlab's
    find_label_issues), and for single-label tasks given, predicted, p_given.
    `df.attrs`: engine ("cleanlab" or "self_confidence"), method, note (see NOTE).
    """
    p = np.asarray(proba, dtype=np.float64)
    y = np.asarray(y_true)
    if p.ndim != 2 or len(p) != len(y):
        raise ValueError(f"proba must be (n, k) with n = len(y_true); got {p.shape} and {len(y)} labels")
    if multilabel and y.ndim != 2:
        raise ValueError("multi-label y_true must be an (n, k) 0/1 matrix")
    y = y.astype(np.int64)
    engine = "cleanlab"
    try:
        if multilabel:
            from cleanlab.multilabel_classification.filter import find_label_issues
            from cleanlab.multilabel_classification.rank import get_label_quality_scores

            lists = [list(np.nonzero(row)[0]) for row in y]
            quality = get_label_quality_scores(lists, p, method=method)
            flags = find_label_issues(lists, p, n_jobs=1)
        else:
            from cleanlab.filter import find_label_issues
            from cleanlab.rank import get_label_quality_scores

            quality = get_label_quality_scores(y, p, method=method)
            flags = find_label_issues(y, p, n_jobs=1)
    except Exception:  # noqa: BLE001 - cleanlab missing or input it refuses: the documented fallback
        engine = "self_confidence"
        quality, flags = _fallback(y, p, multilabel)
    quality = np.asarray(quality, dtype=np.float64)
    out = pd.DataFrame({"quality": quality, "suspicion": 1.0 - quality, "flag": np.asarray(flags, dtype=bool)})
    if not multilabel:
        out["given"] = y
        out["predicted"] = p.argmax(axis=1)
        out["p_given"] = p[np.arange(len(y)), y]
    out.attrs.update({"engine": engine, "method": method if engine == "cleanlab" else "self_confidence",
                      "note": NOTE})
    return out
