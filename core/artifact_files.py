"""File helpers of the artifact store: atomic JSON writes, file sizes, the library versions recorded in manifests."""
from __future__ import annotations

import json
import platform
from pathlib import Path
from typing import Any

import numpy as np

from .atomic import atomic_write_text


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
    """Write JSON atomically (core.atomic: temp file + rename)."""
    atomic_write_text(path, json.dumps(obj, indent=2, default=_json_default, allow_nan=True))


def model_file_sizes(model_dir: Path) -> dict[str, int]:
    """Relative path -> size in bytes of every file under `model_dir` (recorded in the manifest, so a
    truncated or missing weight file shows up in `list_artifacts` without loading the model)."""
    model_dir = Path(model_dir)
    return {f.relative_to(model_dir).as_posix(): f.stat().st_size for f in sorted(model_dir.rglob("*")) if f.is_file()}


def dir_size_mb(path: Path) -> float:
    """Size on disk of every file under `path`, in MB (10^6 bytes)."""
    return sum(f.stat().st_size for f in Path(path).rglob("*") if f.is_file()) / 1e6
