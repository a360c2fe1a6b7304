"""Subcommands `card` (print / write a model's card) and `report` (write its HTML lab report).

    python -m core card MODEL                       # print the README.md the lab would write
    python -m core card MODEL --write [--license mit] [--force]
    python -m core report MODEL --out report.html [--errors 10 --explained 3]
"""
from __future__ import annotations

import argparse
from pathlib import Path

from ..cli import command
from ..errors import ParamError


def _setup_card(p: argparse.ArgumentParser) -> None:
    p.add_argument("model", help="a saved model's name")
    p.add_argument("--write", action="store_true", help="(re)write README.md in the model's folder")
    p.add_argument("--license", default=None, help="license id for the metadata (default: kept, or 'other')")
    p.add_argument("--force", action="store_true", help="replace a README.md that was edited by hand")


@command("card", "print or write a model's card (Hugging Face style README.md from the lab's records)")(_setup_card)
def _card(args: argparse.Namespace) -> int:
    from .card import model_card, write_card

    if args.write:
        print(f"wrote {write_card(args.model, license=args.license, force=args.force)}")
    else:
        print(model_card(args.model, license=args.license), end="")
    return 0


def _setup_report(p: argparse.ArgumentParser) -> None:
    p.add_argument("model", help="a saved model's name")
    p.add_argument("--out", required=True, help="HTML file to write (refused if it exists, unless --overwrite)")
    p.add_argument("--errors", type=int, default=10, help="most confident errors listed")
    p.add_argument("--explained", type=int, default=3, help="of those, how many are explained")
    p.add_argument("--overwrite", action="store_true", help="replace an existing --out file")


@command("report", "write a self-contained HTML lab report of a model")(_setup_report)
def _report(args: argparse.Namespace) -> int:
    from tqdm.auto import tqdm

    from .report import lab_report_html

    out = Path(args.out)
    if out.exists() and not args.overwrite:
        raise ParamError(f"{out} exists; pass --overwrite to replace it")
    if args.errors < 0 or args.explained < 0:
        raise ParamError("--errors and --explained must be ≥ 0")
    bar = tqdm(total=100, desc="report", unit="%")

    def progress(share: float, msg: str) -> None:
        bar.n = int(100 * share)
        bar.set_postfix_str(msg)
        bar.refresh()

    html = lab_report_html(args.model, n_errors=args.errors, n_explained=args.explained, progress=progress)
    bar.close()
    out.write_text(html, encoding="utf-8")
    print(f"wrote {out} ({len(html) / 1e6:.1f} MB)")
    return 0
