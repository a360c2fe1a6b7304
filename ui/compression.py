"""Compression page sections: what a variant changed against its parent, and the budget picker.

Layout only: the numbers come from core.changes.compression_changes (one plain dict) and core.compress.pick.
"""
from __future__ import annotations

from typing import Any

import pandas as pd
import streamlit as st

from core import artifacts, plots
from core.changes import compression_changes
from core.changes import plots as cplots
from core.compress.pick import pick_for
from core.safety import fmt

from .chrome import guard


@st.cache_data(max_entries=8, show_spinner="Comparing the variant with its parent…")
def _changes(variant: str, parent: str, cka: bool, sample: int, stamp: str) -> dict[str, Any]:
    return compression_changes(variant, parent, sample=sample, cka=cka)


def changes(variant: str, parent: str, cka: bool, sample: int = 256) -> dict[str, Any]:
    """core.changes.compression_changes, cached per both models' stamps."""
    return _changes(variant, parent, cka, sample, artifacts.stamp(variant) + "|" + artifacts.stamp(parent))


def changes_section(variant: str, parent: str, key: str = "compression-changes") -> None:
    """Flips by class and slice, the parent × variant confusion, calibration shift and (on request) CKA."""
    cka = st.toggle("Layer similarity (CKA: runs both encoders on 256 test texts)", key=f"{key}-cka", value=False)
    with guard("Comparing the variant with its parent"):
        d = changes(variant, parent, cka)
        s, cal = d["summary"], d["calibration"]
        m = st.columns(4)
        m[0].metric("flipped", f"{s['flipped']:,}", help=f"of {s['n']:,} test predictions ({s['flip_rate']:.2%})")
        m[1].metric("fixed / broken", f"{s['fixed']} / {s['broken']}",
                    help="flips where the parent was wrong and the variant right / the other way round")
        m[2].metric("accuracy", fmt(s["accuracy_variant"]), delta=f"{s['accuracy_variant'] - s['accuracy_parent']:+.4f}")
        m[3].metric("ECE", f"{cal['variant']['ece']:.4f}", delta=f"{cal['ece_shift']:+.4f}", delta_color="inverse",
                    help=f"expected calibration error; the parent's is {cal['parent']['ece']:.4f}")
        c1, c2 = st.columns(2)
        c1.plotly_chart(cplots.flips_by_class(d["by_class"]), key=f"{key}-byclass")
        if d["confusion"]:
            c2.plotly_chart(cplots.parent_variant_confusion(d["confusion"]["labels"], d["confusion"]["matrix"]),
                            key=f"{key}-confusion")
        st.markdown("**Flips by slice**")
        st.caption(f"Slices: {d['by_slice']['source']}. Sorted by flip rate.")
        st.dataframe(pd.DataFrame(d["by_slice"]["rows"]), hide_index=True, column_config={
            "flip_rate": st.column_config.NumberColumn("flip rate", format="%.3f")})
        st.plotly_chart(plots.reliability_diagram({parent: cal["parent"]["bins"], variant: cal["variant"]["bins"]},
                                                  title="Calibration: parent and variant"), key=f"{key}-reliab")
        c = d["cka"]
        if c["available"]:
            st.plotly_chart(cplots.cka_heatmap(c["matrix"], c["matched"]), key=f"{key}-cka-map")
            st.caption(f"Linear CKA of mean-pooled hidden states over {c['sample']} test texts: 1 = the same "
                       "representation up to rotation and scale. Squares mark the layers matched (for students and "
                       "layer-pruned variants: the parent layer each kept layer came from).")
        elif cka:
            st.info(f"CKA {c['reason']}", icon=":material/info:")
        st.caption(f"`python -m core compress-diff {variant} --parent {parent}` prints the same.")


def budget_section(model: str, key: str = "compression-budget") -> None:
    """Max latency / size inputs and the family's most accurate model within them."""
    c = st.columns(3)
    max_ms = c[0].number_input("max latency (ms, 0 = no limit)", 0.0, 1e6, 0.0, key=f"{key}-ms")
    max_mb = c[1].number_input("max size (MB, 0 = no limit)", 0.0, 1e6, 0.0, key=f"{key}-mb")
    metric = c[2].radio("best by", ["accuracy", "f1_macro"], key=f"{key}-metric", horizontal=True)
    with guard("Picking a variant"):
        out = pick_for(model, max_ms or None, max_mb or None, metric)
        if out["chosen"]:
            st.success(f"Most {metric.replace('_', ' ')} within the budget: **{out['chosen']}**",
                       icon=":material/check_circle:")
        else:
            st.warning("No model of this family fits the budget.", icon=":material/warning:")
        st.dataframe(pd.DataFrame(out["rows"]), hide_index=True)
        flags = (f" --max-ms {max_ms:g}" if max_ms else "") + (f" --max-mb {max_mb:g}" if max_mb else "")
        st.caption(f"Family of {model}: {len(out['family'])} models. Latency: the newest benchmark run holding the "
                   f"model, else its latency when saved. `python -m core compress-pick {model}{flags}`.")
