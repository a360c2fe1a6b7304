"""What compression changed, for any variant against its parent (or any other model on the same test set).

    compression_changes(variant, parent=None, sample=256, cka=True, progress) -> plain dict (JSON-ready):
        variant, parent, method         names and the variant's compression method ("" for a plain model)
        summary                         n, flipped, flip_rate, fixed, broken, accuracy_parent, accuracy_variant
        by_class                        [{class, rows, flipped, flip_rate, fixed, broken}] (the parent's classes)
        confusion                       {"labels", "matrix"}: parent prediction (rows) × variant prediction
                                        (columns), single-label only (None for multi-label)
        by_slice                        {"source", "rows": [{group, slice, rows, flipped, flip_rate, ...}]}
        calibration                     {"parent": {ece, bins}, "variant": {ece, bins}, "ece_shift"}
        cka                             {"available", "reason", "matrix" (teacher layers × variant layers),
                                        "teacher_layers", "variant_layers", "matched": [{variant_layer,
                                        teacher_layer, cka}], "sample"}
Flips and calibration read the stored test predictions (nothing re-run); CKA runs both encoders on a seeded
sample of `sample` test texts. The Compression page and the lab report show this dict; `python -m core
compress-diff VARIANT [--parent P] [--json]` prints it.
"""
from __future__ import annotations

from typing import Any

import numpy as np

from ..errors import ParamError
from ..predictions import Predictions
from ..progress import ProgressCallback, null_progress
from . import cka as _cka
from . import flips


def calibration(p: Predictions, n_bins: int = 10) -> dict[str, Any]:
    """{ece, bins} of stored predictions (the same binning as core.evaluate)."""
    from ..evaluate import calibration_bins, ece_from_bins

    if p.multilabel:
        bins = calibration_bins(p.proba.ravel(), np.asarray(p.y_true).ravel(), n_bins)
    else:
        bins = calibration_bins(p.confidence, p.y_pred == p.y_true, n_bins)
    return {"ece": ece_from_bins(bins), "bins": bins}


def _kept_layers(info: Any) -> list[int] | None:
    """The teacher layers a shallow student / layer-pruned variant kept (from its train_info), if recorded."""
    ti = (info.metrics or {}).get("train_info") or {}
    kept = ti.get("kept_layers") or ti.get("layers")
    return [int(k) for k in kept] if isinstance(kept, list) and all(str(k).isdigit() for k in kept) else None


def cka_section(parent_model: Any, variant_model: Any, texts: list[str], kept: list[int] | None,
                progress: ProgressCallback = null_progress) -> dict[str, Any]:
    """CKA of mean-pooled hidden states, every teacher layer × every variant layer, plus the matched pairs."""
    missing = [n for n, m in (("parent", parent_model), ("variant", variant_model)) if not _cka.has_states(m)]
    if missing:
        return {"available": False, "reason": f"not available: the {' and the '.join(missing)} exposes no hidden "
                "states (only torch encoders do)"}
    progress(0, 2, "compress-diff: parent hidden states")
    a = _cka.layer_states(parent_model, texts)
    progress(1, 2, "compress-diff: variant hidden states")
    b = _cka.layer_states(variant_model, texts)
    progress(2, 2, "compress-diff: CKA")
    m = _cka.cka_matrix(a, b)
    match = _cka.matched_layers(len(a), len(b), kept)
    return {"available": True, "reason": "", "sample": len(texts), "matrix": np.round(m, 4).tolist(),
            "teacher_layers": len(a), "variant_layers": len(b),
            "matched": [{"variant_layer": j, "teacher_layer": t, "cka": round(float(m[t, j]), 4)}
                        for j, t in enumerate(match)]}


def compression_changes(variant: str, parent: str | None = None, sample: int = 256, cka: bool = True,
                        progress: ProgressCallback | None = None) -> dict[str, Any]:
    """What changed from `parent` (default: the variant's recorded parent) to `variant` (see module docstring)."""
    from ..artifacts import get_artifact, load_model, load_predictions

    progress = progress or null_progress
    info = get_artifact(variant)
    parent = parent or info.parent
    if not parent:
        raise ParamError(f"{variant!r} has no recorded parent; name one with --parent")
    pa, pv = load_predictions(parent), load_predictions(variant)
    flips.check_pair(pa, pv)
    cal_a, cal_b = calibration(pa), calibration(pv)
    out: dict[str, Any] = {
        "variant": variant, "parent": parent, "method": (info.manifest.get("compression") or {}).get("method", ""),
        "summary": flips.summary(pa, pv), "by_class": flips.by_class(pa, pv),
        "confusion": None if pa.multilabel else {"labels": list(pa.labels), "matrix": flips.confusion(pa, pv)},
        "by_slice": flips.by_slice(pa, pv, parent_name=parent),
        "calibration": {"parent": cal_a, "variant": cal_b, "ece_shift": cal_b["ece"] - cal_a["ece"]},
        "cka": {"available": False, "reason": "not computed (cka=False)"},
    }
    if cka:
        rng = np.random.default_rng(0)
        idx = np.sort(rng.choice(len(pa.texts), min(len(pa.texts), int(sample)), replace=False))
        texts = [pa.texts[i] for i in idx]
        out["cka"] = cka_section(load_model(parent), load_model(variant), texts, _kept_layers(info), progress)
    return out
