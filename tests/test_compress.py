"""Compression methods on a tiny BERT teacher: int8 / half storage, pruning, distillation, ONNX, CLI, bad folders."""
from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from tiny_bert import tiny_dataset, tiny_encoder, tiny_params, tiny_tokenizer


@pytest.fixture(scope="module")
def env(tmp_path_factory):
    """Artifacts + user-data folders in tmp, the tiny dataset saved as an upload, and a trained teacher artifact."""
    torch.set_num_threads(1)
    root = tmp_path_factory.mktemp("compress")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("TEXTLAB_ARTIFACTS_DIR", str(root / "artifacts"))
        mp.setenv("TEXTLAB_USER_DATA_DIR", str(root / "user_data"))
        from core.data import load_dataset, save_upload
        from core.models import transformer as tf
        from core.train import finish

        ds = load_dataset(save_upload(tiny_dataset(n_train=128), "tiny"))
        params = tiny_params(epochs=2)
        model = tf.build(ds, params, encoder=tiny_encoder(), tokenizer=tiny_tokenizer())
        tf.train(model, ds, params)
        model.finalize()
        finish(model, ds, "teacher", config=params)
        yield {"ds": ds, "root": root}


def _agree(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.mean(a.argmax(1) == b.argmax(1)))


def test_storage_encodings_round_trip_exactly():
    from core.compress.storage import decode_tensors, encode_tensors

    torch.manual_seed(0)
    w = torch.randn(40, 64)
    w[3] = 0  # a pruned row
    w[:, 5] = 0  # a pruned column
    tensors = {"w": w, "b": torch.randn(64), "ids": torch.arange(5)}
    enc, rec = encode_tensors(tensors, "int8")
    assert enc["w"].dtype == torch.int8 and enc["w"].shape == (39, 63)  # zero row and column dropped
    assert enc["b"].dtype == torch.float32  # 1-D stays fp32
    dec = decode_tensors(enc, rec)
    assert dec["w"].shape == w.shape and torch.equal(dec["ids"], tensors["ids"])
    assert (dec["w"] - w).abs().max() <= w.abs().max() / 127  # within one int8 step of the row
    enc2, rec2 = encode_tensors(dec, "int8")
    assert torch.equal(enc2["w"], enc["w"]) and torch.equal(enc2["w::scale"], enc["w::scale"])  # idempotent
    half, rec_h = encode_tensors(tensors, "fp16")
    assert half["b"].dtype == torch.float16 and decode_tensors(half, rec_h)["b"].dtype == torch.float32


def test_int8_is_smaller_and_predicts_like_its_parent(env):
    from core import artifacts
    from core.compress import compress

    path = compress("teacher", "int8", {"runtime": "torch"}, name="teacher-int8")
    info = artifacts.get_artifact(path.name)
    parent = artifacts.get_artifact("teacher")
    assert info.manifest["parent"] == "teacher" and info.manifest["compression"]["method"] == "int8"
    weights = lambda p: sum(f.stat().st_size for f in (p / "model").rglob("*.safetensors"))  # noqa: E731
    assert weights(info.path) < 0.45 * weights(parent.path)  # int8 weights: ~4x smaller than fp32
    assert info.metrics["size_mb"] < parent.metrics["size_mb"]
    model = artifacts.load_model(path.name)
    assert "gradients" not in model.capabilities and {"embed", "attention"} <= set(model.capabilities)
    texts = env["ds"].test.texts
    teacher = artifacts.load_predictions("teacher").proba
    assert _agree(model.predict_proba(texts), teacher) >= 0.8
    # what was evaluated is exactly what loads from disk
    assert np.allclose(model.predict_proba(texts), artifacts.load_predictions(path.name).proba, atol=1e-6)
    assert model.embed(texts[:3]).shape[0] == 3
    assert model.attention(texts[0]).weights.ndim == 4


def test_half_precision_storage(env):
    from core import artifacts
    from core.compress import compress

    for method, settings in (("fp16", {}), ("bf16", {"compute": "bf16"})):
        path = compress("teacher", method, settings)
        info = artifacts.get_artifact(path.name)
        assert info.metrics["size_mb"] < artifacts.get_artifact("teacher").metrics["size_mb"]
        model = artifacts.load_model(path.name)
        p = model.predict_proba(env["ds"].test.texts)
        assert _agree(p, artifacts.load_predictions("teacher").proba) >= 0.85
        assert np.allclose(p.sum(1), 1, atol=1e-3)


def test_magnitude_pruning_reports_sparsity_and_same_size(env):
    from core import artifacts
    from core.compress import compress

    path = compress("teacher", "prune", {"sparsity": 0.5})
    info = artifacts.get_artifact(path.name)
    stats = info.metrics["train_info"]["pruning"]
    assert abs(stats["achieved_sparsity"] - 0.5) < 0.01
    assert info.kind == "transformer"  # dense tensors: the parent's own format
    assert info.metrics["size_mb"] == pytest.approx(artifacts.get_artifact("teacher").metrics["size_mb"], rel=0.01)
    model = artifacts.load_model(path.name)
    weights = [m.weight for n, m in model.net.named_modules() if type(m) is torch.nn.Linear and "head" not in n]
    assert float(np.mean([(w == 0).float().mean() for w in weights])) > 0.3


def test_head_pruning_shrinks_and_chains_with_int8(env):
    from core import artifacts
    from core.compress import compress

    path = compress("teacher", "prune-heads", {"fraction": 0.5, "sample": 32}, name="teacher-heads")
    info = artifacts.get_artifact(path.name)
    parent = artifacts.get_artifact("teacher")
    assert info.metrics["n_parameters"] < parent.metrics["n_parameters"]
    assert info.metrics["size_mb"] < parent.metrics["size_mb"]
    assert info.metrics["train_info"]["heads_removed"] == 2  # half of 2 layers x 2 heads, >= 1 kept per layer
    model = artifacts.load_model(path.name)
    from core.compress.prune import attention_blocks

    assert [b.self.num_attention_heads for b in attention_blocks(model.base).values()] == [1, 1]
    texts = env["ds"].test.texts
    assert np.allclose(model.predict_proba(texts), artifacts.load_predictions(path.name).proba, atol=1e-6)
    assert model.attention(texts[0]).weights.shape[1] == 1  # uniform: one head left in every layer
    chained = compress("teacher-heads", "int8", {"runtime": "torch"})
    c = artifacts.get_artifact(chained.name)
    assert c.manifest["parent"] == "teacher-heads"
    assert c.metrics["size_mb"] < info.metrics["size_mb"]
    assert c.metrics["n_parameters"] == info.metrics["n_parameters"]
    recipe = json.loads((c.path / "model" / "variant.json").read_text())["recipe"]
    assert recipe["pruned_heads"] and recipe["linear"] == "int8"


def test_distillation_moves_student_toward_teacher(env):
    from core import artifacts
    from core.compress.distill import distill, kl_to_teacher, shallow_copy

    teacher = artifacts.load_model("teacher")
    ds = env["ds"]
    texts = ds.train.texts
    p_teacher = teacher.predict_proba(texts)
    before = shallow_copy(teacher, [0], head_init="new")
    before.finalize()
    kl_before = kl_to_teacher(p_teacher, before.predict_proba(texts))
    settings = {"student": "shallow", "layers": ["0"], "head_init": "new", "alpha": 0.0, "temperature": 1.0,
                "epochs": 3, "lr": 3e-3, "batch_size": 16, "evals_per_epoch": 1, "patience": 0,
                "restore_best": False}
    student, info = distill(teacher, teacher, ds, settings)
    kl_after = kl_to_teacher(p_teacher, student.predict_proba(texts))
    assert kl_after < 0.5 * kl_before
    assert student.n_parameters() < teacher.n_parameters()
    assert info["history"]["train_loss"]


def test_rnn_student_artifact(env):
    from core import artifacts
    from core.compress import compress

    path = compress("teacher", "distill", {"student": "rnn", "epochs": 2, "batch_size": 32, "hidden_dim": 16,
                                            "embed_dim": 16, "evals_per_epoch": 1, "temperature": 2.0})
    info = artifacts.get_artifact(path.name)
    assert info.kind == "rnn" and info.manifest["parent"] == "teacher"
    assert info.manifest["config"]["student"] == "rnn" and info.metrics["train_info"]["student"] == "rnn"
    assert info.metrics["train_info"]["student_params"]["cell"] == "lstm"  # BiLSTM by default


def test_onnx_int8_variant(env):
    pytest.importorskip("onnx")
    from core import artifacts
    from core.compress import compress

    path = compress("teacher", "int8-onnx")
    info = artifacts.get_artifact(path.name)
    assert info.kind == "onnx" and (info.path / "model" / "model.onnx").exists()
    model = artifacts.load_model(path.name)
    texts = env["ds"].test.texts
    assert _agree(model.predict_proba(texts), artifacts.load_predictions("teacher").proba) >= 0.8
    assert model.embed(texts[:2]).shape == (2, 32)
    assert model.tokenize("Game team win.") == ["Game", "team", "win", "."]


def test_cli_compress_writes_job_state(env, tmp_path):
    from core.artifacts import get_artifact
    from core.cli import main
    from core.progress import read_progress

    assert main(["compress", "--teacher", "teacher", "--method", "fp16", "--name", "cli-fp16",
                 "--job-dir", str(tmp_path)]) == 0
    state = read_progress(tmp_path)
    assert state["state"] == "done" and state["artifact"] == "cli-fp16"
    assert get_artifact("cli-fp16").manifest["compression"]["method"] == "fp16"
    assert main(["compress", "--teacher", "teacher", "--method", "nope"]) == 2
    assert main(["compress", "--teacher", "teacher", "--method", "int8", "--set", "bogus=1"]) == 2


def test_corrupted_variant_gives_clear_error(env):
    from core import artifacts
    from core.compress import compress
    from core.compress.storage import StorageError
    from core.models.variants import CompressedClassifier

    path = compress("teacher", "int8", {"runtime": "torch"}, name="to-break")
    weights = next((path / "model" / "base").rglob("*.safetensors"))
    weights.write_bytes(weights.read_bytes()[:100])
    with pytest.raises(artifacts.ArtifactError, match="to-break") as err:
        artifacts.load_model("to-break")
    assert "broken" in str(err.value) or "could not be loaded" in str(err.value)
    (path / "model" / "variant.json").unlink()
    with pytest.raises(StorageError, match="no variant.json"):
        CompressedClassifier.load(path / "model")
    with pytest.raises(artifacts.ArtifactError, match="to-break"):
        artifacts.load_model("to-break")
