"""Word-level edits of a text (remove, keep, replace words) and the class score every edit is judged by.

Units are `core.base.simple_tokenize` words (`attribution.word_spans`), the units `TokenAttribution.to_words` maps
every explainer onto, so "the top-k words of an attribution" and "the words removed from the text" agree.
"""
from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Sequence

import numpy as np

from .attribution import word_spans

ProbaFn = Callable[[Sequence[str]], np.ndarray]
_SPACES = re.compile(r"[ \t]{2,}")


def words(text: str) -> list[str]:
    """The words of `text` (simple_tokenize units), in order."""
    return [text[a:b] for a, b in word_spans(text)]


def rebuild(text: str, drop: Iterable[int] = (), replace: dict[int, str] | None = None) -> str:
    """`text` with the words at indices `drop` removed and `replace` {index: new word} substituted; everything
    between words (spaces, line breaks) is kept, runs of spaces left by a removal collapse to one."""
    drop, replace = set(drop), replace or {}
    out, cursor = [], 0
    for i, (a, b) in enumerate(word_spans(text)):
        out.append(text[cursor:a])
        if i in replace:
            out.append(replace[i])
        elif i not in drop:
            out.append(text[a:b])
        cursor = b
    out.append(text[cursor:])
    return _SPACES.sub(" ", "".join(out)).strip()


def keep_only(text: str, keep: Iterable[int]) -> str:
    """Only the words at indices `keep`, in text order, joined by spaces (ERASER's sufficiency input)."""
    ws = words(text)
    return " ".join(ws[i] for i in sorted(set(keep)))


def class_score(proba: np.ndarray, class_index: int, contrast: int | None = None) -> np.ndarray:
    """(n,) score of rows of probabilities (n, k): p[class] or, with a contrast class, p[class] - p[contrast]."""
    p = np.asarray(proba, dtype=np.float64)
    return p[:, class_index] - (p[:, int(contrast)] if contrast is not None else 0.0)


__all__ = ["ProbaFn", "words", "rebuild", "keep_only", "class_score"]
