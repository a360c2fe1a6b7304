"""Do two explanations agree? Spearman rank correlation over the words of a text.

Two explanations of the same text may use different units (attention on word pieces with [CLS]/[SEP],
SHAP on regex words, a linear model on vocabulary n-grams). Both are first mapped onto the
`core.base.simple_tokenize` words of the text with `align_to_words` (pieces summed into their word,
special tokens dropped, n-gram values split over their words), then ranked position by position.
By default magnitudes are compared (`absolute=True`): attention is never negative, so a word that
strongly pushes *against* a class is as "important" to it as one that pushes for it.
"""
from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np

from .attribution import TokenAttribution, align_to_words

Explanation = TokenAttribution | tuple  # TokenAttribution or (tokens, values)


def _pair(e: Explanation) -> tuple[list[str], np.ndarray]:
    if isinstance(e, TokenAttribution):
        return e.tokens, e.values
    tokens, values = e
    return list(tokens), np.asarray(values, dtype=np.float64)


def rank_agreement(a: Explanation, b: Explanation, text: str, absolute: bool = True) -> float:
    """Spearman rho between two explanations of `text` over its words; NaN if fewer than 3 words or
    either side is constant (a rank correlation is undefined there)."""
    from scipy.stats import spearmanr

    _, va = align_to_words(*_pair(a), text)
    _, vb = align_to_words(*_pair(b), text)
    if absolute:
        va, vb = np.abs(va), np.abs(vb)
    if len(va) < 3 or np.ptp(va) == 0 or np.ptp(vb) == 0:
        return float("nan")
    return float(spearmanr(va, vb).statistic)


def agreement_over_sample(texts: Sequence[str], explain_a: Callable[[str], Explanation],
                          explain_b: Callable[[str], Explanation], n: int = 50, seed: int = 0,
                          absolute: bool = True) -> dict:
    """Rank agreement over a seeded sample of at most `n` texts.

    Returns {"mean", "std", "n" (texts with a defined rho), "n_sampled", "per_text" (list of rho, NaN kept),
    "indices" (positions in `texts`)}.
    """
    rng = np.random.default_rng(seed)
    idx = np.arange(len(texts)) if len(texts) <= n else np.sort(rng.choice(len(texts), size=n, replace=False))
    rhos = [rank_agreement(explain_a(texts[i]), explain_b(texts[i]), texts[i], absolute=absolute) for i in idx]
    arr = np.array(rhos, dtype=np.float64)
    ok = arr[~np.isnan(arr)]
    return {"mean": float(ok.mean()) if len(ok) else float("nan"),
            "std": float(ok.std(ddof=1)) if len(ok) > 1 else float("nan"),
            "n": int(len(ok)), "n_sampled": int(len(idx)), "per_text": rhos, "indices": idx.tolist()}
