"""Which test set a model was scored on, and whether its dataset changed since: the guard against ranking apples
against oranges.

Every artifact's manifest records (core.artifacts.save_artifact):
    test_fingerprint    hash of the scored test texts + true labels + label names (`fingerprint_of_test`)
    source_fingerprint  the registered dataset's fingerprint when the model was saved (None: an in-memory dataset)
    dataset_fingerprint the exact data the model saw (after a max_train sample)
Models are comparable only when their test fingerprints are equal: `group_by_test_set` splits a list into such
groups, `group_notes` says so in words, `require_one_test_set` refuses a mixed list (bench). `dataset_marks`
tells, per model, whether its dataset changed ("dataset changed") or disappeared ("dataset gone") since it was
scored; current fingerprints are cached per dataset stamp (files' names, sizes and mtimes), in memory and on disk,
because loading a dataset can take seconds.
"""
from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from .atomic import atomic_write_text
from .errors import LabError, ParamError

if TYPE_CHECKING:
    from .artifacts import ArtifactInfo

CHANGED, GONE = "dataset changed", "dataset gone"


def fingerprint_of_test(texts: Sequence[str], y_true: np.ndarray, labels: Sequence[str]) -> str:
    """16 hex digits identifying a scored test set: its texts, true labels ((n,) indices or (n, k) 0/1) and
    label names. The one place this hash is computed (artifacts at save time, datasets for the status check)."""
    h = hashlib.sha256()
    for t in texts:
        h.update(str(t).encode("utf-8", "replace"))
        h.update(b"\0")
    h.update(np.ascontiguousarray(np.asarray(y_true, dtype=np.int64)).tobytes())
    h.update("\n".join(map(str, labels)).encode())
    return h.hexdigest()[:16]


def short(fingerprint: str | None) -> str:
    """"ab12cd34…" for messages (or "unknown")."""
    return f"{fingerprint[:8]}…" if fingerprint else "unknown"


_SCORED: dict[str, str | None] = {}  # artifact stamp -> test fingerprint computed from predictions.npz


def scored_fingerprint(info: ArtifactInfo) -> str | None:
    """The test fingerprint of a model: its manifest's, or (artifacts saved before it was recorded) computed once
    per artifact version from its stored predictions; None when those cannot be read."""
    recorded = info.manifest.get("test_fingerprint")
    if recorded:
        return str(recorded)
    from .artifacts import load_predictions, stamp

    key = stamp(info.name)
    if key not in _SCORED:
        try:
            p = load_predictions(info.name)
            _SCORED[key] = fingerprint_of_test(p.texts, p.y_true, p.labels)
        except LabError:
            _SCORED[key] = None
    return _SCORED[key]


@dataclass
class ScoreSet:
    """Models scored on one test set: `fingerprint` (None = unknown), the dataset name(s) they name, their infos
    (in the order given)."""

    fingerprint: str | None
    datasets: list[str] = field(default_factory=list)
    infos: list[ArtifactInfo] = field(default_factory=list)

    @property
    def names(self) -> list[str]:
        return [i.name for i in self.infos]

    @property
    def dataset(self) -> str:
        return ", ".join(self.datasets)


def group_by_test_set(infos: Sequence[ArtifactInfo], first: str | None = None) -> list[ScoreSet]:
    """Models grouped by test fingerprint. The group holding model `first` comes first (the user's selection),
    otherwise the group of the first info (lists are newest first); the rest keep their order of appearance."""
    groups: dict[str | None, ScoreSet] = {}
    for i in infos:
        fp = scored_fingerprint(i)
        g = groups.setdefault(fp, ScoreSet(fp))
        if i.dataset not in g.datasets:
            g.datasets.append(i.dataset)
        g.infos.append(i)
    out = list(groups.values())
    lead = next((g for g in out if first in g.names), None)
    return [lead, *[g for g in out if g is not lead]] if lead else out


def group_notes(groups: Sequence[ScoreSet]) -> list[str]:
    """One sentence per group after the first, e.g. "3 models were scored on a different test set of 'upload:x'
    (fingerprint ab12cd34…) and are shown in their own group"."""
    notes = []
    for g in groups[1:]:
        n = len(g.infos)
        were = "model was" if n == 1 else "models were"
        notes.append(f"{n} {were} scored on a different test set of {g.dataset!r} (fingerprint "
                     f"{short(g.fingerprint)}) and {'is' if n == 1 else 'are'} shown in {'its' if n == 1 else 'their'}"
                     " own group")
    return notes


def require_one_test_set(infos: Sequence[ArtifactInfo], what: str = "ranked together") -> None:
    """ParamError naming the groups when `infos` were scored on more than one test set."""
    groups = group_by_test_set(infos, first=infos[0].name if infos else None)
    if len(groups) > 1:
        parts = [f"{', '.join(g.names)} ({g.dataset!r}, test set {short(g.fingerprint)})" for g in groups]
        raise ParamError(f"these models were scored on different test sets and cannot be {what}: "
                         + "; ".join(parts) + ". Run each group separately.")


# ------------------------------------------------------------------------------------------- current datasets
@dataclass(frozen=True)
class DatasetPrints:
    """Fingerprints of a registered dataset as it is now: the whole dataset and its test split."""

    dataset: str
    test: str


_CURRENT: dict[tuple[str, str], DatasetPrints | None] = {}


def _stamp(name: str, where: Any) -> str:
    """Identity of a dataset's files (relative names, sizes, mtimes under its folder): changes when they change."""
    parts = [name, str(where)]
    if where and Path(str(where)).is_dir():
        for f in sorted(Path(str(where)).rglob("*")):
            if f.is_file():
                s = f.stat()
                parts.append(f"{f.relative_to(where)}:{s.st_size}:{s.st_mtime_ns}")
    return hashlib.sha256("\n".join(parts).encode()).hexdigest()[:16]


def _disk_path(name: str, stamp: str) -> Path:
    from .config import cache_dir

    return cache_dir() / "fingerprints" / f"{re.sub(r'[^A-Za-z0-9_-]+', '_', name)}-{stamp}.json"


def _compute(name: str, stamp: str) -> DatasetPrints | None:
    path = _disk_path(name, stamp)
    try:
        return DatasetPrints(**json.loads(path.read_text()))
    except (OSError, ValueError, TypeError):
        pass
    from .data import load_dataset

    try:
        ds = load_dataset(name)
    except (LabError, OSError):
        return None
    prints = DatasetPrints(ds.fingerprint(), fingerprint_of_test(ds.test.texts, ds.test.y, ds.labels))
    try:
        atomic_write_text(path, json.dumps(prints.__dict__))
    except OSError:  # a read-only cache folder only costs a reload next time
        pass
    return prints


def current_prints(name: str, rows: Mapping[str, dict[str, Any]] | None = None) -> DatasetPrints | None:
    """Fingerprints of registered dataset `name` as it is now (None: not registered, not available, or
    unreadable). `rows`: core.data.list_datasets() by name, when the caller already has it."""
    if rows is None:
        from .data import list_datasets

        rows = {r["name"]: r for r in list_datasets()}
    row = rows.get(name)
    if row is None or not row.get("available", True):
        return None
    key = (name, _stamp(name, row.get("where")))
    if key not in _CURRENT:
        _CURRENT[key] = _compute(*key)
    return _CURRENT[key]


def source_fingerprint(name: str) -> str | None:
    """What save_artifact records as `source_fingerprint`: the registered dataset's fingerprint now (None for a
    dataset that is not registered, e.g. one built in memory)."""
    try:
        prints = current_prints(name)
    except (LabError, OSError):
        return None
    return prints.dataset if prints else None


def dataset_mark(info: ArtifactInfo, rows: Mapping[str, dict[str, Any]] | None = None) -> str:
    """"" (unchanged, or never registered), "dataset changed" (its test split or registered data differ from
    what the model was scored on; "dataset changed (scored on NAME)" when a saved version NAME still holds that
    data) or "dataset gone" (no longer registered / available). `rows`: core.data.list_datasets() by name."""
    manifest = info.manifest
    prints = current_prints(info.dataset, rows)
    if prints is None:
        # a model saved with source_fingerprint None was trained on an in-memory dataset: nothing to track
        return "" if "source_fingerprint" in manifest and not manifest["source_fingerprint"] else GONE
    source = manifest.get("source_fingerprint")
    if source and source != prints.dataset:
        # a saved version of the dataset that still holds the data it was scored on (rows that carry their
        # fingerprint, e.g. "upload:NAME@v1" once "upload:NAME" moved on to v2): say which, so it can be reused
        older = next((n for n, r in (rows or {}).items() if n != info.dataset and r.get("fingerprint") == source),
                     None)
        return f"{CHANGED} (scored on {older})" if older else CHANGED
    scored = scored_fingerprint(info)
    return CHANGED if scored and scored != prints.test else ""


def dataset_marks(infos: Sequence[ArtifactInfo]) -> dict[str, str]:
    """model name -> dataset_mark, listing the datasets once (what `list`, Overview and Compare show)."""
    from .data import list_datasets

    rows = {r["name"]: r for r in list_datasets()}
    return {i.name: dataset_mark(i, rows) for i in infos if i.ok}
