"""`python -m core compress --teacher NAME --method M [--set key=value ...] [--name OUT] [--job-dir DIR]`."""
from __future__ import annotations

import argparse
import json

from ..cli import _table, command
from ..errors import ParamError


def _setup(p: argparse.ArgumentParser) -> None:
    p.add_argument("--teacher", required=True, help="the saved model to compress (parent of the new variant)")
    p.add_argument("--method", required=True,
                   help="distill | static | int8 | int8-onnx | fp16 | bf16 | prune | prune-heads | ensemble")
    p.add_argument("--set", action="append", default=[], metavar="KEY=VALUE", help="method setting (repeatable)")
    p.add_argument("--name", help="artifact name (default: <teacher>-<method>)")
    p.add_argument("--job-dir", help=argparse.SUPPRESS)  # used by the Compression page's background jobs
    p.add_argument("--show-params", action="store_true", help="list the method's settings and exit")


@command("compress", "build a distilled / quantized / pruned / ensemble variant of a saved model")(_setup)
def _compress(args: argparse.Namespace) -> int:
    from ..params import parse_sets
    from ..progress import run_as_job
    from . import compress, methods

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
