"""Command line: python -m core {datasets,describe,train,list,delete,...}.

Every number the dashboard shows can be reproduced here without a browser. Other modules add
subcommands with the `@command(name, help)(setup)` decorator and are listed in PLUGINS.
"""
from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable
from typing import Any

from .errors import LabError

Handler = Callable[[argparse.Namespace], int]
COMMANDS: dict[str, tuple[Callable[[argparse.ArgumentParser], None], Handler, str]] = {}


def command(name: str, help: str) -> Callable:
    """Register `setup(parser)` + `handler(args)` for a subcommand (other modules add theirs the same way)."""

    def deco(setup: Callable[[argparse.ArgumentParser], None]) -> Callable:
        def wrap(handler: Handler) -> Handler:
            COMMANDS[name] = (setup, handler, help)
            return handler

        return wrap

    return deco


def _table(rows: list[dict[str, Any]]) -> str:
    import pandas as pd

    if not rows:
        return "(none)"
    return pd.DataFrame(rows).to_string(index=False)


# ---------------------------------------------------------------- datasets
def _setup_datasets(p: argparse.ArgumentParser) -> None:
    p.add_argument("--json", action="store_true", help="print JSON instead of a table")


@command("datasets", "table of built-in and uploaded datasets and whether each is available")(_setup_datasets)
def _datasets(args: argparse.Namespace) -> int:
    from .data import list_datasets

    rows = list_datasets()
    print(json.dumps(rows, indent=2, default=str) if args.json else _table(rows))
    return 0


# ---------------------------------------------------------------- dataset arguments (every command)
def add_dataset_args(p: argparse.ArgumentParser, positional: bool = False, required: bool = True) -> None:
    """The dataset argument of a command: a name (ag_news, upload:NAME[@vK]) or a PATH (CSV / TSV / JSONL /
    Parquet, optionally .gz), plus the column and test-file options that apply to a PATH."""
    what = "dataset: a name (ag_news, upload:NAME, upload:NAME@v1) or a PATH to a CSV / TSV / JSONL / Parquet file"
    if positional:
        p.add_argument("dataset", metavar="DATASET", help=what)
    else:
        p.add_argument("--dataset", required=required, metavar="NAME|PATH", help=what)
    p.add_argument("--text-col", action="append", default=[], metavar="COL",
                   help="PATH only: text column (repeatable: joined with a space); default: guessed")
    p.add_argument("--label-col", action="append", default=[], metavar="COL",
                   help="PATH only: label column (repeat for one 0/1 column per label); default: guessed")
    p.add_argument("--test-file", metavar="PATH",
                   help="PATH only: official test file with the same columns (else a test split is carved)")


def dataset_from_args(args: argparse.Namespace, max_train: int | None = None):
    """The TextDataset named by add_dataset_args' options (core.data.resolve_dataset)."""
    from .data import resolve_dataset

    return resolve_dataset(args.dataset, args.text_col or None, args.label_col or None, args.test_file,
                           max_train=max_train)


def _uses_file(args: argparse.Namespace) -> bool:
    from .data import looks_like_path

    return bool(args.text_col or args.label_col or args.test_file or looks_like_path(args.dataset))


# ---------------------------------------------------------------- describe
def _setup_describe(p: argparse.ArgumentParser) -> None:
    add_dataset_args(p, positional=True)
    p.add_argument("--json", action="store_true", help="print the full statistics as JSON")


def describe_lines(stats: dict[str, Any]) -> list[str]:
    """describe() statistics as text: splits, class distribution, length percentiles, coverage, the suggested
    max length, duplicates and leakage."""
    splits = stats["splits"]
    lines = [f"{stats['name']}: {len(stats['labels'])} labels ({'multi-label' if stats['multilabel'] else 'multi-class'}"
             f", {stats['language']}), " + ", ".join(f"{k} {v['rows']:,}" for k, v in splits.items())
             + f"; fingerprint {stats['fingerprint']}", "class distribution (rows per split):"]
    width = max(len(str(lab)) for lab in stats["labels"])
    for lab in stats["labels"]:
        lines.append(f"  {str(lab):<{width}}  " + "  ".join(f"{k} {s['class_counts'].get(lab, 0):>7,}"
                                                           for k, s in splits.items()))
    imbalance = splits["train"].get("imbalance_ratio")
    lines.append(f"  imbalance (largest / smallest train class): {imbalance}")
    lines.append("length percentiles (all splits):")
    for block in stats["lengths"].values():
        o = block["overall"]
        lines.append(f"  {block['unit']:<10} mean {o['mean']:>8}  p50 {o['p50']:>7g}  p90 {o['p90']:>7g}  "
                     f"p95 {o['p95']:>7g}  p99 {o['p99']:>7g}  max {o['max']:>7}")
    lines.append(f"coverage ({stats['tokenizer']}): " + ", ".join(f"≤{r['max_length']} {r['share']:.0%}"
                                                                  for r in stats["coverage"]))
    lines.append(f"suggested max length: {stats['suggestion_note']}")
    dup, overlap = stats["duplicates"], stats["overlap"]
    lines.append(f"duplicates: {dup['count']} (normalised text; {dup['conflicting_labels']} with conflicting labels), "
                 f"exact-duplicate groups in the source: {dup.get('exact_groups')}, exact texts in more than one "
                 f"split: {dup.get('exact_across_splits')}")
    lines.append("leakage: " + ", ".join(f"{k.replace('_', '/')} {v['count']}" for k, v in overlap.items()))
    lines.append(f"vocabulary: {stats['vocab_size']:,} words; empty texts: {stats['empty']['count']}")
    return lines


@command("describe", "dataset statistics: classes, lengths, coverage, vocabulary, duplicates, leakage")(_setup_describe)
def _describe(args: argparse.Namespace) -> int:
    from .data import describe

    stats = describe(dataset_from_args(args))
    print(json.dumps(stats, indent=2, default=str) if args.json else "\n".join(describe_lines(stats)))
    return 0


# ---------------------------------------------------------------- train
def _setup_train(p: argparse.ArgumentParser) -> None:
    add_dataset_args(p, required=False)
    p.add_argument("--model", required=True, help="family: tfidf, rnn, scratch_transformer, transformer, ...")
    p.add_argument("--set", action="append", default=[], metavar="KEY=VALUE", help="hyper-parameter (repeatable)")
    p.add_argument("--name", help="artifact name (default: <dataset>-<model>-<time>)")
    p.add_argument("--max-train", type=int, help="train on a seeded sample of this many rows")
    p.add_argument("--job-dir", help=argparse.SUPPRESS)  # used by the Train page's background jobs
    p.add_argument("--show-params", action="store_true", help="list the family's parameters and exit")
    p.add_argument("--estimate", action="store_true", help="print the pre-flight estimate (steps, seconds, peak "
                   "memory, measured in a short warm-up) and exit; a normal train prints it first")
    p.add_argument("--force", action="store_true", help="train even if the estimate exceeds the free memory")


@command("train", "train a model and save it as an artifact")(_setup_train)
def _train(args: argparse.Namespace) -> int:
    from .errors import ParamError
    from .models import family
    from .params import parse_sets
    from .progress import run_as_job
    from .train import run

    if args.show_params:
        fam = family(args.model)
        print(_table([{"name": p.name, "default": p.default, "choices": p.choices, "min": p.min, "max": p.max,
                       "help": p.help} for p in fam.PARAMS]))
        return 0
    if not args.dataset:
        raise ParamError("train needs --dataset NAME|PATH")
    # A file is read (and checked) before training starts; a name is loaded by run() as always.
    dataset = dataset_from_args(args) if _uses_file(args) else args.dataset
    from .preflight import preflight

    if preflight(dataset, args.model, parse_sets(args.set), args.max_train, only=args.estimate, force=args.force):
        return 0
    path = run_as_job(lambda progress: run(dataset, args.model, parse_sets(args.set), name=args.name,
                                           progress=progress, max_train=args.max_train), args.job_dir)
    if path is None:
        return 130
    from .artifacts import get_artifact

    m = get_artifact(path.name).metrics or {}
    keys = ("accuracy", "f1_macro", "f1_micro", "f1_weighted", "ece", "train_seconds", "size_mb", "latency_ms_p50")
    from .budget import run_summary

    plan = run_summary(((m.get("train_info") or {}).get("history")) or {})  # torch families: planned vs run
    print(json.dumps({"artifact": path.name, **{k: m.get(k) for k in keys if k in m},
                      **({"plan": plan} if plan else {})}, indent=2))
    return 0


# ---------------------------------------------------------------- list / delete
def _setup_list(p: argparse.ArgumentParser) -> None:
    p.add_argument("--dataset", help="only models trained on this dataset")


@command("list", "trained models (broken folders listed with their reason; a dataset changed or gone since "
                 "training is marked)")(_setup_list)
def _list(args: argparse.Namespace) -> int:
    from .artifact_tables import list_rows
    from .artifacts import list_artifacts
    from .evaluations import list_evaluations
    from .scoresets import dataset_marks

    infos = list_artifacts(args.dataset)
    rows = list_rows(infos, dataset_marks(infos))
    for row, info in zip(rows, infos):  # sets scored besides the own test split: `python -m core evaluations NAME`
        status = row.pop("status")  # stays the last column
        row.update(evaluations=len(list_evaluations(info.name)) if info.ok else 0, status=status)
    print(_table(rows))
    return 0


def _setup_delete(p: argparse.ArgumentParser) -> None:
    p.add_argument("name")
    p.add_argument("--yes", action="store_true", help="confirm deletion")


@command("delete", "delete a trained model (needs --yes)")(_setup_delete)
def _delete(args: argparse.Namespace) -> int:
    from .artifacts import delete_artifact

    if not args.yes:
        print(f"refusing to delete {args.name!r} without --yes", file=sys.stderr)
        return 2
    delete_artifact(args.name, confirm=args.name)
    print(f"deleted {args.name}")
    return 0


#: Modules that register subcommands when imported; a module that does not exist yet is skipped.
PLUGINS: tuple[str, ...] = ("core.experiments", "core.bench", "core.compress.cli", "core.explain.cli", "core.zoo",
                             "core.data_cli", "core.scoring_cli", "core.slices.cli", "core.checks.cli", "core.cards.cli",
                             "core.relabel.cli", "core.pool.cli", "core.thresholds_cli", "core.explain.cf_cli")


def _load_plugins() -> None:
    """Import the modules that register more subcommands (each is optional while features land)."""
    import importlib

    for mod in PLUGINS:
        try:
            importlib.import_module(mod)
        except ModuleNotFoundError as e:
            # skip only a plugin (or its package) that is not there yet, never a missing dependency inside one
            if not (e.name == mod or mod.startswith(f"{e.name}.")):
                raise


def add_runtime_args(p: argparse.ArgumentParser) -> None:
    """--threads / --precision on every subcommand that does not define its own (core.threads, core.precision)."""
    have = {o for a in p._actions for o in a.option_strings}
    if "--threads" not in have:
        p.add_argument("--threads", type=int, default=0,
                       help="torch threads (default: $TEXTLAB_THREADS, else the cores free when the job starts)")
    if "--precision" not in have:
        p.add_argument("--precision", choices=("auto", "bf16", "fp32"), default=None,
                       help="torch compute precision (default auto: bf16 autocast on CPUs with AVX512-BF16/AMX)")


def apply_runtime_args(args: argparse.Namespace) -> None:
    """Export --threads / --precision as $TEXTLAB_THREADS / $TEXTLAB_PRECISION and apply the thread policy
    before any torch work (a background job counts the lab's other running jobs)."""
    import os

    from .threads import apply_threads

    if getattr(args, "threads", 0):
        os.environ["TEXTLAB_THREADS"] = str(int(args.threads))
    if getattr(args, "precision", None):
        os.environ["TEXTLAB_PRECISION"] = args.precision
    apply_threads()


def main(argv: list[str] | None = None) -> int:
    _load_plugins()
    parser = argparse.ArgumentParser(prog="python -m core", description="Text Classification Lab command line")
    sub = parser.add_subparsers(dest="command", required=True)
    for name, (setup, _handler, help_) in COMMANDS.items():
        p = sub.add_parser(name, help=help_, description=help_)
        setup(p)
        add_runtime_args(p)
    args = parser.parse_args(argv)
    handler = COMMANDS[args.command][1]
    apply_runtime_args(args)
    try:
        return handler(args)
    except (LabError, FileNotFoundError) as e:
        # User errors (bad dataset, bad settings, broken artifact) get one clear line; anything else is a bug
        # and keeps its traceback.
        print(f"error: {e}", file=sys.stderr)
        return 2
