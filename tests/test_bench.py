"""Benchmark on tiny models: every field present with sane values, saved runs, changed predictions, plots."""
from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from tiny_bert import tiny_dataset, tiny_encoder, tiny_params, tiny_tokenizer


@pytest.fixture(scope="module")
def env(tmp_path_factory):
    torch.set_num_threads(1)
    root = tmp_path_factory.mktemp("bench")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("TEXTLAB_ARTIFACTS_DIR", str(root / "artifacts"))
        mp.setenv("TEXTLAB_USER_DATA_DIR", str(root / "user_data"))
        from core.compress import compress
        from core.data import load_dataset, save_upload
        from core.models import transformer as tf
        from core.train import finish

        ds = load_dataset(save_upload(tiny_dataset(n_train=64), "tiny"))
        model = tf.build(ds, tiny_params(), encoder=tiny_encoder(), tokenizer=tiny_tokenizer())
        model.finalize()  # untrained is fine: the benchmark measures, it does not judge
        finish(model, ds, "ref", config={})
        compress("ref", "int8", {"runtime": "torch"}, name="ref-int8")  # tiny graphs: ONNX overhead > int8 savings
        compress("ref", "prune-heads", {"fraction": 0.5, "sample": 16}, name="ref-heads")
        yield root


def test_bench_returns_every_field_with_sane_values(env):
    from core.bench import COLUMNS, bench, latest_run

    df, machine = bench(["ref", "ref-int8", "ref-heads"], reference="ref", n_texts=12, threads=1, repeats=4,
                        batch_size=8, batch_repeats=2)
    assert list(df.columns) == COLUMNS and list(df["model"]) == ["ref", "ref-int8", "ref-heads"]
    for _, r in df.iterrows():
        assert r["size_mb"] > 0 and r["n_parameters"] > 0
        assert 0 < r["latency_p50_ms"] <= r["latency_p95_ms"] < 10_000
        assert 0 < r["latency_real_p50_ms"] <= r["latency_real_p95_ms"]
        assert r["throughput_per_s"] > 0
        assert 0 <= r["accuracy"] <= 1 and 0 <= r["f1_macro"] <= 1 and 0 <= r["ece"] <= 1
        assert 0 <= r["changed_vs_reference"] <= 1
        assert all(math.isfinite(r[c]) and r[c] > 0 for c in ("compression_ratio", "speedup", "speedup_real",
                                                              "throughput_ratio"))
    ref = df.set_index("model").loc["ref"]
    assert ref["compression_ratio"] == 1 and ref["speedup"] == 1 and ref["changed_vs_reference"] == 0
    q = df.set_index("model").loc["ref-int8"]
    assert q["compression_ratio"] > 1 and q["method"] == "int8" and q["parent"] == "ref"
    assert df.set_index("model").loc["ref-heads", "n_parameters"] < ref["n_parameters"]
    for key in ("cpu", "logical_cores", "ram_gb", "os", "python", "torch_threads", "versions"):
        assert machine[key], key
    assert machine["torch_threads"] == 1 and "torch" in machine["versions"]
    assert machine["settings"]["reference"] == "ref" and machine["settings"]["text_64_pieces"] <= 64
    latest = latest_run()
    assert latest is not None and list(latest[0]["model"]) == list(df["model"])
    assert latest[1]["cpu"] == machine["cpu"]


def test_bench_recompute_and_errors(env):
    from core.artifacts import ArtifactError
    from core.bench import bench

    df, _ = bench(["ref-int8"], reference="ref", n_texts=4, threads=1, repeats=2, batch_size=4, batch_repeats=1,
                  recompute=True, save=False)
    assert list(df["model"]) == ["ref", "ref-int8"]  # the reference joins the table
    with pytest.raises(ArtifactError):
        bench(["missing-model"])


def test_changed_predictions_table(env):
    from core.artifacts import load_predictions
    from core.bench import changed_predictions

    table = changed_predictions("ref-int8", "ref")
    a, b = load_predictions("ref-int8"), load_predictions("ref")
    assert len(table) == int(np.sum(a.y_pred != b.y_pred))
    assert list(table.columns) == ["text", "true", "reference", "reference_confidence", "variant",
                                   "variant_confidence"]


def test_cli_bench_prints_table_and_machine(env, capsys):
    from core.cli import main

    assert main(["bench", "ref", "ref-int8", "--threads", "1", "--n-texts", "4", "--repeats", "2",
                 "--batch-size", "4"]) == 0
    out = capsys.readouterr().out
    assert "ref-int8" in out and "machine:" in out and "latency_p50_ms" in out


def test_pareto_plots():
    from core.plots import pareto_front, tradeoff_scatter

    front = pareto_front([10, 5, 20, 7], [0.9, 0.85, 0.95, 0.8])
    assert front == [1, 0, 2]  # 7 ms at 0.80 is dominated by 5 ms at 0.85
    fig = tradeoff_scatter(["a", "b", "c", "d"], [10, 5, 20, 7], [0.9, 0.85, 0.95, 0.8], "latency_p50_ms")
    assert len(fig.data) == 2 and fig.layout.xaxis.title.text
