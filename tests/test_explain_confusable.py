""""Why A -> B" on real AG News texts with a planted keyword, mean attribution per word, confused pairs."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from core.base import simple_tokenize
from core.config import data_search_path
from core.explain.attribution import TokenAttribution
from core.explain.confusable import cell_masks, confusable_pairs, confusable_words, mean_attribution, words_of

BUSINESS, SCITECH = 2, 3


@pytest.fixture(scope="module")
def ag_news():
    """600 real AG News test texts (Business / Sci/Tech); 40 Business texts get a planted word and are
    'predicted' Sci/Tech, plus 10 unplanted random errors so the cell is not only the plant."""
    path = next((p / "ag_news" / "test.csv.gz" for p in data_search_path() if (p / "ag_news" / "test.csv.gz").exists()),
                None)
    if path is None:
        pytest.skip("AG News reference copy not found")
    df = pd.read_csv(path, header=None, names=["y", "title", "desc"], nrows=3000)
    df = pd.concat([df[df.y == 3].head(300), df[df.y == 4].head(300)]).reset_index(drop=True)
    texts = (df.title + " " + df.desc).tolist()
    y_true = df.y.to_numpy() - 1
    y_pred = y_true.copy()
    rng = np.random.default_rng(0)
    business = np.nonzero(y_true == BUSINESS)[0]
    planted = rng.choice(business, 40, replace=False)
    for i in planted:
        words = texts[i].split()
        words.insert(int(rng.integers(len(words))), "zorblax")
        texts[i] = " ".join(words)
        y_pred[i] = SCITECH
    others = rng.choice(np.setdiff1d(business, planted), 10, replace=False)
    y_pred[others] = SCITECH
    return texts, y_true, y_pred


@pytest.mark.parametrize("method", ["log_odds", "tfidf"])
def test_planted_keyword_tops_the_cell(ag_news, method):
    texts, y_true, y_pred = ag_news
    table = confusable_words(texts, y_true, y_pred, BUSINESS, SCITECH, method=method, top=10)
    assert list(table.columns) == ["word", "score", "count_in_cell", "count_in_reference", "share_in_cell",
                                   "share_in_reference"]
    top = table.iloc[0]
    assert top.word == "zorblax"
    assert top.count_in_cell == 40 and top.count_in_reference == 0
    assert table.attrs["n_cell"] == 50 and table.attrs["n_reference"] == 250
    assert table.score.is_monotonic_decreasing


def test_reference_b_and_empty_cell(ag_news):
    texts, y_true, y_pred = ag_news
    table = confusable_words(texts, y_true, y_pred, BUSINESS, SCITECH, reference="b")
    assert table.iloc[0].word == "zorblax" and table.attrs["n_reference"] == 300
    empty = confusable_words(texts, y_true, y_pred, SCITECH, BUSINESS)
    assert empty.empty and empty.attrs["n_cell"] == 0
    with pytest.raises(ValueError):
        cell_masks(np.zeros((3, 2)), np.zeros((3, 2)), 0, 1)


def test_words_of_drops_numbers_and_punctuation():
    assert words_of("Oil hits $50, says OPEC's chief!") == ["oil", "hits", "says", "opec's", "chief"]  # contractions stay whole
    assert words_of("the oil", stop_words={"the"}) == ["oil"]


def test_mean_attribution_aggregates_words():
    texts = ["goal for the team", "late goal", "the market fell", "Goal!"]

    def explain(text):
        words = simple_tokenize(text)
        return TokenAttribution(words, [1.0 if "goal" in w.lower() else -0.1 for w in words], 0.0, 1, "fake")

    table = mean_attribution(texts, explain, max_texts=10)
    first = table.iloc[0]
    assert first.word == "goal" and first.mean_value == pytest.approx(1.0) and first.n_texts == 3
    the = table.set_index("word").loc["the"]
    assert the["count"] == 2 and the.mean_value == pytest.approx(-0.1)
    assert "!" not in set(table.word)
    capped = mean_attribution(texts * 10, explain, max_texts=5)
    assert capped.attrs["n_texts_explained"] == 5


def test_confusable_pairs_ranking():
    confusion = np.array([[50, 2, 1, 0], [0, 60, 0, 1], [3, 0, 40, 12], [1, 0, 8, 45]])
    pairs = confusable_pairs(confusion, labels=["World", "Sports", "Business", "Sci/Tech"])
    first = pairs.iloc[0]
    assert (first.label_a, first.label_b, first["count"], first.pair_count) == ("Business", "Sci/Tech", 12, 20)
    assert first.rate == pytest.approx(12 / 55)
    assert pairs.iloc[1].label_a == "Sci/Tech" and len(pairs) == 7
    assert len(confusable_pairs(confusion, top=3)) == 3
