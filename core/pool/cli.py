"""`python -m core pool ...`: active learning on an unlabeled pool (a CLI plugin, core.cli.PLUGINS).

    python -m core pool add ag_news unlabeled.csv [--text-col text]   # texts without labels
    python -m core pool show ag_news
    python -m core pool rank MODEL --size 50 --out batch.csv             # the next batch to label
    python -m core pool import ag_news batch.csv                         # the same file with its label column filled
    python -m core pool grow ag_news [--retrain MODEL]                   # a new dataset version (+ a new model)
    python -m core pool curve MODEL [--target 0.9]                       # learning curve + rows needed
"""
from __future__ import annotations

import argparse
from pathlib import Path

from ..cli import _table, command
from ..errors import ParamError


def _setup(p: argparse.ArgumentParser) -> None:
    sub = p.add_subparsers(dest="action", required=True)
    add = sub.add_parser("add", help="add the texts of a file (CSV / TSV / JSONL / Parquet) to a dataset's pool")
    add.add_argument("dataset")
    add.add_argument("path")
    add.add_argument("--text-col", default=None, help="text column (default: guessed)")
    show = sub.add_parser("show", help="rows of a dataset's pool by status")
    show.add_argument("dataset")
    rank = sub.add_parser("rank", help="rank the pool by a model's uncertainty, near duplicates skipped")
    rank.add_argument("model")
    rank.add_argument("--dataset", default=None, help="whose pool (default: the model's dataset)")
    rank.add_argument("--size", type=int, default=50)
    rank.add_argument("--method", default="entropy", choices=("entropy", "margin", "least"))
    rank.add_argument("--max-similarity", type=float, default=0.9, help="cosine above which a text is a near copy")
    rank.add_argument("--out", default=None, help="write the batch to label as CSV (refused if the file exists)")
    imp = sub.add_parser("import", help="import a labelled batch (refused whole on any problem)")
    imp.add_argument("dataset")
    imp.add_argument("path")
    grow = sub.add_parser("grow", help="save the dataset + its labelled pool rows as a new version")
    grow.add_argument("dataset")
    grow.add_argument("--retrain", metavar="MODEL", default=None, help="then train MODEL's family on it")
    grow.add_argument("--name", default=None, help="name of the retrained model")
    curve = sub.add_parser("curve", help="test metric against labelled rows, and rows needed for a target")
    curve.add_argument("model")
    curve.add_argument("--fractions", default="0.1,0.2,0.35,0.5,0.75", help="shares of the training rows")
    curve.add_argument("--target", type=float, default=None, help="metric to reach (e.g. 0.9)")


def _dataset_info(dataset: str):
    from ..data import load_dataset

    return load_dataset(dataset)


@command("pool", "active learning: add unlabeled texts, rank them, import labels, grow the dataset, curve")(_setup)
def _pool(args: argparse.Namespace) -> int:
    return ACTIONS[args.action](args)


def _add(args: argparse.Namespace) -> int:
    from ..data.formats import read_table
    from .store import add_texts, texts_from_table

    ds = _dataset_info(args.dataset)
    known = {t for s in ds.splits().values() for t in s.texts}
    counts = add_texts(args.dataset, texts_from_table(read_table(args.path), args.text_col), known)
    print(f"pool of {args.dataset}: added {counts['added']:,} ({counts['blank']} blank, {counts['duplicate']} "
          f"already pooled, {counts['in_dataset']} already in the dataset skipped); {counts['pool']:,} in all")
    return 0


def _show(args: argparse.Namespace) -> int:
    from .store import summary

    print(_table([summary(args.dataset)]))
    return 0


def _rank(args: argparse.Namespace) -> int:
    from tqdm.auto import tqdm

    from .labels import export_batch
    from .rank import rank_pool

    out = Path(args.out) if args.out else None
    if out is not None and out.exists():
        raise ParamError(f"{out} exists; choose another --out")
    bar = tqdm(total=100, desc="rank", unit="%")

    def progress(share: float, msg: str) -> None:
        bar.n = int(100 * share)
        bar.set_postfix_str(msg)
        bar.refresh()

    frame = rank_pool(args.model, args.dataset, args.size, args.method, args.max_similarity, progress)
    bar.close()
    a = frame.attrs
    print(f"{len(frame)} of {a['pool']:,} unlabelled texts by {a['method']} ({a['near_duplicates_skipped']} near "
          f"duplicates skipped, {a['space']} space)")
    print(_table(frame.assign(text=frame["text"].str.slice(0, 70)).to_dict("records")))
    if out is not None:
        out.write_bytes(export_batch(args.dataset or _model_dataset(args.model), frame))
        print(f"wrote {out}: fill the label column, then `python -m core pool import DATASET {out}`")
    return 0


def _model_dataset(model: str) -> str:
    from ..artifacts import get_artifact

    return get_artifact(model).dataset


def _import(args: argparse.Namespace) -> int:
    from ..data.formats import read_table
    from .labels import import_labels

    ds = _dataset_info(args.dataset)
    result = import_labels(args.dataset, read_table(args.path), list(ds.labels), ds.multilabel)
    print(f"labelled {result.labelled} pool rows ({result.relabelled} relabelled, {result.skipped_blank} left "
          f"blank); by label: {result.labels}")
    return 0


def _grow(args: argparse.Namespace) -> int:
    from .grow import retrain, save_grown

    ref = save_grown(args.dataset)
    print(f"saved {ref}")
    if args.retrain:
        path = retrain(args.retrain, ref, name=args.name)
        print(f"retrained {args.retrain}'s family on {ref}: {path.name}")
    return 0


def _curve(args: argparse.Namespace) -> int:
    from .curve import learning_curve

    try:
        fractions = [float(x) for x in args.fractions.split(",") if x.strip()]
    except ValueError:
        raise ParamError(f"--fractions must be numbers separated by commas, got {args.fractions!r}") from None
    curve = learning_curve(args.model, fractions)
    print(_table([{"rows": r, curve.metric: round(v, 4)} for r, v in zip(curve.rows, curve.values)]))
    for note in curve.notes:
        print(f"note: {note}")
    if curve.fit:
        print("fit: {metric} ≈ {a:.4f} - {b:.3g}·n^(-{c:.3f})  (plateau {a:.4f})".format(metric=curve.metric,
                                                                                     **curve.fit))
    else:
        print("no fit (fewer than 3 points, or the points do not follow a power law)")
    if args.target is not None:
        need = curve.rows_needed(args.target)
        print(f"rows needed for {curve.metric} {args.target}: "
              + (f"≈ {need:,}" if need else "not reachable by this curve (at or above its plateau)"))
    return 0


ACTIONS = {"add": _add, "show": _show, "rank": _rank, "import": _import, "grow": _grow, "curve": _curve}
