"""Pre-flight estimate: a few real optimisation steps give the run's steps (the trainer's own count), seconds
per step and peak memory; a run that needs more than the free memory is refused with the numbers (unless forced);
`train --estimate` prints and saves nothing."""
from __future__ import annotations

import json
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest

from core import preflight
from core.cli import main
from core.errors import ParamError
from tests.envtools import lab_dirs
from tests.test_rnn import toy_dataset

SMALL = {"embed_dim": 16, "hidden_dim": 16, "epochs": 3, "batch_size": 16, "min_freq": 1, "tokenizer": "word",
         "init_embeddings": "none", "patience": 0}


@pytest.fixture(autouse=True)
def _env(tmp_path, monkeypatch):
    monkeypatch.setenv("TEXTLAB_THREADS", "1")
    with lab_dirs(tmp_path):  # artifacts, user data, jobs, cache under tmp_path
        yield


def test_estimate_counts_the_trainers_steps_and_measures_the_warmup():
    from core.models import family
    from core.params import resolve

    est = preflight.estimate(toy_dataset(), "rnn", SMALL, warmup=4)
    fam = family("rnn")
    clf, info = fam.fit(toy_dataset(), resolve(fam.PARAMS, SMALL))
    assert est.steps == info["history"]["total_steps"] == 3 * 14  # 210 rows / 16 per batch, 3 epochs
    assert est.warmup_steps == 4 and est.seconds_per_step > 0
    assert est.total_seconds >= est.train_seconds == pytest.approx(est.seconds_per_step * est.steps, abs=0.06)
    assert est.details["evaluations"] == len(info["history"]["evals"]) > 0 and est.eval_seconds > 0  # as planned
    assert est.peak_memory_mb >= est.start_memory_mb > 0 and est.largest_batch_tokens >= max(est.details["step_tokens"])
    assert all(t > 0 for t in est.details["step_tokens"])  # the embedding inputs were seen
    assert "optimisation steps" in est.lines()[0]
    # the loop keeps a copy of the best validation state from its first evaluation on: counted in the peak
    kept = sum(t.numel() * t.element_size() for t in [*clf.net.parameters(), *clf.net.buffers()]) / 1e6
    assert est.details["best_state_mb"] == pytest.approx(kept, abs=1e-3) and kept > 0
    assert est.peak_memory_mb >= max(est.details["step_peak_mb"]) + kept - 0.1


def test_memory_refusal_names_the_numbers():
    est = SimpleNamespace(needed_mb=900.0, peak_memory_mb=1400.0, free_memory_mb=300.0)
    with pytest.raises(ParamError, match=r"900 MB more memory \(peak 1,400 MB\) but only 300 MB are free"):
        preflight.check_memory(est)
    preflight.check_memory(est, force=True)  # the flag overrides


def test_family_without_loop_has_no_estimate():
    with pytest.raises(ParamError, match="no optimisation loop"):
        preflight.estimate(toy_dataset(), "tfidf", {})


@pytest.fixture
def toy_csv(tmp_path):
    ds = toy_dataset()
    path = tmp_path / "toy.csv"
    pd.DataFrame({"text": ds.train.texts, "label": [ds.labels[i] for i in ds.train.y]}).to_csv(path, index=False)
    return str(path)


def _sets():
    return [x for k, v in SMALL.items() for x in ("--set", f"{k}={v}")]


def test_cli_estimate_prints_and_saves_nothing(toy_csv, tmp_path, capsys):
    assert main(["train", "--dataset", toy_csv, "--model", "rnn", *_sets(), "--estimate"]) == 0
    out = capsys.readouterr().out
    assert "optimisation steps" in out and "peak memory" in out
    est = json.loads(out.strip().splitlines()[-1])["estimate"]
    assert est["steps"] > 0 and est["peak_memory_mb"] > 0
    saved = [p for p in (tmp_path / "artifacts").glob("*") if not p.name.startswith(".")]
    assert saved == []


def test_cli_train_refuses_when_memory_is_short_and_force_overrides(toy_csv, tmp_path, capsys, monkeypatch):
    real = preflight.psutil.virtual_memory
    monkeypatch.setattr(preflight.psutil, "virtual_memory", lambda: SimpleNamespace(available=-1e6))  # less than nothing free: any run is refused
    args = ["train", "--dataset", toy_csv, "--model", "rnn", *_sets(), "--set", "epochs=1", "--name", "toy-rnn"]
    assert main(args) == 2
    err = capsys.readouterr().err
    assert "MB more memory" in err and "only -1 MB are free" in err
    assert not (tmp_path / "artifacts" / "toy-rnn").exists()
    assert main([*args, "--force"]) == 0
    assert (tmp_path / "artifacts" / "toy-rnn" / "manifest.json").exists()
    monkeypatch.setattr(preflight.psutil, "virtual_memory", real)


def _probe(times: list[float], tokens: list[int]):
    from core.preflight import _Probe

    p = _Probe(len(times))
    p.times, p.step_tokens = list(times), list(tokens)
    return p


def test_step_time_is_read_at_the_runs_mean_tokens_not_the_warmups():
    """Warm-up batches shorter than the run's average (RuSentiment: 820 tokens against 1,835) made the median step
    3x too fast; the fitted seconds-per-token model reads the run's own mean."""
    from core.preflight import seconds_per_step

    tokens = [512, 400, 800, 1600, 600, 1200]
    times = [5.0] + [0.1 + 0.0005 * t for t in tokens[1:]]  # the first step pays for set-up and is left out
    per_step, model = seconds_per_step(_probe(times, tokens), run_tokens=3000)
    assert model["model"] == "linear" and per_step == pytest.approx(0.1 + 0.0005 * 3000, rel=1e-6)
    flat = [0.3] + [0.4] * 5  # no spread in tokens: seconds per token instead
    per_step, model = seconds_per_step(_probe(flat, [1000] * 6), run_tokens=2000)
    assert model["model"] == "rate" and per_step == pytest.approx(0.8)


def test_tokens_per_char_matches_the_warmups_rows_and_truncation():
    from core.preflight import tokens_per_char

    chars = np.array([100.0, 200.0, 400.0, 1000.0])
    batches = [[0, 1], [2, 3]]
    # 0.25 tokens a character, at most 64 per text: 25 + 50 + 64 + 64 real tokens
    nonpad, rows = [75, 128], [2, 2]
    assert tokens_per_char(chars, batches, nonpad, rows, max_len=64) == pytest.approx(0.25, rel=1e-3)
    # batches that do not match the warm-up's rows (re-sampling): the split's mean
    assert tokens_per_char(chars, batches, nonpad, [3, 1], 64) == pytest.approx(203 / (4 * chars.mean()))


def test_transformer_family_offers_the_preflight_hooks():
    """core.preflight looks the hooks up on the family module (core.models.transformer), which re-exports them from
    transformer_fit on first use: a name missing there silently skips the hook."""
    from core.models import family

    fam = family("transformer")
    for hook in ("vocabulary_coverage", "validation_units", "token_lengths"):
        assert callable(getattr(fam, hook)), hook
