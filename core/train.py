"""Training orchestration: dataset + family + params -> evaluated, saved artifact.

`run()` is what the CLI (`python -m core train`), the Train page's background jobs, the model zoo
and experiment grids all call. The torch optimisation loop itself lives in `core/trainer.py`.
"""
from __future__ import annotations

import datetime as _dt
import json
import re
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from . import artifacts
from .base import TextClassifier
from .data import Split, TextDataset
from .dynamics.record import recording
from .memory import PeakMemory
from .models import family
from .params import resolve
from .progress import ProgressCallback, null_progress

#: Texts per predict_proba call when scoring the test split (bounded memory, visible progress).
EVAL_CHUNK = 512
#: train_info entries copied into the manifest: the pretrained start init_embeddings picked (language, source,
#: coverage) and a backbone's vocabulary coverage of the training texts (core.coverage); shown on Train
MANIFEST_INFO = ("embedding_init", "backbone_coverage")


def predict_in_chunks(
    model: TextClassifier, texts: Sequence[str], progress: ProgressCallback = null_progress,
    message: str = "evaluate: test split"
) -> np.ndarray:
    """(n, k) probabilities computed `EVAL_CHUNK` texts at a time, reporting progress with `message`."""
    out = []
    n = len(texts)
    for start in range(0, n, EVAL_CHUNK):
        out.append(np.asarray(model.predict_proba(list(texts[start : start + EVAL_CHUNK])), dtype=np.float32))
        progress(min(start + EVAL_CHUNK, n), n, message)
    k = len(model.labels)
    return np.concatenate(out) if out else np.zeros((0, k), np.float32)


def evaluate_on(
    model: TextClassifier,
    split: Split,
    labels: list[str],
    multilabel: bool,
    progress: ProgressCallback = null_progress,
) -> tuple[dict[str, Any], artifacts.Predictions]:
    """Metrics and Predictions of `model` on `split`."""
    from .evaluate import evaluate

    proba = predict_in_chunks(model, split.texts, progress)
    metrics = evaluate(split.y, proba, labels, multilabel=multilabel, threshold=getattr(model, "threshold", 0.5))
    preds = artifacts.Predictions(
        proba=proba, y_true=np.asarray(split.y), texts=list(split.texts), labels=list(labels), multilabel=multilabel,
        threshold=getattr(model, "threshold", 0.5),
    )
    return metrics, preds


def latency_ms(model: TextClassifier, text: str, repeats: int = 20) -> dict[str, float]:
    """p50 / p95 wall time of predict_proba on one text, in milliseconds (after 2 warm-up calls)."""
    for _ in range(2):
        model.predict_proba([text])
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        model.predict_proba([text])
        times.append((time.perf_counter() - t0) * 1000)
    return {"latency_ms_p50": float(np.percentile(times, 50)), "latency_ms_p95": float(np.percentile(times, 95))}


def default_name(dataset: str, kind: str) -> str:
    stamp = _dt.datetime.now().strftime("%Y%m%d-%H%M%S")
    # "file:intents/train" or "upload:x@v2" hold characters a model name may not: each run becomes one '-'
    safe = re.sub(r"[^A-Za-z0-9_.-]+", "-", dataset).strip("-.") or "dataset"
    return artifacts.unique_name(f"{safe}-{kind}-{stamp}")


def finish(
    model: TextClassifier,
    ds: TextDataset,
    name: str,
    *,
    config: dict[str, Any],
    extra_metrics: dict[str, Any] | None = None,
    parent: str | None = None,
    compression: dict[str, Any] | None = None,
    progress: ProgressCallback = null_progress,
    overwrite: bool = False,
    tune_thresholds: bool = False,
    manifest_extra: dict[str, Any] | None = None,
    extra_files: dict[str, bytes] | None = None,
) -> Path:
    """Evaluate a ready model on the test split, measure latency and save it as artifact `name`.

    Shared by training, compression and ensembles so every artifact has the same metrics. A multi-label model
    gets thresholds.json (core.thresholds): per-label thresholds tuned on validation when `tune_thresholds`
    (training), else its own (inherited by variants) with their validation F1.
    """
    files = label_thresholds(model, ds, tune_thresholds, progress)
    metrics, preds = evaluate_on(model, ds.test, ds.labels, ds.multilabel, progress)
    sample = next((t for t in ds.test.texts if t.strip()), "example text")
    metrics.update(latency_ms(model, sample))
    metrics.update(extra_metrics or {})
    progress(1, 1, "save: writing artifact")
    return artifacts.save_artifact(
        model, name, dataset=ds, config=config, metrics=metrics, predictions=preds,
        parent=parent, compression=compression, overwrite=overwrite, extra_files={**(files or {}), **(extra_files or {})},
        manifest_extra=manifest_extra,
    )


def label_thresholds(model: TextClassifier, ds: TextDataset, tune: bool,
                     progress: ProgressCallback = null_progress) -> dict[str, bytes]:
    """{thresholds.json: bytes} for a multi-label model ({} otherwise); sets model.threshold when `tune`."""
    from . import thresholds

    if not ds.multilabel:
        return {}
    proba = predict_in_chunks(model, ds.validation.texts, progress, message="thresholds: validation")
    y = np.asarray(ds.validation.y)
    if tune and len(y):
        record = thresholds.tune(ds.labels, proba, y)
        model.threshold = thresholds.values(record, ds.labels)
    else:
        record = thresholds.table(ds.labels, thresholds.per_label(getattr(model, "threshold", 0.5), len(ds.labels)),
                                  proba, y, source="model")
    return {thresholds.FILE: json.dumps(record, indent=1, ensure_ascii=False).encode()}


def run(
    dataset: str | TextDataset,
    kind: str,
    params: dict[str, Any] | None = None,
    name: str | None = None,
    progress: ProgressCallback | None = None,
    max_train: int | None = None,
) -> Path:
    """Train family `kind` on `dataset`, evaluate on its test split and save the artifact; returns its folder.

    Raises ParamError for bad settings before any work starts, and writes nothing if training fails or is
    cancelled (progress callback raising core.progress.Cancelled).
    """
    from .data import apply_max_train, load_dataset

    progress = progress or null_progress
    fam = family(kind)
    resolved = resolve(fam.PARAMS, params)  # validate before loading data: bad settings fail fast
    if hasattr(fam, "check_params"):  # the family's cross-setting checks (ParamError), also before any work
        fam.check_params(dict(resolved))
    if name is not None:
        artifacts.check_new_name(name)
    progress(0, 1, "data: loading dataset")
    ds = apply_max_train(dataset, max_train) if isinstance(dataset, TextDataset) else \
        load_dataset(dataset, max_train=max_train)
    auto_named = name is None
    name = name or default_name(ds.name, kind)
    t0 = time.perf_counter()
    with PeakMemory() as mem, recording(seed=int(resolved.get("seed", 0))) as dynamics:
        model, train_info = fam.fit(ds, resolved, progress)
    recorded = dynamics.result()  # torch families: gold probabilities of the training rows per evaluation
    train_seconds = time.perf_counter() - t0
    extra = {
        "train_seconds": round(train_seconds, 3),
        "peak_memory_mb": round(mem.peak_mb, 1),
        "train_rows": len(ds.train),
        "validation_rows": len(ds.validation),
        "test_rows": len(ds.test),
        "train_info": train_info,
    }
    config = {**resolved, "max_train": max_train}
    # what init_embeddings=auto chose and how well a pretrained backbone's vocabulary covers the texts (core.coverage)
    manifest_extra = {k: train_info[k] for k in MANIFEST_INFO if k in train_info} or None
    files = recorded.files() if recorded is not None else None  # training dynamics (dynamics.npz + .json)
    try:
        return finish(model, ds, name, config=config, extra_metrics=extra, progress=progress, tune_thresholds=True,
                      manifest_extra=manifest_extra, extra_files=files)
    except artifacts.ArtifactError:
        if not auto_named or not artifacts.artifact_dir(name).exists():
            raise
        # Another job took the same default name meanwhile (e.g. a double-clicked Train button): keep this
        # model under the next free name rather than lose it.
        return finish(model, ds, artifacts.unique_name(name), config=config, extra_metrics=extra, progress=progress,
                      tune_thresholds=True, manifest_extra=manifest_extra, extra_files=files)
