"""`python -m core thresholds MODEL [--set label=0.3 ...]`: the per-label thresholds of a multi-label model, the
validation F1 each gives, and edits written to the artifact (core.thresholds)."""
from __future__ import annotations

import argparse

from .cli import _table, command
from .errors import ParamError


def parse_edits(items: list[str]) -> dict[str, float]:
    """["joy=0.3", ...] -> {"joy": 0.3} (ParamError naming the bad item)."""
    out = {}
    for item in items:
        label, sep, value = item.rpartition("=")
        try:
            out[label] = float(value)
        except ValueError:
            sep = ""
        if not sep or not label:
            raise ParamError(f"--set expects LABEL=THRESHOLD, got {item!r}")
    return out


def _setup(p: argparse.ArgumentParser) -> None:
    p.add_argument("name", help="a multi-label model")
    p.add_argument("--set", action="append", default=[], metavar="LABEL=T",
                   help="set a label's threshold (repeatable); written to the artifact's thresholds.json")


@command("thresholds", "per-label thresholds of a multi-label model with their validation F1 (--set edits them)")(
    _setup)
def _thresholds(args: argparse.Namespace) -> int:
    from . import thresholds

    edits = parse_edits(args.set)
    record = thresholds.save_edits(args.name, edits) if edits else thresholds.for_model(args.name)
    print(_table(thresholds.rows(record)))
    tuned, base = thresholds.macro_f1(record), thresholds.macro_f1(record, "f1_at_default")
    if tuned is not None:
        print(f"validation macro F1: {tuned:.4f} with these thresholds, {base:.4f} at 0.5 ({record['source']})")
    if edits:
        print(f"saved {len(edits)} threshold(s) to {args.name}")
    return 0
