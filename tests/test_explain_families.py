"""The explainers on real family models (TF-IDF, pretrained-encoder on a tiny random BERT): every call goes
through the TextClassifier interface / declared capabilities, never a model class."""
from __future__ import annotations

import pytest
import torch
from tiny_bert import tiny_dataset, tiny_encoder, tiny_params, tiny_tokenizer

from core.explain import shap_text
from core.explain.agreement import rank_agreement
from core.explain.attention import token_scores
from core.explain.gradients import integrated_gradients


@pytest.fixture(autouse=True)
def _isolated(tmp_path, monkeypatch):
    monkeypatch.setenv("TEXTLAB_ARTIFACTS_DIR", str(tmp_path / "artifacts"))
    monkeypatch.setenv("TEXTLAB_CACHE_DIR", str(tmp_path / "cache"))
    torch.set_num_threads(1)
    shap_text.clear_cache()


def test_tfidf_linear_path_matches_shap_ranking():
    from core.models import tfidf

    ds = tiny_dataset(n_train=200)
    model, _ = tfidf.fit(ds, {})
    assert model.has("contributions")
    text = "The team won the match after a late goal, says coach"
    cls = model.labels.index("Sports")
    lin = shap_text.explain(model, text, cls)
    assert lin.method == "linear" and lin.extra["seconds"] < 0.5
    assert lin.to_words(text).top(1)[0][0].lower() in {"team", "match", "goal", "coach", "win", "won"}
    shap = shap_text.explain(model, text, cls, method="shap", max_evals=300)
    assert rank_agreement(lin, shap, text) > 0.5


def test_transformer_attention_and_ig_agreement_is_defined():
    from core.models import transformer as T

    model = T.build(tiny_dataset(), tiny_params(head="cls"), encoder=tiny_encoder(), tokenizer=tiny_tokenizer())
    model.finalize()
    text = "Stock markets rally as oil price falls"
    att = model.attention(text)
    for method in ("cls", "rollout", "mean"):
        tokens, scores = token_scores(att, method=method)
        assert tokens == att.tokens and scores.shape == (len(tokens),)
        assert scores.sum() == pytest.approx(1.0, abs=1e-4)
    ig = integrated_gradients(model, text, 0, n_steps=8)
    rho = rank_agreement(token_scores(att, method="rollout"), ig, text)
    assert -1.0 <= rho <= 1.0
