"""Atomic file writes: write to a temporary file beside the target, then rename it onto the target.

A reader sees the old file or the new one, never half of one, and a crash (or an exception inside `write`) leaves
the target untouched and no temporary file behind. The temporary name is unique per call (tempfile.mkstemp in the
target's folder: the rename never crosses file systems) and ends with the target's suffix, because writers such as
numpy's `save` / `savez` append their own extension to a name that lacks it.
"""
from __future__ import annotations

import os
import tempfile
from collections.abc import Callable
from pathlib import Path


def atomic_write(path: Path | str, write: Callable[[Path], object], *, mkdir: bool = True) -> Path:
    """Call `write(tmp)` on a fresh temporary path beside `path`, then rename it onto `path`; returns `path`."""
    path = Path(path)
    if mkdir:
        path.parent.mkdir(parents=True, exist_ok=True)
    fd, name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=f".tmp{path.suffix}", dir=path.parent)
    os.close(fd)
    tmp = Path(name)
    try:
        write(tmp)
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
    return path


def atomic_write_text(path: Path | str, text: str, encoding: str = "utf-8") -> Path:
    """`path.write_text(text)`, atomically."""
    return atomic_write(path, lambda tmp: tmp.write_text(text, encoding))


def atomic_write_bytes(path: Path | str, data: bytes) -> Path:
    """`path.write_bytes(data)`, atomically."""
    return atomic_write(path, lambda tmp: tmp.write_bytes(data))
