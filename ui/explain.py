"""Explanations on pages: dispatch through core.explain.registry (cached), and the shared explanation controls.

Adding an explainer to the registry makes it appear in `explain_controls` on Predict, Errors and Explain with its
budget slider (from its budget `Param`): no page changes.
"""
from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import pandas as pd
import streamlit as st

from core import artifacts, plots
from core import plots_explain as xplots
from core.explain import registry, render
from core.explain.attribution import TokenAttribution
from core.explain.registry import Explainer
from core.params import Param
from core.safety import clean_text, md_escape

from .cache import artifact_info, locked_model, model_id, predict_proba
from .chrome import show_tokens

#: What the token / bar colours mean (the same sentence heads every case file).
COLOUR_LEGEND = render.LEGEND


@st.cache_resource(show_spinner="Preparing the SHAP explainer (one-off per server, up to half a minute)…")
def shap_warmup() -> float:
    """Compile shap's numba kernels once per process (core.explain.shap_text.warmup); returns its seconds."""
    from core.explain import shap_text

    return shap_text.warmup()


#: One-off preparation per explainer and process, run before its first explanation (a spinner shows meanwhile).
WARMUPS: dict[str, Callable[[], Any]] = {"shap": shap_warmup}


def explainers(name: str) -> list[Explainer]:
    """Explainers model `name` supports (from its manifest's capabilities), its default first."""
    from core.explain.fallback import available_for

    info = artifact_info(name)
    return available_for(name) if info else registry.available(frozenset())


def capable_model(name: str, capability: str) -> str:
    """`name` when it declares `capability`, else its nearest ancestor that does (an int8 ONNX variant's fp32
    parent for attention), else `name` (the page then shows nothing for it)."""
    from core.explain.fallback import capable_ancestor

    info = artifact_info(name)
    if info is None or capability in info.capabilities:
        return name
    return capable_ancestor(name, frozenset({capability})) or name


def needs_compute(e: Explainer) -> bool:
    """True for explainers with a cost budget (seconds per text): pages wait for a "compute" switch first."""
    return e.budget is not None


@st.cache_data(max_entries=512, show_spinner=False)
def _explain(name: str, stamp: str, text: str, class_index: int, method: str,
             settings: tuple[tuple[str, Any], ...], contrast: int | None = None) -> TokenAttribution:
    e = registry.get(method)
    if method in WARMUPS:
        WARMUPS[method]()
    if e.proba_only:
        # through predict_proba (one lock per batch of masked texts), so other sessions are not blocked for seconds
        return registry.run(method, lambda texts: predict_proba(name, texts), text, class_index,
                            model_id=model_id(name), contrast=contrast, **dict(settings))
    from core.explain.fallback import explain_target

    target, notice = explain_target(method, name)  # e.g. integrated gradients of an int8 model: its fp32 parent
    with locked_model(target) as model:
        attr = registry.run(method, model, text, class_index, model_id=model_id(target), contrast=contrast,
                            **dict(settings))
    if notice:
        attr = dataclasses.replace(attr, extra={**(attr.extra or {}), "notice": notice})
    return attr


def explain_text(name: str, text: str, class_index: int, method: str, settings: dict[str, Any] | None = None,
                 contrast: int | None = None) -> TokenAttribution:
    """Attribution of `text` towards class `class_index` by model `name` with explainer `method` (registry name),
    cached in memory (and, for SHAP, on disk). settings: the explainer's Params (defaults for missing ones).
    contrast: a second class; the attribution is then of the difference ("why class_index and not contrast")."""
    resolved = registry.get(method).settings(settings)
    return _explain(name, artifacts.stamp(name), clean_text(text)[0], int(class_index), method,
                    tuple(sorted(resolved.items())), None if contrast is None else int(contrast))


def _budget_slider(p: Param, key: str, column: Any) -> Any:
    """A slider for a budget Param: its bounds, default and help; steps of ~1/100 of the range, rounded."""
    lo, hi, default = int(p.min or 1), int(p.max or max(int(p.default) * 4, 1)), int(p.default)
    step = max(1, 10 ** (math.floor(math.log10(max(hi - lo, 1))) - 2))
    label = (p.help[:1].upper() + p.help[1:]) if p.help else p.name.replace("_", " ")
    return column.slider(label, lo, hi, default, step=step, key=key,
                         help=f"{p.name} = {default} by default; more = finer, slower. Results are cached per text.")


def explain_controls(name: str, key: str, suffix: str = "", columns: Sequence[Any] | None = None,
                     label: str = "Method", horizontal: bool = False) -> tuple[Explainer, dict[str, Any]]:
    """The method picker (registry.available for model `name`) and the chosen explainer's budget slider.

    Widget keys: f"{key}-method{suffix}" and f"{key}-{budget param name}{suffix}" (e.g. "errors-x-n_steps").
    columns: two containers for the picker and the slider (default: two new columns). Returns (explainer,
    settings for `explain_text`).
    """
    options = {e.name: e for e in explainers(name)}
    method_col, budget_col = columns if columns is not None else st.columns(2)
    method = method_col.radio(label, list(options), format_func=lambda n: options[n].title, horizontal=horizontal,
                              key=f"{key}-method{suffix}")
    e = options[method]
    settings: dict[str, Any] = {}
    budget = next((p for p in e.params if p.name == e.budget), None)
    if budget is not None:
        settings[budget.name] = _budget_slider(budget, f"{key}-{budget.name}{suffix}", budget_col)
    return e, settings


def attribution_bar(tokens: Sequence[str], values: Any, class_name: str, top: int = 15, title: str | None = None):
    """core.plots_explain.attribution_bar (escaped labels, repeated words kept apart) in the dashboard's colours
    (blue = towards the class, red = away, as in plots.contribution_bars and the token chips)."""
    fig = xplots.attribution_bar(list(tokens), values, top=top, class_name=class_name,
                                 title=title or f"Words that pushed “{class_name}”")
    x = np.asarray(fig.data[0].x, dtype=float)
    fig.data[0].marker.color = [plots.POSITIVE if v >= 0 else plots.NEGATIVE for v in x]
    return fig


def show_text(text: str, tokens: Sequence[str] | None = None, values: Any = None,
              max_height: int | None = None) -> None:
    """`text` once, paragraph breaks kept, its words coloured by any explainer's (tokens, values)
    (core.explain.render.text_html: every word escaped; only <br> and the chips are markup). max_height: pixels
    of a scroll box for long texts."""
    st.markdown(render.text_html(text, tokens, values, fmt="{:+.3f}", inline=True, max_height=max_height),
                unsafe_allow_html=True)


def show_attribution(attr: TokenAttribution, class_name: str, key: str, top: int = 15, text: str | None = None,
                     chips: bool = True) -> None:
    """Coloured tokens (escaped) and a bar chart of the `top` tokens, in the dashboard's colours; the explainer's
    notice first, if any (e.g. SHAP explained only the first MAX_SHAP_WORDS words of a long text).
    text: colour the words of this text (paragraphs kept, `show_text`) instead of listing the tokens;
    chips=False: the bar chart only (the page colours the text elsewhere)."""
    notice = (attr.extra or {}).get("notice")
    if notice:
        st.info(md_escape(notice), icon=":material/info:")
    if chips and text is not None:
        show_text(text, attr.tokens, attr.values)
    elif chips:
        show_tokens(attr.tokens, attr.values)
    st.plotly_chart(attribution_bar(attr.tokens, attr.values, class_name, top=top), key=key)


def mean_attribution(name: str, texts: Sequence[str], class_index: int, method: str,
                     settings: dict[str, Any] | None = None, max_texts: int = 30) -> pd.DataFrame:
    """Mean attribution per word towards `class_index` over a seeded sample of at most `max_texts` texts
    (core.explain.confusable.mean_attribution), with a progress bar; each explanation is cached."""
    from core.explain.confusable import mean_attribution as mean_attr

    n = min(len(texts), max_texts)
    bar = st.progress(0.0, text=f"Explaining {n} texts…")
    done = [0]

    def fn(t: str) -> TokenAttribution:
        out = explain_text(name, t, class_index, method, settings)
        done[0] += 1
        bar.progress(min(done[0] / max(n, 1), 1.0), text=f"Explained {done[0]} of {n} texts")
        return out

    try:
        return mean_attr(list(texts), fn, max_texts=max_texts)
    finally:
        bar.empty()
