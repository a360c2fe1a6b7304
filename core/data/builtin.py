"""Loading built-in datasets: find a spec's files on `config.data_search_path()`, parse them once (cached
on the files' mtime and size), carve the splits the files do not ship; the Hugging Face hub is the fallback
when the files are in no data folder and the lab is online."""
from __future__ import annotations

import importlib.util
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np

from .. import config
from .parsers import Part, Raw
from .specs import SPECS, BuiltinSpec
from .splits import TEST_SIZE, VALIDATION_SIZE, carve, duplicate_groups, n_hold
from .types import DataError, Split, TextDataset


def resolve_files(spec: BuiltinSpec, folder: Path) -> dict[str, Path] | None:
    """Role -> existing file in `folder` (first alternative that exists), or None if a required one is
    missing. Optional files that are absent are left out."""
    found: dict[str, Path] = {}
    for role in spec.files:
        path = next((folder / f for f in role.names if (folder / f).is_file()), None)
        if path is not None:
            found[role.role] = path
        elif not role.optional:
            return None
    return found


def locate(spec: BuiltinSpec) -> tuple[Path, dict[str, Path]] | None:
    """(folder, role -> file) from the first data-search-path entry holding every required file."""
    for base in config.data_search_path():
        folder = base / spec.dirname
        if folder.is_dir():
            files = resolve_files(spec, folder)
            if files is not None:
                return folder, files
    return None


def _file_key(files: dict[str, Path]) -> tuple:
    """Hashable identity of the files (role, path, mtime, size), so the parse cache notices edits."""
    return tuple(sorted((role, str(p), p.stat().st_mtime_ns, p.stat().st_size) for role, p in files.items()))


@lru_cache(maxsize=16)
def _parse_cached(name: str, key: tuple) -> Raw:
    files = {role: Path(path) for role, path, _, _ in key}
    raw = SPECS[name].parse(files)
    for part in (raw.train, raw.validation, raw.test):
        if part is not None:
            part[1].flags.writeable = False  # shared between calls: callers get copies
    return raw


def _from_raw(spec: BuiltinSpec, raw: Raw, source: str, seed: int) -> TextDataset:
    """Splits from a parse: shipped splits as they are, missing test / validation carved."""
    def split(part: Part) -> Split:
        return Split(list(part[0]), np.array(part[1], dtype=np.int64))

    train = split(raw.train)
    meta: dict[str, Any] = {"source": source, **raw.notes}
    # exact-duplicate texts of the train file(s); carving keeps each group inside one split
    meta["duplicate_groups"] = len(duplicate_groups(train.texts))
    if raw.test is None:
        # The carved test split never depends on `seed`, so every model of this dataset sees the same test rows.
        train, test = carve(train, TEST_SIZE, config.SEED)
        meta["test_split"] = f"carved: stratified {TEST_SIZE:.0%} of the data (seed {config.SEED})"
    else:
        test = split(raw.test)
        meta["test_split"] = "official"
    if raw.validation is None:
        train, validation = carve(train, VALIDATION_SIZE, seed)
        meta["validation_split"] = f"carved: stratified {VALIDATION_SIZE:.0%} of train (seed {seed})"
    else:
        validation = split(raw.validation)
        meta["validation_split"] = "official"
    return TextDataset(name=spec.name, labels=list(raw.labels), train=train, validation=validation, test=test,
                       multilabel=spec.multilabel, language=spec.language, description=spec.description, meta=meta)


def _not_found(spec: BuiltinSpec, why: str) -> DataError:
    folders = "\n".join(f"  - {p / spec.dirname}" for p in config.data_search_path())
    need = ", ".join(" or ".join(role.names) for role in spec.files if not role.optional)
    return DataError(
        f"dataset {spec.name!r} is in no data folder. Searched:\n{folders}\n"
        f"Each folder needs: {need}.\n"
        f"Fix: set TEXTLAB_DATA_DIR to a folder holding a {spec.dirname}/ sub-folder with those files "
        f"(e.g. a copy of the shared reference data). {why}"
    )


def hub_available() -> bool:
    return not config.offline() and importlib.util.find_spec("datasets") is not None


def _load_from_hub(spec: BuiltinSpec) -> Raw:
    """Read a dataset from the Hugging Face hub with the `datasets` package (only when online)."""
    hub = spec.hub
    if hub is None:
        raise _not_found(spec, "There is no Hugging Face hub copy of it to fall back on.")
    if config.offline():
        raise _not_found(spec, f"Offline (HF_HUB_OFFLINE / TEXTLAB_OFFLINE is set), so the hub copy "
                               f"{hub.id!r} was not tried.")
    try:
        import datasets as hf_datasets
    except ImportError:
        raise _not_found(spec, f"The hub copy {hub.id!r} needs the `datasets` package "
                               f"(pip install datasets), which is not installed.") from None
    try:
        dd = hf_datasets.load_dataset(hub.id, hub.config) if hub.config else hf_datasets.load_dataset(hub.id)
    except Exception as e:  # network, auth, renamed dataset...: one clear message
        raise _not_found(spec, f"Loading {hub.id!r} from the hub failed: {e}") from e
    feature = dd["train"].features[hub.label_field]
    names = list(feature.feature.names if spec.multilabel else feature.names)

    def part(rows) -> Part:
        texts = [t.strip() for t in rows[hub.text_field]] if hub.strip else list(rows[hub.text_field])
        if hub.clean is not None:
            texts = hub.clean(texts)
        if not spec.multilabel:
            return texts, np.asarray(rows[hub.label_field], dtype=np.int64)
        y = np.zeros((len(texts), len(names)), dtype=np.int64)
        for i, ids in enumerate(rows[hub.label_field]):
            y[i, ids] = 1
        return texts, y

    return Raw(labels=names, train=part(dd["train"]), test=part(dd["test"]) if "test" in dd else None,
               validation=part(dd["validation"]) if spec.ships("validation") and "validation" in dd else None)


def load_builtin(name: str, seed: int) -> TextDataset:
    """Built-in `name` with every row (max_train is applied by the caller). Raises DataError when the files
    are in no data folder and no hub copy can be read (the message lists the folders searched)."""
    spec = SPECS[name]
    located = locate(spec)
    if located is None:
        raw = _load_from_hub(spec)
        return _from_raw(spec, raw, f"hub:{spec.hub_id}", seed)
    folder, files = located
    ds = _from_raw(spec, _parse_cached(spec.name, _file_key(files)), str(folder), seed)
    ds.meta["files"] = sorted(p.name for p in files.values())
    return ds


def documented_rows(spec: BuiltinSpec, files: dict[str, Path]) -> dict[str, int] | None:
    """Final split sizes from the SOURCE.md counts of the files in use (no parsing), or None when a file
    feeding a split has no documented count (e.g. a user's own copy)."""
    per_split = {"train": 0, "validation": 0, "test": 0}
    for role in spec.files:
        if role.split is None:
            continue
        rows = dict(role.rows).get(files[role.role].name)
        if rows is None:
            return None
        per_split[role.split] += rows
    if not spec.ships("test"):
        per_split["test"] = n_hold(per_split["train"], TEST_SIZE)
        per_split["train"] -= per_split["test"]
    if not spec.ships("validation"):
        per_split["validation"] = n_hold(per_split["train"], VALIDATION_SIZE)
        per_split["train"] -= per_split["validation"]
    return per_split


def builtin_rows() -> list[dict]:
    """One list_datasets() row per built-in (see catalog.list_datasets), without parsing any file."""
    out = []
    for spec in SPECS.values():
        located = locate(spec)
        rows = None
        if located is not None:
            where: str | None = str(located[0])
            rows = documented_rows(spec, located[1])
        elif spec.hub_id and hub_available():
            where = f"hub:{spec.hub_id}"
        else:
            where = None
        out.append({"name": spec.name, "title": spec.title, "task": spec.task, "language": spec.language,
                    "available": where is not None, "where": where, "rows": rows, "description": spec.description,
                    "hub_id": spec.hub_id, "licence": spec.licence, "kind": "builtin"})
    return out
