"""Training dynamics and data maps: a torch family records (E, N) gold probabilities aligned with the training
rows' ids; TF-IDF gets repeated out-of-fold probabilities; flipped labels land in hard-to-learn."""
from __future__ import annotations

import numpy as np
import pytest

from core import train
from core.dynamics import (
    Dynamics,
    data_map,
    dynamics_of,
    has_recorded,
    load_dynamics,
    regions,
    row_ids,
    status,
    with_label_issues,
)
from core.dynamics.oof import cross_validated
from core.errors import CapabilityError
from tests.planted_noise import FAST_RNN, noisy_dataset


@pytest.fixture(autouse=True)
def _env(tmp_path, monkeypatch):
    monkeypatch.setenv("TEXTLAB_THREADS", "1")
    monkeypatch.setenv("TEXTLAB_ARTIFACTS_DIR", str(tmp_path / "artifacts"))
    monkeypatch.setenv("TEXTLAB_USER_DATA_DIR", str(tmp_path / "user_data"))


@pytest.fixture(scope="module")
def rnn_lab(tmp_path_factory):
    """One GRU trained on the planted-noise data (module scope: a few seconds)."""
    import os

    from tests.envtools import restored_env

    root = tmp_path_factory.mktemp("dyn")
    with restored_env(["TEXTLAB_ARTIFACTS_DIR", "TEXTLAB_THREADS"]):
        os.environ.update(TEXTLAB_ARTIFACTS_DIR=str(root), TEXTLAB_THREADS="1")
        ds, flipped = noisy_dataset()
        path = train.run(ds, "rnn", FAST_RNN, name="noisy-rnn")
        yield {"root": root, "path": path, "ds": ds, "flipped": flipped}


def test_rnn_records_gold_probabilities_per_evaluation_aligned_with_rows(rnn_lab, monkeypatch):
    monkeypatch.setenv("TEXTLAB_ARTIFACTS_DIR", str(rnn_lab["root"]))
    ds = rnn_lab["ds"]
    assert has_recorded("noisy-rnn") and status("noisy-rnn") == "recorded"
    dyn = load_dynamics(rnn_lab["path"])
    import json

    history = json.loads((rnn_lab["path"] / "metrics.json").read_text())["train_info"]["history"]
    assert dyn.gold.shape == (len(history["evals"]), len(ds.train)) and dyn.gold.dtype == np.float16
    assert [e["step"] for e in dyn.evals] == [e["step"] for e in history["evals"]]
    assert dyn.row_ids == row_ids("train", ds.train.texts)
    # the last column set agrees with the final model's own probabilities of the gold labels (restore_best
    # keeps the last evaluation here: its F1 is the best on this easy task, or at least close)
    assert dyn.mean_proba.shape == (len(ds.train), 3)
    frame = data_map(dyn, ds)
    hard = frame["region"].to_numpy() == "hard-to-learn"
    flipped = np.isin(frame["row"].to_numpy(), rnn_lab["flipped"])
    assert hard[flipped].mean() >= 0.7, frame[flipped]
    assert hard[~flipped].mean() <= 0.05


def test_recording_subsamples_above_max_rows(tmp_path, monkeypatch):
    monkeypatch.setenv("TEXTLAB_DYNAMICS_MAX_ROWS", "50")
    ds, _ = noisy_dataset(n_train=120)
    path = train.run(ds, "rnn", {**FAST_RNN, "epochs": 1, "evals_per_epoch": 1}, name="sub-rnn")
    dyn = load_dynamics(path)
    assert dyn.gold.shape == (1, 50) and dyn.info["subsampled"] and dyn.info["n_train"] == 120
    assert set(dyn.row_ids) <= set(row_ids("train", ds.train.texts)) and len(set(dyn.row_ids)) == 50
    monkeypatch.setenv("TEXTLAB_DYNAMICS_MAX_ROWS", "0")
    path = train.run(ds, "rnn", {**FAST_RNN, "epochs": 1, "evals_per_epoch": 1}, name="off-rnn")
    assert not (path / "dynamics.npz").exists()


def test_tfidf_out_of_fold_dynamics_find_the_flipped_rows():
    ds, flipped = noisy_dataset()
    dyn = cross_validated(ds, "tfidf", {"analyzer": "word", "min_df": 1}, k=5, repeats=2)
    assert dyn.gold.shape == (2, len(ds.train)) and dyn.source == "cross-validation"
    assert dyn.row_ids == row_ids("train", ds.train.texts)
    frame = with_label_issues(data_map(dyn, ds), dyn, ds)
    hard = frame["region"].to_numpy() == "hard-to-learn"
    assert hard[flipped].mean() >= 0.8 and hard.sum() <= 2 * len(flipped)
    flags = frame["flagged"].to_numpy()
    clean = np.setdiff1d(np.arange(len(frame)), flipped)
    assert flags[flipped].mean() >= 0.4 and flags[clean].mean() <= 0.1
    # the suggestion for a flipped row is its original class
    original = (ds.train.y[flipped] - 1) % 3
    assert (frame["suggested"].to_numpy()[flipped] == np.array(ds.labels)[original]).mean() >= 0.8


def test_tfidf_model_dynamics_are_cross_validated_once_and_cached(tmp_path):
    from core.data import save_upload

    ds, _ = noisy_dataset(n_train=90, every=10)
    ref = save_upload(ds, "noisy")
    train.run(ref, "tfidf", {"analyzer": "word", "min_df": 1}, name="noisy-tfidf")
    assert status("noisy-tfidf") == "cross-validate"
    dyn, loaded = dynamics_of("noisy-tfidf", repeats=2)
    assert status("noisy-tfidf") == "cached" and loaded.fingerprint() == ds.fingerprint()
    again, _ = dynamics_of("noisy-tfidf", repeats=2)
    np.testing.assert_array_equal(dyn.gold, again.gold)


def test_multilabel_dynamics_are_per_label():
    from tests.tiny_bert import tiny_dataset

    ds = tiny_dataset(multilabel=True, n_train=60)
    dyn = cross_validated(ds, "tfidf", {"analyzer": "word", "min_df": 1}, k=3, repeats=1)
    assert dyn.gold.shape == (1, 60, ds.n_labels) and dyn.multilabel
    frame = data_map(dyn, ds, ds.labels[0])
    assert set(frame["label"]) <= {ds.labels[0], f"not {ds.labels[0]}"} and len(frame) == 60
    with pytest.raises(Exception, match="per label"):
        data_map(dyn, ds)


def test_regions_follow_the_documented_thresholds():
    conf = np.array([0.9, 0.1, 0.5, 0.4, 0.9])
    var = np.array([0.05, 0.05, 0.3, 0.19, 0.2])
    assert list(regions(conf, var)) == ["easy-to-learn", "hard-to-learn", "ambiguous", "hard-to-learn", "ambiguous"]


def test_a_torch_model_without_recorded_dynamics_is_refused_clearly(rnn_lab, tmp_path, monkeypatch):
    import shutil

    root = tmp_path / "copy"
    shutil.copytree(rnn_lab["root"], root)
    monkeypatch.setenv("TEXTLAB_ARTIFACTS_DIR", str(root))
    (root / "noisy-rnn" / "dynamics.npz").unlink()
    assert status("noisy-rnn") == "unavailable"
    with pytest.raises(CapabilityError, match="retrain"):
        dynamics_of("noisy-rnn", dataset=rnn_lab["ds"])


def test_dynamics_round_trip_and_inconsistent_files_are_refused(tmp_path):
    dyn = Dynamics(gold=np.zeros((2, 3), np.float16), correct=np.zeros((2, 3), bool),
                   mean_proba=np.zeros((3, 2), np.float16), row_ids=["train-a", "train-b", "train-c"],
                   evals=[{"step": 1}, {"step": 2}], source="training")
    dyn.save(tmp_path)
    back = load_dynamics(tmp_path)
    assert back.row_ids == dyn.row_ids and back.evals == dyn.evals
    import io

    buf = io.BytesIO()
    np.savez(buf, gold=np.zeros((2, 4), np.float16), correct=np.zeros((2, 4), bool),
             mean_proba=np.zeros((4, 2)), row_ids=np.array(["a", "b", "c"]))
    (tmp_path / "dynamics.npz").write_bytes(buf.getvalue())
    from core.errors import ArtifactError

    with pytest.raises(ArtifactError, match="inconsistent"):
        load_dynamics(tmp_path)
