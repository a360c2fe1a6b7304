"""`Predictions`: the test-set outputs stored with every artifact (predictions.npz), so pages never re-run inference."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .thresholds import from_json


@dataclass
class Predictions:
    """Test-set outputs of one model.

    proba: (n, k) float32; y_true: (n,) int or (n, k) 0/1; texts: n strings; labels: k names.
    """

    proba: np.ndarray
    y_true: np.ndarray
    texts: list[str]
    labels: list[str]
    multilabel: bool = False
    threshold: float | np.ndarray = 0.5  # multi-label: one cut, or one per label (k,)

    @property
    def y_pred(self) -> np.ndarray:
        if self.multilabel:
            return (self.proba >= self.threshold).astype(np.int64)
        return self.proba.argmax(axis=1)

    @property
    def confidence(self) -> np.ndarray:
        """(n,) probability of the predicted class (multi-label: of the most probable label)."""
        return self.proba.max(axis=1)

    def save(self, path: Path) -> None:
        np.savez_compressed(
            path,
            proba=self.proba.astype(np.float32),
            y_true=self.y_true,
            texts=np.array(self.texts, dtype=np.str_),
            labels=np.array(self.labels, dtype=np.str_),
            multilabel=np.array(self.multilabel),
            threshold=np.asarray(self.threshold, dtype=float),
        )

    @classmethod
    def load(cls, path: Path) -> Predictions:
        with np.load(path, allow_pickle=False) as z:
            return cls(
                proba=z["proba"],
                y_true=z["y_true"],
                texts=[str(t) for t in z["texts"]],
                labels=[str(t) for t in z["labels"]],
                multilabel=bool(z["multilabel"]),
                threshold=from_json(z["threshold"].tolist()),
            )
