"""The defaults benchmark's pieces: the synthetic user-file sets (scripts/synthetic_sets.py) are deterministic,
shaped as documented and learnable but not trivial; scripts/bench_defaults.py trains through the CLI, reads the
estimate and load back from the run's log, re-reads a finished run instead of training it again and prints the
table. The real measurement (MiniLM vs TF-IDF, one thread) is a benchmark command, not a test."""
from __future__ import annotations

import numpy as np
import pytest
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression

from core.preflight import Estimate, parse_printed
from scripts import bench_defaults as bd
from scripts import synthetic_sets as ss
from tests.envtools import needs_shared


def _unigram_accuracy(train: list[dict], test: list[dict]) -> float:
    vec = TfidfVectorizer()  # word unigrams
    clf = LogisticRegression(max_iter=2000, C=10).fit(vec.fit_transform([r["text"] for r in train]),
                                                      [r["label"] for r in train])
    pred = clf.predict(vec.transform([r["text"] for r in test]))
    return float(np.mean(pred == np.array([r["label"] for r in test])))


def test_intents_are_deterministic_77_classes_with_held_out_paraphrases():
    train, test = ss.intents(n_train=20, n_test=10, seed=3)
    assert (train, test) == ss.intents(n_train=20, n_test=10, seed=3)
    assert train != ss.intents(n_train=20, n_test=10, seed=4)[0]
    assert len(train) == 77 * 20 and len(test) == 77 * 10
    assert {r["label"] for r in train} == {r["label"] for r in test} == set(ss.intent_labels())
    assert all(5 < len(r["text"]) < 120 for r in train + test)  # short requests
    held = [p[-1] for p in (*ss.ACTIONS.values(), *ss.OBJECTS.values())]
    def holds(r: dict) -> bool:
        return any(f" {h} " in " " + r["text"].lower().replace("?", " ").replace(":", " ") + " " for h in held)

    assert not any(holds(r) for r in train)
    has = [holds(r) for r in test]
    assert 0.05 < np.mean(has) < 0.3  # some test requests hold a paraphrase training never shows


def test_intents_a_word_tfidf_beats_chance_clearly_but_is_not_perfect():
    acc = _unigram_accuracy(*ss.intents(n_train=40, n_test=15, seed=0))
    assert 0.6 < acc < 0.97, acc  # chance = 1/77


def test_long_documents_follow_the_length_and_mixing_rules():
    pools = {c: [f"{c}word{j} " * 20 for j in range(30)] for c in ("alpha", "beta", "gamma")}
    rows = ss.long_documents(pools, 300, seed=1)
    assert rows == ss.long_documents(pools, 300, seed=1)
    lengths = np.array([len(r["text"]) for r in rows])
    assert lengths.min() >= ss.MIN_CHARS - 200 and lengths.max() <= ss.MAX_CHARS
    assert 2500 < np.median(lengths) < 6000  # log-uniform on [500, 25,000]: median ~3,500
    assert sorted({r["label"] for r in rows}) == sorted(pools)
    foreign, first_foreign = [], []
    for r in rows:
        paras = r["text"].split("\n\n")
        own = [p.startswith(r["label"]) for p in paras]
        foreign.append(1 - np.mean(own))
        first_foreign.append(not own[0])
    assert 0.15 < np.mean(foreign) < 0.35 and 0.1 < np.mean(first_foreign) < 0.4  # spread through the text


@needs_shared("ag_news")
def test_long_texts_from_the_shared_sources_are_learnable_but_not_trivial():
    train, test = ss.long_texts(n_train=150, n_test=100, seed=0)
    assert len(train) == 150 and len({r["label"] for r in train}) == 5 and ss.DISCUSSION in {r["label"] for r in test}
    assert not {r["text"] for r in train} & {r["text"] for r in test}
    assert 0.6 < _unigram_accuracy(train, test) < 1.0


def test_build_writes_csvs_the_user_file_path_reads(tmp_path):
    from core.data import resolve_dataset

    written = ss.build(tmp_path, seed=0, only=["intents77"])
    train, test = written["intents77"]
    assert train.read_bytes() == ss.build(tmp_path / "again", seed=0, only=["intents77"])["intents77"][0].read_bytes()
    ds = resolve_dataset(str(train), None, None, str(test))
    assert ds.n_labels == 77 and len(ds.test) == 77 * 30 and len(ds.train) + len(ds.validation) == 77 * 100


def test_parse_printed_reads_back_what_the_cli_prints():
    est = Estimate(kind="transformer", steps=1519, seconds_per_step=0.4413, train_seconds=670.3, eval_seconds=24.6,
                   total_seconds=694.9, peak_memory_mb=1231.6, start_memory_mb=900.0, free_memory_mb=18000.0,
                   warmup_steps=6, largest_batch_tokens=893, warmup_seconds=7.0)
    got = parse_printed("loading\n" + "\n".join(est.lines()) + "\n{}")
    assert got == {"kind": "transformer", "steps": 1519, "seconds_per_step": 0.441, "eval_seconds": 25.0,
                   "total_seconds": 694.9, "peak_memory_mb": 1232.0}
    assert parse_printed("no estimate for tfidf") is None


def test_bench_trains_through_the_cli_then_rereads_and_tabulates(tmp_path, monkeypatch):
    for key in ("TEXTLAB_ARTIFACTS_DIR", "TEXTLAB_CACHE_DIR", "TEXTLAB_USER_DATA_DIR"):
        monkeypatch.setenv(key, str(tmp_path / "unused"))  # bench() points them at the lab: restored afterwards
    train, test = ss.intents(n_train=6, n_test=3, seed=0)
    data = tmp_path / "data"
    train_csv, test_csv = ss.write_csv(train, data / "tiny_train.csv"), ss.write_csv(test, data / "tiny_test.csv")
    lab = tmp_path / "lab"
    rows = bd.bench(lab, [(str(train_csv), str(test_csv))], ["tfidf"], threads=1)
    assert len(rows) == 1
    r = rows[0]
    log = lab / "bench" / "logs" / "tiny_train-tfidf.log"
    assert r["dataset"] == "tiny_train.csv" and r["family"] == "tfidf" and r["test_rows"] == 77 * 3
    assert 0 < r["accuracy"] <= 1 and r["f1_macro"] is not None and r["train_seconds"] > 0
    assert r["estimate"] is None and r["time_ratio"] is None  # TF-IDF has no optimisation loop to estimate
    assert len(r["load_before"]) == 3 and len(r["load_after"]) == 3 and "# exit 0" in log.read_text()
    stamp = log.stat().st_mtime_ns
    again = bd.bench(lab, [(str(train_csv), str(test_csv))], ["tfidf"], threads=1)
    assert again == rows and log.stat().st_mtime_ns == stamp  # re-read, not trained again
    table = bd.markdown(rows).splitlines()
    assert table[0].startswith("| dataset | rows") and len(table) == 3
    assert table[2].startswith("| tiny_train.csv | ") and f"{r['accuracy']:.4f}" in table[2] and "– / " in table[2]


@pytest.mark.parametrize("dataset,name", [("ag_news", "ag_news-transformer"),
                                          ("/x/intents77_train.csv", "intents77_train-transformer"),
                                          ("upload:my data@v2", "upload_my_data_v2-transformer")])
def test_run_names(dataset, name):
    assert bd.run_name(dataset, "transformer") == name
    assert bd.run_name(dataset, "transformer", 500) == name + "-m500"
