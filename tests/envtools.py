"""Environment helpers for test fixtures: the lab's folders all come from TEXTLAB_* variables (core/config.py)."""
from __future__ import annotations

import contextlib
import os
from collections.abc import Iterable, Iterator


@contextlib.contextmanager
def restored_env(keys: Iterable[str]) -> Iterator[None]:
    """Put `keys` back as they were (value or absent) on exit, whatever the body set them to. For module- and
    session-scoped fixtures, which cannot use pytest's function-scoped `monkeypatch`."""
    saved = {k: os.environ.get(k) for k in keys}
    try:
        yield
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
