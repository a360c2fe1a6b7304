"""`python -m core compress [--teacher] NAME --method M [--set key=value ...] [--name OUT] [--job-dir DIR]`,
`python -m core compress-diff VARIANT [--parent P] [--json]` (what compression changed, core.changes) and
`python -m core compress-pick MODEL [--max-ms X] [--max-mb Y]` (budget picker, core.compress.pick)."""
from __future__ import annotations

import argparse
import json

from ..cli import _table, command
from ..errors import ParamError


def _setup(p: argparse.ArgumentParser) -> None:
    p.add_argument("teacher_pos", nargs="?", metavar="TEACHER", help="the saved model to compress (or --teacher)")
    p.add_argument("--teacher", help="the saved model to compress (parent of the new variant)")
    p.add_argument("--method", required=True,
                   help="distill | static | int8 | int8-onnx | fp16 | bf16 | prune | prune-heads | prune-structured | "
                        "ensemble")
    p.add_argument("--set", action="append", default=[], metavar="KEY=VALUE", help="method setting (repeatable)")
    p.add_argument("--name", help="artifact name (default: <teacher>-<method>)")
    p.add_argument("--job-dir", help=argparse.SUPPRESS)  # used by the Compression page's background jobs
    p.add_argument("--show-params", action="store_true", help="list the method's settings and exit")


@command("compress", "build a distilled / quantized / pruned / ensemble variant of a saved model")(_setup)
def _compress(args: argparse.Namespace) -> int:
    from ..params import parse_sets
    from ..progress import run_as_job
    from . import compress, methods

    args.teacher = args.teacher or args.teacher_pos
    if not args.teacher:
        raise ParamError("name the model to compress: python -m core compress TEACHER --method M")
    table = methods()
    if args.method not in table:
        raise ParamError(f"unknown method {args.method!r}; known: {', '.join(table)}")
    if args.show_params:
        m = table[args.method]
        print(f"{m.title}: {m.description}")
        print(_table([{"name": p.name, "default": p.default, "choices": p.choices, "min": p.min, "max": p.max,
                       "help": p.help} for p in m.params]))
        if m.open_settings:
            print("other settings go to the student family (e.g. epochs, lr, batch_size, cell, hidden_dim)")
        return 0
    path = run_as_job(lambda progress: compress(args.teacher, args.method, parse_sets(args.set), name=args.name,
                                                progress=progress), args.job_dir)
    if path is None:
        return 130
    from ..artifacts import get_artifact

    info = get_artifact(path.name)
    m = info.metrics or {}
    keys = ("accuracy", "f1_macro", "ece", "size_mb", "parent_size_mb", "n_parameters", "latency_ms_p50",
            "train_seconds")
    print(json.dumps({"artifact": path.name, "parent": args.teacher,
                      "compression": (info.manifest.get("compression") or {}).get("description"),
                      **{k: m.get(k) for k in keys if k in m}}, indent=2))
    return 0


def _diff_setup(p: argparse.ArgumentParser) -> None:
    p.add_argument("variant", help="the compressed model (any saved model scored on its parent's test set)")
    p.add_argument("--parent", help="compare against this model instead of the recorded parent")
    p.add_argument("--sample", type=int, default=256, help="test texts run through both encoders for CKA")
    p.add_argument("--no-cka", action="store_true", help="skip the layer similarity (no model is loaded)")
    p.add_argument("--json", action="store_true", help="print the whole result as JSON")


@command("compress-diff", "what compression changed: flipped predictions by class / slice, calibration, CKA")(
    _diff_setup)
def _diff(args: argparse.Namespace) -> int:
    from ..changes import compression_changes
    from ..progress import TqdmProgress

    progress = TqdmProgress()
    out = compression_changes(args.variant, args.parent, args.sample, not args.no_cka, progress)
    progress.close()
    if args.json:
        print(json.dumps(out, indent=2))
        return 0
    s, cal, cka = out["summary"], out["calibration"], out["cka"]
    print(f"{out['variant']} vs {out['parent']}: {s['flipped']} of {s['n']} test predictions flipped "
          f"({s['flip_rate']:.2%}; {s['fixed']} fixed, {s['broken']} broken); accuracy "
          f"{s['accuracy_parent']:.4f} -> {s['accuracy_variant']:.4f}")
    print(f"ECE {cal['parent']['ece']:.4f} -> {cal['variant']['ece']:.4f} (shift {cal['ece_shift']:+.4f})")
    print(_table(out["by_class"]))
    print(f"slices ({out['by_slice']['source']}):")
    print(_table(out["by_slice"]["rows"][:15]))
    if cka["available"]:
        print(f"linear CKA of mean-pooled hidden states ({cka['sample']} test texts), matched layers:")
        print(_table(cka["matched"]))
    else:
        print(f"CKA: {cka['reason']}")
    return 0


def _pick_setup(p: argparse.ArgumentParser) -> None:
    p.add_argument("model", help="any model of the lineage family (parent or variant)")
    p.add_argument("--max-ms", type=float, help="latency budget: batch-1 p50 in milliseconds")
    p.add_argument("--max-mb", type=float, help="size budget in MB")
    p.add_argument("--metric", default="accuracy", choices=("accuracy", "f1_macro"), help="what 'best' means")
    p.add_argument("--json", action="store_true", help="print the whole result as JSON")


@command("compress-pick", "the most accurate variant of a model's family under a latency / size budget")(_pick_setup)
def _pick(args: argparse.Namespace) -> int:
    from .pick import pick_for

    out = pick_for(args.model, args.max_ms, args.max_mb, args.metric)
    if args.json:
        print(json.dumps(out, indent=2))
        return 0
    print(_table(out["rows"]))
    print(f"chosen: {out['chosen']}" if out["chosen"] else "no model of the family fits the budget")
    return 0 if out["chosen"] else 1
