"""Paths and settings: artifacts folder, data search path, user datasets, threads, seeds.

Every path can be overridden by an environment variable so tests and CI run in temporary folders.
"""
from __future__ import annotations

import os
from pathlib import Path

#: The project root (folder holding app.py and core/).
ROOT: Path = Path(__file__).resolve().parent.parent

#: Default seed for every random choice (splits, initialisation, sampling).
SEED: int = 0

#: Library version written into every manifest; loading a newer manifest is refused.
FORMAT_VERSION: int = 1


def artifacts_dir() -> Path:
    """Folder holding one sub-folder per trained model ($TEXTLAB_ARTIFACTS_DIR or ./artifacts)."""
    path = Path(os.environ.get("TEXTLAB_ARTIFACTS_DIR", ROOT / "artifacts"))
    path.mkdir(parents=True, exist_ok=True)
    return path


def user_data_dir() -> Path:
    """Folder holding datasets users uploaded, normalised to parquet ($TEXTLAB_USER_DATA_DIR or ./user_data)."""
    path = Path(os.environ.get("TEXTLAB_USER_DATA_DIR", ROOT / "user_data"))
    path.mkdir(parents=True, exist_ok=True)
    return path


def jobs_dir() -> Path:
    """Folder holding background training jobs' progress files ($TEXTLAB_JOBS_DIR or artifacts/.jobs)."""
    path = Path(os.environ.get("TEXTLAB_JOBS_DIR", artifacts_dir() / ".jobs"))
    path.mkdir(parents=True, exist_ok=True)
    return path


def cache_dir() -> Path:
    """Folder for disk caches of derived results (projections, SHAP) ($TEXTLAB_CACHE_DIR or artifacts/.cache)."""
    path = Path(os.environ.get("TEXTLAB_CACHE_DIR", artifacts_dir() / ".cache"))
    path.mkdir(parents=True, exist_ok=True)
    return path


def data_search_path() -> list[Path]:
    """Folders searched for built-in datasets, in order: $TEXTLAB_DATA_DIR, ./data, ../shared/data."""
    paths: list[Path] = []
    if os.environ.get("TEXTLAB_DATA_DIR"):
        paths.extend(Path(p) for p in os.environ["TEXTLAB_DATA_DIR"].split(os.pathsep) if p)
    paths += [ROOT / "data", ROOT.parent / "shared" / "data", Path.cwd() / "data"]
    seen: list[Path] = []
    for p in paths:
        if p not in seen:
            seen.append(p)
    return seen


def num_threads() -> int:
    """Torch intra-op threads: $TEXTLAB_THREADS, else the cores free when this process first asked
    (core.threads documents the policy)."""
    from .threads import thread_choice

    return thread_choice().threads


def offline() -> bool:
    """True when hub downloads must not be attempted (HF_HUB_OFFLINE=1 or TEXTLAB_OFFLINE=1)."""
    return os.environ.get("HF_HUB_OFFLINE") == "1" or os.environ.get("TEXTLAB_OFFLINE") == "1"
