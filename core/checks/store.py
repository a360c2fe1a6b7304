"""Where suites and check records live, next to the rest of the lab's state in the artifacts folder:

    <artifacts>/.checks/suites/<dataset key>.yaml          the dataset's suite (generated, then the user's to edit)
    <artifacts>/.checks/records/<model>/<suite hash>.json  one run of a suite on a model (pages, cards, reports)

A saved suite is never replaced silently: `save_suite` over a different existing suite needs `replace=True`
(the CLI's --replace, the page's consent box). Records remember the model's `created` stamp, so a model re-trained
under the same name does not inherit its predecessor's results.
"""
from __future__ import annotations

import datetime as _dt
import hashlib
import json
import re
from pathlib import Path
from typing import Any

from .. import config as _cfg
from ..atomic import atomic_write_text
from ..errors import ArtifactError, NameTakenError
from .suite import Suite, SuiteError, parse_suite


def _root() -> Path:
    path = _cfg.artifacts_dir() / ".checks"
    path.mkdir(parents=True, exist_ok=True)
    return path


def dataset_key(dataset: str) -> str:
    """A file name for a dataset name ("upload:trec@v2" -> "upload_trec_v2-1a2b3c"): safe characters, plus a
    short hash when any had to be replaced so two names never share a file."""
    safe = re.sub(r"[^A-Za-z0-9._-]", "_", dataset).strip("._") or "dataset"
    if safe == dataset:
        return safe
    return f"{safe[:80]}-{hashlib.sha1(dataset.encode('utf-8')).hexdigest()[:6]}"


def suite_path(dataset: str) -> Path:
    """The file of `dataset`'s saved suite (it may not exist yet)."""
    folder = _root() / "suites"
    folder.mkdir(exist_ok=True)
    return folder / f"{dataset_key(dataset)}.yaml"


def saved_suite_text(dataset: str) -> str | None:
    """The YAML text of `dataset`'s saved suite, None when there is none."""
    path = suite_path(dataset)
    return path.read_text(encoding="utf-8") if path.exists() else None


def save_suite(dataset: str, text: str, replace: bool = False, labels: list[str] | None = None) -> Path:
    """Validate `text` (SuiteError listing every problem) and save it as `dataset`'s suite. Saving over a
    different saved suite raises NameTakenError unless `replace` (the user's explicit consent); saving the same
    text again is a no-op. The suite must name `dataset`."""
    suite = parse_suite(text, labels)
    if suite.dataset != dataset:
        raise SuiteError([f"dataset: the suite is for {suite.dataset!r}, not {dataset!r}"])
    path = suite_path(dataset)
    old = saved_suite_text(dataset)
    if old is not None and old != text and not replace:
        raise NameTakenError(f"a different suite is already saved for {dataset} ({path}); replacing it needs "
                             "explicit consent (CLI: --replace; page: tick “Replace the saved suite”)")
    if old != text:
        atomic_write_text(path, text)
    return path


def load_suite(dataset: str, labels: list[str] | None = None) -> Suite | None:
    """`dataset`'s saved suite, validated; None when there is none."""
    text = saved_suite_text(dataset)
    return None if text is None else parse_suite(text, labels, source=str(suite_path(dataset)))


def _record_dir(model: str) -> Path:
    from ..artifacts import check_name

    return _root() / "records" / check_name(model)


def record_path(model: str, suite_hash_: str) -> Path:
    if not re.fullmatch(r"[0-9a-f]{12}", suite_hash_):
        raise ArtifactError(f"not a suite hash: {suite_hash_!r}")
    return _record_dir(model) / f"{suite_hash_}.json"


def _model_created(model: str) -> str:
    from ..artifacts import get_artifact

    return get_artifact(model).created


def save_record(model: str, suite: Suite, results: list[dict[str, Any]], seconds: float,
                extra: dict[str, Any] | None = None) -> dict[str, Any]:
    """Write the record of one run (model, its created stamp, dataset, suite hash, results, seconds, created)
    and return it."""
    record = {"model": model, "model_created": _model_created(model), "dataset": suite.dataset,
              "suite_hash": suite.hash, "seed": suite.seed, "n_tests": len(suite.tests),
              "created": _dt.datetime.now(_dt.UTC).isoformat(timespec="seconds"), "seconds": round(seconds, 3),
              "results": results, **(extra or {})}
    atomic_write_text(record_path(model, suite.hash), json.dumps(record, indent=1, ensure_ascii=False, default=str))
    return record


def _fresh(record: dict[str, Any], model: str) -> bool:
    try:
        return record.get("model_created") == _model_created(model)
    except ArtifactError:
        return False


def load_record(model: str, suite_hash_: str | None = None) -> dict[str, Any] | None:
    """The record of `model` for the suite with `suite_hash_` (None: its newest record of any suite); records
    of an earlier model of the same name are ignored."""
    folder = _record_dir(model)
    if suite_hash_ is not None:
        paths = [record_path(model, suite_hash_)]
    else:
        paths = sorted(folder.glob("*.json"), key=lambda p: p.stat().st_mtime, reverse=True) if folder.exists() \
            else []
    for path in paths:
        try:
            record = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            continue
        if _fresh(record, model):
            return record
    return None

