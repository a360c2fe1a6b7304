"""The inputs of a test: (original, perturbed) pairs for INV / DIR, filled templates for MFT. Seeded, so a suite
yields the same cases on every run and for every model (variants are compared on identical inputs)."""
from __future__ import annotations

import math
import random
import re
from collections.abc import Sequence
from dataclasses import dataclass

from .perturb import PERTURBATIONS
from .suite import CheckTest

_SLOT = re.compile(r"\{(\w+)\}")


@dataclass(frozen=True)
class Case:
    """One input of a test: `text` is what the model sees (the perturbed text, or the filled template);
    `original` is the unperturbed text ("" for MFT)."""

    original: str
    text: str


def slots(template: str) -> list[str]:
    """The {slot} names of a template, in order of first use (plain names only: no format-string features)."""
    return list(dict.fromkeys(_SLOT.findall(template)))


def fill(template: str, values: dict[str, str]) -> str:
    """The template with each {slot} replaced by values[slot] (a regex substitution, never str.format)."""
    return _SLOT.sub(lambda m: values.get(m.group(1), m.group()), template)


def text_rng(seed: int, test: str, text: str) -> random.Random:
    """The generator of one (suite seed, test, text): independent of the order and number of texts."""
    return random.Random(f"{seed}\x1f{test}\x1f{text}")


def perturbed_cases(test: CheckTest, seed: int) -> tuple[list[Case], int]:
    """(cases, skipped): a Case per text the perturbation applies to; `skipped` counts texts it does not apply
    to (returned None or left unchanged)."""
    fn = PERTURBATIONS[test.perturbation]
    cases, skipped = [], 0
    for text in test.texts:
        out = fn(text, text_rng(seed, test.name, text), **test.params)
        if out is None or out == text:
            skipped += 1
        else:
            cases.append(Case(text, out))
    return cases, skipped


def _decode(index: int, sizes: Sequence[int]) -> list[int]:
    """Mixed-radix digits of `index` (position in the product of lists of `sizes`)."""
    out = []
    for s in reversed(sizes):
        index, r = divmod(index, s)
        out.append(r)
    return out[::-1]


def template_cases(test: CheckTest, seed: int) -> list[Case]:
    """Every filling of the template (slot values combined), or a seeded sample of `max_cases` of them when
    there are more; the product is never built in full."""
    names = slots(test.template)
    lists = [test.fill[n] for n in names]
    sizes = [len(v) for v in lists]
    total = math.prod(sizes) if names else 1
    rng = random.Random(f"{seed}\x1f{test.name}")
    picks = range(total) if total <= test.max_cases else sorted(rng.sample(range(total), test.max_cases))
    out = []
    for index in picks:
        digits = _decode(index, sizes)
        out.append(Case("", fill(test.template, {n: lists[j][d] for j, (n, d) in enumerate(zip(names, digits))})))
    return list(dict.fromkeys(out))


def cases_of(test: CheckTest, seed: int) -> tuple[list[Case], int]:
    """(cases, skipped) of any test type."""
    if test.type == "MFT":
        return template_cases(test, seed), 0
    return perturbed_cases(test, seed)
