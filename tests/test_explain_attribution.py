"""Special tokens of every tokenizer family (BERT, SentencePiece, the from-scratch ones) never reach a reader."""
import numpy as np
import pytest

from core.explain.attention import drop_special, merge_pieces
from core.explain.attribution import SPECIAL_TOKENS, UNKNOWN_TOKENS, align_to_words


def test_scratch_tokenizer_specials_are_listed():
    from core.tokenization import SPECIALS

    assert {"<cls>", "<sep>", "<pad>"} <= SPECIAL_TOKENS
    assert set(SPECIALS) <= SPECIAL_TOKENS | UNKNOWN_TOKENS  # <unk> stands for a word: aligned, not dropped
    assert not SPECIAL_TOKENS & UNKNOWN_TOKENS


@pytest.mark.parametrize("cls, sep", [("<cls>", "<sep>"), ("[CLS]", "[SEP]"), ("<s>", "</s>")])
def test_align_to_words_drops_specials_and_merges_pieces(cls, sep):
    text = "the goal counts"
    pieces = [cls, "the", "go", "##al", "counts", sep, "<pad>", "<pad>"]
    words, v = align_to_words(pieces, [9.0, 1.0, 2.0, 3.0, 4.0, 9.0, 9.0, 9.0], text)
    assert words == ["the", "goal", "counts"]
    np.testing.assert_allclose(v, [1.0, 5.0, 4.0])  # positional: specials carry nothing, pieces summed


def test_unknown_token_stands_for_its_word():
    words, v = align_to_words(["<cls>", "the", "<unk>", "counts"], [9.0, 1.0, 2.0, 3.0], "the zorblax counts")
    assert words == ["the", "zorblax", "counts"]
    np.testing.assert_allclose(v, [1.0, 2.0, 3.0])


def test_merge_then_drop_specials_for_display():
    words, scores = merge_pieces(["<cls>", "go", "##al", "now", "<sep>", "<pad>"], np.array([.4, .1, .1, .2, .1, .1]))
    assert words == ["<cls>", "goal", "now", "<sep>", "<pad>"]  # specials are never glued onto a word
    shown, s = drop_special(words, scores)
    assert shown == ["goal", "now"]
    np.testing.assert_allclose(s, [0.2, 0.2])
