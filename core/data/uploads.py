"""Saved user datasets ("uploads"): user_data_dir()/<name>/{data.parquet, spec.json} is version 1, and
user_data_dir()/<name>/v<k>/{data.parquet, spec.json} version k >= 2.

`save_upload` stores the exact splits (so loading gives the same fingerprint); `load_upload`, `list_uploads`
and `delete_upload` read and remove them. Names follow core.naming's "dataset" rule; a dataset is referred
to as "upload:<name>" (its latest version) or "upload:<name>@v<k>" (version k) everywhere else.

Nothing is replaced silently: saving under a taken name raises NameTakenError unless `new_version=True`
(a new version is added; older ones stay loadable, so models trained on them keep working).
"""
from __future__ import annotations

import json
import os
import re
import shutil
import tempfile
from datetime import UTC, datetime
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np

from .. import config, naming
from .frames import dataset_from_frame, metadata_table
from .parsers import texts_of
from .types import DataError, Split, TextDataset

UPLOAD_PREFIX = "upload:"
#: The upload's metadata columns (frames.metadata_table), beside data.parquet when the table had any.
COLUMNS_FILE = "columns.parquet"
_VERSION = re.compile(r"^v([0-9]{1,4})$")


def split_version(name: str) -> tuple[str, int | None]:
    """"upload:NAME@v2" / "NAME@v2" -> ("NAME", 2); "NAME" -> ("NAME", None). DataError for a bad version."""
    if name.startswith(UPLOAD_PREFIX):
        name = name[len(UPLOAD_PREFIX):]
    base, sep, version = name.partition("@")
    if not sep:
        return base, None
    m = _VERSION.match(version)
    if not m or int(m.group(1)) < 1:
        raise DataError(f"bad dataset version {version!r} in {name!r}: write NAME@v1, NAME@v2, ...")
    return base, int(m.group(1))


def check_upload_name(name: str) -> str:
    """`name` without a leading "upload:" (and without "@v<k>"), if it is a valid dataset name; else DataError."""
    return naming.check_name(split_version(name)[0], "dataset")


def upload_dir(name: str) -> Path:
    """Folder of saved upload `name` (guaranteed inside user_data_dir() by the name rule)."""
    return config.user_data_dir() / check_upload_name(name)


def version_dir(name: str, version: int) -> Path:
    """Folder holding version `version` of upload `name` (version 1 is the upload's own folder)."""
    return upload_dir(name) if version == 1 else upload_dir(name) / f"v{version}"


def upload_versions(name: str) -> list[int]:
    """Saved versions of upload `name`, ascending ([] when there is none)."""
    folder = upload_dir(name)
    if not (folder / "spec.json").is_file():
        return []
    more = [int(m.group(1)) for p in folder.iterdir()
            if p.is_dir() and (m := _VERSION.match(p.name)) and (p / "spec.json").is_file()]
    return [1] + sorted(v for v in more if v >= 2)


def version_with_fingerprint(name: str, fingerprint: str) -> str | None:
    """"upload:NAME@v<k>" of the saved version whose data has `fingerprint` (e.g. the one a model recorded when
    it was trained on "upload:NAME" before a newer version was added), or None. Reads spec.json files only."""
    base = check_upload_name(name)
    for version in reversed(upload_versions(base)):
        if (upload_info(f"{base}@v{version}") or {}).get("fingerprint") == fingerprint:
            return f"{UPLOAD_PREFIX}{base}@v{version}"
    return None


def free_name(stem: str) -> str:
    """`stem` if no upload has that name, else the first free "stem-2", "stem-3", ... (a default name that
    never replaces a saved dataset)."""
    stem = check_upload_name(stem)
    name, n = stem, 1
    while upload_versions(name):
        n += 1
        name = f"{stem[: 64 - len(str(n)) - 1]}-{n}"
    return name


def list_uploads() -> list[str]:
    """Names (without the "upload:" prefix) of saved uploads, sorted."""
    pattern = naming.RULES["dataset"].pattern
    return sorted(p.name for p in config.user_data_dir().iterdir()
                  if p.is_dir() and pattern.match(p.name) and (p / "spec.json").is_file())


def upload_info(name: str) -> dict | None:
    """The spec.json of saved upload `name` ("NAME" = latest version, "NAME@v<k>"), or None when it is
    missing or unreadable."""
    base, version = split_version(name)
    try:
        version = version or (upload_versions(base) or [1])[-1]
        return json.loads((version_dir(base, version) / "spec.json").read_text("utf-8"))
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


def save_upload(data, name: str, *, title: str = "", overwrite: bool = False, new_version: bool = False,
                source_files: list[str] | None = None, **frame_kwargs: Any) -> str:
    """Persist a user dataset under user_data_dir()/<name>/ and return "upload:<name>".

    data: a TextDataset, or a DataFrame plus `dataset_from_frame` keyword arguments (text_columns,
          label_columns, test_frame, ...). The exact splits are stored (data.parquet: split, text, y or
          y_0..y_{k-1}; spec.json: labels, multilabel, language, meta, rows, fingerprint, version,
          source_files), so loading gives the same fingerprint.
    A taken name raises NameTakenError (a DataError) and changes nothing, unless
    new_version: add version k+1 in <name>/v<k+1>/ (older versions stay loadable as "upload:<name>@v<k>"), or
    overwrite: delete every version and save this as version 1 (API only; no page or command offers it).
    """
    name = check_upload_name(name)
    columns = None  # the table's other columns (metadata), kept for slices by column
    if isinstance(data, TextDataset):
        ds = data
    else:
        if "text_columns" not in frame_kwargs or "label_columns" not in frame_kwargs:
            raise DataError("save_upload(frame, ...) needs text_columns= and label_columns=")
        ds = dataset_from_frame(data, name=UPLOAD_PREFIX + name, **frame_kwargs)
        columns = metadata_table(data, frame_kwargs["text_columns"], frame_kwargs["label_columns"],
                                 frame_kwargs.get("test_frame"))
    versions = upload_versions(name)
    if versions and not new_version:
        naming.ensure_free(True, name, "dataset", overwrite)
    version = versions[-1] + 1 if versions and new_version and not overwrite else 1
    target = version_dir(name, version)
    frame = _frame_of(ds)
    spec = {"name": name, "title": title or name, "labels": list(ds.labels), "multilabel": bool(ds.multilabel),
            "language": ds.language, "description": ds.description, "meta": ds.meta,
            "rows": {k: len(s) for k, s in ds.splits().items()}, "fingerprint": ds.fingerprint(),
            "created": datetime.now(UTC).isoformat(timespec="seconds"), "format_version": 1, "version": version,
            "source_files": list(source_files or ds.meta.get("source_files") or [])}
    target.parent.mkdir(parents=True, exist_ok=True)
    # Write into a temporary sibling folder, then rename it into place: a crash never leaves half a dataset.
    tmp = Path(tempfile.mkdtemp(prefix=f".{name}-", dir=target.parent))
    try:
        frame.to_parquet(tmp / "data.parquet", index=False)
        if columns is not None:
            columns.to_parquet(tmp / COLUMNS_FILE, index=False)
        (tmp / "spec.json").write_text(json.dumps(spec, indent=1, default=_json_default), "utf-8")
        if target.exists():  # overwrite=True only
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
    """Remove a saved upload's folder (every version)."""
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
    """Saved upload `name` (without "upload:"): "NAME" = its latest version, named "upload:NAME";
    "NAME@v<k>" = version k, named "upload:NAME@v<k>". Every row, as it was saved. DataError when it is
    missing or unreadable."""
    base, version = split_version(name)
    versions = upload_versions(base)
    if not versions:
        raise DataError(f"no saved dataset named {base!r} in {config.user_data_dir()}; saved: "
                        f"{', '.join(list_uploads()) or 'none'}")
    if version is not None and version not in versions:
        raise DataError(f"dataset {base!r} has no version v{version}; versions: "
                        f"{', '.join(f'v{v}' for v in versions)}")
    folder = version_dir(base, version or versions[-1])
    files = [folder / "spec.json", folder / "data.parquet"]
    if not all(f.is_file() for f in files):
        raise DataError(f"saved dataset {name!r} is incomplete (no data.parquet in {folder}); delete and save it again")
    key = tuple((str(f), f.stat().st_mtime_ns, f.stat().st_size) for f in files)
    try:
        spec, parts = _load_cached(str(folder), key)
    except Exception as e:
        raise DataError(f"saved dataset {name!r} is unreadable ({e}); delete and upload it again") from e
    splits = {k: Split(list(t), np.array(y, dtype=np.int64)) for k, (t, y) in parts.items()}
    meta = dict(spec.get("meta") or {})
    meta.update(source=str(folder), version=version or versions[-1], versions=versions)
    ref = UPLOAD_PREFIX + (base if version is None else f"{base}@v{version}")
    return TextDataset(name=ref, labels=list(spec["labels"]), train=splits["train"],
                       validation=splits["validation"], test=splits["test"], multilabel=bool(spec["multilabel"]),
                       language=spec.get("language", "en"), description=spec.get("description", ""), meta=meta)


def upload_columns(name: str):
    """The metadata columns saved with upload `name` ("NAME" or "NAME@v<k>"): a DataFrame with "text" + one
    column per metadata column, or None when the table had none (or was saved from a TextDataset)."""
    import pandas as pd

    base, version = split_version(name)
    versions = upload_versions(base)
    path = version_dir(base, version or (versions or [1])[-1]) / COLUMNS_FILE
    try:
        return pd.read_parquet(path)
    except (OSError, ValueError):
        return None


def upload_rows() -> list[dict]:
    """list_datasets() rows (see catalog.list_datasets): one per saved upload ("upload:NAME", its latest
    version) and one per older version ("upload:NAME@v<k>"); half-written folders are skipped."""
    out = []
    for name in list_uploads():
        versions = upload_versions(name)
        for version in reversed(versions):
            latest = version == versions[-1]
            info = upload_info(f"{name}@v{version}")
            if info is None:
                continue
            title = info.get("title") or name
            out.append({"name": UPLOAD_PREFIX + (name if latest else f"{name}@v{version}"),
                        "title": title if latest else f"{title} (v{version}, an older version)",
                        "task": "multilabel" if info.get("multilabel") else "multiclass",
                        "language": info.get("language", "en"), "available": True,
                        "where": str(version_dir(name, version)), "rows": info.get("rows"),
                        "description": info.get("description", ""), "hub_id": None, "licence": "", "kind": "upload",
                        "version": version, "versions": versions, "fingerprint": info.get("fingerprint")})
    return out
