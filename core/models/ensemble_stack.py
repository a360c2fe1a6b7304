"""Stacked ensemble (`combine=stack`): a logistic-regression meta-learner on the members' probabilities.

Features of a text: the m members' probabilities side by side, x = [p_1(x) | ... | p_m(x)]  (m·k,).
    single-label   p(x) = softmax(W x + b)           one multinomial logistic regression over the k labels
    multi-label    p_j(x) = sigmoid(W_j · x + b_j)   one binary logistic regression per label
W (k, m·k) and b (k,) are plain lists in ensemble.json (nothing pickled). Unlike a weighted average, the
meta-learner can learn that one member is reliable on one label and another on a different label, and re-balance
the labels (a per-label bias). It is fitted on the validation split the weights are tuned on; the regularisation C
is picked by sklearn's LogisticRegressionCV (stratified folds of that split, log-loss), so the choice does not
reuse the rows it is scored on.
"""
from __future__ import annotations

from typing import Any

import numpy as np

#: C values LogisticRegressionCV tries (inverse L2 strength on the m·k probability features)
CS = (0.01, 0.03, 0.1, 0.3, 1.0, 3.0, 10.0)
#: intercept of a label the validation split never shows (single-label) - effectively never predicted
ABSENT = -30.0


def features(probas: np.ndarray) -> np.ndarray:
    """(m, n, k) member probabilities -> (n, m·k) float64 meta-features (member-major)."""
    p = np.asarray(probas, dtype=np.float64)
    return np.concatenate(list(p), axis=1) if p.shape[0] else np.zeros((p.shape[1], 0))


def _folds(y: np.ndarray) -> int:
    """Cross-validation folds the rarest class allows (at most 5; 0 = too few rows to cross-validate)."""
    counts = np.bincount(y)
    smallest = counts[counts > 0].min() if len(counts) else 0
    return int(min(5, smallest)) if smallest >= 2 else 0


def _logistic(x: np.ndarray, y: np.ndarray, seed: int) -> tuple[Any, float]:
    """A fitted sklearn logistic regression (C by CV when the classes allow folds, else C=1) and its C."""
    from sklearn.linear_model import LogisticRegression, LogisticRegressionCV
    from sklearn.model_selection import StratifiedKFold

    folds = _folds(y)
    if folds >= 2:
        cv = StratifiedKFold(folds, shuffle=True, random_state=seed)
        lr = LogisticRegressionCV(Cs=list(CS), cv=cv, scoring="neg_log_loss", max_iter=2000, l1_ratios=(0.0,),
                                  use_legacy_attributes=False).fit(x, y)
        return lr, float(np.ravel(lr.C_)[0])
    return LogisticRegression(C=1.0, max_iter=2000).fit(x, y), 1.0


def fit_stacker(probas: np.ndarray, y: np.ndarray, multilabel: bool, seed: int = 0
                ) -> tuple[np.ndarray, np.ndarray, dict[str, Any]]:
    """Meta-learner on member probabilities (m, n, k) and labels y ((n,) ints or (n, k) 0/1):
    returns W (k, m·k), b (k,) and a report {"C": [...] per fitted model}."""
    x = features(probas)
    k = probas.shape[2]
    y = np.asarray(y)
    coef, intercept, cs = np.zeros((k, x.shape[1])), np.zeros(k), []
    if multilabel:
        for j in range(k):
            col = y[:, j].astype(int)
            if col.min() == col.max():  # a label always on / off in validation: a constant probability
                rate = np.clip(col.mean(), 1e-3, 1 - 1e-3)
                intercept[j] = np.log(rate / (1 - rate))
                continue
            lr, c = _logistic(x, col, seed)
            coef[j], intercept[j] = lr.coef_[0], lr.intercept_[0]
            cs.append(c)
    else:
        present = np.unique(y)
        if len(present) == 1:  # one class only: predict it
            intercept[:] = ABSENT
            intercept[present[0]] = 0.0
        else:
            lr, c = _logistic(x, y, seed)
            cs.append(c)
            intercept[:] = ABSENT
            if len(lr.classes_) == 2:  # sklearn keeps one row for two classes: logit of the second vs the first
                coef[lr.classes_[1]], intercept[lr.classes_[1]] = lr.coef_[0], lr.intercept_[0]
                intercept[lr.classes_[0]] = 0.0
            else:
                coef[lr.classes_], intercept[lr.classes_] = lr.coef_, lr.intercept_
    return coef, intercept, {"C": cs}


def apply_stacker(probas: np.ndarray, coef: np.ndarray, intercept: np.ndarray, multilabel: bool) -> np.ndarray:
    """(m, n, k) member probabilities -> (n, k) float32 stacked probabilities (softmax, or sigmoid per label)."""
    z = features(probas) @ np.asarray(coef, dtype=np.float64).T + np.asarray(intercept, dtype=np.float64)
    if multilabel:
        return (1.0 / (1.0 + np.exp(-z))).astype(np.float32)
    z = z - z.max(axis=1, keepdims=True)
    e = np.exp(z)
    return (e / e.sum(axis=1, keepdims=True)).astype(np.float32)
