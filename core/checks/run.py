"""Running a suite against one model through `predict_proba` only, so every family (and every compressed variant,
single- or multi-label) is tested the same way.

Every distinct text of the run (originals, perturbed texts, filled templates) is scored once, in batches, so the
original of a text shared by several tests costs one forward pass. Pass/fail rules:

    INV  the prediction must not change (multi-label: the predicted label set)
    DIR  p(label) must not move against `direction` by more than `tolerance` (up: p_after >= p_before - tol)
    MFT  the prediction must be `label` (multi-label: `label` among the predicted labels)
"""
from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..safety import clean_texts
from .cases import Case, cases_of
from .suite import CheckTest, Suite

Predict = Callable[[Sequence[str]], np.ndarray]
Progress = Callable[[int, int], None]
BATCH = 64
#: Failing examples kept per test in a record (the pages and the CLI show the first few).
MAX_EXAMPLES = 50


@dataclass
class Target:
    """What a run needs of a model: `predict(texts) -> (n, k) probabilities`, its labels, multi-label flag and
    threshold (probabilities >= threshold are predicted labels)."""

    predict: Predict
    labels: list[str]
    multilabel: bool = False
    threshold: float = 0.5

    @classmethod
    def of(cls, model: Any) -> Target:
        """A Target for a loaded core.base.TextClassifier."""
        return cls(model.predict_proba, list(model.labels), bool(model.multilabel), float(model.threshold))

    def decided(self, proba: np.ndarray) -> tuple:
        """The prediction of one (k,) probability row: (index,) or the tuple of predicted label indices."""
        if self.multilabel:
            return tuple(int(i) for i in np.flatnonzero(proba >= self.threshold))
        return (int(proba.argmax()),)

    def names(self, decided: tuple) -> str:
        return ", ".join(self.labels[i] for i in decided) if decided else "(none)"


def score_texts(target: Target, texts: Sequence[str], progress: Progress | None = None,
                batch: int = BATCH) -> dict[str, np.ndarray]:
    """text -> (k,) probabilities for every distinct text, scored in batches of `batch` (by length, so a batch
    pads little)."""
    unique = sorted(dict.fromkeys(texts), key=len)
    out: dict[str, np.ndarray] = {}
    for start in range(0, len(unique), batch):
        chunk = unique[start:start + batch]
        proba = np.asarray(target.predict(clean_texts(chunk)), dtype=float)
        out.update(zip(chunk, proba))
        if progress:
            progress(min(start + batch, len(unique)), len(unique))
    if progress and not unique:
        progress(0, 0)
    return out


def _judge(test: CheckTest, case: Case, scores: dict[str, np.ndarray], target: Target) -> dict[str, Any] | None:
    """The example row of a failing case, None when it passes."""
    after = scores[case.text]
    if test.type == "MFT":
        k = target.labels.index(test.expected["label"])
        got = target.decided(after)
        if k in got and (target.multilabel or got == (k,)):
            return None
        return {"original": "", "perturbed": case.text, "before": "", "after": target.names(got),
                "p_before": None, "p_after": float(after[k]), "change": f"expected {test.expected['label']}"}
    before = scores[case.original]
    was, now = target.decided(before), target.decided(after)
    if test.type == "INV":
        if was == now:
            return None
        k = was[0] if was else int(before.argmax())
        return {"original": case.original, "perturbed": case.text, "before": target.names(was),
                "after": target.names(now), "p_before": float(before[k]), "p_after": float(after[k]),
                "change": f"{target.names(was)} → {target.names(now)}"}
    k = target.labels.index(test.expected["label"])
    delta = float(after[k] - before[k])
    tol = float(test.expected.get("tolerance", 0.0))
    wrong = delta < -tol if test.expected["direction"] == "up" else delta > tol
    if not wrong:
        return None
    return {"original": case.original, "perturbed": case.text, "before": target.names(was),
            "after": target.names(now), "p_before": float(before[k]), "p_after": float(after[k]),
            "change": f"p({test.expected['label']}) {delta:+.3f}, expected {test.expected['direction']}"}


def describe(test: CheckTest) -> str:
    """One line saying what a test checks."""
    if test.type == "INV":
        return f"{test.perturbation} must not change the prediction"
    if test.type == "DIR":
        return f"{test.perturbation}: p({test.expected['label']}) must go {test.expected['direction']}"
    return f"template must be {test.expected['label']}"


def run_suite(suite: Suite, target: Target, progress: Progress | None = None,
              max_examples: int = MAX_EXAMPLES) -> list[dict[str, Any]]:
    """One result per test: name, type, what, cases, skipped, failed, failure_rate (failed / cases; None when no
    case applied), examples (up to `max_examples` failing rows: original, perturbed, before, after, p_before,
    p_after, change). `progress(done, total)` counts distinct texts scored."""
    built = [(t, *cases_of(t, suite.seed)) for t in suite.tests]
    texts = [x for _, cases, _ in built for c in cases for x in ((c.original, c.text) if c.original else (c.text,))]
    scores = score_texts(target, texts, progress)
    results = []
    for test, cases, skipped in built:
        fails = [row for c in cases if (row := _judge(test, c, scores, target)) is not None]
        results.append({"name": test.name, "type": test.type, "what": test.description or describe(test),
                        "cases": len(cases), "skipped": skipped, "failed": len(fails),
                        "failure_rate": len(fails) / len(cases) if cases else None,
                        "examples": fails[:max_examples]})
    return results
