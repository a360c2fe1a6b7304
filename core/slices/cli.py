"""python -m core slices MODEL: metrics by slice with bootstrap intervals, a variant against its parent
(--against), slice discovery (--discover). The Slices page shows the same numbers (the same disk cache)."""
from __future__ import annotations

import argparse
import json
import sys

from ..cli import command

#: Columns printed for a slice table / a comparison / discovered clusters (all columns go to --out and --json).
TABLE_COLUMNS = ["slice", "source", "n", "accuracy", "accuracy_lo", "accuracy_hi", "f1_macro", "f1_micro",
                 "error_rate", "lift", "lift_lo", "lift_hi", "gap"]
AGAINST_COLUMNS = ["slice", "n", "{m}_parent", "{m}_variant", "delta_{m}", "delta_{m}_lo", "delta_{m}_hi", "hurt"]
CLUSTER_COLUMNS = ["cluster", "n_pool", "errors", "est_n", "error_rate", "lift", "p_adjusted", "significant",
                   "top_confusion", "words"]


def _setup(p: argparse.ArgumentParser) -> None:
    p.add_argument("model", metavar="MODEL", help="saved model name")
    p.add_argument("--dataset", metavar="NAME|PATH",
                   help="slice the test split of this dataset (default: the model's own test split); scored once "
                        "through an evaluation record when the model has none for it")
    p.add_argument("--against", metavar="MODEL", help="compare with this model (e.g. the parent of a compressed "
                   "variant): per-slice delta with a paired bootstrap interval")
    p.add_argument("--discover", action="store_true", help="cluster the errors and rank the clusters by lift")
    p.add_argument("--space", default="auto", choices=["auto", "embed", "tfidf"],
                   help="discovery space (auto: the model's embeddings when it has them, else TF-IDF)")
    p.add_argument("--pool", type=int, default=None, help="discovery in embedding space: rows embedded at most")
    p.add_argument("--bootstrap", type=int, default=1000, metavar="B", help="bootstrap resamples (default 1000)")
    p.add_argument("--min-n", type=int, default=20, help="smallest slice listed under 'largest gaps'")
    p.add_argument("--json", action="store_true", help="print JSON instead of tables")
    p.add_argument("--out", metavar="CSV", help="also write the table (every column) to this CSV file")


def _print(df, columns: list[str], title: str) -> None:
    cols = [c for c in columns if c in df.columns]
    print(title)
    print(df[cols].to_string(index=False, float_format=lambda v: f"{v:.3f}") if len(df) else "(none)")


@command("slices", "metrics by slice (tags, saved slices) with bootstrap intervals; --against a parent; "
                   "--discover error clusters")(_setup)
def _slices(args: argparse.Namespace) -> int:
    from ..progress import TqdmProgress
    from ..safety import csv_bytes
    from .discovery import POOL_CAP, discover
    from .table import against_table, largest_gaps, slice_table

    progress = TqdmProgress()
    b = args.bootstrap
    if args.discover:
        d = discover(args.model, args.dataset, space=args.space, pool=args.pool or POOL_CAP, progress=progress)
        progress.close()
        out = d.clusters
        if args.json:
            print(json.dumps({"space": d.space, "pooled": d.pooled, "notes": d.notes,
                              "clusters": out.to_dict("records")}, indent=1, default=str))
        else:
            _print(out, CLUSTER_COLUMNS, f"error clusters of {args.model} ({d.space} space)")
            for note in d.notes:
                print(f"note: {note}")
    elif args.against:
        out = against_table(args.model, args.against, args.dataset, b=b, progress=progress)
        progress.close()
        m = out.attrs["main"]
        if args.json:
            print(json.dumps({**out.attrs, "rows": out.to_dict("records")}, indent=1, default=str))
        else:
            _print(out.sort_values(f"delta_{m}", kind="stable"), [c.format(m=m) for c in AGAINST_COLUMNS],
                   f"{args.model} against {args.against}, per slice ({m}; worst change first)")
    else:
        out = slice_table(args.model, args.dataset, b=b, progress=progress)
        progress.close()
        if args.json:
            print(json.dumps({**out.attrs, "rows": out.to_dict("records"),
                              "largest_gaps": list(largest_gaps(out, args.min_n)["slice"])}, indent=1, default=str))
        else:
            a = out.attrs
            _print(out, TABLE_COLUMNS, f"slices of {args.model} on {a['dataset']}"
                   f"{' (evaluation ' + a['evaluation'] + ')' if a.get('evaluation') else ''}; "
                   f"{int(a['confidence'] * 100)}% bootstrap intervals ({a['b']} resamples)")
            gaps = largest_gaps(out, args.min_n, top=5)
            _print(gaps, ["slice", "n", a["main"], "gap", "significant"],
                   f"\nlargest gaps ({a['main']}, slices of at least {args.min_n} texts)")
        for note in out.attrs.get("notes", []):
            print(f"note: {note}", file=sys.stderr)
    if args.out:
        with open(args.out, "wb") as f:
            f.write(csv_bytes(out))
        print(f"wrote {args.out}", file=sys.stderr)
    return 0
