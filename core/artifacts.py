"""Artifacts: one folder per trained model, written atomically.

    artifacts/<name>/manifest.json   what it is (kind, dataset, labels, config, parent, compression, versions)
    artifacts/<name>/metrics.json    test metrics, training history, size, latency
    artifacts/<name>/predictions.npz test-set probabilities, labels and texts (pages never re-run inference)
    artifacts/<name>/model/          the family's own format (safetensors / json / npz; never pickle)

A folder is written under a temporary name and renamed into place, so a crash never leaves half an
artifact. `list_artifacts` reports broken folders with their reason instead of failing.
"""
from __future__ import annotations

import datetime as _dt
import json
import os
import re
import shutil
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from . import config as _cfg
from . import naming, thresholds
from .artifact_files import dir_size_mb, library_versions, model_file_sizes, write_json  # noqa: F401 - re-exported
from .base import TextClassifier
from .errors import ArtifactError  # noqa: F401 - re-exported: callers import it from here
from .predictions import Predictions  # noqa: F401 - re-exported: callers import it from here

_NAME = naming.RULES["model"].pattern
REQUIRED_FILES = ("manifest.json", "metrics.json", "predictions.npz", "model")
#: Temporary folders of interrupted saves / deletes (".tmp-<name>-*", ".trash-<name>-*") older than this are
#: removed by `cleanup_stale` (a save in progress keeps touching its folder, and none takes an hour).
STALE_SECONDS = 3600
#: Metrics of a model-table row (ArtifactInfo.row): what `python -m core list` and the Overview page show.
SUMMARY_METRICS = ("accuracy", "f1_macro", "size_mb")


@dataclass
class ArtifactInfo:
    name: str
    path: Path
    manifest: dict[str, Any] = field(default_factory=dict)
    metrics: dict[str, Any] | None = None
    broken: str | None = None
    warnings: list[str] = field(default_factory=list)

    @property
    def kind(self) -> str:
        return str(self.manifest.get("kind", "?"))

    @property
    def dataset(self) -> str:
        return str(self.manifest.get("dataset", "?"))

    @property
    def created(self) -> str:
        return str(self.manifest.get("created", ""))

    @property
    def ok(self) -> bool:
        return self.broken is None

    @property
    def capabilities(self) -> frozenset[str]:
        """Capabilities the model declares in its manifest (no model load needed)."""
        return frozenset(self.manifest.get("capabilities", ()))

    @property
    def parent(self) -> str:
        """The artifact this one was built from ("" if trained from scratch)."""
        return str(self.manifest.get("parent") or "")

    def row(self, metric_keys: Sequence[str] = SUMMARY_METRICS) -> dict[str, Any]:
        """One table row (name, dataset, kind, parent, compression, the metrics `metric_keys`, created):
        core.artifact_tables.summary_row, shared by `python -m core list`, Overview and Compare."""
        from .artifact_tables import summary_row

        return summary_row(self, metric_keys)

    def training_history(self) -> dict[str, Any]:
        """What a torch family recorded while training ({} if none): train_loss [[step, loss]], evals
        [{step, accuracy, f1_macro, val_loss, ...}], grad_flow, best_step, ..."""
        from .artifact_tables import training_history

        return training_history(self)


def check_name(name: str) -> str:
    """Return `name` if it is a safe folder name (letters, digits, . _ -; no path parts), else raise."""
    return naming.check_name(name, "model")


def check_new_name(name: str) -> str:
    """`name` if it is a valid name no artifact uses yet; ArtifactError otherwise (checked before a job starts,
    so the mistake shows at once rather than in a background job's log)."""
    naming.ensure_free(artifact_dir(name), name, "model")
    return name


def artifact_dir(name: str) -> Path:
    """Folder of artifact `name`, guaranteed to be inside the artifacts folder."""
    root = _cfg.artifacts_dir().resolve()
    path = (root / check_name(name)).resolve()
    if path.parent != root:
        raise ArtifactError(f"model name {name!r} escapes the artifacts folder")
    return path


def stamp(name: str) -> str:
    """Folder and manifest mtime of artifact `name`: part of every cache key for that artifact, so a model
    re-trained under the same name (or in another artifacts folder) is never served from a stale cache."""
    path = artifact_dir(name)
    try:
        return f"{path}@{(path / 'manifest.json').stat().st_mtime_ns}"
    except OSError:
        return f"{path}@missing"


def save_artifact(
    model: TextClassifier,
    name: str,
    *,
    dataset: Any,
    config: dict[str, Any],
    metrics: dict[str, Any],
    predictions: Predictions,
    parent: str | None = None,
    compression: dict[str, Any] | None = None,
    extra_files: dict[str, bytes] | None = None,
    overwrite: bool = False,
    manifest_extra: dict[str, Any] | None = None,
) -> Path:
    """Write a complete artifact folder atomically and return its path.

    `dataset` is a TextDataset (name, fingerprint, language are recorded). The model is saved first
    so `metrics["size_mb"]` can report the size of `model/` on disk. The manifest also records which test set
    the model was scored on (`test_fingerprint`, from `predictions`) and the registered dataset's fingerprint at
    save time (`source_fingerprint`): core.scoresets groups models by the first and marks changed datasets by both.
    """
    from .scoresets import fingerprint_of_test, source_fingerprint

    final = artifact_dir(name)
    naming.ensure_free(final, name, "model", overwrite)
    root = _cfg.artifacts_dir()
    tmp = Path(tempfile.mkdtemp(prefix=f".tmp-{name}-", dir=root))
    try:
        model.save(tmp / "model")
        metrics = dict(metrics)
        metrics.setdefault("size_mb", round(dir_size_mb(tmp / "model"), 6))
        metrics.setdefault("n_parameters", int(model.n_parameters()))
        manifest = {
            "name": name,
            "kind": model.kind,
            "dataset": dataset.name,
            "dataset_fingerprint": dataset.fingerprint(),
            "test_fingerprint": fingerprint_of_test(predictions.texts, predictions.y_true, predictions.labels),
            "source_fingerprint": source_fingerprint(dataset.name),
            "language": getattr(dataset, "language", "en"),
            "labels": list(model.labels),
            "multilabel": bool(model.multilabel),
            "capabilities": sorted(model.capabilities),
            "config": config,
            "seed": config.get("seed", _cfg.SEED) if isinstance(config, dict) else _cfg.SEED,
            "parent": parent,
            "compression": compression,
            "versions": library_versions(),
            "format_version": _cfg.FORMAT_VERSION,
            "model_files": model_file_sizes(tmp / "model"),
            "created": _dt.datetime.now(_dt.UTC).isoformat(timespec="seconds"),
            **(manifest_extra or {}),
        }
        write_json(tmp / "manifest.json", manifest)
        write_json(tmp / "metrics.json", metrics)
        predictions.save(tmp / "predictions.npz")
        _first_card(tmp, name)
        for fname, data in (extra_files or {}).items():
            target = (tmp / fname).resolve()
            if tmp.resolve() not in target.parents:
                raise ArtifactError(f"extra file {fname!r} escapes the artifact folder")
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(data)
        just_saved = ArtifactError(f"a model named {name!r} was just saved by another job; pick another name")
        if final.exists():
            if not overwrite:  # appeared while we were writing: never replace someone else's model silently
                raise just_saved
            trash = root / f".trash-{name}-{os.getpid()}-{time.monotonic_ns()}"
            os.replace(final, trash)
            os.replace(tmp, final)
            shutil.rmtree(trash, ignore_errors=True)
        else:
            try:
                os.replace(tmp, final)  # atomic; fails on a non-empty folder, so a concurrent save cannot win twice
            except OSError as e:
                if final.exists():
                    raise just_saved from e
                raise
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return final


def _first_card(folder: Path, name: str) -> None:
    """README.md model card of a folder being saved (core.cards). Documentation must never cost the model: a
    failure is logged, and `python -m core card NAME --write` writes the card later."""
    try:
        from .cards.card import write_card_into

        write_card_into(folder, name)
    except Exception as e:  # noqa: BLE001 - any failure here is a missing card, not a failed save
        import logging

        logging.getLogger(__name__).warning("model card of %s not written: %s", name, e)


def _read_info(path: Path) -> ArtifactInfo:
    info = ArtifactInfo(name=path.name, path=path)
    if path.resolve().parent != path.parent.resolve():  # a symlink: artifact_dir() refuses to load or delete it
        info.broken = "a link to a folder outside the artifacts folder (not loaded; remove the link by hand)"
        return info
    missing = [f for f in REQUIRED_FILES if not (path / f).exists()]
    if missing:
        info.broken = f"missing {', '.join(missing)}"
    try:
        info.manifest = json.loads((path / "manifest.json").read_text())
        if not isinstance(info.manifest, dict):
            raise ValueError("manifest is not a JSON object")
    except FileNotFoundError:
        return info
    except (OSError, ValueError) as e:
        info.broken = f"unreadable manifest.json ({e.__class__.__name__}: {e})"
        info.manifest = {}
        return info
    fv = info.manifest.get("format_version", 0)
    if not isinstance(fv, int) or fv > _cfg.FORMAT_VERSION:
        info.broken = f"made by a newer version of the lab (format {fv}, this one reads ≤ {_cfg.FORMAT_VERSION})"
    for key in ("kind", "labels"):
        if key not in info.manifest and not info.broken:
            info.broken = f"manifest.json has no {key!r}"
    try:
        if (path / "metrics.json").exists():
            info.metrics = json.loads((path / "metrics.json").read_text())
    except (OSError, ValueError) as e:
        info.broken = info.broken or f"unreadable metrics.json ({e})"
    if not info.broken:
        info.broken = _check_model_files(path, info.manifest.get("model_files"))
    if not info.broken:
        now = library_versions()
        for pkg, v in (info.manifest.get("versions") or {}).items():
            if pkg in now and now[pkg] != v and pkg != "python":
                info.warnings.append(f"made with {pkg} {v}, running {now[pkg]}")
    return info


def _check_model_files(path: Path, recorded: Any) -> str | None:
    """Reason the model/ files differ from the sizes recorded at save time (None if they match or were not
    recorded: artifacts written before the record existed)."""
    if not isinstance(recorded, dict):
        return None
    for rel, size in recorded.items():
        f = path / "model" / str(rel)
        try:
            actual = f.stat().st_size
        except OSError:
            return f"missing model/{rel}"
        if actual != size:
            return f"model/{rel} is truncated or changed ({actual:,} bytes, {size:,} when saved)"
    return None


def cleanup_stale(max_age_s: float = STALE_SECONDS) -> list[str]:
    """Remove leftovers of interrupted saves / deletes (".tmp-*" / ".trash-*" folders) untouched for
    `max_age_s` seconds; returns the removed folder names. Never touches a model folder."""
    root = _cfg.artifacts_dir()
    now, removed = time.time(), []
    for path in root.iterdir():
        if not path.name.startswith((".tmp-", ".trash-")) or not path.is_dir():
            continue
        try:
            age = now - path.stat().st_mtime
        except OSError:
            continue
        if age > max_age_s:
            shutil.rmtree(path, ignore_errors=True)
            removed.append(path.name)
    return removed


def list_artifacts(dataset: str | None = None, include_broken: bool = True) -> list[ArtifactInfo]:
    """Every artifact folder, newest first; broken ones carry `broken` (reason) instead of raising.

    Hidden folders (".tmp-*" of a save in progress or interrupted, ".jobs", ".cache") are not models and are
    skipped; stale temporary ones are removed on the way (`cleanup_stale`).
    """
    root = _cfg.artifacts_dir()
    try:
        cleanup_stale()
    except OSError:  # a read-only artifacts folder still lists
        pass
    infos = []
    for path in root.iterdir():
        if not path.is_dir() or path.name.startswith(".") or not _NAME.match(path.name):
            continue
        info = _read_info(path)
        if info.broken and not path.exists():  # deleted (renamed away) while we were reading it
            continue
        if info.broken and not include_broken:
            continue
        if dataset is not None and info.dataset != dataset:
            continue
        infos.append(info)
    infos.sort(key=lambda i: (i.created, i.name), reverse=True)
    return infos


def get_artifact(name: str) -> ArtifactInfo:
    path = artifact_dir(name)
    if not path.is_dir():
        raise ArtifactError(f"no model named {name!r} in {_cfg.artifacts_dir()}")
    return _read_info(path)


def _require_ok(name: str) -> ArtifactInfo:
    info = get_artifact(name)
    if info.broken:
        raise ArtifactError(f"model {name!r} is broken: {info.broken}")
    return info


def load_model(name: str) -> TextClassifier:
    """Load the model of artifact `name` (ArtifactError with the reason if it cannot be read)."""
    from .models import REGISTRY

    info = _require_ok(name)
    try:
        cls = REGISTRY[info.kind]
    except ValueError as e:
        raise ArtifactError(f"model {name!r}: {e}") from e
    try:
        # thresholds.json (per-label multi-label thresholds, core.thresholds) wins over the model's own
        return thresholds.apply(cls.load(info.path / "model"), info.path)
    except ArtifactError:
        raise
    except Exception as e:  # a truncated / corrupted weight file surfaces as many exception types
        raise ArtifactError(f"model {name!r} could not be loaded: {e.__class__.__name__}: {e}") from e


def load_predictions(name: str) -> Predictions:
    info = _require_ok(name)
    try:
        return thresholds.apply(Predictions.load(info.path / "predictions.npz"), info.path)
    except Exception as e:
        raise ArtifactError(f"model {name!r}: predictions.npz unreadable ({e})") from e


def delete_artifact(name: str, confirm: str) -> None:
    """Delete artifact `name`; `confirm` must repeat the name (guards against accidental deletes)."""
    if confirm != name:
        raise ArtifactError("type the model's name to confirm deletion")
    path = artifact_dir(name)
    if not path.is_dir():
        raise ArtifactError(f"no model named {name!r}")
    # unique per call: a leftover of an earlier interrupted delete must not block this one
    trash = _cfg.artifacts_dir() / f".trash-{name}-{os.getpid()}-{time.monotonic_ns()}"
    try:
        os.replace(path, trash)  # atomic: the name disappears at once, then the files go
    except FileNotFoundError:
        raise ArtifactError(f"model {name!r} was already deleted") from None
    shutil.rmtree(trash, ignore_errors=True)


def unique_name(base: str) -> str:
    """`base`, or `base-2`, `base-3`, ... — the first that is not taken."""
    base = re.sub(r"[^A-Za-z0-9_.\-]+", "-", base).strip("-.") or "model"
    base = base[:100]
    name, i = base, 2
    while artifact_dir(name).exists():
        name, i = f"{base}-{i}", i + 1
    return name
