"""Built-in datasets as declarative records: `SPECS` (name -> BuiltinSpec).

Adding a built-in = one `@parser(name)` function in parsers.py + one `BuiltinSpec` row here. Everything
else (finding the files, caching the parse, carving missing splits, split sizes without parsing, the hub
fallback, the "not found" message) reads these records; nothing branches on a dataset's name.
"""
from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass

from .parsers import PARSERS, Parser, clean_ag_news


@dataclass(frozen=True)
class FileRole:
    """One file of a built-in: `role` is the key its parser reads, `names` the alternative file names
    (the first that exists wins). `split`: which split its rows feed ("train" / "validation" / "test"), or
    None for a side file such as label names. `rows`: row counts SOURCE.md documents for some names, so
    list_datasets() can give split sizes without parsing. An `optional` file may be absent."""

    role: str
    names: tuple[str, ...]
    split: str | None = None
    rows: tuple[tuple[str, int], ...] = ()
    optional: bool = False


@dataclass(frozen=True)
class HubSource:
    """A Hugging Face hub copy (used only when the files are in no data folder and the lab is online).
    Multi-class: `text_field` + a ClassLabel `label_field`; multi-label: a Sequence(ClassLabel) field."""

    id: str
    config: str | None = None
    text_field: str = "text"
    label_field: str = "label"
    strip: bool = True
    clean: Callable[[Iterable[str]], list[str]] | None = None


@dataclass(frozen=True)
class BuiltinSpec:
    """A built-in dataset. A split no FileRole feeds is carved: test = stratified TEST_SIZE of the data
    (always seed 0), validation = stratified VALIDATION_SIZE of train (the load's seed)."""

    name: str
    title: str
    language: str
    description: str
    files: tuple[FileRole, ...]
    multilabel: bool = False
    hub: HubSource | None = None
    licence: str = ""
    #: Folder name under each data-search-path entry (default: the registry name).
    folder: str = ""

    @property
    def dirname(self) -> str:
        return self.folder or self.name

    @property
    def task(self) -> str:
        return "multilabel" if self.multilabel else "multiclass"

    @property
    def hub_id(self) -> str | None:
        return self.hub.id if self.hub else None

    @property
    def parse(self) -> Parser:
        return PARSERS[self.name]

    def ships(self, split: str) -> bool:
        """True when a file of the dataset holds `split` (else it is carved)."""
        return any(f.split == split for f in self.files)


def _spec_list() -> list[BuiltinSpec]:
    return [
        BuiltinSpec(
            "ag_news", "AG News: news topics (4 classes)", "en",
            "News titles + descriptions labelled World / Sports / Business / Sci/Tech. Train is a faithful "
            "25,740-row part of the 120k train split (or the full train.csv if you put it in the folder); "
            "test is the full official 7,600-row split.",
            (FileRole("train", ("train.csv.gz", "train.csv", "train_union_25740.csv.gz"), "train",
                      (("train_union_25740.csv.gz", 25740),)),
             FileRole("test", ("test.csv.gz", "test.csv"), "test", (("test.csv.gz", 7600),)),
             FileRole("classes", ("classes.txt",), optional=True)),
            hub=HubSource("fancyzhx/ag_news", clean=clean_ag_news), licence="research / non-commercial"),
        BuiltinSpec(
            "rusentiment", "RuSentiment: Russian VK posts (5 sentiment classes)", "ru",
            "Russian social-media posts labelled negative / neutral / positive / skip / speech; train = random "
            "+ preselected posts, test = the official test posts.",
            (FileRole("random", ("rusentiment_random_posts.csv.gz",), "train",
                      (("rusentiment_random_posts.csv.gz", 21268),)),
             FileRole("preselected", ("rusentiment_preselected_posts.csv.gz",), "train",
                      (("rusentiment_preselected_posts.csv.gz", 6950),)),
             FileRole("test", ("rusentiment_test.csv.gz",), "test", (("rusentiment_test.csv.gz", 2967),))),
            licence="CC BY-NC-SA 4.0"),
        BuiltinSpec(
            "sms_spam", "SMS Spam Collection: ham / spam", "en",
            "English SMS messages, 13% spam. No official test split: a stratified 20% test split is carved "
            "with seed 0.",
            (FileRole("data", ("sms_spam.csv.gz", "sms_spam.csv"), "train", (("sms_spam.csv.gz", 5574),)),),
            hub=HubSource("ucirvine/sms_spam", text_field="sms"), licence="research use (UCI; CC BY 4.0)"),
        BuiltinSpec(
            "goemotions", "GoEmotions: Reddit comments, 28 emotions (multi-label)", "en",
            "English Reddit comments with one or more of 27 emotions or neutral; official train / dev / test.",
            (FileRole("train", ("train.csv.gz",), "train", (("train.csv.gz", 43410),)),
             FileRole("dev", ("dev.csv.gz",), "validation", (("dev.csv.gz", 5426),)),
             FileRole("test", ("test.csv.gz",), "test", (("test.csv.gz", 5427),)),
             FileRole("labels", ("labels.txt",))),
            multilabel=True,
            hub=HubSource("google-research-datasets/go_emotions", config="simplified", label_field="labels",
                          strip=False),
            licence="Apache-2.0"),
        BuiltinSpec(
            "jigsaw_toxic", "Jigsaw toxic comments: 6 labels (tiny sample, code paths only)", "en",
            "300 train + 101 test Wikipedia comments with 6 toxicity labels; too small to train on, kept to "
            "exercise the multi-label code paths.",
            (FileRole("train", ("train_head300.csv.gz",), "train", (("train_head300.csv.gz", 300),)),
             FileRole("test", ("test_examples_ibm101.csv.gz",), "test", (("test_examples_ibm101.csv.gz", 101),))),
            multilabel=True, licence="CC0 labels, CC BY-SA 3.0 text"),
        BuiltinSpec(
            "jigsaw_toxic_binary", "Jigsaw toxic / non-toxic (balanced)", "en",
            "12,180 Wikipedia comments from the Jigsaw test set, half toxic; a stratified 20% test split is "
            "carved with seed 0.",
            (FileRole("data", ("test_toxic_binary_balanced_12180.csv.gz",), "train",
                      (("test_toxic_binary_balanced_12180.csv.gz", 12180),)),),
            licence="CC0 labels, CC BY-SA 3.0 text", folder="jigsaw_toxic"),
    ]


#: Registry name -> spec, in the order list_datasets() shows them.
SPECS: dict[str, BuiltinSpec] = {s.name: s for s in _spec_list()}
