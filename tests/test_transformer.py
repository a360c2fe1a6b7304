"""Pretrained-encoder family on a tiny random BERT (hidden 32, 2 layers, 2 heads; built in memory, no network):
heads train, LoRA / frozen leave the backbone alone, save -> load round trip, attention, embeddings, gradients.

The real MiniLM test is marked slow: `python -m pytest tests/test_transformer.py -m slow -q`.
"""
from __future__ import annotations

import numpy as np
import pytest
import torch
from tiny_bert import tiny_dataset, tiny_encoder, tiny_params, tiny_tokenizer

from core.models import heads as H
from core.models import transformer as T


@pytest.fixture(autouse=True)
def _one_thread(monkeypatch, tmp_path):
    # the CPU is shared: one torch thread is faster than two contended ones for a model this small
    monkeypatch.setenv("TEXTLAB_THREADS", "1")
    monkeypatch.setenv("TEXTLAB_ARTIFACTS_DIR", str(tmp_path / "artifacts"))
    torch.set_num_threads(1)


@pytest.fixture(scope="module")
def data():
    return tiny_dataset()


def _build(ds, **overrides):
    params = tiny_params(**overrides)
    return T.build(ds, params, encoder=tiny_encoder(), tokenizer=tiny_tokenizer()), params


def _losses(info):
    return [loss for _, loss in info["history"]["train_loss"]]


# ----------------------------------------------------------------------------------------------- heads
@pytest.mark.parametrize("name", list(H.HEADS))
def test_head_shapes_and_padding(name):
    torch.manual_seed(0)
    head = H.build_head(name, 32, 5, dropout=0.0).eval()
    states = torch.randn(3, 7, 32)
    mask = torch.tensor([[1] * 7, [1] * 4 + [0] * 3, [1] * 2 + [0] * 5])
    out = head(states, mask)
    assert out.logits.shape == (3, 5) and out.pooled.ndim == 2
    # padding must not matter: changing the padded states leaves the logits unchanged
    noisy = states.clone()
    noisy[mask == 0] = 100.0
    torch.testing.assert_close(head(noisy, mask).logits, out.logits, atol=1e-5, rtol=1e-5)
    if name == "attention":
        assert torch.allclose(out.weights.sum(-1), torch.ones(3), atol=1e-6)
        assert float(out.weights.detach()[mask == 0].abs().max()) == 0.0
    else:
        assert out.weights is None


def test_attention_head_penalty_lowers_marked_tokens():
    torch.manual_seed(0)
    head = H.build_head("attention", 16, 2, penalty_strength=3.0).eval()
    states, mask = torch.randn(1, 5, 16), torch.ones(1, 5, dtype=torch.long)
    penalty = torch.tensor([[0, 1, 0, 0, 1]], dtype=torch.float32)
    plain, penalised = head(states, mask).weights, head(states, mask, penalty).weights
    assert (penalised[0, [1, 4]] < plain[0, [1, 4]]).all() and (penalised[0, [0, 2, 3]] > plain[0, [0, 2, 3]]).all()


def test_build_head_rejects_unknown():
    with pytest.raises(ValueError, match="known"):
        H.build_head("crf", 8, 2)


# ----------------------------------------------------------------------------------------------- training
@pytest.mark.parametrize("head", list(H.HEADS))
def test_every_head_trains_and_loss_falls(data, head):
    model, params = _build(data, head=head, epochs=5)
    info = T.train(model, data, params)
    losses = _losses(info)
    assert np.mean(losses[-3:]) < 0.95 * np.mean(losses[:3]), losses
    assert info["trainable"].endswith("trainable = 100.00%")


def _encoder_weights(model):
    base = T._base_encoder(model.net.encoder)
    return {n: p.detach().clone() for n, p in base.named_parameters() if "lora_" not in n}


def test_lora_trains_only_adapters_and_head(data):
    model, params = _build(data, mode="lora", head="mean", lora_r=4, lora_alpha=8, lr=1e-2, epochs=5)
    before = _encoder_weights(model)
    head_before = {n: p.detach().clone() for n, p in model.net.head.named_parameters()}
    info = T.train(model, data, params)
    after = _encoder_weights(model)
    assert before.keys() == after.keys()
    for name in before:
        assert torch.equal(before[name], after[name]), f"backbone weight {name} changed"
    lora_b = [p for n, p in model.net.encoder.named_parameters() if "lora_B" in n]
    assert lora_b and any(float(p.detach().abs().max()) > 0 for p in lora_b)  # B starts at zero: it moved
    assert any(not torch.equal(head_before[n], p) for n, p in model.net.head.named_parameters())
    trainable = {n for n, p in model.net.named_parameters() if p.requires_grad}
    assert trainable and all("lora_" in n or n.startswith("head.") for n in trainable)
    assert info["n_trainable"] < info["n_parameters"] and "trainable = " in info["trainable"]
    assert np.mean(_losses(info)[-3:]) < np.mean(_losses(info)[:3])
    # merging the adapters changes nothing in the outputs
    texts = data.test.texts[:8]
    p_unmerged = model.predict_proba(texts)
    model.finalize()
    assert not hasattr(model.net.encoder, "merge_and_unload") and model.adapter_files
    np.testing.assert_allclose(model.predict_proba(texts), p_unmerged, atol=1e-5)


def test_frozen_trains_head_only(data):
    model, params = _build(data, mode="frozen", lr=1e-2, epochs=3)
    before = _encoder_weights(model)
    info = T.train(model, data, params)
    for name, w in _encoder_weights(model).items():
        assert torch.equal(before[name], w), name
    assert info["n_trainable"] == sum(p.numel() for p in model.net.head.parameters())


def test_save_load_same_probabilities(data, tmp_path):
    model, params = _build(data, mode="lora", head="attention", penalised_words=["market", "says"], epochs=1)
    T.train(model, data, params)
    model.finalize()
    model.save(tmp_path / "m")
    assert (tmp_path / "m" / "adapter" / "adapter_config.json").exists()
    assert (tmp_path / "m" / "encoder" / "config.json").exists() and (tmp_path / "m" / "head.safetensors").exists()
    loaded = T.TransformerClassifier.load(tmp_path / "m")
    texts = data.test.texts[:10] + ["", "Market market says"]
    np.testing.assert_allclose(loaded.predict_proba(texts), model.predict_proba(texts), atol=1e-6)
    assert loaded.labels == model.labels and loaded.config["penalised_words"] == ["market", "says"]
    assert loaded.predict_proba(texts).sum(1) == pytest.approx(np.ones(len(texts)), abs=1e-5)


@pytest.mark.parametrize("head", ["cls", "mean", "attention"])
def test_batches_are_padded_to_a_multiple_of_8_without_changing_predictions(data, monkeypatch, head):
    from core.models.token_budget import WIDTH_MULTIPLE

    model, _ = _build(data, head=head, penalised_words=["market"] if head == "attention" else [])
    model.net.eval()
    texts = ["Market", "the market says no", data.test.texts[0], "war " * 40]  # 3 .. 32 (= max_length) pieces
    for i in range(1, len(texts)):
        batch = model.encode(texts[:i + 1])
        longest = int(batch["attention_mask"].sum(1).max())
        assert batch["input_ids"].shape[1] == min(-(-longest // WIDTH_MULTIPLE) * WIDTH_MULTIPLE, model.max_length)
        assert batch.get("penalty_mask", batch["input_ids"]).shape == batch["input_ids"].shape
    assert model.encode(texts[:1])["input_ids"].shape[1] == 3  # one text: its own pieces (explanations read them)
    batch = model.encode(texts[:3])
    assert batch["input_ids"].shape[1] % WIDTH_MULTIPLE == 0 and not batch["attention_mask"][:, -1].any()
    monkeypatch.setattr(T, "WIDTH_MULTIPLE", 1)  # plain dynamic padding: the longest text sets the width
    exact = model.encode(texts[:3])
    assert exact["input_ids"].shape[1] < batch["input_ids"].shape[1]
    with torch.no_grad():
        torch.testing.assert_close(model.net(**batch), model.net(**exact), atol=1e-5, rtol=1e-5)


def test_penalty_mask_marks_every_piece_of_listed_words(data):
    model, _ = _build(data, head="attention", penalised_words=["markets", "says"])
    batch = model.encode(["The markets says no", "nothing here"])
    pieces = model.tokenizer.convert_ids_to_tokens(batch["input_ids"][0].tolist())
    marked = [p for p, m in zip(pieces, batch["penalty_mask"][0].tolist()) if m]
    assert marked == ["market", "##s", "says"]
    assert float(batch["penalty_mask"][1].sum()) == 0.0


def test_penalised_words_need_attention_head(data):
    with pytest.raises(ValueError, match="attention"):
        _build(data, head="cls", penalised_words=["market"])


def test_multilabel(tmp_path):
    ds = tiny_dataset(multilabel=True)
    model, params = _build(ds, head="mean", epochs=5)
    info = T.train(model, ds, params)
    assert np.mean(_losses(info)[-3:]) < np.mean(_losses(info)[:3])
    model.finalize()
    proba = model.predict_proba(ds.test.texts)
    assert proba.shape == (32, 4) and ((proba >= 0) & (proba <= 1)).all()
    assert not np.allclose(proba.sum(1), 1.0)  # independent sigmoids
    pred = model.predict(ds.test.texts)
    assert pred.shape == (32, 4) and set(np.unique(pred)) <= {0, 1}
    model.save(tmp_path / "ml")
    np.testing.assert_allclose(T.TransformerClassifier.load(tmp_path / "ml").predict_proba(ds.test.texts), proba,
                               atol=1e-6)


# ----------------------------------------------------------------------------------------------- inspection
@pytest.fixture(scope="module")
def trained(data):
    torch.set_num_threads(1)
    model, params = _build(data, head="attention", epochs=1)
    T.train(model, data, params)
    model.finalize()
    return model


def test_attention_every_layer_and_head(trained):
    text = "Stock markets rally, says minister"
    att = trained.attention(text)
    assert att.kind == "self" and att.tokens[0] == "[CLS]" and att.tokens[-1] == "[SEP]"
    assert "markets" in att.tokens and "market" in att.pieces and "##s" in att.pieces
    n = len(att.tokens)
    assert att.weights.shape == (2, 2, n, n)
    np.testing.assert_allclose(att.weights.sum(-1), 1.0, atol=1e-5)
    raw = trained.attention(text, merge=False)
    assert raw.tokens == att.pieces and raw.weights.shape == (2, 2, len(att.pieces), len(att.pieces))
    np.testing.assert_allclose(raw.weights.sum(-1), 1.0, atol=1e-5)
    # back on SDPA for prediction
    assert T._base_encoder(trained.net.encoder).config._attn_implementation == "sdpa"
    pool = trained.attention(text, kind="pooling")
    assert pool.kind == "pooling" and pool.weights.shape == (n,) and pool.weights.sum() == pytest.approx(1, abs=1e-5)


def test_merge_pieces_sums_columns_and_averages_rows():
    words, index = T.word_groups(["[CLS]", "new", "##s", "[SEP]"], [None, 0, 0, None])
    assert words == ["[CLS]", "news", "[SEP]"] and index == [0, 1, 1, 2]
    a = np.array([[1, 0, 0, 0], [0.2, 0.3, 0.5, 0], [0, 0.5, 0.1, 0.4], [0, 0, 0, 1.0]])
    m = T.merge_pieces(a, index)
    np.testing.assert_allclose(m, [[1, 0, 0], [0.1, 0.7, 0.2], [0, 0, 1]], atol=1e-6)
    np.testing.assert_allclose(T.merge_pieces(np.array([0.1, 0.2, 0.3, 0.4]), index), [0.1, 0.5, 0.4], atol=1e-6)


def test_embed_and_tokenize(trained):
    texts = ["The game", "Oil prices over the year", ""]
    for pooling, dim in (("cls", 32), ("mean", 32), ("head", 32)):
        e = trained.embed(texts, pooling=pooling)
        assert e.shape == (3, dim) and np.isfinite(e).all()
    np.testing.assert_allclose(trained.embed(texts)[1], trained.embed([texts[1]])[0], atol=1e-5)
    assert trained.tokenize("Stock-markets, today!") == ["Stock", "-", "markets", ",", "today", "!"]
    assert trained.has("attention") and trained.has("embed") and trained.has("gradients") and trained.has("tokens")


def test_gradient_hooks_work_with_captum(trained):
    from captum.attr import IntegratedGradients

    texts = ["Stock market profit", "The team won the game"]
    emb, batch = trained.input_embeddings(texts)
    logits = trained.forward_from_embeddings(emb, batch["attention_mask"], batch.get("token_type_ids"))
    np.testing.assert_allclose(logits.detach().numpy(), trained.predict_logits(texts), atol=1e-5)
    ig = IntegratedGradients(trained.forward_from_embeddings)  # captum repeats the extra args per step
    attr = ig.attribute(emb, baselines=torch.zeros_like(emb), target=0, n_steps=8,
                        additional_forward_args=(batch["attention_mask"], batch.get("token_type_ids")))
    assert attr.shape == emb.shape and torch.isfinite(attr).all() and float(attr.abs().sum()) > 0


# ----------------------------------------------------------------------------------------------- family API
def test_fit_through_registry_with_local_backbone_folder(data, tmp_path):
    from core.models import REGISTRY, family
    from core.params import resolve

    folder = tmp_path / "tiny-bert"
    tiny_encoder().save_pretrained(folder)
    tiny_tokenizer().save_pretrained(folder)
    fam = family("transformer")
    assert REGISTRY["transformer"] is T.TransformerClassifier
    params = resolve(fam.PARAMS, {"backbone": str(folder), "epochs": 1, "batch_size": 16, "max_length": 0,
                                  "mode": "lora"})
    model, info = fam.fit(data, params, None)
    assert info["lr"] == T.AUTO_LR["lora"] and 16 <= info["max_length"] <= 64
    assert info["history"]["train_loss"] and info["peak_memory_mb"] > 0
    proba = model.predict_proba(data.test.texts)
    assert proba.shape == (32, 4) and np.allclose(proba.sum(1), 1, atol=1e-5)


def test_default_params_resolve():
    from core.params import resolve

    p = resolve(T.PARAMS, {})
    assert p["backbone"] == "minilm-l6" and p["mode"] == "full" and p["lr"] == 0.0
    assert p["lora_target_modules"] == ["query", "value"] and p["penalised_words"] == []


def test_param_summary_format():
    assert T._param_summary(75_268, 22_788_000) == "75,268 of 22.8M trainable = 0.33%"


# ----------------------------------------------------------------------------------------------- real MiniLM
@pytest.mark.slow
def test_real_minilm_fine_tunes_a_few_steps(tmp_path):
    torch.set_num_threads(2)
    ds = tiny_dataset(n_train=64)
    params = T.PARAMS
    from core.params import resolve

    params = resolve(params, {"epochs": 1, "batch_size": 16, "max_steps": 4, "max_length": 32, "lr": 1e-4,
                              "evals_per_epoch": 1})
    model, info = T.fit(ds, params)
    assert info["n_parameters"] > 22_000_000 and len(info["history"]["train_loss"]) == 4
    att = model.attention("Stocks rallied on Wall Street")
    assert att.weights.shape[:2] == (6, 12)
    np.testing.assert_allclose(att.weights.sum(-1), 1.0, atol=1e-4)
    model.save(tmp_path / "minilm")
    loaded = T.TransformerClassifier.load(tmp_path / "minilm")
    np.testing.assert_allclose(loaded.predict_proba(ds.test.texts[:5]), model.predict_proba(ds.test.texts[:5]),
                               atol=1e-5)
