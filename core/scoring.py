"""Batch scoring: a table file in, the same rows with a label, a confidence and one probability per class out.

    score_file(model, "in.csv.gz", "out.parquet", text_columns=["title", "body"])   # python -m core predict

The file is read in chunks (core.table_stream.iter_chunks), each chunk scored and appended to the output, so
memory stays flat whatever the file size. The output is written under a temporary name and renamed at the end:
an interrupted run never leaves a half file under OUT's name, and an existing OUT is only replaced with
`overwrite=True`.

Output columns, in order: `row` (0-based position of the row in the input), the kept input columns (copied as
text; by default an id column and the text columns), `label` (multi-label: every label at or above its
threshold, joined by `delimiter`), `confidence` (probability of the predicted class; multi-label: of the most
probable label), then `p_<label>` per class (float32). Output format from OUT's extension (OUTPUT_FORMATS).

Several processes (`accelerate launch -m core predict ...`, or explicit `rank` / `world`): process `rank`
scores chunks i with i % world == rank into `.<OUT>.parts/part-<rank>.parquet` (one row group per chunk);
after the barrier the main process (rank 0) reads the chunks back round-robin — which is input order — into
ONE output file, then removes the parts.
"""
from __future__ import annotations

import os
import shutil
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from .errors import DataError, NameTakenError
from .safety import clean_texts
from .table_stream import CHUNK_ROWS, guess_text_columns, iter_chunks, join_texts

#: Longest text given to a model, in characters: bounds the work of one pathological cell (1,000,000 characters
#: is a 400-page book; every family truncates far earlier, so real texts are never changed).
MAX_CHARS = 1_000_000
#: Output file extension -> format name (a key of WRITERS).
OUTPUT_FORMATS = {".csv": "csv", ".jsonl": "jsonl", ".ndjson": "jsonl", ".parquet": "parquet", ".pq": "parquet"}
#: Input columns kept by default besides the text columns (case-insensitive): row identifiers.
ID_NAMES = ("id", "uid", "uuid", "key", "doc_id", "document_id")
Progress = Callable[[int, "int | None"], None]  # (rows done, total rows or None)


class OutputExists(NameTakenError, DataError):
    """The output file exists and replacing it was not confirmed (--overwrite)."""


@dataclass
class Scorer:
    """What scoring needs from a model: its labels, task, threshold and a `predict_proba(texts) -> (n, k)`."""

    labels: list[str]
    multilabel: bool
    threshold: float | np.ndarray
    predict_proba: Callable[[list[str]], np.ndarray]

    @classmethod
    def of(cls, model: Any, threshold: float | None = None) -> Scorer:
        """A Scorer for a TextClassifier (`threshold` overrides the model's multi-label threshold)."""
        thr = getattr(model, "threshold", 0.5) if threshold is None else threshold
        return cls(list(model.labels), bool(model.multilabel), thr, model.predict_proba)


def output_format(out: str | Path) -> str:
    """Format name of an output path by its extension; DataError naming the accepted ones otherwise."""
    ext = Path(out).suffix.lower()
    if ext not in OUTPUT_FORMATS:
        raise DataError(f"{Path(out).name}: unknown output type {ext or '(no extension)'!r}; use one of "
                        f"{', '.join(sorted(OUTPUT_FORMATS))}")
    return OUTPUT_FORMATS[ext]


def check_output(out: str | Path, overwrite: bool = False) -> str:
    """The output format of `out`; DataError for an unknown extension, OutputExists when it exists and not
    `overwrite` (checked before any work, and again before the final rename)."""
    fmt = output_format(out)
    if Path(out).exists() and not overwrite:
        raise OutputExists(f"{out} exists; pass --overwrite to replace it")
    return fmt


def prob_columns(labels: Sequence[str]) -> list[str]:
    return [f"p_{lab}" for lab in labels]


def resolve_columns(first: pd.DataFrame, text_columns: Sequence[str] | None, keep_columns: Sequence[str] | None
                    ) -> tuple[list[str], list[str]]:
    """(text columns, kept columns) from the first chunk: the given ones checked, else guessed (the text
    column(s) by name or length; kept = id-like columns + the text columns)."""
    cols = [str(c) for c in first.columns]
    texts = list(text_columns) if text_columns else guess_text_columns(first)
    if not texts:
        raise DataError(f"no text column found among {cols}; name it with --text-col")
    keep = list(keep_columns) if keep_columns is not None else \
        [c for c in cols if c.lower() in ID_NAMES and c not in texts] + texts
    missing = [c for c in dict.fromkeys(texts + keep) if c not in cols]
    if missing:
        raise DataError(f"column(s) {missing} not found; available columns: {', '.join(map(repr, cols))}")
    return texts, keep


def score_chunk(scorer: Scorer, chunk: pd.DataFrame, text_columns: Sequence[str], keep_columns: Sequence[str],
                delimiter: str = ",") -> pd.DataFrame:
    """One scored chunk: row, kept columns (text; a name clashing with an output column gets "input_"),
    label, confidence, p_<label>. `chunk.index` holds the rows' positions in the input."""
    absent = [c for c in dict.fromkeys([*text_columns, *keep_columns]) if c not in chunk.columns]
    if absent:  # a JSONL chunk whose rows all lack a key the first chunk had: missing cells, not an error
        chunk = chunk.assign(**{c: [None] * len(chunk) for c in absent})
    texts = clean_texts(join_texts(chunk, text_columns), MAX_CHARS)
    k = len(scorer.labels)
    proba = np.asarray(scorer.predict_proba(texts), dtype=np.float32) if texts else np.zeros((0, k), np.float32)
    if proba.shape != (len(texts), k):
        raise DataError(f"the model returned probabilities of shape {proba.shape}, expected {(len(texts), k)}")
    labels = np.asarray(scorer.labels, dtype=object)
    if scorer.multilabel:
        above = proba >= np.asarray(scorer.threshold, dtype=np.float32)
        predicted = [delimiter.join(labels[row]) for row in above]
    else:
        predicted = labels[proba.argmax(axis=1)].tolist() if len(texts) else []
    reserved = {"row", "label", "confidence", *prob_columns(scorer.labels)}
    out: dict[str, Any] = {"row": np.asarray(chunk.index, dtype=np.int64)}
    for c in keep_columns:
        out[f"input_{c}" if c in reserved else c] = [None if v is None else str(v) for v in chunk[c].tolist()]
    out["label"] = predicted
    out["confidence"] = proba.max(axis=1) if len(texts) else np.zeros(0, np.float32)
    for name, col in zip(prob_columns(scorer.labels), proba.T):
        out[name] = col
    return pd.DataFrame(out)


# ---------------------------------------------------------------------------------------------- writers
def _arrow_schema(df: pd.DataFrame):
    """Fixed Arrow types (int64 row, string text columns, float32 numbers): every chunk, even one whose text
    column is all missing, gets the same schema."""
    import pyarrow as pa

    return pa.schema([(c, pa.int64() if c == "row" else pa.float32() if df[c].dtype == np.float32 else pa.string())
                      for c in df.columns])


class _ParquetWriter:
    def __init__(self, path: Path) -> None:
        self.path, self.writer = path, None

    def write(self, df: pd.DataFrame) -> None:
        import pyarrow as pa
        import pyarrow.parquet as pq

        if self.writer is None:
            self.schema = _arrow_schema(df)
            self.writer = pq.ParquetWriter(self.path, self.schema)
        # one row group per chunk: the merge of several processes' parts reads chunks back by row group
        self.writer.write_table(pa.Table.from_pandas(df, schema=self.schema, preserve_index=False),
                                row_group_size=max(len(df), 1))

    def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
            self.writer = None
        elif not self.path.exists():  # no chunk at all: an empty file, so the rename that follows works
            import pyarrow as pa
            import pyarrow.parquet as pq

            pq.write_table(pa.table({}), self.path)


class _TextWriter:
    """CSV or JSONL, appended chunk by chunk (CSV writes the header once)."""

    def __init__(self, path: Path, fmt: str) -> None:
        self.f = open(path, "w", encoding="utf-8", newline="")  # noqa: SIM115 - closed by close()
        self.fmt, self.first = fmt, True

    def write(self, df: pd.DataFrame) -> None:
        if self.fmt == "csv":
            df.to_csv(self.f, index=False, header=self.first)
        elif len(df):
            text = df.to_json(orient="records", lines=True, force_ascii=False)
            self.f.write(text if text.endswith("\n") else text + "\n")
        self.first = False

    def close(self) -> None:
        self.f.close()


#: Format name -> writer factory (path) -> object with write(df) and close().
WRITERS: dict[str, Callable[[Path], Any]] = {
    "csv": lambda p: _TextWriter(p, "csv"), "jsonl": lambda p: _TextWriter(p, "jsonl"), "parquet": _ParquetWriter}


def _write_atomic(out: Path, frames, overwrite: bool) -> int:
    """Write every DataFrame of `frames` to `out` through a temporary file renamed at the end; returns rows."""
    tmp = out.with_name(f".{out.name}.tmp-{os.getpid()}")
    writer = WRITERS[output_format(out)](tmp)
    rows = 0
    try:
        for df in frames:
            writer.write(df)
            rows += len(df)
        writer.close()
        if out.exists() and not overwrite:  # appeared while we were scoring: never replace it silently
            raise OutputExists(f"{out} appeared while scoring; nothing was replaced (pass --overwrite)")
        os.replace(tmp, out)
    except BaseException:
        writer.close()
        tmp.unlink(missing_ok=True)
        raise
    return rows


def parts_dir(out: Path) -> Path:
    """Folder of the per-process parts of a multi-process run (beside OUT, hidden)."""
    return out.with_name(f".{out.name}.parts")


def _merge_parts(out: Path, n_chunks: int, world: int, overwrite: bool) -> int:
    """Chunks 0..n_chunks-1 read back from the parts round-robin (input order) into `out`; parts removed."""
    import pyarrow.parquet as pq

    folder = parts_dir(out)
    files = {r: pq.ParquetFile(folder / f"part-{r}.parquet") for r in range(min(world, n_chunks))}
    frames = (files[i % world].read_row_group(i // world).to_pandas() for i in range(n_chunks))
    try:
        return _write_atomic(out, frames, overwrite)
    finally:
        for f in files.values():
            f.close()
        shutil.rmtree(folder, ignore_errors=True)


def score_file(model: Any, path: str | Path, out: str | Path, *, text_columns: Sequence[str] | None = None,
               keep_columns: Sequence[str] | None = None, chunk_rows: int = CHUNK_ROWS, overwrite: bool = False,
               threshold: float | None = None, delimiter: str = ",", progress: Progress | None = None,
               rank: int = 0, world: int = 1, barrier: Callable[[], None] | None = None) -> dict[str, Any]:
    """Score the table at `path` with `model` (a TextClassifier or a Scorer) into `out` (see the module doc).

    text_columns: joined with a space per row (default: guessed from the first chunk); keep_columns: input
    columns copied to the output (default: id-like columns + the text columns). rank / world / barrier: this
    process's share of a multi-process run (barrier() waits for every process; rank 0 writes `out`).
    Returns {out, rows (scored by this process), seconds, texts_per_second, text_columns, kept_columns}.
    Raises OutputExists when `out` exists and not `overwrite`; DataError for a bad file or column.
    """
    out, path = Path(out), Path(path)
    check_output(out, overwrite)
    scorer = model if isinstance(model, Scorer) else Scorer.of(model, threshold)
    t0 = time.perf_counter()
    state: dict[str, Any] = {"chunks": 0, "rows": 0, "cols": None}

    def scored():
        for i, chunk in enumerate(iter_chunks(path, chunk_rows)):
            state["chunks"] = i + 1  # every process parses every chunk, so each knows the count
            if state["cols"] is None:
                state["cols"] = resolve_columns(chunk, text_columns, keep_columns)
            if i % world == rank:
                df = score_chunk(scorer, chunk, *state["cols"], delimiter=delimiter)
                state["rows"] += len(df)
                if progress:
                    progress(state["rows"], None)
                yield df

    if world == 1:
        _write_atomic(out, scored(), overwrite)
    else:
        parts_dir(out).mkdir(exist_ok=True)
        # written even without a chunk of its own: it replaces any stale part of an interrupted run
        _write_atomic(parts_dir(out) / f"part-{rank}.parquet", scored(), overwrite=True)
        (barrier or (lambda: None))()
        if rank == 0:
            _merge_parts(out, state["chunks"], world, overwrite)
    seconds = time.perf_counter() - t0
    text_cols, kept = state["cols"] or ([], [])
    return {"out": str(out), "rows": state["rows"], "seconds": round(seconds, 3),
            "texts_per_second": round(state["rows"] / seconds, 1) if seconds > 0 else None,
            "text_columns": text_cols, "kept_columns": kept}
