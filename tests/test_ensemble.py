"""Weighted ensemble: weights are used, tuning picks the better member, save/load by name, vote breakdown."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from core.base import TextClassifier
from core.data import Split, TextDataset

LABELS = ["neg", "pos"]


class KeywordClassifier(TextClassifier):
    """A deterministic toy member: P(pos) = `hit` when the text contains `word`, else 1 - `hit`."""

    kind = "keyword"

    def __init__(self, word: str, hit: float = 0.9) -> None:
        self.word, self.hit = word, hit
        self.labels = list(LABELS)

    def predict_proba(self, texts):
        p = np.array([self.hit if self.word in t.split() else 1 - self.hit for t in texts], dtype=np.float32)
        return np.stack([1 - p, p], axis=1)

    def n_parameters(self) -> int:
        return 1

    def save(self, directory: Path) -> None:
        Path(directory).mkdir(parents=True, exist_ok=True)
        (Path(directory) / "kw.json").write_text(json.dumps({"word": self.word, "hit": self.hit}))

    @classmethod
    def load(cls, directory: Path) -> KeywordClassifier:
        return cls(**json.loads((Path(directory) / "kw.json").read_text()))


CLASSIFIER = KeywordClassifier


def _dataset() -> TextDataset:
    # "good" predicts the label on every row, "great" only on half of them
    texts = ["good great", "good", "bad", "bad great", "good day", "bad day"] * 4
    y = np.array([1, 1, 0, 0, 1, 0] * 4)
    split = Split(texts, y)
    return TextDataset(name="toy", labels=list(LABELS), train=split, validation=split, test=split)


def test_heavier_weight_flips_the_decision():
    from core.models.ensemble import EnsembleClassifier

    members = {"a": KeywordClassifier("good"), "b": KeywordClassifier("great")}
    text = "great movie"  # a says neg (0.9), b says pos (0.9)
    lean_a = EnsembleClassifier(members, [0.8, 0.2], LABELS, False)
    lean_b = EnsembleClassifier(members, [0.2, 0.8], LABELS, False)
    assert lean_a.predict([text])[0] == 0 and lean_b.predict([text])[0] == 1
    np.testing.assert_allclose(lean_b.predict_proba([text])[0], [0.2 * 0.9 + 0.8 * 0.1, 0.2 * 0.1 + 0.8 * 0.9],
                               rtol=1e-5)
    vb = lean_b.vote_breakdown(text)
    assert [m["name"] for m in vb["members"]] == ["a", "b"] and vb["predicted"] == "pos"
    assert [m["predicted"] for m in vb["members"]] == ["neg", "pos"]
    assert vb["members"][1]["weight"] == pytest.approx(0.8) and sum(vb["proba"]) == pytest.approx(1.0)


def test_tuning_prefers_the_better_member():
    from core.models.ensemble import tune_weights

    ds = _dataset()
    probas = np.stack([KeywordClassifier("good").predict_proba(ds.validation.texts),
                       KeywordClassifier("great").predict_proba(ds.validation.texts)])
    for objective in ("log_loss", "accuracy"):
        w, report = tune_weights(probas, ds.validation.y, objective=objective)
        assert w[0] > 0.5 and w.sum() == pytest.approx(1.0) and report["validation_accuracy"] == 1.0
    w, _ = tune_weights(probas, ds.validation.y, objective="equal")
    np.testing.assert_allclose(w, [0.5, 0.5])


def test_fit_save_load_by_name_and_missing_member(tmp_path, monkeypatch):
    monkeypatch.setenv("TEXTLAB_ARTIFACTS_DIR", str(tmp_path))
    from core.models import DERIVED, REGISTRY

    monkeypatch.setitem(DERIVED, "keyword", "test_ensemble")
    monkeypatch.setitem(REGISTRY, "keyword", KeywordClassifier)
    from core import artifacts
    from core.train import finish, run

    ds = _dataset()
    finish(KeywordClassifier("good"), ds, "kw-good", config={})
    finish(KeywordClassifier("great"), ds, "kw-great", config={})
    path = run(ds, "ensemble", {"members": "kw-good,kw-great", "objective": "log_loss"}, name="ens")
    info = artifacts.get_artifact("ens")
    assert info.kind == "ensemble" and info.metrics["accuracy"] == 1.0
    weights = info.metrics["train_info"]["weights"]
    assert weights["kw-good"] > weights["kw-great"]
    model = artifacts.load_model("ens")
    assert model.member_names == ["kw-good", "kw-great"] and model.n_parameters() == 2
    assert (path / "model" / "ensemble.json").exists()
    from core.compress import compress

    via = compress("kw-good", "ensemble", {"members": "kw-great", "objective": "accuracy"}, dataset=ds)
    via_info = artifacts.get_artifact(via.name)
    assert via_info.manifest["parent"] == "kw-good" and via_info.manifest["compression"]["method"] == "ensemble"
    assert artifacts.load_model(via.name).member_names == ["kw-good", "kw-great"]
    artifacts.delete_artifact("kw-great", confirm="kw-great")
    with pytest.raises(artifacts.ArtifactError, match="kw-great"):
        artifacts.load_model("ens")


def test_fit_rejects_bad_members(tmp_path, monkeypatch):
    monkeypatch.setenv("TEXTLAB_ARTIFACTS_DIR", str(tmp_path))
    from core.models.ensemble import EnsembleClassifier, fit

    with pytest.raises(ValueError, match="at least two"):
        fit(_dataset(), {"members": ["only-one"]})
    other = KeywordClassifier("good")
    other.labels = ["x", "y"]
    with pytest.raises(ValueError, match="labels"):
        EnsembleClassifier({"a": KeywordClassifier("good"), "b": other}, [1, 1], LABELS, False)
