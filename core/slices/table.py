"""Metrics by slice: the slice table of a model, its largest gaps, and a compressed variant against its parent.

A slice table has one row per slice ("all" first, then the automatic tags, then the dataset's saved slices):
    slice, source (all | tag | saved), description, n, share (of the rows), accuracy / f1_macro (multi-label
    also f1_micro) each with _lo / _hi bootstrap bounds, error_rate (1 - accuracy), lift (error rate / the whole
    set's, with lift_lo / lift_hi), gap (the whole set's main metric - the slice's; > 0 = worse on the slice).
`df.attrs`: model, dataset, evaluation, main (the main metric), b, confidence, notes.
Tables are cached on disk (cache_dir()/slices) keyed by the model, the rows' fingerprint, the saved slices of
the dataset and the bootstrap settings; `python -m core slices` and the Slices page read the same cache.
"""
from __future__ import annotations

import json
from collections.abc import Callable

import numpy as np
import pandas as pd

from ..atomic import atomic_write_text
from ..errors import LabError, ParamError
from ..progress import ProgressCallback, null_progress
from . import bootstrap, store
from .inputs import EvalSet, cache_path, cached_tags, eval_set
from .tags import descriptions

TABLE_VERSION = 1
#: Slices smaller than this are kept in the table but left out of "largest gaps" (their intervals are wide).
MIN_N = 20


def main_metric(multilabel: bool) -> str:
    return "f1_micro" if multilabel else "accuracy"


def slice_masks(es: EvalSet, progress: ProgressCallback = null_progress) -> tuple[list[dict], list[str]]:
    """([{slice, source, description, mask}], notes): every tag and saved slice of the rows; a saved slice that
    cannot be applied (a column the rows do not have) is skipped with a note."""
    rows = [{"slice": "all", "source": "all", "description": "every evaluated text",
             "mask": np.ones(len(es.preds.texts), bool)}]
    about = descriptions()
    rows += [{"slice": name, "source": "tag", "description": about.get(name, ""), "mask": mask}
             for name, mask in cached_tags(es, progress).items()]
    notes, columns = [], None
    saved = store.list_slices(es.dataset)
    if any(s.kind == "column" for s in saved):
        from .columns import columns_for

        columns = columns_for(es.dataset, es.preds.texts)
    for s in saved:
        try:
            mask = store.slice_mask(s, es.preds.texts, columns)
        except LabError as e:
            notes.append(str(e))
            continue
        rows.append({"slice": s.name, "source": "saved", "description": s.description or s.summary(), "mask": mask})
    return rows, notes


def _path(es: EvalSet, what: str, parts: tuple):
    return cache_path(es, what, TABLE_VERSION, store.store_stamp(es.dataset), *parts).with_suffix(".json")


def _read(path) -> pd.DataFrame | None:
    try:
        raw = json.loads(path.read_text("utf-8"))
        df = pd.DataFrame(raw["rows"], columns=raw["columns"])
        df.attrs.update(raw["attrs"])
        return df
    except (OSError, ValueError, KeyError):
        return None


def _cached(es: EvalSet, what: str, parts: tuple, build: Callable[[], pd.DataFrame]) -> pd.DataFrame:
    path = _path(es, what, parts)
    df = _read(path)
    if df is not None:
        return df
    df = build()
    payload = {"columns": list(df.columns), "rows": df.to_dict("records"), "attrs": df.attrs}
    atomic_write_text(path, json.dumps(payload, default=str))
    return df


def compute_table(es: EvalSet, *, b: int = bootstrap.B_DEFAULT, seed: int = 0, confidence: float = 0.95,
                  progress: ProgressCallback = null_progress) -> pd.DataFrame:
    """The slice table of `es` (see the module doc), computed without the cache."""
    p = es.preds
    k, multilabel = len(p.labels), p.multilabel
    stats = bootstrap.row_stats(p)
    masks, notes = slice_masks(es, progress)
    main = main_metric(multilabel)
    out = []
    for i, m in enumerate(masks):
        progress(i, len(masks), f"Slice metrics: {m['slice']}")
        r, err = bootstrap.metrics_and_errors(stats[m["mask"]], k, multilabel, b=b, confidence=confidence,
                                              seed=bootstrap.seed_for(m["slice"], seed))
        out.append({"slice": m["slice"], "source": m["source"], "description": m["description"], **r,
                    "_err": err})
    progress(len(masks), len(masks), "Slice metrics: done")
    overall = out[0]
    base_error = 1 - overall["accuracy"]
    for r in out:
        err = r.pop("_err")
        r["share"] = r["n"] / max(overall["n"], 1)
        r["error_rate"] = 1 - r["accuracy"] if r["n"] else np.nan
        with np.errstate(invalid="ignore", divide="ignore"):
            r["lift"] = r["error_rate"] / base_error if base_error > 0 else np.nan
            lo, hi = bootstrap.interval(err / base_error, confidence) if base_error > 0 and len(err) else (np.nan,) * 2
        r["lift_lo"], r["lift_hi"] = lo, hi
        r["gap"] = overall[main] - r[main]
    df = pd.DataFrame(out)
    first = ["slice", "source", "description", "n", "share"]
    df = df[first + [c for c in df.columns if c not in first]]
    df.attrs.update(model=es.model, dataset=es.dataset, evaluation=es.evaluation, main=main, b=b,
                    confidence=confidence, notes=notes, multilabel=multilabel)
    return df


def slice_table(model: str, dataset: str | None = None, *, b: int = bootstrap.B_DEFAULT, seed: int = 0,
                confidence: float = 0.95, progress: ProgressCallback = null_progress) -> pd.DataFrame:
    """The slice table of `model` on its test split (or `dataset`'s, see inputs.eval_set), cached on disk."""
    es = eval_set(model, dataset, progress)
    return _cached(es, "table", (b, seed, confidence),
                   lambda: compute_table(es, b=b, seed=seed, confidence=confidence, progress=progress))


def recorded_table(model: str, dataset: str | None = None, *, b: int = bootstrap.B_DEFAULT, seed: int = 0,
                   confidence: float = 0.95) -> pd.DataFrame | None:
    """The slice table of `model` if it was computed before (by the page or `python -m core slices`) and is still
    current (same model version, rows and saved slices), else None. Never computes: for model cards and reports,
    which must stay fast. `largest_gaps(recorded_table(m))` lists the worst slices."""
    try:
        es = eval_set(model, dataset, create=False)
    except (LabError, OSError):
        return None
    return _read(_path(es, "table", (b, seed, confidence)))


def largest_gaps(table: pd.DataFrame, min_n: int = MIN_N, top: int | None = None) -> pd.DataFrame:
    """The slices (not "all") of at least `min_n` rows where the main metric falls furthest below the whole
    set's, worst first; `significant` = the slice's interval lies wholly below the whole set's value."""
    main = table.attrs.get("main", "accuracy")
    overall = float(table[main].iloc[0])
    rows = table[(table["source"] != "all") & (table["n"] >= min_n)].copy()
    rows["significant"] = rows[f"{main}_hi"] < overall
    rows = rows.sort_values(["gap", "n"], ascending=[False, False], kind="stable")
    rows.attrs.update(table.attrs)
    return rows.head(top) if top else rows


def compare_table(parent: EvalSet, variant: EvalSet, *, b: int = bootstrap.B_DEFAULT, seed: int = 0,
                  confidence: float = 0.95, progress: ProgressCallback = null_progress) -> pd.DataFrame:
    """Per slice: n, the main metrics of parent and variant, delta (variant - parent) with a paired bootstrap
    interval, and `hurt` (the interval lies wholly below 0). Slices are defined on the parent's predictions
    (its low-confidence and suspicion tags): "the texts the parent found hard"."""
    if parent.fingerprint != variant.fingerprint or parent.preds.texts != variant.preds.texts:
        raise ParamError(f"{variant.model} and {parent.model} were scored on different rows "
                         f"({variant.label} vs {parent.label}); compare them on the same test set")
    p, v = parent.preds, variant.preds
    k, multilabel = len(p.labels), p.multilabel
    sa, sb = bootstrap.row_stats(p), bootstrap.row_stats(v)
    masks, notes = slice_masks(parent, progress)
    main = main_metric(multilabel)
    out = []
    for i, m in enumerate(masks):
        progress(i, len(masks), f"Paired slice metrics: {m['slice']}")
        r = bootstrap.paired_delta(sa[m["mask"]], sb[m["mask"]], k, multilabel, b=b, confidence=confidence,
                                   seed=bootstrap.seed_for(m["slice"], seed))
        out.append({"slice": m["slice"], "source": m["source"], "description": m["description"], **r})
    df = pd.DataFrame(out)
    df["hurt"] = df[f"delta_{main}_hi"] < 0
    df.attrs.update(model=variant.model, parent=parent.model, dataset=parent.dataset, main=main, b=b,
                    confidence=confidence, notes=notes, multilabel=multilabel)
    return df


def against_table(model: str, parent: str, dataset: str | None = None, *, b: int = bootstrap.B_DEFAULT,
                  seed: int = 0, confidence: float = 0.95, progress: ProgressCallback = null_progress
                  ) -> pd.DataFrame:
    """compare_table of `model` against `parent` on the same rows, cached on disk (keyed by both models)."""
    ref = eval_set(parent, dataset, progress)
    var = eval_set(model, dataset if dataset is not None else ref.dataset, progress)
    return _cached(ref, "against", (var.stamp, var.fingerprint, b, seed, confidence),
                   lambda: compare_table(ref, var, b=b, seed=seed, confidence=confidence, progress=progress))
