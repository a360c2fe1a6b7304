"""Small grids of one-change-at-a-time variants (rnn -> gru -> bi-lstm, max vs mean vs concat, ...) from one
config, producing a results table and the histories for overlaid training curves.

Config file (YAML or JSON) for `python -m core experiment FILE`:

    dataset: ag_news            # registry name, upload:<name> or a file path (+ text_cols, label_cols, test_file)
    max_train: null             # optional seeded sample of the training split
    prefix: agnews-rnn          # artifact names: <prefix>-<variant> (default: <dataset>-<kind>)
    base:
      kind: rnn
      params: {epochs: 3, cell: rnn, bidirectional: false}
    variants:                   # each = base + these overrides (NOT cumulative); "name" / "kind" are reserved
      - {name: rnn}
      - {name: gru, cell: gru}
      - {name: bi-lstm, cell: lstm, bidirectional: true}
      - {name: transformer, kind: scratch_transformer, params: {epochs: 3}}   # "params" nests overrides too

Every variant is trained, evaluated and saved by `core.train.run`, so each is a normal artifact the dashboard
can open; the table's `artifact` column names them.
"""
from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from .errors import ParamError
from .progress import ProgressCallback, null_progress

RESERVED = ("name", "kind", "params")
COLUMNS = ["variant", "kind", "accuracy", "f1_macro", "f1_micro", "seconds_per_epoch", "epochs_run",
           "train_seconds", "stopped_early", "n_parameters", "artifact", "changes"]


def variant_label(variant: dict[str, Any]) -> str:
    """The variant's `name`, else its overrides as 'k=v, ...', else 'base'."""
    if variant.get("name"):
        return str(variant["name"])
    changes = variant_params(variant)
    if variant.get("kind"):
        changes = {"kind": variant["kind"], **changes}
    return ", ".join(f"{k}={v}" for k, v in changes.items()) or "base"


def variant_params(variant: dict[str, Any]) -> dict[str, Any]:
    """Overrides of one variant: top-level keys (except name/kind/params) plus the nested `params` dict."""
    out = {k: v for k, v in variant.items() if k not in RESERVED}
    out.update(variant.get("params") or {})
    return out


def _slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.\-]+", "-", text).strip("-.").lower()[:60] or "variant"


def _history(metrics: dict[str, Any]) -> dict[str, Any]:
    return ((metrics or {}).get("train_info") or {}).get("history") or {}


def result_row(label: str, kind: str, artifact: str, metrics: dict[str, Any], changes: dict[str, Any]) -> dict:
    """One table row from an artifact's metrics.json."""
    h = _history(metrics)
    secs = h.get("epoch_seconds") or []
    return {
        "variant": label, "kind": kind,
        "accuracy": metrics.get("accuracy"), "f1_macro": metrics.get("f1_macro"), "f1_micro": metrics.get("f1_micro"),
        "seconds_per_epoch": sum(secs) / len(secs) if secs else None,
        "epochs_run": len(secs) or None,
        "train_seconds": metrics.get("train_seconds"), "stopped_early": h.get("stopped_early"),
        "n_parameters": metrics.get("n_parameters"), "artifact": artifact,
        "changes": json.dumps(changes, default=str),
    }


def run_grid(dataset: Any, base: dict[str, Any], variants: list[dict[str, Any]],
             progress: ProgressCallback | None = None, *, prefix: str | None = None,
             max_train: int | None = None):
    """Train base + each variant's overrides (one change at a time), save each as an artifact, and return a
    pandas DataFrame with COLUMNS (one row per variant, in order). Invalid settings of any variant are reported
    before anything trains. `dataset` is a name or a loaded TextDataset (loaded once for the whole grid)."""
    import pandas as pd

    from . import artifacts
    from .data import TextDataset, load_dataset
    from .models import family
    from .params import resolve
    from .train import run

    progress = progress or null_progress
    base_kind = base["kind"]
    base_params = dict(base.get("params") or {})
    plan = []
    for v in variants or [{}]:
        kind = v.get("kind", base_kind)
        params = {**base_params, **variant_params(v)} if kind == base_kind else variant_params(v)
        resolve(family(kind).PARAMS, params)  # fail fast on a typo in the 5th variant
        plan.append((variant_label(v), kind, params, variant_params(v)))
    labels = [p[0] for p in plan]
    if len(set(labels)) != len(labels):
        raise ParamError(f"variant names must be unique: {labels}")
    ds = dataset if isinstance(dataset, TextDataset) else load_dataset(dataset, max_train=max_train)
    prefix = prefix or f"{re.sub(r'[^A-Za-z0-9_.-]+', '-', ds.name).strip('-.')}-{base_kind}"
    rows = []
    for i, (label, kind, params, changes) in enumerate(plan):
        tag = f"[{i + 1}/{len(plan)} {label}] "

        def cb(done: float, total: float, message: str = "", extra: dict | None = None, _tag: str = tag) -> None:
            progress(done, total, _tag + message, extra)

        name = artifacts.unique_name(f"{prefix}-{_slug(label)}")
        path = run(ds, kind, params, name=name, progress=cb,
                   max_train=max_train if isinstance(dataset, TextDataset) else None)
        metrics = artifacts.get_artifact(path.name).metrics or {}
        rows.append(result_row(label, kind, path.name, metrics, changes))
    return pd.DataFrame(rows, columns=COLUMNS)


def histories(artifact_names: list[str], labels: list[str] | None = None) -> dict[str, dict]:
    """{label: training history} of saved artifacts (for plots.training_curves); artifacts without one are
    skipped."""
    from . import artifacts

    out = {}
    for i, name in enumerate(artifact_names):
        h = _history(artifacts.get_artifact(name).metrics or {})
        if h:
            out[labels[i] if labels else name] = h
    return out


def load_config(path: str | Path) -> dict[str, Any]:
    """Read and check an experiment file (.yaml / .yml / .json)."""
    path = Path(path)
    text = path.read_text()
    if path.suffix.lower() in (".yaml", ".yml"):
        import yaml

        config = yaml.safe_load(text)
    else:
        config = json.loads(text)
    if not isinstance(config, dict):
        raise ParamError(f"{path}: expected a mapping with dataset, base and variants")
    missing = [k for k in ("dataset", "base") if k not in config]
    if missing:
        raise ParamError(f"{path}: missing {missing}")
    if not isinstance(config["base"], dict) or "kind" not in config["base"]:
        raise ParamError(f"{path}: base needs a kind (e.g. rnn)")
    variants = config.get("variants") or [{}]
    if not isinstance(variants, list) or not all(isinstance(v, dict) for v in variants):
        raise ParamError(f"{path}: variants must be a list of mappings")
    config["variants"] = variants
    return config


def run_file(path: str | Path, progress: ProgressCallback | None = None):
    """Run the grid described by an experiment file; returns the results DataFrame."""
    from .data import looks_like_path, resolve_dataset

    c = load_config(path)
    dataset = c["dataset"]
    if looks_like_path(str(dataset)) or any(c.get(k) for k in ("text_cols", "label_cols", "test_file")):
        # A file (a path that does not exist as given is taken relative to the config file): read once, with optional text_cols / label_cols / test_file.
        def rel(p: str | None) -> str | None:
            return None if p is None or Path(p).exists() else str(Path(path).parent / p)

        dataset = resolve_dataset(rel(str(dataset)), c.get("text_cols"), c.get("label_cols"), rel(c.get("test_file")))
    return run_grid(dataset, c["base"], c["variants"], progress, prefix=c.get("prefix"),
                    max_train=c.get("max_train"))


# ---------------------------------------------------------------------------------------------------- CLI
def _register() -> None:
    import argparse

    from .cli import command

    def setup(p: argparse.ArgumentParser) -> None:
        p.add_argument("file", help="experiment config (.yaml / .json): dataset, base {kind, params}, variants")
        p.add_argument("--out", help="also write the results table to this .csv / .json file")
        p.add_argument("--plot", help="write overlaid training curves of the variants to this .html file")

    @command("experiment", "train a grid of one-change-at-a-time variants and print the results table")(setup)
    def _experiment(args: argparse.Namespace) -> int:
        from .progress import TqdmProgress

        bar = TqdmProgress()
        try:
            df = run_file(args.file, bar)
        finally:
            bar.close()
        print(df.drop(columns=["changes"]).to_string(index=False))
        if args.out:
            out = Path(args.out)
            if out.suffix == ".json":
                out.write_text(df.to_json(orient="records", indent=1))
            else:
                df.to_csv(out, index=False)
        if args.plot:
            from .plots import training_curves

            fig = training_curves(histories(list(df["artifact"]), list(df["variant"])))
            fig.write_html(args.plot, include_plotlyjs=True)  # offline machines: embed plotly.js
        return 0


try:  # registering needs core.cli; importing this module elsewhere must not fail without it
    _register()
except ImportError:  # pragma: no cover
    pass
