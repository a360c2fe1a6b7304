"""Pretrained embedding init for from-scratch models: vectors come from the offline MiniLM package, related words
start close together, and an RNN trained from them saves and loads exactly."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from core.models import family
from core.models.embedding_init import pretrained_embeddings, vocabulary
from core.params import resolve
from core.tokenization import WordTokenizer, build_tokenizer
from tests.test_rnn import SMALL, toy_dataset


@pytest.fixture(autouse=True)
def _env(tmp_path, monkeypatch):
    monkeypatch.setenv("TEXTLAB_THREADS", "1")
    monkeypatch.setenv("TEXTLAB_ARTIFACTS_DIR", str(tmp_path / "artifacts"))


def _cos(a: torch.Tensor, b: torch.Tensor) -> float:
    return float(torch.nn.functional.cosine_similarity(a, b, dim=0))


def test_word_vectors_from_minilm_are_meaningful():
    texts = ["football soccer match", "inflation economy prices", "zzqxv football"]
    tok = WordTokenizer.fit(texts, min_freq=1)
    emb, covered = pretrained_embeddings(tok, "minilm-l6")
    words = vocabulary(tok)
    assert emb.shape == (tok.vocab_size, 384) and emb.dtype == torch.float32
    assert torch.count_nonzero(emb[0]) == 0                      # padding row
    w = {x: emb[words.index(x)] for x in ("football", "soccer", "inflation", "economy")}
    assert covered.float().mean() == pytest.approx((len(words) - 3) / len(words))  # every word but the 3 specials
    assert _cos(w["football"], w["soccer"]) > _cos(w["football"], w["inflation"]) + 0.1
    assert _cos(w["inflation"], w["economy"]) > _cos(w["inflation"], w["soccer"]) + 0.1


def test_bpe_vocabulary_is_in_id_order():
    tok = build_tokenizer("bpe", ["classification of texts"] * 5, vocab_size=120, min_freq=1)
    words = vocabulary(tok)
    assert len(words) == tok.vocab_size
    assert [tok.tok.token_to_id(w) for w in words[:20]] == list(range(20))


def test_rnn_with_minilm_init_learns_and_round_trips(tmp_path):
    fam = family("rnn")
    params = resolve(fam.PARAMS, {**SMALL, "init_embeddings": "minilm-l6", "epochs": 4})
    model, info = fam.fit(toy_dataset(), params)
    assert model.net.embedding.weight.shape[1] == 384 and info["init_embeddings_coverage"] > 0.8
    ds = toy_dataset()
    proba = model.predict_proba(ds.test.texts)
    assert (proba.argmax(1) == ds.test.y).mean() > 0.8  # chance is 0.33
    model.save(tmp_path / "m")
    again = type(model).load(tmp_path / "m")
    assert np.allclose(again.predict_proba(ds.test.texts), proba, atol=1e-6)
