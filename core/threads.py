"""Thread policy: how many torch intra-op threads a job uses.

Torch's default (one thread per core) is the worst choice on a shared machine: with a second busy job on 2 cores
a GRU training ran 6x slower, and under load 2 threads were 2x slower per step than 1 (threads spin-wait on each
other's time slices). So a job takes the cores that are *free when it starts*:

    busy    = max(processes running right now (other than this one, sampled over ~0.3 s),
                  the lab's other running background jobs (core.jobs))
    threads = max(1, usable cores - round(busy))

The 1-minute load average is recorded but not counted: it lags. A job that ended 20 s ago still reads ~0.9, which
gave the demo zoo, started right after a training run on an idle machine, one thread of two for its whole run.

Overrides, strongest first: an explicit `threads` (the `threads` training parameter, `--threads N` on the command
line), then $TEXTLAB_THREADS. The automatic choice is computed once per process (when the job starts; later in the
same process the job's own load would count against it) and recorded in the training history as `threads`.
"""
from __future__ import annotations

import os
import sys
import time
from dataclasses import asdict, dataclass
from typing import Any

ENV = "TEXTLAB_THREADS"


@dataclass(frozen=True)
class ThreadChoice:
    """threads: the torch intra-op threads; source: 'param' | 'env' | 'policy'; cores / load / running /
    lab_jobs: what the policy saw (busy = the largest of the last three)."""

    threads: int
    source: str
    cores: int
    load: float = 0.0
    running: float = 0.0
    lab_jobs: int = 0

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def usable_cores() -> int:
    """Cores this process may run on (CPU affinity, e.g. a container's cpuset), at least 1."""
    if hasattr(os, "sched_getaffinity"):
        return max(1, len(os.sched_getaffinity(0)))
    return max(1, os.cpu_count() or 1)


def free_threads(cores: int, running: float = 0.0, lab_jobs: int = 0) -> int:
    """The policy itself: cores minus the busiest estimate of other work, at least 1."""
    busy = max(float(running), float(lab_jobs))
    return max(1, int(cores) - int(round(busy)))


def running_now(samples: int = 15, interval: float = 0.02) -> float:
    """Mean number of runnable processes other than this one (/proc/loadavg field 4 'running/total', which
    counts the reader itself), over `samples` reads; 0 where /proc is missing."""
    counts = []
    for i in range(samples):
        try:
            with open("/proc/loadavg") as f:
                counts.append(int(f.read().split()[3].split("/")[0]) - 1)
        except (OSError, ValueError, IndexError):
            return 0.0
        if i + 1 < samples:
            time.sleep(interval)
    return max(0.0, sum(counts) / len(counts))


def other_lab_jobs() -> int:
    """The lab's background jobs (core.jobs) still running, not counting this process."""
    from . import config

    root = os.environ.get("TEXTLAB_JOBS_DIR") or os.path.join(
        os.environ.get("TEXTLAB_ARTIFACTS_DIR", str(config.ROOT / "artifacts")), ".jobs")
    if not os.path.isdir(root):  # no job ever ran here (and asking must not create the folder)
        return 0
    try:
        from .jobs import ACTIVE_STATES, list_jobs

        return sum(1 for j in list_jobs(limit=200) if j.get("state") in ACTIVE_STATES and _job_pid(j) != os.getpid())
    except OSError:
        return 0


def _job_pid(job: dict) -> int:
    from .jobs import _job_dir

    try:
        return int((_job_dir(job["id"]) / "pid").read_text())
    except (OSError, ValueError, KeyError):
        return -1


def measure_policy() -> ThreadChoice:
    """The automatic choice from the machine's current load (no caching)."""
    cores = usable_cores()
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else 0.0
    running, jobs = running_now(), other_lab_jobs()
    return ThreadChoice(free_threads(cores, running, jobs), "policy", cores, round(load, 2),
                        round(running, 2), jobs)


_POLICY: ThreadChoice | None = None


def thread_choice(requested: int = 0) -> ThreadChoice:
    """`requested` > 0 wins, then $TEXTLAB_THREADS, then the policy (measured once per process)."""
    global _POLICY
    if requested and int(requested) > 0:
        return ThreadChoice(int(requested), "param", usable_cores())
    env = os.environ.get(ENV, "").strip()
    if env:
        return ThreadChoice(max(1, int(env)), "env", usable_cores())
    if _POLICY is None:
        _POLICY = measure_policy()
    return _POLICY


def apply_threads(requested: int = 0) -> ThreadChoice:
    """Set torch's intra-op threads (and OMP/MKL for libraries imported later) to `thread_choice(requested)`."""
    choice = thread_choice(requested)
    for var in ("OMP_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ[var] = str(choice.threads)
    if "torch" in sys.modules:
        import torch

        if torch.get_num_threads() != choice.threads:
            torch.set_num_threads(choice.threads)
    return choice
