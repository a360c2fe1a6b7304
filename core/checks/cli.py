"""`python -m core check MODEL [--suite FILE] [--dataset D] [--json] [--with-variants]`: behavioural tests.

Without --suite the dataset's saved suite is used (generated from MODEL's test predictions and saved on first use;
its path is printed, edit it there or in the browser). Prints the failure rate of every test with a few failing
examples and writes a record per model (<artifacts>/.checks/records/MODEL/<suite hash>.json) the pages read.

    python -m core check ag_news-minilm                       # the dataset's suite (default one on first use)
    python -m core check ag_news-minilm --with-variants       # side by side with its int8 / distilled variants
    python -m core check ag_news-tfidf --suite my_suite.yaml  # a suite file (not saved)
    python -m core check ag_news-tfidf --suite my_suite.yaml --save-suite [--replace]
    python -m core check ag_news-tfidf --show-suite > suite.yaml
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path


def _setup(p: argparse.ArgumentParser) -> None:
    p.add_argument("model", help="a saved model's name (python -m core list)")
    p.add_argument("--suite", metavar="FILE", help="a suite YAML file (default: the dataset's saved suite)")
    p.add_argument("--dataset", metavar="NAME", help="use this dataset's saved suite (default: the model's dataset)")
    p.add_argument("--with-variants", action="store_true",
                   help="also run the suite on the model's compressed variants and print failure rates side by side")
    p.add_argument("--examples", type=int, default=3, help="failing examples printed per test (default 3)")
    p.add_argument("--json", action="store_true", help="print the record(s) as JSON")
    p.add_argument("--show-suite", action="store_true", help="print the suite's YAML and exit (no run)")
    p.add_argument("--save-suite", action="store_true", help="save --suite FILE as the dataset's suite")
    p.add_argument("--replace", action="store_true",
                   help="with --save-suite: consent to replace a different saved suite")


def _progress(model: str):
    from tqdm.auto import tqdm

    bar = tqdm(desc=f"check {model}", unit="texts", file=sys.stderr)

    def update(done: int, total: int) -> None:
        bar.total = total
        bar.update(done - bar.n)
        if done >= total:
            bar.close()

    return update


def _register() -> None:
    from ..cli import command

    @command("check", "behavioural tests (INV / DIR / MFT) of a model: failure rates and failing examples")(_setup)
    def _check(args: argparse.Namespace) -> int:
        from ..artifacts import get_artifact
        from ..errors import ParamError
        from . import api, store, tables
        from .suite import parse_suite

        info = get_artifact(args.model)
        dataset = args.dataset or info.dataset
        labels = list(info.manifest.get("labels") or []) or None
        if args.suite:
            try:
                text = Path(args.suite).read_text(encoding="utf-8")
            except (OSError, UnicodeDecodeError) as e:
                raise ParamError(f"cannot read the suite file {args.suite}: {e}") from None
            suite = parse_suite(text, labels, source=args.suite)
            if args.save_suite:
                print(f"saved the suite to {store.save_suite(suite.dataset, text, args.replace, labels)}",
                      file=sys.stderr)
        elif args.save_suite:
            raise ParamError("--save-suite needs --suite FILE")
        else:
            text, created = api.suite_text_for(args.model, dataset)
            if created:
                print(f"generated the default suite of {dataset}: {store.suite_path(dataset)}", file=sys.stderr)
        if args.show_suite:
            sys.stdout.write(text)
            return 0
        models = [args.model] + (api.variants_of(args.model) if args.with_variants else [])
        records = api.check_with_variants(models, text, _progress)
        if args.json:
            print(json.dumps(records if args.with_variants else records[0], indent=2, ensure_ascii=False,
                             default=str))
            return 0
        for record in records:
            print("\n".join(tables.summary_lines(record, args.examples)))
        if args.with_variants:
            if len(records) == 1:
                print(f"\n{args.model} has no compressed variants")
            else:
                print("\nfailure rates side by side:")
                print("\n".join(tables.side_by_side_lines(tables.side_by_side(records))))
        return 0


_register()
