"""Perturbations of a text for behavioural tests (after CheckList's `Perturb`): a registry name -> Perturbation.

Every function is `fn(text, rng, **params) -> str | None`: the perturbed text, or None when the perturbation does
not apply (no name to swap, no number, the text is unchanged). `rng` is a `random.Random` seeded per (suite seed,
test, text) by the runner, so a suite gives the same perturbed texts on every run and for every model.
Adding one = a function + a row in PERTURBATIONS (its params are checked by core.checks.suite).
"""
from __future__ import annotations

import random
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from .words import CITIES, CONTRACTIONS, COUNTRIES, FIRST_NAMES

Fn = Callable[..., "str | None"]

_LETTERS = re.compile(r"[^\W\d_]{2}", re.UNICODE)  # two adjacent letters: where a typo swap looks like a typo
_TRAILING = re.compile(r"[\s.!?,;:…]+$")
_NUMBER = re.compile(r"(?<![\w.,])\d+(?![\w.,]\d)")


def _word_re(words: list[str]) -> re.Pattern:
    """Case-insensitive whole-word matcher of `words` (longest first, so "new york" wins over "new")."""
    alts = "|".join(re.escape(w) for w in sorted(set(words), key=len, reverse=True) if w)
    return re.compile(rf"(?<!\w)(?:{alts})(?!\w)", re.IGNORECASE | re.UNICODE)


def _same_case(new: str, old: str) -> str:
    """`new` with the capitalisation pattern of `old` (UPPER, Title or as given)."""
    if old.isupper() and len(old) > 1:
        return new.upper()
    if old[:1].isupper():
        return new[:1].upper() + new[1:]
    return new


def typos(text: str, rng: random.Random, n: int = 1) -> str | None:
    """Swap `n` random pairs of adjacent letters inside words (CheckList's add_typos, restricted to letters)."""
    chars = list(text)
    spots = [m.start() for m in _LETTERS.finditer(text) if text[m.start()] != text[m.start() + 1]]
    if not spots:
        return None
    for i in rng.sample(spots, min(n, len(spots))):
        chars[i], chars[i + 1] = chars[i + 1], chars[i]
    out = "".join(chars)
    return out if out != text else None


def punctuation(text: str, rng: random.Random, mode: str = "toggle") -> str | None:
    """Final punctuation: "strip" removes it, "add" ends the text with a full stop, "toggle" does whichever
    changes the text (strip when there is some, else add)."""
    stripped = _TRAILING.sub("", text)
    if mode == "strip" or (mode == "toggle" and stripped != text):
        out = stripped
    else:
        out = stripped + "."
    return out if out != text and out.strip() else None


_CASES: dict[str, Callable[[str], str]] = {"lower": str.lower, "upper": str.upper, "title": str.title,
                                           "swap": str.swapcase}


def case(text: str, rng: random.Random, mode: str = "lower") -> str | None:
    """The whole text lower-cased ("lower"), upper-cased, title-cased or with swapped case."""
    out = _CASES[mode](text)
    return out if out != text else None


_CONTRACT = _word_re(list(CONTRACTIONS.values()))
_EXPAND = _word_re(list(CONTRACTIONS))
_CONTRACTED = {v.lower(): k for k, v in CONTRACTIONS.items()}


def contractions(text: str, rng: random.Random) -> str | None:
    """Contract expanded forms ("is not" -> "isn't") or, when there are none, expand contractions."""
    out = _CONTRACT.sub(lambda m: _same_case(_CONTRACTED[m.group().lower()], m.group()), text)
    if out == text:
        out = _EXPAND.sub(lambda m: _same_case(CONTRACTIONS[m.group().lower().replace("’", "'")], m.group()), text)
    return out if out != text else None


def _swap_from(pool: list[str], text: str, rng: random.Random, capitalised: bool = False) -> str | None:
    """Replace every occurrence of each listed word found in `text` by another word of `pool` (one choice per
    distinct word, so "Anna ... Anna" stays one person). `capitalised`: only occurrences starting with a capital
    count (so "will" or "mark" as ordinary words stay)."""
    pattern = _word_re(pool)
    hits = [m for m in pattern.finditer(text) if not capitalised or m.group()[:1].isupper()]
    if not hits:
        return None
    choice = {w: rng.choice([p for p in pool if p.lower() != w] or [w])
              for w in sorted({m.group().lower() for m in hits})}
    spans = {m.start() for m in hits}
    out = pattern.sub(lambda m: _same_case(choice[m.group().lower()], m.group()) if m.start() in spans
                      else m.group(), text)
    return out if out != text else None


def names(text: str, rng: random.Random, names: list[str] | None = None) -> str | None:
    """Swap capitalised first names for other first names (`names`, default an English list; give your own for
    other languages)."""
    return _swap_from(names or FIRST_NAMES, text, rng, capitalised=True)


def places(text: str, rng: random.Random, places: list[str] | None = None) -> str | None:
    """Swap countries for countries and cities for cities (`places`: one pool of your own instead)."""
    if places:
        return _swap_from(places, text, rng)
    once = _swap_from(COUNTRIES, text, rng) or text
    out = _swap_from(CITIES, once, rng) or once
    return out if out != text else None


def numbers(text: str, rng: random.Random, spread: float = 0.2) -> str | None:
    """Change every whole number by up to ±`spread` of its value (at least ±1; CheckList's change_number)."""
    def change(m: re.Match) -> str:
        v = int(m.group())
        step = rng.randint(1, max(1, int(v * spread)))  # never a list of candidates: numbers can be huge
        return str(v - step if v - step >= 0 and rng.random() < 0.5 else v + step)
    out = _NUMBER.sub(change, text)
    return out if out != text else None


def add_words(text: str, rng: random.Random, words: list[str], count: int = 1, position: str = "end") -> str | None:
    """Insert `count` words drawn from `words` at the "end", the "start" or a "random" word boundary."""
    if not words:
        return None
    picked = rng.sample(list(words), min(count, len(words)))
    if position == "start":
        return " ".join(picked) + " " + text
    if position == "end":
        return text.rstrip() + " " + " ".join(picked)
    parts = text.split(" ")
    for w in picked:
        parts.insert(rng.randrange(len(parts) + 1), w)
    return " ".join(parts)


def remove_words(text: str, rng: random.Random, words: list[str]) -> str | None:
    """Delete every whole-word occurrence of `words` (case-insensitive); None when none occurs."""
    out = _word_re(words).sub("", text)
    out = re.sub(r"[ \t]{2,}", " ", out).strip()
    return out if out != text and out else None


def swap_words(text: str, rng: random.Random, pairs: dict[str, str]) -> str | None:
    """Replace each word of `pairs` by its partner ({from: to}, whole words, case kept); None when none occurs."""
    lowered = {k.lower(): v for k, v in pairs.items()}
    out = _word_re(list(pairs)).sub(lambda m: _same_case(lowered[m.group().lower()], m.group()), text)
    return out if out != text else None


@dataclass(frozen=True)
class Perturbation:
    """A registered perturbation: `params` maps each setting to (allowed type(s), default; `...` = required),
    `choices` lists the allowed values of string settings."""

    name: str
    fn: Fn
    help: str
    params: dict[str, tuple[Any, Any]] = field(default_factory=dict)
    choices: dict[str, tuple[str, ...]] = field(default_factory=dict)

    def __call__(self, text: str, rng: random.Random, **params: Any) -> str | None:
        return self.fn(text, rng, **params)


_WORDS = (list, ...)
PERTURBATIONS: dict[str, Perturbation] = {p.name: p for p in (
    Perturbation("typos", typos, "swap adjacent letters (n typos per text)", {"n": (int, 1)}),
    Perturbation("punctuation", punctuation, "strip or add the final punctuation", {"mode": (str, "toggle")},
                 {"mode": ("toggle", "strip", "add")}),
    Perturbation("case", case, "change the case of the whole text", {"mode": (str, "lower")},
                 {"mode": tuple(_CASES)}),
    Perturbation("contractions", contractions, "contract expanded forms (is not -> isn't) or expand contractions"),
    Perturbation("names", names, "swap first names for other first names", {"names": (list, None)}),
    Perturbation("numbers", numbers, "change every whole number by up to ±spread of its value",
                 {"spread": ((int, float), 0.2)}),
    Perturbation("places", places, "swap countries and cities for others", {"places": (list, None)}),
    Perturbation("add_words", add_words, "insert words (e.g. the confusable words of a confusion cell)",
                 {"words": _WORDS, "count": (int, 1), "position": (str, "end")},
                 {"position": ("end", "start", "random")}),
    Perturbation("remove_words", remove_words, "delete the given words wherever they occur", {"words": _WORDS}),
    Perturbation("swap_words", swap_words, "replace words by partners ({from: to})", {"pairs": (dict, ...)}),
)}
