"""The command line end to end, and background training jobs (progress file, cancel, failure), in temp folders."""
from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from core import artifacts, jobs
from core.config import ROOT
from tests.envtools import needs_shared

pytestmark = needs_shared()


@pytest.fixture()
def env(tmp_path, monkeypatch):
    monkeypatch.setenv("TEXTLAB_ARTIFACTS_DIR", str(tmp_path / "artifacts"))
    monkeypatch.setenv("TEXTLAB_USER_DATA_DIR", str(tmp_path / "user_data"))
    monkeypatch.setenv("TQDM_DISABLE", "1")
    return dict(os.environ)


def cli(env: dict, *args: str, check: bool = True) -> subprocess.CompletedProcess:
    proc = subprocess.run([sys.executable, "-m", "core", *args], cwd=ROOT, env=env, capture_output=True, text=True,
                          timeout=300)
    if check:
        assert proc.returncode == 0, proc.stderr[-2000:]
    return proc


def test_cli_end_to_end(env):
    out = cli(env, "datasets").stdout
    assert "ag_news" in out and "sms_spam" in out
    out = cli(env, "describe", "sms_spam").stdout
    assert "sms_spam" in out and "train" in out
    out = cli(env, "train", "--dataset", "sms_spam", "--model", "tfidf", "--max-train", "800", "--name", "spam-cli",
              "--set", "C=4").stdout
    result = json.loads(out[out.index("{"):])
    assert result["artifact"] == "spam-cli" and result["accuracy"] > 0.9
    info = artifacts.get_artifact("spam-cli")
    assert info.ok and info.manifest["config"]["C"] == 4.0 and info.manifest["dataset"] == "sms_spam"
    assert info.metrics["train_rows"] == 800 and info.metrics["train_seconds"] > 0
    assert "spam-cli" in cli(env, "list").stdout
    # bad settings and unknown names fail with one clear line, not a traceback
    bad = cli(env, "train", "--dataset", "sms_spam", "--model", "tfidf", "--set", "C=-1", check=False)
    assert bad.returncode == 2 and "C must be" in bad.stderr and "Traceback" not in bad.stderr
    bad = cli(env, "train", "--dataset", "nope", "--model", "tfidf", check=False)
    assert bad.returncode == 2 and "nope" in bad.stderr and "Traceback" not in bad.stderr
    assert cli(env, "delete", "spam-cli", check=False).returncode == 2
    cli(env, "delete", "spam-cli", "--yes")
    assert artifacts.list_artifacts() == []


def _wait(job_id: str, timeout: float = 240) -> dict:
    t0 = time.time()
    while time.time() - t0 < timeout:
        status = jobs.job_status(job_id)
        if status["state"] in ("done", "failed", "cancelled"):
            return status
        time.sleep(0.5)
    raise AssertionError(f"job did not finish: {jobs.job_status(job_id)}")


def test_background_job_done_and_listed(env):
    job = jobs.start_job("sms_spam", "tfidf", {"C": 2}, name="spam-job", max_train=600)
    status = _wait(job)
    assert status["state"] == "done", status
    assert status["artifact"] == "spam-job" and artifacts.get_artifact("spam-job").ok
    assert any(j["id"] == job for j in jobs.list_jobs())


def test_cancelled_job_leaves_no_artifact(env):
    job = jobs.start_job("sms_spam", "tfidf", {}, name="never", max_train=600)
    jobs.cancel_job(job)  # the flag is seen at the first progress call
    status = _wait(job)
    assert status["state"] == "cancelled"
    assert not (Path(env["TEXTLAB_ARTIFACTS_DIR"]) / "never").exists()
    assert [p.name for p in Path(env["TEXTLAB_ARTIFACTS_DIR"]).iterdir() if not p.name.startswith(".")] == []


def test_failed_job_reports_error(env):
    job = jobs.start_job("no_such_dataset", "tfidf", {}, name="x")
    status = _wait(job)
    assert status["state"] == "failed" and "no_such_dataset" in status["error"]
