"""Per-label decision thresholds of multi-label models: tuned on validation, stored in the artifact, editable.

A multi-label model predicts label j when P(label j) >= threshold[j]. Training (`core.train.finish`) tunes one
threshold per label on the validation split: the point of `GRID` (0.05 .. 0.95, step 0.01) that maximises that
label's F1; a label without positives in validation keeps `DEFAULT` (0.5) — no evidence to move it. The F1 of
every grid point is kept (the "curve"), so a page or the CLI can show the validation F1 an edited threshold gives
without re-running the model (edits snap to the grid).

Storage: `thresholds.json` at the artifact root
    {"default": 0.5, "grid": [..], "source": "validation" | "edited", "labels": {label: {"threshold", "val_f1",
     "f1_at_default", "support", "curve": [F1 per grid point] | null}}}
The model's own files also carry the thresholds (the families save `threshold` as a float or a per-label list),
so variants built from the model (int8, ONNX, ensembles) inherit them; `apply` makes the artifact file win at
load time, so "save thresholds" changes one small file and nothing else.
"""
from __future__ import annotations

import json
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from .atomic import atomic_write_text
from .errors import ParamError

FILE = "thresholds.json"
DEFAULT = 0.5
GRID = np.round(np.arange(0.05, 0.9501, 0.01), 2)


def as_json(threshold: float | Sequence[float] | np.ndarray) -> float | list[float]:
    """A model's threshold for its config file: a float, or a list of per-label floats."""
    arr = np.asarray(threshold, dtype=float)
    return float(arr) if arr.ndim == 0 else [round(float(t), 4) for t in arr]


def from_json(value: Any) -> float | np.ndarray:
    """Inverse of `as_json` (None -> DEFAULT)."""
    if value is None:
        return DEFAULT
    arr = np.asarray(value, dtype=float)
    return float(arr) if arr.ndim == 0 else arr


def per_label(threshold: float | Sequence[float] | np.ndarray, k: int) -> np.ndarray:
    """(k,) thresholds from a scalar or a per-label vector."""
    return np.broadcast_to(np.asarray(threshold, dtype=float), (k,)).astype(float)


def f1_curves(proba: np.ndarray, y: np.ndarray) -> np.ndarray:
    """(k, len(GRID)) F1 of each label at each grid threshold; proba (n, k) probabilities, y (n, k) 0/1."""
    proba, y = np.asarray(proba, dtype=np.float32), np.asarray(y).astype(bool)
    pred = proba[:, :, None] >= GRID[None, None, :].astype(np.float32)  # (n, k, g)
    tp = (pred & y[:, :, None]).sum(0)
    fp = (pred & ~y[:, :, None]).sum(0)
    fn = (~pred & y[:, :, None]).sum(0)
    denom = 2 * tp + fp + fn
    return np.where(denom > 0, 2 * tp / np.maximum(denom, 1), 0.0)


def _f1_at(curve: Sequence[float] | None, t: float) -> float | None:
    """F1 of the grid point nearest to threshold `t` (None without a curve)."""
    if curve is None:
        return None
    return float(curve[int(np.abs(GRID - t).argmin())])


def table(labels: Sequence[str], thresholds: np.ndarray, proba: np.ndarray | None = None,
          y: np.ndarray | None = None, source: str = "validation") -> dict[str, Any]:
    """The thresholds.json record for `thresholds` (k,), with validation curves when proba/y are given."""
    curves = f1_curves(proba, y) if proba is not None and y is not None and len(y) else None
    support = np.asarray(y).sum(0) if curves is not None else np.zeros(len(labels))
    rows = {}
    for j, label in enumerate(labels):
        curve = [round(float(v), 4) for v in curves[j]] if curves is not None else None
        rows[label] = {"threshold": round(float(thresholds[j]), 4), "val_f1": _f1_at(curve, float(thresholds[j])),
                       "f1_at_default": _f1_at(curve, DEFAULT), "support": int(support[j]), "curve": curve}
    return {"default": DEFAULT, "grid": [float(g) for g in GRID], "source": source, "labels": rows}


def tune(labels: Sequence[str], proba: np.ndarray, y: np.ndarray) -> dict[str, Any]:
    """Per-label thresholds maximising each label's validation F1 (ties -> the grid point nearest 0.5); labels
    without a positive validation row keep DEFAULT. Returns the thresholds.json record."""
    curves = f1_curves(proba, y)
    support = np.asarray(y).sum(0)
    closeness = -np.abs(GRID - DEFAULT) * 1e-6  # breaks ties towards the default
    best = GRID[(curves + closeness[None, :]).argmax(1)]
    thresholds = np.where(support > 0, best, DEFAULT)
    return table(labels, thresholds, proba, y)


def values(record: dict[str, Any], labels: Sequence[str]) -> np.ndarray:
    """(k,) thresholds of `record` in the order of `labels` (a label missing from it gets DEFAULT)."""
    rows = record.get("labels", {})
    return np.array([float(rows.get(lab, {}).get("threshold", DEFAULT)) for lab in labels])


def macro_f1(record: dict[str, Any], key: str = "val_f1") -> float | None:
    """Mean over labels of `key` (val_f1 with the stored thresholds, f1_at_default at 0.5); None without curves."""
    vals = [r[key] for r in record.get("labels", {}).values() if r.get(key) is not None]
    return float(np.mean(vals)) if vals else None


def with_edits(record: dict[str, Any], edits: dict[str, float]) -> dict[str, Any]:
    """A copy of `record` with thresholds `edits` {label: t in (0, 1)}; their validation F1 read off the curves."""
    rows = {k: dict(v) for k, v in record.get("labels", {}).items()}
    for label, t in edits.items():
        if label not in rows:
            raise ParamError(f"unknown label {label!r}; labels: {', '.join(rows)}")
        if not 0.0 < float(t) < 1.0:
            raise ParamError(f"threshold of {label!r} must be between 0 and 1, got {t}")
        rows[label]["threshold"] = round(float(t), 4)
        rows[label]["val_f1"] = _f1_at(rows[label].get("curve"), float(t))
    return {**record, "labels": rows, "source": "edited" if edits else record.get("source", "validation")}


def rows(record: dict[str, Any]) -> list[dict[str, Any]]:
    """Table rows label, threshold, validation F1, F1 at 0.5, validation positives (pages and the CLI)."""
    return [{"label": lab, "threshold": r["threshold"], "val_f1": r.get("val_f1"),
             "f1_at_0.5": r.get("f1_at_default"), "val_positives": r.get("support")}
            for lab, r in record.get("labels", {}).items()]


# ----------------------------------------------------------------------------------------------- artifact file
def read(path: Path) -> dict[str, Any] | None:
    """thresholds.json of the artifact folder `path` (None if it has none or it is unreadable)."""
    try:
        record = json.loads((Path(path) / FILE).read_text())
    except (OSError, ValueError):
        return None
    return record if isinstance(record, dict) and isinstance(record.get("labels"), dict) else None


def write(path: Path, record: dict[str, Any]) -> None:
    """Replace thresholds.json of artifact folder `path` atomically and touch manifest.json's mtime (cached models
    are keyed on it, core.artifacts.stamp); no other file changes."""
    path = Path(path)
    atomic_write_text(path / FILE, json.dumps(record, indent=1, ensure_ascii=False))
    manifest = path / "manifest.json"
    if manifest.exists():
        os.utime(manifest)


def apply(obj: Any, path: Path) -> Any:
    """Set `obj.threshold` (a model or Predictions of a multi-label artifact) from the artifact's thresholds.json."""
    record = read(path) if getattr(obj, "multilabel", False) else None
    if record is not None:
        obj.threshold = values(record, obj.labels)
    return obj


def record_of(path: Path, labels: Sequence[str], threshold: Any) -> dict[str, Any]:
    """The artifact's thresholds record, or one built from the model's own threshold (no validation curves)."""
    return read(path) or table(labels, per_label(threshold, len(labels)), source="model")


# ----------------------------------------------------------------------------------------------- by model name
def for_model(name: str) -> dict[str, Any]:
    """The thresholds record of multi-label artifact `name` (ParamError for a single-label model)."""
    from .artifacts import _require_ok, load_predictions

    info = _require_ok(name)
    if not info.manifest.get("multilabel"):
        raise ParamError(f"model {name!r} is single-label: it predicts the most probable class, no thresholds")
    return read(info.path) or record_of(info.path, info.manifest["labels"], load_predictions(name).threshold)


def save_edits(name: str, edits: dict[str, float]) -> dict[str, Any]:
    """Write thresholds `edits` {label: t} into artifact `name`'s thresholds.json (other labels, the model files,
    metrics and predictions stay as they are); returns the new record."""
    from .artifacts import artifact_dir

    record = with_edits(for_model(name), edits)
    write(artifact_dir(name), record)
    return record
