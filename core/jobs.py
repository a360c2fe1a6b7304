"""Background training jobs for the Train page.

A job is a subprocess `python -m core train ... --job-dir DIR`; it writes DIR/progress.json (through
core.progress.FileProgress) and stops when DIR/cancel appears. Because state lives in files, the page
survives reruns, reloads and even a restart of the Streamlit server.
"""
from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from . import config
from .progress import read_progress


def _job_dir(job_id: str) -> Path:
    if not re.fullmatch(r"[A-Za-z0-9_-]{1,64}", job_id):
        raise ValueError(f"bad job id {job_id!r}")
    return config.jobs_dir() / job_id


def start_job(
    dataset: str, kind: str, params: dict[str, Any] | None = None, name: str | None = None,
    max_train: int | None = None, command: str = "train", extra_args: list[str] | None = None,
) -> str:
    """Start a training (or compression) subprocess and return its job id at once."""
    job_id = time.strftime("%Y%m%d-%H%M%S-") + uuid.uuid4().hex[:6]
    jdir = _job_dir(job_id)
    jdir.mkdir(parents=True)
    args = [sys.executable, "-m", "core", command]
    if command == "train":
        args += ["--dataset", dataset, "--model", kind]
    for k, v in (params or {}).items():
        v = ",".join(map(str, v)) if isinstance(v, (list, tuple)) else v
        args += ["--set", f"{k}={v}"]
    if name:
        args += ["--name", name]
    if max_train:
        args += ["--max-train", str(int(max_train))]
    args += list(extra_args or [])
    args += ["--job-dir", str(jdir)]
    meta = {"id": job_id, "dataset": dataset, "kind": kind, "params": params or {}, "name": name,
            "command": command, "started": time.time(), "args": args[1:]}
    (jdir / "job.json").write_text(json.dumps(meta, default=str))
    log = open(jdir / "log.txt", "wb")
    env = dict(os.environ, PYTHONUNBUFFERED="1", TQDM_DISABLE="1")
    proc = subprocess.Popen(args, cwd=str(config.ROOT), stdout=log, stderr=subprocess.STDOUT, env=env,
                            start_new_session=True)
    (jdir / "pid").write_text(str(proc.pid))
    return job_id


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except OSError:
        return False
    try:  # a zombie child of this process counts as finished
        with open(f"/proc/{pid}/stat") as f:
            return f.read().split(")")[-1].split()[0] != "Z"
    except OSError:
        return True


def job_status(job_id: str) -> dict[str, Any]:
    """Job metadata merged with its last progress; a dead process without a final state is 'failed'."""
    jdir = _job_dir(job_id)
    try:
        meta = json.loads((jdir / "job.json").read_text())
    except (OSError, ValueError):
        meta = {"id": job_id}
    status = {**meta, **read_progress(jdir)}
    status.setdefault("state", "starting")
    if status["state"] in ("running", "starting"):
        try:
            pid = int((jdir / "pid").read_text())
        except (OSError, ValueError):
            pid = -1
        if pid > 0 and not _alive(pid):
            # Re-read: the process may have written its final state just before exiting.
            status = {**meta, **read_progress(jdir)}
            if status.get("state") in (None, "running", "starting"):
                status["state"] = "failed"
                status["error"] = _tail(jdir / "log.txt") or "the training process ended unexpectedly"
    return status


def _tail(path: Path, n: int = 15) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").strip().splitlines()[-n:])
    except OSError:
        return ""


def list_jobs(limit: int = 50) -> list[dict[str, Any]]:
    """Most recent jobs first."""
    root = config.jobs_dir()
    ids = sorted((p.name for p in root.iterdir() if p.is_dir()), reverse=True)[:limit]
    return [job_status(i) for i in ids]


def cancel_job(job_id: str) -> None:
    """Ask the job to stop; the training loop sees the flag at its next progress call."""
    (_job_dir(job_id) / "cancel").write_text("1")


def clear_finished() -> int:
    """Remove the folders of finished jobs; returns how many were removed."""
    import shutil

    n = 0
    for job in list_jobs(limit=10_000):
        if job.get("state") in ("done", "failed", "cancelled"):
            shutil.rmtree(_job_dir(job["id"]), ignore_errors=True)
            n += 1
    return n


#: States of a job that has not finished yet.
ACTIVE_STATES = ("running", "starting")


@dataclass(frozen=True)
class Job:
    """One background job as pages show it, built from a `job_status` dict (`Job.of(d)`).

    done / total: progress units (total 0 = unknown); updated: epoch seconds of the last progress (or start);
    artifact: the model it saved (train / compress, when done); error: the log tail of a failed job.
    """

    id: str
    state: str = "starting"
    command: str = "train"
    kind: str = "?"
    dataset: str = "?"
    name: str | None = None
    args: tuple[str, ...] = ()
    done: float = 0.0
    total: float = 0.0
    message: str = ""
    artifact: str | None = None
    error: str | None = None
    updated: float = 0.0
    raw: dict[str, Any] = field(default_factory=dict, compare=False, repr=False)

    @classmethod
    def of(cls, status: dict[str, Any]) -> Job:
        return cls(id=str(status.get("id", "?")), state=str(status.get("state") or "?"),
                   command=str(status.get("command") or "train"), kind=str(status.get("kind") or "?"),
                   dataset=str(status.get("dataset") or "?"), name=status.get("name") or None,
                   args=tuple(map(str, status.get("args") or ())), done=float(status.get("done") or 0),
                   total=float(status.get("total") or 0), message=str(status.get("message") or ""),
                   artifact=status.get("artifact") or None, error=status.get("error") or None,
                   updated=float(status.get("updated") or status.get("started") or 0), raw=dict(status))

    @property
    def is_active(self) -> bool:
        return self.state in ACTIVE_STATES

    @property
    def quick(self) -> bool:
        """A zoo job started with --quick."""
        return "--quick" in self.args

    @property
    def title(self) -> str:
        """"train tfidf on ag_news → my-model", "Model zoo (quick)", ..."""
        if self.command == "zoo":
            return "Model zoo (quick)" if self.quick else "Model zoo (full)"
        name = f" → {self.name}" if self.name else ""
        return f"{self.command} {self.kind} on {self.dataset}{name}"

    @property
    def fraction(self) -> float:
        """Progress of the current step in [0, 1] (0 while the total is unknown)."""
        return min(max(self.done / self.total, 0.0), 1.0) if self.total > 0 else 0.0

    def zoo_names(self) -> list[str]:
        """Artifact names a zoo job builds (core.zoo.plan of its command line); [] for other jobs."""
        if self.command != "zoo":
            return []
        from . import zoo

        return [s.name for s in zoo.plan(quick=self.quick)]


def recent_jobs(limit: int = 20) -> list[Job]:
    """`list_jobs` as Job records, most recent first."""
    return [Job.of(d) for d in list_jobs(limit)]
