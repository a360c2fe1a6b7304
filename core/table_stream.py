"""Reading a user's table file in chunks of rows, so a file of any size is processed in flat memory.

`iter_chunks(path, chunk_rows)` yields pandas DataFrames of at most `chunk_rows` rows, in file order, whose
index is the 0-based position of each data row in the file. Formats follow core.data.formats (same extensions,
same errors for unknown / binary / non-UTF-8 files), read the streaming way:

    CSV / TSV   pandas read_csv(chunksize=...), delimiter sniffed like read_table; every cell is text
    JSONL       line by line (blank lines skipped); a bad line is a DataError naming its line number
    Parquet     pyarrow row batches (only the requested columns are read)
    JSON        one array: not streamable, read whole through read_table (use JSONL for big files)

gzip is recognised by its magic bytes; a gzipped Parquet file is first decompressed into a temporary file
(Parquet needs random access). Missing cells are None.
"""
from __future__ import annotations

import gzip
import io
import json
import os
import shutil
import tempfile
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import IO

import pandas as pd

from .data.formats import _decode, _sniff_delimiter, read_table, reader_for
from .data.resolve import guess_text_columns  # noqa: F401 - the one column guess, re-exported for scoring
from .errors import DataError

#: Rows per chunk by default: large enough to batch a model's forward pass, small enough to keep memory flat.
CHUNK_ROWS = 2000
#: Bytes inspected to check the file is text and to sniff the delimiter.
HEAD_BYTES = 65536


def is_gzip(path: Path) -> bool:
    with open(path, "rb") as f:
        return f.read(2) == b"\x1f\x8b"


def _open_binary(path: Path) -> IO[bytes]:
    return gzip.open(path, "rb") if is_gzip(path) else open(path, "rb")  # noqa: SIM115 - caller closes


@contextmanager
def _text_handle(path: Path) -> Iterator[IO[str]]:
    """The file as text: UTF-8 (BOM skipped) or BOM-marked UTF-16; binary / non-UTF-8 heads refused by
    core.data.formats' checks (the rest of the file is decoded strictly as it is read)."""
    with _open_binary(path) as raw:
        head = raw.read(HEAD_BYTES)
    if not head.strip():
        raise DataError(f"{path.name} is empty")
    utf16 = head.startswith((b"\xff\xfe", b"\xfe\xff"))
    if not utf16:
        cut = head.rfind(b"\n") + 1 or len(head)  # never check a multi-byte character cut in half
        _decode(head[:cut], path.name)
    raw = _open_binary(path)
    handle = io.TextIOWrapper(raw, encoding="utf-16" if utf16 else "utf-8-sig", errors="strict", newline="")
    try:
        yield handle
    except UnicodeDecodeError as e:
        raise DataError(f"{path.name}: file is not UTF-8 text further down ({e.reason}); re-save it as UTF-8") from e
    finally:
        handle.close()


def _as_text(df: pd.DataFrame) -> pd.DataFrame:
    """Cells as str or None (missing), so every chunk has the same column types."""
    return df.astype(object).where(df.notna(), None)


def _delimited(path: Path, chunk_rows: int, sep: str | None) -> Iterator[pd.DataFrame]:
    with _text_handle(path) as f:
        if sep is None:
            sep = _sniff_delimiter(f.read(HEAD_BYTES))
            f.seek(0)
        try:
            reader = pd.read_csv(f, sep=sep, chunksize=chunk_rows, dtype=str, keep_default_na=False,
                                 na_values=[""])
            for chunk in reader:
                chunk.columns = [str(c).strip() for c in chunk.columns]
                yield _as_text(chunk)
        except (pd.errors.ParserError, pd.errors.EmptyDataError) as e:
            msg = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
            raise DataError(f"{path.name}: cannot parse it as CSV ({msg})") from e


def _jsonl(path: Path, chunk_rows: int) -> Iterator[pd.DataFrame]:
    rows: list[dict] = []
    with _text_handle(path) as f:
        for line_no, line in enumerate(f, 1):
            if not line.strip():
                continue
            try:
                row = json.loads(line)
            except ValueError as e:
                raise DataError(f"{path.name}: line {line_no} is not valid JSON ({e})") from e
            if not isinstance(row, dict):
                raise DataError(f"{path.name}: line {line_no} is not a JSON object ({type(row).__name__})")
            rows.append(row)
            if len(rows) == chunk_rows:
                yield _as_text(pd.DataFrame.from_records(rows))
                rows = []
    if rows:
        yield _as_text(pd.DataFrame.from_records(rows))


@contextmanager
def _seekable(path: Path) -> Iterator[Path]:
    """`path`, or a decompressed temporary copy of it when it is gzipped (removed afterwards)."""
    if not is_gzip(path):
        yield path
        return
    fd, tmp = tempfile.mkstemp(suffix=".parquet")
    try:
        with os.fdopen(fd, "wb") as out, gzip.open(path, "rb") as src:
            shutil.copyfileobj(src, out, 1 << 20)
        yield Path(tmp)
    finally:
        os.unlink(tmp)


def _parquet(path: Path, chunk_rows: int, columns: Sequence[str] | None) -> Iterator[pd.DataFrame]:
    import pyarrow.parquet as pq

    with _seekable(path) as real:
        try:
            pf = pq.ParquetFile(real)
        except Exception as e:  # pyarrow raises several types for junk input
            raise DataError(f"{path.name}: not a readable Parquet file ({e})") from e
        names = pf.schema_arrow.names
        wanted = [c for c in names if columns is None or c in columns]
        for batch in pf.iter_batches(batch_size=chunk_rows, columns=wanted):
            yield _as_text(batch.to_pandas())


def _json(path: Path, chunk_rows: int) -> Iterator[pd.DataFrame]:
    df = _as_text(read_table(path))
    for start in range(0, len(df), chunk_rows):
        yield df.iloc[start:start + chunk_rows]


def iter_chunks(path: str | Path, chunk_rows: int = CHUNK_ROWS, columns: Sequence[str] | None = None
                ) -> Iterator[pd.DataFrame]:
    """Chunks of at most `chunk_rows` rows of the table at `path`, in file order; each chunk's index holds the
    rows' 0-based positions in the file. `columns` limits what Parquet reads (other formats parse every
    column). Raises DataError for a missing, empty, binary, non-UTF-8, unparseable or unknown-type file."""
    path = Path(path)
    if chunk_rows < 1:
        raise DataError(f"chunk_rows must be at least 1, got {chunk_rows}")
    if not path.is_file():
        raise DataError(f"no file {path}")
    reader = reader_for(path.name)
    if os.path.getsize(path) == 0:
        raise DataError(f"{path.name} is empty")
    chunks = {"CSV": lambda: _delimited(path, chunk_rows, None), "TSV": lambda: _delimited(path, chunk_rows, "\t"),
              "JSONL": lambda: _jsonl(path, chunk_rows), "Parquet": lambda: _parquet(path, chunk_rows, columns),
              "JSON": lambda: _json(path, chunk_rows)}[reader.name]()
    offset = 0
    for chunk in chunks:
        chunk.index = pd.RangeIndex(offset, offset + len(chunk))
        offset += len(chunk)
        yield chunk
    if offset == 0:
        raise DataError(f"{path.name} has a header but no data rows")


def parquet_rows(path: str | Path) -> int | None:
    """Rows of a (non-gzipped) Parquet file from its metadata; None for any other file (unknown without a pass)."""
    path = Path(path)
    try:
        if reader_for(path.name).name != "Parquet" or is_gzip(path):
            return None
        import pyarrow.parquet as pq

        return int(pq.ParquetFile(path).metadata.num_rows)
    except Exception:  # noqa: BLE001 - only a progress-bar total: unknown is fine
        return None


def join_texts(df: pd.DataFrame, text_columns: Sequence[str]) -> list[str]:
    """One text per row: the `text_columns` cells stripped and joined with a space, empty cells skipped (as
    uploads do). DataError naming the available columns when one is missing."""
    missing = [c for c in text_columns if c not in df.columns]
    if missing:
        raise DataError(f"text column(s) {missing} not found; available columns: "
                        f"{', '.join(repr(str(c)) for c in df.columns)}")
    parts = [["" if v is None or (isinstance(v, float) and v != v) else str(v).strip() for v in df[c].tolist()]
             for c in text_columns]
    return [" ".join(p for p in row if p) for row in zip(*parts)]
