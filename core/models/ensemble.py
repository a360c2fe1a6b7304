"""Weighted soft-vote (or stacked) ensemble of saved models, tuned on the validation split.

p(x) = Σ_i w_i p_i(x) with w on the simplex (w_i ≥ 0, Σ w_i = 1); members are artifacts loaded by name through
`core.artifacts.load_model`, so an ensemble folder holds only `ensemble.json` (member names, weights, labels).
Weight tuning (`objective`):
    log_loss   minimise validation log-loss (BCE for multi-label) over softmax-parametrised weights (scipy L-BFGS)
    accuracy   best validation accuracy over a grid / random search of the simplex (ties -> lower log-loss)
    equal      1 / m each
combine=stack replaces the average by a logistic-regression meta-learner on the members' probabilities
(core/models/ensemble_stack.py; its coefficients are stored next to the weights, which stay for display).
`vote_breakdown(text)` shows every member's probabilities and weight next to the combined vote.
This module is the classifier; settings, weight tuning and `fit` live in core/models/ensemble_fit.py (re-exported
here on first use).
"""
from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from .. import thresholds
from ..base import TextClassifier
from ..errors import ParamError
from . import training_attributes

KIND = "ensemble"
TITLE = "Ensemble (weighted vote of saved models)"
DESCRIPTION = "Averages the probabilities of saved models on the same dataset, weights tuned on validation."
#: names defined by the training module core/models/ensemble_fit.py, imported from it on first use
__getattr__ = training_attributes(__name__, ".ensemble_fit", {"OBJECTIVES", "PARAMS", "tune_weights", "fit"})

class EnsembleClassifier(TextClassifier):
    """Weighted average of member classifiers' probabilities."""

    kind = KIND
    capabilities = frozenset()

    def __init__(self, members: dict[str, TextClassifier], weights: Sequence[float], labels: list[str],
                 multilabel: bool, tuning: dict[str, Any] | None = None, threshold: float = 0.5,
                 stacker: dict[str, Any] | None = None) -> None:
        """`stacker`: {"coef": (k, m·k), "intercept": (k,)} of a meta-learner (combine=stack), None = average."""
        if not members:
            raise ParamError("an ensemble needs at least one member")
        if len(weights) != len(members):
            raise ParamError(f"{len(members)} members but {len(weights)} weights")
        w = np.asarray(weights, dtype=np.float64)
        if (w < 0).any() or w.sum() <= 0:
            raise ParamError("weights must be ≥ 0 with a positive sum")
        for name, m in members.items():
            if list(m.labels) != list(labels):
                raise ParamError(f"member {name!r} has labels {list(m.labels)}, expected {list(labels)}")
        self.members = dict(members)
        self.weights = (w / w.sum()).tolist()
        self.labels = list(labels)
        self.multilabel = bool(multilabel)
        self.threshold = thresholds.from_json(threshold)
        self.tuning = dict(tuning or {})
        self.stacker = stacker
        if stacker is not None and np.shape(stacker["coef"]) != (len(labels), len(members) * len(labels)):
            raise ParamError(f"stacker coefficients {np.shape(stacker['coef'])} do not fit {len(members)} members "
                             f"x {len(labels)} labels")

    def mix(self, probas: np.ndarray) -> np.ndarray:
        """(m, n, k) member probabilities -> (n, k) combined: the meta-learner when stacked, else the average."""
        if self.stacker is not None:
            from .ensemble_stack import apply_stacker

            return apply_stacker(probas, self.stacker["coef"], self.stacker["intercept"], self.multilabel)
        return combine(probas, self.weights)

    @property
    def member_names(self) -> list[str]:
        return list(self.members)

    def member_probas(self, texts: Sequence[str]) -> np.ndarray:
        """(m, n, k) probabilities of every member."""
        return np.stack([np.asarray(m.predict_proba(list(texts)), dtype=np.float32) for m in self.members.values()])

    def predict_proba(self, texts: Sequence[str]) -> np.ndarray:
        if len(texts) == 0:
            return np.zeros((0, len(self.labels)), np.float32)
        return self.mix(self.member_probas(texts))

    def vote_breakdown(self, text: str) -> dict[str, Any]:
        """Per-member probabilities and weights for one text, plus the combined vote.

        {"labels": [...], "members": [{"name", "weight", "proba": [k], "predicted": label}], "proba": [k],
         "predicted": label (multi-label: list of labels)}
        """
        probas = self.member_probas([text])[:, 0]
        combined = self.mix(probas[:, None])[0]

        def pick(p: np.ndarray) -> Any:
            if self.multilabel:
                return [self.labels[j] for j in np.flatnonzero(p >= self.threshold)]
            return self.labels[int(np.argmax(p))]

        return {"labels": self.labels,
                "members": [{"name": n, "weight": float(w), "proba": p.tolist(), "predicted": pick(p)}
                            for n, w, p in zip(self.members, self.weights, probas)],
                "proba": combined.tolist(), "predicted": pick(combined)}

    def n_parameters(self) -> int:
        return int(sum(m.n_parameters() for m in self.members.values()))

    def save(self, directory: Path) -> None:
        directory = Path(directory)
        directory.mkdir(parents=True, exist_ok=True)
        meta = {"format": 1, "kind": KIND, "members": self.member_names, "weights": self.weights,
                "labels": self.labels, "multilabel": self.multilabel, "threshold": thresholds.as_json(self.threshold),
                "tuning": self.tuning, "stacker": self.stacker}
        (directory / "ensemble.json").write_text(json.dumps(meta, indent=2, default=float))

    @classmethod
    def load(cls, directory: Path) -> EnsembleClassifier:
        from ..artifacts import ArtifactError, artifact_dir, load_model

        meta = json.loads((Path(directory) / "ensemble.json").read_text())
        members = {}
        for name in meta["members"]:
            if not artifact_dir(name).is_dir():
                raise ArtifactError(f"ensemble member {name!r} no longer exists (deleted?)")
            members[name] = load_model(name)
        return cls(members, meta["weights"], meta["labels"], meta["multilabel"], meta.get("tuning"),
                   thresholds.from_json(meta.get("threshold")), meta.get("stacker"))


CLASSIFIER = EnsembleClassifier


# ----------------------------------------------------------------------------------------------- weights
def combine(probas: np.ndarray, weights: Sequence[float]) -> np.ndarray:
    """(m, n, k) member probabilities, (m,) weights -> (n, k) float32 weighted average (weights normalised)."""
    return _mix(np.asarray(probas, dtype=np.float64), weights).astype(np.float32)


def _mix(probas: np.ndarray, weights: Sequence[float]) -> np.ndarray:
    w = np.asarray(weights, dtype=np.float64)
    return np.tensordot(w / w.sum(), probas, axes=1)
