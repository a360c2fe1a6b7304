"""Cached access to datasets: the list, loaded datasets, statistics (also on disk), uploads."""
from __future__ import annotations

import hashlib
import json
import re
from pathlib import Path
from typing import Any

import pandas as pd
import streamlit as st

from core import config, data
from core.atomic import atomic_write_text


@st.cache_data(ttl=30, show_spinner=False)
def _dataset_list(user_dir: str, search_path: str) -> list[dict[str, Any]]:
    return data.list_datasets()


def dataset_list() -> list[dict[str, Any]]:
    """core.data.list_datasets(): name, title, task, language, available, where, rows, description."""
    return _dataset_list(str(config.user_data_dir()), str(config.data_search_path()))


@st.cache_resource(max_entries=4, show_spinner="Loading dataset…")
def load_dataset(name: str, max_train: int | None = None):
    """A TextDataset, loaded once per process (treat it as read-only)."""
    return data.load_dataset(name, max_train=max_train)


def _dataset_stamp(name: str) -> str:
    """Hash of the dataset's folder listing (file names, sizes, mtimes): changes when its files change."""
    row = next((d for d in dataset_list() if d["name"] == name), None)
    where = (row or {}).get("where")
    parts = [name, str(where)]
    if where and Path(where).is_dir():
        for f in sorted(Path(where).rglob("*")):
            if f.is_file():
                st_ = f.stat()
                parts.append(f"{f.relative_to(where)}:{st_.st_size}:{st_.st_mtime_ns}")
    return hashlib.sha256("\n".join(parts).encode()).hexdigest()[:16]


@st.cache_data(max_entries=8, show_spinner="Computing dataset statistics (first time only; large datasets take "
                                            "up to a minute)…")
def _describe(name: str, stamp: str) -> dict[str, Any]:
    # describe() tokenizes every text (tens of seconds for AG News on this machine), so the JSON result is
    # also kept on disk under cache_dir(), keyed by the dataset files' stamp: it survives server restarts.
    path = config.cache_dir() / "describe" / f"{re.sub(r'[^A-Za-z0-9_-]+', '_', name)}-{stamp}.json"
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):
        pass
    stats = data.describe(load_dataset(name))
    atomic_write_text(path, json.dumps(stats, default=str))
    return stats


def describe_dataset(name: str) -> dict[str, Any]:
    """core.data.describe() of a dataset, cached in memory and on disk until the dataset's files change."""
    return _describe(name, _dataset_stamp(name))


@st.cache_data(max_entries=2, show_spinner="Reading the file…")
def read_upload(content: bytes, filename: str) -> pd.DataFrame:
    """core.data.read_table of an uploaded file (cached on its bytes, so reruns do not re-parse it)."""
    return data.read_table(content, filename)


def save_upload(frame: pd.DataFrame, name: str, **frame_kwargs: Any) -> str:
    """Persist a user table as dataset "upload:<name>" (core.data.save_upload: a taken name raises NameTakenError
    unless new_version=True) and refresh the pickers."""
    saved = data.save_upload(frame, name, **frame_kwargs)
    refresh_datasets()
    st.session_state["_shared_dataset"] = saved  # pickers on every page now default to it
    return saved


def free_dataset_name(stem: str) -> str:
    """`stem`, or "stem-2", "stem-3"... when a saved dataset has that name (core.data.free_name); `stem` itself
    when it is not a valid name (saving then says why)."""
    try:
        return data.free_name(stem)
    except data.DataError:
        return stem


def dataset_versions(name: str) -> list[int]:
    """Saved versions of upload `name` ([] when none or when the name is invalid)."""
    try:
        return data.upload_versions(name)
    except data.DataError:
        return []


def refresh_datasets() -> None:
    """Forget cached dataset lists and statistics (after an upload is saved)."""
    _dataset_list.clear()
    _describe.clear()
    load_dataset.clear()
