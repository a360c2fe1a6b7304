"""Mapping any tokenisation onto words, and Spearman agreement per text and over a sample."""
import numpy as np
import pytest

from core.explain.agreement import agreement_over_sample, rank_agreement
from core.explain.attribution import TokenAttribution, align_to_words

TEXT = "Café owners say the playing field changed, sharply."


def test_word_pieces_are_summed_into_words():
    pieces = ["[CLS]", "cafe", "owners", "say", "the", "play", "##ing", "field", "changed", ",", "sharp", "##ly", ".",
              "[SEP]"]
    values = np.arange(len(pieces), dtype=float)
    words, v = align_to_words(pieces, values, TEXT)
    assert words == ["Café", "owners", "say", "the", "playing", "field", "changed", ",", "sharply", "."]
    np.testing.assert_allclose(v, [1, 2, 3, 4, 5 + 6, 7, 8, 9, 10 + 11, 12])


def test_sentencepiece_and_unknown_tokens():
    words, v = align_to_words(["<s>", "\u2581Café", "\u2581own", "ers", "<unk>", "</s>"], [9, 1, 2, 3, 4, 9],
                              "Café owners 😀")
    assert words == ["Café", "owners", "😀"]
    np.testing.assert_allclose(v, [1, 5, 4])


def test_bag_of_ngrams_is_spread_over_occurrences():
    text = "New York stocks fell; new york traders sold stocks"
    # vocabulary order, not text order (a linear model's contributions)
    words, v = align_to_words(["stocks", "new york", "sold"], [2.0, 4.0, 1.0], text)
    got = dict(zip(range(len(words)), v))
    assert words[0] == "New" and words[2] == "stocks"
    assert got[0] == pytest.approx(1.0) and got[1] == pytest.approx(1.0)  # 4 / (2 occurrences * 2 words)
    assert got[2] == pytest.approx(1.0) and got[len(words) - 1] == pytest.approx(1.0)
    assert v[words.index("sold")] == pytest.approx(1.0)
    assert v[words.index(";")] == 0


def test_rank_agreement_identical_reversed_and_different_units():
    text = "stocks fell sharply after the report"
    a = TokenAttribution(text.split(), [5, 4, 3, 2, 1, 0.5], 0.0, 0, "shap")
    assert rank_agreement(a, a, text) == pytest.approx(1.0)
    rev = (text.split(), [0.5, 1, 2, 3, 4, 5])
    assert rank_agreement(a, rev, text) == pytest.approx(-1.0)
    # attention on pieces with specials against SHAP on words: same ranking once merged
    att = (["[CLS]", "stock", "##s", "fell", "sharp", "##ly", "after", "the", "report", "[SEP]"],
           [0.3, 0.25, 0.25, 0.4, 0.2, 0.1, 0.2, 0.1, 0.05, 0.2])
    assert rank_agreement(a, att, text) == pytest.approx(1.0)
    # magnitudes by default: a strongly negative word is important
    signed = TokenAttribution(text.split(), [-5, 4, 3, 2, 1, 0.5], 0.0, 0, "shap")
    assert rank_agreement(signed, a, text) == pytest.approx(1.0)
    assert rank_agreement(signed, a, text, absolute=False) < 1.0
    assert np.isnan(rank_agreement((["a", "b"], [1, 1]), (["a", "b"], [1, 2]), "a b"))


def test_agreement_over_sample():
    rng = np.random.default_rng(0)
    texts = [" ".join(rng.choice(list("abcdefgh"), size=8)) for _ in range(30)]

    def exp_a(t):
        w = t.split()
        return w, np.array([ord(c) for c in w], dtype=float)

    def exp_b(t):
        w = t.split()
        return w, np.array([ord(c) for c in w], dtype=float) + rng.normal(0, 0.5, len(w))

    out = agreement_over_sample(texts, exp_a, exp_b, n=20, seed=1)
    assert out["n_sampled"] == 20 and out["n"] == 20 and len(out["per_text"]) == 20
    assert out["mean"] > 0.8 and out["std"] >= 0
    assert out["indices"] == sorted(out["indices"])
