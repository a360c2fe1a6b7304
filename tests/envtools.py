"""Environment helpers for test fixtures: the lab's folders all come from TEXTLAB_* variables (core/config.py)."""
from __future__ import annotations

import contextlib
import json
import os
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

import pytest


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


#: The lab's folders, each overridable by an environment variable (core.config).
LAB_ENV = ("TEXTLAB_ARTIFACTS_DIR", "TEXTLAB_USER_DATA_DIR", "TEXTLAB_JOBS_DIR", "TEXTLAB_CACHE_DIR")


@contextlib.contextmanager
def lab_dirs(root: Path) -> Iterator[Path]:
    """Artifacts, user data, jobs and cache folders under `root` for the body (the old values restored after)."""
    with restored_env(LAB_ENV):
        for key, sub in zip(LAB_ENV, ("artifacts", "user_data", "jobs", "cache")):
            os.environ[key] = str(root / sub)
        yield root


SHARED_DATA = Path(__file__).resolve().parents[2] / "shared" / "data"


def needs_shared(sub: str = "sms_spam", *, what: str = "../shared/data"):
    """A skip marker for tests that read the reference datasets beside the checkout. On CI (CI=true) a missing
    folder is a failure, not a skip: a green run must mean the page tests really ran."""
    missing = not (SHARED_DATA / sub).exists()
    if missing and os.environ.get("CI", "").lower() in ("1", "true", "yes"):
        pytest.fail(f"CI=true but {SHARED_DATA / sub} is missing: CI must run with ../shared beside the checkout",
                    pytrace=False)
    return pytest.mark.skipif(missing, reason=f"needs {what}")


def _strings(node: Any) -> Iterator[str]:
    if isinstance(node, str):
        yield node
    elif isinstance(node, dict):
        for v in node.values():
            yield from _strings(v)
    elif isinstance(node, list):
        for v in node:
            yield from _strings(v)


def chart_text(chart: Any) -> str:
    """Every string value of a rendered plotly chart's parsed spec (titles, axis titles, trace names, annotations),
    one per line. Parsed, not raw JSON: plotly escapes non-ASCII as \\uXXXX unless orjson is installed."""
    return "\n".join(_strings(json.loads(chart.proto.spec)))


def chart_title(chart: Any) -> str:
    """The figure title's text of a rendered plotly chart ('' when it has none)."""
    title = json.loads(chart.proto.spec).get("layout", {}).get("title", {})
    return title.get("text", "") if isinstance(title, dict) else str(title)
