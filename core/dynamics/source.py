"""The dynamics of a trained model: recorded during training (torch families, next to the model), or computed
by repeated k-fold cross-validation for families in `CROSS_VALIDATED` and cached under
cache_dir()/dynamics/<model>-<hash of the artifact stamp and k/repeats>/ (an artifact folder may be read-only)."""
from __future__ import annotations

import hashlib
from typing import Any

from .. import artifacts, config
from ..data import TextDataset
from ..errors import CapabilityError, DataError
from ..progress import ProgressCallback, null_progress
from .oof import REPEATS, K, cross_validated
from .store import Dynamics, has_dynamics, load_dynamics

#: Families whose dynamics come from cross-validation (one fit is cheap; they have no training trajectory).
CROSS_VALIDATED = frozenset({"tfidf"})


def model_dataset(name: str) -> TextDataset:
    """The dataset model `name` was trained on (same max_train sample); DataError when it changed since."""
    from ..data import load_dataset
    from ..data.uploads import UPLOAD_PREFIX, version_with_fingerprint

    info = artifacts.get_artifact(name)
    manifest = info.manifest
    ref = str(manifest.get("dataset"))
    want = manifest.get("dataset_fingerprint")
    if ref.startswith(UPLOAD_PREFIX) and "@" not in ref and want:
        ref = version_with_fingerprint(ref, want) or ref  # a newer version was added since: use the trained one
    ds = load_dataset(ref, max_train=(manifest.get("config") or {}).get("max_train"))
    if want and ds.fingerprint() != want:
        raise DataError(f"dataset {ref!r} changed since {name!r} was trained on it (fingerprint "
                        f"{ds.fingerprint()} != {want}); retrain the model on the current data")
    return ds


def has_recorded(name: str) -> bool:
    return has_dynamics(artifacts.artifact_dir(name))


def _cache_folder(name: str, k: int, repeats: int):
    key = hashlib.sha1(f"{artifacts.stamp(name)}|{k}|{repeats}".encode()).hexdigest()[:12]
    return config.cache_dir() / "dynamics" / f"{name}-{key}"


def status(name: str, k: int = K, repeats: int = REPEATS) -> str:
    """"recorded" (saved with the model), "cached" (cross-validated before), "cross-validate" (computable:
    k x repeats fits) or "unavailable" (a family without dynamics, trained before they were recorded)."""
    if has_dynamics(artifacts.artifact_dir(name)):
        return "recorded"
    if artifacts.get_artifact(name).kind not in CROSS_VALIDATED:
        return "unavailable"
    return "cached" if has_dynamics(_cache_folder(name, k, repeats)) else "cross-validate"


def dynamics_of(name: str, *, k: int = K, repeats: int = REPEATS, dataset: TextDataset | None = None,
                progress: ProgressCallback = null_progress) -> tuple[Dynamics, TextDataset]:
    """(Dynamics, training dataset) of model `name`. CapabilityError for a family with neither."""
    folder = artifacts.artifact_dir(name)
    ds = dataset or model_dataset(name)
    if has_dynamics(folder):
        return load_dynamics(folder), ds
    info = artifacts.get_artifact(name)
    if info.kind not in CROSS_VALIDATED:
        raise CapabilityError(f"{name!r} ({info.kind}) has no recorded training dynamics (models trained before "
                              "they were recorded); retrain it to get its data map")
    cache = _cache_folder(name, k, repeats)
    if has_dynamics(cache):
        return load_dynamics(cache), ds
    # the final settings (after a grid search, its choice) are in train_info.params; else the manifest config
    chosen = ((info.metrics or {}).get("train_info") or {}).get("params") or info.manifest.get("config") or {}
    params: dict[str, Any] = {key_: v for key_, v in chosen.items() if key_ != "max_train"}
    params["search"] = False
    dyn = cross_validated(ds, info.kind, params, k=k, repeats=repeats, progress=progress)
    dyn.save(cache)
    return dyn, ds
