"""The explainer registry: what each model family can be explained with, settings checks, and real runs."""
from __future__ import annotations

import json

import numpy as np
import pytest

from core.errors import CapabilityError, ParamError
from core.explain import registry
from core.explain.attribution import TokenAttribution
from core.models import tfidf
from tests.tiny_bert import tiny_dataset


@pytest.fixture(scope="module")
def linear_model():
    ds = tiny_dataset()
    return tfidf.fit(ds, {})[0]


def test_available_orders_default_first_and_respects_capabilities(linear_model):
    names = [e.name for e in registry.available(linear_model)]
    assert names[0] == "linear" and "shap" in names and "ig" not in names  # TF-IDF declares no gradients
    assert [e.name for e in registry.available(frozenset({"gradients"}))] == ["shap", "ig"]
    assert [e.name for e in registry.available(frozenset())] == ["shap"]


def test_run_linear_and_shap_agree_on_the_strongest_word(linear_model):
    text = tiny_dataset().test.texts[0]
    k = int(linear_model.predict_proba([text])[0].argmax())
    lin = registry.run("linear", linear_model, text, k)
    sh = registry.run("shap", linear_model, text, k, max_evals=60)
    assert isinstance(lin, TokenAttribution) and isinstance(sh, TokenAttribution)
    assert len(lin.tokens) == len(lin.values) and len(sh.tokens) == len(sh.values)
    assert lin.tokens[int(np.argmax(lin.values))] == sh.tokens[int(np.argmax(sh.values))]


def test_errors_are_lab_errors(linear_model):
    with pytest.raises(ParamError, match="unknown explanation method 'lime'"):
        registry.run("lime", linear_model, "x", 0)
    with pytest.raises(CapabilityError, match="gradients"):
        registry.run("ig", linear_model, "a text", 0)
    with pytest.raises(ParamError, match="max_evals"):
        registry.run("shap", linear_model, "a text", 0, max_evals=5)
    with pytest.raises(CapabilityError, match="the model itself"):
        registry.run("linear", lambda texts: np.full((len(texts), 2), 0.5), "a text", 0)


def test_shap_runs_on_a_probability_function():
    def proba(texts):
        return np.array([[0.2, 0.8] if "good" in t else [0.8, 0.2] for t in texts])

    attr = registry.run("shap", proba, "a good day", 1, max_evals=40)
    assert attr.tokens[int(np.argmax(attr.values))] == "good"


@pytest.fixture()
def saved_tfidf(tmp_path, monkeypatch):
    monkeypatch.setenv("TEXTLAB_ARTIFACTS_DIR", str(tmp_path / "artifacts"))
    from core.train import run

    run(tiny_dataset(), "tfidf", {}, name="tiny-tfidf")
    return "tiny-tfidf"


def test_cli_explain_lists_and_runs_from_the_registry(saved_tfidf, capsys):
    from core.cli import main

    assert main(["explain", saved_tfidf, "--list"]) == 0
    out = capsys.readouterr().out
    assert out.splitlines()[0].startswith("linear (default)") and "--set max_evals=" in out and "ig" not in out
    text = tiny_dataset().test.texts[0]
    assert main(["explain", saved_tfidf, text, "--json"]) == 0
    record = json.loads(capsys.readouterr().out)
    assert record["method"] == "linear" and len(record["tokens"]) == len(record["values"]) > 0
    assert main(["explain", saved_tfidf, text, "--method", "shap", "--set", "max_evals=40", "--top", "3"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert "SHAP" in lines[0] and len(lines) == 4
    # a user error is one line, not a traceback
    assert main(["explain", saved_tfidf, text, "--method", "ig"]) == 2
    assert "gradients" in capsys.readouterr().err
