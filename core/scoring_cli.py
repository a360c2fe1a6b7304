"""Subcommands `predict` (score a file), `evaluate` (score a labelled set, keep an evaluation record) and
`evaluations` (list a model's records). Registered through core.cli.PLUGINS.

    python -m core predict MODEL in.csv.gz --out scored.parquet [--text-col title --text-col body]
    accelerate launch -m core predict MODEL in.jsonl --out scored.csv     # chunks split over processes
    python -m core evaluate MODEL --dataset test.csv [--text-col text] [--label-col label]
    python -m core evaluate MODEL --dataset upload:trec [--split test]
"""
from __future__ import annotations

import argparse
import json
import os
from collections.abc import Callable
from pathlib import Path

from .cli import _table, command
from .data.formats import READERS
from .table_stream import CHUNK_ROWS


def launched() -> tuple[int, int, Callable[[], None] | None]:
    """(rank, world, barrier) of this process: from accelerate's PartialState when started by `accelerate launch`
    (or torchrun), else (0, 1, None). accelerate is imported only then."""
    if "WORLD_SIZE" not in os.environ and not any(k.startswith("ACCELERATE_") for k in os.environ):
        return 0, 1, None
    import torch
    from accelerate import PartialState

    # cpu=True on a machine without GPUs: as the trainer's Accelerator, so CPU processes join a gloo group
    state = PartialState(cpu=not torch.cuda.is_available())
    return state.process_index, state.num_processes, state.wait_for_everyone


def _setup_predict(p: argparse.ArgumentParser) -> None:
    p.add_argument("model", help="saved model name (python -m core list)")
    p.add_argument("file", help="CSV / TSV / JSONL / Parquet file, optionally .gz")
    p.add_argument("--out", required=True, help="output file: .csv, .jsonl or .parquet")
    p.add_argument("--text-col", action="append", default=None, metavar="COL",
                   help="text column (repeatable: joined with a space); default: guessed")
    p.add_argument("--keep-cols", nargs="*", default=None, metavar="COL",
                   help="input columns copied to the output (default: id-like columns and the text columns; "
                        "--keep-cols alone keeps none)")
    p.add_argument("--chunk-rows", type=int, default=CHUNK_ROWS, help="rows read and scored at a time")
    p.add_argument("--threshold", type=float, help="multi-label: probability threshold (default: the model's)")
    p.add_argument("--label-delimiter", default=",", help="multi-label: separator of the predicted labels")
    p.add_argument("--overwrite", action="store_true", help="replace OUT if it exists")


@command("predict", "score a table file in chunks: label, confidence and one probability column per class")(
    _setup_predict)
def _predict(args: argparse.Namespace) -> int:
    from tqdm.auto import tqdm

    from .artifacts import load_model
    from .scoring import check_output, score_file
    from .table_stream import parquet_rows

    check_output(args.out, args.overwrite)  # a wrong extension or an existing OUT fails before the model loads
    rank, world, barrier = launched()
    model = load_model(args.model)
    bar = tqdm(total=parquet_rows(args.file), unit="rows", unit_scale=True, desc="score", disable=rank != 0)

    def progress(done: int, total: int | None) -> None:
        bar.update(done * world - bar.n)  # this process's rows, scaled: every process scores a like share

    try:
        summary = score_file(model, args.file, args.out, text_columns=args.text_col, keep_columns=args.keep_cols,
                             chunk_rows=args.chunk_rows, overwrite=args.overwrite, threshold=args.threshold,
                             delimiter=args.label_delimiter, progress=progress, rank=rank, world=world,
                             barrier=barrier)
    finally:
        bar.close()
    if rank == 0:
        print(json.dumps({**summary, "processes": world}, indent=2))
    return 0


def _looks_like_path(value: str) -> bool:
    name = value.lower().removesuffix(".gz")
    return Path(value).exists() or os.path.splitext(name)[1] in READERS


def _setup_evaluate(p: argparse.ArgumentParser) -> None:
    p.add_argument("model", help="saved model name")
    p.add_argument("--dataset", required=True, help="dataset name (ag_news, upload:NAME) or a labelled file")
    p.add_argument("--split", default="test", help="split of a named dataset: test, validation, train or all")
    p.add_argument("--text-col", action="append", default=None, metavar="COL", help="file: text column(s)")
    p.add_argument("--label-col", action="append", default=None, metavar="COL",
                   help="file: label column (repeatable for one 0/1 column per label)")
    p.add_argument("--label-format", default="auto", help="file: auto, names, delimited or binary_columns")
    p.add_argument("--delimiter", default=",", help="file: separator of delimited multi-label cells")


@command("evaluate", "score a saved model on another labelled set and keep the result as an evaluation record")(
    _setup_evaluate)
def _evaluate(args: argparse.Namespace) -> int:
    from .data import load_dataset
    from .evaluations import dataset_from_path, evaluate_model
    from .progress import run_as_job

    if _looks_like_path(args.dataset):
        ds = dataset_from_path(args.dataset, args.text_col, args.label_col, args.label_format, args.delimiter)
        split, source = "test", str(Path(args.dataset).resolve())
    else:
        ds, split, source = load_dataset(args.dataset), args.split, args.dataset
    record = run_as_job(lambda progress: evaluate_model(args.model, ds, split=split, source=source,
                                                        progress=progress), None, done_fields=lambda r: {})
    print(json.dumps({"evaluation": record.id, "folder": str(record.path), **record.row()}, indent=2, default=str))
    return 0


def _setup_evaluations(p: argparse.ArgumentParser) -> None:
    p.add_argument("model", help="saved model name")


@command("evaluations", "a model's evaluation records (sets it was scored on besides its own test split)")(
    _setup_evaluations)
def _evaluations(args: argparse.Namespace) -> int:
    from .artifacts import get_artifact
    from .evaluations import list_evaluations

    info = get_artifact(args.model)
    own = {"id": "(own test split)", "set": info.dataset, "split": "test",
           "n": (info.metrics or {}).get("n"),
           **{k: (info.metrics or {}).get(k) for k in ("accuracy", "f1_macro", "ece")},
           "fingerprint": info.manifest.get("dataset_fingerprint")}
    print(_table([own] + [e.row() for e in list_evaluations(args.model)]))
    return 0
