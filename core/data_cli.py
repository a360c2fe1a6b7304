"""`python -m core data add|list|show|remove`: named user datasets in the store the browser uses
(core.data.uploads, user_data_dir()/<name>/). A CLI plugin (core.cli.PLUGINS).

    python -m core data add questions/train.csv --name questions --test-file questions/test.csv
    python -m core data add questions/train.csv --name questions --new-version   # keeps v1 loadable
    python -m core data list
    python -m core data show questions
    python -m core data remove questions --yes
"""
from __future__ import annotations

import argparse
import json
import sys

from .cli import _table, command
from .errors import DataError


def _setup(p: argparse.ArgumentParser) -> None:
    sub = p.add_subparsers(dest="action", required=True)
    add = sub.add_parser("add", help="register a file as a named dataset (refused when the name is taken)")
    add.add_argument("path", help="CSV / TSV / JSONL / Parquet file (optionally .gz)")
    add.add_argument("--name", required=True, help="dataset name: then use it as upload:NAME")
    add.add_argument("--text-col", action="append", default=[], metavar="COL",
                     help="text column (repeatable: joined with a space); default: guessed")
    add.add_argument("--label-col", action="append", default=[], metavar="COL",
                     help="label column (repeat for one 0/1 column per label); default: guessed")
    add.add_argument("--test-file", metavar="PATH", help="official test file with the same columns")
    add.add_argument("--label-format", default="auto", choices=("auto", "names", "delimited", "binary_columns"))
    add.add_argument("--test-size", type=float, default=0.2, help="test share carved when there is no test file")
    add.add_argument("--title", default="", help="title shown in dataset pickers (default: the name)")
    add.add_argument("--new-version", action="store_true",
                     help="the name is taken: add this as its next version (older versions stay loadable)")
    sub.add_parser("list", help="saved datasets with their versions")
    show = sub.add_parser("show", help="rows per split, labels, fingerprint, source files and versions")
    show.add_argument("name", help="NAME, upload:NAME or NAME@v1")
    show.add_argument("--json", action="store_true")
    rm = sub.add_parser("remove", help="delete a saved dataset with all its versions (needs --yes)")
    rm.add_argument("name")
    rm.add_argument("--yes", action="store_true", help="confirm deletion")
    from .relabel.cli import setup_corrections  # `data corrections NAME [--export F | --import F]` (core.relabel)

    setup_corrections(sub)


def _add(args: argparse.Namespace) -> int:
    from .data import read_file_dataset, save_upload, upload_versions
    from .data.uploads import check_upload_name

    name = check_upload_name(args.name)
    if upload_versions(name) and not args.new_version:
        # Checked before reading the file: a taken name is refused without any work and changes nothing.
        raise DataError(f"a dataset named {name!r} already exists (versions: "
                        f"{', '.join(f'v{v}' for v in upload_versions(name))}); pick another --name, or add "
                        f"--new-version to keep it and save this as its next version")
    ds = read_file_dataset(args.path, args.text_col or None, args.label_col or None, args.test_file,
                           name=f"upload:{name}", label_format=args.label_format, test_size=args.test_size)
    ref = save_upload(ds, name, title=args.title, new_version=args.new_version)
    versions = upload_versions(name)
    print(f"saved {ref} (v{versions[-1]}): train {len(ds.train):,}, validation {len(ds.validation):,}, "
          f"test {len(ds.test):,} ({ds.meta['test_split']}); {len(ds.labels)} labels; text {ds.meta['text_columns']}, "
          f"labels {ds.meta['label_columns']}; fingerprint {ds.fingerprint()}")
    for warning in ds.meta.get("warnings", []):
        print(f"warning: {warning}", file=sys.stderr)
    return 0


def _list(args: argparse.Namespace) -> int:
    from .data import list_uploads, upload_info, upload_versions

    rows = []
    for name in list_uploads():
        info = upload_info(name) or {}
        rows.append({"name": f"upload:{name}", "versions": ",".join(f"v{v}" for v in upload_versions(name)),
                     "labels": len(info.get("labels", [])), **(info.get("rows") or {}),
                     "fingerprint": info.get("fingerprint"), "created": info.get("created")})
    print(_table(rows))
    return 0


def _show(args: argparse.Namespace) -> int:
    from .data import split_version, upload_info, upload_versions

    base, version = split_version(args.name)
    info = upload_info(args.name)
    if info is None:
        raise DataError(f"no saved dataset {args.name!r}; see: python -m core data list")
    versions = [{"version": f"v{v}", "fingerprint": (upload_info(f"{base}@v{v}") or {}).get("fingerprint"),
                 "created": (upload_info(f"{base}@v{v}") or {}).get("created"),
                 "source_files": ", ".join((upload_info(f"{base}@v{v}") or {}).get("source_files", []))}
                for v in upload_versions(base)]
    if args.json:
        print(json.dumps({**info, "versions": versions}, indent=2, default=str))
        return 0
    meta = info.get("meta") or {}
    print(f"upload:{base} v{info.get('version', version or 1)}: {info.get('title')}")
    print("rows: " + ", ".join(f"{k} {v:,}" for k, v in (info.get("rows") or {}).items())
          + f"; test split: {meta.get('test_split')}; validation: {meta.get('validation_split')}")
    print(f"labels ({len(info['labels'])}{', multi-label' if info.get('multilabel') else ''}): "
          + ", ".join(map(str, info["labels"])))
    print(f"fingerprint: {info.get('fingerprint')}; language: {info.get('language')}; "
          f"exact-duplicate groups kept inside one split: {meta.get('duplicate_groups')}")
    print(f"columns: text {meta.get('text_columns')}, labels {meta.get('label_columns')} ({meta.get('label_format')})")
    print(f"source files: {', '.join(info.get('source_files') or []) or '(uploaded in the browser)'}")
    print("versions:")
    print(_table(versions))
    return 0


def _remove(args: argparse.Namespace) -> int:
    from .data import delete_upload, split_version

    base = split_version(args.name)[0]
    if not args.yes:
        print(f"refusing to delete dataset {base!r} (every version) without --yes", file=sys.stderr)
        return 2
    delete_upload(base)
    print(f"deleted upload:{base}")
    return 0


def _corrections(args: argparse.Namespace) -> int:
    from .relabel.cli import corrections_action

    return corrections_action(args)


ACTIONS = {"add": _add, "list": _list, "show": _show, "remove": _remove, "corrections": _corrections}


@command("data", "register, list, show and remove named user datasets (the store the browser uses)")(_setup)
def _data(args: argparse.Namespace) -> int:
    return ACTIONS[args.action](args)
