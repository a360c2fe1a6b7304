"""Integrated gradients on tiny torch models built here: the explicit `gradient_target()` hook, the torch
families' shared hook (torch_gradient_target), a real pretrained-encoder family model on a tiny random BERT, and the
CapabilityError for models without gradients."""
from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest
import torch
from torch import nn

from core.base import CapabilityError, TextClassifier
from core.explain.gradients import GradientTarget, integrated_gradients, supports_gradients

VOCAB = ["<pad>", "<unk>", "<cls>", "the", "a", "team", "scored", "late", "in", "match", "goal", "city", "market",
         "report", "says", "today", "fans", "saw", "game"]
IDS = {w: i for i, w in enumerate(VOCAB)}
FILLERS = VOCAB[3:10] + VOCAB[11:]


@pytest.fixture(autouse=True)
def _one_thread():
    torch.set_num_threads(1)


class BagNet(nn.Module):
    """Embedding -> masked mean -> linear: a keyword model once trained."""

    def __init__(self):
        super().__init__()
        self.embedding = nn.Embedding(len(VOCAB), 8, padding_idx=0)
        self.head = nn.Linear(8, 2)

    def forward(self, input_ids, attention_mask):
        m = attention_mask.unsqueeze(-1).float()
        x = (self.embedding(input_ids) * m).sum(1) / m.sum(1).clamp_min(1)
        return self.head(x)


class ToyTokenizer:
    add_cls = True

    def tokens(self, text):
        return ["<cls>"] + re.findall(r"\w+", text.lower())

    def encode(self, texts):
        rows = [[IDS.get(t, 1) for t in self.tokens(x)] for x in texts]
        width = max(map(len, rows))
        ids = torch.zeros(len(rows), width, dtype=torch.long)
        mask = torch.zeros_like(ids)
        for i, r in enumerate(rows):
            ids[i, :len(r)] = torch.tensor(r)
            mask[i, :len(r)] = 1
        return {"input_ids": ids, "attention_mask": mask}


def sentences(n, seed):
    rng = np.random.default_rng(seed)
    texts, ys = [], []
    for _ in range(n):
        words = list(rng.choice(FILLERS, size=rng.integers(4, 9)))
        y = int(rng.random() < 0.5)
        if y:
            words.insert(int(rng.integers(len(words) + 1)), "goal")
        texts.append(" ".join(words))
        ys.append(y)
    return texts, np.array(ys)


def trained_net() -> BagNet:
    """A BagNet trained to spot "goal" (class 1); also used by tests/test_explain_counterfactual.py."""
    torch.manual_seed(0)
    net, tok = BagNet(), ToyTokenizer()
    texts, ys = sentences(256, 0)
    batch = tok.encode(texts)
    opt = torch.optim.Adam(net.parameters(), lr=0.05)
    for _ in range(60):
        opt.zero_grad()
        loss = nn.functional.cross_entropy(net(**batch), torch.tensor(ys))
        loss.backward()
        opt.step()
    net.eval()
    test, yt = sentences(100, 1)
    acc = (net(**tok.encode(test)).argmax(1).numpy() == yt).mean()
    assert acc > 0.95
    return net


@pytest.fixture(scope="module")
def net():
    return trained_net()


class HookModel:
    """Anything with gradient_target() (no TextClassifier needed)."""

    def __init__(self, net):
        self.net, self.tok = net, ToyTokenizer()

    def gradient_target(self):
        def encode(text):
            b = self.tok.encode([text])
            return b["input_ids"], b["attention_mask"], self.tok.tokens(text)

        return GradientTarget(self.net, self.net.embedding, encode, baseline_id=0, keep_ids=(2,))


class ConventionModel(TextClassifier):
    """Declares "gradients" and builds its hook like the torch families (core.models.torch_base)."""

    kind = "toy"
    capabilities = frozenset({"gradients"})

    def __init__(self, net):
        self.net, self.tokenizer, self.labels = net, ToyTokenizer(), ["other", "sport"]
        for p in net.parameters():  # frozen weights must not stop IG (it differentiates the layer output)
            p.requires_grad_(False)

    def encode(self, texts):
        return self.tokenizer.encode(texts)

    def gradient_target(self):
        from core.models.torch_base import torch_gradient_target

        return torch_gradient_target(self.net, self.encode, self.net.embedding, self.tokenizer.tokens, self.tokenizer)

    def predict_proba(self, texts):
        with torch.no_grad():
            return torch.softmax(self.net(**self.encode(texts)), -1).numpy()

    def save(self, directory: Path) -> None:  # pragma: no cover - not needed here
        raise NotImplementedError

    @classmethod
    def load(cls, directory: Path):  # pragma: no cover
        raise NotImplementedError


TEXT = "the team scored a late goal in the match"


def test_ig_ranks_keyword_first_with_hook(net):
    attr = integrated_gradients(HookModel(net), TEXT, 1, n_steps=24)
    assert attr.tokens == ["<cls>"] + TEXT.split()
    assert attr.method == "integrated_gradients"
    assert attr.top(1, absolute=False)[0][0] == "goal"
    # completeness: attributions sum to f(x) - f(baseline) for the logit
    with torch.no_grad():
        b = ToyTokenizer().encode([TEXT])
        fx = float(net(**b)[0, 1])
    assert attr.values.sum() == pytest.approx(fx - attr.base_value, abs=0.05)
    assert abs(attr.extra["delta"]) < 0.05
    away = integrated_gradients(HookModel(net), TEXT, 0, n_steps=24)
    assert away.tokens[int(np.argmin(away.values))] == "goal"


def test_ig_through_family_conventions(net):
    model = ConventionModel(net)
    assert supports_gradients(model)
    attr = integrated_gradients(model, TEXT, 1, n_steps=16, output="proba")
    assert attr.tokens[int(np.argmax(attr.values))] == "goal"
    p = model.predict_proba([TEXT])[0, 1]
    assert attr.values.sum() == pytest.approx(p - attr.base_value, abs=0.05)


def test_capability_error_without_gradients():
    class Plain(TextClassifier):
        kind = "plain"
        labels = ["a", "b"]

        def predict_proba(self, texts):
            return np.full((len(texts), 2), 0.5)

        def save(self, directory):  # pragma: no cover
            pass

        @classmethod
        def load(cls, directory):  # pragma: no cover
            return cls()

    assert not supports_gradients(Plain())
    with pytest.raises(CapabilityError):
        integrated_gradients(Plain(), TEXT, 0)


def test_ig_on_pretrained_encoder_family():
    """The transformer family (tiny random BERT, no training) works through the adapter; pieces are merged."""
    pytest.importorskip("transformers")
    from tiny_bert import tiny_dataset, tiny_encoder, tiny_params, tiny_tokenizer

    from core.models import transformer as T

    model = T.build(tiny_dataset(), tiny_params(head="cls"), encoder=tiny_encoder(), tokenizer=tiny_tokenizer())
    model.finalize()
    text = "Stock markets rally"
    attr = integrated_gradients(model, text, 0, n_steps=8)
    assert attr.tokens == ["[CLS]", "stock", "markets", "rally", "[SEP]"]  # pieces merged into words
    assert np.isfinite(attr.values).all()
    logit = model.predict_logits([text])[0, 0]
    assert attr.values.sum() == pytest.approx(logit - attr.base_value, abs=0.1 + 0.1 * abs(logit - attr.base_value))
