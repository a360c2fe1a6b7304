"""Tables of artifacts: the model list (CLI `list`, Overview, Compare), training histories and run results.

Everything reads what `list_artifacts` already parsed (manifest.json, metrics.json): no model is loaded.
`ArtifactInfo.row()` / `.training_history()` delegate here, which keeps core/artifacts.py about storage.
"""
from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

import pandas as pd

if TYPE_CHECKING:
    from .artifacts import ArtifactInfo

#: Columns of `models_frame` (Overview's table of trained models).
MODEL_COLUMNS = ["name", "dataset", "kind", "accuracy", "f1_macro", "size_mb", "created"]


def summary_row(info: ArtifactInfo, metric_keys: Sequence[str]) -> dict[str, Any]:
    """name, dataset, kind, parent, compression (method or ""), one column per metric key (None when missing),
    created ("YYYY-MM-DD HH:MM:SS")."""
    m = info.metrics or {}
    row: dict[str, Any] = {"name": info.name, "dataset": info.dataset, "kind": info.kind, "parent": info.parent,
                           "compression": (info.manifest.get("compression") or {}).get("method", "")}
    row.update({k: m.get(k) for k in metric_keys})
    row["created"] = info.created.replace("T", " ")[:19]
    return row


def models_frame(infos: Sequence[ArtifactInfo], marks: Mapping[str, str] | None = None) -> pd.DataFrame:
    """One row per model (columns MODEL_COLUMNS: name, dataset, kind, accuracy, macro F1, size MB, created);
    with `marks` (core.scoresets.dataset_marks) a column "data" after "dataset": "dataset changed" / "dataset
    gone" / ""."""
    frame = pd.DataFrame([i.row() for i in infos], columns=MODEL_COLUMNS)
    if marks is not None:
        frame.insert(2, "data", [marks.get(i.name, "") for i in infos])
    return frame


def list_rows(infos: Sequence[ArtifactInfo], marks: Mapping[str, str] | None = None) -> list[dict[str, Any]]:
    """Rows of `python -m core list`: the model row without `created` / lineage, plus a status ("ok", the
    library-version warnings, "BROKEN: reason", and the dataset mark of `marks`: "dataset changed" / "dataset
    gone", see core.scoresets)."""
    rows = []
    for i in infos:
        row = {k: v for k, v in i.row().items() if k not in ("created", "parent", "compression")}
        notes = [(marks or {}).get(i.name, ""), *i.warnings]
        row["status"] = "BROKEN: " + i.broken if i.broken else ("; ".join(n for n in notes if n) or "ok")
        rows.append(row)
    return rows


def training_history(info: ArtifactInfo | None) -> dict[str, Any]:
    """metrics.json -> train_info -> history of a torch run ({} if none): train_loss [[step, loss]], evals
    [{step, accuracy, f1_macro, val_loss, ...}], grad_flow, best_step, epoch_seconds, stopped_early, ..."""
    return (((info.metrics if info else None) or {}).get("train_info") or {}).get("history") or {}


def run_results(infos: Sequence[ArtifactInfo]) -> pd.DataFrame:
    """core.experiments.result_row per artifact (variant = artifact name): accuracy, F1, seconds per epoch,
    epochs run, train time, early stop, parameters; `changes` = JSON of the settings that differ between them."""
    from .experiments import COLUMNS, result_row

    configs = [dict(i.manifest.get("config") or {}) for i in infos]
    keys = sorted({k for c in configs for k in c})
    differ = [k for k in keys if len({json.dumps(c.get(k), sort_keys=True, default=str) for c in configs}) > 1]
    rows = [result_row(i.name, i.kind, i.name, i.metrics or {}, {k: c.get(k) for k in differ})
            for i, c in zip(infos, configs)]
    return pd.DataFrame(rows, columns=COLUMNS)
