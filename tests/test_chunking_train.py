"""Training on long texts with chunking on (core/models/chunking.py WindowPicker / spread, the transformer family's
`train_windows`): a label written only past a document's first window is learned only from random windows, and
validation inside the loop reads documents the way prediction does."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from core.data import Split, TextDataset
from core.models import chunking as ch
from core.models import transformer as T
from tests.tiny_bert import FILLER, TOPICS, tiny_encoder, tiny_params, tiny_tokenizer

NAMES = list(TOPICS)


def _documents(n: int, rng: np.random.Generator) -> Split:
    """n documents of 30 filler words with a block of four words of the label's topic somewhere after word 16 --
    never inside the first window of 16 word pieces."""
    texts, ys = [], []
    for i in range(n):
        y = i % len(NAMES)
        words = [str(w) for w in rng.choice(FILLER, 30)]
        at = int(rng.integers(16, 30))
        words[at:at] = [str(w) for w in rng.choice(TOPICS[NAMES[y]].split(), 4)]
        texts.append(" ".join(words))
        ys.append(y)
    return Split(texts, np.asarray(ys, dtype=np.int64))


def _late_topic_dataset() -> TextDataset:
    rng = np.random.default_rng(0)
    return TextDataset(name="late_topic", labels=NAMES, train=_documents(160, rng), validation=_documents(32, rng),
                       test=_documents(64, rng))


def _train(data: TextDataset, train_windows: str):
    torch.set_num_threads(1)
    params = tiny_params(max_length=16, stride=4, chunking="mean", epochs=10, train_windows=train_windows)
    model = T.build(data, params, encoder=tiny_encoder(), tokenizer=tiny_tokenizer())
    info = T.train(model, data, params)
    model.finalize()
    return model, info


def test_label_past_the_first_window_is_learned_only_from_random_windows():
    data = _late_topic_dataset()
    accuracy = {}
    for how in ch.TRAIN_WINDOWS:
        model, info = _train(data, how)
        accuracy[how] = float((model.predict_proba(data.test.texts).argmax(1) == data.test.y).mean())
        assert info["train_windows"]["long_validation_texts"] == len(data.validation)
        assert info["train_windows"]["long_train_texts"] == (len(data.train) if how == "random" else 0)
    # the first window holds filler only: chance (0.25) from it; random windows see the topic in about half the steps
    assert accuracy["first"] <= 0.45, accuracy
    assert accuracy["random"] >= 0.7, accuracy


def test_window_picker_draws_every_window_of_a_long_text_and_keeps_short_ones():
    tok = tiny_tokenizer()
    long_text = " ".join(FILLER[i % len(FILLER)] for i in range(40))
    picker = ch.WindowPicker(tok, [long_text, "game team win"], max_length=16, stride=4, seed=3)
    assert len(picker) == 1
    spans = picker.spans[long_text]
    assert len(spans) == len(ch.windows(tok, [long_text], 16, 4))
    drawn = {picker([long_text, "game team win"])[0] for _ in range(200)}
    assert drawn == {long_text[a:b] for a, b in spans}  # each window, and nothing else
    assert picker(["game team win"]) == ["game team win"]
    again = ch.WindowPicker(tok, [long_text], max_length=16, stride=4, seed=3)
    first = ch.WindowPicker(tok, [long_text], max_length=16, stride=4, seed=3)
    assert [again([long_text])[0] for _ in range(5)] == [first([long_text])[0] for _ in range(5)]  # seeded


def test_spread_keeps_first_and_last_windows_and_at_most_the_cap():
    tok = tiny_tokenizer()
    texts = [" ".join(FILLER[i % len(FILLER)] for i in range(n)) for n in (80, 20, 3)]
    w = ch.windows(tok, texts, 16, 4)
    s = ch.spread(w, 4)
    counts, kept = np.bincount(w.sample), np.bincount(s.sample)
    assert counts[0] > 4 and kept[0] == 4
    assert list(kept[1:]) == list(counts[1:])  # texts with few windows keep them all
    first_text = np.flatnonzero(w.sample == 0)
    assert s.spans[0] == w.spans[first_text[0]] and s.spans[3] == w.spans[first_text[-1]]


@pytest.fixture(scope="module")
def trained_random():
    return _train(_late_topic_dataset(), "random")[0]


def test_validation_logits_equal_prediction_when_texts_have_few_windows(trained_random):
    texts = _late_topic_dataset().validation.texts[:8]
    assert np.bincount(ch.windows(trained_random.tokenizer, texts, 16, 4).sample).max() <= ch.VAL_WINDOWS
    np.testing.assert_allclose(trained_random.validation_logits(texts), trained_random.predict_logits(texts),
                               atol=1e-5)


def test_preflight_counts_validation_windows(monkeypatch):
    from core import backbones
    from core.models import transformer_fit as F

    data = _late_topic_dataset()
    monkeypatch.setattr(backbones, "load_tokenizer", lambda name: tiny_tokenizer())
    monkeypatch.setattr(backbones, "position_limit", lambda name: 64)
    params = tiny_params(max_length=16, stride=4, chunking="mean")
    windows = np.bincount(ch.windows(tiny_tokenizer(), data.validation.texts, 16, 4).sample)
    assert F.validation_units(data, params) == int(np.minimum(windows, ch.VAL_WINDOWS).sum()) > len(data.validation)
    assert F.validation_units(data, {**params, "chunking": "off"}) == len(data.validation)
