"""Chunked inference of the pretrained-encoder family (core/models/chunking.py) on the tiny offline BERT.

A keyword planted beyond max_length decides the label only when chunking reads the whole text; the setting is
saved with the model; a model saved before chunking existed keeps reading truncated texts.
"""
from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from core.models import chunking as ch
from core.models import transformer as T
from tests.tiny_bert import FILLER, TOPICS, tiny_dataset, tiny_encoder, tiny_params, tiny_tokenizer


def chunked_model():
    """(a tiny BERT trained on the tiny topics with max_length 16, reading windows (chunking "max", stride 4),
    its dataset)."""
    torch.set_num_threads(1)
    data = tiny_dataset(n_train=192)
    params = tiny_params(max_length=16, epochs=4, chunking="max", stride=4)
    model = T.build(data, params, encoder=tiny_encoder(), tokenizer=tiny_tokenizer())
    T.train(model, data, params)
    model.finalize()
    return model, data


@pytest.fixture(scope="module")
def trained():
    return chunked_model()[0]


def _planted(model) -> tuple[str, int, int]:
    """(text of neutral filler with one topic's words at its end, beyond max_length; the topic; what the filler
    alone predicts). The topic is one the model predicts for its own words and not for the filler."""
    filler = " ".join(FILLER[i % len(FILLER)] for i in range(60))
    model.config["chunking"] = "off"
    base = int(model.predict_proba([filler]).argmax())
    names = list(TOPICS)
    for c, name in enumerate(names):
        keywords = " ".join(TOPICS[name].split()[:6])
        if c != base and int(model.predict_proba([keywords]).argmax()) == c:
            return f"{filler}. {keywords}.", c, base
    pytest.skip("the tiny model learned no topic apart from the filler's class")


def test_keyword_beyond_max_length_found_only_with_chunking(trained):
    text, topic, base = _planted(trained)
    assert len(trained.pieces(text)) == trained.max_length  # the keyword is cut off without windows
    trained.config["chunking"] = "off"
    assert int(trained.predict_proba([text]).argmax()) == base != topic
    trained.config["chunking"] = "max"
    assert int(trained.predict_proba([text]).argmax()) == topic
    spans, proba = trained.chunk_proba(text)
    decisive = int(proba[:, topic].argmax())
    assert decisive == len(spans) - 1  # the last window holds the keyword
    assert TOPICS[list(TOPICS)[topic]].split()[0] in text[slice(*spans[decisive])]


def test_chunked_logits_keep_short_texts_and_probabilities_consistent(trained):
    trained.config["chunking"] = "mean"
    texts = ["game team win", " ".join(["market stock price"] * 20)]
    logits = trained.predict_logits(texts)
    proba = trained.predict_proba(texts)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0, atol=1e-5)
    trained.config["chunking"] = "off"
    np.testing.assert_allclose(logits[0], trained.predict_logits(texts[:1])[0], atol=1e-5)  # one window: raw
    spans, windows = trained.chunk_proba(texts[1])
    np.testing.assert_allclose(proba[1], windows.mean(axis=0), atol=1e-5)  # "mean" of the window probabilities


def test_windows_overlap_by_stride_and_batch_under_the_token_budget(monkeypatch):
    tok = tiny_tokenizer()
    text = " ".join(["game"] * 100)
    w = ch.windows(tok, [text, "war"], max_length=16, stride=4)
    assert list(w.sample[:-1]) == [0] * (len(w) - 1) and w.sample[-1] == 1
    first, second = w.input_ids[0], w.input_ids[1]
    assert len(first) == 16 and first[-5:-1] == second[1:5]  # 4 pieces shared (special tokens aside)
    assert ch.effective_stride(400, 16) == 7  # at most half a window's 14 content pieces
    monkeypatch.setattr(ch, "WINDOW_TOKENS", 48)
    sizes = [len(rows) for rows, arrays in ch.batches(w, 16, 0)]
    assert max(sizes) == 3 and sum(sizes) == len(w)
    # a batch of short windows is padded to a multiple of 8 pieces (few shapes per run), never past max_length
    w = ch.windows(tok, ["war", "game team win", " ".join(["game"] * 12)], max_length=32, stride=4)
    assert [len(ids) for ids in w.input_ids] == [3, 5, 14]
    widths = [arrays["input_ids"].shape[1] for _, arrays in ch.batches(w, 32, 0)]
    assert widths == [8, 8, 16]  # one window per batch under this budget: 3, 5, 14 pieces rounded up
    assert {arrays["input_ids"].shape[1] for _, arrays in ch.batches(ch.windows(tok, [text], 12, 4), 12, 0)} == {12}


def test_aggregate_mean_and_max():
    proba = np.array([[0.9, 0.1], [0.2, 0.8], [0.6, 0.4]], dtype=np.float32)
    sample = np.array([0, 0, 1])
    np.testing.assert_allclose(ch.aggregate(proba, sample, 2, "mean", False), [[0.55, 0.45], [0.6, 0.4]])
    np.testing.assert_allclose(ch.aggregate(proba, sample, 2, "max", False), [[0.9 / 1.7, 0.8 / 1.7], [0.6, 0.4]],
                               rtol=1e-5)
    np.testing.assert_allclose(ch.aggregate(proba, sample, 2, "max", True), [[0.9, 0.8], [0.6, 0.4]])


def test_save_load_keeps_the_chunk_setting_and_old_models_read_truncated(trained, tmp_path):
    text, topic, base = _planted(trained)
    trained.config.update(chunking="max", stride=4)
    trained.save(tmp_path / "m")
    meta = json.loads((tmp_path / "m" / "classifier.json").read_text())
    assert meta["chunking"] == "max" and meta["stride"] == 4
    loaded = T.TransformerClassifier.load(tmp_path / "m")
    assert loaded.chunking == "max" and loaded.config["stride"] == 4
    np.testing.assert_allclose(loaded.predict_proba([text]), trained.predict_proba([text]), atol=1e-5)
    del meta["chunking"], meta["stride"]  # a model saved before chunking existed
    (tmp_path / "m" / "classifier.json").write_text(json.dumps(meta))
    old = T.TransformerClassifier.load(tmp_path / "m")
    assert old.chunking == "off" and int(old.predict_proba([text]).argmax()) == base


def test_unknown_chunking_is_refused():
    from core.errors import ParamError

    with pytest.raises(ParamError, match="chunking"):
        T.create(["a", "b"], False, encoder=tiny_encoder(), tokenizer=tiny_tokenizer(), chunking="median")


def _long_texts_dataset(words: int):
    from core.data import Split, TextDataset

    rng = np.random.default_rng(0)
    vocab = " ".join(TOPICS.values()).split() + FILLER

    def split(n: int) -> Split:
        return Split([" ".join(rng.choice(vocab, words)) for _ in range(n)], np.arange(n) % len(TOPICS))
    return TextDataset(name="long", labels=list(TOPICS), train=split(24), validation=split(8), test=split(8))


@pytest.mark.parametrize("chunking,expected", [("mean", ch.AUTO_WINDOW_CAP), ("max", ch.AUTO_WINDOW_CAP),
                                               ("off", 512)])
def test_automatic_window_of_long_texts_is_capped_when_windows_read_the_rest(chunking, expected):
    """Texts of ~400 word pieces: the 95% rule asks for 512; with chunking on, training uses at most
    AUTO_WINDOW_CAP pieces (each step costs what a short text's does) and prediction reads every window; with
    chunking off the whole 512 is kept (truncation would otherwise lose the rest); a set max_length always wins."""
    from transformers import BertConfig, BertModel

    cfg = BertConfig(vocab_size=len(tiny_tokenizer()), hidden_size=32, num_hidden_layers=1, num_attention_heads=2,
                     intermediate_size=48, max_position_embeddings=512)
    encoder, data = BertModel(cfg).eval(), _long_texts_dataset(400)
    model = T.build(data, tiny_params(max_length=0, chunking=chunking), encoder=encoder, tokenizer=tiny_tokenizer())
    assert model.max_length == expected and model.chunking == chunking
    short = T.build(_long_texts_dataset(10), tiny_params(max_length=0, chunking=chunking), encoder=encoder,
                    tokenizer=tiny_tokenizer())
    assert short.max_length == 16  # short texts keep their own, smaller window
    assert T.build(data, tiny_params(max_length=256, chunking=chunking), encoder=encoder,
                   tokenizer=tiny_tokenizer()).max_length == 256
