"""Reading one cell of a user's table: missing values, label names, 0/1 flags; label ordering."""
from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np


def as_list(x: str | Sequence[str] | None) -> list[str]:
    """None -> [], "a" -> ["a"], a sequence -> list."""
    if x is None:
        return []
    return [x] if isinstance(x, str) else list(x)


def is_missing(v: Any) -> bool:
    """None, NaN, pandas.NA or a blank string."""
    if v is None:
        return True
    if isinstance(v, (float, np.floating)):
        return bool(v != v)
    if isinstance(v, str):
        return not v.strip()
    return type(v).__name__ == "NAType"


def joined_texts(df, text_columns: Sequence[str]) -> list[str]:
    """One text per row of `df`: the `text_columns` cells, stripped, joined with " " (missing ones skipped)."""
    parts = [[("" if is_missing(v) else str(v).strip()) for v in df[c].tolist()] for c in text_columns]
    return [" ".join(p for p in row if p) for row in zip(*parts)]


def label_name(v: Any) -> str:
    """A label cell -> its name: 1.0 -> "1" (integer columns become float when they hold NaN)."""
    if isinstance(v, (float, np.floating)) and float(v).is_integer():
        return str(int(v))
    if isinstance(v, (np.integer,)):
        return str(int(v))
    return str(v).strip()


#: Cell values read as 1 / 0 in a 0/1 label column (after lowercasing).
TRUE_CELLS = ("1", "true", "yes", "y")
FALSE_CELLS = ("0", "false", "no", "n")


def flag(v: Any) -> int | None:
    """A 0/1 cell -> 1, 0 or None (missing); ValueError for anything else (the caller names the cell)."""
    if is_missing(v):
        return None
    s = label_name(v).lower()
    if s in TRUE_CELLS:
        return 1
    if s in FALSE_CELLS:
        return 0
    raise ValueError(v)


def sort_labels(names: Iterable[str]) -> list[str]:
    """Distinct label names, numerically when they all are numbers (2 before 10), else alphabetically."""
    names = set(names)
    try:
        return sorted(names, key=lambda s: (float(s), s))
    except ValueError:
        return sorted(names)
