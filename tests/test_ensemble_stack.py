"""combine=stack: a logistic-regression meta-learner on the members' probabilities fixes what no weighted average
can (members that are reliably wrong), survives save/load, and works for multi-label members."""
from __future__ import annotations

import numpy as np
import pytest
from test_ensemble import KeywordClassifier, _dataset


def _register(monkeypatch, tmp_path):
    monkeypatch.setenv("TEXTLAB_ARTIFACTS_DIR", str(tmp_path))
    from core.models import DERIVED, REGISTRY

    monkeypatch.setitem(DERIVED, "keyword", "test_ensemble")
    monkeypatch.setitem(REGISTRY, "keyword", KeywordClassifier)


def test_stack_learns_to_invert_reliably_wrong_members(tmp_path, monkeypatch):
    _register(monkeypatch, tmp_path)
    from core import artifacts
    from core.train import finish, run

    ds = _dataset()
    # both members say the opposite of the truth on "good"/"bad" rows: any average of them is wrong there
    finish(KeywordClassifier("good", hit=0.1), ds, "kw-inv-good", config={})
    finish(KeywordClassifier("great", hit=0.9), ds, "kw-great", config={})
    run(ds, "ensemble", {"members": "kw-inv-good,kw-great", "max_validation": 0}, name="avg")
    run(ds, "ensemble", {"members": "kw-inv-good,kw-great", "max_validation": 0, "combine": "stack"}, name="stk")
    avg, stk = artifacts.get_artifact("avg"), artifacts.get_artifact("stk")
    assert avg.metrics["accuracy"] < 0.8 and stk.metrics["accuracy"] == 1.0
    assert stk.metrics["train_info"]["combine"] == "stack" and stk.metrics["train_info"]["stack"]["C"]
    model = artifacts.load_model("stk")  # the meta-learner is read back from ensemble.json
    assert model.stacker is not None and model.predict(["good movie", "bad movie"]).tolist() == [1, 0]
    vb = model.vote_breakdown("good movie")
    assert vb["predicted"] == "pos" and vb["members"][0]["predicted"] == "neg"
    assert artifacts.load_model("avg").stacker is None


def test_stacker_multilabel_and_absent_class():
    from core.models.ensemble_stack import apply_stacker, fit_stacker

    rng = np.random.default_rng(0)
    y = rng.integers(0, 2, size=(200, 2))
    # member 0 swaps the two labels, member 1 is noise: the stacker must read label j from member 0's other column
    probas = np.stack([np.where(y[:, ::-1] == 1, 0.8, 0.2), rng.uniform(size=(200, 2))])
    coef, intercept, _ = fit_stacker(probas, y, multilabel=True)
    assert ((apply_stacker(probas, coef, intercept, True) >= 0.5) == y).all()
    assert coef[0, 1] > abs(coef[0, 0]) and coef[1, 0] > abs(coef[1, 1])
    # single-label with a label the validation split never shows: it gets (almost) no probability
    yy = np.array([0, 1] * 20)
    pp = np.stack([np.eye(3)[yy] * 0.7 + 0.1])
    coef, intercept, _ = fit_stacker(pp, yy, multilabel=False)
    out = apply_stacker(pp, coef, intercept, False)
    assert (out.argmax(1) == yy).all() and out[:, 2].max() < 1e-6 and out.sum(1) == pytest.approx(1.0)


def test_stacker_shape_is_checked():
    from core.errors import ParamError
    from core.models.ensemble import EnsembleClassifier

    members = {"a": KeywordClassifier("good"), "b": KeywordClassifier("great")}
    with pytest.raises(ParamError, match="stacker"):
        EnsembleClassifier(members, [1, 1], ["neg", "pos"], False, stacker={"coef": [[0.0] * 2] * 2,
                                                                          "intercept": [0, 0]})
