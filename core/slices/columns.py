"""The metadata columns of a user's dataset (columns of the uploaded file that are neither text nor label), for
slices by column.

Where they come from, first found wins:
  1. an upload saved from a table keeps them beside its data (core.data.uploads.upload_columns);
  2. a dataset read from a file (or added with `python -m core data add PATH`) records its source files and
     columns in meta: the files are read again (core.data.frames.metadata_table).
Built-in datasets have none. Rows are matched to the evaluated texts by their text (the first row of a repeated
text wins), so the same table serves the test split and any evaluation set drawn from the same file.
"""
from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from ..errors import LabError


def metadata_frame(dataset: str):
    """DataFrame "text" + metadata columns of `dataset` (a name or a file path), or None when it has none (or they cannot be read)."""
    from ..data import SPECS, UPLOAD_PREFIX, read_table, resolve_dataset
    from ..data.frames import metadata_table
    from ..data.uploads import upload_columns

    if dataset in SPECS:  # a built-in dataset keeps no other columns
        return None
    if dataset.startswith(UPLOAD_PREFIX):
        saved = upload_columns(dataset[len(UPLOAD_PREFIX):])
        if saved is not None:
            return saved
    try:
        meta = resolve_dataset(dataset).meta
    except (LabError, OSError):
        return None
    files = [Path(f) for f in meta.get("source_files") or []]
    text_cols, label_cols = meta.get("text_columns"), meta.get("label_columns")
    if not files or not text_cols or not all(f.is_file() for f in files):
        return None
    try:
        frames = [read_table(f) for f in files]
    except (LabError, OSError, ValueError):
        return None
    return metadata_table(frames[0], text_cols, label_cols or [], frames[1] if len(frames) > 1 else None)


def columns_for(dataset: str, texts: Sequence[str]):
    """The metadata columns aligned with `texts` (a row per text, missing values where a text is not found),
    or None when the dataset has no metadata columns."""
    frame = metadata_frame(dataset)
    if frame is None or len(frame.columns) < 2:
        return None
    return frame.set_index("text").reindex(list(texts)).reset_index(drop=True)
