"""Predict: type a text, see the class probabilities and (when the model can say) which words drove them."""
import numpy as np
import streamlit as st

import ui

MAX_CHARS = ui.MAX_TEXT_CHARS  # what a model reads; the box takes more so the cut can be reported

ui.page_header(
    "Predict",
    "Type or paste a text to see the probability the model gives each class. Multi-label models score every "
    "label independently; labels above the dashed threshold are predicted.",
)

name = ui.pick_model(key="predict-model")
if name is None:
    st.stop()
info = ui.artifact_info(name)
labels: list[str] = list(info.manifest.get("labels", [])) if info else []
multilabel = bool(info.manifest.get("multilabel")) if info else False

text = st.text_area("Text", height=150, max_chars=10 * MAX_CHARS, key="predict-text",
                    placeholder="e.g. The central bank raised interest rates by half a point on Tuesday.",
                    help=f"Up to {MAX_CHARS:,} characters; longer pasted texts are cut to that length.")
text, notice = ui.clean_text(text, MAX_CHARS)  # cut to MAX_CHARS, invalid characters removed
if notice:
    st.caption(notice)
if not text.strip():
    st.info("Enter a text above to see the model's prediction.", icon=":material/edit_note:")
    st.stop()


def probabilities_panel(proba: np.ndarray) -> None:
    """Probability of each class for the text (top classes first)."""
    threshold = None
    if multilabel:
        threshold = np.asarray(getattr(ui.load_model(name), "threshold", 0.5), dtype=float)
        chosen = [labels[j] for j in np.flatnonzero(proba >= threshold)]
        st.markdown("**Predicted labels:** " + (", ".join(f"`{c}`" for c in chosen) if chosen
                                                  else "none above the threshold"))
        threshold = float(threshold) if threshold.ndim == 0 else threshold.tolist()
    else:
        top = int(proba.argmax())
        st.markdown(f"**Prediction:** `{labels[top]}` with probability {proba[top]:.1%}")
    st.plotly_chart(ui.plots.probability_bars(proba, labels, threshold=threshold), key="predict-proba-chart")


def contributions_panel(proba: np.ndarray) -> None:
    """Words that pushed each chosen class: coefficient × tf-idf weight (models with "contributions")."""
    if not ui.panel(name, "contributions", "Why: words that pushed each class",
                    "Each word's contribution to a class score (weight learned for the word × its tf-idf value). "
                    "Blue words pushed the text towards the class, red words away from it."):
        return
    order = [int(j) for j in np.argsort(-proba)]
    default = [labels[j] for j in order[: 2 if not multilabel else 3]]
    chosen = st.multiselect("Classes to explain", labels, default=default, key=f"predict-contrib-classes-{name}")
    if not chosen:
        return
    cols = st.columns(min(len(chosen), 2))
    for i, label in enumerate(chosen):
        with ui.locked_model(name) as model:
            pairs = list(model.contributions(text, labels.index(label)))  # [(token, value)] in text order
        if not pairs:
            cols[i % len(cols)].info(f"No word of this text is in the model's vocabulary for “{label}”.")
            continue
        tokens, weights = [str(t) for t, _ in pairs], [float(v) for _, v in pairs]
        with cols[i % len(cols)]:
            st.plotly_chart(ui.plots.contribution_bars(tokens, weights, label), key=f"predict-contrib-{label}")
            st.markdown(f"**{label}** in the text:")
            ui.show_tokens(tokens, weights)


def attention_panel() -> None:
    """Attention heatmap over the tokens (models with "attention"); drawn by the explainability pages' helper."""
    # Intentionally empty until the attention explainer lands: no placeholder chart is shown.


def shap_panel() -> None:
    """SHAP values of the words (any model; computed on demand); added with the explainability work."""
    # Intentionally empty until the SHAP explainer lands.


proba = None
with ui.guard("Prediction failed"):
    proba = ui.predict_proba(name, [text])[0]
if proba is not None:
    with st.container(border=True):
        probabilities_panel(proba)
    with st.container():
        with ui.guard("Could not compute word contributions"):
            contributions_panel(proba)
    with st.container():
        attention_panel()
    with st.container():
        shap_panel()
