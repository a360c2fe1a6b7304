"""Attention views: rollout, layer/head selection, CLS row, word-piece merging, pooling weights."""
import numpy as np
import pytest

from core.base import Attention
from core.explain.attention import drop_special, head_average, merge_pieces, rollout, select, token_scores


def random_attention(layers=3, heads=4, t=6, seed=0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    w = rng.random((layers, heads, t, t)) ** 3
    return w / w.sum(axis=-1, keepdims=True)


def test_rollout_rows_sum_to_one():
    w = random_attention()
    for head in (None, 2):
        for upto in (None, 0, 1, -1):
            r = rollout(w, head=head, upto=upto)
            assert r.shape == (6, 6)
            np.testing.assert_allclose(r.sum(axis=1), 1.0, atol=1e-9)
            assert (r >= 0).all()


def test_rollout_matches_manual_product():
    w = random_attention(layers=2, heads=2, t=4)
    eye = np.eye(4)
    a = [0.5 * eye + 0.5 * w[i].mean(axis=0) for i in range(2)]
    a = [x / x.sum(axis=1, keepdims=True) for x in a]
    np.testing.assert_allclose(rollout(w), a[1] @ a[0])
    # a single layer's rollout is just that layer mixed with the identity
    np.testing.assert_allclose(rollout(w, upto=0), a[0])


def test_select_and_head_average():
    w = random_attention()
    assert head_average(w).shape == (3, 6, 6)
    np.testing.assert_allclose(select(w, layer=1, head=2), w[1, 2])
    np.testing.assert_allclose(select(w, layer=-1), w[-1].mean(axis=0))
    np.testing.assert_allclose(select(w), w.mean(axis=(0, 1)))
    with pytest.raises(IndexError):
        select(w, layer=3)
    with pytest.raises(IndexError):
        select(w, head=-5)


def test_merge_pieces_keeps_rows_stochastic():
    pieces = ["[CLS]", "play", "##ing", "foot", "##ball", "##er", "now", "[SEP]"]
    w = random_attention(t=len(pieces))
    words, merged = merge_pieces(pieces, w)
    assert words == ["[CLS]", "playing", "footballer", "now", "[SEP]"]
    assert merged.shape == (3, 4, 5, 5)
    np.testing.assert_allclose(merged.sum(axis=-1), 1.0, atol=1e-9)
    # attention *to* "footballer" from [CLS] = sum of the three pieces' columns
    np.testing.assert_allclose(merged[0, 0, 0, 2], w[0, 0, 0, 3:6].sum())
    # attention *from* "playing" = mean of its two rows
    np.testing.assert_allclose(merged[0, 0, 1, 0], w[0, 0, 1:3, 0].mean())
    # a score vector is summed per word
    _, s = merge_pieces(pieces, np.arange(8.0))
    np.testing.assert_allclose(s, [0, 3, 12, 6, 7])


def test_merge_sentencepiece_markers():
    words, s = merge_pieces(["<s>", "\u2581new", "s", "\u2581today", "</s>"], np.ones(5))
    assert words == ["<s>", "news", "today", "</s>"]
    np.testing.assert_allclose(s, [1, 2, 1, 1])


def test_token_scores_methods_and_merging():
    pieces = ["[CLS]", "goal", "##ie", "saves", "[SEP]"]
    w = random_attention(layers=2, heads=3, t=5)
    att = Attention(tokens=["[CLS]", "goalie", "saves", "[SEP]"], weights=w, pieces=pieces)
    tokens, cls = token_scores(att, method="cls")
    assert tokens == ["[CLS]", "goalie", "saves", "[SEP]"]
    _, merged = merge_pieces(pieces, w)
    np.testing.assert_allclose(cls, merged[-1].mean(axis=0)[0])
    np.testing.assert_allclose(cls.sum(), 1.0)
    _, roll = token_scores(att, method="rollout", layer=0, head=1)
    np.testing.assert_allclose(roll, rollout(merged, head=1, upto=0)[0])
    _, mean = token_scores(att, method="mean", layer=1)
    np.testing.assert_allclose(mean, merged[1].mean(axis=0).mean(axis=0))
    np.testing.assert_allclose(mean.sum(), 1.0)
    with pytest.raises(ValueError):
        token_scores(att, method="magic")
    words, scores = drop_special(tokens, cls)
    assert words == ["goalie", "saves"] and len(scores) == 2


def test_pooling_attention_returns_weights():
    att = Attention(tokens=["a", "goal", "now"], weights=np.array([0.2, 0.7, 0.1]), kind="pooling")
    for method in ("cls", "rollout", "mean"):
        tokens, scores = token_scores(att, method=method)
        assert tokens == ["a", "goal", "now"]
        np.testing.assert_allclose(scores, [0.2, 0.7, 0.1])
