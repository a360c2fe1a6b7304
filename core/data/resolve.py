"""One place that turns what a user typed as a dataset into a TextDataset: `resolve_dataset(spec)`.

spec: a built-in name ("ag_news"), a saved upload ("upload:NAME", "upload:NAME@v1"), or the PATH of a table
file (any format in formats.READERS, optionally .gz). A file is read with read_table; its text / label columns
are guessed when not given (`guess_columns`, the same guesses as the Dataset page); an optional test file with
the same columns becomes the test split (validation is then carved from the training file only).

A file dataset is named "file:<parent>/<stem>" (stable for the same file, meaningful on every page) and the
path and column choices are remembered in user_data_dir()/file_datasets.json, so `load_dataset` of that name
works again later on this machine (pages showing a model trained from a file can still load its data).
"""
from __future__ import annotations

import json
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from .. import config
from ..atomic import atomic_write_text
from .formats import COMPRESSED, READERS, read_table
from .frames import dataset_from_frame
from .splits import apply_max_train
from .types import DataError, TextDataset

FILE_PREFIX = "file:"
#: Column names taken as the label column (lower-cased), in order of preference.
LABEL_NAMES = ("label", "labels", "class", "category", "target", "intent", "topic", "sentiment", "y")
#: Column names taken as text columns (lower-cased); all that are present are joined.
TEXT_NAMES = ("text", "title", "description", "body", "content", "comment", "message", "sentence", "review",
              "question", "query", "utterance")
_REGISTRY = "file_datasets.json"


def guess_label_columns(df) -> list[str]:
    """The first column named like a label (label, labels, class, category, target, ...), or []."""
    by_lower = {str(c).lower(): c for c in df.columns}
    return next(([by_lower[n]] for n in LABEL_NAMES if n in by_lower), [])


def guess_text_columns(df, exclude: Sequence[str] = ()) -> list[str]:
    """Columns named like text (text, title, body, ...) when there are some, else the text column with the
    longest texts on average; [] when no column holds text."""
    cols = [c for c in df.columns if c not in set(exclude)]
    named = [c for c in cols if str(c).lower() in TEXT_NAMES]
    if named:
        return named
    from pandas.api.types import is_object_dtype, is_string_dtype

    textual = [c for c in cols if is_object_dtype(df[c]) or is_string_dtype(df[c])]
    if not textual:
        return []
    return [max(textual, key=lambda c: df[c].astype(str).str.len().mean())]


def guess_columns(df, text_cols: Sequence[str] | None = None, label_cols: Sequence[str] | None = None
                  ) -> tuple[list[str], list[str]]:
    """(text columns, label columns): the given ones, else the guesses. DataError when nothing fits."""
    labels = list(label_cols or guess_label_columns(df))
    texts = list(text_cols or guess_text_columns(df, exclude=labels))
    available = ", ".join(repr(str(c)) for c in df.columns)
    if not labels:
        raise DataError(f"no label column found (looked for {', '.join(LABEL_NAMES)}); name it with --label-col. "
                        f"Columns: {available}")
    if not texts:
        raise DataError(f"no text column found; name it with --text-col. Columns: {available}")
    return texts, labels


def looks_like_path(spec: str) -> bool:
    """True when `spec` names a file rather than a dataset: it exists, has a folder part, or a table
    extension (registry names and "upload:" names have none of these)."""
    if spec.startswith(("upload:", FILE_PREFIX)):
        return False
    name = spec.lower()
    if name.endswith(COMPRESSED):
        name = name[: -len(COMPRESSED)]
    return os.path.exists(spec) or "/" in spec or os.sep in spec or os.path.splitext(name)[1] != ""


def file_dataset_name(path: Path) -> str:
    """"file:<parent>/<stem>" ("file:intents/train" for .../intents/train.csv.gz)."""
    stem = path.name
    if stem.lower().endswith(COMPRESSED):
        stem = stem[: -len(COMPRESSED)]
    stem = os.path.splitext(stem)[0]
    parent = path.resolve().parent.name
    return f"{FILE_PREFIX}{parent}/{stem}" if parent else f"{FILE_PREFIX}{stem}"


def _existing_file(path: str | Path, what: str) -> Path:
    p = Path(path).expanduser()
    if not p.is_file():
        raise DataError(f"{what} not found: {path}" + ("" if p.parent.is_dir() else f" (no folder {p.parent})"))
    return p


def _remember(name: str, record: dict[str, Any]) -> None:
    """Keep name -> how to read it again (best effort: a read-only data folder only loses the reload)."""
    path = config.user_data_dir() / _REGISTRY
    try:
        known = json.loads(path.read_text("utf-8")) if path.is_file() else {}
        known[name] = record
        atomic_write_text(path, json.dumps(known, indent=1))
    except (OSError, ValueError):
        pass


def load_file_dataset(name: str, max_train: int | None = None, seed: int = 0) -> TextDataset:
    """A "file:<parent>/<stem>" dataset again, from the path and columns remembered when it was first read."""
    path = config.user_data_dir() / _REGISTRY
    try:
        record = json.loads(path.read_text("utf-8"))[name]
    except (OSError, ValueError, KeyError):
        raise DataError(f"dataset {name!r} was read from a file this machine does not know; give its path "
                        f"again (--dataset PATH) or register it: python -m core data add PATH --name NAME") from None
    return resolve_dataset(record["path"], record.get("text_cols"), record.get("label_cols"),
                           record.get("test_file"), max_train=max_train, seed=seed)


def read_file_dataset(path: str | Path, text_cols: Sequence[str] | None = None,
                      label_cols: Sequence[str] | None = None, test_file: str | Path | None = None,
                      name: str | None = None, **frame_kwargs: Any) -> TextDataset:
    """A table file (and optional test file with the same columns) -> TextDataset, every row.

    name defaults to file_dataset_name(path). frame_kwargs go to dataset_from_frame (label_format,
    delimiter, test_size, seed...). The meta records the source files. DataError for a missing file, an
    unknown extension, an empty or non-UTF-8 file, missing columns, test labels not in train.
    """
    p = _existing_file(path, "data file")
    df = read_table(p)
    test_df = read_table(_existing_file(test_file, "test file")) if test_file else None
    texts, labels = guess_columns(df, text_cols, label_cols)
    ds = dataset_from_frame(df, texts, labels, name=name or file_dataset_name(p), test_frame=test_df,
                            **frame_kwargs)
    ds.meta["source"] = str(p.resolve())
    ds.meta["source_files"] = [str(p.resolve())] + ([str(Path(test_file).resolve())] if test_file else [])
    return ds


def resolve_dataset(spec: str, text_cols: Sequence[str] | None = None, label_cols: Sequence[str] | None = None,
                    test_file: str | Path | None = None, max_train: int | None = None, seed: int = 0
                    ) -> TextDataset:
    """A dataset by name (built-in, "upload:NAME[@vK]", "file:...") or by PATH, as a TextDataset.

    text_cols / label_cols / test_file apply to a PATH only (DataError otherwise: they would be ignored).
    max_train: at most this many training rows (splits.apply_max_train), for every kind of spec.
    """
    from .catalog import load_dataset

    if not looks_like_path(spec):
        if text_cols or label_cols or test_file:
            raise DataError(f"--text-col, --label-col and --test-file apply to a file path, not to the dataset "
                            f"{spec!r} (its columns and splits are fixed)")
        return load_dataset(spec, max_train=max_train, seed=seed)
    ext_name = spec.lower()[: -len(COMPRESSED)] if spec.lower().endswith(COMPRESSED) else spec.lower()
    if not os.path.exists(spec) and os.path.splitext(ext_name)[1] not in READERS:
        from .formats import reader_for

        reader_for(spec)  # raises the "unknown file type" message
    ds = read_file_dataset(spec, text_cols, label_cols, test_file, seed=seed)
    _remember(ds.name, {"path": ds.meta["source"], "text_cols": ds.meta["text_columns"],
                        "label_cols": ds.meta["label_columns"],
                        "test_file": ds.meta["source_files"][1] if test_file else None,
                        "fingerprint": ds.fingerprint()})
    return apply_max_train(ds, max_train, seed)
