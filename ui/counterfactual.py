"""What-if on pages: explanation trust next to an attribution, "why A and not B", edit-and-compare, the minimal
flip and substitutions (core.explain.trust / counterfactual; every number computed there, cached here).

    ui.show_trust(name, text, class_index, method, settings)     # under any attribution
    ui.whatif_panels(name, text, proba)                          # Predict: contrast, edit and compare, flip
"""
from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import streamlit as st

from core import artifacts
from core import plots_explain as xplots
from core.explain import counterfactual as cf
from core.explain import render
from core.explain.trust import Trust, deletion_check, explanation_trust, rerun_settings
from core.safety import clean_text, md_escape

from .cache import load_model, load_predictions, predict_proba
from .chrome import guard
from .explain import explain_controls, explain_text, explainers, needs_compute, show_attribution

#: Texts longer than this (characters) get the contrast's bar chart only, no coloured copy of the text.
LONG_TEXT_CHARS = 1500
#: Texts longer than this (characters) wait for a switch before trust and the what-if panels run: each runs the
#: model on several edited copies of the whole text (seconds on a 100,000-character text even for TF-IDF).
AUTO_CHARS = 5_000


def _key(settings: dict[str, Any] | None) -> tuple:
    return tuple(sorted((settings or {}).items()))


@st.cache_data(max_entries=512, show_spinner=False)
def _trust(name: str, stamp: str, text: str, class_index: int, method: str, settings: tuple,
           contrast: int | None) -> Trust:
    attr = explain_text(name, text, class_index, method, dict(settings), contrast)
    alt, note = rerun_settings(method, dict(settings))
    rerun = None if alt is None else (lambda: (explain_text(name, text, class_index, method, alt, contrast), note))
    return explanation_trust(lambda t: predict_proba(name, t), text, attr, contrast=contrast, rerun=rerun,
                             deterministic_note=note)


def trust_of(name: str, text: str, class_index: int, method: str, settings: dict[str, Any] | None = None,
             contrast: int | None = None) -> Trust:
    """core.explain.trust for model `name`'s attribution of `text` (cached per model version, text, settings)."""
    return _trust(name, artifacts.stamp(name), clean_text(text)[0], int(class_index), method, _key(settings),
                  None if contrast is None else int(contrast))


def show_trust(name: str, text: str, class_index: int, method: str, settings: dict[str, Any] | None = None,
               contrast: int | None = None) -> Trust | None:
    """The trust numbers of an attribution on one line, with what they mean (next to every attribution); a text
    longer than AUTO_CHARS waits for a switch."""
    if len(text) > AUTO_CHARS and not st.toggle(
            "Check this explanation (trust)", key=f"trust-run-{name}-{class_index}-{contrast}-{method}",
            help="Stability and the deletion check: several model calls on the whole text."):
        return None
    with guard("Could not check the explanation"):
        with st.spinner("Checking the explanation…"):
            t = trust_of(name, text, class_index, method, settings, contrast)
        # numbers and registry parameter names only (no user text): shown as written
        st.markdown(f"**Explanation trust** (top-{t.k} words): {t.summary()}")
        st.caption(t.meaning())
        return t
    return None


@st.cache_data(max_entries=2048, show_spinner=False)
def _deletion(name: str, stamp: str, text: str, class_index: int, method: str, settings: tuple) -> dict[str, float]:
    words = explain_text(name, text, class_index, method, dict(settings)).to_words(text)
    return deletion_check(lambda t: predict_proba(name, t), text, words.values, class_index)


def deletion_columns(name: str, texts: list[str], class_indices: list[int], method: str,
                     settings: dict[str, Any] | None = None) -> pd.DataFrame:
    """Per text: the deletion check of its (cached) attribution (core.explain.trust.deletion_check, top-5 words
    against 5 random words) -> columns comprehensiveness, random comprehensiveness, sufficiency, random
    sufficiency. Stability is left to the single-text views (it reruns the explainer)."""
    stamp = artifacts.stamp(name)
    rows = [_deletion(name, stamp, clean_text(t)[0], int(c), method, _key(settings)) for t, c in zip(texts, class_indices)]
    return pd.DataFrame({"comprehensiveness": [r["comprehensiveness"] for r in rows],
                         "random comprehensiveness": [r["random_comprehensiveness"] for r in rows],
                         "sufficiency": [r["sufficiency"] for r in rows],
                         "random sufficiency": [r["random_sufficiency"] for r in rows]})


def _labels(name: str) -> tuple[list[str], bool, Any]:
    model = load_model(name)
    return list(model.labels), bool(model.multilabel), getattr(model, "threshold", 0.5)


def _default_method(name: str) -> str:
    return explainers(name)[0].name


def contrast_panel(name: str, text: str, proba: np.ndarray) -> None:
    """"Why A and not B": the attribution of the difference between two classes, with its trust."""
    labels, _, _ = _labels(name)
    if len(labels) < 2:
        return
    st.subheader("Why A and not B")
    order = [int(j) for j in np.argsort(-proba)]
    c1, c2 = st.columns(2)
    a = c1.selectbox("A (explained class)", labels, index=order[0], key=f"predict-why-a-{name}")
    b = c2.selectbox("B (the alternative)", labels, index=order[1], key=f"predict-why-b-{name}")
    if a == b:
        st.info("Choose two different classes.", icon=":material/info:")
        return
    explainer, settings = explain_controls(name, "predict-why", f"-{name}", horizontal=True)
    if needs_compute(explainer) and not st.toggle(f"Compute “why {a} and not {b}”", key=f"predict-why-run-{name}"):
        st.caption("Switch on to compute (cached per text).")
        return
    ia, ib = labels.index(a), labels.index(b)
    attr = explain_text(name, text, ia, explainer.name, settings, contrast=ib)
    st.caption(f"{explainer.title} of p(“{md_escape(a)}”) − p(“{md_escape(b)}”): blue words speak for "
               f"“{md_escape(a)}” rather than “{md_escape(b)}”, red words for “{md_escape(b)}”.")
    short = len(text) <= LONG_TEXT_CHARS  # a long text is coloured once on Predict, not again here
    show_attribution(attr, f"{a} rather than {b}", key=f"predict-why-chart-{name}", text=text if short else None,
                     chips=short)
    show_trust(name, text, ia, explainer.name, settings, contrast=ib)


@st.cache_data(max_entries=128, show_spinner=False)
def _compare(name: str, stamp: str, text_a: str, text_b: str, method: str | None) -> cf.Comparison:
    labels, _, _ = _labels(name)
    attribution = None if method is None else (lambda t, c: explain_text(name, t, c, method))
    return cf.compare(lambda t: predict_proba(name, t), text_a, text_b, labels, attribution)


def edit_compare_panel(name: str, text: str) -> None:
    """A second text area prefilled with the text; the change in every class probability, the word diff and the
    change in the attributions towards the original's top class."""
    st.subheader("Edit and compare")
    key, source = f"predict-edit-{name}", f"_predict-edit-source-{name}"
    if st.session_state.get(source) != text:  # a new original text: prefill the edit box with it again
        st.session_state[source] = text
        st.session_state[key] = text
    edited = clean_text(st.text_area("Edited text", key=key, height=120,
                                     help="Change words here; the original stays in the box above."))[0]
    if not edited.strip():
        st.info("The edited text is empty.", icon=":material/edit_note:")
        return
    default = explainers(name)[0]
    with_attr = not needs_compute(default) or st.toggle(f"Compare the attributions too ({default.title})",
                                                        key=f"predict-edit-attr-{name}")
    cmp = _compare(name, artifacts.stamp(name), clean_text(text)[0], edited, default.name if with_attr else None)
    if edited == clean_text(text)[0]:
        st.caption("Edit the text above to see what changes.")
    st.markdown(render.diff_html(cmp.diff), unsafe_allow_html=True)
    st.plotly_chart(xplots.probability_delta_bar(cmp.labels, cmp.delta), key=f"predict-edit-delta-{name}")
    st.dataframe(cmp.table(), hide_index=True, key=f"predict-edit-table-{name}")
    if with_attr and not cmp.words.empty:
        st.caption(f"Attribution towards “{md_escape(cmp.labels[cmp.class_index])}” per word (summed over its "
                   "occurrences), original and edited, largest change first.")
        st.dataframe(cmp.words, hide_index=True)


@st.cache_data(max_entries=128, show_spinner=False)
def _flip(name: str, stamp: str, text: str, class_index: int, method: str, max_edits: int) -> cf.Flip:
    _, multilabel, threshold = _labels(name)
    values = explain_text(name, text, class_index, method).to_words(text).values
    return cf.minimal_flip(lambda t: predict_proba(name, t), text, values, class_index, multilabel=multilabel,
                           threshold=threshold, max_edits=max_edits)


@st.cache_data(max_entries=128, show_spinner=False)
def _substitutions(name: str, stamp: str, text: str, a: int, b: int, method: str):
    preds = load_predictions(name)
    candidates = cf.substitution_candidates(preds.texts, preds.y_true.astype(int), preds.y_pred, a, b)
    values = explain_text(name, text, a, method).to_words(text).values
    return cf.suggest_substitutions(lambda t: predict_proba(name, t), text, values, candidates, a, b)


def flip_panel(name: str, text: str, proba: np.ndarray) -> None:
    """"Find a minimal flip" (greedy removal guided by the default explainer) and substitutions from the
    confusable words for the predicted class against the runner-up (single-label models)."""
    labels, multilabel, _ = _labels(name)
    st.subheader("Minimal flip")
    c1, c2 = st.columns(2)
    top = int(np.argmax(proba))
    label = c1.selectbox("Class whose decision should flip", labels, index=top, key=f"predict-flip-class-{name}",
                         disabled=not multilabel, help="Multi-label: any label; single-label: the predicted class.")
    max_edits = c2.slider("Most words removed", 1, 20, cf.DEFAULT_MAX_EDITS, key=f"predict-flip-edits-{name}")
    k = labels.index(label) if multilabel else top
    method = _default_method(name)
    state = f"_predict-flip-{name}"
    if st.button("Find a minimal flip", key=f"predict-flip-run-{name}"):
        st.session_state[state] = (clean_text(text)[0], k, max_edits)
    if st.session_state.get(state) != (clean_text(text)[0], k, max_edits):
        st.caption("Removes the words the attribution ranks highest, one at a time, until the decision changes.")
        return
    with st.spinner("Searching for a minimal flip…"):
        flip = _flip(name, artifacts.stamp(name), clean_text(text)[0], k, method, max_edits)
    verdict = (f"Flipped after removing {len(flip.removed)} word(s)" if flip.flipped
               else f"No flip within {max_edits} removal(s)")
    now = ", ".join(labels[j] for j in flip.prediction) or "no label"
    st.markdown(f"**{verdict}**: {md_escape(', '.join(flip.removed) or '–')} → now predicted **{md_escape(now)}** "
                f"({flip.evaluations} model calls).")
    st.markdown(render.diff_html(cf.word_diff(clean_text(text)[0], flip.text)), unsafe_allow_html=True)
    st.plotly_chart(xplots.probability_path(flip.path, flip.removed, labels[k]), key=f"predict-flip-path-{name}")
    if multilabel:
        st.caption("Substitutions need a runner-up class: single-label models only.")
        return
    runner = int(np.argsort(-proba)[1])
    st.markdown(f"**Suggested substitutions** towards the runner-up “{md_escape(labels[runner])}” (words over-"
                "represented where the model confuses the two, core.explain.confusable):")
    with guard("Could not suggest substitutions"):
        subs = _substitutions(name, artifacts.stamp(name), clean_text(text)[0], top, runner, method)
        if subs.empty:
            st.info("No substitution to suggest.", icon=":material/info:")
        else:
            st.dataframe(subs.drop(columns="text").head(15), hide_index=True, key=f"predict-subs-{name}")


def whatif_panels(name: str, text: str, proba: np.ndarray) -> None:
    """Predict's what-if section: why A and not B, edit and compare, minimal flip (a text longer than AUTO_CHARS
    waits for a switch)."""
    if len(text) > AUTO_CHARS and not st.toggle(
            "What if: why A and not B, edit and compare, minimal flip", key=f"predict-whatif-run-{name}",
            help=f"The text has {len(text):,} characters: each of these panels runs the model on it several times."):
        return
    with guard("Could not explain the contrast"):
        contrast_panel(name, text, proba)
    with guard("Could not compare the texts"):
        edit_compare_panel(name, text)
    with guard("Could not search for a flip"):
        flip_panel(name, text, proba)
