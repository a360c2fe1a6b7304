"""A pretrained backbone's vocabulary coverage of the training texts (core.coverage): measured in the pre-flight
estimate, recorded in the manifest, and a plain warning with a recommendation when the vocabulary fits the
texts poorly (texts in another language, words it can only spell letter by letter) — without switching families."""
from __future__ import annotations

import json

import numpy as np
import pytest
from tiny_bert import tiny_dataset, tiny_encoder, tiny_tokenizer

from core import coverage, preflight
from core.data import Split, TextDataset
from tests.envtools import lab_dirs

RUSSIAN = ["привет как дела у тебя сегодня", "очень плохой день и грустно", "спасибо большое за поздравление",
           "отличная новость мы победили", "ничего не понятно что происходит", "с днем рождения тебя друг"]


@pytest.fixture(autouse=True)
def _env(tmp_path, monkeypatch):
    monkeypatch.setenv("TEXTLAB_THREADS", "1")
    with lab_dirs(tmp_path):
        yield


def russian_dataset(n: int = 48) -> TextDataset:
    rng = np.random.default_rng(0)

    def split(k: int) -> Split:
        y = rng.integers(0, 2, size=k)
        return Split([RUSSIAN[int(i) % 3 + 3 * int(c)] for i, c in zip(rng.integers(0, 3, size=k), y)], y)

    return TextDataset(name="tiny_ru", labels=["a", "b"], train=split(n), validation=split(16), test=split(16))


def test_english_vocabulary_covers_its_own_language():
    cov = coverage.measure(tiny_tokenizer(), tiny_dataset().train.texts, "tiny")
    assert not cov.poor and cov.unk_share == 0 and cov.pieces_per_word < 1.5
    assert cov.message.startswith("vocabulary coverage good") and "recommended" not in cov.message


def test_other_language_is_flagged_with_the_recommendation():
    cov = coverage.measure(tiny_tokenizer(), RUSSIAN * 5, "tiny")
    assert cov.poor and cov.language == "ru" and cov.unk_share > coverage.MAX_UNK_SHARE
    for advice in ("poor vocabulary coverage", "Russian", "--model rnn", "navec", "--model tfidf", "backbone=ORG/NAME"):
        assert advice in cov.message


def test_words_spelled_letter_by_letter_are_poor_without_unknown_pieces():
    # every letter exists as a piece, so nothing is [UNK], but each word costs ~5 pieces
    texts = ["zqxvk wjyfh pqzvx kjwqy"] * 20
    cov = coverage.measure(tiny_tokenizer(), texts, "tiny")
    assert cov.unk_share == 0 and cov.pieces_per_word > coverage.MAX_PIECES_PER_WORD and cov.poor
    assert cov.language is None and "no pretrained start for this language" in cov.message


@pytest.fixture
def tiny_folder(tmp_path):
    folder = tmp_path / "tiny-bert"
    tiny_encoder().save_pretrained(folder)
    tiny_tokenizer().save_pretrained(folder)
    return str(folder)


SETTINGS = {"epochs": 1, "batch_size": 16, "max_length": 16, "patience": 0, "evals_per_epoch": 1}


def test_estimate_and_manifest_record_the_coverage(tiny_folder, tmp_path):
    from core import train

    ds = russian_dataset()
    params = {"backbone": tiny_folder, **SETTINGS}
    est = preflight.estimate(ds, "transformer", params, warmup=2)
    assert est.coverage["poor"] and est.coverage["language"] == "ru"
    assert any("poor vocabulary coverage" in line for line in est.lines())  # the CLI's estimate lines
    assert est.as_dict()["coverage"] == est.coverage  # the JSON the Train page reads
    folder = train.run(ds, "transformer", params, name="tiny-ru")
    manifest = json.loads((folder / "manifest.json").read_text())
    assert manifest["backbone_coverage"]["poor"] and manifest["backbone_coverage"]["backbone"] == tiny_folder
    assert manifest["kind"] == "transformer"  # warned, not switched


def test_families_without_a_pretrained_vocabulary_measure_nothing():
    est = preflight.estimate(russian_dataset(), "rnn", {"epochs": 1, "batch_size": 16, "embed_dim": 8,
                                                        "hidden_dim": 8, "init_embeddings": "none"}, warmup=2)
    assert est.coverage is None and len(est.lines()) == 2


def _panel():
    import ui

    ui.estimate_panel("any", "transformer", {}, None)


def test_train_page_estimate_panel_warns_on_poor_coverage(monkeypatch):
    from streamlit.testing.v1 import AppTest

    cov = coverage.measure(tiny_tokenizer(), RUSSIAN * 5, "tiny").as_dict()
    est = {"steps": 10, "seconds_per_step": 0.5, "total_seconds": 6.0, "peak_memory_mb": 900.0,
           "free_memory_mb": 8000.0, "needed_mb": 100.0, "warmup_steps": 6, "warmup_seconds": 3.0,
           "largest_batch_tokens": 2048, "coverage": cov}
    monkeypatch.setattr(preflight, "estimate_in_subprocess", lambda *a, **k: est)
    at = AppTest.from_function(_panel).run(timeout=60)
    assert not at.exception
    assert [w.value for w in at.warning] == ["P" + cov["message"][1:]]
    assert "navec" in at.warning[0].value and "--model tfidf" in at.warning[0].value
