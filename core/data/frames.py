"""A user's table -> TextDataset: `dataset_from_frame` validates (validate.py), then carves the splits."""
from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

from .cells import as_list, joined_texts
from .splits import TEST_SIZE, VALIDATION_SIZE, carve, duplicate_groups
from .types import Split, TextDataset
from .validate import validate_frame


def detect_language(texts: Sequence[str]) -> str:
    """'ru' when Cyrillic letters dominate a sample of the texts, else 'en'."""
    sample = "".join(texts[:2000])
    cyr = len(re.findall(r"[\u0400-\u04FF]", sample))
    lat = len(re.findall(r"[A-Za-z]", sample))
    return "ru" if cyr > lat else "en"


def dataset_from_frame(
    df,
    text_columns: str | Sequence[str],
    label_columns: str | Sequence[str],
    name: str = "upload",
    label_format: str = "auto",
    delimiter: str = ",",
    test_frame=None,
    test_size: float = TEST_SIZE,
    seed: int = 0,
    validation_size: float = VALIDATION_SIZE,
    language: str | None = None,
    description: str = "",
) -> TextDataset:
    """Build a TextDataset from a user's table.

    text_columns:  one or more columns, joined with " " per row (empty cells skipped).
    label_columns: one column of names / integers ('names'), one column of `delimiter`-separated names
                   ('delimited', multi-label), or one 0/1 column per label ('binary_columns', multi-label;
                   a single 0/1 column becomes a binary task "not <col>" / "<col>"). 'auto' picks
                   binary_columns for several columns, delimited when a cell holds the delimiter, else names.
    test_frame:    an optional separate test table with the same columns; otherwise a stratified
                   `test_size` share is carved (seed `seed`). Validation = stratified `validation_size` of train.
    language:      ISO code; None detects 'ru' vs 'en' from the script.
    Raises validate.TableError (a DataError) listing every problem of the table(s) at once.
    meta records: dropped rows by reason, duplicate rows (kept), warnings, the column choices.
    """
    report = validate_frame(df, text_columns, label_columns, label_format=label_format, delimiter=delimiter,
                            test_frame=test_frame, test_size=test_size, validation_size=validation_size)
    report.raise_for_problems()
    coding, fmt = report.coding, report.label_format
    assert coding is not None and fmt is not None  # set whenever the report has no error
    texts = report.tables["file"].texts
    train = Split(texts, coding.y)
    meta: dict[str, Any] = {
        "text_columns": list(report.text_columns), "label_columns": list(report.label_columns), "label_format": fmt,
        "delimiter": delimiter if fmt == "delimited" else None,
        "dropped": {**report.dropped, "total": int(sum(report.dropped.values()))},
        "duplicate_rows": report.duplicate_rows, "duplicate_texts": report.duplicate_texts,
        "warnings": [p.message for p in report.warnings], "source": "upload",
        # exact-duplicate texts of the file, each kept wholly inside one carved split
        "duplicate_groups": len(duplicate_groups(texts)),
    }
    if test_frame is None:
        train, test = carve(train, test_size, seed)
        meta["test_split"] = f"carved: stratified {test_size:.0%} of the file (seed {seed})"
    else:
        test = Split(report.tables["test file"].texts, coding.y_test)
        meta["test_split"] = "test file"
    train, validation = carve(train, validation_size, seed)
    meta["validation_split"] = f"carved: stratified {validation_size:.0%} of train (seed {seed})"
    meta["rows"] = {"train": len(train), "validation": len(validation), "test": len(test)}
    return TextDataset(name=name, labels=list(coding.labels), train=train, validation=validation, test=test,
                       multilabel=coding.multilabel, language=language or detect_language(texts),
                       description=description, meta=meta)


#: Most metadata columns kept beside a dataset (a wide export should not bloat every saved upload).
MAX_METADATA_COLUMNS = 50


def metadata_table(df, text_columns: str | Sequence[str], label_columns: str | Sequence[str], test_frame=None):
    """The other columns of a user's table (and test table), keyed by the row's text as the dataset builds it:
    a DataFrame with "text" + up to MAX_METADATA_COLUMNS metadata columns as strings (one row per distinct text,
    the first occurrence wins), or None when the table has no other column. Slices by column read it
    (core/slices/columns.py); the dataset's splits and fingerprint do not depend on it."""
    import pandas as pd

    used = set(as_list(text_columns)) | set(as_list(label_columns))
    frames = [f for f in (df, test_frame) if f is not None]
    extra = [c for c in df.columns if c not in used][:MAX_METADATA_COLUMNS]
    if not extra:
        return None
    parts = []
    for f in frames:
        part = pd.DataFrame({"text": joined_texts(f, as_list(text_columns))})
        for c in extra:
            part[str(c)] = f[c].astype("string").to_numpy() if c in f.columns else None
        parts.append(part)
    out = pd.concat(parts, ignore_index=True)
    return out[out["text"] != ""].drop_duplicates("text").reset_index(drop=True)
