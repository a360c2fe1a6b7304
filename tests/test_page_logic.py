"""Pure logic the pages use, kept in core (no Streamlit): lineage, confusion cells, settings forms, job records,
artifact tables, attention views."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from core import evaluate, lineage
from core.artifact_tables import list_rows, models_frame, run_results, training_history
from core.artifacts import ArtifactInfo
from core.base import Attention
from core.explain import attention as A
from core.jobs import Job
from core.params import Param, ParamError, changed_settings, form_settings, parse_key_values


def info(name: str, parent: str | None = None, size: float = 1.0, method: str = "", **config) -> ArtifactInfo:
    manifest = {"kind": "rnn", "dataset": "d", "created": "2026-01-02T03:04:05+00:00", "parent": parent,
                "compression": {"method": method, "description": f"{method} of {parent}"} if method else None,
                "config": config, "capabilities": ["embed", "attention"]}
    metrics = {"accuracy": 0.9, "f1_macro": 0.8, "size_mb": size,
               "train_info": {"history": {"train_loss": [[1, 0.5]], "epoch_seconds": [2.0, 4.0]}}}
    return ArtifactInfo(name=name, path=Path(name), manifest=manifest, metrics=metrics)


FAMILY = [info("teacher", size=90), info("int8", "teacher", 25, "int8"), info("student", "teacher", 30, "distill"),
          info("student-int8", "student", 8, "int8"), info("other", size=100)]


def test_lineage_reference_descendants_and_graph():
    assert lineage.default_reference(FAMILY) == "teacher"  # most children, though "other" is larger
    assert lineage.descendants("teacher", FAMILY) == ["int8", "student", "student-int8"]
    assert lineage.descendants("other", FAMILY) == []
    table = lineage.lineage_frame(FAMILY)
    assert list(table.columns) == ["model", "parent", "method", "what it is", "created"]
    assert table.set_index("model").loc["int8", "created"] == "2026-01-02 03:04:05"
    dot = lineage.lineage_dot(table, "teacher")
    assert '"teacher" -> "int8" [label="int8"' in dot and '"student" -> "student-int8"' in dot
    assert f'"teacher" [color="{lineage.REFERENCE_COLOUR}"]' in dot
    assert lineage.lineage_dot(lineage.lineage_frame([FAMILY[-1]]), "other") is None


def test_rebased_scorecard_against_another_reference():
    rows = pd.DataFrame({"model": ["a", "b"], "size_mb": [10.0, 5.0], "latency_p50_ms": [4.0, 2.0],
                         "latency_real_p50_ms": [8.0, 2.0], "throughput_per_s": [100.0, 300.0],
                         "changed_vs_reference": [0.0, 0.1]})
    same = lineage.rebased(rows, "a", "a")
    assert same["compression_ratio"].tolist() == [1.0, 2.0] and same["agreement"].tolist() == [1.0, 0.9]
    other = lineage.rebased(rows, "b", "a", changed_share=lambda m: 0.25)
    assert other["speedup"].tolist() == [0.5, 1.0] and other["agreement"].tolist() == [0.75, 1.0]
    changed = pd.DataFrame({"true": ["x", "x", "x"], "reference": ["x", "y", "y"], "variant": ["y", "x", "z"]})
    assert lineage.now_right(changed) == ["reference", "variant", "neither"]


def test_confusion_cells_and_label_outcomes():
    y_true, y_pred = np.array([0, 0, 1, 1, 1, 2]), np.array([0, 1, 1, 0, 0, 2])
    counts = evaluate.confusion_counts(y_true, y_pred, 3)
    assert counts.tolist() == [[1, 1, 0], [2, 1, 0], [0, 0, 1]]
    assert evaluate.top_confusion(counts) == (1, 0) and evaluate.top_confusion(np.ones((1, 1))) == (0, 0)
    assert evaluate.confusion_cell_indices(y_true, y_pred, 1, 0).tolist() == [3, 4]
    yt, yp = np.array([[1, 0], [1, 1], [0, 1]]), np.array([[0, 0], [1, 1], [1, 1]])
    assert {k: v.tolist() for k, v in evaluate.label_counts(yt, yp).items()} == \
        {"fn": [1, 0], "fp": [1, 0], "tp": [1, 2]}
    assert evaluate.label_outcome_indices(yt, yp, 0, "fn").tolist() == [0]
    assert evaluate.label_outcome_indices(yt, yp, 1, "tp").tolist() == [1, 2]


PARAMS = [Param("lr", 0.001), Param("layers", ["a", "b"]), Param("epochs", 3, min=1)]


def test_settings_forms_diff_and_parse():
    assert changed_settings(PARAMS, {"lr": 0.001, "layers": ["a", "b"], "epochs": 5}) == {"epochs": 5}
    assert changed_settings(PARAMS, {"lr": 0.01, "layers": ["a", "c"], "epochs": 3}) == \
        {"lr": 0.01, "layers": ["a", "c"]}
    assert parse_key_values("a=1\n\n b = x=y ") == {"a": "1", "b": "x=y"}
    with pytest.raises(ParamError, match="key=value"):
        parse_key_values("oops")
    out = form_settings(PARAMS, {"lr": 0.001, "layers": "a, c", "epochs": None}, "hidden_dim=64")
    assert out == {"layers": ["a", "c"], "hidden_dim": "64"}  # defaults and empty values dropped, lists split


def test_job_record_titles_and_progress():
    train = Job.of({"id": "j1", "state": "running", "kind": "tfidf", "dataset": "ag_news", "name": "m",
                    "done": 3, "total": 4, "started": 10.0})
    assert train.title == "train tfidf on ag_news → m" and train.is_active and train.fraction == 0.75
    assert train.updated == 10.0 and train.zoo_names() == []
    zoo = Job.of({"id": "j2", "state": "done", "command": "zoo", "args": ["-m", "core", "zoo", "--quick"]})
    assert zoo.title == "Model zoo (quick)" and not zoo.is_active and zoo.fraction == 0.0
    assert zoo.zoo_names() and all(n.endswith("-quick") for n in zoo.zoo_names())
    assert Job.of({"id": "j3"}).state == "?"


def test_artifact_tables():
    rows = list_rows(FAMILY[:1])
    assert rows == [{"name": "teacher", "dataset": "d", "kind": "rnn", "accuracy": 0.9, "f1_macro": 0.8,
                     "size_mb": 90, "status": "ok"}]
    frame = models_frame(FAMILY)
    assert list(frame.columns) == ["name", "dataset", "kind", "accuracy", "f1_macro", "size_mb", "created"]
    assert FAMILY[1].row(["accuracy"])["compression"] == "int8" and FAMILY[1].parent == "teacher"
    assert FAMILY[0].capabilities == frozenset({"embed", "attention"})
    assert FAMILY[0].training_history()["train_loss"] == [[1, 0.5]] and training_history(None) == {}
    a, b = info("a", hidden=64, lr=0.1), info("b", hidden=128, lr=0.1)
    table = run_results([a, b])
    assert table["variant"].tolist() == ["a", "b"] and table["seconds_per_epoch"].tolist() == [3.0, 3.0]
    assert table["changes"].tolist() == ['{"hidden": 64}', '{"hidden": 128}']


def test_attention_views_merge_pieces_and_drop_special():
    w = np.full((2, 1, 4, 4), 0.25)
    att = Attention(tokens=["[CLS]", "play", "##ing", "[SEP]"], weights=w)
    tokens, matrix = A.attention_matrix(att)
    assert tokens == ["[CLS]", "playing", "[SEP]"] and np.allclose(matrix.sum(axis=1), 1.0)
    words, scores = A.attention_scores(att)
    assert words == ["playing"] and scores.shape == (1,)
    assert set(A.summary(att)) == {"[CLS] attention (last layer)", "rollout"}
    pooled = Attention(tokens=["a", "b"], weights=np.array([0.25, 0.75]), kind="pooling")
    assert list(A.summary(pooled)) == ["pooling weights"]
