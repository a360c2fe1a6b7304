"""Compression and Training-curves pages through Streamlit's AppTest, on tiny real artifacts built once.

Fixture: a toy 3-topic dataset saved as upload:tiny; a tiny bi-GRU trained on it by core.train.run (it records a
training history and gradient flow), its int8 variant by core.compress.compress, one core.bench.bench run of
both; and upload:solo with a single TF-IDF model (no variant: the empty state).
"""
from __future__ import annotations

import os
import random
import sys
from pathlib import Path

import numpy as np
import pytest

from tests.envtools import chart_text, restored_env

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:  # pages import `ui` from the project root
    sys.path.insert(0, str(ROOT))

from streamlit.testing.v1 import AppTest  # noqa: E402

TIMEOUT = 120
ENV = ("TEXTLAB_ARTIFACTS_DIR", "TEXTLAB_USER_DATA_DIR", "TEXTLAB_JOBS_DIR", "TEXTLAB_CACHE_DIR", "TEXTLAB_THREADS")
TOPICS = {
    "sport": "ball goal team match win score player coach league".split(),
    "tech": "computer chip software code data cpu app server robot".split(),
    "money": "market stock bank money profit trade price shares deal".split(),
}
FILLER = "the a of and to in on for with today".split()
RNN = {"embed_dim": 16, "hidden_dim": 16, "epochs": 3, "batch_size": 16, "lr": 0.02, "dropout": 0.1, "min_freq": 1,
       "patience": 0}


def toy_split(n: int, seed: int, noise: float = 0.0):
    from core.data import Split

    rng = random.Random(seed)
    labels = list(TOPICS)
    texts, y = [], []
    for i in range(n):
        k = i % 3
        words = [rng.choice(TOPICS[labels[k]]) for _ in range(rng.randint(1, 3))]
        words += [rng.choice(FILLER) for _ in range(rng.randint(2, 8))]
        rng.shuffle(words)
        texts.append(" ".join(words))
        y.append(k if rng.random() >= noise else rng.randrange(3))  # some label noise: not every answer is sure
    return Split(texts, np.array(y))


def toy_dataset(name: str):
    from core.data import TextDataset

    return TextDataset(name, list(TOPICS), toy_split(150, 0, 0.1), toy_split(30, 1, 0.1), toy_split(90, 2, 0.2))


@pytest.fixture(scope="module")
def lab(tmp_path_factory):
    import torch

    root = tmp_path_factory.mktemp("compression-lab")
    with restored_env(ENV):
        for k, sub in zip(ENV, ("artifacts", "user_data", "jobs", "cache")):
            os.environ[k] = str(root / sub)
        os.environ["TEXTLAB_THREADS"] = "1"
        old_threads = torch.get_num_threads()
        torch.set_num_threads(1)
        from core import train
        from core.bench import bench
        from core.compress import compress
        from core.data import load_dataset, save_upload

        ds = load_dataset(save_upload(toy_dataset("tiny"), "tiny"))
        train.run(ds, "rnn", RNN, name="tiny-rnn")
        compress("tiny-rnn", "int8", name="tiny-rnn-int8", dataset=ds)
        bench(["tiny-rnn", "tiny-rnn-int8"], reference="tiny-rnn", n_texts=8, threads=1, repeats=3, batch_size=8,
              batch_repeats=1)
        solo = load_dataset(save_upload(toy_dataset("solo"), "solo"))
        train.run(solo, "tfidf", {"analyzer": "word", "word_ngram_max": 1}, name="solo-tfidf")
        yield root
        torch.set_num_threads(old_threads)


@pytest.fixture()
def fresh(lab):
    import streamlit as st

    st.cache_data.clear()
    st.cache_resource.clear()
    return lab


def page(name: str, dataset: str) -> AppTest:
    at = AppTest.from_file(str(ROOT / "views" / f"{name}.py"), default_timeout=TIMEOUT)
    at.session_state["_shared_dataset"] = dataset
    return at


def texts_of(at: AppTest) -> str:
    parts = []
    for kind in ("title", "subheader", "markdown", "caption", "info", "success", "warning", "error"):
        parts += [str(getattr(e, "value", "")) for e in getattr(at, kind)]
    return "\n".join(parts)


def test_scorecard_tradeoffs_and_changed_predictions(fresh):
    at = page("compression", "upload:tiny").run()
    assert not at.exception, at.exception
    assert at.selectbox(key="compression-reference").value == "tiny-rnn"  # the parent is the default reference
    assert at.multiselect(key="compression-variants").value == ["tiny-rnn-int8"]
    card = at.dataframe[1].value  # [0] = lineage table
    assert list(card["model"]) == ["tiny-rnn", "tiny-rnn-int8"]
    row = card.set_index("model").loc["tiny-rnn-int8"]
    assert row["method"] == "int8" and row["parent"] == "tiny-rnn"
    for col in ("size_mb", "n_parameters", "latency_p50_ms", "latency_p95_ms", "latency_real_p50_ms",
                "throughput_per_s", "accuracy", "f1_macro", "ece", "agreement", "compression_ratio", "speedup"):
        assert np.isfinite(float(row[col])), col
    assert row["compression_ratio"] > 0 and 0 <= row["agreement"] <= 1  # tiny models: int8 scales can outweigh
    assert card.set_index("model").loc["tiny-rnn", "speedup"] == 1
    text = texts_of(at)
    assert "Pareto front" in text and "Reliability diagram" in text
    titles = [chart_text(c) for c in at.get("plotly_chart")]
    assert sum("against latency" in s for s in titles) == 1 and sum("against size" in s for s in titles) == 1
    assert any("Per-class accuracy" in s for s in titles)
    assert [e for e in at.expander if "Machine" in e.label]
    assert len(at.get("download_button")) >= 1
    changed = [m for m in at.metric if m.label == "changed"]
    assert changed
    if int(changed[0].value.replace(",", "")):  # int8 of a tiny RNN may agree on every example
        tables = [d.value for d in at.dataframe if "variant" in d.value.columns]  # found by content, not position
        assert tables and {"text", "true", "reference", "variant", "now right"} <= set(tables[0].columns)
    else:
        assert at.success


def test_build_form_starts_compress_job(fresh, monkeypatch):
    import ui

    calls = []
    monkeypatch.setattr("core.jobs.start_job", lambda *a, **kw: calls.append((a, kw)) or "job-1")
    at = page("compression", "upload:tiny").run()
    at.selectbox(key="compression-method").select("fp16").run()
    assert not at.exception
    at.text_input(key="compression-name").input("tiny-rnn-half")
    at.button(key="FormSubmitter:compression-form-Build").click().run()
    assert not at.exception, at.exception
    assert calls, texts_of(at)
    args, kw = calls[0]
    assert kw["command"] == "compress" and kw["extra_args"] == ["--teacher", "tiny-rnn", "--method", "fp16"]
    assert kw["name"] == "tiny-rnn-half" and args[0] == "upload:tiny"
    assert ui.PAGE_COMPRESSION == "views/compression.py"


def test_run_benchmark_button_starts_bench_job(fresh, monkeypatch):
    calls = []
    monkeypatch.setattr("core.jobs.start_job", lambda *a, **kw: calls.append((a, kw)) or "job-2")
    at = page("compression", "upload:tiny").run()
    at.button(key="compression-bench").click().run()
    assert not at.exception, at.exception
    kw = calls[0][1]
    assert kw["command"] == "bench"
    assert kw["extra_args"][:4] == ["tiny-rnn", "tiny-rnn-int8", "--reference", "tiny-rnn"]


def test_bench_cli_job_dir_writes_done(lab, tmp_path):
    from core.cli import main
    from core.progress import read_progress

    assert main(["bench", "tiny-rnn", "tiny-rnn-int8", "--repeats", "2", "--n-texts", "4", "--batch-size", "4",
                 "--threads", "1", "--job-dir", str(tmp_path)]) == 0
    state = read_progress(tmp_path)
    assert state["state"] == "done" and state["saved_to"].endswith(".json")


def test_empty_state_without_variants(fresh):
    at = page("compression", "upload:solo").run()
    assert not at.exception, at.exception
    assert at.selectbox(key="compression-reference").value == "solo-tfidf"
    assert any("nothing to compare" in i.value for i in at.info)
    assert not at.get("plotly_chart")
    assert at.button(key="FormSubmitter:compression-form-Build")  # the build form is still there


def test_training_curves_page(fresh):
    at = page("curves", "upload:tiny").run()
    assert not at.exception, at.exception
    assert at.multiselect(key="curves-runs").value == ["tiny-rnn"]  # the int8 variant has no training history
    specs = [chart_text(c) for c in at.get("plotly_chart")]
    assert any("Training curves" in s for s in specs) and any("tiny-rnn" in s and "|gradient|" in s for s in specs)
    table = at.dataframe[0].value
    assert table.loc[0, "variant"] == "tiny-rnn" and table.loc[0, "epochs_run"] == 3
    at.select_slider(key="curves-step-tiny-rnn").set_value(at.select_slider(key="curves-step-tiny-rnn").options[1])
    at.run()
    assert not at.exception
    assert any("at step" in chart_text(c) for c in at.get("plotly_chart"))


def test_training_curves_empty_state(fresh):
    at = page("curves", "upload:solo").run()
    assert not at.exception
    assert any("training history" in i.value for i in at.info)
