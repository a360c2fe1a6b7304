"""A user table's raw labels -> label names and arrays (`code_labels`), and what is wrong with them
(`label_problems`). Raw labels per row: a name ("names"), a list of names ("delimited") or a 0/1 list
("binary_columns")."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .cells import sort_labels


@dataclass
class LabelCoding:
    """labels: k names; y: (n,) indices or (n, k) 0/1 for the file rows; y_test likewise for a test file."""

    labels: list[str]
    multilabel: bool
    y: np.ndarray
    y_test: np.ndarray

    def counts(self) -> np.ndarray:
        """(k,) rows per class (multi-label: positive rows per label) in the file."""
        if self.multilabel:
            return self.y.sum(axis=0).astype(np.int64)
        return np.bincount(self.y, minlength=len(self.labels))

    def class_counts(self) -> dict[str, int]:
        return {lab: int(c) for lab, c in zip(self.labels, self.counts())}


def _matrix(rows: list, labels: list[str], fmt: str) -> np.ndarray:
    """Multi-label rows -> (n, k) 0/1: delimited name lists or 0/1 lists in label order."""
    if fmt != "delimited":
        return np.array(rows, dtype=np.int64).reshape(len(rows), len(labels))
    pos = {lab: i for i, lab in enumerate(labels)}
    m = np.zeros((len(rows), len(labels)), dtype=np.int64)
    for i, row in enumerate(rows):
        m[i, [pos[lab] for lab in row]] = 1
    return m


def code_labels(raw: list, test_raw: list, fmt: str, label_columns: list[str]) -> LabelCoding:
    """Label names from the file and test rows together; y arrays for both. One 0/1 column is a binary task
    with labels "not <col>" / "<col>"."""
    if fmt == "names":
        labels = sort_labels(raw + test_raw)
        pos = {lab: i for i, lab in enumerate(labels)}
        return LabelCoding(labels, False, np.array([pos[v] for v in raw], dtype=np.int64),
                           np.array([pos[v] for v in test_raw], dtype=np.int64))
    if fmt == "binary_columns" and len(label_columns) == 1:
        col = label_columns[0]
        return LabelCoding([f"not {col}", col], False, np.array([r[0] for r in raw], dtype=np.int64),
                           np.array([r[0] for r in test_raw], dtype=np.int64))
    if fmt == "delimited":
        labels = sort_labels([lab for row in raw + test_raw for lab in row])
    else:
        labels = list(label_columns)
    return LabelCoding(labels, True, _matrix(raw, labels, fmt), _matrix(test_raw, labels, fmt))


def label_problems(coding: LabelCoding, fmt: str, label_columns: list[str], carve_test: bool
                   ) -> list[tuple[str, str]]:
    """(severity, message) pairs: errors when a classifier cannot be trained or tested on these labels,
    warnings for classes / labels without training examples. carve_test: test rows will be carved from the
    file, so every class needs 2 rows."""
    out: list[tuple[str, str]] = []
    labels, y = coding.labels, coding.y
    if not coding.multilabel:
        present = np.unique(y)
        if len(present) < 2:
            only = labels[int(present[0])] if len(present) else "nothing"
            out.append(("error", f"the label column {label_columns[0]!r} has a single class ({only!r}); "
                                 f"a classifier needs at least 2 classes"))
        unseen = sorted(set(range(len(labels))) - set(present.tolist()))
        if unseen:  # a model can never predict them: its test scores would be meaningless
            out.append(("error", f"the test file has labels that are not in the training file: "
                                 f"{[labels[i] for i in unseen]}; fix the labels or drop those rows"))
        small = {labels[i]: int(c) for i, c in enumerate(coding.counts()) if c < 2}
        if carve_test and small:
            out.append(("error", f"every class needs at least 2 rows (one to train on, one to test on); too few: "
                                 f"{small}. Add rows, merge these classes, or drop them"))
        return out
    if not y.any():
        out.append(("error", f"no row has any label in {label_columns}; a classifier needs positive examples"))
    if len(labels) < 2 and fmt == "delimited":
        out.append(("error", f"the label column {label_columns[0]!r} holds a single label "
                             f"({labels[0] if labels else 'nothing'!r}); a classifier needs at least 2 labels"))
    empty = [labels[j] for j in np.flatnonzero(y.sum(axis=0) == 0)]
    if empty:
        out.append(("warning", f"labels with no positive training row: {empty}"))
    none = int((y.sum(axis=1) == 0).sum())
    if none:
        out.append(("warning", f"{none} training rows have no label at all"))
    return out
