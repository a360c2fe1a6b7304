"""core.evaluate on tiny hand-checked cases."""
from __future__ import annotations

import json

import numpy as np
import pytest

from core.evaluate import (
    calibration_bins,
    confusion_cell_indices,
    ece_from_bins,
    evaluate,
    per_class_delta,
)

LABELS = ["a", "b", "c"]


def one_hot(idx, k=3, p=1.0):
    out = np.full((len(idx), k), (1 - p) / (k - 1))
    out[np.arange(len(idx)), idx] = p
    return out


def test_perfect_predictions():
    y = np.array([0, 1, 2, 2, 1, 0])
    m = evaluate(y, one_hot(y), LABELS)
    assert m["accuracy"] == 1.0
    for avg in ("micro", "macro", "weighted"):
        assert m[f"f1_{avg}"] == 1.0 and m[f"precision_{avg}"] == 1.0 and m[f"recall_{avg}"] == 1.0
    assert m["confusion"] == [[2, 0, 0], [0, 2, 0], [0, 0, 2]]
    assert m["ece"] == pytest.approx(0.0)
    assert [r["support"] for r in m["per_class"]] == [2, 2, 2]
    assert all(r["roc_auc"] == 1.0 for r in m["per_class"])
    json.dumps(m)  # JSON-able


def test_all_wrong():
    y = np.array([0, 1, 2, 0])
    pred = np.array([1, 2, 0, 2])
    m = evaluate(y, one_hot(pred, p=0.9), LABELS)
    assert m["accuracy"] == 0.0
    assert m["f1_macro"] == 0.0
    # confidence 0.9 everywhere, accuracy 0 -> ECE 0.9, all in the (0.8, 0.9] bin
    assert m["ece"] == pytest.approx(0.9)
    nonempty = [b for b in m["calibration_bins"] if b["count"]]
    assert len(nonempty) == 1 and nonempty[0]["lower"] == pytest.approx(0.8) and nonempty[0]["count"] == 4


def test_confusion_orientation_rows_true_cols_pred():
    y = np.array([0, 0, 0, 1])
    pred = np.array([1, 1, 0, 1])  # two true-a predicted as b
    m = evaluate(y, one_hot(pred), LABELS)
    cm = np.array(m["confusion"])
    assert cm[0, 1] == 2 and cm[1, 0] == 0
    assert cm[0, 0] == 1 and cm[1, 1] == 1
    norm = np.array(m["confusion_normalized"])
    np.testing.assert_allclose(norm[0], [1 / 3, 2 / 3, 0])
    np.testing.assert_allclose(norm[2], [0, 0, 0])  # absent class: zero row, no NaN
    np.testing.assert_array_equal(confusion_cell_indices(y, pred, 0, 1), [0, 1])
    np.testing.assert_array_equal(confusion_cell_indices(y, pred, 1, 0), [])


def test_hand_computed_ece():
    # top-label confidences 0.95, 0.95 (both right), 0.6 (right), 0.6 (wrong)
    proba = np.array([[0.95, 0.05], [0.05, 0.95], [0.6, 0.4], [0.6, 0.4]])
    y = np.array([0, 1, 0, 1])
    m = evaluate(y, proba, ["x", "y"], n_bins=10)
    # bin (0.9,1]: conf .95 acc 1 -> gap .05 weight .5 ; bin (0.5,0.6]: conf .6 acc .5 -> gap .1 weight .5
    assert m["ece"] == pytest.approx(0.5 * 0.05 + 0.5 * 0.1)
    assert ece_from_bins(m["calibration_bins"]) == pytest.approx(m["ece"])
    assert sum(b["count"] for b in m["calibration_bins"]) == 4
    assert m["mce"] == pytest.approx(0.1)


def test_bins_are_right_closed():
    bins = calibration_bins(np.array([0.0, 0.3, 0.30001, 1.0]), np.array([1, 1, 1, 1]), n_bins=10)
    counts = [b["count"] for b in bins]
    assert counts[0] == 1 and counts[2] == 1 and counts[3] == 1 and counts[9] == 1
    assert bins[1]["confidence"] is None and bins[1]["accuracy"] is None


def test_absent_label_and_undefined_auc():
    y = np.array([0, 1, 0, 1])
    proba = np.array([[0.8, 0.1, 0.1], [0.2, 0.7, 0.1], [0.6, 0.3, 0.1], [0.1, 0.2, 0.7]])
    m = evaluate(y, proba, LABELS)
    c = m["per_class"][2]
    assert c["support"] == 0 and c["recall"] == 0.0 and c["precision"] == 0.0
    assert c["roc_auc"] is None
    assert m["roc_auc_macro"] is not None


def test_multilabel_shapes_and_values():
    y = np.array([[1, 0, 1], [0, 1, 0], [1, 1, 0], [0, 0, 0]])
    proba = np.array([[0.9, 0.2, 0.7], [0.1, 0.8, 0.3], [0.6, 0.4, 0.1], [0.2, 0.1, 0.2]])
    m = evaluate(y, proba, LABELS, multilabel=True)
    pred = (proba >= 0.5).astype(int)
    assert m["accuracy"] == pytest.approx(np.mean((pred == y).all(axis=1)))  # subset accuracy: 3/4
    assert m["accuracy"] == 0.75
    assert m["hamming_loss"] == pytest.approx(1 / 12)
    cpl = np.array(m["confusion_per_label"])
    assert cpl.shape == (3, 2, 2)
    assert cpl[1].tolist() == [[2, 0], [1, 1]]  # label b: tn 2, fp 0, fn 1, tp 1
    assert "confusion" not in m
    assert len(m["per_class"]) == 3 and all(r["roc_auc"] is not None for r in m["per_class"])
    assert m["roc_auc_micro"] is not None
    assert sum(b["count"] for b in m["calibration_bins"]) == 12  # all label probabilities
    json.dumps(m)


def test_multilabel_single_class_label_has_no_auc():
    y = np.array([[1, 0], [0, 0], [1, 0]])
    proba = np.array([[0.9, 0.1], [0.2, 0.1], [0.7, 0.3]])
    m = evaluate(y, proba, ["p", "q"], multilabel=True)
    assert m["per_class"][1]["roc_auc"] is None
    assert m["roc_auc_macro"] == pytest.approx(1.0)


def test_shape_errors():
    with pytest.raises(ValueError):
        evaluate(np.array([0, 1]), np.ones((2, 2)) / 2, LABELS)
    with pytest.raises(ValueError):
        evaluate(np.array([0, 5]), np.ones((2, 3)) / 3, LABELS)
    with pytest.raises(ValueError):
        evaluate(np.array([0, 1]), np.ones((2, 3)) / 3, LABELS, multilabel=True)


def test_per_class_delta():
    y = np.array([0, 0, 1, 1, 2, 2])
    a = evaluate(y, one_hot(np.array([0, 1, 1, 1, 2, 0])), LABELS)
    b = evaluate(y, one_hot(y), LABELS)
    rows = per_class_delta(a, b)
    assert [r["label"] for r in rows] == LABELS
    assert rows[0]["recall_a"] == 0.5 and rows[0]["recall_b"] == 1.0 and rows[0]["delta_recall"] == 0.5
    assert rows[1]["delta_recall"] == 0.0
