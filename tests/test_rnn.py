"""RNN family: every cell / aggregation learns a tiny keyword task; save -> load is exact; attention pooling
weights are a distribution over the real tokens; runs through core.train.run (and a cancelled run saves nothing)."""
from __future__ import annotations

import random

import numpy as np
import pytest

from core.data import Split, TextDataset
from core.models import REGISTRY, family
from core.params import resolve
from core.progress import Cancelled

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


SMALL = {"embed_dim": 16, "hidden_dim": 16, "epochs": 8, "batch_size": 16, "lr": 0.02, "dropout": 0.1,
         "min_freq": 1, "patience": 0, "tokenizer": "word", "aggregation": "max", "bidirectional": True}


def _fit(**over):
    fam = family("rnn")
    losses = []
    params = resolve(fam.PARAMS, {**SMALL, **over})
    model, info = fam.fit(toy_dataset(), params, lambda d, t, m="", e=None: losses.append((e or {}).get("loss")))
    return model, info


@pytest.mark.parametrize("over", [
    {"cell": "gru", "aggregation": "max"},
    {"cell": "lstm", "aggregation": "attention", "num_layers": 2},
    {"cell": "rnn", "aggregation": "concat", "bidirectional": False},
    {"cell": "gru", "aggregation": "last", "tokenizer": "bpe", "bpe_vocab_size": 150},
    {"cell": "lstm", "aggregation": "mean", "bidirectional": False},
])
def test_overfits_tiny_dataset(over):
    model, info = _fit(**over)
    h = info["history"]
    losses = [v for _, v in h["train_loss"]]
    assert np.mean(losses[-5:]) < 0.5 * np.mean(losses[:5])
    ds = toy_dataset()
    proba = model.predict_proba(ds.test.texts)
    assert proba.shape == (60, 3) and np.allclose(proba.sum(1), 1, atol=1e-5)
    assert (proba.argmax(1) == ds.test.y).mean() > 0.8  # chance is 0.33
    assert (model.predict(ds.test.texts) == proba.argmax(1)).all()
    assert {"embed", "tokens", "gradients"} <= model.capabilities
    assert ("attention" in model.capabilities) == (over["aggregation"] == "attention")
    emb = model.embed(ds.test.texts[:4])
    mult = {"concat": 3}.get(over["aggregation"], 1) * (1 if over.get("bidirectional") is False else 2)
    assert emb.shape == (4, 16 * mult)


def test_save_load_same_probabilities_and_attention(tmp_path):
    model, _ = _fit(cell="lstm", aggregation="attention", epochs=2)
    texts = toy_dataset().test.texts + ["", "unknown words only zzz"]
    model.save(tmp_path / "m")
    again = REGISTRY["rnn"].load(tmp_path / "m")
    np.testing.assert_array_equal(model.predict_proba(texts), again.predict_proba(texts))
    assert again.capabilities == model.capabilities
    att = again.attention("The team won the match, said the coach")
    assert att.kind == "pooling" and att.weights.shape == (len(att.tokens),)
    assert att.weights.sum() == pytest.approx(1.0, abs=1e-5) and (att.weights >= 0).all()
    assert att.tokens[:2] == ["The", "team"]
    assert again.tokenize("The team") == ["The", "team"]
    # a batch and a single text give the same answer (padding does not leak into the result)
    single = np.vstack([again.predict_proba([t]) for t in texts[:5]])
    np.testing.assert_allclose(single, again.predict_proba(texts[:5]), atol=1e-5)


def test_same_seed_same_model():
    a, _ = _fit(epochs=1, seed=7)
    b, _ = _fit(epochs=1, seed=7)
    texts = toy_dataset().test.texts
    np.testing.assert_array_equal(a.predict_proba(texts), b.predict_proba(texts))


def test_multilabel_rnn():
    rng = random.Random(0)
    labels = list(TOPICS)

    def split(n):
        texts, y = [], []
        for _ in range(n):
            ks = rng.sample(range(3), rng.choice([1, 2]))
            words = [rng.choice(TOPICS[labels[k]]) for k in ks for _ in range(2)] + rng.sample(FILLER, 3)
            rng.shuffle(words)
            texts.append(" ".join(words))
            row = np.zeros(3, dtype=np.int64)
            row[ks] = 1
            y.append(row)
        return Split(texts, np.array(y))

    ds = TextDataset("toy_ml", labels, split(240), split(45), split(60), multilabel=True)
    fam = family("rnn")
    model, info = fam.fit(ds, resolve(fam.PARAMS, {**SMALL, "epochs": 8}), None)
    proba = model.predict_proba(ds.test.texts)
    assert proba.shape == (60, 3) and not np.allclose(proba.sum(1), 1)
    assert (model.predict(ds.test.texts) == ds.test.y).mean() > 0.85


def test_train_run_saves_artifact_and_cancel_saves_nothing(tmp_path):
    from core import artifacts
    from core.train import run

    ds = toy_dataset()
    path = run(ds, "rnn", {**SMALL, "epochs": 2}, name="toy-rnn")
    loaded = artifacts.load_model("toy-rnn")
    preds = artifacts.load_predictions("toy-rnn")
    np.testing.assert_allclose(loaded.predict_proba(ds.test.texts), preds.proba, atol=1e-6)
    metrics = artifacts.get_artifact("toy-rnn").metrics
    assert metrics["train_info"]["history"]["evals"]
    assert path.exists()

    def cancel(done, total, message="", extra=None):
        if message.startswith("train") and done >= 3:
            raise Cancelled("user")

    with pytest.raises(Cancelled):
        run(ds, "rnn", {**SMALL, "epochs": 2}, name="toy-cancelled", progress=cancel)
    assert not artifacts.artifact_dir("toy-cancelled").exists()
    assert [a.name for a in artifacts.list_artifacts()] == ["toy-rnn"]
