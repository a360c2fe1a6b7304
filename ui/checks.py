"""Behavioural tests from the browser: runs of a suite on models (core.checks) with st.progress, through the shared
cached model (its lock held per batch), so a page run and a CLI run write the same record."""
from __future__ import annotations

from typing import Any

import streamlit as st

from core import checks

from .cache import artifact_info, locked_model, predict_proba


def run_checks(models: list[str], suite_text: str) -> list[dict[str, Any]]:
    """Run `suite_text` on each of `models` (one st.progress bar each, counting the distinct texts scored) and
    return their records (also written to disk: pages read them back with core.checks.load_record)."""
    records = []
    for name in models:
        bar = st.progress(0.0, text=f"{name}: scoring…")

        def progress(done: int, total: int, bar=bar, name=name) -> None:
            bar.progress(done / total if total else 1.0, text=f"{name}: {done:,} / {total:,} texts scored")

        info = artifact_info(name)
        with locked_model(name) as model:
            threshold = float(model.threshold)
        target = checks.Target(lambda texts, name=name: predict_proba(name, texts),
                               list(info.manifest.get("labels") or []), bool(info.manifest.get("multilabel")),
                               threshold)
        records.append(checks.check_model(name, suite_text, progress, target=target, source="page"))
        bar.empty()
    return records
