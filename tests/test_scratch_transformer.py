"""Scratch transformer family: learns a tiny keyword task; save -> load is exact; per-layer per-head attention
matrices have rows summing to 1; the fused (training) and explicit (explanation) attention paths agree."""
from __future__ import annotations

import random

import numpy as np
import pytest
import torch

from core.data import Split, TextDataset
from core.models import REGISTRY, family
from core.params import ParamError, resolve

TOPICS = {
    "sport": "ball goal team match win score player coach league".split(),
    "tech": "computer chip software code data cpu app server robot".split(),
    "money": "market stock bank money profit trade price shares deal".split(),
}
FILLER = "the a of and to in on for with today".split()


def toy_split(n: int, seed: int) -> Split:
    rng = random.Random(seed)
    labels = list(TOPICS)
    texts, y = [], []
    for i in range(n):
        k = i % 3
        words = [rng.choice(TOPICS[labels[k]]) for _ in range(rng.randint(2, 5))]
        words += [rng.choice(FILLER) for _ in range(rng.randint(2, 8))]
        rng.shuffle(words)
        texts.append(" ".join(words))
        y.append(k)
    return Split(texts, np.array(y))


def toy_dataset() -> TextDataset:
    return TextDataset("toy", list(TOPICS), toy_split(210, 0), toy_split(45, 1), toy_split(60, 2))


@pytest.fixture(autouse=True)
def _env(tmp_path, monkeypatch):
    monkeypatch.setenv("TEXTLAB_THREADS", "1")
    monkeypatch.setenv("TEXTLAB_ARTIFACTS_DIR", str(tmp_path / "artifacts"))


SMALL = {"d_model": 32, "num_heads": 4, "ff_dim": 64, "num_layers": 2, "epochs": 6, "batch_size": 16,
         "lr": 3e-3, "min_freq": 1, "bpe_vocab_size": 150, "patience": 0}


def _fit(**over):
    fam = family("scratch_transformer")
    return fam.fit(toy_dataset(), resolve(fam.PARAMS, {**SMALL, **over}), None)


@pytest.mark.parametrize("over", [
    {"pooling": "mean", "positional": "learned"},
    {"pooling": "cls", "positional": "sinusoidal", "tokenizer": "word"},
])
def test_overfits_and_exposes_attention(tmp_path, over):
    model, info = _fit(**over)
    losses = [v for _, v in info["history"]["train_loss"]]
    assert np.mean(losses[-5:]) < 0.5 * np.mean(losses[:5])
    ds = toy_dataset()
    proba = model.predict_proba(ds.test.texts)
    assert proba.shape == (60, 3) and np.allclose(proba.sum(1), 1, atol=1e-5)
    assert (proba.argmax(1) == ds.test.y).mean() > 0.8
    assert model.capabilities == {"embed", "tokens", "gradients", "attention"}
    assert model.embed(ds.test.texts[:3]).shape == (3, 32)

    att = model.attention("The coach said the team played a great match")
    L, H, T, T2 = att.weights.shape
    assert (L, H) == (2, 4) and T == T2 == len(att.tokens)
    np.testing.assert_allclose(att.weights.sum(-1), 1.0, atol=1e-5)
    assert att.kind == "self" and att.n_layers == 2 and att.n_heads == 4
    assert (att.tokens[0] == "<cls>") == (over["pooling"] == "cls")

    model.save(tmp_path / "m")
    again = REGISTRY["scratch_transformer"].load(tmp_path / "m")
    texts = ds.test.texts + [""]
    np.testing.assert_array_equal(model.predict_proba(texts), again.predict_proba(texts))
    np.testing.assert_array_equal(again.attention(texts[0]).weights, model.attention(texts[0]).weights)


def test_fused_and_explicit_attention_agree():
    from core.models.scratch_transformer import SelfAttention

    torch.manual_seed(0)
    att = SelfAttention(16, 4, dropout=0.0).eval()
    x = torch.randn(2, 5, 16)
    mask = torch.tensor([[1, 1, 1, 1, 1], [1, 1, 1, 0, 0]], dtype=torch.bool)
    fused, none = att(x, mask)
    explicit, w = att(x, mask, need_weights=True)
    assert none is None and w.shape == (2, 4, 5, 5)
    torch.testing.assert_close(fused, explicit, atol=1e-5, rtol=1e-5)
    assert float(w.detach()[1, :, :, 3:].abs().max()) == 0.0  # padding gets no attention


def test_same_seed_same_model_and_bad_heads():
    a, _ = _fit(epochs=1, seed=5)
    b, _ = _fit(epochs=1, seed=5)
    texts = toy_dataset().test.texts
    np.testing.assert_array_equal(a.predict_proba(texts), b.predict_proba(texts))
    with pytest.raises(ParamError):
        _fit(d_model=30, num_heads=4)
