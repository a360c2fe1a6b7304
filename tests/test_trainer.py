"""The shared torch training loop (core/trainer.py) and the scratch tokenizers (core/tokenization.py),
exercised with a tiny bag-of-embeddings model on a synthetic keyword dataset (seconds on one thread)."""
from __future__ import annotations

import random

import numpy as np
import pytest
import torch
from torch import nn

from core.data import Split, TextDataset
from core.params import resolve
from core.progress import Cancelled
from core.tokenization import (
    BPETokenizer,
    WordTokenizer,
    build_tokenizer,
    choose_max_length,
    load_tokenizer,
)
from core.trainer import (
    LOOP_PARAMS,
    BucketBatchSampler,
    LoopConfig,
    balance_groups,
    class_weights,
    loop_config,
    loop_params,
    predict_logits,
    seed_everything,
    train_loop,
    val_metrics,
)

TOPICS = {
    "sport": "ball goal team match win score player coach league".split(),
    "tech": "computer chip software code data cpu app server robot".split(),
    "money": "market stock bank money profit trade price shares deal".split(),
}
FILLER = "the a of and to in on for with today".split()


def toy_split(n: int, seed: int, weights: tuple[float, ...] = (1, 1, 1)) -> Split:
    rng = random.Random(seed)
    labels = list(TOPICS)
    texts, y = [], []
    for _ in range(n):
        k = rng.choices(range(3), weights=weights)[0]
        words = [rng.choice(TOPICS[labels[k]]) for _ in range(rng.randint(2, 6))]
        words += [rng.choice(FILLER) for _ in range(rng.randint(2, 8))]
        rng.shuffle(words)
        texts.append(" ".join(words))
        y.append(k)
    return Split(texts, np.array(y))


def toy_dataset(n_train: int = 240, weights: tuple[float, ...] = (1, 1, 1)) -> TextDataset:
    return TextDataset("toy", list(TOPICS), toy_split(n_train, 0, weights), toy_split(60, 1), toy_split(60, 2))


def toy_multilabel(n: int, seed: int) -> Split:
    """Each text mentions 1-2 topics; y is the (n, 3) 0/1 matrix of mentioned topics."""
    rng = random.Random(seed)
    labels = list(TOPICS)
    texts, y = [], []
    for _ in range(n):
        ks = rng.sample(range(3), rng.choice([1, 1, 2]))
        words = [rng.choice(TOPICS[labels[k]]) for k in ks for _ in range(2)]
        words += [rng.choice(FILLER) for _ in range(3)]
        rng.shuffle(words)
        texts.append(" ".join(words))
        row = np.zeros(3, dtype=np.int64)
        row[ks] = 1
        y.append(row)
    return Split(texts, np.array(y))


class BagModel(nn.Module):
    """Mean of token embeddings -> linear; tiny and fast."""

    def __init__(self, vocab: int, k: int, d: int = 16) -> None:
        super().__init__()
        self.embedding = nn.Embedding(vocab, d, padding_idx=0)
        self.head = nn.Linear(d, k)

    def forward(self, input_ids, attention_mask):
        m = attention_mask.unsqueeze(-1).float()
        return self.head((self.embedding(input_ids) * m).sum(1) / m.sum(1).clamp_min(1))


@pytest.fixture(autouse=True)
def _one_thread(monkeypatch):
    # the CPU is shared; one thread is also much faster than two under contention
    monkeypatch.setenv("TEXTLAB_THREADS", "1")


def _setup(ds: TextDataset, seed: int = 0):
    tok = WordTokenizer.fit(ds.train.texts, min_freq=1)
    tok.max_length = 16
    seed_everything(seed)
    return BagModel(tok.vocab_size, ds.n_labels), tok


def _fit(ds: TextDataset, seed: int = 0, **cfg_kw):
    model, tok = _setup(ds, seed)
    cfg = LoopConfig(**{"epochs": 4, "batch_size": 16, "lr": 0.05, "seed": seed, "patience": 0, **cfg_kw})
    history = train_loop(model, tok.encode, ds, cfg)
    return model, tok, history


def test_loss_falls_and_history_is_complete():
    ds = toy_dataset()
    calls = []
    model, tok = _setup(ds)
    cfg = LoopConfig(epochs=4, batch_size=16, lr=0.05, patience=0, grad_stats_every=5)
    h = train_loop(model, tok.encode, ds, cfg, lambda d, t, m="", e=None: calls.append((d, t, m, e)))
    losses = [v for _, v in h["train_loss"]]
    assert np.mean(losses[-5:]) < 0.5 * np.mean(losses[:5])
    assert h["evals"][-1]["accuracy"] > 0.9
    assert len(h["evals"]) == 4 * 2  # evals_per_epoch=2, the last at each epoch end
    assert h["steps_per_epoch"] == 15 and h["total_steps"] == 60
    assert len(h["epoch_seconds"]) == 4 and h["peak_memory_mb"] > 0
    assert h["n_trainable"] == h["n_total"] > 0
    assert h["grad_flow"][0]["step"] == 1 and {x["name"] for x in h["grad_flow"][0]["layers"]} == {
        "embedding.weight", "head.weight"}
    assert all(x["max_abs"] >= x["mean_abs"] >= 0 for g in h["grad_flow"] for x in g["layers"])
    assert any(m.startswith("train: epoch 1/4") for _, _, m, _ in calls)
    assert any(e and "val_acc" in e for *_, e in calls)
    # lr warms up then decays to 0
    lrs = [v for _, v in h["lr"]]
    assert max(lrs) == pytest.approx(0.05, rel=0.05) and lrs[-1] == pytest.approx(0.0, abs=1e-9)


def test_same_seed_same_result_different_seed_differs():
    ds = toy_dataset()
    m1, tok, h1 = _fit(ds, seed=3, epochs=2)
    m2, _, h2 = _fit(ds, seed=3, epochs=2)
    m3, _, h3 = _fit(ds, seed=4, epochs=2)
    assert h1["train_loss"] == h2["train_loss"]
    for a, b in zip(m1.state_dict().values(), m2.state_dict().values()):
        assert torch.equal(a, b)
    assert h1["train_loss"] != h3["train_loss"]


def test_early_stopping_restores_the_best_state():
    ds = toy_dataset()
    # validation labels rotated: learning the training task makes validation worse, so it stops early
    val = Split(ds.validation.texts, (ds.validation.y + 1) % 3)
    ds = TextDataset("toy", ds.labels, ds.train, val, ds.test)
    model, tok, h = _fit(ds, epochs=20, patience=2, metric="val_loss")
    assert h["stopped_early"]
    assert len(h["evals"]) < 40
    best = min(e["val_loss"] for e in h["evals"])
    assert h["best_metric"] == pytest.approx(best)
    assert h["best_step"] != h["evals"][-1]["step"]
    # the returned model is the best one, not the last one
    logits = predict_logits(model, tok.encode, val.texts)
    again = val_metrics(logits, val.y, False, lambda a, b: torch.nn.functional.cross_entropy(a, b))
    assert again["val_loss"] == pytest.approx(best, rel=1e-5)


def test_multilabel_training():
    ds = TextDataset("toy_ml", list(TOPICS), toy_multilabel(300, 0), toy_multilabel(60, 1), toy_multilabel(60, 2),
                     multilabel=True)
    model, tok, h = _fit(ds, epochs=6, imbalance="class_weights")
    assert h["evals"][-1]["f1_micro"] > 0.85
    proba = torch.sigmoid(torch.from_numpy(predict_logits(model, tok.encode, ds.test.texts))).numpy()
    assert ((proba >= 0.5) == ds.test.y.astype(bool)).mean() > 0.85


@pytest.mark.parametrize("imbalance", ["class_weights", "oversample", "undersample"])
def test_imbalance_options_train(imbalance):
    ds = toy_dataset(300, weights=(8, 1, 1))
    _, _, h = _fit(ds, imbalance=imbalance, epochs=3)
    assert h["evals"][-1]["f1_macro"] > 0.6


def test_sampler_covers_rows_and_balances():
    lengths = np.arange(100)
    s = BucketBatchSampler(lengths, 8, seed=0)
    rows = [i for b in s for i in b]
    assert sorted(rows) == list(range(100)) and len(list(s)) == len(s)
    s.set_epoch(1)
    assert [i for b in s for i in b] != rows  # reshuffled per epoch
    # batches are length-homogeneous inside each bucket
    assert max(np.ptp(lengths[b]) for b in s) < 100
    y = np.array([0] * 90 + [1] * 10)
    over = BucketBatchSampler(lengths, 8, 0, groups=y, sampling="oversample")
    got = y[[i for b in over for i in b]]
    assert np.bincount(got).tolist() == [90, 90] and len(list(over)) == len(over)
    under = BucketBatchSampler(lengths, 8, 0, groups=y, sampling="undersample")
    assert np.bincount(y[[i for b in under for i in b]]).tolist() == [10, 10]


def test_class_weights_and_groups():
    w = class_weights(np.array([0, 0, 0, 1]), 2, False)
    assert w[1] > w[0]
    ml = np.array([[1, 0], [1, 0], [1, 1], [0, 0]])
    assert balance_groups(ml, True).tolist() == [0, 0, 1, 2]
    assert class_weights(ml, 2, True).tolist() == pytest.approx([1 / 3, 3.0])


def test_cancel_propagates():
    ds = toy_dataset()
    model, tok = _setup(ds)

    def cb(done, total, message="", extra=None):
        if done >= 3:
            raise Cancelled("stop")

    with pytest.raises(Cancelled):
        train_loop(model, tok.encode, ds, LoopConfig(epochs=2, batch_size=16), cb)


def test_distillation_follows_the_teacher():
    ds = toy_dataset()
    teacher_labels = (ds.train.y + 1) % 3  # a teacher that disagrees with the gold labels
    soft = np.full((len(ds.train), 3), 0.05, dtype=np.float32)
    soft[np.arange(len(soft)), teacher_labels] = 0.9
    model, tok = _setup(ds)
    cfg = LoopConfig(epochs=4, batch_size=16, lr=0.05, patience=0, restore_best=False)
    train_loop(model, tok.encode, ds, cfg, soft_targets=soft, alpha=0.0, temperature=2.0)
    pred = predict_logits(model, tok.encode, ds.train.texts).argmax(1)
    assert (pred == teacher_labels).mean() > 0.9
    with pytest.raises(ValueError):
        train_loop(model, tok.encode, ds, cfg, soft_targets=soft[:10], alpha=0.5)


def test_trainable_freezes_parameters_and_max_steps():
    ds = toy_dataset()
    model, tok = _setup(ds)
    before = model.embedding.weight.detach().clone()
    h = train_loop(model, tok.encode, ds, LoopConfig(epochs=3, batch_size=16, max_steps=7),
                   trainable=lambda name: name.startswith("head"))
    assert torch.equal(before, model.embedding.weight)
    assert h["n_trainable"] == 16 * 3 + 3 < h["n_total"]
    assert h["train_loss"][-1][0] == 7 and h["evals"][-1]["step"] == 7


def test_loop_params_and_config():
    names = [p.name for p in LOOP_PARAMS]
    assert {"epochs", "batch_size", "lr", "patience", "imbalance", "metric", "seed"} <= set(names)
    params = loop_params(lr=5e-5, epochs=2)
    resolved = resolve(params, {"batch_size": "8"})
    cfg = loop_config({**resolved, "unrelated": 1})
    assert (cfg.lr, cfg.epochs, cfg.batch_size) == (5e-5, 2, 8)
    with pytest.raises(ValueError):
        loop_params(nonsense=1)


# ------------------------------------------------------------------------------------------------ tokenizers
def test_choose_max_length():
    assert choose_max_length(list(range(1, 101))) == 96
    assert choose_max_length([1000] * 5) == 256
    assert choose_max_length([1, 2]) == 8


@pytest.mark.parametrize("kind", ["word", "bpe"])
def test_tokenizer_roundtrip(tmp_path, kind):
    texts = toy_dataset().train.texts + ["Hello, World! Unseen-word here."]
    tok = build_tokenizer(kind, texts, min_freq=1, vocab_size=200, add_cls=True)
    assert 8 <= tok.max_length <= 256
    enc = tok.encode(["Hello, World!", "ball", ""])
    assert enc["input_ids"].shape == enc["attention_mask"].shape
    assert enc["input_ids"][:, 0].tolist() == [2, 2, 2]  # <cls>
    assert enc["attention_mask"][1].sum() == 2 and enc["input_ids"][1, -1] == 0  # padded
    toks = tok.tokens("Hello, World!")
    assert len(toks) == int(enc["attention_mask"][0].sum()) and toks[0] == "<cls>"
    assert "World" in "".join(toks)  # display units keep the original casing
    tok.save(tmp_path / "tok")
    again = load_tokenizer(tmp_path / "tok")
    assert type(again) is type(tok) and again.max_length == tok.max_length
    assert torch.equal(again.encode(texts[:5])["input_ids"], tok.encode(texts[:5])["input_ids"])


def test_word_vocab_and_truncation():
    tok = WordTokenizer.fit(["a b b c c c", "C d"], min_freq=2, max_size=5)
    assert tok.vocab[:3] == ["<pad>", "<unk>", "<cls>"] and tok.vocab[3:] == ["c", "b"]
    tok.max_length = 3
    assert tok.ids(["c b a d c"]) == [[3, 4, 1]]
    assert tok.tokens("c b a d c") == ["c", "b", "a"]
    bpe = BPETokenizer.fit(["lowering lower lowest"] * 5, vocab_size=60, min_freq=1)
    assert all(t.startswith("##") for t in bpe.tokens("lowering")[1:])
