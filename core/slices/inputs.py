"""What slices are computed on: a model's stored predictions for a set of rows (`EvalSet`), and the automatic tags
of those rows, cached on disk.

The rows are the model's own test split (artifacts/<model>/predictions.npz) or, with `dataset`, an evaluation
record of that dataset (core.evaluations): an existing record is reused, a missing one is created once, so no
prediction is ever recomputed needlessly. Tags are cached under cache_dir()/slices/ keyed by the model's stamp,
the evaluation record's stamp and the rows' fingerprint.
"""
from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .. import artifacts, config, evaluations
from ..atomic import atomic_write
from ..errors import DataError, LabError
from ..predictions import Predictions
from ..progress import ProgressCallback, null_progress
from ..scoresets import fingerprint_of_test, scored_fingerprint
from .tags import TAGS, TagContext, tag_masks

#: Bump when a tag's meaning changes: cached masks of older versions are then ignored.
TAGS_VERSION = 1


@dataclass
class EvalSet:
    """Rows a model was scored on. dataset: the rows' dataset (saved slices and metadata columns are looked up
    under it); evaluation: the evaluation record's id (None = the model's own test split); stamp: identity of
    the stored predictions for cache keys."""

    model: str
    info: artifacts.ArtifactInfo
    preds: Predictions
    dataset: str
    evaluation: str | None
    fingerprint: str
    stamp: str

    @property
    def label(self) -> str:
        return f"{self.dataset}" + (f" (evaluation {self.evaluation})" if self.evaluation else " (test split)")


def _find_record(model: str, dataset: str) -> evaluations.EvaluationInfo | None:
    """The model's evaluation record with id `dataset`, else its newest record of `dataset`'s test split."""
    records = evaluations.list_evaluations(model)
    by_id = next((e for e in records if e.id == dataset), None)
    return by_id or next((e for e in records if e.record.get("split") == "test"
                          and dataset in (e.record.get("source"), e.record.get("set"))), None)


def eval_set(model: str, dataset: str | None = None, progress: ProgressCallback = null_progress,
             create: bool = True) -> EvalSet:
    """The rows of `model` to slice: its test split, or (dataset given and not the model's own) the test split of
    `dataset` through an evaluation record (scored once if there is none); `dataset` may also be the id of one
    of the model's evaluation records (the page's "Evaluated on" switch); create=False: DataError instead of
    scoring a dataset the model has no record of. ArtifactError for a broken model,
    DataError for a dataset whose labels the model does not know."""
    info = artifacts.get_artifact(model)
    stamp = artifacts.stamp(model)
    if dataset is None or dataset == info.dataset:
        preds = artifacts.load_predictions(model)
        fp = scored_fingerprint(info) or fingerprint_of_test(preds.texts, preds.y_true, preds.labels)
        return EvalSet(model, info, preds, info.dataset, None, fp, stamp)
    record = _find_record(model, dataset)
    if record is None and not create:
        raise DataError(f"{model} has no evaluation record of {dataset!r}")
    if record is None:
        from ..data import resolve_dataset

        record = evaluations.evaluate_model(model, resolve_dataset(dataset), source=dataset, progress=progress)
    preds = evaluations.load_evaluation_predictions(model, record.id)
    return EvalSet(model, info, preds, str(record.record.get("source") or dataset), record.id,
                   str(record.record.get("fingerprint")),
                   f"{stamp}|{evaluations.evaluation_stamp(model, record.id)}")


def training_rows(es: EvalSet) -> tuple[list[str], np.ndarray] | None:
    """(texts, labels in the model's label order) of the training split of the model's dataset; None when the
    dataset cannot be loaded (gone, changed labels): the duplicate tags are then skipped."""
    from ..data import load_dataset

    try:
        ds = load_dataset(es.info.dataset)
        y = evaluations.align_labels(ds.train.y, ds.labels, ds.multilabel, es.preds.labels, es.preds.multilabel)
    except (LabError, OSError):
        return None
    return list(ds.train.texts), y


def cache_path(es: EvalSet, what: str, *parts: object) -> Path:
    key = hashlib.sha256("|".join(map(str, (es.stamp, es.fingerprint, what, *parts))).encode()).hexdigest()[:16]
    safe = re.sub(r"[^A-Za-z0-9_.-]+", "_", es.model)[:80]
    return config.cache_dir() / "slices" / f"{safe}-{what}-{key}"


def cached_tags(es: EvalSet, progress: ProgressCallback = null_progress) -> dict[str, np.ndarray]:
    """{tag name: (n,) bool mask} of the rows (core.slices.tags), computed once per model + rows."""
    path = cache_path(es, "tags", TAGS_VERSION, [t.name for t in TAGS]).with_suffix(".npz")
    try:
        with np.load(path, allow_pickle=False) as z:
            return {str(n): m.astype(bool) for n, m in zip(z["names"], z["masks"])}
    except (OSError, ValueError, KeyError):
        pass
    progress(0, 2, "Tagging texts: loading the training split for duplicates…")
    train = training_rows(es)
    progress(1, 2, "Tagging texts: computing the tags")
    ctx = TagContext(es.preds, *(train or (None, None)))
    masks = tag_masks(ctx)
    names = list(masks)
    matrix = np.stack([masks[n] for n in names]) if names else np.zeros((0, len(es.preds.texts)), bool)
    atomic_write(path, lambda tmp: np.savez_compressed(tmp, names=np.array(names, dtype=np.str_), masks=matrix))
    progress(2, 2, "Tagging texts: done")
    return masks
