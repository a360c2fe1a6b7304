"""Users' table files: `READERS` (extension -> Reader) and `read_table`.

Adding a format = one reader function + one `Reader` row in `_READER_LIST`; `ACCEPTED_EXTENSIONS` (what the
Dataset page's file picker accepts) and the "unknown file type" message follow from the table. Any format
may be gzip-compressed ("x.csv.gz"); gzip is recognised by its magic bytes, whatever the name says.
"""
from __future__ import annotations

import csv
import gzip
import io
import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO

from .types import DataError

_BINARY_MAGIC = {
    b"PK\x03\x04": "a zip archive (an Excel .xlsx workbook is one)",
    b"\xd0\xcf\x11\xe0": "an old Excel / Office file (.xls)",
    b"PAR1": "a Parquet file",
    b"%PDF": "a PDF document",
    b"\x89PNG": "a PNG image",
    b"\xff\xd8\xff": "a JPEG image",
    b"GIF8": "a GIF image",
    b"SQLite format": "an SQLite database",
    b"\x80\x04": "a Python pickle",
}
#: Extensions refused with a hint (read_table never opens these).
REFUSED = {".xlsx": "spreadsheets", ".xls": "spreadsheets", ".xlsm": "spreadsheets", ".ods": "spreadsheets"}
COMPRESSED = ".gz"


def _decode(data: bytes, filename: str) -> str:
    """Bytes -> text: UTF-8 (with or without BOM) or BOM-marked UTF-16; anything else is a clear error."""
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):  # Excel's "Unicode text" export: unambiguous, so accept
        return data.decode("utf-16")
    head = data[:8192]
    for magic, what in _BINARY_MAGIC.items():
        if head.startswith(magic):
            raise DataError(f"{filename} is {what}, not a text table; export it as CSV (UTF-8) and load that")
    control = sum(1 for b in head if b < 32 and b not in (9, 10, 12, 13))
    if b"\x00" in head or control > max(4, len(head) // 50):
        raise DataError(f"{filename} looks like a binary file, not CSV / TSV / JSON text (it contains NUL or "
                        f"control bytes); check you picked the right file")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as e:
        bad = data[e.start]
        raise DataError(f"{filename}: file is not UTF-8 text (byte 0x{bad:02x} at offset {e.start}); re-save it "
                        f"as UTF-8 (e.g. Excel: 'CSV UTF-8', LibreOffice: character set 'Unicode (UTF-8)')") from None


def _sniff_delimiter(text: str) -> str:
    sample = text[:65536]
    try:
        return csv.Sniffer().sniff(sample, delimiters=",;\t|").delimiter
    except csv.Error:
        # Sniffer gives up on one-column files and on quoted multi-line fields: count on the header line.
        header = sample.splitlines()[0] if sample else ""
        counts = {d: header.count(d) for d in ",;\t|"}
        best = max(counts, key=counts.get)
        return best if counts[best] else ","


def _delimited(text: str, header: bool, sep: str | None):
    import pandas as pd

    df = pd.read_csv(io.StringIO(text), sep=sep or _sniff_delimiter(text), keep_default_na=False, na_values=[""],
                     header=0 if header else None)
    if not header:
        df.columns = [f"column_{i + 1}" for i in range(df.shape[1])]
    return df


def _read_csv(text: str, header: bool):
    return _delimited(text, header, None)


def _read_tsv(text: str, header: bool):
    return _delimited(text, header, "\t")


def _read_jsonl(text: str, header: bool):
    import pandas as pd

    return pd.read_json(io.StringIO(text), lines=True)


def _read_json(text: str, header: bool):
    import pandas as pd

    return pd.read_json(io.StringIO(text))


def _read_parquet(data: bytes, header: bool):
    import pandas as pd

    return pd.read_parquet(io.BytesIO(data))


@dataclass(frozen=True)
class Reader:
    """One table format. `read(payload, header)` gets decoded text (`binary` False) or the raw bytes."""

    name: str  # "CSV": shown in "cannot parse it as CSV"
    extensions: tuple[str, ...]  # with the dot, lowercase
    read: Callable[[Any, bool], Any]  # -> pandas.DataFrame
    binary: bool = False


_READER_LIST = (
    Reader("CSV", (".csv", ".txt"), _read_csv),
    Reader("TSV", (".tsv", ".tab"), _read_tsv),
    Reader("JSONL", (".jsonl", ".ndjson"), _read_jsonl),
    Reader("JSON", (".json",), _read_json),
    Reader("Parquet", (".parquet", ".pq"), _read_parquet, binary=True),
)
#: Extension (".csv") -> its reader.
READERS: dict[str, Reader] = {ext: r for r in _READER_LIST for ext in r.extensions}
#: Extensions without the dot, for st.file_uploader(type=...): every reader's, plus "gz" for compressed files.
ACCEPTED_EXTENSIONS: list[str] = sorted({ext.lstrip(".") for ext in READERS} | {COMPRESSED.lstrip(".")})


def reader_for(filename: str) -> Reader:
    """The reader of `filename` by its extension (a trailing .gz is skipped); DataError for any other."""
    name = filename.lower()
    if name.endswith(COMPRESSED):
        name = name[: -len(COMPRESSED)]
    ext = os.path.splitext(name)[1]
    if ext in REFUSED:
        raise DataError(f"{filename}: {REFUSED[ext]} are not read directly; save the sheet as 'CSV UTF-8' and "
                        f"load that")
    if ext not in READERS:
        known = ", ".join(sorted(READERS))
        raise DataError(f"{filename}: unknown file type {ext or '(no extension)'!r}; use one of {known} "
                        f"(optionally {COMPRESSED}-compressed)")
    return READERS[ext]


def _read_bytes(source: str | Path | bytes | BinaryIO) -> bytes:
    if isinstance(source, (bytes, bytearray, memoryview)):
        return bytes(source)
    if isinstance(source, (str, Path)):
        try:
            return Path(source).read_bytes()
        except OSError as e:
            raise DataError(f"cannot read {source}: {e.strerror or e}") from e
    if hasattr(source, "getvalue"):  # Streamlit UploadedFile, BytesIO
        return bytes(source.getvalue())
    return bytes(source.read())


def read_table(source: str | Path | bytes | BinaryIO, filename: str | None = None, header: bool = True):
    """Read a user's table file (any format in READERS, optionally .gz) into a pandas DataFrame.

    source:   a path, raw bytes, or a file-like object (e.g. Streamlit's UploadedFile).
    filename: decides the format by extension (defaults to the path's name).
    header:   CSV / TSV only: False when the first line is data; columns are then column_1, column_2, ...
    Only empty cells become missing values ("NA" stays text). Raises DataError for empty, binary,
    non-UTF-8 or unparseable files.
    """
    import pandas as pd

    if filename is None:
        if isinstance(source, (str, Path)):
            filename = Path(source).name
        else:
            filename = getattr(source, "name", None) or "upload.csv"
    reader = reader_for(filename)
    data = _read_bytes(source)
    if data[:2] == b"\x1f\x8b":  # gzip, whatever the name says
        try:
            data = gzip.decompress(data)
        except (OSError, EOFError) as e:
            raise DataError(f"{filename}: broken gzip file ({e})") from e
    if not data.strip():
        raise DataError(f"{filename} is empty")
    if reader.binary:
        try:
            df = reader.read(data, header)
        except Exception as e:  # pyarrow raises several types for junk input
            raise DataError(f"{filename}: not a readable {reader.name} file ({e})") from e
    else:
        text = _decode(data, filename)
        if not text.strip():
            raise DataError(f"{filename} is empty")
        try:
            df = reader.read(text, header)
        except (pd.errors.ParserError, pd.errors.EmptyDataError, ValueError) as e:
            msg = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
            raise DataError(f"{filename}: cannot parse it as {reader.name.upper()} ({msg})") from e
    df.columns = [str(c).strip() for c in df.columns]
    if len(df) == 0:
        raise DataError(f"{filename} has a header but no data rows")
    return df
