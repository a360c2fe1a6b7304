"""Peak resident memory of this process during a block, sampled by a background thread.

The one memory measurement of the lab: training (`core.train`, `core.trainer`), compression and the load-test
script all report `PeakMemory` figures, in MB of 10^6 bytes.
"""
from __future__ import annotations

import threading

import psutil

#: Bytes per MB in every memory figure the lab reports (peak_memory_mb, benchmark tables): decimal megabytes.
MB = 1e6


class PeakMemory:
    """`with PeakMemory() as pm: ...` then `pm.peak_mb` (max RSS seen, MB) and `pm.start_mb` (RSS at the start)."""

    def __init__(self, interval: float = 0.1) -> None:
        self.interval = interval
        self.start_mb = 0.0
        self.peak_mb = 0.0
        self._stop = threading.Event()
        self._proc = psutil.Process()

    def _rss(self) -> float:
        return self._proc.memory_info().rss / MB

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            self.peak_mb = max(self.peak_mb, self._rss())

    def __enter__(self) -> PeakMemory:
        self.start_mb = self.peak_mb = self._rss()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()
        self.peak_mb = max(self.peak_mb, self._rss())
