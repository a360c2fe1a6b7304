"""A small language detector for training texts: enough to pick pretrained word vectors (init_embeddings=auto).

Rule, on a seeded sample of up to `SAMPLE` texts (letters only, digits and punctuation ignored):
    1. Cyrillic letters >= 50% of all letters                         -> "ru"
    2. Latin letters >= 50% and English function words ("the", "and", "of", ...) >= 4% of the words -> "en"
    3. anything else (other scripts, Latin text without English function words, no letters) -> None
English running text has 30-45% function words; French, German, Spanish or synthetic tokens have almost none
of these particular ones, so 4% separates them with a wide margin. No dependency, ~1 ms per 1,000 texts.
"""
from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import asdict, dataclass

import numpy as np

SAMPLE = 2000
SCRIPT_SHARE = 0.5
FUNCTION_SHARE = 0.04
ENGLISH_FUNCTION_WORDS = frozenset(
    "the a an and or of to in on at for with by from is are was were be been it this that these those as not "
    "but have has had will would can could do does did i you he she we they my your his her their our what "
    "which who when there if so than then".split())
_CYRILLIC = re.compile(r"[\u0400-\u04FF]")
_LATIN = re.compile(r"[A-Za-z\u00C0-\u024F]")
_WORD = re.compile(r"[^\W\d_]+")
NAMES = {"en": "English", "ru": "Russian", None: "no supported language"}


@dataclass
class Detection:
    """language ("en" / "ru" / None), the sample's letter shares (0..1) and share of English function words."""

    language: str | None
    cyrillic_share: float
    latin_share: float
    english_function_share: float
    sampled_texts: int

    @property
    def name(self) -> str:
        return NAMES[self.language]

    def as_dict(self) -> dict:
        return {k: (round(v, 4) if isinstance(v, float) else v) for k, v in asdict(self).items()}


def sample_texts(texts: Sequence[str], sample: int = SAMPLE, seed: int = 0) -> list[str]:
    """A seeded sample of at most `sample` of `texts` (all of them, in order, when there are no more), as str."""
    texts = [str(t) for t in texts]
    if len(texts) > sample:
        texts = [texts[i] for i in np.random.default_rng(seed).choice(len(texts), sample, replace=False)]
    return texts


def detect_language(texts: Sequence[str], sample: int = SAMPLE, seed: int = 0) -> Detection:
    """Detect the language of `texts` from a seeded sample of at most `sample` of them (see the module rule)."""
    texts = sample_texts(texts, sample, seed)
    joined = " ".join(str(t) for t in texts)
    cyr, lat = len(_CYRILLIC.findall(joined)), len(_LATIN.findall(joined))
    letters = sum(1 for ch in joined if ch.isalpha())
    words = [w.lower() for w in _WORD.findall(joined)]
    func = sum(w in ENGLISH_FUNCTION_WORDS for w in words) / max(len(words), 1)
    cyr_share, lat_share = cyr / max(letters, 1), lat / max(letters, 1)
    if cyr_share >= SCRIPT_SHARE:
        lang = "ru"
    elif lat_share >= SCRIPT_SHARE and func >= FUNCTION_SHARE:
        lang = "en"
    else:
        lang = None
    return Detection(lang, cyr_share, lat_share, func, len(texts))
