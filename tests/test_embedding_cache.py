"""The embedding-map cache shared by the Embeddings page and the zoo: computed once, then read from disk; a model
re-saved under the same name gets fresh vectors; progress reports every batch."""
from __future__ import annotations

import os

import numpy as np
import pytest

from core import artifacts
from core.explain import embedding_cache
from core.train import run
from tests.test_rnn import SMALL, toy_dataset


@pytest.fixture(autouse=True)
def _env(tmp_path, monkeypatch):
    monkeypatch.setenv("TEXTLAB_THREADS", "1")
    monkeypatch.setenv("TEXTLAB_ARTIFACTS_DIR", str(tmp_path / "artifacts"))
    monkeypatch.setenv("TEXTLAB_CACHE_DIR", str(tmp_path / "cache"))


def test_embed_sample_is_cached_on_disk_and_keyed_on_the_artifact(monkeypatch):
    run(toy_dataset(), "rnn", {**SMALL, "epochs": 1}, name="toy-rnn")
    calls = []
    idx, emb = embedding_cache.embed_sample("toy-rnn", cap=40,
                                            progress=lambda d, t, m="", e=None: calls.append((d, t)))
    model = artifacts.load_model("toy-rnn")
    preds = artifacts.load_predictions("toy-rnn")
    assert len(idx) == 40 and len(set(idx.tolist())) == 40 and emb.shape == (40, 32) and emb.dtype == np.float32
    assert np.allclose(emb, model.embed([preds.texts[i] for i in idx]), atol=1e-5)
    assert calls[0] == (0, 40) and calls[-1] == (40, 40)
    # the stratified sample keeps every class
    assert set(np.asarray(preds.y_true)[idx].tolist()) == {0, 1, 2}

    def boom(batch):
        raise AssertionError("must be read from the disk cache")

    calls.clear()
    idx2, emb2 = embedding_cache.embed_sample("toy-rnn", cap=40, embed=boom,
                                              progress=lambda d, t, m="", e=None: calls.append((d, t)))
    assert calls == []  # a cache hit shows no progress (the page draws no bar)
    assert (idx2 == idx).all() and np.array_equal(emb2, emb)

    manifest = artifacts.artifact_dir("toy-rnn") / "manifest.json"
    st = manifest.stat()
    os.utime(manifest, ns=(st.st_atime_ns, st.st_mtime_ns + 1_000_000))  # as if re-trained under the same name
    with pytest.raises(AssertionError, match="disk cache"):
        embedding_cache.embed_sample("toy-rnn", cap=40, embed=boom)


def test_zoo_warms_the_maps_of_its_demo_models(monkeypatch):
    from core import zoo

    run(toy_dataset(), "rnn", {**SMALL, "epochs": 1}, name="toy-rnn")
    preds = artifacts.load_predictions("toy-rnn")
    idx = embedding_cache.sample_indices(preds)
    assert embedding_cache.cached("toy-rnn", idx) is None
    monkeypatch.setattr(zoo, "FULL", [zoo.Step("toy-rnn", "toy", "rnn", warm_maps=True)])
    records = zoo.build()
    assert records[0]["status"] == "skipped (exists)"
    assert embedding_cache.cached("toy-rnn", idx).shape == (len(preds.texts), 32)  # 60 test texts < the cap
