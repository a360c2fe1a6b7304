"""Several users at once: threads predicting through one cached model get exactly the sequential answers
(TF-IDF, a scratch transformer and a tiny BERT), listing never shows half-saved or half-deleted models while
others save and delete, and the 50,000-row scale caps hold (Errors table, projections).

Latency under load and while a training job runs is measured by scripts/load_test.py, not asserted here.
`python -m pytest tests/test_concurrency.py -q`
"""
from __future__ import annotations

import os
import sys
import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pytest

from tests.envtools import restored_env

ROOT = Path(__file__).resolve().parent.parent
for p in (ROOT, ROOT / "tests"):
    if str(p) not in sys.path:
        sys.path.insert(0, str(p))

from tiny_bert import tiny_dataset, tiny_encoder, tiny_params, tiny_tokenizer  # noqa: E402

from core import artifacts  # noqa: E402
from core.progress import null_progress  # noqa: E402

MODELS = {"tfidf": "c-tfidf", "scratch_transformer": "c-scratch", "transformer": "c-bert"}
SCRATCH_FAST = {"d_model": 16, "num_heads": 2, "ff_dim": 32, "num_layers": 1, "epochs": 1, "batch_size": 32,
                "min_freq": 1, "bpe_vocab_size": 150, "patience": 0}
N_THREADS, N_REQUESTS = 8, 12


def _save(model, ds, name: str) -> None:
    from core.train import evaluate_on

    metrics, preds = evaluate_on(model, ds.test, ds.labels, ds.multilabel)
    artifacts.save_artifact(model, name, dataset=ds, config={}, metrics=metrics, predictions=preds)


@pytest.fixture(scope="module")
def lab(tmp_path_factory):
    import torch

    from core.models import family
    from core.models import transformer as T
    from core.params import resolve

    torch.set_num_threads(1)
    root = tmp_path_factory.mktemp("concurrency")
    with restored_env(["TEXTLAB_ARTIFACTS_DIR"]):
        os.environ["TEXTLAB_ARTIFACTS_DIR"] = str(root / "artifacts")
        ds = tiny_dataset()
        for kind, params in (("tfidf", {"analyzer": "word+char", "char_ngram_max": 4}),
                             ("scratch_transformer", SCRATCH_FAST)):
            fam = family(kind)
            _save(fam.fit(ds, resolve(fam.PARAMS, params), null_progress)[0], ds, MODELS[kind])
        _save(T.build(ds, tiny_params(), encoder=tiny_encoder(), tokenizer=tiny_tokenizer()), ds,
              MODELS["transformer"])
        yield {"root": root / "artifacts", "dataset": ds}


@pytest.fixture()
def fresh_caches(lab):
    import streamlit as st

    os.environ["TEXTLAB_ARTIFACTS_DIR"] = str(lab["root"])
    st.cache_data.clear()
    st.cache_resource.clear()
    return lab


def _texts(ds) -> list[str]:
    """Distinct texts of very different lengths (padding and batching differ between calls)."""
    base = ds.test.texts[:20]
    return base + [" ".join(base[: i + 2]) * (i + 1) for i in range(10)] + ["", "🚀 market", "Привет team"]


def _requests(n_texts: int, seed: int) -> list[list[int]]:
    """N_REQUESTS batches of 1-5 text indices for one simulated user."""
    rng = np.random.default_rng(seed)
    return [list(rng.choice(n_texts, size=int(rng.integers(1, 6)), replace=False)) for _ in range(N_REQUESTS)]


@pytest.mark.parametrize("kind", list(MODELS))
def test_threads_sharing_one_cached_model_get_sequential_answers(fresh_caches, kind):
    import ui

    name = MODELS[kind]
    texts = _texts(fresh_caches["dataset"])
    expected = np.stack([ui.predict_proba(name, [t])[0] for t in texts])  # one at a time, one thread
    seen_models = set()
    barrier = threading.Barrier(N_THREADS)

    def user(seed: int) -> list[tuple[list[int], np.ndarray]]:
        barrier.wait()  # start together: maximum contention
        seen_models.add(id(ui.load_model(name)))
        return [(idx, ui.predict_proba(name, [texts[i] for i in idx])) for idx in _requests(len(texts), seed)]

    with ThreadPoolExecutor(N_THREADS) as pool:
        results = list(pool.map(user, range(N_THREADS)))
    assert len(seen_models) == 1  # every session used the one cached instance
    for per_user in results:
        for idx, proba in per_user:
            np.testing.assert_allclose(proba, expected[idx], rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("kind", ["tfidf", "scratch_transformer"])
def test_raw_models_are_thread_safe_without_the_lock(fresh_caches, kind):
    """TF-IDF and the from-scratch torch models need no lock (ui's lock is for the HF tokenizer's state)."""
    model = artifacts.load_model(MODELS[kind])
    texts = _texts(fresh_caches["dataset"])
    expected = model.predict_proba(texts)
    with ThreadPoolExecutor(N_THREADS) as pool:
        outs = list(pool.map(lambda s: [(idx, model.predict_proba([texts[i] for i in idx]))
                                        for idx in _requests(len(texts), s)], range(N_THREADS)))
    for per_user in outs:
        for idx, proba in per_user:
            np.testing.assert_allclose(proba, expected[idx], rtol=1e-5, atol=1e-6)


def test_listing_never_shows_half_saved_or_half_deleted_models(fresh_caches):
    """One thread saves and deletes models in a loop; others list and load: nothing broken is ever seen."""
    from core.models import family
    from core.params import resolve

    ds = fresh_caches["dataset"]
    model = family("tfidf").fit(ds, resolve(family("tfidf").PARAMS, {"analyzer": "word"}), null_progress)[0]
    stop, problems = threading.Event(), []

    def churn() -> None:
        try:
            for i in range(15):
                _save(model, ds, f"churn-{i % 3}") if not (fresh_caches["root"] / f"churn-{i % 3}").exists() \
                    else artifacts.delete_artifact(f"churn-{i % 3}", confirm=f"churn-{i % 3}")
        finally:
            stop.set()

    def watch() -> None:
        while not stop.is_set():
            for info in artifacts.list_artifacts():
                if info.broken:
                    problems.append((info.name, info.broken))
            artifacts.load_model(MODELS["tfidf"])

    threads = [threading.Thread(target=churn)] + [threading.Thread(target=watch) for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=300)
    assert not problems, problems[:5]
    assert {i.name for i in artifacts.list_artifacts()} >= set(MODELS.values())
    assert not [p for p in fresh_caches["root"].iterdir() if p.name.startswith((".tmp-", ".trash-"))]


def test_two_jobs_saving_the_same_name_one_wins_clearly(fresh_caches):
    from core.models import family
    from core.params import resolve

    ds = fresh_caches["dataset"]
    model = family("tfidf").fit(ds, resolve(family("tfidf").PARAMS, {"analyzer": "word"}), null_progress)[0]
    barrier = threading.Barrier(4)

    def save(_: int) -> str:
        barrier.wait()
        try:
            _save(model, ds, "same-name")
            return "saved"
        except artifacts.ArtifactError as e:
            return str(e)

    with ThreadPoolExecutor(4) as pool:
        outcomes = list(pool.map(save, range(4)))
    assert outcomes.count("saved") == 1, outcomes
    assert all("already exists" in o or "just saved" in o for o in outcomes if o != "saved")
    assert artifacts.get_artifact("same-name").ok
    artifacts.delete_artifact("same-name", confirm="same-name")


def test_double_clicked_training_keeps_both_models(fresh_caches, monkeypatch):
    """Two runs that picked the same default name (same dataset, family and second): both models are kept."""
    from core import train

    monkeypatch.setattr(train, "default_name", lambda dataset, kind: "double-click")
    barrier = threading.Barrier(2)

    def run(_: int) -> str:
        barrier.wait()
        return train.run(fresh_caches["dataset"], "tfidf", {"analyzer": "word"}).name

    with ThreadPoolExecutor(2) as pool:
        names = sorted(pool.map(run, range(2)))
    assert names == ["double-click", "double-click-2"]
    for name in names:
        assert artifacts.get_artifact(name).ok
        artifacts.delete_artifact(name, confirm=name)


# ----------------------------------------------------------------------------------------------- scale

N_BIG = 50_000


def _big_predictions(n: int = N_BIG, k: int = 4, seed: int = 0) -> artifacts.Predictions:
    """A synthetic n-row test split: 70% right, confident-ish probabilities, texts of ~200 characters."""
    rng = np.random.default_rng(seed)
    y = rng.integers(0, k, n)
    pred = np.where(rng.random(n) < 0.7, y, rng.integers(0, k, n))
    logits = rng.normal(0, 1, (n, k))
    logits[np.arange(n), pred] += 3
    proba = np.exp(logits) / np.exp(logits).sum(1, keepdims=True)
    words = np.array("market team profit game bank chip election data win stock".split())
    texts = [f"row {i}: " + " ".join(words[rng.integers(0, 10, 30)]) for i in range(n)]
    return artifacts.Predictions(proba.astype(np.float32), y, texts, ["World", "Sports", "Business", "Tech"])


def save_big_artifact(name: str = "big-50k", n: int = N_BIG) -> None:
    """An artifact whose stored test predictions have `n` rows (the model itself is a tiny TF-IDF)."""
    from core.data import Split, TextDataset
    from core.models import family
    from core.params import resolve

    preds = _big_predictions(n)
    small = tiny_dataset()
    model = family("tfidf").fit(small, resolve(family("tfidf").PARAMS, {"analyzer": "word"}), null_progress)[0]
    ds = TextDataset("synthetic_50k", preds.labels, small.train, small.validation, Split(preds.texts, preds.y_true))
    artifacts.save_artifact(model, name, dataset=ds, config={}, metrics={"accuracy": 0.7}, predictions=preds)


def test_errors_page_caps_the_table_on_50k_rows(fresh_caches):
    from streamlit.testing.v1 import AppTest

    save_big_artifact()
    at = AppTest.from_file(str(ROOT / "views" / "errors.py"), default_timeout=180)
    at.session_state["_shared_model"] = "big-50k"
    at.session_state["errors-true"], at.session_state["errors-pred"] = "World", "World"  # the biggest cell
    at.run()
    assert not at.exception
    table = next(d.value for d in at.dataframe if "text" in d.value.columns)  # after the confused pairs
    limit = 1000
    assert len(table) == limit
    cell = next(c.value for c in at.caption if c.value.startswith("Showing"))
    assert cell.startswith(f"Showing {limit:,} of ") and "CSV download has all" in cell
    total = int(cell.split(" of ")[1].split()[0].replace(",", ""))
    assert total > limit and np.all(np.diff(table["confidence"].to_numpy()) <= 0)
    artifacts.delete_artifact("big-50k", confirm="big-50k")


def test_projection_caps_50k_embeddings():
    from core.explain.projection import DEFAULT_CAP, project

    rng = np.random.default_rng(0)
    emb = rng.normal(size=(N_BIG, 32)).astype(np.float32)
    labels = rng.integers(0, 4, N_BIG)
    proj = project(emb, "pca", strata=labels, cache=False)
    assert DEFAULT_CAP == 3000 and proj.capped and proj.n_total == N_BIG
    assert proj.coords.shape == (DEFAULT_CAP, 2) and len(proj.indices) == DEFAULT_CAP
    shares = np.bincount(labels[proj.indices], minlength=4) / DEFAULT_CAP
    np.testing.assert_allclose(shares, np.bincount(labels, minlength=4) / N_BIG, atol=0.01)  # stratified
