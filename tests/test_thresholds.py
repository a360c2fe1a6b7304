"""Per-label thresholds of multi-label models: tuned on validation, stored in the artifact and in the model's own
files (variants inherit them), used by predict, edited by `python -m core thresholds` without touching anything
else."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from core import artifacts, thresholds
from core.cli import main
from core.errors import ParamError
from tests.envtools import lab_dirs
from tests.tiny_bert import tiny_dataset


@pytest.fixture(autouse=True)
def _env(tmp_path, monkeypatch):
    monkeypatch.setenv("TEXTLAB_THREADS", "1")
    with lab_dirs(tmp_path):  # artifacts, user data, jobs, cache under tmp_path
        yield


def test_tune_finds_each_labels_best_cut_and_keeps_default_without_positives():
    rng = np.random.default_rng(0)
    y = np.zeros((200, 3), int)
    y[:50, 0] = 1                                   # label 0: positives score 0.25-0.35, negatives < 0.15
    y[50:150, 1] = 1                                # label 1: already separated at 0.5
    proba = np.zeros((200, 3))
    proba[:, 0] = np.where(y[:, 0] == 1, rng.uniform(0.25, 0.35, 200), rng.uniform(0.0, 0.15, 200))
    proba[:, 1] = np.where(y[:, 1] == 1, rng.uniform(0.6, 0.9, 200), rng.uniform(0.1, 0.4, 200))
    proba[:, 2] = rng.uniform(0, 1, 200)            # label 2: no positive in validation
    record = thresholds.tune(["a", "b", "c"], proba, y)
    t = thresholds.values(record, ["a", "b", "c"])
    assert 0.15 <= t[0] <= 0.25 and record["labels"]["a"]["val_f1"] == 1.0
    assert record["labels"]["a"]["f1_at_default"] == 0.0  # 0.5 predicts no positive at all
    assert 0.4 <= t[1] <= 0.6 and record["labels"]["b"]["val_f1"] == 1.0
    assert t[2] == 0.5 and record["labels"]["c"]["support"] == 0
    assert thresholds.macro_f1(record) > thresholds.macro_f1(record, "f1_at_default")
    edited = thresholds.with_edits(record, {"a": 0.5})
    assert edited["labels"]["a"]["val_f1"] == 0.0 and edited["source"] == "edited"  # read off the stored curve
    with pytest.raises(ParamError, match="unknown label"):
        thresholds.with_edits(record, {"zz": 0.3})
    with pytest.raises(ParamError, match="between 0 and 1"):
        thresholds.with_edits(record, {"a": 1.5})


@pytest.fixture
def trained():
    from core.train import run

    ds = tiny_dataset(multilabel=True, n_train=128)
    path = run(ds, "tfidf", {"C": 0.3}, name="ml")  # weak regularisation-heavy model: tuning moves the cuts
    return path, ds


def test_training_tunes_thresholds_and_predict_uses_them(trained):
    path, ds = trained
    record = json.loads((path / thresholds.FILE).read_text())
    t = thresholds.values(record, ds.labels)
    assert thresholds.macro_f1(record) >= thresholds.macro_f1(record, "f1_at_default")
    assert not np.allclose(t, 0.5)
    model = artifacts.load_model("ml")
    np.testing.assert_allclose(model.threshold, t)
    proba = model.predict_proba(ds.test.texts)
    np.testing.assert_array_equal(model.predict(ds.test.texts), (proba >= t).astype(int))
    # the model's own files carry them too (variants built from the model inherit them)
    own = type(model).load(path / "model")
    np.testing.assert_allclose(own.threshold, t)
    np.testing.assert_allclose(artifacts.load_predictions("ml").threshold, t)


def test_cli_edit_changes_only_the_thresholds_file(trained, capsys):
    path, ds = trained
    before = {p.relative_to(path): p.read_bytes() for p in path.rglob("*") if p.is_file()}
    assert main(["thresholds", "ml", "--set", f"{ds.labels[0]}=0.9"]) == 0
    out = capsys.readouterr().out
    assert "val_f1" in out and "saved 1 threshold" in out
    after = {p.relative_to(path): p.read_bytes() for p in path.rglob("*") if p.is_file()}
    changed = {k for k in before if before[k] != after.get(k)}
    assert changed == {Path(thresholds.FILE)}
    t = artifacts.load_model("ml").threshold
    assert t[0] == 0.9 and artifacts.load_predictions("ml").threshold[0] == 0.9
    # a bad edit is refused and leaves the file as it was
    assert main(["thresholds", "ml", "--set", "nope=0.2"]) == 2
    assert "unknown label" in capsys.readouterr().err
    assert (path / thresholds.FILE).read_bytes() == after[Path(thresholds.FILE)]


def test_single_label_model_has_no_thresholds(capsys):
    from core.train import run

    run(tiny_dataset(n_train=64), "tfidf", {}, name="single")
    assert not (artifacts.artifact_dir("single") / thresholds.FILE).exists()
    assert main(["thresholds", "single"]) == 2
    assert "single-label" in capsys.readouterr().err
