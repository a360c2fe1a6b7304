"""What the lab recorded about one model, gathered once for the card and the report.

Everything is read from the artifact folder (manifest.json, metrics.json, predictions.npz) and from the other
artifacts' manifests (lineage); nothing is re-run. `Facts.from_folder` also works on a folder being written
(save_artifact writes the first card before the folder is renamed into place).
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ..predictions import Predictions

#: Headline metrics of the card's model-index and summary table: (metrics.json key, model-index type, title).
HEADLINE = (("accuracy", "accuracy", "accuracy"), ("f1_macro", "f1", "macro F1"),
            ("f1_weighted", "f1", "weighted F1"), ("f1_micro", "f1", "micro F1"), ("ece", "ece", "ECE"))


@dataclass
class Facts:
    """manifest / metrics: the artifact's JSON records; path: its folder; name: the model's name."""
    name: str
    path: Path
    manifest: dict[str, Any]
    metrics: dict[str, Any]
    extras: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def from_folder(cls, path: Path, name: str | None = None) -> Facts:
        manifest = json.loads((path / "manifest.json").read_text(encoding="utf-8"))
        metrics = json.loads((path / "metrics.json").read_text(encoding="utf-8"))
        return cls(name or str(manifest.get("name") or path.name), path, manifest, metrics)

    @classmethod
    def of(cls, name: str) -> Facts:
        """Facts of the saved model `name` (ArtifactError when it is missing or broken)."""
        from ..artifacts import _require_ok

        info = _require_ok(name)
        return cls(name, info.path, dict(info.manifest), dict(info.metrics or {}))

    # ------------------------------------------------------------------ plain records
    @property
    def labels(self) -> list[str]:
        return [str(x) for x in self.manifest.get("labels", [])]

    @property
    def multilabel(self) -> bool:
        return bool(self.manifest.get("multilabel"))

    @property
    def dataset(self) -> str:
        return str(self.manifest.get("dataset", "?"))

    @property
    def kind(self) -> str:
        return str(self.manifest.get("kind", "?"))

    @property
    def language(self) -> str:
        return str(self.manifest.get("language") or "en")

    def headline(self) -> list[tuple[str, str, str, float]]:
        """(key, model-index type, title, value) of each headline metric the model has."""
        out = []
        for key, typ, title in HEADLINE:
            value = self.metrics.get(key)
            if isinstance(value, (int, float)) and np.isfinite(value):
                out.append((key, typ, title, float(value)))
        return out

    def per_class(self) -> pd.DataFrame:
        """One row per class / label: label, precision, recall, f1, support (as metrics.json has them)."""
        rows = self.metrics.get("per_class") or []
        cols = [c for c in ("label", "precision", "recall", "f1", "support") if not rows or c in rows[0]]
        return pd.DataFrame(rows, columns=cols) if rows else pd.DataFrame(columns=cols)

    def settings(self) -> dict[str, Any]:
        """The training (or compression) settings as recorded, scalars only (nested values as JSON)."""
        config = self.manifest.get("config") or {}
        return {str(k): (v if isinstance(v, (str, int, float, bool)) or v is None else json.dumps(v, default=str))
                for k, v in sorted(config.items())}

    # ------------------------------------------------------------------ derived records
    @cached_property
    def predictions(self) -> Predictions | None:
        """The test-set predictions saved with the model (None when the file is missing)."""
        path = self.path / "predictions.npz"
        return Predictions.load(path) if path.exists() else None

    @cached_property
    def family(self) -> pd.DataFrame:
        """The model's compression family: its root (the ancestor without a parent among the saved models) and
        every variant built from it; columns model, parent, method, kind, size_mb, latency_ms_p50, accuracy,
        f1_macro, this (bool: the row of this model). Empty when the model has no parent and no variants."""
        from ..artifacts import list_artifacts
        from ..lineage import descendants

        infos = [i for i in list_artifacts(include_broken=False)]
        by_name = {i.name: i for i in infos}
        root, seen = self.name, set()
        parent = self.manifest.get("parent")
        while parent and parent in by_name and parent not in seen:  # the chain may pass through several variants
            seen.add(parent)
            root, parent = parent, by_name[parent].parent
        members = [root] + descendants(root, infos)
        if len(members) == 1 and self.name == root:
            return pd.DataFrame()
        rows = []
        for m in members:
            if m == self.name:
                manifest, metrics = self.manifest, self.metrics
            elif m in by_name:
                manifest, metrics = by_name[m].manifest, by_name[m].metrics or {}
            else:
                continue
            rows.append({"model": m, "parent": manifest.get("parent") or "",
                         "method": (manifest.get("compression") or {}).get("method", ""),
                         "kind": manifest.get("kind", ""), "size_mb": metrics.get("size_mb"),
                         "latency_ms_p50": metrics.get("latency_ms_p50"), "accuracy": metrics.get("accuracy"),
                         "f1_macro": metrics.get("f1_macro"), "this": m == self.name})
        frame = pd.DataFrame(rows)
        base = frame.iloc[0]
        for col, ratio in (("size_mb", "smaller ×"), ("latency_ms_p50", "faster ×")):
            values = pd.to_numeric(frame[col], errors="coerce")
            frame[ratio] = (float(base[col]) / values).round(2) if base[col] else np.nan
        frame["Δ accuracy"] = pd.to_numeric(frame["accuracy"], errors="coerce") - float(base["accuracy"] or np.nan)
        return frame

    def top_errors(self, n: int = 10) -> pd.DataFrame:
        """The `n` most confident wrong test predictions: test row, text, true, predicted, confidence.
        Multi-label: rows whose predicted label set differs, most confident first."""
        preds = self.predictions
        if preds is None:
            return pd.DataFrame(columns=["test row", "text", "true", "predicted", "confidence"])
        y_pred, conf = preds.y_pred, preds.confidence
        labels = preds.labels
        if preds.multilabel:
            wrong = np.flatnonzero((y_pred != preds.y_true).any(axis=1))
            name = lambda row: ", ".join(labels[j] for j in np.flatnonzero(row)) or "(none)"  # noqa: E731
            true = [name(preds.y_true[i]) for i in wrong]
            pred = [name(y_pred[i]) for i in wrong]
        else:
            wrong = np.flatnonzero(y_pred != preds.y_true)
            true = [labels[int(preds.y_true[i])] for i in wrong]
            pred = [labels[int(y_pred[i])] for i in wrong]
        frame = pd.DataFrame({"test row": wrong, "text": [preds.texts[i] for i in wrong], "true": true,
                              "predicted": pred, "confidence": conf[wrong].round(4)})
        return frame.sort_values("confidence", ascending=False, kind="stable").head(n).reset_index(drop=True)
