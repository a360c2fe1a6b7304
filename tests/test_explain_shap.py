"""SHAP through predict_proba (regex word masker), the exact linear path, and the memory / disk caches."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from core.base import CapabilityError, TextClassifier, simple_tokenize
from core.explain import shap_text
from core.explain.shap_text import WordTokenizer, explain, linear_contributions

TEXT = "The striker scored a late goal in the match on Sunday, fans said."


@pytest.fixture(autouse=True)
def _isolated(tmp_path, monkeypatch):
    monkeypatch.setenv("TEXTLAB_ARTIFACTS_DIR", str(tmp_path / "artifacts"))
    monkeypatch.setenv("TEXTLAB_CACHE_DIR", str(tmp_path / "cache"))
    shap_text.clear_cache()


class Counting:
    """p(sport) = 0.9 when the word "goal" occurs (any tokenisation a real model would see), else 0.2."""

    def __init__(self):
        self.calls = 0

    def __call__(self, texts):
        self.calls += 1
        p = np.array([0.9 if "goal" in [w.lower() for w in simple_tokenize(t)] else 0.2 for t in texts])
        return np.stack([1 - p, p], axis=1)


class KeywordModel(TextClassifier):
    kind = "keyword"
    labels = ["other", "sport"]

    def predict_proba(self, texts):
        return Counting()(texts)

    def save(self, directory: Path) -> None:  # pragma: no cover
        pass

    @classmethod
    def load(cls, directory: Path):  # pragma: no cover
        return cls()


class LinearModel(KeywordModel):
    """Declares "contributions" like the TF-IDF family: exact per-word values, no SHAP sampling."""

    kind = "linear"
    capabilities = frozenset({"contributions"})
    weights = {"goal": 2.0, "match": 0.5, "market": -1.5}

    def contributions(self, text, class_index):
        sign = 1.0 if class_index == 1 else -1.0
        return [(w, sign * self.weights.get(w.lower(), 0.0)) for w in simple_tokenize(text)]

    def contributions_base(self, class_index):
        return -0.3


def test_word_tokenizer_matches_simple_tokenize():
    out = WordTokenizer()(TEXT)
    assert out["input_ids"] == simple_tokenize(TEXT)
    assert [TEXT[s:e] for s, e in out["offset_mapping"]] == simple_tokenize(TEXT)
    assert WordTokenizer()("")["input_ids"] == []


def test_shap_puts_keyword_on_top_and_is_additive():
    fn = Counting()
    attr = explain(fn, TEXT, 1, max_evals=200)
    assert attr.tokens == simple_tokenize(TEXT)
    assert attr.top(1)[0][0] == "goal"
    assert attr.values[attr.tokens.index("goal")] == pytest.approx(0.7, abs=1e-6)
    assert attr.base_value == pytest.approx(0.2)
    assert attr.base_value + attr.values.sum() == pytest.approx(0.9, abs=1e-6)
    # the other class sees the keyword as pushing away
    away = explain(fn, TEXT, 0, max_evals=200)
    assert away.tokens[int(np.argmin(away.values))] == "goal"


def test_shap_through_text_classifier_and_logit_output():
    attr = explain(KeywordModel(), TEXT, 1, max_evals=200, output="logit")
    assert attr.top(1)[0][0] == "goal"
    assert attr.values.max() == pytest.approx(np.log(9) - np.log(0.25), abs=1e-6)


def test_budget_is_respected():
    fn = Counting()
    long_text = " ".join(["word"] * 60 + ["goal"])
    attr = explain(fn, long_text, 1, max_evals=40)
    assert attr.extra["max_evals"] == 40
    assert len(attr.tokens) == 61
    assert fn.calls < 40  # batched calls, each with at most batch_size texts


def test_memory_and_disk_cache(tmp_path):
    fn = Counting()
    first = explain(fn, TEXT, 1, max_evals=200, model_id="run-1")
    calls = fn.calls
    again = explain(fn, TEXT, 1, max_evals=200, model_id="run-1")
    assert again is first and fn.calls == calls  # memory hit
    files = list((tmp_path / "cache" / "shap").glob("*.npz"))
    assert len(files) == 1
    shap_text.clear_cache()
    from_disk = explain(fn, TEXT, 1, max_evals=200, model_id="run-1")
    assert fn.calls == calls and from_disk.extra["cached"] == "disk"
    np.testing.assert_allclose(from_disk.values, first.values)
    assert from_disk.tokens == first.tokens
    # a different budget, class or model is a different entry
    explain(fn, TEXT, 0, max_evals=200, model_id="run-1")
    assert fn.calls > calls
    # no model id: never cached
    before = fn.calls
    explain(fn, TEXT, 1, max_evals=200)
    assert fn.calls > before


def test_linear_path_is_exact_and_auto_selected():
    model = LinearModel()
    attr = explain(model, TEXT, 1)
    assert attr.method == "linear" and attr.base_value == -0.3
    assert attr.top(1)[0] == ("goal", 2.0)
    assert attr.extra["seconds"] < 0.5
    forced = explain(model, TEXT, 1, method="shap", max_evals=200)
    assert forced.method == "shap_partition"
    with pytest.raises(CapabilityError):
        linear_contributions(KeywordModel(), TEXT, 1)


def test_empty_text():
    attr = explain(Counting(), "   ", 1)
    assert attr.tokens == [] and attr.base_value == pytest.approx(0.2)


def test_long_text_is_capped_with_a_notice(monkeypatch):
    assert shap_text.MAX_SHAP_WORDS == 300
    monkeypatch.setattr(shap_text, "MAX_SHAP_WORDS", 8)
    seen = []

    def fn(texts):
        seen.extend(texts)
        return Counting()(texts)

    long_text = "the striker scored a late goal and then " + "fans sang all night " * 5
    attr = explain(fn, long_text, 1, max_evals=40, method="shap")
    assert attr.tokens == ["the", "striker", "scored", "a", "late", "goal", "and", "then"]
    assert "8" in attr.extra["notice"] and "words" in attr.extra["notice"] and attr.extra["words_explained"] == 8
    assert all("fans" not in t for t in seen)  # the model never saw the cut words
    assert attr.top(1)[0][0] == "goal"
    short = explain(fn, "a late goal", 1, max_evals=20, method="shap")
    assert "notice" not in short.extra
    assert shap_text.cap_words("one two three", 3) == ("one two three", None)
    assert shap_text.cap_words("one, two three", 2)[0] == "one,"  # punctuation marks count as words
