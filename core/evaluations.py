"""Evaluation records: a saved model scored on another labelled set, stored beside the model's own results.

    artifacts/<model>/evaluations/<id>/metrics.json     core.evaluate.evaluate(...) + "evaluation": the record
    artifacts/<model>/evaluations/<id>/predictions.npz  core.predictions.Predictions (same format as the model's)

The record (metrics.json -> "evaluation"): id, model, set (name shown to users), source (dataset name or file
path), split, fingerprint (core.scoresets.fingerprint_of_test of the rows scored, in the model's label order),
dataset_fingerprint (of the whole dataset), n, created, labels_in_set. The id is "<set slug>-<fingerprint[:8]>",
so the same rows give the same id (re-evaluating replaces that record atomically: the result is the same rows scored by the same model) and
different rows never replace each other. The model's own metrics.json / predictions.npz / manifest are never
touched (so its cache stamp does not change either).

Labels: the set's labels must be among the model's (a subset is fine; unknown ones are a DataError naming
them); y is re-indexed to the model's label order, so every analysis of stored predictions works unchanged.
"""
from __future__ import annotations

import datetime as _dt
import json
import os
import re
import shutil
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from . import artifacts
from .artifact_files import write_json
from .data import TextDataset
from .errors import ArtifactError, DataError
from .predictions import Predictions
from .progress import ProgressCallback, null_progress
from .scoresets import fingerprint_of_test

FOLDER = "evaluations"
#: Splits of a named dataset an evaluation may score ("all" = the three together).
SPLITS = ("test", "validation", "train", "all")
_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.\-]{0,119}$")


@dataclass
class EvaluationInfo:
    """One evaluation record: `id`, its folder, `record` (metrics.json -> evaluation) and the metrics."""

    id: str
    path: Path
    record: dict[str, Any]
    metrics: dict[str, Any]

    @property
    def title(self) -> str:
        """"<set> (<n> rows, <created>)" for pickers."""
        r = self.record
        return f"{r.get('set', self.id)} ({int(r.get('n', 0)):,} rows, {str(r.get('created', ''))[:10]})"

    def row(self) -> dict[str, Any]:
        """A table row: id, set, split, n, accuracy, f1_macro, ece, fingerprint, created."""
        m, r = self.metrics, self.record
        return {"id": self.id, "set": r.get("set"), "split": r.get("split"), "n": r.get("n"),
                "accuracy": m.get("accuracy"), "f1_macro": m.get("f1_macro"), "ece": m.get("ece"),
                "fingerprint": r.get("fingerprint"), "created": str(r.get("created", "")).replace("T", " ")[:19]}


def evaluations_dir(model: str) -> Path:
    return artifacts.artifact_dir(model) / FOLDER


def slug(name: str) -> str:
    """A folder-safe form of a set's name ("upload:trec" -> "upload-trec")."""
    return re.sub(r"[^A-Za-z0-9_.\-]+", "-", name).strip("-.")[:80] or "set"


def align_labels(y: np.ndarray, set_labels: Sequence[str], set_multilabel: bool, model_labels: Sequence[str],
                 model_multilabel: bool) -> np.ndarray:
    """y of the set re-indexed to the model's labels: (n,) indices for a multi-class model, (n, k) 0/1 for a
    multi-label one (a multi-class set becomes one-hot). DataError naming labels the model does not know, or
    when a multi-label set meets a multi-class model."""
    pos = {lab: i for i, lab in enumerate(model_labels)}
    y = np.asarray(y)
    used = sorted({set_labels[j] for j in (np.flatnonzero(y.any(axis=0)) if set_multilabel else np.unique(y))})
    unknown = [lab for lab in used if lab not in pos]
    if unknown:
        raise DataError(f"the set has labels the model does not know: {unknown}; the model's labels are "
                        f"{list(model_labels)}")
    if set_multilabel and not model_multilabel:
        raise DataError("the set is multi-label but the model is multi-class; evaluate a multi-label model on it")
    remap = np.array([pos.get(lab, -1) for lab in set_labels], dtype=np.int64)
    if not model_multilabel:
        return remap[y.astype(np.int64)]
    out = np.zeros((len(y), len(model_labels)), dtype=np.int64)
    if set_multilabel:
        for j in np.flatnonzero(y.any(axis=0)):
            out[:, remap[j]] = y[:, j]
    else:
        out[np.arange(len(y)), remap[y.astype(np.int64)]] = 1
    return out


def _rows_of(ds: TextDataset, split: str) -> tuple[list[str], np.ndarray]:
    if split not in SPLITS:
        raise DataError(f"split must be one of {SPLITS}, got {split!r}")
    parts = list(ds.splits().values()) if split == "all" else [ds.splits()[split]]
    texts = [t for p in parts for t in p.texts]
    ys = [np.asarray(p.y) for p in parts if len(p)]
    if not texts:
        raise DataError(f"the {split} split of {ds.name} is empty; nothing to evaluate")
    return texts, np.concatenate(ys)


def evaluate_model(model_name: str, ds: TextDataset, *, split: str = "test", set_name: str | None = None,
                   source: str | None = None, progress: ProgressCallback = null_progress) -> EvaluationInfo:
    """Score saved model `model_name` on `split` of `ds` and write an evaluation record (see the module doc);
    returns it. DataError for unknown labels or an empty split; ArtifactError for a missing / broken model."""
    from .evaluate import evaluate
    from .train import predict_in_chunks

    info = artifacts.get_artifact(model_name)
    if info.broken:
        raise ArtifactError(f"model {model_name!r} is broken: {info.broken}")
    model = artifacts.load_model(model_name)
    texts, y_set = _rows_of(ds, split)
    y = align_labels(y_set, ds.labels, ds.multilabel, model.labels, model.multilabel)
    proba = predict_in_chunks(model, texts, progress, message=f"evaluate: {split}")
    threshold = getattr(model, "threshold", 0.5)
    metrics = evaluate(y, proba, model.labels, multilabel=model.multilabel, threshold=threshold)
    # the hash of every scored test set (core.scoresets): the own test split of a model of this dataset gives
    # the same fingerprint as the model's manifest, so sets are told apart and matched the same way everywhere
    fingerprint = fingerprint_of_test(texts, y, model.labels)
    set_name = set_name or (ds.name if split == "test" else f"{ds.name} [{split}]")
    eval_id = f"{slug(set_name)}-{fingerprint[:8]}"
    used = sorted({ds.labels[j] for j in (np.flatnonzero(np.asarray(y_set).any(axis=0)) if ds.multilabel
                                          else np.unique(y_set))})
    metrics["evaluation"] = {
        "id": eval_id, "model": model_name, "set": set_name, "source": source or ds.name, "split": split,
        "fingerprint": fingerprint, "dataset_fingerprint": ds.fingerprint(), "n": len(texts),
        "labels_in_set": used, "created": _dt.datetime.now(_dt.UTC).isoformat(timespec="seconds")}
    preds = Predictions(proba=proba, y_true=y, texts=list(texts), labels=list(model.labels),
                        multilabel=bool(model.multilabel), threshold=threshold)
    progress(1, 1, "save: writing evaluation record")
    return _save(model_name, eval_id, metrics, preds)


def _save(model_name: str, eval_id: str, metrics: dict[str, Any], preds: Predictions) -> EvaluationInfo:
    """Write the record into a temporary folder, then rename it into place (a crash leaves no half record)."""
    root = evaluations_dir(model_name)
    root.mkdir(exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".tmp-{eval_id}-", dir=root))
    final = root / eval_id
    try:
        write_json(tmp / "metrics.json", metrics)
        preds.save(tmp / "predictions.npz")
        if final.exists():  # the same rows scored again by the same model: same record, replaced whole
            trash = root / f".trash-{eval_id}-{os.getpid()}"
            os.replace(final, trash)
            os.replace(tmp, final)
            shutil.rmtree(trash, ignore_errors=True)
        else:
            os.replace(tmp, final)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return _read(final)


def _read(path: Path) -> EvaluationInfo:
    metrics = json.loads((path / "metrics.json").read_text())
    return EvaluationInfo(path.name, path, dict(metrics.get("evaluation") or {}), metrics)


def list_evaluations(model_name: str) -> list[EvaluationInfo]:
    """The model's evaluation records, newest first (unreadable or half-written folders skipped)."""
    root = evaluations_dir(model_name)
    if not root.is_dir():
        return []
    out = []
    for path in root.iterdir():
        if path.name.startswith(".") or not (path / "predictions.npz").is_file():
            continue
        try:
            out.append(_read(path))
        except (OSError, ValueError):
            continue
    return sorted(out, key=lambda e: (str(e.record.get("created", "")), e.id), reverse=True)


def get_evaluation(model_name: str, eval_id: str) -> EvaluationInfo:
    if not _ID.match(eval_id or ""):
        raise ArtifactError(f"invalid evaluation id {eval_id!r}")
    path = evaluations_dir(model_name) / eval_id
    try:
        return _read(path)
    except (OSError, ValueError) as e:
        raise ArtifactError(f"model {model_name!r} has no readable evaluation {eval_id!r} ({e})") from e


def load_evaluation_predictions(model_name: str, eval_id: str) -> Predictions:
    """The stored Predictions of one evaluation record (same format as the model's test predictions)."""
    path = get_evaluation(model_name, eval_id).path / "predictions.npz"
    try:
        return Predictions.load(path)
    except Exception as e:
        raise ArtifactError(f"evaluation {eval_id!r} of {model_name!r}: predictions.npz unreadable ({e})") from e


def evaluation_stamp(model_name: str, eval_id: str) -> str:
    """Cache key part of one record: its folder and metrics.json mtime (a re-evaluation changes it)."""
    path = evaluations_dir(model_name) / eval_id / "metrics.json"
    try:
        return f"{path}@{path.stat().st_mtime_ns}"
    except OSError:
        return f"{path}@missing"


#: Column names taken as the label when no label column is given (case-insensitive), in order of preference.
def dataset_from_path(path: str | Path, text_columns: Sequence[str] | None = None,
                      label_columns: Sequence[str] | None = None, label_format: str = "auto",
                      delimiter: str = ",") -> TextDataset:
    """A labelled table file as a TextDataset whose TEST split holds every usable row (the file is read with
    core.data.read_table and checked by dataset_from_frame; train / validation are by-products, unused here).
    Columns default to core.data.guess_columns' guesses (the same as the CLI's --dataset PATH and the Dataset page).
    Named "<parent folder>/<file stem>" so two test.csv files of different folders stay apart."""
    from .data import dataset_from_frame, guess_columns, read_table

    path = Path(path)
    df = read_table(path)
    texts, labels = guess_columns(df, text_columns, label_columns)
    stem = re.sub(r"\.(gz)$", "", path.name)
    name = f"{path.resolve().parent.name}/{Path(stem).stem}"
    return dataset_from_frame(df, texts, labels, name=name, label_format=label_format, delimiter=delimiter,
                              test_frame=df)


SHIFT_KEYS = ("accuracy", "f1_macro", "ece")


def shift(own: dict[str, Any], other: dict[str, Any]) -> dict[str, dict[str, float | None]]:
    """{metric: {own, other, delta (other - own)}} for accuracy, macro F1 and ECE (None where missing)."""
    out = {}
    for key in SHIFT_KEYS:
        a, b = own.get(key), other.get(key)
        delta = float(b) - float(a) if isinstance(a, (int, float)) and isinstance(b, (int, float)) else None
        out[key] = {"own": a, "other": b, "delta": delta}
    return out
