"""A batch to label goes out as CSV and comes back with labels; an import is checked whole before anything
changes.

Export columns: pool (which pool the rows belong to), id, text, suggested (the model's guess), label (empty:
fill it in). Multi-label: several names joined by ";". Import needs the id and label columns; it is refused with
every problem listed — unknown ids, ids already used for training, unknown labels, an id twice, rows of another
pool — and then changes nothing. Rows left without a label are skipped (labelled later).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from ..errors import DataError
from ..safety import csv_bytes, is_blank
from .store import LABEL_SEP, load_pool, pool_key, save_pool

EXPORT_COLUMNS = ("pool", "id", "text", "suggested", "label")
#: Problems listed per kind in a refusal message (the rest are counted).
SHOW = 5


def export_batch(dataset: str, batch: pd.DataFrame) -> bytes:
    """CSV bytes of a ranked batch (rank_pool's frame) to label, spreadsheet formulas defused."""
    out = pd.DataFrame({"pool": pool_key(dataset), "id": batch["id"].astype(int), "text": batch["text"],
                        "suggested": batch.get("suggested", ""), "label": ""})
    return csv_bytes(out.loc[:, list(EXPORT_COLUMNS)])


@dataclass
class ImportResult:
    labelled: int
    skipped_blank: int
    relabelled: int
    labels: dict[str, int] = field(default_factory=dict)


def _problems(frame: pd.DataFrame, pool: pd.DataFrame, key: str, labels: list[str], multilabel: bool
              ) -> tuple[list[str], list[tuple[int, str]]]:
    """(problems, [(id, label cell)] of the rows to apply)."""
    problems: list[str] = []
    for col in ("id", "label"):
        if col not in frame.columns:
            return [f"the file has no {col!r} column (columns: {list(frame.columns)})"], []
    if "pool" in frame.columns:
        other = sorted({str(p) for p in frame["pool"].dropna()} - {key})
        if other:
            problems.append(f"rows of another pool ({', '.join(other[:SHOW])}); this is the pool of {key}")
    ids = pd.to_numeric(frame["id"], errors="coerce")
    if ids.isna().any() or (ids % 1 != 0).any():
        bad = frame.loc[ids.isna() | (ids % 1 != 0), "id"].astype(str).tolist()
        problems.append(f"{len(bad)} ids are not whole numbers: {', '.join(bad[:SHOW])}")
        return problems, []
    ids = ids.astype(int)
    status = dict(zip(pool["id"].astype(int), pool["status"]))
    unknown = [i for i in ids if i not in status]
    if unknown:
        problems.append(f"{len(unknown)} unknown ids (not in the pool): {', '.join(map(str, unknown[:SHOW]))}")
    twice = sorted(ids[ids.duplicated()].unique().tolist())
    if twice:
        problems.append(f"{len(twice)} ids appear more than once: {', '.join(map(str, twice[:SHOW]))}")
    used = [i for i in ids if status.get(i) == "used"]
    if used:
        problems.append(f"{len(used)} rows were already added to the dataset: {', '.join(map(str, used[:SHOW]))}")
    known, rows, bad_labels = set(labels), [], []
    for i, cell in zip(ids, frame["label"]):
        if is_blank(cell) or (isinstance(cell, float) and pd.isna(cell)):
            continue
        names = [x.strip() for x in str(cell).split(LABEL_SEP)] if multilabel else [str(cell).strip()]
        names = [x for x in names if x]
        if any(x not in known for x in names):
            bad_labels.append(f"{i}: {cell!r}")
        rows.append((int(i), LABEL_SEP.join(names)))
    if bad_labels:
        problems.append(f"{len(bad_labels)} rows have labels the dataset does not know ({', '.join(bad_labels[:SHOW])});"
                        f" known: {', '.join(labels[:20])}{' …' if len(labels) > 20 else ''}")
    return problems, rows


def import_labels(dataset: str, frame: pd.DataFrame, labels: list[str], multilabel: bool = False) -> ImportResult:
    """Apply the labels of `frame` (export_batch's columns) to the pool of `dataset`; DataError listing every
    problem (nothing changed) when any row is wrong."""
    pool = load_pool(dataset)
    if pool.empty:
        raise DataError(f"the pool of {dataset} is empty; nothing to label")
    problems, rows = _problems(frame, pool, pool_key(dataset), list(labels), multilabel)
    if problems:
        raise DataError("labels not imported (nothing changed): " + "; ".join(problems))
    if not rows:
        raise DataError("labels not imported: every label cell is empty")
    index = {int(i): n for n, i in enumerate(pool["id"].astype(int))}
    pool = pool.copy()
    relabelled = 0
    counts: dict[str, int] = {}
    for i, label in rows:
        n = index[i]
        relabelled += pool.at[n, "status"] == "labelled"
        pool.at[n, "status"] = "labelled"
        pool.at[n, "label"] = label
        for x in label.split(LABEL_SEP) if multilabel else [label]:
            counts[x] = counts.get(x, 0) + 1
    save_pool(dataset, pool)
    blank = len(frame) - len(rows)
    return ImportResult(labelled=len(rows), skipped_blank=blank, relabelled=int(relabelled), labels=counts)


def labelled_rows(dataset: str) -> list[dict[str, Any]]:
    """Pool rows labelled but not yet added to the dataset: [{"id", "text", "label"}]."""
    pool = load_pool(dataset)
    rows = pool[pool["status"] == "labelled"]
    return rows.loc[:, ["id", "text", "label"]].to_dict("records")
