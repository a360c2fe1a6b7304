"""Thread policy (core/threads.py) and bf16 precision (core/precision.py): the choice honours overrides and load,
and forcing fp32 reproduces the plain fp32 run exactly."""
from __future__ import annotations

import json
import subprocess
import sys

import pytest
import torch

from core import precision, threads
from core.errors import ParamError
from core.trainer import LoopConfig, train_loop
from tests.test_trainer import _setup, toy_dataset


# ------------------------------------------------------------------------------------------------ threads
def test_free_threads_subtracts_the_busiest_estimate():
    assert threads.free_threads(2, running=0.1) == 2
    assert threads.free_threads(2, running=1.0) == 1
    assert threads.free_threads(8, running=3.0) == 5
    assert threads.free_threads(8, running=1.0, lab_jobs=2) == 6
    assert threads.free_threads(2, running=14.0) == 1  # never below one


@pytest.fixture
def fresh_policy(monkeypatch, tmp_path):
    monkeypatch.delenv("TEXTLAB_THREADS", raising=False)
    monkeypatch.setenv("TEXTLAB_JOBS_DIR", str(tmp_path / "jobs"))
    monkeypatch.setattr(threads, "_POLICY", None)
    monkeypatch.setattr(threads, "usable_cores", lambda: 4)
    monkeypatch.setattr(threads, "running_now", lambda: 0.0)
    return tmp_path / "jobs"


def test_policy_takes_fewer_threads_under_a_fake_load(fresh_policy, monkeypatch):
    monkeypatch.setattr(threads.os, "getloadavg", lambda: (0.0, 0.0, 0.0))
    assert threads.measure_policy().threads == 4
    monkeypatch.setattr(threads, "running_now", lambda: 2.6)
    choice = threads.thread_choice()
    assert (choice.threads, choice.source, choice.running) == (1, "policy", 2.6)
    assert threads.thread_choice() is choice  # measured once per process: the job's own load never counts


def test_a_lagging_load_average_of_a_finished_job_does_not_cost_a_core(fresh_policy, monkeypatch):
    """A job that ended seconds ago leaves the 1-minute load average near 1 while nothing runs: all cores are
    free (the zoo, started like that, ran on one thread of two)."""
    monkeypatch.setattr(threads.os, "getloadavg", lambda: (0.94, 1.6, 2.2))
    choice = threads.measure_policy()
    assert (choice.threads, choice.load) == (4, 0.94)


def test_policy_counts_the_labs_other_running_jobs(fresh_policy, monkeypatch):
    monkeypatch.setattr(threads.os, "getloadavg", lambda: (0.0, 0.0, 0.0))
    sleeper = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        job = fresh_policy / "20260101-000000-abcdef"
        job.mkdir(parents=True)
        (job / "job.json").write_text(json.dumps({"id": job.name, "command": "train"}))
        (job / "pid").write_text(str(sleeper.pid))
        choice = threads.measure_policy()
        assert (choice.lab_jobs, choice.threads) == (1, 3)
    finally:
        sleeper.kill()
        sleeper.wait()
    assert threads.measure_policy().lab_jobs == 0  # a finished job frees its core


def test_explicit_threads_and_env_win(fresh_policy, monkeypatch):
    monkeypatch.setattr(threads.os, "getloadavg", lambda: (9.0, 9.0, 9.0))
    assert threads.thread_choice(3).as_dict()["threads"] == 3 and threads.thread_choice(3).source == "param"
    monkeypatch.setenv("TEXTLAB_THREADS", "2")
    assert (threads.thread_choice().threads, threads.thread_choice().source) == (2, "env")
    old = torch.get_num_threads()
    try:
        assert threads.apply_threads(1).threads == 1 and torch.get_num_threads() == 1
    finally:
        torch.set_num_threads(old)


# ------------------------------------------------------------------------------------------------ precision
def test_precision_detection_honours_the_flag(monkeypatch):
    monkeypatch.delenv("TEXTLAB_PRECISION", raising=False)
    monkeypatch.setattr(precision, "bf16_supported", lambda: True)
    assert precision.resolve_precision("auto") == "bf16" and precision.resolve_precision("fp32") == "fp32"
    monkeypatch.setattr(precision, "bf16_supported", lambda: False)
    assert precision.resolve_precision("auto") == "fp32" and precision.resolve_precision("bf16") == "bf16"
    monkeypatch.setenv("TEXTLAB_PRECISION", "bf16")
    assert precision.resolve_precision(None) == "bf16" and precision.resolve_precision("fp32") == "fp32"
    with pytest.raises(ParamError):
        precision.resolve_precision("fp8")


def test_bf16_supported_reads_the_cpu_flags(monkeypatch):
    import core.machine as machine

    monkeypatch.setattr(machine, "cpu_flags", lambda: {"avx2", "avx512_bf16"})
    assert precision.bf16_supported()
    monkeypatch.setattr(machine, "cpu_flags", lambda: {"avx2"})
    monkeypatch.setattr(torch.backends.cpu, "get_cpu_capability", lambda: "AVX2")
    assert not precision.bf16_supported()


def test_autocast_runs_matmuls_in_bf16_only_when_resolved_to_bf16():
    layer = torch.nn.Linear(4, 3)
    x = torch.randn(2, 4)
    with precision.use_precision("bf16") as p, precision.autocast():
        assert p == "bf16" and layer(x).dtype == torch.bfloat16
    with precision.use_precision("fp32"), precision.autocast():
        assert layer(x).dtype == torch.float32


def _weights_after(cfg_precision: str, supported: bool, monkeypatch) -> tuple[dict, dict]:
    monkeypatch.setenv("TEXTLAB_THREADS", "1")
    monkeypatch.delenv("TEXTLAB_PRECISION", raising=False)
    monkeypatch.setattr(precision, "bf16_supported", lambda: supported)
    ds = toy_dataset(96)
    model, tok = _setup(ds)
    h = train_loop(model, tok.encode, ds, LoopConfig(epochs=2, batch_size=16, lr=0.05, precision=cfg_precision))
    return {k: v.clone() for k, v in model.state_dict().items()}, h


def test_forced_fp32_is_identical_to_plain_fp32_and_bf16_is_recorded(monkeypatch):
    plain, h_plain = _weights_after("auto", False, monkeypatch)  # a CPU without bf16: the fp32 path as before
    forced, h_forced = _weights_after("fp32", True, monkeypatch)  # bf16 CPU, flag says fp32
    assert h_plain["precision"] == h_forced["precision"] == "fp32"
    assert all(torch.equal(plain[k], forced[k]) for k in plain)
    assert h_plain["train_loss"] == h_forced["train_loss"]
    bf16, h_bf16 = _weights_after("auto", True, monkeypatch)
    assert h_bf16["precision"] == "bf16"
    assert not all(torch.equal(plain[k], bf16[k]) for k in plain)  # autocast really changed the arithmetic
    assert abs(h_bf16["evals"][-1]["accuracy"] - h_plain["evals"][-1]["accuracy"]) <= 0.1


def test_cli_threads_and_precision_flags_reach_the_job(monkeypatch, tmp_path, capsys):
    import os

    from core.cli import main

    monkeypatch.setenv("TEXTLAB_ARTIFACTS_DIR", str(tmp_path / "artifacts"))
    monkeypatch.setenv("TEXTLAB_THREADS", "7")  # registered so monkeypatch restores both afterwards
    monkeypatch.setenv("TEXTLAB_PRECISION", "auto")
    old = torch.get_num_threads()
    try:
        assert main(["list", "--threads", "1", "--precision", "fp32"]) == 0
        assert os.environ["TEXTLAB_THREADS"] == "1" and torch.get_num_threads() == 1
        assert precision.resolve_precision("auto") == "fp32"
    finally:
        torch.set_num_threads(old)
    assert not (tmp_path / "artifacts" / ".jobs").exists()  # asking about other jobs creates nothing
