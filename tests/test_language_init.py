"""init_embeddings=auto: the training texts' language picks the pretrained start (English -> MiniLM word pieces,
Russian -> navec vectors from the natasha package, anything else -> none); the choice lands in the manifest and a
user's explicit choice overrides it."""
from __future__ import annotations

import random

import numpy as np
import pytest

from core.data import Split, TextDataset
from core.language import detect_language
from core.models import family
from core.models.embedding_init import describe, initial_embeddings
from core.params import resolve
from core.tokenization import WordTokenizer

ENGLISH = ["What is the capital of France and why is it there?", "The market fell after the bank raised rates.",
           "I have been waiting for my card for two weeks."]
RUSSIAN = ["Какая сегодня погода в Москве?", "Банк повысил ставку, и рынок упал.", "Я жду свою карту уже две недели."]
FRENCH = ["Le chat mange du poisson sur la table.", "Où se trouve la gare centrale?", "Je voudrais un café noir."]


@pytest.fixture(autouse=True)
def _env(tmp_path, monkeypatch):
    monkeypatch.setenv("TEXTLAB_THREADS", "1")
    monkeypatch.setenv("TEXTLAB_ARTIFACTS_DIR", str(tmp_path / "artifacts"))


@pytest.mark.parametrize("texts, language", [
    (ENGLISH, "en"), (RUSSIAN, "ru"), (FRENCH, None), (["東京は日本の首都です"], None), (["12345 !!! ..."], None),
    (["war election minister game team chip"], None),  # Latin letters but no English function words
    (RUSSIAN + ["ok"], "ru"),
])
def test_detector(texts, language):
    assert detect_language(texts).language == language


def test_detector_samples_large_inputs():
    det = detect_language(ENGLISH * 2000, sample=100)
    assert det.language == "en" and det.sampled_texts == 100


RU_TOPICS = {"спорт": "футбол матч команда игрок тренер гол победа".split(),
             "финансы": "банк рынок цена акции прибыль кредит ставка".split()}
RU_FILLER = "и в на с по это очень сегодня".split()


def russian_dataset() -> TextDataset:
    def split(n: int, seed: int) -> Split:
        rng = random.Random(seed)
        names = list(RU_TOPICS)
        texts = [" ".join(rng.sample(RU_TOPICS[names[i % 2]], 3) + rng.sample(RU_FILLER, 3)) for i in range(n)]
        return Split(texts, np.arange(n) % 2)
    return TextDataset("ru_toy", list(RU_TOPICS), split(80, 0), split(20, 1), split(20, 2), language="ru")


SMALL = {"hidden_dim": 16, "epochs": 2, "batch_size": 16, "min_freq": 1, "tokenizer": "word", "patience": 0}


def test_auto_on_russian_uses_navec_and_records_it_in_the_manifest():
    from core import artifacts
    from core.train import run

    path = run(russian_dataset(), "rnn", SMALL, name="ru-rnn")
    manifest = artifacts.get_artifact(path.name).manifest
    rec = manifest["embedding_init"]
    assert rec["choice"] == "auto" and rec["language"] == "ru" and rec["source"] == "navec"
    assert rec["coverage"] > 0.5 and rec["dim"] == 300  # every topic and filler word is a navec word
    assert rec["description"] == "auto → Russian, navec Russian word vectors"
    assert artifacts.load_model(path.name).net.embedding.weight.shape[1] == 300


def test_navec_vectors_put_related_russian_words_close():
    tok = WordTokenizer.fit(["футбол матч банк кредит"], min_freq=1)
    emb, rec = initial_embeddings("navec", tok, ["футбол"])
    w = {x: emb[tok.vocab.index(x)] for x in ("футбол", "матч", "банк", "кредит")}

    def cos(a, b):
        return float(a @ b / (a.norm() * b.norm()))
    assert cos(w["футбол"], w["матч"]) > cos(w["футбол"], w["кредит"]) + 0.1
    assert rec["source"] == "navec" and rec["language"] is None  # an explicit choice detects nothing


def test_user_choice_overrides_auto():
    fam = family("rnn")
    model, info = fam.fit(russian_dataset(), resolve(fam.PARAMS, {**SMALL, "init_embeddings": "none",
                                                                   "embed_dim": 24}))
    assert model.net.embedding.weight.shape[1] == 24
    assert info["embedding_init"]["source"] == "none" and "init_embeddings_coverage" not in info


def test_auto_on_other_languages_starts_at_random():
    tok = WordTokenizer.fit(FRENCH, min_freq=1)
    matrix, rec = initial_embeddings("auto", tok, FRENCH)
    assert matrix is None and rec["source"] == "none" and rec["language"] is None
    assert rec["description"] == "auto → no supported language, random start"
    assert describe("auto", "minilm-l6", "en") == "auto → English, MiniLM word pieces"


@pytest.mark.parametrize("texts, init, kind", [
    (RUSSIAN, "auto", "word"),    # navec holds whole words: a word vocabulary finds twice as many vectors as BPE
    (ENGLISH, "auto", "bpe"),     # MiniLM spells any piece in its own word pieces: English keeps BPE, as before
    (FRENCH, "auto", "bpe"), (RUSSIAN, "none", "bpe"), (ENGLISH, "navec", "word"),
])
def test_tokenizer_auto_follows_the_pretrained_start(texts, init, kind):
    from core.models.embedding_init import resolve_source, tokenizer_kind

    source, _ = resolve_source(init, texts)
    assert tokenizer_kind("auto", source) == kind
    assert tokenizer_kind("bpe", source) == "bpe"  # an explicit tokenizer always wins


def test_default_rnn_on_russian_builds_a_word_vocabulary_for_navec():
    fam = family("rnn")
    assert resolve(fam.PARAMS, {})["tokenizer"] == "auto"
    settings = {k: v for k, v in SMALL.items() if k != "tokenizer"}
    model, info = fam.fit(russian_dataset(), resolve(fam.PARAMS, settings))
    assert info["tokenizer"] == model.tokenizer.kind == "word"
    rec = info["embedding_init"]
    assert rec["tokenizer"] == "word" and rec["source"] == "navec" and rec["coverage"] > 0.85  # all but <pad> <unk> <cls>
