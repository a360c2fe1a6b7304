"""Corrections as CSV: export (spreadsheet formulas escaped by core.safety.csv_bytes) and import (all or
nothing: a file with unknown row ids, unknown labels, duplicate rows, a missing column or another dataset
fingerprint is refused with one message and the overlay is left as it was)."""
from __future__ import annotations

import io

import pandas as pd

from ..data import TextDataset
from ..errors import DataError
from ..safety import FORMULA_START, csv_bytes
from .corrections import Correction, Overlay, add_corrections, load_overlay, row_index

COLUMNS = ["dataset", "fingerprint", "row_id", "split", "text", "old_label", "new_label", "exclude", "who",
           "when", "why"]
REQUIRED = ("fingerprint", "row_id", "new_label")


def overlay_frame(ds: TextDataset, overlay: Overlay | None = None) -> pd.DataFrame:
    """The overlay's entries as a table with the COLUMNS (text from the dataset)."""
    overlay = overlay or load_overlay(ds)
    index = row_index(ds)
    rows = []
    for c in overlay.entries.values():
        split, i = index.get(c.row_id, (c.split, -1))
        text = ds.splits()[split].texts[i] if i >= 0 else ""
        rows.append({"dataset": overlay.dataset, "fingerprint": overlay.fingerprint, "row_id": c.row_id,
                     "split": split, "text": text, "old_label": c.old_label, "new_label": c.new_label,
                     "exclude": bool(c.exclude), "who": c.who, "when": c.when, "why": c.why})
    return pd.DataFrame(rows, columns=COLUMNS)


def export_csv(ds: TextDataset) -> bytes:
    """The current overlay as CSV bytes (formula cells defused)."""
    return csv_bytes(overlay_frame(ds))


def _unescape(value: str) -> str:
    """Undo csv_cell's defusing prefix ("'=x" -> "=x") so an exported file imports back unchanged."""
    return value[1:] if value.startswith("'") and value[1:].startswith(FORMULA_START) else value


def _truthy(value: str) -> bool:
    return value.strip().lower() in {"1", "true", "yes", "y", "x"}


def import_csv(ds: TextDataset, data: bytes, who: str = "") -> Overlay:
    """Merge the corrections of a CSV file (export_csv's columns; only fingerprint, row_id and new_label are
    required) into the overlay of `ds` as a new version. DataError, and nothing changes, when anything is wrong."""
    try:
        frame = pd.read_csv(io.BytesIO(data), dtype=str, keep_default_na=False)
    except Exception as e:  # noqa: BLE001 - any parse failure is the file's problem
        raise DataError(f"corrections file refused, nothing changed: not a readable CSV ({e})") from e
    missing = [c for c in REQUIRED if c not in frame.columns]
    if missing:
        raise DataError(f"corrections file refused, nothing changed: missing column(s) {', '.join(missing)}")
    frame = frame.map(_unescape)
    prints = set(frame["fingerprint"]) - {ds.fingerprint()}
    if prints:
        raise DataError(f"corrections file refused, nothing changed: it was made for dataset fingerprint "
                        f"{', '.join(sorted(prints))}, but {ds.name} has fingerprint {ds.fingerprint()}")
    dups = frame["row_id"][frame["row_id"].duplicated()].unique().tolist()
    if dups:
        raise DataError(f"corrections file refused, nothing changed: duplicate row id(s) {', '.join(dups[:10])}")
    index = row_index(ds)
    unknown = [r for r in frame["row_id"] if r not in index]
    if unknown:
        raise DataError(f"corrections file refused, nothing changed: {len(unknown)} unknown row id(s), e.g. "
                        f"{', '.join(unknown[:5])}")
    get = lambda row, col: row.get(col, "") if col in frame.columns else ""  # noqa: E731
    corrections = [Correction(row["row_id"], row["new_label"], _truthy(get(row, "exclude")), get(row, "why"),
                              get(row, "who") or who, get(row, "when"))
                   for row in frame.to_dict("records")]
    return add_corrections(ds, corrections)
