"""How far to trust one attribution: stability and a deletion check (ERASER's comprehensiveness and sufficiency).

- Deletion check (DeYoung et al. 2020, ERASER): comprehensiveness = p(x) - p(x without its top-k words), sufficiency
  = p(x) - p(only the top-k words). A faithful attribution has a large comprehensiveness (removing the words it
  names hurts) and a small sufficiency (those words alone keep the score); both are set against the same numbers
  for k random words (mean of `n_random` seeded draws), which is what an attribution must beat.
- Stability: the share of the top-k words two runs of the same explainer agree on, the second run at another
  budget (half of it, or twice when half is below the minimum) of the explainer's budget `Param`. Explainers
  without a budget (exact linear contributions) are deterministic: the note says so and no rerun is made.

Every number is on the explained score: p(class), or p(class) - p(contrast) for a "why A and not B" attribution.
Cheap by default: k=5, 3 random draws = one batch of 2 + 2 * 3 texts, plus the rerun for stability.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

from .attribution import TokenAttribution
from .edits import ProbaFn, class_score, keep_only, rebuild

DEFAULT_K = 5
DEFAULT_RANDOM = 3


@dataclass
class Trust:
    """Trust numbers of one attribution (scores in probability units, overlap in [0, 1])."""

    k: int
    comprehensiveness: float
    sufficiency: float
    random_comprehensiveness: float
    random_sufficiency: float
    n_random: int
    stability: float | None
    stability_note: str
    top_words: list[str]

    def lines(self) -> list[str]:
        """One line per number, each with what it means."""
        verdict = ("the attribution beats random words" if self.comprehensiveness > self.random_comprehensiveness
                   else "no better than random words")
        stab = (f"stability {self.stability:.2f}: share of the top-{self.k} words a second run agrees on "
                f"({self.stability_note})" if self.stability is not None else f"stability: {self.stability_note}")
        return [f"comprehensiveness {self.comprehensiveness:+.3f} vs {self.random_comprehensiveness:+.3f} for "
                f"{self.k} random words: the score drop when the top-{self.k} words are removed ({verdict})",
                f"sufficiency {self.sufficiency:+.3f} vs {self.random_sufficiency:+.3f} random: the drop when only "
                f"those words are kept (smaller = they suffice)", stab]

    def summary(self) -> str:
        """The numbers on one line (markdown-safe: numbers and the fixed note only)."""
        stab = (f"stability {self.stability:.2f} ({self.stability_note})" if self.stability is not None
                else "stability: deterministic")
        return (f"comprehensiveness {self.comprehensiveness:+.3f} (random {self.random_comprehensiveness:+.3f}) · "
                f"sufficiency {self.sufficiency:+.3f} (random {self.random_sufficiency:+.3f}) · {stab}")

    def meaning(self) -> str:
        """What the numbers mean, one line."""
        return (f"Comprehensiveness = score drop when the top-{self.k} words are removed (faithful: well above "
                f"random); sufficiency = drop when only they are kept (faithful: below random); stability = share "
                f"of the top-{self.k} words a rerun at another budget agrees on (1 = same words).")

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def top_indices(word_values: np.ndarray, k: int) -> list[int]:
    """Indices of the k largest (signed: pushing towards the class) word values, largest first."""
    v = np.asarray(word_values, dtype=np.float64)
    return [int(i) for i in np.argsort(-v, kind="stable")[:k]]


def deletion_check(proba_fn: ProbaFn, text: str, word_values: np.ndarray, class_index: int, *,
                   contrast: int | None = None, k: int = DEFAULT_K, n_random: int = DEFAULT_RANDOM,
                   seed: int = 0) -> dict[str, float]:
    """ERASER comprehensiveness / sufficiency of the top-k words of `word_values` ((W,) on `edits.words(text)`)
    and the mean of the same for `n_random` draws of k random words, in one batch of predictions.

    Returns {"k", "comprehensiveness", "sufficiency", "random_comprehensiveness", "random_sufficiency"}.
    """
    n = len(word_values)
    k = max(1, min(int(k), n)) if n else 0
    top = top_indices(word_values, k)
    rng = np.random.default_rng(seed)
    draws = [sorted(rng.choice(n, size=k, replace=False).tolist()) for _ in range(n_random)] if n else []
    batch = [text, rebuild(text, top), keep_only(text, top)]
    for d in draws:
        batch += [rebuild(text, d), keep_only(text, d)]
    s = class_score(proba_fn(batch), class_index, contrast)
    rand = s[3:].reshape(-1, 2) if draws else np.zeros((1, 2)) + s[0]
    return {"k": k, "comprehensiveness": float(s[0] - s[1]), "sufficiency": float(s[0] - s[2]),
            "random_comprehensiveness": float(np.mean(s[0] - rand[:, 0])),
            "random_sufficiency": float(np.mean(s[0] - rand[:, 1]))}


def topk_overlap(a: np.ndarray, b: np.ndarray, k: int = DEFAULT_K) -> float:
    """Share of the top-k word indices (signed values, same words) two attributions agree on, in [0, 1]."""
    k = max(1, min(int(k), len(a), len(b)))
    return len(set(top_indices(a, k)) & set(top_indices(b, k))) / k


def second_budget(param_min: float | None, param_max: float | None, value: int) -> int:
    """The budget of the stability rerun: half of `value`, or twice it when half falls below the minimum."""
    half = int(value) // 2
    if param_min is None or half >= param_min:
        return max(half, 1)
    return int(min(value * 2, param_max if param_max is not None else value * 2))


def explanation_trust(proba_fn: ProbaFn, text: str, attr: TokenAttribution, *, contrast: int | None = None,
                      rerun: Callable[[], tuple[TokenAttribution, str]] | None = None, k: int = DEFAULT_K,
                      n_random: int = DEFAULT_RANDOM, seed: int = 0, deterministic_note: str = "") -> Trust:
    """Trust of attribution `attr` of `text` (its class_index; `contrast` as it was explained).

    rerun: () -> (the same explainer's attribution at another budget, "what differed"), or None for a
    deterministic explainer (`deterministic_note` then says so).
    """
    words = attr.to_words(text)
    check = deletion_check(proba_fn, text, words.values, attr.class_index, contrast=contrast, k=k,
                           n_random=n_random, seed=seed)
    kk = max(int(check["k"]), 1)
    if rerun is None:
        stability, note = None, deterministic_note or "deterministic explainer: every run gives the same words"
    else:
        other, note = rerun()
        stability = topk_overlap(words.values, other.to_words(text).values, kk)
    return Trust(k=int(check["k"]), comprehensiveness=check["comprehensiveness"], sufficiency=check["sufficiency"],
                 random_comprehensiveness=check["random_comprehensiveness"],
                 random_sufficiency=check["random_sufficiency"], n_random=int(n_random), stability=stability,
                 stability_note=note, top_words=[words.tokens[i] for i in top_indices(words.values, kk)])


def rerun_settings(method: str, settings: dict[str, Any] | None = None) -> tuple[dict[str, Any] | None, str]:
    """The stability rerun of registry explainer `method`: (its settings with the budget Param at `second_budget`,
    "what differed"), or (None, why no rerun is needed) for an explainer without a budget (deterministic)."""
    from . import registry

    e = registry.get(method)
    resolved = e.settings(settings)
    param = next((p for p in e.params if p.name == e.budget), None)
    if param is None:
        return None, f"{e.title} is exact and deterministic: a rerun gives the same words"
    value = int(resolved[param.name])
    alt = second_budget(param.min, param.max, value)
    return {**resolved, param.name: alt}, f"{param.name} {value} vs {alt}"


def registry_trust(model: Any, proba_fn: ProbaFn, text: str, attr: TokenAttribution, method: str,
                   settings: dict[str, Any] | None = None, *, contrast: int | None = None, model_id: str | None = None,
                   k: int = DEFAULT_K, n_random: int = DEFAULT_RANDOM) -> Trust:
    """`explanation_trust` for an attribution made by registry explainer `method` with `settings`: the stability
    rerun is the same explainer at `second_budget` of its budget Param (none for budget-less explainers).
    model: what `registry.run` was given (a TextClassifier or, for proba-only explainers, a probability function)."""
    from . import registry

    alt, note = rerun_settings(method, settings)
    rerun = None
    if alt is not None:
        def rerun() -> tuple[TokenAttribution, str]:
            return registry.run(method, model, text, attr.class_index, model_id=model_id, contrast=contrast,
                                **alt), note
    return explanation_trust(proba_fn, text, attr, contrast=contrast, rerun=rerun, k=k, n_random=n_random,
                             deterministic_note=note)


__all__ = ["Trust", "DEFAULT_K", "DEFAULT_RANDOM", "deletion_check", "topk_overlap", "second_budget",
           "explanation_trust", "registry_trust", "rerun_settings", "top_indices"]
