"""Saved slices per dataset: user_data_dir()/slices/<dataset>.json, one list of definitions per dataset.

Kinds (KINDS) and their definitions (a list is accepted as the shorthand of the first key):
    keyword  {"words": [...]}                 texts containing any of the words (whole words, case ignored)
    regex    {"pattern": "...", "ignore_case": true}
    column   {"column": "source", "values": [...]}   rows whose metadata column (core/slices/columns.py) holds one
                                                      of the values (compared as strings)
    texts    {"texts": [...]}                 explicit membership (e.g. a discovered cluster, a data-map region)

A dataset's versions share their slices ("upload:x@v2" reads those of "upload:x"). Names follow core.naming's
"slice" rule; a taken name is refused (SliceNameTaken) unless replace=True. An invalid definition (bad regex,
no words, unknown kind) is a ParamError naming the problem, and nothing is written.
"""
from __future__ import annotations

import datetime as _dt
import hashlib
import json
import re
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from .. import config, naming
from ..atomic import atomic_write_text
from ..errors import ParamError

KINDS = ("keyword", "regex", "column", "texts")
#: The key a bare list stands for, per kind.
_LIST_KEY = {"keyword": "words", "regex": "pattern", "column": "values", "texts": "texts"}
MAX_ITEMS = 100_000


@dataclass(frozen=True)
class SavedSlice:
    """One saved slice of a dataset; `definition` as normalised by `check_definition`."""

    name: str
    kind: str
    definition: dict[str, Any]
    description: str = ""
    created: str = ""
    extra: dict[str, Any] = field(default_factory=dict)

    def summary(self) -> str:
        """A short reading of the definition for tables ("words: refund, money", "regex: ^re:", ...)."""
        d = self.definition
        if self.kind == "keyword":
            return "words: " + ", ".join(d["words"][:8]) + (" ..." if len(d["words"]) > 8 else "")
        if self.kind == "regex":
            return f"regex: {d['pattern']}" + (" (case ignored)" if d.get("ignore_case") else "")
        if self.kind == "column":
            return f"{d['column']} in {', '.join(map(str, d['values'][:8]))}"
        return f"{len(d['texts']):,} listed texts"


def dataset_key(dataset: str) -> str:
    """"upload:x@v2" -> "upload:x" (versions of a dataset share their slices); other names unchanged."""
    return re.sub(r"@v\d+$", "", dataset) if dataset.startswith("upload:") else dataset


def _path(dataset: str) -> Path:
    key = dataset_key(dataset)
    safe = re.sub(r"[^A-Za-z0-9_.\-]+", "-", key).strip("-.")[:80] or "dataset"
    digest = hashlib.sha256(key.encode()).hexdigest()[:8]  # two names with the same safe form stay apart
    return config.user_data_dir() / "slices" / f"{safe}-{digest}.json"


def check_definition(kind: str, definition: dict | list | str) -> dict[str, Any]:
    """The normalised definition of a slice of `kind`; ParamError saying what is wrong."""
    if kind not in KINDS:
        raise ParamError(f"unknown slice kind {kind!r}; kinds: {', '.join(KINDS)}")
    d = {_LIST_KEY[kind]: definition} if isinstance(definition, (list, tuple, str)) else dict(definition or {})
    if kind == "keyword":
        words = [str(w).strip() for w in _as_list(d.get("words")) if str(w).strip()]
        if not words:
            raise ParamError("a keyword slice needs at least one word")
        return {"words": words}
    if kind == "regex":
        pattern = d.get("pattern")
        if not isinstance(pattern, str) or not pattern:
            raise ParamError("a regex slice needs a pattern")
        try:
            re.compile(pattern)
        except re.error as e:
            raise ParamError(f"invalid regular expression {pattern!r}: {e}") from None
        return {"pattern": pattern, "ignore_case": bool(d.get("ignore_case", True))}
    if kind == "column":
        column, values = d.get("column"), [str(v) for v in _as_list(d.get("values"))]
        if not isinstance(column, str) or not column or not values:
            raise ParamError("a column slice needs a column name and at least one value")
        return {"column": column, "values": values}
    texts = [str(t) for t in _as_list(d.get("texts"))]
    if not texts:
        raise ParamError("a texts slice needs at least one text")
    return {"texts": texts}


def _as_list(v: Any) -> list:
    if v is None:
        return []
    if isinstance(v, str):
        return [v]
    items = list(v)
    if len(items) > MAX_ITEMS:
        raise ParamError(f"a slice definition may list at most {MAX_ITEMS:,} items, got {len(items):,}")
    return items


def _read(dataset: str) -> list[dict[str, Any]]:
    try:
        return list(json.loads(_path(dataset).read_text("utf-8")).get("slices", []))
    except (OSError, ValueError, AttributeError):
        return []


def _write(dataset: str, rows: list[dict[str, Any]]) -> None:
    # atomic: readers see the old list or the new one
    atomic_write_text(_path(dataset), json.dumps({"dataset": dataset_key(dataset), "slices": rows}, indent=1,
                                                 ensure_ascii=False))


def save_slice(dataset: str, name: str, kind: str, definition: dict | list, description: str = "", *,
               replace: bool = False, **extra: Any) -> None:
    """Save slice `name` of `dataset` (see the module doc). `extra`: JSON-able notes kept with it (e.g. where a
    discovered cluster came from). SliceNameTaken when the name is taken and replace is False."""
    naming.check_name(name, "slice")
    clean = check_definition(kind, definition)
    rows = _read(dataset)
    taken = any(r.get("name") == name for r in rows)
    if taken and not replace:
        raise naming.RULES["slice"].taken(f"a slice named {name!r} already exists for {dataset_key(dataset)}; "
                                          "pick another name (or replace it explicitly)")
    row = asdict(SavedSlice(name, kind, clean, str(description),
                            _dt.datetime.now(_dt.UTC).isoformat(timespec="seconds"), dict(extra)))
    _write(dataset, [r for r in rows if r.get("name") != name] + [row])


def list_slices(dataset: str) -> list[SavedSlice]:
    """The saved slices of `dataset` in the order they were saved (unreadable rows skipped)."""
    out = []
    for r in _read(dataset):
        try:
            out.append(SavedSlice(r["name"], r["kind"], check_definition(r["kind"], r["definition"]),
                                  r.get("description", ""), r.get("created", ""), dict(r.get("extra") or {})))
        except (KeyError, TypeError, ParamError):
            continue
    return out


def delete_slice(dataset: str, name: str) -> None:
    """Remove slice `name` of `dataset`; ParamError when there is none."""
    rows = _read(dataset)
    if not any(r.get("name") == name for r in rows):
        raise ParamError(f"no saved slice named {name!r} for {dataset_key(dataset)}")
    _write(dataset, [r for r in rows if r.get("name") != name])


def store_stamp(dataset: str) -> str:
    """Changes whenever the dataset's saved slices change (part of the slice table's cache key)."""
    path = _path(dataset)
    try:
        return hashlib.sha256(path.read_bytes()).hexdigest()[:16]
    except OSError:
        return "none"


def slice_mask(s: SavedSlice, texts: Sequence[str], columns=None) -> np.ndarray:
    """(n,) bool membership of `texts` in saved slice `s`. columns: DataFrame aligned with `texts` holding the
    dataset's metadata columns (core.slices.columns.columns_for); ParamError when a column slice names a
    column the dataset does not have."""
    d = s.definition
    if s.kind == "keyword":
        pattern = re.compile(r"(?<!\w)(?:" + "|".join(re.escape(w) for w in d["words"]) + r")(?!\w)", re.I)
        return np.fromiter((pattern.search(t) is not None for t in texts), bool, len(texts))
    if s.kind == "regex":
        pattern = re.compile(d["pattern"], re.I if d.get("ignore_case") else 0)
        return np.fromiter((pattern.search(t) is not None for t in texts), bool, len(texts))
    if s.kind == "column":
        if columns is None or d["column"] not in getattr(columns, "columns", ()):
            raise ParamError(f"slice {s.name!r}: the dataset has no metadata column {d['column']!r}")
        return columns[d["column"]].astype("string").isin(d["values"]).fillna(False).to_numpy(bool)
    members = set(d["texts"])
    return np.fromiter((t in members for t in texts), bool, len(texts))
