"""Corrections: a versioned overlay of label changes and exclusions next to a dataset (the data is never modified).

Stored under user_data_dir()/.corrections/<dataset key>/v<k>.json (k = 1, 2, ...; every save writes the next
version to a temporary file and renames it into place, so a crash never leaves half an overlay and every earlier
state stays readable). A dataset is named concretely: "ag_news", or "upload:NAME@vK" (an upload's latest version
is resolved when the overlay is made). Each overlay records the dataset fingerprint it was made for.

Entry: row_id (core.dynamics.rows), split, old_label, new_label ("" when excluded; multi-label: label names joined
by "|"), exclude, who, when (UTC ISO time), why.
"""
from __future__ import annotations

import getpass
import json
import os
import re
import tempfile
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import numpy as np

from .. import config
from ..data import TextDataset
from ..dynamics.rows import row_ids
from ..errors import DataError

#: Separator of label names in a multi-label cell.
SEP = "|"


@dataclass
class Correction:
    row_id: str
    new_label: str = ""
    exclude: bool = False
    why: str = ""
    who: str = ""
    when: str = ""
    split: str = ""
    old_label: str = ""


@dataclass
class Overlay:
    dataset: str
    fingerprint: str
    version: int = 0
    entries: dict[str, Correction] = field(default_factory=dict)

    def to_json(self) -> dict:
        return {"dataset": self.dataset, "fingerprint": self.fingerprint, "version": self.version,
                "entries": [asdict(c) for c in self.entries.values()]}


def default_user() -> str:
    """Who corrects: the login name (getpass), or "unknown" where there is none."""
    try:
        return getpass.getuser()
    except Exception:  # noqa: BLE001 - no login name in some containers
        return "unknown"


def concrete_name(ds: TextDataset) -> str:
    """"upload:NAME@vK" for an upload (its version resolved), else the dataset's own name."""
    version = ds.meta.get("version")
    if ds.name.startswith("upload:") and "@" not in ds.name and version:
        return f"{ds.name}@v{version}"
    return ds.name


def overlay_dir(dataset: str) -> Path:
    key = re.sub(r"[^A-Za-z0-9_.@-]+", "-", dataset).strip("-.") or "dataset"
    return config.user_data_dir() / ".corrections" / key


def versions(dataset: str) -> list[int]:
    folder = overlay_dir(dataset)
    if not folder.is_dir():
        return []
    return sorted(int(m.group(1)) for p in folder.iterdir() if (m := re.fullmatch(r"v(\d+)\.json", p.name)))


def load_overlay(ds: TextDataset, version: int | None = None) -> Overlay:
    """The overlay of `ds` (latest version, or `version`); an empty one (version 0) when none was saved.
    DataError when the saved overlay was made for other data (fingerprint)."""
    name = concrete_name(ds)
    saved = versions(name)
    if not saved:
        return Overlay(name, ds.fingerprint())
    v = version or saved[-1]
    try:
        raw = json.loads((overlay_dir(name) / f"v{v}.json").read_text("utf-8"))
    except (OSError, ValueError) as e:
        raise DataError(f"corrections v{v} of {name!r} are unreadable ({e})") from e
    if raw.get("fingerprint") != ds.fingerprint():
        raise DataError(f"the corrections of {name!r} were made for data with fingerprint {raw.get('fingerprint')}, "
                        f"but the dataset now has {ds.fingerprint()}")
    entries = {e["row_id"]: Correction(**e) for e in raw.get("entries", [])}
    return Overlay(name, raw["fingerprint"], int(raw.get("version", v)), entries)


def label_text(ds: TextDataset, y) -> str:
    """A row's label(s) as text ("a|b" for multi-label)."""
    if ds.multilabel:
        return SEP.join(ds.labels[j] for j in np.flatnonzero(np.asarray(y)))
    return ds.labels[int(y)]


def row_index(ds: TextDataset) -> dict[str, tuple[str, int]]:
    """row_id -> (split, position) for every row of every split."""
    out = {}
    for split, part in ds.splits().items():
        for i, rid in enumerate(row_ids(split, part.texts)):
            out[rid] = (split, i)
    return out


def check_corrections(ds: TextDataset, corrections: list[Correction]) -> list[Correction]:
    """Completed copies of `corrections` (split, old_label, who, when filled in); DataError listing every
    unknown row id, unknown label and duplicate row id (nothing is saved then)."""
    index = row_index(ds)
    known = set(ds.labels)
    problems, seen, out = [], set(), []
    now = datetime.now(UTC).isoformat(timespec="seconds")
    for c in corrections:
        if c.row_id in seen:
            problems.append(f"row {c.row_id!r} appears more than once")
            continue
        seen.add(c.row_id)
        if c.row_id not in index:
            problems.append(f"unknown row id {c.row_id!r}")
            continue
        if not c.exclude:
            names = [n for n in c.new_label.split(SEP) if n] if ds.multilabel else [c.new_label]
            bad = [n for n in names if n not in known]
            if bad or (not names and not ds.multilabel):
                problems.append(f"row {c.row_id!r}: unknown label {', '.join(map(repr, bad or [c.new_label]))} "
                                f"(labels: {', '.join(ds.labels)})")
                continue
        split, i = index[c.row_id]
        out.append(Correction(c.row_id, "" if c.exclude else c.new_label, bool(c.exclude), c.why,
                              c.who or default_user(), c.when or now, split, label_text(ds, ds.splits()[split].y[i])))
    if problems:
        more = f" (and {len(problems) - 10} more)" if len(problems) > 10 else ""
        raise DataError(f"corrections refused, nothing changed: {'; '.join(problems[:10])}{more}")
    return out


def _write(overlay: Overlay) -> None:
    folder = overlay_dir(overlay.dataset)
    folder.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=".tmp-", dir=folder)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            json.dump(overlay.to_json(), f, indent=1, ensure_ascii=False)
        target = folder / f"v{overlay.version}.json"
        if target.exists():  # another session saved this version meanwhile: never overwrite it
            raise DataError(f"corrections of {overlay.dataset!r} changed meanwhile (v{overlay.version} exists); reload")
        os.replace(tmp, target)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


def add_corrections(ds: TextDataset, corrections: list[Correction]) -> Overlay:
    """Validate `corrections` against `ds` (check_corrections) and save overlay version k+1 with them merged in
    (a row's newer correction replaces its older one; a "correction" back to the original label removes it)."""
    overlay = load_overlay(ds)
    checked = check_corrections(ds, corrections)
    entries = dict(overlay.entries)
    for c in checked:
        if not c.exclude and c.new_label == c.old_label:
            entries.pop(c.row_id, None)
        else:
            entries[c.row_id] = c
    new = Overlay(overlay.dataset, overlay.fingerprint, overlay.version + 1, entries)
    _write(new)
    return new
