"""Close the loop: the dataset plus its labelled pool rows becomes a new dataset version, and a model is
retrained on it with the same settings.

An uploaded dataset gets its next version (upload:NAME@vK+1; older versions stay loadable). A built-in or file
dataset is saved as a new upload "<name>-labelled" (never replacing one), and its pool moves along so the next
round ranks from the same pool. Pool rows added to a dataset are marked "used" only after the dataset is saved.
"""
from __future__ import annotations

import re
from dataclasses import replace

import numpy as np

from ..data import Split, TextDataset
from ..errors import DataError, ParamError
from .labels import labelled_rows
from .store import LABEL_SEP, load_pool, pool_key, save_pool


def grown_dataset(dataset: str) -> tuple[TextDataset, list[int]]:
    """(`dataset` with its labelled pool rows appended to the training split, the pool ids added).
    DataError when the pool has no labelled row."""
    from ..data import load_dataset

    ds = load_dataset(dataset)
    rows = labelled_rows(dataset)
    if not rows:
        raise DataError(f"the pool of {dataset} has no labelled row to add; import labels first")
    index = {label: j for j, label in enumerate(ds.labels)}
    missing = sorted({x for r in rows for x in str(r["label"]).split(LABEL_SEP) if x not in index})
    if missing:
        raise DataError(f"pool labels unknown to {dataset}: {', '.join(missing[:10])}")
    texts = [str(r["text"]) for r in rows]
    if ds.multilabel:
        y = np.zeros((len(rows), ds.n_labels), dtype=ds.train.y.dtype)
        for n, r in enumerate(rows):
            y[n, [index[x] for x in str(r["label"]).split(LABEL_SEP)]] = 1
        train_y = np.vstack([ds.train.y, y])
    else:
        train_y = np.concatenate([ds.train.y, np.array([index[r["label"]] for r in rows], dtype=ds.train.y.dtype)])
    meta = {**ds.meta, "pool_rows_added": ds.meta.get("pool_rows_added", 0) + len(rows)}
    grown = replace(ds, train=Split(list(ds.train.texts) + texts, train_y), meta=meta)
    return grown, [int(r["id"]) for r in rows]


def save_grown(dataset: str) -> str:
    """Save `dataset` + its labelled pool rows as a new dataset version; returns its name ("upload:...")."""
    from ..data import save_upload
    from ..data.uploads import UPLOAD_PREFIX, free_name, split_version

    grown, ids = grown_dataset(dataset)
    if dataset.startswith(UPLOAD_PREFIX):
        base, _ = split_version(dataset[len(UPLOAD_PREFIX):])
        ref = save_upload(grown, base, new_version=True)
        target_pool = dataset
    else:
        stem = re.sub(r"[^A-Za-z0-9._-]+", "-", dataset.split("/")[-1]).strip("-.") or "dataset"
        ref = save_upload(grown, free_name(f"{stem}-labelled"[:64]))
        target_pool = ref
    pool = load_pool(dataset)
    pool.loc[pool["id"].astype(int).isin(ids), "status"] = "used"
    save_pool(target_pool, pool)
    if pool_key(target_pool) != pool_key(dataset):
        from .store import clear_pool

        clear_pool(dataset)  # the pool moved with the data: one place to rank from next round
    return ref


def retrain_settings(model_name: str) -> tuple[str, dict, int | None]:
    """(family kind, its recorded settings, max_train) of a trained model: what a retrain repeats."""
    from ..artifacts import get_artifact
    from ..models import FAMILIES, family

    info = get_artifact(model_name)
    if info.kind not in FAMILIES:
        raise ParamError(f"{model_name} is a {info.kind} model; retrain the model it was built from "
                         f"({info.parent or 'its parent'}) and compress that again")
    config = dict(info.manifest.get("config") or {})
    max_train = config.pop("max_train", None)
    known = {p.name for p in family(info.kind).PARAMS}
    return info.kind, {k: v for k, v in config.items() if k in known}, max_train


def retrain(model_name: str, dataset: str, name: str | None = None, progress=None):
    """Train a model of `model_name`'s family with its recorded settings on `dataset` -> artifact folder."""
    from .. import train

    kind, params, max_train = retrain_settings(model_name)
    return train.run(dataset, kind, params, name=name, progress=progress, max_train=max_train)
