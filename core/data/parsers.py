"""One parser per built-in dataset, registered in `PARSERS` (built-in name -> parser).

A parser reads the files its spec's roles name (`files`: role -> path, see specs.py) and returns a `Raw`:
label names and (texts, y) per shipped split. Splitting, caching and the hub fallback happen elsewhere.
"""
from __future__ import annotations

import html
import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from .types import DataError

#: (texts, y): y is (n,) class indices or (n, k) 0/1.
Part = tuple[list[str], np.ndarray]


@dataclass
class Raw:
    """What a built-in parser returns: label names and per-split (texts, y); None = split not shipped."""

    labels: list[str]
    train: Part
    test: Part | None
    validation: Part | None = None
    notes: dict = field(default_factory=dict)


Parser = Callable[[dict[str, Path]], Raw]
#: Built-in name -> its parser (filled by @parser below).
PARSERS: dict[str, Parser] = {}


def parser(name: str) -> Callable[[Parser], Parser]:
    """Register the decorated function as the parser of built-in `name`."""
    def register(fn: Parser) -> Parser:
        PARSERS[name] = fn
        return fn
    return register


def read_csv(path: Path, **kw: Any):
    """pandas.read_csv where only empty cells are missing: a text such as "NA" or "null" stays a text."""
    import pandas as pd

    kw.setdefault("keep_default_na", False)
    kw.setdefault("na_values", [""])
    return pd.read_csv(path, **kw)


def texts_of(series) -> list[str]:
    """Column -> list of str (missing -> "")."""
    return ["" if v is None or (isinstance(v, float) and v != v) else str(v) for v in series.tolist()]


def index_labels(values: Sequence[str], labels: Sequence[str], where: str) -> np.ndarray:
    """Label names -> (n,) indices into `labels`; an unknown name is a DataError naming it."""
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
RUSENTIMENT_LABELS = ["negative", "neutral", "positive", "skip", "speech"]
JIGSAW_LABELS = ["toxic", "severe_toxic", "obscene", "threat", "insult", "identity_hate"]


def _ag_file(path: Path) -> Part:
    """A canonical AG News file: no header; 1-based class, title, description -> "title description"."""
    df = read_csv(path, header=None, names=["label", "title", "description"], dtype=str)
    texts = [a + " " + b for a, b in zip(texts_of(df["title"]), texts_of(df["description"]))]
    return texts, df["label"].astype("int64").to_numpy() - 1


@parser("ag_news")
def parse_ag_news(files: dict[str, Path]) -> Raw:
    train_path = files["train"]
    if train_path.name.startswith("train_union"):  # the shared sample: header, 0-based label, joined text
        df = read_csv(train_path, usecols=["label", "text"], dtype={"label": "int64", "text": str})
        train = (texts_of(df["text"]), df["label"].to_numpy(np.int64))
    else:
        train = _ag_file(train_path)
    test = _ag_file(files["test"])
    labels = AG_NEWS_LABELS
    classes = files.get("classes")
    if classes is not None and classes.exists():
        labels = [line.strip() for line in classes.read_text("utf-8").splitlines() if line.strip()] or labels
    return Raw(
        labels=list(labels),
        train=(clean_ag_news(train[0]), train[1]),
        test=(clean_ag_news(test[0]), test[1]),
        notes={"text_cleanup": "ag_news escapes undone: backslash line breaks -> space, '\\$' -> '$', "
               "' #39;'-style and &lt;/&gt;/&amp; entities -> characters (core.data.clean_ag_news)"},
    )


@parser("rusentiment")
def parse_rusentiment(files: dict[str, Path]) -> Raw:
    frames = [read_csv(files[k], dtype=str) for k in ("random", "preselected")]
    texts = texts_of(frames[0]["text"]) + texts_of(frames[1]["text"])
    labels = texts_of(frames[0]["label"]) + texts_of(frames[1]["label"])
    dt = read_csv(files["test"], dtype=str)
    return Raw(
        labels=RUSENTIMENT_LABELS,
        train=(texts, index_labels(labels, RUSENTIMENT_LABELS, "rusentiment train")),
        test=(texts_of(dt["text"]), index_labels(texts_of(dt["label"]), RUSENTIMENT_LABELS, "rusentiment test")),
        notes={"train_files": "rusentiment_random_posts + rusentiment_preselected_posts (the paper's setup)"},
    )


@parser("sms_spam")
def parse_sms_spam(files: dict[str, Path]) -> Raw:
    df = read_csv(files["data"], dtype=str)
    labels = ["ham", "spam"]
    return Raw(labels=labels, train=(texts_of(df["text"]), index_labels(texts_of(df["label"]), labels, "sms_spam")),
               test=None)


@parser("goemotions")
def parse_goemotions(files: dict[str, Path]) -> Raw:
    labels = [x.strip() for x in files["labels"].read_text("utf-8").splitlines() if x.strip()]
    k = len(labels)

    def one(path: Path) -> Part:
        df = read_csv(path, dtype=str, usecols=["text", "label_ids"])
        ids = texts_of(df["label_ids"])
        y = np.zeros((len(ids), k), dtype=np.int64)
        rows, cols = [], []
        for i, s in enumerate(ids):
            for part in s.split(","):
                if part.strip():
                    rows.append(i)
                    cols.append(int(part))
        y[rows, cols] = 1
        return texts_of(df["text"]), y

    return Raw(labels=labels, train=one(files["train"]), validation=one(files["dev"]), test=one(files["test"]))


@parser("jigsaw_toxic")
def parse_jigsaw(files: dict[str, Path]) -> Raw:
    def one(path: Path) -> Part:
        df = read_csv(path, dtype={"comment_text": str})
        return texts_of(df["comment_text"]), df[JIGSAW_LABELS].to_numpy(np.int64)

    return Raw(labels=JIGSAW_LABELS, train=one(files["train"]), test=one(files["test"]),
               notes={"warning": "tiny samples (300 train / 101 test rows): use for code paths, not for training"})


@parser("jigsaw_toxic_binary")
def parse_jigsaw_binary(files: dict[str, Path]) -> Raw:
    df = read_csv(files["data"], dtype={"comment_text": str})
    return Raw(labels=["non-toxic", "toxic"], train=(texts_of(df["comment_text"]), df["toxic"].to_numpy(np.int64)),
               test=None)
