"""`TokenAttribution`, the output of every explainer, and the mapping of any tokenisation onto words.

Explainers speak in different units (SHAP on regex words, integrated gradients on word pieces, a TF-IDF
model on vocabulary n-grams). `align_to_words` maps all of them onto `core.base.simple_tokenize` words of
the original text so they can be compared (agreement) and aggregated (mean attribution per word).
"""
from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field

import numpy as np

from ..base import WORD_PATTERN

#: core.base.simple_tokenize's pattern (words with their contractions, single punctuation marks), with offsets.
WORD_RE = WORD_PATTERN

#: Tokens that stand for no characters of the text: BERT's, RoBERTa / SentencePiece's, and the from-scratch
#: tokenizers' (core.tokenization.SPECIALS: "<pad>", "<cls>"; "<sep>" for a pair separator).
SPECIAL_TOKENS = frozenset({"[CLS]", "[SEP]", "[PAD]", "[MASK]", "<s>", "</s>", "<pad>", "<mask>", "<bos>", "<eos>",
                            "<cls>", "<sep>"})
#: Tokens that stand for one word of the text the vocabulary lacks: kept (aligned to the next word), not dropped.
UNKNOWN_TOKENS = frozenset({"[UNK]", "<unk>"})
_SPACE = re.compile(r"\s+")
_PIECE_MARKERS = ("##", "\u2581", "\u0120")  # BERT continuation, SentencePiece / GPT-2 word starts


@dataclass
class TokenAttribution:
    """Per-token attribution of one text towards one class.

    tokens:      T display tokens.
    values:      (T,) float; positive pushes towards `class_index`.
    base_value:  model output with every token removed (SHAP / IG baseline); NaN when unknown.
    class_index: explained class.
    method:      "shap_partition", "linear", "integrated_gradients", "attention_cls", ...
    extra:       method details (max_evals, seconds, convergence delta, ...).
    """

    tokens: list[str]
    values: np.ndarray
    base_value: float
    class_index: int
    method: str
    extra: dict = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.values = np.asarray(self.values, dtype=np.float64).reshape(-1)
        if len(self.tokens) != len(self.values):
            raise ValueError(f"{len(self.tokens)} tokens but {len(self.values)} values")

    def top(self, k: int = 10, absolute: bool = True) -> list[tuple[str, float]]:
        """The k tokens with the largest (absolute) value, largest first."""
        key = np.abs(self.values) if absolute else self.values
        order = np.argsort(-key, kind="stable")[:k]
        return [(self.tokens[i], float(self.values[i])) for i in order]

    def to_words(self, text: str) -> TokenAttribution:
        """The same attribution on `simple_tokenize(text)` words (see `align_to_words`)."""
        words, values = align_to_words(self.tokens, self.values, text)
        return TokenAttribution(words, values, self.base_value, self.class_index, self.method, dict(self.extra))


def word_spans(text: str) -> list[tuple[int, int]]:
    """Character (start, end) of each `simple_tokenize` word."""
    return [m.span() for m in WORD_RE.finditer(text)]


def _normalise(text: str) -> tuple[str, list[int]]:
    """Lower-case, accent-stripped text and, for each of its characters, the index in `text`.

    Uncased BERT tokenizers strip accents, so "café" must match the piece "cafe".
    """
    chars: list[str] = []
    index: list[int] = []
    for i, ch in enumerate(text):
        for c in unicodedata.normalize("NFD", ch.lower()):
            if unicodedata.category(c) == "Mn":
                continue
            chars.append(c)
            index.append(i)
    return "".join(chars), index


def _clean_token(token: str) -> str:
    for marker in _PIECE_MARKERS:
        if token.startswith(marker):
            token = token[len(marker):]
            break
    return _normalise(token)[0].strip()


def _positional(tokens: list[str], text: str) -> list[tuple[int, int] | None] | None:
    """Character span of each token if the tokens appear in text order, else None."""
    norm, index = _normalise(text)
    cursor, spans, skipped = 0, [], 0
    for tok in tokens:
        if tok in SPECIAL_TOKENS:
            spans.append(None)
            continue
        if tok in UNKNOWN_TOKENS:  # stands for the next word
            m = WORD_RE.search(norm, cursor)
            if m is None:
                return None
            start, end = m.span()
        else:
            clean = _clean_token(tok)
            if not clean:
                spans.append(None)
                continue
            start = norm.find(clean, cursor)
            if start < 0:
                return None
            end = start + len(clean)
        skipped += len(_SPACE.sub("", norm[cursor:start]))
        spans.append((index[start], index[end - 1] + 1))
        cursor = end
    # Position-level tokens (pieces, SHAP words) cover the text up to truncation; a list that skips much of it is
    # feature-level (a linear model's vocabulary terms), which bag mode handles correctly even if it looks ordered.
    if skipped > 0.2 * max(1, len(_SPACE.sub("", norm))):
        return None
    return spans


def align_to_words(tokens: list[str], values, text: str) -> tuple[list[str], np.ndarray]:
    """Map per-token values onto `simple_tokenize(text)` words -> (words, values (W,)).

    Positional mode (tokens follow the text, e.g. word pieces, SHAP segments): each word gets the sum of
    the tokens overlapping it; special tokens ([CLS], <s>, ...) are dropped; "##"/"▁"/"Ġ" markers, case
    and accents are ignored. Bag mode (tokens not in text order, e.g. a linear model's vocabulary
    n-grams): each token's value is split evenly over its occurrences in the text and over the words of
    an n-gram. Tokens found nowhere are dropped; words no token covers get 0.
    """
    values = np.asarray(values, dtype=np.float64).reshape(-1)
    spans = word_spans(text)
    words = [text[s:e] for s, e in spans]
    out = np.zeros(len(words))
    if not words:
        return words, out
    tok_spans = _positional(list(tokens), text)
    if tok_spans is not None:
        starts = np.array([s for s, _ in spans])
        ends = np.array([e for _, e in spans])
        for span, v in zip(tok_spans, values):
            if span is None:
                continue
            hit = np.nonzero((starts < span[1]) & (ends > span[0]))[0]
            if len(hit):
                out[hit] += v / len(hit)  # a token spanning several words (rare) is split evenly
        return words, out
    norm_words = [_normalise(w)[0] for w in words]
    for tok, v in zip(tokens, values):
        parts = [_clean_token(p) for p in str(tok).split()]
        parts = [p for p in parts if p]
        if not parts:
            continue
        n = len(parts)
        starts = [i for i in range(len(norm_words) - n + 1) if norm_words[i:i + n] == parts]
        for i in starts:
            out[i:i + n] += v / (len(starts) * n)
    return words, out
