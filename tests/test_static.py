"""Static-embedding student (core/models/static.py, static_fit.py, compression method "static") on the tiny BERT."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from envtools import lab_dirs
from tiny_bert import tiny_dataset, tiny_teacher, tiny_tokenizer

from core.errors import ParamError

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def env(tmp_path_factory):
    from core.train import finish

    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    with lab_dirs(tmp_path_factory.mktemp("static")):
        ds = tiny_dataset(n_train=256)
        teacher = tiny_teacher(ds, epochs=3)
        finish(teacher, ds, "teacher", config={})
        yield {"ds": ds, "teacher": teacher}
    torch.set_num_threads(threads)


@pytest.fixture(scope="module")
def student(env):
    from core import artifacts
    from core.compress import compress

    path = compress("teacher", "static", {"dims": 24, "hidden": 0}, name="teacher-static", dataset=env["ds"])
    return artifacts.load_model(path.name)


def test_static_student_learns_the_topics_and_follows_its_teacher(env, student):
    from core.artifacts import get_artifact

    ds = env["ds"]
    p_s, p_t = student.predict_proba(ds.test.texts), env["teacher"].predict_proba(ds.test.texts)
    acc = float(np.mean(p_s.argmax(1) == np.asarray(ds.test.y)))
    assert acc >= 0.75  # chance is 0.25 on four balanced topics
    assert float(np.mean(p_s.argmax(1) == p_t.argmax(1))) >= 0.75
    info = get_artifact("teacher-static")
    assert info.kind == "static" and info.parent == "teacher"
    assert info.manifest["compression"]["method"] == "static"
    assert info.metrics["size_mb"] < get_artifact("teacher").metrics["size_mb"]
    assert student.embeddings.shape == (len(tiny_tokenizer()), 24)


def test_topic_tokens_outweigh_filler_and_contributions_add_up(student):
    from core.models.static_fit import sif_weights

    w = sif_weights(np.array([1000.0, 10.0, 0.0]), 1e-3)
    assert w[0] < w[1] < w[2] <= 1.0  # frequent tokens fade, unseen ones keep (almost) full weight
    text = "the game win"
    k = student.labels.index("Sports")
    pairs = student.contributions(text, k)
    assert [t for t, _ in pairs] == ["the", "game", "win"]
    logit = student.logits_from_embeddings(student.embed([text]))[0, k]
    assert sum(v for _, v in pairs) + student.contributions_base(k) == pytest.approx(float(logit), abs=1e-4)
    assert pairs[1][1] > pairs[0][1]  # a sports word pushes towards Sports more than "the"


def test_loading_and_predicting_needs_no_torch(env, student):
    """A fresh interpreter loads the saved student and predicts with numpy + tokenizers only."""
    script = ("import json, sys\n"
              "from core.artifacts import load_model\n"
              "m = load_model('teacher-static')\n"
              "p = m.predict_proba(['the game win', 'stock market'])\n"
              "print(json.dumps({'heavy': sorted(x for x in ('torch', 'transformers', 'sklearn') if x in sys.modules),"
              " 'p': p.tolist()}))\n")
    env_vars = {**os.environ, "PYTHONPATH": str(ROOT)}
    out = subprocess.run([sys.executable, "-c", script], cwd=ROOT, env=env_vars, capture_output=True, text=True,
                         timeout=300)
    assert out.returncode == 0, out.stderr[-2000:]
    got = json.loads(out.stdout.strip().splitlines()[-1])
    assert got["heavy"] == []
    np.testing.assert_array_equal(np.asarray(got["p"], np.float32),
                                  student.predict_proba(["the game win", "stock market"]))


def test_static_needs_a_transformer_teacher(env):
    from core.compress import compress
    from core.models import family
    from core.params import resolve
    from core.train import finish

    fam = family("tfidf")
    finish(fam.fit(env["ds"], resolve(fam.PARAMS, {"min_df": 1}))[0], env["ds"], "tfidf-teacher", config={})
    with pytest.raises(ParamError, match="transformer"):
        compress("tfidf-teacher", "static", {}, name="nope", dataset=env["ds"])
    from core.artifacts import list_artifacts

    assert "nope" not in {i.name for i in list_artifacts()}


def test_bad_settings_are_refused_before_any_work():
    from core.compress import resolve_settings

    with pytest.raises(ParamError):
        resolve_settings("static", {"storage": "int4"})
    assert resolve_settings("static", {})["dims"] == 256


def test_second_student_reuses_the_token_vectors(env, student, monkeypatch):
    """Another student of the same teacher (MLP head, other weighting) skips the pass over the vocabulary."""
    from core import artifacts
    from core.compress import compress
    from core.models import static_fit

    def no_pass(*args, **kwargs):
        raise AssertionError("token vectors were recomputed")

    monkeypatch.setattr(static_fit, "token_vectors", no_pass)
    path = compress("teacher", "static", {"dims": 24, "hidden": 8, "weighting": "none"}, name="teacher-static-mlp",
                    dataset=env["ds"])
    mlp = artifacts.load_model(path.name)
    assert mlp.capabilities == {"embed", "tokens"}  # an MLP head has no exact token contributions
    a, b = (m.embeddings[m.token_ids(["game"])[0][0]] for m in (mlp, student))
    assert float(a @ b / np.linalg.norm(a) / np.linalg.norm(b)) > 0.99  # same vector, only the SIF scale differs
