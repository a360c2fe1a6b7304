"""bench and zoo background jobs go through core.progress.run_as_job: the same done / cancelled / failed states
the Train and Compression pages read (progress.json in the job folder)."""
from __future__ import annotations

import pandas as pd
import pytest

from core.cli import main
from core.progress import Cancelled, read_progress, run_as_job
from tests.browser_utils import lab_env


@pytest.fixture()
def env(tmp_path, monkeypatch):
    for var, path in lab_env(tmp_path).items():
        monkeypatch.setenv(var, path)
    monkeypatch.setenv("TQDM_DISABLE", "1")
    return tmp_path


def test_run_as_job_states(tmp_path):
    done = tmp_path / "done"
    assert run_as_job(lambda p: (p(1, 2, "half"), tmp_path / "model-a")[1], str(done)) == tmp_path / "model-a"
    assert read_progress(done) | {"updated": 0} == {"state": "done", "artifact": "model-a", "message": "done",
                                                    "done": 1, "total": 1, "extra": {}, "updated": 0}
    custom = tmp_path / "custom"
    run_as_job(lambda p: ("table", {"saved_to": "/x.json"}), str(custom),
               done_fields=lambda r: {"saved_to": r[1]["saved_to"], "message": "benchmarked"})
    state = read_progress(custom)
    assert state["state"] == "done" and state["saved_to"] == "/x.json" and state["message"] == "benchmarked"
    assert "artifact" not in state

    def cancelled(progress):
        raise Cancelled("stop")

    stopped = tmp_path / "stopped"
    assert run_as_job(cancelled, str(stopped), cancelled_message="kept what was done") is None
    assert read_progress(stopped)["state"] == "cancelled" and read_progress(stopped)["message"] == "kept what was done"
    failed = tmp_path / "failed"
    with pytest.raises(ZeroDivisionError):
        run_as_job(lambda p: 1 / 0, str(failed))
    assert read_progress(failed)["state"] == "failed" and "ZeroDivisionError" in read_progress(failed)["trace"]
    assert run_as_job(lambda p: tmp_path / "no-job-dir", None) == tmp_path / "no-job-dir"


def test_bench_job_cancel_and_failure(env):
    from core import data, train

    rows = [{"text": f"free prize cash {i}", "label": "spam"} for i in range(20)] + \
           [{"text": f"lunch at noon {i}", "label": "ham"} for i in range(20)]
    train.run(data.save_upload(pd.DataFrame(rows), "tiny", text_columns="text", label_columns="label"), "tfidf",
              {"analyzer": "word", "word_ngram_max": 1}, name="tiny-tfidf")
    job = env / "bench-cancel"
    job.mkdir()
    (job / "cancel").write_text("1")  # seen at the first progress call
    assert main(["bench", "tiny-tfidf", "--repeats", "2", "--n-texts", "4", "--job-dir", str(job)]) == 130
    assert read_progress(job)["state"] == "cancelled"
    assert not list((env / "cache").glob("bench/*.json"))  # nothing saved
    bad = env / "bench-bad"
    assert main(["bench", "missing-model", "--job-dir", str(bad)]) == 2
    assert read_progress(bad)["state"] == "failed" and "missing-model" in read_progress(bad)["error"]
    ok = env / "bench-ok"
    assert main(["bench", "tiny-tfidf", "--repeats", "2", "--n-texts", "4", "--batch-size", "4", "--threads", "1",
                 "--job-dir", str(ok)]) == 0
    state = read_progress(ok)
    assert state["state"] == "done" and state["saved_to"].endswith(".json") and "artifact" not in state


def test_zoo_job_states(env, monkeypatch, capsys):
    from core import zoo

    bad = env / "zoo-bad"
    assert main(["zoo", "--only", "no-such-step", "--job-dir", str(bad)]) == 2  # plan() rejects the name
    assert read_progress(bad)["state"] == "failed" and "no-such-step" in read_progress(bad)["error"]

    def fake_build(quick, only, progress):
        progress(1, 2, "zoo: step one")
        return [{"name": "m1", "status": "built", "seconds": 1.0}, {"name": "m2", "status": "built", "seconds": 2.0}]

    monkeypatch.setattr(zoo, "build", fake_build)
    done = env / "zoo-done"
    assert main(["zoo", "--quick", "--job-dir", str(done)]) == 0
    state = read_progress(done)
    assert state["state"] == "done" and state["message"] == "zoo built" and state["artifact"] == "m2"
    assert "total_seconds" in capsys.readouterr().out

    def cancelled_build(quick, only, progress):
        raise Cancelled("stop")

    monkeypatch.setattr(zoo, "build", cancelled_build)
    stopped = env / "zoo-cancel"
    assert main(["zoo", "--job-dir", str(stopped)]) == 130
    assert read_progress(stopped) | {"updated": 0} == {"state": "cancelled", "updated": 0,
                                                       "message": "cancelled; finished steps were kept"}
