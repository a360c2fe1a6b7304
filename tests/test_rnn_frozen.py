"""RNN settings for pretrained word vectors: freeze_embeddings keeps the navec rows fixed while the rest learns;
pretrained_vocab puts navec words unseen in training into the vocabulary, each with its own vector."""
from __future__ import annotations

import pytest
import torch
from test_language_init import SMALL, russian_dataset

from core.data import Split, TextDataset
from core.errors import ParamError
from core.models import family
from core.params import resolve


@pytest.fixture(autouse=True)
def _env(tmp_path, monkeypatch):
    monkeypatch.setenv("TEXTLAB_THREADS", "1")
    monkeypatch.setenv("TEXTLAB_ARTIFACTS_DIR", str(tmp_path / "artifacts"))


def _fit(**settings):
    fam = family("rnn")
    params = resolve(fam.PARAMS, {**SMALL, "init_embeddings": "navec", "lr": 0.05, **settings})
    return fam.fit(russian_dataset(), params)


def _start(tok) -> torch.Tensor:
    from core.models.embedding_navec import navec_embeddings

    return navec_embeddings(tok)[0]


def test_freeze_embeddings_keeps_the_vectors_and_trains_the_rest():
    frozen, info = _fit(freeze_embeddings="all")
    tuned, _ = _fit()
    assert torch.equal(frozen.net.embedding.weight, _start(frozen.tokenizer))
    assert not torch.allclose(tuned.net.embedding.weight, _start(tuned.tokenizer))
    assert info["history"]["n_trainable"] == info["history"]["n_total"] - 300 * frozen.tokenizer.vocab_size
    val = russian_dataset().validation
    assert (frozen.predict(val.texts) == val.y).mean() >= 0.9  # the recurrent layers and the head still learned


def _smiley_dataset():
    """russian_dataset with ")" (a token navec lacks, like most emoticons) added to every text of label 1."""
    ds = russian_dataset()

    def mark(split):
        return Split([t + " )" if y == 1 else t for t, y in zip(split.texts, split.y)], split.y)
    return TextDataset("ru_smiley", ds.labels, mark(ds.train), mark(ds.validation), mark(ds.test), language="ru")


def test_freeze_pretrained_rows_only_lets_words_without_a_vector_learn(tmp_path):
    fam = family("rnn")
    params = resolve(fam.PARAMS, {**SMALL, "init_embeddings": "navec", "lr": 0.05, "freeze_embeddings": "pretrained"})
    model, info = fam.fit(_smiley_dataset(), params)
    tok = model.tokenizer
    rows = model.net.embedding(torch.arange(tok.vocab_size)).detach()  # what the network reads for each id
    moved = (rows - _start(tok)).abs().sum(1) > 0
    assert ")" in tok.vocab and not moved[tok.vocab.index("футбол")] and not moved[tok.vocab.index("банк")]
    assert moved[tok.vocab.index(")")]  # no navec vector: it learned
    assert moved.sum() == 1  # every other training token is a navec word (<unk>, <cls> never occur)
    # only the rows without a vector are optimised, not the whole table
    assert info["history"]["n_trainable"] == info["history"]["n_total"] - 300 * tok.vocab_size
    val = _smiley_dataset().validation
    before = model.predict_proba(val.texts)
    model.save(tmp_path / "m")
    again = type(model).load(tmp_path / "m")
    assert torch.equal(again.net.embedding(torch.arange(tok.vocab_size)), rows)
    assert (again.predict_proba(val.texts) == before).all()


def test_pretrained_vocab_gives_unseen_words_their_navec_vector():
    from core.models.embedding_navec import load_navec

    model, _ = _fit(freeze_embeddings="all", pretrained_vocab=True)
    tok = model.tokenizer
    assert "хоккей" not in " ".join(russian_dataset().train.texts)  # never seen in training
    (hockey,), (soccer,) = tok.ids(["хоккей"]), tok.ids(["футбол"])
    assert hockey[-1] != 1 and tok.vocab.index("футбол") < tok.vocab.index("хоккей")  # training words keep ids first
    assert tok.vocab_size > 200_000
    emb = model.net.embedding.weight
    nv = load_navec()
    cos = torch.nn.functional.cosine_similarity
    # the row is navec's vector (rescaled), so "хоккей" sits near "футбол", far from "банк"
    assert cos(emb[hockey[-1]], torch.from_numpy(nv["хоккей"]).float(), dim=0) > 0.999
    bank = tok.ids(["банк"])[0][-1]
    assert cos(emb[hockey[-1]], emb[soccer[-1]], dim=0) > cos(emb[hockey[-1]], emb[bank], dim=0) + 0.2


def test_settings_refuse_what_they_cannot_do():
    with pytest.raises(ParamError, match="pretrained start"):
        _fit(init_embeddings="none", freeze_embeddings="all")
    with pytest.raises(ParamError, match="tokenizer=word"):
        _fit(tokenizer="bpe", pretrained_vocab=True)


def test_pretrained_vocab_without_freezing_trains_only_the_training_words():
    model, info = _fit(pretrained_vocab=True)
    tok = model.tokenizer
    ids = torch.tensor([tok.vocab.index(w) for w in ("футбол", "хоккей")])
    rows = model.net.embedding(ids).detach()
    start = _start(tok)[ids]
    assert not torch.equal(rows[0], start[0]) and torch.equal(rows[1], start[1])  # seen word learned, added one kept
    # the optimizer sees the training words' rows, not the ~230k added ones
    assert info["history"]["n_trainable"] == info["history"]["n_total"] - 300 * tok.vocab_size
    assert len(model.net.embedding.tuned.weight) < 100 < tok.vocab_size
