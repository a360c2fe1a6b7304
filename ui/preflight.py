"""Train page helpers: the pre-flight estimate (core.preflight, run in a separate process) and the pretrained
embedding start that init_embeddings=auto picks for a dataset (core.language + core.models.embedding_init)."""
from __future__ import annotations

from typing import Any

import streamlit as st

from core import preflight


def estimate_panel(dataset: str, kind: str, settings: dict[str, Any], max_train: int | None) -> None:
    """Run the estimate (a few real optimisation steps in a subprocess) and show steps, time and peak memory; a
    warning when the run needs more than the free memory."""
    from .chrome import guard

    with guard("Could not estimate this run"), st.spinner("Estimating: a few real training steps…"):
        est = preflight.estimate_in_subprocess(dataset, kind, settings, max_train)
        c = st.columns(4)
        c[0].metric("Optimisation steps", f"{est['steps']:,}")
        c[1].metric("Time per step", f"{est['seconds_per_step']:.3f} s")
        minutes = est["total_seconds"] / 60
        c[2].metric("Training time", f"{minutes:.1f} min" if minutes >= 2 else f"{est['total_seconds']:.0f} s",
                    help="steps x time per step + validation (an upper bound when early stopping fires)")
        c[3].metric("Peak memory", f"{est['peak_memory_mb']:,.0f} MB",
                    help=f"free now: {est['free_memory_mb']:,.0f} MB")
        st.caption(f"Measured in a {est['warmup_steps']}-step warm-up ({est['warmup_seconds']:.0f} s) on real "
                   f"batches; largest batch {est['largest_batch_tokens']:,} tokens.")
        coverage = est.get("coverage")  # core.coverage: a pretrained vocabulary's fit to these texts
        if coverage and coverage["poor"]:
            st.warning(coverage["message"][:1].upper() + coverage["message"][1:], icon=":material/translate:")
        elif coverage:
            st.caption(coverage["message"][:1].upper() + coverage["message"][1:])
        if est["needed_mb"] > est["free_memory_mb"]:
            st.error(f"This run needs about {est['needed_mb']:,.0f} MB but only {est['free_memory_mb']:,.0f} MB "
                     "are free: training will be refused. Lower batch_size or max_length, or train on fewer rows.",
                     icon=":material/memory:")


@st.cache_data(max_entries=16, show_spinner=False)
def embedding_start(dataset: str, choice: str) -> str:
    """"auto → English, MiniLM word pieces" (what `choice` of init_embeddings means for this dataset)."""
    from core.models.embedding_init import auto_source, describe

    from .datasets import load_dataset

    if choice != "auto":
        return describe(choice, choice, None)
    source, det = auto_source(load_dataset(dataset).train.texts)
    return describe(choice, source, det["language"])
