"""Label-quality suspicion: planted flipped labels score worse than clean ones (cleanlab and fallback)."""
from __future__ import annotations

import sys

import numpy as np
import pytest

from core.explain.label_quality import label_quality


def noisy_problem(n=400, k=4, n_flip=20, seed=0):
    """Probabilities of a decent model; `n_flip` labels are flipped to another class after the fact."""
    rng = np.random.default_rng(seed)
    clean = rng.integers(0, k, n)
    logits = rng.normal(0, 1, (n, k))
    logits[np.arange(n), clean] += 3.0
    proba = np.exp(logits) / np.exp(logits).sum(1, keepdims=True)
    given = clean.copy()
    flipped = rng.choice(n, n_flip, replace=False)
    given[flipped] = (clean[flipped] + rng.integers(1, k, n_flip)) % k
    mask = np.zeros(n, dtype=bool)
    mask[flipped] = True
    return given, proba, mask


def test_flipped_labels_are_suspicious():
    y, proba, flipped = noisy_problem()
    table = label_quality(y, proba)
    assert table.attrs["engine"] == "cleanlab" and "out-of-sample" in table.attrs["note"]
    assert len(table) == len(y) and set(table.columns) >= {"quality", "suspicion", "flag", "given", "predicted",
                                                            "p_given"}
    assert table.suspicion[flipped].mean() > table.suspicion[~flipped].mean() + 0.4
    # most planted flips are flagged, few clean labels are
    assert table.flag[flipped].mean() >= 0.8 and table.flag[~flipped].mean() <= 0.05
    top = table.sort_values("suspicion", ascending=False).index[:20]
    assert flipped[top].mean() >= 0.8


def test_fallback_without_cleanlab(monkeypatch):
    monkeypatch.setitem(sys.modules, "cleanlab", None)  # import cleanlab.* now raises ImportError
    monkeypatch.setitem(sys.modules, "cleanlab.filter", None)
    monkeypatch.setitem(sys.modules, "cleanlab.rank", None)
    y, proba, flipped = noisy_problem()
    table = label_quality(y, proba)
    assert table.attrs["engine"] == "self_confidence"
    np.testing.assert_allclose(table.quality, proba[np.arange(len(y)), y])
    # the simple rule also flags some plain model mistakes, hence the looser bound on clean labels
    assert table.flag[flipped].mean() >= 0.8 and table.flag[~flipped].mean() <= 0.1


def test_multilabel():
    rng = np.random.default_rng(1)
    n, k = 300, 5
    truth = (rng.random((n, k)) < 0.3).astype(int)
    proba = np.clip(truth * 0.85 + (1 - truth) * 0.1 + rng.normal(0, 0.05, (n, k)), 0.01, 0.99)
    given = truth.copy()
    flipped = rng.choice(n, 15, replace=False)
    given[flipped, rng.integers(0, k, 15)] ^= 1
    mask = np.zeros(n, dtype=bool)
    mask[flipped] = True
    table = label_quality(given, proba, multilabel=True)
    assert "given" not in table.columns and len(table) == n
    assert table.suspicion[mask].mean() > table.suspicion[~mask].mean() + 0.3
    # cleanlab's multi-label filter is conservative: it flags about half the flips and (almost) nothing else
    assert table.flag[mask].mean() >= 0.4 and table.flag[~mask].mean() <= 0.02
    assert mask[table.sort_values("suspicion", ascending=False).index[:15]].mean() >= 0.8
    with pytest.raises(ValueError):
        label_quality(given[:, 0], proba, multilabel=True)
