"""Progress reporting shared by every long step: tqdm on the command line, a JSON file for the browser.

A callback receives `(done, total, message, extra)`; it may raise `Cancelled` to stop the work,
which the caller turns into "no artifact written".
"""
from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any, Protocol

from .atomic import atomic_write_text


class Cancelled(Exception):
    """Raised inside a progress callback when the user asked to stop the job."""


class ProgressCallback(Protocol):
    def __call__(self, done: float, total: float, message: str = "", extra: dict[str, Any] | None = None) -> None: ...


def null_progress(done: float, total: float, message: str = "", extra: dict[str, Any] | None = None) -> None:
    """A callback that ignores everything (the default)."""


class TqdmProgress:
    """Shows progress with tqdm; one bar per distinct `message` prefix before ':'."""

    def __init__(self) -> None:
        self._bar = None
        self._stage = None

    def __call__(self, done: float, total: float, message: str = "", extra: dict[str, Any] | None = None) -> None:
        from tqdm.auto import tqdm

        stage = message.split(":")[0]
        if self._bar is None or stage != self._stage or self._bar.total != total:
            if self._bar is not None:
                self._bar.close()
            self._bar = tqdm(total=total, desc=stage, leave=True)
            self._stage = stage
        self._bar.n = done
        if extra:
            self._bar.set_postfix({k: v for k, v in extra.items() if isinstance(v, (int, float, str))}, refresh=False)
        self._bar.refresh()

    def close(self) -> None:
        if self._bar is not None:
            self._bar.close()


class FileProgress:
    """Writes progress to `<job_dir>/progress.json` (atomically) and raises `Cancelled` when
    `<job_dir>/cancel` exists, so the Train page can show a bar and stop the job."""

    def __init__(self, job_dir: Path, min_interval: float = 0.3) -> None:
        self.job_dir = Path(job_dir)
        self.job_dir.mkdir(parents=True, exist_ok=True)
        self.min_interval = min_interval
        self._last = 0.0
        self.history: list[dict[str, Any]] = []

    def __call__(self, done: float, total: float, message: str = "", extra: dict[str, Any] | None = None) -> None:
        if (self.job_dir / "cancel").exists():
            raise Cancelled("cancelled by the user")
        now = time.time()
        if now - self._last < self.min_interval and done < total:
            return
        self._last = now
        self.write(state="running", done=done, total=total, message=message, extra=extra or {})

    def write(self, **fields: Any) -> None:
        path = self.job_dir / "progress.json"
        old = read_progress(self.job_dir)
        old.update(fields, updated=time.time())
        atomic_write_text(path, json.dumps(old, default=str), encoding="utf-8")


class Tee:
    """Sends every call to several callbacks."""

    def __init__(self, *callbacks: ProgressCallback) -> None:
        self.callbacks = callbacks

    def __call__(self, done: float, total: float, message: str = "", extra: dict[str, Any] | None = None) -> None:
        for cb in self.callbacks:
            cb(done, total, message, extra)


def read_progress(job_dir: Path) -> dict[str, Any]:
    """The last progress written to `job_dir` ({} if none or unreadable)."""
    try:
        return json.loads((Path(job_dir) / "progress.json").read_text())
    except (OSError, ValueError):
        return {}


def run_as_job(work: Any, job_dir: str | None, *, done_fields: Any = None,
               cancelled_message: str = "cancelled by the user; nothing was saved") -> Any:
    """Run `work(progress)` with a tqdm bar and, when `job_dir` is given, the job's progress file.

    Writes the final state the Train / Compression pages read: "done" (with `artifact` = the returned
    path's name, or the fields `done_fields(result) -> dict` gives), "cancelled" (with `cancelled_message`;
    then returns None) or "failed" (error + trace, re-raised). Used by train, compress, bench and zoo.
    """
    import sys
    import traceback

    bar = TqdmProgress()
    file_progress = FileProgress(Path(job_dir)) if job_dir else None
    progress = Tee(bar, file_progress) if file_progress else bar
    try:
        result = work(progress)
    except Cancelled:
        bar.close()
        if file_progress:
            file_progress.write(state="cancelled", message=cancelled_message)
        print(cancelled_message, file=sys.stderr)
        return None
    except Exception as e:
        bar.close()
        if file_progress:
            file_progress.write(state="failed", error=f"{e.__class__.__name__}: {e}", trace=traceback.format_exc())
        raise
    bar.close()
    if file_progress:
        fields = done_fields(result) if done_fields else {"artifact": Path(result).name}
        file_progress.write(**{"message": "done", **fields, "state": "done", "done": 1, "total": 1})
    return result
