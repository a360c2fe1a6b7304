"""The unlabeled pool of a dataset: texts with a stable id, a status and (once imported) a label.

Stored as user_data_dir()/.pools/<key>/pool.parquet with columns id (int), text, added (ISO time),
status ("unlabelled" | "labelled" | "used"), label (str; multi-label: names joined by LABEL_SEP). The key is the
dataset name without its version ("upload:questions@v2" and "upload:questions" share a pool). Every write goes
to a temporary file renamed into place, so a crash never leaves half a pool.
"""
from __future__ import annotations

import datetime as _dt
import re
from pathlib import Path
from typing import Any

import pandas as pd

from .. import config as _cfg
from ..atomic import atomic_write
from ..errors import DataError
from ..safety import clean_texts, is_blank

COLUMNS = ("id", "text", "added", "status", "label")
#: Separator of several labels in one cell (multi-label imports and exports).
LABEL_SEP = ";"
#: Most texts one pool holds (a pool is ranked in one pass of the model).
MAX_POOL = 200_000


def pool_key(dataset: str) -> str:
    """Folder-safe key of a dataset's pool: the name without "@vK", ":" and "/" replaced."""
    base = re.sub(r"@v\d+$", "", dataset)
    return re.sub(r"[^A-Za-z0-9._-]+", "_", base)


def pool_path(dataset: str) -> Path:
    return _cfg.user_data_dir() / ".pools" / pool_key(dataset) / "pool.parquet"


def load_pool(dataset: str) -> pd.DataFrame:
    """The pool of `dataset` (empty frame with COLUMNS when there is none)."""
    path = pool_path(dataset)
    if not path.exists():
        return pd.DataFrame({c: pd.Series(dtype="int64" if c == "id" else object) for c in COLUMNS})
    return pd.read_parquet(path)


def save_pool(dataset: str, frame: pd.DataFrame) -> Path:
    """Write the pool atomically (temporary file + rename)."""
    return atomic_write(pool_path(dataset), lambda tmp: frame.loc[:, list(COLUMNS)].to_parquet(tmp, index=False))


def add_texts(dataset: str, texts: list[Any], known: set[str] | None = None) -> dict[str, int]:
    """Add `texts` to the pool of `dataset`; blank texts, texts already in the pool and texts in `known` (the
    dataset's own texts) are skipped. Returns counts {"added", "blank", "duplicate", "in_dataset", "pool"}.
    Raises DataError when nothing is left to add or the pool would exceed MAX_POOL (nothing is written)."""
    pool = load_pool(dataset)
    seen = set(pool["text"])
    known = known or set()
    counts = {"added": 0, "blank": 0, "duplicate": 0, "in_dataset": 0}
    fresh: list[str] = []
    for text in clean_texts(texts):
        if is_blank(text):
            counts["blank"] += 1
        elif text in known:
            counts["in_dataset"] += 1
        elif text in seen:
            counts["duplicate"] += 1
        else:
            seen.add(text)
            fresh.append(text)
    if not fresh:
        raise DataError(f"no new text to add to the pool of {dataset}: {counts['blank']} blank, "
                        f"{counts['duplicate']} already in the pool, {counts['in_dataset']} already in the dataset")
    if len(pool) + len(fresh) > MAX_POOL:
        raise DataError(f"the pool of {dataset} would hold {len(pool) + len(fresh):,} texts; at most {MAX_POOL:,}")
    start = int(pool["id"].max()) + 1 if len(pool) else 0
    now = _dt.datetime.now(_dt.UTC).isoformat(timespec="seconds")
    new = pd.DataFrame({"id": range(start, start + len(fresh)), "text": fresh, "added": now,
                        "status": "unlabelled", "label": None})
    save_pool(dataset, pd.concat([pool, new], ignore_index=True) if len(pool) else new)
    counts["added"] = len(fresh)
    counts["pool"] = len(pool) + len(fresh)
    return counts


def texts_from_table(frame: pd.DataFrame, text_column: str | None = None) -> list[Any]:
    """The text column of an uploaded pool file (named, or guessed like a dataset's text column)."""
    from ..data.resolve import guess_text_columns

    if text_column is None:
        cols = guess_text_columns(frame)
        if not cols:
            raise DataError(f"no text column found among {list(frame.columns)}; name it with --text-col")
        text_column = cols[0]
    if text_column not in frame.columns:
        raise DataError(f"no column {text_column!r}; the file has {list(frame.columns)}")
    return frame[text_column].tolist()


def summary(dataset: str) -> dict[str, int]:
    """Rows of the pool by status, and the total."""
    pool = load_pool(dataset)
    counts = {s: int((pool["status"] == s).sum()) for s in ("unlabelled", "labelled", "used")}
    return {**counts, "total": len(pool)}


def clear_pool(dataset: str) -> None:
    """Delete the pool of `dataset` (the dataset itself is untouched)."""
    path = pool_path(dataset)
    if path.exists():
        path.unlink()
