"""Flipped predictions between a parent and its variant: by class, as a confusion of the two, and by slice.

All functions take the two models' test-set `Predictions` (core.predictions) over the same texts; nothing is
re-run. Single-label: a flip is a row whose argmax changed. Multi-label: a row whose predicted label set changed;
"by class" then counts, per label, the rows where that label's decision changed.
"""
from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from ..errors import ParamError
from ..predictions import Predictions

#: length buckets in words: (upper bound inclusive, name)
LENGTH_BUCKETS: tuple[tuple[float, str], ...] = ((10, "≤10 words"), (25, "11–25 words"), (50, "26–50 words"),
                                                 (100, "51–100 words"), (float("inf"), ">100 words"))


def check_pair(parent: Predictions, variant: Predictions) -> None:
    if parent.texts != variant.texts:
        raise ParamError("the parent and the variant were evaluated on different test texts")
    if list(parent.labels) != list(variant.labels) or parent.multilabel != variant.multilabel:
        raise ParamError("the parent and the variant predict different label sets")


def flipped(parent: Predictions, variant: Predictions) -> np.ndarray:
    """(n,) bool: the variant's prediction differs from the parent's."""
    a, b = parent.y_pred, variant.y_pred
    return (a != b).any(axis=1) if a.ndim == 2 else a != b


def correct(p: Predictions) -> np.ndarray:
    """(n,) bool: the whole prediction is right (multi-label: the exact label set)."""
    return (p.y_pred == p.y_true).all(axis=1) if p.multilabel else p.y_pred == p.y_true


def summary(parent: Predictions, variant: Predictions) -> dict[str, Any]:
    """n, flipped, flip_rate, fixed (parent wrong → variant right), broken (right → wrong), both accuracies."""
    f = flipped(parent, variant)
    ca, cb = correct(parent), correct(variant)
    n = len(f)
    return {"n": n, "flipped": int(f.sum()), "flip_rate": float(f.mean()) if n else 0.0,
            "fixed": int((~ca & cb).sum()), "broken": int((ca & ~cb).sum()),
            "accuracy_parent": float(ca.mean()) if n else None, "accuracy_variant": float(cb.mean()) if n else None}


def confusion(parent: Predictions, variant: Predictions) -> list[list[int]]:
    """k × k counts: row = the parent's predicted class, column = the variant's (single-label only)."""
    k = len(parent.labels)
    m = np.zeros((k, k), dtype=np.int64)
    np.add.at(m, (parent.y_pred, variant.y_pred), 1)
    return m.tolist()


def by_class(parent: Predictions, variant: Predictions) -> list[dict[str, Any]]:
    """Per class (of the parent's prediction; multi-label: per label): rows, flipped, flip_rate, fixed, broken."""
    ca, cb = correct(parent), correct(variant)
    out = []
    for j, name in enumerate(parent.labels):
        if parent.multilabel:
            rows = np.ones(len(ca), dtype=bool)
            f = parent.y_pred[:, j] != variant.y_pred[:, j]
            ok_a, ok_b = parent.y_pred[:, j] == parent.y_true[:, j], variant.y_pred[:, j] == variant.y_true[:, j]
        else:
            rows = parent.y_pred == j
            f = parent.y_pred != variant.y_pred
            ok_a, ok_b = ca, cb
        n = int(rows.sum())
        out.append({"class": name, "rows": n, "flipped": int((f & rows).sum()),
                    "flip_rate": float((f & rows).sum() / n) if n else 0.0,
                    "fixed": int((rows & ~ok_a & ok_b).sum()), "broken": int((rows & ok_a & ~ok_b).sum())})
    return out


# ----------------------------------------------------------------------------------------------- slices
def length_bucket(texts: Sequence[str]) -> list[str]:
    """Each text's length bucket (words, LENGTH_BUCKETS)."""
    out = []
    for t in texts:
        n = len(str(t).split())
        out.append(next(name for upper, name in LENGTH_BUCKETS if n <= upper))
    return out


def predicted_class(parent: Predictions) -> list[str]:
    """The parent's predicted class (multi-label: the most probable label) as a slice tag."""
    idx = parent.proba.argmax(axis=1)
    return [f"predicted {parent.labels[int(i)]}" for i in idx]


Masks = dict[str, np.ndarray]


def _masks(tags: Sequence[str]) -> Masks:
    arr = np.asarray(tags, dtype=object)
    return {str(t): arr == t for t in dict.fromkeys(arr.tolist())}


#: slice group -> tagger(parent predictions) -> {slice name: (n,) bool}: groups any two prediction sets have;
#: `slice_sources(parent_name)` adds the parent artifact's core.slices tags.
FALLBACK_SOURCES: dict[str, Callable[[Predictions], Masks]] = {
    "length": lambda p: _masks(length_bucket(p.texts)),
    "predicted class": lambda p: _masks(predicted_class(p)),
}


def slice_sources(parent_name: str | None = None) -> tuple[str, dict[str, Callable[[Predictions], Masks]]]:
    """(where the slices come from, {group: tagger}): the parent's core.slices tags (the analysis issue's tag
    registry, computed once per model and cached there) when `parent_name` is given, beside the length buckets
    and predicted classes; those two alone otherwise."""
    if parent_name is None:
        return "length bucket and the parent's predicted class", dict(FALLBACK_SOURCES)
    from ..slices.inputs import cached_tags, eval_set

    def tagged(p: Predictions) -> Masks:
        masks = cached_tags(eval_set(parent_name))
        return {k: np.asarray(m, dtype=bool) for k, m in masks.items() if len(m) == len(p.texts)}
    return "core.slices tags of the parent, length bucket and predicted class", \
        {"tag": tagged, **FALLBACK_SOURCES}


def by_slice(parent: Predictions, variant: Predictions, min_rows: int = 1,
             parent_name: str | None = None) -> dict[str, Any]:
    """{"source": where the slices come from, "rows": [{group, slice, rows, flipped, flip_rate, fixed, broken}]}
    sorted by flip rate (slices with fewer than `min_rows` rows left out). `parent_name` adds the parent
    artifact's core.slices tags."""
    source, taggers = slice_sources(parent_name)
    f = flipped(parent, variant)
    ca, cb = correct(parent), correct(variant)
    rows = []
    for group, tagger in taggers.items():
        for tag, m in tagger(parent).items():
            n = int(m.sum())
            if n < min_rows:
                continue
            rows.append({"group": group, "slice": tag, "rows": n, "flipped": int((f & m).sum()),
                         "flip_rate": float((f & m).sum() / n), "fixed": int((m & ~ca & cb).sum()),
                         "broken": int((m & ca & ~cb).sum())})
    rows.sort(key=lambda r: (-r["flip_rate"], -r["rows"]))
    return {"source": source, "rows": rows}
