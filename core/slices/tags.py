"""Automatic tags of evaluated texts: a registry of `Tag(name, description, fn)` rows, each fn(ctx) -> (n,) bool
mask over the evaluated rows (or None when the tag does not apply, e.g. no training data to compare with).

Adding a tag = a function + a row in TAGS. Patterns are script-neutral where they can be (digits, URLs, e-mails,
emoji, "?"); negation knows English and Russian. Length buckets are the thirds of the evaluated texts' word
counts, so they mean the same on tweets and on news articles.
"""
from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import cached_property

import numpy as np

from ..predictions import Predictions

URL = re.compile(r"https?://\S+|www\.\w[\w-]*\.\S+", re.I)
EMAIL = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")
MENTION = re.compile(r"(?<![\w.@])@\w{2,}")
# pictographs, symbols, dingbats, flags and the variation selector / ZWJ of emoji sequences
EMOJI = re.compile("[\U0001F000-\U0001FAFF\u2600-\u27BF\u2B00-\u2BFF\U0001F1E6-\U0001F1FF\uFE0F\u200D]")
NEGATION = re.compile(r"\b(?:not|no|never|none|nobody|nothing|neither|nor|nowhere|without|cannot)\b|n't\b"
                      r"|(?<!\w)(?:не|нет|ни|никогда|ничего|никто|нельзя)(?!\w)", re.I)
DIGIT = re.compile(r"\d")
LETTER = re.compile(r"[^\W\d_]")
LATIN = re.compile(r"[A-Za-z\u00C0-\u024F\u1E00-\u1EFF]")
#: Share of upper-case letters (among at least ALL_CAPS_MIN_LETTERS cased letters) that makes a text "all caps".
ALL_CAPS_SHARE, ALL_CAPS_MIN_LETTERS = 0.7, 8
#: Share of evaluated texts the "low confidence" tag holds (the least certain predictions).
LOW_CONFIDENCE_SHARE = 0.1


@dataclass
class TagContext:
    """What tags read. preds: the evaluated rows (texts, y_true, proba); train_texts / train_y: the training
    split of the model's dataset (None when it cannot be loaded: duplicate tags are then skipped)."""

    preds: Predictions
    train_texts: Sequence[str] | None = None
    train_y: np.ndarray | None = None

    @property
    def texts(self) -> list[str]:
        return self.preds.texts

    def matches(self, pattern: re.Pattern) -> np.ndarray:
        return np.fromiter((pattern.search(t) is not None for t in self.texts), bool, len(self.texts))

    @cached_property
    def word_counts(self) -> np.ndarray:
        """(n,) words per text (whitespace-separated)."""
        return np.fromiter((len(t.split()) for t in self.texts), np.int64, len(self.texts))

    @cached_property
    def length_cuts(self) -> tuple[float, float]:
        """Word counts at the 1/3 and 2/3 quantiles of the evaluated texts."""
        if not len(self.word_counts):
            return (0.0, 0.0)
        lo, hi = np.quantile(self.word_counts, [1 / 3, 2 / 3])
        return float(lo), float(hi)

    @cached_property
    def duplicates(self):
        """core.slices.duplicates.DuplicateMatch of the texts against the training split (None without one)."""
        if self.train_texts is None or self.train_y is None:
            return None
        from .duplicates import match_training

        return match_training(self.texts, self.preds.y_true, self.train_texts, self.train_y)

    @cached_property
    def certainty(self) -> np.ndarray:
        """(n,) how sure the model is: the top probability (multi-label: the smallest distance of a label's
        probability from the threshold, the label it is least sure about)."""
        p = self.preds.proba
        if self.preds.multilabel:
            return np.abs(p - self.preds.threshold).min(axis=1)
        return p.max(axis=1)


def _length(part: int) -> Callable[[TagContext], np.ndarray]:
    def fn(ctx: TagContext) -> np.ndarray:
        lo, hi = ctx.length_cuts
        w = ctx.word_counts
        return [w <= lo, (w > lo) & (w <= hi), w > hi][part]
    return fn


def _all_caps(ctx: TagContext) -> np.ndarray:
    def caps(t: str) -> bool:
        cased = [c for c in t if c.isupper() or c.islower()]
        return len(cased) >= ALL_CAPS_MIN_LETTERS and sum(c.isupper() for c in cased) >= ALL_CAPS_SHARE * len(cased)
    return np.fromiter((caps(t) for t in ctx.texts), bool, len(ctx.texts))


def _non_latin(ctx: TagContext) -> np.ndarray:
    def other_script(t: str) -> bool:
        letters = LETTER.findall(t)
        return bool(letters) and len(LATIN.findall(t)) < len(letters)
    return np.fromiter((other_script(t) for t in ctx.texts), bool, len(ctx.texts))


def _low_confidence(ctx: TagContext) -> np.ndarray:
    c = ctx.certainty
    if not len(c):
        return np.zeros(0, bool)
    return c <= np.quantile(c, LOW_CONFIDENCE_SHARE)


def _suspicion(ctx: TagContext) -> np.ndarray:
    from ..explain.label_quality import label_quality

    p = ctx.preds
    return label_quality(p.y_true, p.proba, multilabel=p.multilabel)["flag"].to_numpy(bool)


def _dup(field: str) -> Callable[[TagContext], np.ndarray | None]:
    def fn(ctx: TagContext) -> np.ndarray | None:
        d = ctx.duplicates
        return None if d is None else getattr(d, field)
    return fn


@dataclass(frozen=True)
class Tag:
    """One automatic tag: `name` (shown, "length: short"), `description` (one sentence), fn(ctx) -> mask."""

    name: str
    description: str
    fn: Callable[[TagContext], np.ndarray | None]


TAGS: list[Tag] = [
    Tag("length: short", "the shortest third of the texts by word count", _length(0)),
    Tag("length: medium", "the middle third of the texts by word count", _length(1)),
    Tag("length: long", "the longest third of the texts by word count", _length(2)),
    Tag("digits", "contains a digit", lambda c: c.matches(DIGIT)),
    Tag("url", "contains a web address (http://, https:// or www.)", lambda c: c.matches(URL)),
    Tag("e-mail", "contains an e-mail address", lambda c: c.matches(EMAIL)),
    Tag("mention", "contains an @mention", lambda c: c.matches(MENTION)),
    Tag("emoji", "contains an emoji or pictograph", lambda c: c.matches(EMOJI)),
    Tag("negation", "contains a negation (not, no, never, n't, without...; не, нет, ни...)",
        lambda c: c.matches(NEGATION)),
    Tag("question", "contains a question mark", lambda c: np.array(["?" in t for t in c.texts], bool)),
    Tag("all caps", f"at least {ALL_CAPS_SHARE:.0%} of its letters are capitals", _all_caps),
    Tag("non-Latin script", "most of its letters are not Latin (Cyrillic, Greek, Arabic, CJK...)", _non_latin),
    Tag("duplicate of training", "the same text (ignoring case, spaces and punctuation) is in the training split",
        _dup("exact")),
    Tag("near duplicate of training", "a training text shares most of its word 3-grams (Jaccard >= threshold), "
        "not an exact duplicate", _dup("near")),
    Tag("duplicate, other label", "an exact or near duplicate of a training text that carries a different label",
        _dup("conflict")),
    Tag("low confidence", f"the {LOW_CONFIDENCE_SHARE:.0%} least certain predictions", _low_confidence),
    Tag("label suspicion", "flagged by label-quality scoring (core.explain.label_quality): the given label is "
        "probably wrong", _suspicion),
]


def tag_masks(ctx: TagContext, tags: Sequence[Tag] = TAGS) -> dict[str, np.ndarray]:
    """{tag name: (n,) bool mask} for every tag that applies (fn returned a mask)."""
    out = {}
    for tag in tags:
        mask = tag.fn(ctx)
        if mask is not None:
            out[tag.name] = np.asarray(mask, bool)
    return out


def descriptions() -> dict[str, str]:
    return {t.name: t.description for t in TAGS}
