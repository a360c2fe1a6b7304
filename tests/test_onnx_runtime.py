"""int8 on ONNX Runtime by default: export of every exportable family, the runtime rule, explainer fallback."""
from __future__ import annotations

import numpy as np
import pytest
import torch
from envtools import lab_dirs
from tiny_bert import tiny_dataset, tiny_teacher

from core.errors import ParamError

FAST = {"epochs": 1, "batch_size": 32, "patience": 0, "evals_per_epoch": 1}
FAMILY = {
    "rnn": {**FAST, "embed_dim": 16, "hidden_dim": 16, "min_freq": 1, "tokenizer": "word", "cell": "lstm",
            "bidirectional": True},
    "scratch_transformer": {**FAST, "d_model": 16, "num_heads": 2, "ff_dim": 32, "num_layers": 1, "min_freq": 1,
                            "bpe_vocab_size": 150},
}
#: texts of every shape: padding, an empty text, one far beyond any max_length
TEXTS = ["The team won the match after a late goal.", "Stock markets rallied as the company posted profit.", "",
         "chip", "game " * 300]


@pytest.fixture(scope="module")
def env(tmp_path_factory):
    from core.models import family
    from core.params import resolve
    from core.train import finish

    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    with lab_dirs(tmp_path_factory.mktemp("onnxrt")):
        ds = tiny_dataset(n_train=128)
        teacher = tiny_teacher(ds)
        finish(teacher, ds, "teacher", config={})
        models = {"transformer": teacher}
        for kind, p in FAMILY.items():
            fam = family(kind)
            models[kind] = fam.fit(ds, resolve(fam.PARAMS, p))[0]
        yield {"ds": ds, "models": models}
    torch.set_num_threads(threads)


@pytest.mark.parametrize("kind", ["rnn", "scratch_transformer", "transformer"])
def test_export_matches_torch(env, kind, tmp_path):
    """The fp32 graph reproduces torch (1e-4); the int8 one stays close and keeps the decisions."""
    import onnxruntime as ort

    from core.compress.onnx_export import export_int8
    from core.compress.onnx_int8 import build_onnx
    from core.progress import null_progress

    model = env["models"][kind]
    export_int8(model, tmp_path)
    reference = model.predict_proba(TEXTS[:4])
    enc = model.encode(TEXTS[:4])
    sess = ort.InferenceSession(str(tmp_path / "fp32.onnx"), providers=["CPUExecutionProvider"])
    feeds = {i.name: enc[i.name].numpy().astype(np.int64) for i in sess.get_inputs()}
    logits = sess.run(None, feeds)[0]
    from core.models.torch_base import logits_to_proba

    np.testing.assert_allclose(logits_to_proba(logits, model.multilabel), reference, atol=1e-4)
    q, _ = build_onnx(model, null_progress)
    p = q.predict_proba(TEXTS)
    full = model.predict_proba(TEXTS)
    assert p.shape == full.shape and np.abs(p - full).max() < 0.1
    assert (p.argmax(1) == full.argmax(1)).mean() >= 0.8
    assert q.embed(TEXTS).shape[0] == len(TEXTS)


def test_int8_runs_on_onnx_runtime_by_default(env):
    from core import artifacts
    from core.compress import compress

    path = compress("teacher", "int8", name="teacher-int8", dataset=env["ds"])
    info = artifacts.get_artifact(path.name)
    assert info.kind == "onnx" and info.manifest["compression"]["runtime"] == "onnxruntime"
    assert (info.path / "model" / "model.onnx").is_file()  # (tiny graphs: ONNX overhead outweighs int8 savings)
    model = artifacts.load_model(path.name)
    texts = env["ds"].test.texts
    np.testing.assert_allclose(model.predict_proba(texts), artifacts.load_predictions(path.name).proba, atol=1e-6)
    torch_path = compress("teacher", "int8", {"runtime": "torch"}, name="teacher-int8-torch", dataset=env["ds"])
    assert artifacts.get_artifact(torch_path.name).kind == "compressed"


def test_runtime_rule():
    from core.compress.onnx_export import runtime_for

    assert runtime_for("rnn", "auto") == "onnx" and runtime_for("transformer", "torch") == "torch"
    assert runtime_for("tfidf", "auto") == "torch"  # not exportable: torch's (or the family's own) path
    assert runtime_for("transformer", "auto", {"compute": "bf16"}) == "torch"
    with pytest.raises(ParamError, match="export"):
        runtime_for("tfidf", "onnx")


def test_gradient_explainers_fall_back_to_the_fp32_parent(env, capsys):
    from core.cli import main
    from core.explain.fallback import available_for, explain_target

    if "teacher-int8" not in {i.name for i in __import__("core.artifacts").artifacts.list_artifacts()}:
        test_int8_runs_on_onnx_runtime_by_default(env)
    target, notice = explain_target("ig", "teacher-int8")
    assert target == "teacher" and "teacher" in notice and "gradients" in notice
    assert explain_target("shap", "teacher-int8") == ("teacher-int8", None)  # runs on the variant itself
    assert "ig" in {e.name for e in available_for("teacher-int8")}
    assert main(["explain", "teacher-int8", "the game win", "--method", "ig", "--set", "n_steps=4"]) == 0
    out = capsys.readouterr().out
    assert "note: integrated gradients ran on 'teacher'" in out
