"""Experiment grids: one-change-at-a-time variants -> artifacts + results table + overlaid curves; the config
file format and the `python -m core experiment` command; the training plot builders."""
from __future__ import annotations

import json
import random

import numpy as np
import plotly.graph_objects as go
import pytest

from core.data import Split, TextDataset
from core.experiments import histories, load_config, run_grid, variant_label
from core.params import ParamError

TOPICS = {
    "sport": "ball goal team match win score player coach league".split(),
    "tech": "computer chip software code data cpu app server robot".split(),
}


def toy_split(n: int, seed: int) -> Split:
    rng = random.Random(seed)
    labels = list(TOPICS)
    texts, y = [], []
    for i in range(n):
        k = i % 2
        words = [rng.choice(TOPICS[labels[k]]) for _ in range(3)] + ["the", "a", "of"]
        rng.shuffle(words)
        texts.append(" ".join(words))
        y.append(k)
    return Split(texts, np.array(y))


def toy_dataset() -> TextDataset:
    return TextDataset("toy", list(TOPICS), toy_split(96, 0), toy_split(24, 1), toy_split(24, 2))


BASE = {"kind": "rnn", "params": {"embed_dim": 8, "hidden_dim": 8, "epochs": 2, "batch_size": 16, "lr": 0.02,
                                  "min_freq": 1, "cell": "rnn", "bidirectional": False, "grad_stats_every": 2}}


@pytest.fixture(autouse=True)
def _env(tmp_path, monkeypatch):
    monkeypatch.setenv("TEXTLAB_THREADS", "1")
    monkeypatch.setenv("TEXTLAB_ARTIFACTS_DIR", str(tmp_path / "artifacts"))


def test_run_grid_table_artifacts_and_curves():
    from core import artifacts
    from core.plots import gradient_flow, training_curves

    messages = []
    variants = [{"name": "rnn"}, {"name": "gru", "cell": "gru"}, {"params": {"aggregation": "mean"}},
                {"name": "tiny transformer", "kind": "scratch_transformer",
                 "params": {"d_model": 16, "num_heads": 2, "ff_dim": 16, "epochs": 1, "min_freq": 1,
                            "bpe_vocab_size": 100}}]
    df = run_grid(toy_dataset(), BASE, variants, lambda d, t, m="", e=None: messages.append(m), prefix="grid")
    assert list(df["variant"]) == ["rnn", "gru", "aggregation=mean", "tiny transformer"]
    assert list(df["kind"]) == ["rnn", "rnn", "rnn", "scratch_transformer"]
    assert df["accuracy"].between(0, 1).all() and (df["seconds_per_epoch"] > 0).all()
    assert list(df["epochs_run"]) == [2, 2, 2, 1]
    assert set(df["artifact"]) <= {a.name for a in artifacts.list_artifacts()}
    assert json.loads(df["changes"][1]) == {"cell": "gru"}
    # the gru variant changed only the cell
    cfg = artifacts.get_artifact(df["artifact"][1]).manifest["config"]
    assert cfg["cell"] == "gru" and cfg["bidirectional"] is False and cfg["embed_dim"] == 8
    assert any(m.startswith("[2/4 gru] train: epoch") for m in messages)

    hs = histories(list(df["artifact"]), list(df["variant"]))
    assert set(hs) == set(df["variant"])
    fig = training_curves(hs)
    assert isinstance(fig, go.Figure)
    names = {t.name for t in fig.data if t.name}
    assert {"rnn", "gru", "aggregation=mean", "tiny transformer"} <= names
    g = gradient_flow(hs["gru"])
    assert len(g.data) == 2 and "embedding.weight" in list(g.data[0].x)
    assert g.layout.yaxis.type == "log"
    assert len(gradient_flow(hs["gru"], step=1).data[0].x) == len(g.data[0].x)


def test_bad_variant_fails_before_training():
    from core import artifacts

    with pytest.raises(ParamError):
        run_grid(toy_dataset(), BASE, [{"name": "ok"}, {"name": "typo", "hiden_dim": 3}])
    assert artifacts.list_artifacts() == []
    with pytest.raises(ValueError):
        run_grid(toy_dataset(), BASE, [{"name": "same"}, {"name": "same", "cell": "gru"}])


def test_config_file_and_cli(tmp_path, monkeypatch):
    import yaml

    from core import data
    from core.cli import main

    monkeypatch.setattr(data, "load_dataset", lambda name, max_train=None, seed=0: toy_dataset())
    cfg = {"dataset": "toy", "prefix": "cli", "base": BASE, "variants": [{"name": "a"}, {"cell": "lstm"}]}
    path = tmp_path / "exp.yaml"
    path.write_text(yaml.safe_dump(cfg))
    assert load_config(path)["variants"][1] == {"cell": "lstm"}
    out, plot = tmp_path / "res.csv", tmp_path / "curves.html"
    assert main(["experiment", str(path), "--out", str(out), "--plot", str(plot)]) == 0
    import pandas as pd

    df = pd.read_csv(out)
    assert list(df["variant"]) == ["a", "cell=lstm"] and list(df["artifact"]) == ["cli-a", "cli-cell-lstm"]
    assert plot.stat().st_size > 1000

    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({"dataset": "toy", "base": {"params": {}}}))
    with pytest.raises(ValueError, match="kind"):
        load_config(bad)


def test_variant_label():
    assert variant_label({}) == "base"
    assert variant_label({"cell": "gru", "params": {"num_layers": 2}}) == "cell=gru, num_layers=2"
    assert variant_label({"kind": "tfidf"}) == "kind=tfidf"
    assert variant_label({"name": "x", "cell": "gru"}) == "x"


def test_gradient_flow_empty_history():
    fig = __import__("core.plots", fromlist=["gradient_flow"]).gradient_flow({})
    assert isinstance(fig, go.Figure)
