"""Artifacts: atomic writes, listing with broken folders, safe names, deletion, round trips."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from core import artifacts
from core.artifacts import ArtifactError, Predictions
from core.base import TextClassifier
from core.data import Split, TextDataset


class KeywordModel(TextClassifier):
    """Class 1 when the text contains 'spam', else class 0 (a model with a trivially checkable output)."""

    kind = "keyword_test"
    labels = ["ham", "spam"]
    capabilities = frozenset({"tokens"})

    def __init__(self, fail_on_save: bool = False) -> None:
        self.fail_on_save = fail_on_save

    def predict_proba(self, texts):
        p = np.array([[0.1, 0.9] if "spam" in t else [0.8, 0.2] for t in texts], dtype=np.float32)
        return p.reshape(len(texts), 2)

    def save(self, directory: Path) -> None:
        directory.mkdir(parents=True, exist_ok=True)
        (directory / "config.json").write_text(json.dumps({"ok": True}))
        if self.fail_on_save:
            raise RuntimeError("disk full")

    @classmethod
    def load(cls, directory: Path) -> KeywordModel:
        json.loads((directory / "config.json").read_text())
        return cls()


@pytest.fixture()
def art_dir(tmp_path, monkeypatch):
    monkeypatch.setenv("TEXTLAB_ARTIFACTS_DIR", str(tmp_path / "artifacts"))
    return tmp_path / "artifacts"


def _dataset() -> TextDataset:
    texts = ["buy spam now", "hello friend", "spam offer", "see you"]
    y = np.array([1, 0, 1, 0])
    s = Split(texts, y)
    return TextDataset("toy", ["ham", "spam"], s, s, s)


def _save(name: str, model: TextClassifier | None = None) -> Path:
    ds = _dataset()
    model = model or KeywordModel()
    proba = model.predict_proba(ds.test.texts)
    preds = Predictions(proba, ds.test.y, ds.test.texts, ds.labels)
    return artifacts.save_artifact(model, name, dataset=ds, config={"seed": 0}, metrics={"accuracy": 1.0},
                                   predictions=preds)


def test_save_list_and_round_trip(art_dir):
    path = _save("m1")
    assert sorted(p.name for p in path.iterdir()) == ["README.md", "manifest.json", "metrics.json", "model",
                                                      "predictions.npz"]  # README.md: the model card
    info = artifacts.get_artifact("m1")
    assert info.ok and info.kind == "keyword_test" and info.dataset == "toy"
    assert info.metrics["accuracy"] == 1.0 and info.metrics["size_mb"] > 0
    assert info.manifest["labels"] == ["ham", "spam"] and "numpy" in info.manifest["versions"]
    preds = artifacts.load_predictions("m1")
    assert preds.texts[0] == "buy spam now"
    np.testing.assert_array_equal(preds.y_pred, [1, 0, 1, 0])
    assert [a.name for a in artifacts.list_artifacts()] == ["m1"]
    assert artifacts.list_artifacts(dataset="other") == []
    with pytest.raises(ArtifactError, match="already exists"):
        _save("m1")


def test_failed_save_leaves_nothing(art_dir):
    with pytest.raises(RuntimeError, match="disk full"):
        _save("bad", KeywordModel(fail_on_save=True))
    assert list(art_dir.iterdir()) == []


@pytest.mark.parametrize("name", ["../escape", "a/b", "..", "", ".hidden", "x" * 200, "white space", "/abs"])
def test_names_cannot_escape(art_dir, name):
    with pytest.raises(ArtifactError):
        artifacts.artifact_dir(name)


@pytest.mark.parametrize(
    "damage, reason",
    [
        (lambda p: (p / "metrics.json").unlink(), "missing metrics.json"),
        (lambda p: (p / "manifest.json").write_text("{not json"), "unreadable manifest"),
        (lambda p: (p / "manifest.json").write_text(json.dumps({"kind": "x", "labels": [], "format_version": 99})),
         "newer version"),
        (lambda p: (p / "manifest.json").write_text("[1, 2]"), "unreadable manifest"),
    ],
)
def test_broken_folders_are_listed_not_fatal(art_dir, damage, reason):
    _save("good")
    damage(_save("broken"))
    infos = {a.name: a for a in artifacts.list_artifacts()}
    assert infos["good"].ok
    assert reason in infos["broken"].broken
    assert [a.name for a in artifacts.list_artifacts(include_broken=False)] == ["good"]
    with pytest.raises(ArtifactError, match="broken"):
        artifacts.load_model("broken")


def test_truncated_predictions_give_clear_error(art_dir):
    path = _save("m")
    data = (path / "predictions.npz").read_bytes()
    (path / "predictions.npz").write_bytes(data[: len(data) // 2])
    with pytest.raises(ArtifactError, match="predictions.npz unreadable"):
        artifacts.load_predictions("m")


def test_version_mismatch_warns(art_dir):
    path = _save("m")
    manifest = json.loads((path / "manifest.json").read_text())
    manifest["versions"]["numpy"] = "0.0.1"
    (path / "manifest.json").write_text(json.dumps(manifest))
    info = artifacts.get_artifact("m")
    assert info.ok and any("numpy 0.0.1" in w for w in info.warnings)


def test_delete_needs_confirmation(art_dir):
    _save("m")
    with pytest.raises(ArtifactError, match="confirm"):
        artifacts.delete_artifact("m", confirm="")
    assert artifacts.get_artifact("m").ok
    artifacts.delete_artifact("m", confirm="m")
    assert artifacts.list_artifacts() == []


def test_unique_name(art_dir):
    _save("run")
    assert artifacts.unique_name("run") == "run-2"
    assert artifacts.unique_name("a/b c") == "a-b-c"
