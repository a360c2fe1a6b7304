"""Saved user datasets ("uploads"): user_data_dir()/<name>/{data.parquet, spec.json}.

`save_upload` stores the exact splits (so loading gives the same fingerprint); `load_upload`, `list_uploads`
and `delete_upload` read and remove them. Names follow core.naming's "dataset" rule; a dataset is referred
to as "upload:<name>" everywhere else.
"""
from __future__ import annotations

import json
import os
import shutil
import tempfile
from datetime import UTC, datetime
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np

from .. import config, naming
from .frames import dataset_from_frame
from .parsers import texts_of
from .types import DataError, Split, TextDataset

UPLOAD_PREFIX = "upload:"


def check_upload_name(name: str) -> str:
    """`name` without a leading "upload:", if it is a valid dataset name; else DataError."""
    if name.startswith(UPLOAD_PREFIX):
        name = name[len(UPLOAD_PREFIX):]
    return naming.check_name(name, "dataset")


def upload_dir(name: str) -> Path:
    """Folder of saved upload `name` (guaranteed inside user_data_dir() by the name rule)."""
    return config.user_data_dir() / check_upload_name(name)


def list_uploads() -> list[str]:
    """Names (without the "upload:" prefix) of saved uploads, sorted."""
    pattern = naming.RULES["dataset"].pattern
    return sorted(p.name for p in config.user_data_dir().iterdir()
                  if p.is_dir() and pattern.match(p.name) and (p / "spec.json").is_file())


def upload_info(name: str) -> dict | None:
    """The spec.json of saved upload `name`, or None when it is missing or unreadable."""
    try:
        return json.loads((upload_dir(name) / "spec.json").read_text("utf-8"))
    except (OSError, ValueError):
        return None


def _json_default(o: Any) -> Any:
    if isinstance(o, np.generic):
        return o.item()
    if isinstance(o, (set, tuple)):
        return list(o)
    return str(o)


def _frame_of(ds: TextDataset):
    """One table of every split: columns split, text, and y (multi-class) or y_0..y_{k-1} (multi-label)."""
    import pandas as pd

    frames = []
    for split_name, split in ds.splits().items():
        cols: dict[str, Any] = {"split": [split_name] * len(split), "text": list(split.texts)}
        if ds.multilabel:
            for j in range(ds.n_labels):
                cols[f"y_{j}"] = np.asarray(split.y[:, j], dtype=np.int8) if len(split) else np.zeros(0, np.int8)
        else:
            cols["y"] = np.asarray(split.y, dtype=np.int32)
        frames.append(pd.DataFrame(cols))
    return pd.concat(frames, ignore_index=True)


def save_upload(data, name: str, *, title: str = "", overwrite: bool = True, **frame_kwargs: Any) -> str:
    """Persist a user dataset under user_data_dir()/<name>/ and return "upload:<name>".

    data: a TextDataset, or a DataFrame plus `dataset_from_frame` keyword arguments (text_columns,
          label_columns, ...). The exact splits are stored (data.parquet: split, text, y or y_0..y_{k-1};
          spec.json: labels, multilabel, language, meta, rows), so loading gives the same fingerprint.
    overwrite: replace an existing upload of that name (the default; False raises NameTakenError).
    """
    name = check_upload_name(name)
    if isinstance(data, TextDataset):
        ds = data
    else:
        if "text_columns" not in frame_kwargs or "label_columns" not in frame_kwargs:
            raise DataError("save_upload(frame, ...) needs text_columns= and label_columns=")
        ds = dataset_from_frame(data, name=UPLOAD_PREFIX + name, **frame_kwargs)
    target = upload_dir(name)
    naming.ensure_free(target, name, "dataset", overwrite)
    frame = _frame_of(ds)
    spec = {"name": name, "title": title or name, "labels": list(ds.labels), "multilabel": bool(ds.multilabel),
            "language": ds.language, "description": ds.description, "meta": ds.meta,
            "rows": {k: len(s) for k, s in ds.splits().items()}, "fingerprint": ds.fingerprint(),
            "created": datetime.now(UTC).isoformat(timespec="seconds"), "format_version": 1}
    # Write into a temporary sibling folder, then swap it in: a crash never leaves half a dataset.
    tmp = Path(tempfile.mkdtemp(prefix=f".{name}-", dir=target.parent))
    try:
        frame.to_parquet(tmp / "data.parquet", index=False)
        (tmp / "spec.json").write_text(json.dumps(spec, indent=1, default=_json_default), "utf-8")
        if target.exists():
            old = target.with_name(f".{name}-old-{os.getpid()}")
            target.rename(old)
            tmp.rename(target)
            shutil.rmtree(old, ignore_errors=True)
        else:
            tmp.rename(target)
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)
    _load_cached.cache_clear()
    return UPLOAD_PREFIX + name


def delete_upload(name: str) -> None:
    """Remove a saved upload's folder."""
    target = upload_dir(name)
    if not target.exists():
        raise DataError(f"no saved dataset named {name!r}")
    shutil.rmtree(target)
    _load_cached.cache_clear()


@lru_cache(maxsize=8)
def _load_cached(folder: str, key: tuple) -> tuple[dict, dict[str, tuple[list[str], np.ndarray]]]:
    import pandas as pd

    spec = json.loads((Path(folder) / "spec.json").read_text("utf-8"))
    frame = pd.read_parquet(Path(folder) / "data.parquet")
    k = len(spec["labels"])
    parts = {}
    for split_name in ("train", "validation", "test"):
        part = frame[frame["split"] == split_name]
        if spec["multilabel"]:
            y = part[[f"y_{j}" for j in range(k)]].to_numpy(np.int64).reshape(len(part), k)
        else:
            y = part["y"].to_numpy(np.int64)
        y.flags.writeable = False
        parts[split_name] = (texts_of(part["text"]), y)
    return spec, parts


def load_upload(name: str) -> TextDataset:
    """Saved upload `name` (without "upload:") with every row, as it was saved. DataError when it is missing
    or unreadable."""
    folder = upload_dir(name)
    files = [folder / "spec.json", folder / "data.parquet"]
    if not all(f.is_file() for f in files):
        raise DataError(f"no saved dataset named {name!r} in {config.user_data_dir()}; saved: "
                        f"{', '.join(list_uploads()) or 'none'}")
    key = tuple((str(f), f.stat().st_mtime_ns, f.stat().st_size) for f in files)
    try:
        spec, parts = _load_cached(str(folder), key)
    except Exception as e:
        raise DataError(f"saved dataset {name!r} is unreadable ({e}); delete and upload it again") from e
    splits = {k: Split(list(t), np.array(y, dtype=np.int64)) for k, (t, y) in parts.items()}
    meta = dict(spec.get("meta") or {})
    meta["source"] = str(folder)
    return TextDataset(name=UPLOAD_PREFIX + name, labels=list(spec["labels"]), train=splits["train"],
                       validation=splits["validation"], test=splits["test"], multilabel=bool(spec["multilabel"]),
                       language=spec.get("language", "en"), description=spec.get("description", ""), meta=meta)


def upload_rows() -> list[dict]:
    """One list_datasets() row per saved upload (see catalog.list_datasets); half-written folders are skipped."""
    out = []
    for name in list_uploads():
        info = upload_info(name)
        if info is None:
            continue
        out.append({"name": UPLOAD_PREFIX + name, "title": info.get("title") or name,
                    "task": "multilabel" if info.get("multilabel") else "multiclass",
                    "language": info.get("language", "en"), "available": True, "where": str(upload_dir(name)),
                    "rows": info.get("rows"), "description": info.get("description", ""), "hub_id": None,
                    "licence": "", "kind": "upload"})
    return out
