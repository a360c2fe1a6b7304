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
import platform
import re
import shutil
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from . import config as _cfg
from . import naming
from .base import TextClassifier
from .errors import ArtifactError  # noqa: F401 - re-exported: callers import it from here

_NAME = naming.RULES["model"].pattern
REQUIRED_FILES = ("manifest.json", "metrics.json", "predictions.npz", "model")
#: Temporary folders of interrupted saves / deletes (".tmp-<name>-*", ".trash-<name>-*") older than this are
#: removed by `cleanup_stale` (a save in progress keeps touching its folder, and none takes an hour).
STALE_SECONDS = 3600


@dataclass
class Predictions:
    """Test-set outputs of one model.

    proba: (n, k) float32; y_true: (n,) int or (n, k) 0/1; texts: n strings; labels: k names.
    """

    proba: np.ndarray
    y_true: np.ndarray
    texts: list[str]
    labels: list[str]
    multilabel: bool = False
    threshold: float = 0.5

    @property
    def y_pred(self) -> np.ndarray:
        if self.multilabel:
            return (self.proba >= self.threshold).astype(np.int64)
        return self.proba.argmax(axis=1)

    @property
    def confidence(self) -> np.ndarray:
        """(n,) probability of the predicted class (multi-label: of the most probable label)."""
        return self.proba.max(axis=1)

    def save(self, path: Path) -> None:
        np.savez_compressed(
            path,
            proba=self.proba.astype(np.float32),
            y_true=self.y_true,
            texts=np.array(self.texts, dtype=np.str_),
            labels=np.array(self.labels, dtype=np.str_),
            multilabel=np.array(self.multilabel),
            threshold=np.array(self.threshold),
        )

    @classmethod
    def load(cls, path: Path) -> Predictions:
        with np.load(path, allow_pickle=False) as z:
            return cls(
                proba=z["proba"],
                y_true=z["y_true"],
                texts=[str(t) for t in z["texts"]],
                labels=[str(t) for t in z["labels"]],
                multilabel=bool(z["multilabel"]),
                threshold=float(z["threshold"]),
            )


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


def check_name(name: str) -> str:
    """Return `name` if it is a safe folder name (letters, digits, . _ -; no path parts), else raise."""
    return naming.check_name(name, "model")


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


def library_versions() -> dict[str, str]:
    """Versions of the libraries that decide whether a saved model loads identically."""
    import importlib.metadata as md

    out = {"python": platform.python_version()}
    for pkg in ("numpy", "scikit-learn", "torch", "transformers", "peft", "tokenizers", "safetensors"):
        try:
            out[pkg] = md.version(pkg)
        except md.PackageNotFoundError:
            pass
    return out


def _json_default(o: Any) -> Any:
    if isinstance(o, np.generic):
        return o.item()
    if isinstance(o, np.ndarray):
        return o.tolist()
    if isinstance(o, Path):
        return str(o)
    if isinstance(o, (set, frozenset, tuple)):
        return sorted(o) if isinstance(o, (set, frozenset)) else list(o)
    return str(o)


def write_json(path: Path, obj: Any) -> None:
    """Write JSON atomically (temp file + rename)."""
    tmp = path.with_name(f".{path.name}.tmp{os.getpid()}")
    tmp.write_text(json.dumps(obj, indent=2, default=_json_default, allow_nan=True))
    os.replace(tmp, path)


def model_file_sizes(model_dir: Path) -> dict[str, int]:
    """Relative path -> size in bytes of every file under `model_dir` (recorded in the manifest, so a
    truncated or missing weight file shows up in `list_artifacts` without loading the model)."""
    model_dir = Path(model_dir)
    return {f.relative_to(model_dir).as_posix(): f.stat().st_size for f in sorted(model_dir.rglob("*")) if f.is_file()}


def dir_size_mb(path: Path) -> float:
    """Size on disk of every file under `path`, in MB (10^6 bytes)."""
    return sum(f.stat().st_size for f in Path(path).rglob("*") if f.is_file()) / 1e6


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
) -> Path:
    """Write a complete artifact folder atomically and return its path.

    `dataset` is a TextDataset (name, fingerprint, language are recorded). The model is saved first
    so `metrics["size_mb"]` can report the size of `model/` on disk.
    """
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
        }
        write_json(tmp / "manifest.json", manifest)
        write_json(tmp / "metrics.json", metrics)
        predictions.save(tmp / "predictions.npz")
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
        return cls.load(info.path / "model")
    except ArtifactError:
        raise
    except Exception as e:  # a truncated / corrupted weight file surfaces as many exception types
        raise ArtifactError(f"model {name!r} could not be loaded: {e.__class__.__name__}: {e}") from e


def load_predictions(name: str) -> Predictions:
    info = _require_ok(name)
    try:
        return Predictions.load(info.path / "predictions.npz")
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
