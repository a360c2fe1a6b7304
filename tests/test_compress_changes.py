"""Structured pruning, what compression changed (flips, calibration, CKA), the budget picker, their CLI commands
and the Compression page's new sections, on a tiny BERT teacher (tests/tiny_bert.py) built once."""
from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from tiny_bert import tiny_dataset, tiny_encoder, tiny_params, tiny_tokenizer

from tests.envtools import chart_text, restored_env

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:  # pages import `ui` from the project root
    sys.path.insert(0, str(ROOT))
ENV = ("TEXTLAB_ARTIFACTS_DIR", "TEXTLAB_USER_DATA_DIR", "TEXTLAB_JOBS_DIR", "TEXTLAB_CACHE_DIR", "TEXTLAB_THREADS")
PRUNE = {"ffn_keep": 0.5, "layers_keep": 1, "recovery_steps": 40, "sample": 32, "batch_size": 16, "lr": 3e-3}


@pytest.fixture(scope="module")
def lab(tmp_path_factory):
    """A trained tiny-BERT teacher ("teacher") and its structured-pruned variant ("teacher-ps") on upload:tiny."""
    root = tmp_path_factory.mktemp("compress-changes")
    with restored_env(ENV):
        for k, sub in zip(ENV, ("artifacts", "user_data", "jobs", "cache")):
            os.environ[k] = str(root / sub)
        os.environ["TEXTLAB_THREADS"] = "1"
        threads = torch.get_num_threads()
        torch.set_num_threads(1)
        from core.compress import compress
        from core.data import load_dataset, save_upload
        from core.models import transformer as tf
        from core.train import finish

        ds = load_dataset(save_upload(tiny_dataset(n_train=160), "tiny"))
        params = tiny_params(epochs=4)
        model = tf.build(ds, params, encoder=tiny_encoder(), tokenizer=tiny_tokenizer())
        tf.train(model, ds, params)
        model.finalize()
        finish(model, ds, "teacher", config=params)
        compress("teacher", "prune-structured", PRUNE, name="teacher-ps")
        yield {"ds": ds, "root": root}
        torch.set_num_threads(threads)


def _weights(path: Path) -> int:
    return sum(f.stat().st_size for f in (path / "model").rglob("*.safetensors"))


# ----------------------------------------------------------------------------------------------- pruning
def test_structured_pruning_shrinks_and_keeps_predictions(lab):
    from core import artifacts
    from core.compress import structured

    teacher, pruned = artifacts.load_model("teacher"), artifacts.load_model("teacher-ps")
    info = artifacts.get_artifact("teacher-ps")
    assert info.manifest["compression"]["method"] == "prune-structured" and info.parent == "teacher"
    layers = structured.ffn_layers(pruned.base)
    assert len(layers) == 1  # layers_keep=1 of 2
    assert [structured.ffn_width(v) for v in layers.values()] == [24]  # 48 * 0.5 neurons left, physically
    assert pruned.n_parameters() < 0.75 * teacher.n_parameters()
    assert _weights(info.path) < 0.8 * _weights(artifacts.get_artifact("teacher").path)
    ti = info.metrics["train_info"]
    assert ti["ffn_sizes"] == [24] and len(ti["kept_layers"]) == 1 and ti["recovery"]["recovery_steps"] == 40
    texts, y = lab["ds"].train.texts, np.asarray(lab["ds"].train.y)
    pt, pp = teacher.predict_proba(texts), pruned.predict_proba(texts)
    assert (pt.argmax(1) == y).mean() > 0.8  # the tiny teacher learned the planted topic words
    assert (pp.argmax(1) == pt.argmax(1)).mean() >= 0.85  # recovered: close to the parent on the training data
    # what was evaluated is exactly what loads from disk
    assert np.allclose(pruned.predict_proba(lab["ds"].test.texts), artifacts.load_predictions("teacher-ps").proba,
                       atol=1e-6)


def test_shrink_ffn_matches_zeroed_neurons_and_round_trips():
    """Removing neurons physically equals zeroing them; inflate restores the full-width weights with zeros."""
    from core.compress import structured
    from core.compress.quantize import restore

    enc = tiny_encoder(seed=3)
    layer = enc.encoder.layer[0]
    x = torch.randn(2, 5, 32)
    removed = [1, 4, 7, 30]
    with torch.no_grad():
        ref = layer.output.dense.weight.clone()
        layer.output.dense.weight[:, removed] = 0  # a zeroed neuron contributes nothing
        want = layer.output(layer.intermediate(x), x)
        layer.output.dense.weight.copy_(ref)
        structured.shrink_ffn(layer, removed)
        assert layer.intermediate.dense.out_features == 44 and layer.output.dense.in_features == 44
        got = layer.output(layer.intermediate(x), x)
    assert torch.allclose(got, want, atol=1e-5)
    structured.shrink_ffn(layer, removed)  # idempotent
    assert structured.ffn_width(layer) == 44
    swaps = structured.inflate_ffn(layer, removed)
    assert layer.intermediate.dense.out_features == 48
    assert float(layer.output.dense.weight.detach()[:, removed].abs().sum()) == 0
    restore(swaps)
    assert structured.ffn_width(layer) == 44


def test_prune_structured_refuses_a_model_without_ffn_blocks(lab):
    from core.compress import compress
    from core.errors import ParamError
    from core.models import family
    from core.params import resolve
    from core.train import finish

    fam = family("tfidf")
    finish(fam.fit(lab["ds"], resolve(fam.PARAMS, {"min_df": 1}))[0], lab["ds"], "tfidf", config={})
    before = sorted(p.name for p in (lab["root"] / "artifacts").iterdir())
    with pytest.raises(ParamError, match="FFN"):
        compress("tfidf", "prune-structured", {"recovery_steps": 0}, name="tfidf-ps")
    assert sorted(p.name for p in (lab["root"] / "artifacts").iterdir()) == before  # no artifact left behind


# ----------------------------------------------------------------------------------------------- changes
def _preds(y_pred, y_true, k=3):
    from core.predictions import Predictions

    proba = np.full((len(y_pred), k), 0.1, dtype=np.float32)
    proba[np.arange(len(y_pred)), y_pred] = 0.8
    return Predictions(proba, np.asarray(y_true), [f"t{i} " * (i + 1) for i in range(len(y_pred))],
                       ["a", "b", "c"])


def test_flip_counts_match_a_hand_computation():
    from core.changes import flips

    y = [0, 0, 1, 1, 2, 2]
    parent = _preds([0, 1, 1, 1, 2, 0], y)  # right on rows 0, 2, 3, 4
    variant = _preds([0, 0, 2, 1, 1, 0], y)  # flips rows 1 (fixed), 2 (broken), 4 (broken); row 5 wrong both
    s = flips.summary(parent, variant)
    assert (s["n"], s["flipped"], s["fixed"], s["broken"]) == (6, 3, 1, 2)
    assert s["accuracy_parent"] == pytest.approx(4 / 6) and s["accuracy_variant"] == pytest.approx(3 / 6)
    assert flips.confusion(parent, variant) == [[2, 0, 0], [1, 1, 1], [0, 1, 0]]
    by = {r["class"]: r for r in flips.by_class(parent, variant)}
    assert (by["a"]["rows"], by["a"]["flipped"]) == (2, 0)
    assert (by["b"]["rows"], by["b"]["flipped"], by["b"]["fixed"], by["b"]["broken"]) == (3, 2, 1, 1)
    assert (by["c"]["rows"], by["c"]["flipped"], by["c"]["broken"]) == (1, 1, 1)
    sl = flips.by_slice(parent, variant)
    pred_b = next(r for r in sl["rows"] if r["slice"] == "predicted b")
    assert (pred_b["rows"], pred_b["flipped"]) == (3, 2)
    assert sum(r["rows"] for r in sl["rows"] if r["group"] == "length") == 6


def test_linear_cka_is_one_for_the_same_representation_and_lower_for_random():
    from core.changes.cka import linear_cka, matched_layers

    rng = np.random.default_rng(0)
    x = rng.normal(size=(200, 16))
    q, _ = np.linalg.qr(rng.normal(size=(16, 16)))
    assert linear_cka(x, x) == pytest.approx(1.0)
    assert linear_cka(x, 3 * x @ q + 5) == pytest.approx(1.0)  # invariant to rotation, scale, shift
    assert linear_cka(x, rng.normal(size=(200, 16))) < 0.3
    assert matched_layers(7, 4, [0, 2, 4]) == [0, 1, 3, 5] and matched_layers(7, 7) == list(range(7))


def test_cka_of_a_model_with_itself_and_with_a_random_model(lab):
    from core import artifacts
    from core.changes import cka_section
    from core.models import transformer as tf

    teacher = artifacts.load_model("teacher")
    texts = lab["ds"].test.texts
    same = cka_section(teacher, teacher, texts, None)
    assert same["available"] and np.allclose(np.diag(same["matrix"]), 1.0, atol=1e-3)
    rand = tf.build(lab["ds"], tiny_params(), encoder=tiny_encoder(seed=7), tokenizer=tiny_tokenizer())
    other = cka_section(teacher, rand, texts, None)
    assert other["matched"][-1]["cka"] < same["matched"][-1]["cka"] - 0.05
    no = cka_section(teacher, artifacts.load_model("tfidf"), texts, None)
    assert not no["available"] and no["reason"].startswith("not available")


def test_compression_changes_dict_and_cli(lab, capsys):
    from core.changes import compression_changes
    from core.cli import main

    d = compression_changes("teacher-ps", sample=16)
    assert d["parent"] == "teacher" and d["method"] == "prune-structured"
    assert d["summary"]["n"] == len(lab["ds"].test) == sum(sum(r) for r in d["confusion"]["matrix"])
    assert d["summary"]["flipped"] == sum(r["flipped"] for r in d["by_class"])
    assert d["by_slice"]["source"].startswith("core.slices tags")  # the analysis issue's tag registry
    for r in d["by_slice"]["rows"]:
        assert 0 <= r["flipped"] <= r["rows"] and r["flipped"] <= d["summary"]["flipped"]
    assert d["cka"]["available"] and d["cka"]["teacher_layers"] == 3 and d["cka"]["variant_layers"] == 2
    kept = d["cka"]["matched"][1]["teacher_layer"]
    assert kept in (1, 2)  # the kept layer is matched to the parent layer it came from
    json.dumps(d)  # plain, JSON-ready
    assert main(["compress-diff", "teacher-ps", "--json", "--no-cka"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["summary"] == d["summary"] and not out["cka"]["available"]


# ----------------------------------------------------------------------------------------------- budget
FAKE = [
    {"model": "big", "accuracy": 0.91, "f1_macro": 0.9, "size_mb": 90.0, "latency_ms": 10.0},
    {"model": "int8", "accuracy": 0.905, "f1_macro": 0.9, "size_mb": 24.0, "latency_ms": 3.2},
    {"model": "student", "accuracy": 0.89, "f1_macro": 0.88, "size_mb": 18.0, "latency_ms": 1.6},
    {"model": "mystery", "accuracy": 0.95, "f1_macro": 0.95, "size_mb": 5.0, "latency_ms": None},
]


def test_budget_picker_picks_the_most_accurate_within_budget():
    from core.compress.pick import pick
    from core.errors import ParamError

    assert pick(FAKE)["chosen"] == "mystery"  # no budget: the most accurate
    assert pick(FAKE, max_ms=5)["chosen"] == "int8"  # unknown latency fails a latency budget
    assert pick(FAKE, max_ms=5, max_mb=20)["chosen"] == "student"
    assert pick(FAKE, max_mb=20)["chosen"] == "mystery"
    out = pick(FAKE, max_ms=1)
    assert out["chosen"] is None and all(not r["fits"] for r in out["rows"])
    assert "1.60 ms > 1" in next(r for r in out["rows"] if r["model"] == "student")["why_not"]
    with pytest.raises(ParamError):
        pick(FAKE, max_ms=-1)


def test_budget_picker_over_a_lineage_family_and_cli(lab, capsys):
    from core.cli import main
    from core.compress.pick import pick_for

    out = pick_for("teacher-ps", max_mb=1e6)
    assert out["family"] == ["teacher", "teacher-ps"]
    assert out["chosen"] in ("teacher", "teacher-ps")
    assert main(["compress-pick", "teacher", "--max-ms", "1e-9"]) == 1  # nothing is that fast
    assert "no model of the family fits" in capsys.readouterr().out


# ----------------------------------------------------------------------------------------------- page
def test_compression_page_shows_changes_cka_and_budget(lab):
    import streamlit as st
    from streamlit.testing.v1 import AppTest

    st.cache_data.clear()
    st.cache_resource.clear()
    at = AppTest.from_file(str(ROOT / "views" / "compression.py"), default_timeout=120)
    at.session_state["_shared_dataset"] = "upload:tiny"
    at.session_state["compression-reference"] = "teacher"
    at.session_state["compression-variants"] = ["teacher-ps"]
    at.run()
    assert not at.exception, at.exception
    heads = [s.value for s in at.subheader]
    assert "What compression changed" in heads and "Budget picker" in heads
    assert [m for m in at.metric if m.label == "flipped"]
    titles = [chart_text(c) for c in at.get("plotly_chart")]
    assert any("Flipped predictions by class" in t for t in titles)
    assert any("Parent prediction" in t for t in titles)
    assert not any("Linear CKA" in t for t in titles)  # only on request
    assert any("Most accuracy within the budget" in s.value for s in at.success)
    at.toggle(key="compression-changes-cka").set_value(True).run()
    assert not at.exception, at.exception
    assert any("Linear CKA" in chart_text(c) for c in at.get("plotly_chart"))
    at.number_input(key="compression-budget-ms").set_value(1e-6).run()
    assert any("No model of this family fits" in w.value for w in at.warning)
