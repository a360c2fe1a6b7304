"""How well a pretrained encoder's word-piece vocabulary covers the training texts (pre-flight check).

An encoder only learns well from texts its vocabulary can spell: all-MiniLM-L6-v2 (English WordPiece) splits
English into ~1.3 pieces per word, but Russian into ~5.4 (mostly single letters), so every text is 4x longer,
training is slower and each piece carries little meaning. Measured on a seeded sample of up to `SAMPLE`
training texts with the backbone's own tokenizer (no special tokens):
    pieces_per_word   word pieces / words (words = runs of letters, as in core.language)
    unk_share         share of the pieces that are the tokenizer's unknown token
    p95_pieces        95th percentile of the pieces per text
Coverage is poor when pieces_per_word > `MAX_PIECES_PER_WORD` (English on an English vocabulary: 1.2-1.5;
other languages on it: 3-6) or unk_share > `MAX_UNK_SHARE`; the verdict comes with a recommendation (the RNN
with the pretrained start init_embeddings=auto picks for the language, TF-IDF, or a backbone that knows the
language). It never switches the family or the backbone: it only says so.
"""
from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

SAMPLE = 2000
MAX_PIECES_PER_WORD = 2.0
MAX_UNK_SHARE = 0.05
_WORD = re.compile(r"[^\W\d_]+")
#: a hub id that knows ~50 languages, named in the advice for users who can reach the hub
MULTILINGUAL_EXAMPLE = "sentence-transformers/paraphrase-multilingual-MiniLM-L12-v2"


@dataclass
class Coverage:
    """The measurement (see the module docstring) and its verdict; `message` is one line for the CLI / pages."""

    backbone: str
    pieces_per_word: float
    unk_share: float
    p95_pieces: int
    language: str | None
    sampled_texts: int
    poor: bool
    message: str

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def advice(language: str | None) -> str:
    """What to train instead, for texts detected as `language` (core.language code or None)."""
    from .language import NAMES
    from .models.embedding_init import AUTO, SOURCES

    start = SOURCES[AUTO[language]][0] if language in AUTO else "no pretrained start for this language"
    return (f"recommended: --model rnn (init_embeddings=auto -> {start}) or --model tfidf; online users can pick a "
            f"backbone that knows {NAMES.get(language) if language else 'the language'} with --set "
            f"backbone=ORG/NAME (e.g. {MULTILINGUAL_EXAMPLE})")


def measure(tokenizer: Any, texts: Sequence[str], backbone: str = "", sample: int = SAMPLE,
            seed: int = 0) -> Coverage:
    """Coverage of `texts` (a seeded sample of at most `sample`) by a Hugging Face `tokenizer`."""
    from .language import NAMES, detect_language, sample_texts

    texts = sample_texts(texts, sample, seed)
    ids = tokenizer(texts, add_special_tokens=False, verbose=False)["input_ids"] if texts else []
    pieces = np.array([len(x) for x in ids], dtype=float)
    words = sum(len(_WORD.findall(t)) for t in texts)
    unk = getattr(tokenizer, "unk_token_id", None)
    n_unk = sum(sum(1 for p in x if p == unk) for x in ids) if unk is not None else 0
    per_word = float(pieces.sum() / max(words, 1))
    unk_share = float(n_unk / max(pieces.sum(), 1))
    p95 = int(np.ceil(np.percentile(pieces, 95))) if len(pieces) else 0
    language = detect_language(texts).language
    poor = per_word > MAX_PIECES_PER_WORD or unk_share > MAX_UNK_SHARE
    name = backbone or "the backbone"
    what = (f"{name} splits these texts ({NAMES.get(language, language)}) into {per_word:.1f} word pieces per word "
            f"({unk_share:.1%} unknown, 95% of texts <= {p95} pieces)")
    if poor:
        message = (f"poor vocabulary coverage: {what}; an encoder's own language takes ~1.3 pieces per word, so "
                   f"training will be slow and accuracy low; {advice(language)}")
    else:
        message = f"vocabulary coverage good: {what}"
    return Coverage(backbone, round(per_word, 3), round(unk_share, 4), p95, language, len(texts), poor, message)


def backbone_coverage(backbone: str, texts: Sequence[str], sample: int = SAMPLE) -> Coverage:
    """`measure` with the tokenizer of backbone `backbone` (core.backbones: short name, folder or hub id)."""
    from .backbones import load_tokenizer

    return measure(load_tokenizer(backbone), texts, backbone, sample)
