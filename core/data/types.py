"""The dataset types every other part of the lab passes around: `Split` and `TextDataset`.

The data errors live in core/errors.py (one hierarchy for the whole lab); `DataError` and `NameTakenError`
are re-exported here because data callers have always imported them from core.data.
"""
from __future__ import annotations

import hashlib
from dataclasses import dataclass, field

import numpy as np

from ..errors import DataError, NameTakenError

__all__ = ["DataError", "NameTakenError", "Split", "TextDataset"]


@dataclass
class Split:
    """One split. texts: n strings; y: (n,) int label indices, or (n, k) int 0/1 if multi-label."""

    texts: list[str]
    y: np.ndarray

    def __len__(self) -> int:
        return len(self.texts)

    def subset(self, idx: np.ndarray | list[int]) -> Split:
        """The rows at `idx` (in that order), as a new Split."""
        idx = np.asarray(idx, dtype=np.int64)
        return Split([self.texts[i] for i in idx], self.y[idx])


@dataclass
class TextDataset:
    """A dataset ready for training: train / validation / test splits with shared label names.

    name:       registry name ("ag_news") or "upload:<name>" for user files
    labels:     k label names; y values index into it
    multilabel: y is (n, k) 0/1 instead of (n,) indices
    language:   ISO code ("en", "ru") for tokenizer / encoder choice
    meta:       JSON-able notes: source, how test / validation were made, dropped rows, max_train...
    """

    name: str
    labels: list[str]
    train: Split
    validation: Split
    test: Split
    multilabel: bool = False
    language: str = "en"
    description: str = ""
    meta: dict = field(default_factory=dict)

    @property
    def n_labels(self) -> int:
        return len(self.labels)

    def splits(self) -> dict[str, Split]:
        """The three splits by name, in order train, validation, test."""
        return {"train": self.train, "validation": self.validation, "test": self.test}

    def fingerprint(self) -> str:
        """Short hash of the texts and labels of every split (changes when the data changes)."""
        h = hashlib.sha256()
        for split in (self.train, self.validation, self.test):
            for t in split.texts:
                h.update(t.encode("utf-8", "replace"))
                h.update(b"\0")
            h.update(np.ascontiguousarray(split.y).tobytes())
        h.update("\n".join(self.labels).encode())
        return h.hexdigest()[:16]
