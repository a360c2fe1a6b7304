"""`python -m core datamap | relabel | retrain` and the `data corrections` action (a CLI plugin).

    python -m core datamap MODEL [--label L] [--k 5 --repeats 2] [--out map.csv]     regions, flags, timing
    python -m core relabel MODEL [--top 20] [--out queue.csv] [--no-test]            the ranked queue
    python -m core relabel MODEL --accept-top 200 [--who NAME] [--why TEXT]          accept the top suggestions
    python -m core retrain MODEL [--name NEW]        corrected dataset version + a model with MODEL's settings
    python -m core data corrections DATASET [--export FILE | --import FILE] [--who NAME]
"""
from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

from ..cli import _table, command


def _setup_datamap(p: argparse.ArgumentParser) -> None:
    p.add_argument("name", help="trained model")
    p.add_argument("--label", help="multi-label models: the label whose map to draw")
    p.add_argument("--k", type=int, default=5, help="folds (cross-validated families such as TF-IDF)")
    p.add_argument("--repeats", type=int, default=2, help="cross-validation repeats (variability needs >= 2)")
    p.add_argument("--out", help="write the map (one row per training row) to this CSV")


@command("datamap", "training dynamics of a model: data-map regions and cleanlab flags of its training rows"
         )(_setup_datamap)
def _datamap(args: argparse.Namespace) -> int:
    from ..dynamics import data_map, dynamics_of, region_counts, with_label_issues
    from ..progress import TqdmProgress
    from ..safety import csv_bytes

    t0 = time.perf_counter()
    dyn, ds = dynamics_of(args.name, k=args.k, repeats=args.repeats, progress=TqdmProgress())
    t1 = time.perf_counter()
    frame = with_label_issues(data_map(dyn, ds, args.label), dyn, ds)
    t2 = time.perf_counter()
    print(json.dumps({"model": args.name, "source": dyn.source, "evaluations": dyn.n_evals, "rows": len(frame),
                      **region_counts(frame), "cleanlab_flags": int(frame["flagged"].sum()),
                      "dynamics_seconds": round(t1 - t0, 2), "map_seconds": round(t2 - t1, 2)}, indent=2))
    if args.out:
        Path(args.out).write_bytes(csv_bytes(frame))
    return 0


def _setup_relabel(p: argparse.ArgumentParser) -> None:
    p.add_argument("name", help="trained model")
    p.add_argument("--top", type=int, default=20, help="rows to print")
    p.add_argument("--out", help="write the whole queue to this CSV")
    p.add_argument("--no-test", action="store_true", help="training rows only")
    p.add_argument("--accept-top", type=int, default=0, metavar="K",
                   help="save the suggestions of the top K rows as corrections")
    p.add_argument("--who", default="", help="who corrects (default: the login name)")
    p.add_argument("--why", default="relabel queue suggestion", help="reason recorded with each correction")


@command("relabel", "the relabel queue of a model: rows ranked by evidence their label is wrong")(_setup_relabel)
def _relabel(args: argparse.Namespace) -> int:
    from ..dynamics import model_dataset
    from ..progress import TqdmProgress
    from ..safety import csv_bytes
    from .corrections import Correction, add_corrections
    from .queue import build_queue

    t0 = time.perf_counter()
    queue = build_queue(args.name, include_test=not args.no_test, progress=TqdmProgress())
    print(f"{len(queue):,} rows queued in {time.perf_counter() - t0:.1f} s ({queue.attrs['corrected']} already "
          f"corrected) for {queue.attrs['dataset']}")
    shown = queue.head(args.top).assign(text=lambda f: f["text"].str.slice(0, 60))
    print(_table(shown[["rank", "row_id", "label", "suggested", "score", "reasons", "text"]].to_dict("records")))
    if args.out:
        Path(args.out).write_bytes(csv_bytes(queue))
    if args.accept_top:
        top = queue.head(args.accept_top)
        top = top[top["suggested"] != top["label"]]
        overlay = add_corrections(model_dataset(args.name), [
            Correction(r, s, why=args.why, who=args.who) for r, s in zip(top["row_id"], top["suggested"])])
        print(f"saved {len(top):,} corrections: {overlay.dataset} corrections v{overlay.version} "
              f"({len(overlay.entries):,} in all)")
    return 0


def _setup_retrain(p: argparse.ArgumentParser) -> None:
    p.add_argument("name", help="the model whose dataset corrections to apply and whose settings to reuse")
    p.add_argument("--name", dest="new_name", help="name of the new model (default NAME-corrected)")
    p.add_argument("--job-dir", help=argparse.SUPPRESS)


@command("retrain", "apply a model's dataset corrections (a new dataset version) and train the same settings on it"
         )(_setup_retrain)
def _retrain(args: argparse.Namespace) -> int:
    from ..artifacts import get_artifact
    from ..progress import run_as_job
    from .retrain import retrain

    refs: list[str] = []

    def work(progress):
        path, ref = retrain(args.name, args.new_name, progress)
        refs.append(ref)
        return path

    path = run_as_job(work, args.job_dir)
    if path is None:
        return 130
    ref = refs[0]
    m = get_artifact(path.name).metrics or {}
    print(json.dumps({"artifact": path.name, "dataset": ref, "accuracy": m.get("accuracy"),
                      "f1_macro": m.get("f1_macro")}, indent=2))
    return 0


# ---------------------------------------------------------------- `python -m core data corrections`
def setup_corrections(sub) -> None:
    """The `corrections` action of `python -m core data` (core/data_cli.py adds it to its subparsers)."""
    p = sub.add_parser("corrections", help="show, export or import a dataset's corrections (CSV)")
    p.add_argument("name", help="dataset: a built-in name, upload:NAME or upload:NAME@vK")
    group = p.add_mutually_exclusive_group()
    group.add_argument("--export", metavar="FILE", help="write the corrections to this CSV")
    group.add_argument("--import", dest="import_", metavar="FILE",
                       help="merge this CSV's corrections in (refused as a whole when anything is wrong)")
    p.add_argument("--who", default="", help="who imports (rows without a 'who' cell; default: the login name)")


def corrections_action(args: argparse.Namespace) -> int:
    from ..data import load_dataset
    from .corrections import load_overlay
    from .transfer import export_csv, import_csv, overlay_frame

    ds = load_dataset(args.name)
    if args.export:
        data = export_csv(ds)
        Path(args.export).write_bytes(data)
        print(f"wrote {len(load_overlay(ds).entries):,} corrections of {load_overlay(ds).dataset} to {args.export}")
        return 0
    if args.import_:
        overlay = import_csv(ds, Path(args.import_).read_bytes(), who=args.who)
        print(f"imported: {overlay.dataset} corrections v{overlay.version} ({len(overlay.entries):,} in all)")
        return 0
    overlay = load_overlay(ds)
    frame = overlay_frame(ds, overlay).drop(columns=["dataset", "fingerprint"])
    print(f"{overlay.dataset} (fingerprint {overlay.fingerprint}): corrections v{overlay.version}, "
          f"{len(frame):,} rows")
    print(_table(frame.assign(text=frame["text"].str.slice(0, 50)).to_dict("records")))
    return 0
