"""Active learning on an unlabeled pool (core.pool): uncertainty + diversity ranking, label export/import with
whole-file refusals, growing the dataset into a new version and retraining, the learning curve, the CLI and the
page — on a tiny keyword dataset where the uncertain texts are known by construction."""
from __future__ import annotations

import random
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from tests.envtools import lab_dirs

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

TOPICS = {"sport": "match team goal coach league".split(), "money": "market stock bank profit price".split(),
          "tech": "chip software robot laptop code".split()}
FAST = {"analyzer": "word", "word_ngram_max": 1}


def _split(n: int, seed: int):
    from core.data import Split

    rng, names = random.Random(seed), list(TOPICS)
    texts, y = [], []
    for i in range(n):
        k = i % 3
        words = [rng.choice(TOPICS[names[k]]) for _ in range(3)] + rng.sample(["the", "a", "today", "now"], 2)
        rng.shuffle(words)
        texts.append(" ".join(words))
        y.append(k)
    return Split(texts, np.array(y))


#: pool texts: clear ones (one topic, sure) and mixed ones (two topics: the model cannot be sure)
CLEAR = [f"goal match team coach league {w}" for w in ("one", "two", "three", "four", "five", "six")]
MIXED = ["goal stock", "robot bank", "coach chip", "league price"]
NEAR = ["Goal, stock!"]  # a near copy of MIXED[0]: same words, other case and punctuation


@pytest.fixture(scope="module")
def lab(tmp_path_factory):
    root = tmp_path_factory.mktemp("pool-lab")
    with lab_dirs(root):
        from core import train
        from core.data import TextDataset, save_upload

        ref = save_upload(TextDataset("pooltoy", list(TOPICS), _split(150, 0), _split(30, 1), _split(60, 2)),
                          "pooltoy")
        train.run(ref, "tfidf", FAST, name="pool-tfidf")
        yield {"root": root, "dataset": ref}


@pytest.fixture()
def pool(lab):
    from core.pool import store

    store.clear_pool(lab["dataset"])
    store.add_texts(lab["dataset"], CLEAR + MIXED + NEAR + ["=HYPERLINK(\"x\") goal"])
    return lab


def test_uncertainty_orders_uniform_above_sure():
    from core.pool.rank import uncertainty

    p = np.array([[1 / 3, 1 / 3, 1 / 3], [0.5, 0.45, 0.05], [0.98, 0.01, 0.01]])
    for method in ("entropy", "margin", "least"):
        s = uncertainty(p, False, method)
        assert s[0] > s[2] and s[1] > s[2], method
    ml = uncertainty(np.array([[0.5, 0.9], [0.99, 0.01]]), True, "margin")
    assert ml[0] > ml[1]


def test_rank_puts_mixed_texts_first_and_keeps_near_copies_apart(pool):
    from core.pool.rank import rank_pool

    frame = rank_pool("pool-tfidf", size=5)
    assert set(frame["text"].head(4)) <= set(MIXED + NEAR)  # the uncertain (two-topic) texts come first
    assert not {"goal stock", "Goal, stock!"} <= set(frame["text"])  # never both near copies in one batch
    assert frame.attrs["near_duplicates_skipped"] >= 1
    assert frame["uncertainty"].is_monotonic_decreasing


def test_import_refuses_bad_files_whole_and_changes_nothing(pool):
    from core.errors import DataError
    from core.pool import labels, store

    ds = pool["dataset"]
    before = store.load_pool(ds)
    first = int(before["id"].iloc[0])
    bad = {
        "unknown ids": pd.DataFrame({"id": [first, 999], "label": ["sport", "sport"]}),
        "labels the dataset does not know": pd.DataFrame({"id": [first], "label": ["weather"]}),
        "more than once": pd.DataFrame({"id": [first, first], "label": ["sport", "money"]}),
        "another pool": pd.DataFrame({"pool": ["other"], "id": [first], "label": ["sport"]}),
        "no 'label' column": pd.DataFrame({"id": [first]}),
    }
    for problem, frame in bad.items():
        with pytest.raises(DataError, match=problem):
            labels.import_labels(ds, frame, list(TOPICS))
        pd.testing.assert_frame_equal(store.load_pool(ds), before)


def test_export_defuses_formulas_and_round_trips(pool):
    import io

    from core.pool import labels, store
    from core.pool.rank import rank_pool

    ds = pool["dataset"]
    frame = rank_pool("pool-tfidf", size=20, max_similarity=1.0)
    exported = pd.read_csv(io.BytesIO(labels.export_batch(ds, frame)), keep_default_na=False)
    formula = exported[exported["text"].str.contains("HYPERLINK")]
    assert len(formula) == 1 and formula["text"].iloc[0].startswith("'=")
    exported["label"] = ["money" if i % 2 else "" for i in range(len(exported))]
    result = labels.import_labels(ds, exported, list(TOPICS))
    assert result.labelled == len(exported) // 2 and result.skipped_blank == len(exported) - result.labelled
    assert store.summary(ds)["labelled"] == result.labelled


def test_grow_saves_a_new_version_and_retrain_uses_the_same_settings(pool):
    from core.artifacts import get_artifact
    from core.data import load_dataset
    from core.pool import grow, labels, store

    ds_name = pool["dataset"]
    old = load_dataset(ds_name)
    mixed_ids = store.load_pool(ds_name).query("text in @MIXED")["id"].tolist()
    labels.import_labels(ds_name, pd.DataFrame({"id": mixed_ids, "label": ["tech"] * len(mixed_ids)}), list(TOPICS))
    ref = grow.save_grown(ds_name)
    new = load_dataset(ref)
    assert len(new.train) == len(old.train) + len(MIXED)
    assert new.fingerprint() != old.fingerprint()
    assert load_dataset(f"{ds_name}@v1").fingerprint() == old.fingerprint()  # the old version stays loadable
    assert store.summary(ds_name)["used"] == len(MIXED) and store.summary(ds_name)["labelled"] == 0
    path = grow.retrain("pool-tfidf", ref, name="pool-tfidf-grown")
    info = get_artifact(path.name)
    assert info.manifest["dataset_fingerprint"] == new.fingerprint()
    assert info.manifest["config"]["analyzer"] == "word"


def test_power_fit_recovers_a_known_curve():
    from core.pool.curve import Curve, power_fit

    rows = [100, 200, 400, 800, 1600]
    values = [0.95 - 2.0 * n ** -0.5 for n in rows]
    fit = power_fit(rows, values)
    assert fit["a"] == pytest.approx(0.95, abs=1e-3) and fit["c"] == pytest.approx(0.5, abs=0.02)
    curve = Curve("m", "accuracy", rows, values, fit)
    need = curve.rows_needed(0.9)
    assert need == pytest.approx((2.0 / 0.05) ** 2, rel=0.05)
    assert curve.rows_needed(0.96) is None  # above the plateau: no made-up estimate
    assert power_fit(rows[:2], values[:2]) is None


def test_learning_curve_retrains_on_subsamples(lab):
    from core.pool.curve import learning_curve, saved_curve

    curve = learning_curve("pool-tfidf", [0.1, 0.3, 0.6])
    assert curve.rows == sorted(curve.rows) and len(curve.rows) == 4
    assert curve.values[-1] > 0.6  # the full model clearly beats chance (1/3)
    assert saved_curve("pool-tfidf").rows == curve.rows


def test_cli_rank_import_grow(pool, tmp_path, capsys):
    from core.cli import main

    ds = pool["dataset"]
    assert main(["pool", "show", ds]) == 0
    out = tmp_path / "batch.csv"
    assert main(["pool", "rank", "pool-tfidf", "--size", "3", "--out", str(out)]) == 0
    batch = pd.read_csv(out, keep_default_na=False)
    batch["label"] = "sport"
    batch.to_csv(out, index=False)
    assert main(["pool", "import", ds, str(out)]) == 0
    assert "labelled 3 pool rows" in capsys.readouterr().out
    batch.loc[0, "label"] = "weather"
    batch.to_csv(out, index=False)
    assert main(["pool", "import", ds, str(out)]) == 2  # refused, one line on stderr
    assert "weather" in capsys.readouterr().err


def test_page_ranks_the_pool(pool):
    import streamlit as st
    from streamlit.testing.v1 import AppTest

    st.cache_data.clear()
    st.cache_resource.clear()
    at = AppTest.from_file(str(ROOT / "views" / "pool.py"), default_timeout=120)
    at.session_state["_shared_dataset"] = pool["dataset"]
    at.session_state["_shared_model"] = "pool-tfidf"
    at.run()
    assert not at.exception
    assert [m.value for m in at.metric][3] == str(len(CLEAR + MIXED + NEAR) + 1)
    at.button(key="pool-rank").click().run()
    assert not at.exception
    shown = at.dataframe[0].value
    assert set(shown["text"].head(3)) <= set(MIXED + NEAR)
