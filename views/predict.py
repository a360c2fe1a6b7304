"""Predict: type a text, see the class probabilities and (when the model can say) which words drove them."""
from datetime import datetime

import numpy as np
import streamlit as st

import ui
from core.explain.agreement import rank_agreement
from core.explain.attention import drop_special

MAX_CHARS = ui.MAX_TEXT_CHARS  # what a model reads; the box takes more so the cut can be reported
#: a text longer than this (characters) is shown once, in a scroll box, coloured by the explanation chosen there
LONG_TEXT_CHARS = 1500
#: height (px) of that scroll box and of a window's excerpt
TEXT_BOX_PX = 360
EXCERPT_PX = 180

ui.page_header(
    "Predict",
    "Type or paste a text to see the probability the model gives each class. Multi-label models score every "
    "label independently; labels above the dashed threshold are predicted.",
)

name = ui.pick_model(key="predict-model")
if name is None:
    st.stop()
info = ui.artifact_info(name)
compare = st.toggle("Side by side with a second model", key="predict-compare",
                    help="Run a second model on the same text (e.g. a teacher and its distilled student).")
name_b = ui.pick_other_model(name, key="predict-model-b", dataset=info.dataset if info else None) if compare else None


def labels_of(m: str) -> tuple[list[str], bool]:
    """(class names, multilabel) of model `m` from its manifest."""
    i = ui.artifact_info(m)
    return (list(i.manifest.get("labels", [])), bool(i.manifest.get("multilabel"))) if i else ([], False)


text = st.text_area("Text", height=150, max_chars=10 * MAX_CHARS, key="predict-text",
                    placeholder="e.g. The central bank raised interest rates by half a point on Tuesday.",
                    help=f"Up to {MAX_CHARS:,} characters; longer pasted texts are cut to that length.")
text, notice = ui.clean_text(text, MAX_CHARS)  # cut to MAX_CHARS, invalid characters removed
if notice:
    st.caption(notice)
if not text.strip():
    st.info("Enter a text above to see the model's prediction.", icon=":material/edit_note:")
    st.stop()
long_text = len(text) > LONG_TEXT_CHARS


class Colourings(dict):
    """Word colourings of one model's panels {what: (tokens, values)}. A short text is coloured in each panel;
    a long one is shown once (`text_panel`) and coloured by the one colouring chosen there."""

    def show(self, what: str, tokens, values) -> None:
        self[what] = (list(tokens), values)
        if not long_text:
            ui.show_text(text, tokens, values)
        else:
            st.caption(f"Coloured on the text above: choose “{ui.md_escape(what)}”.")


def probabilities_panel(name: str, proba: np.ndarray) -> None:
    """Probability of each class for the text (top classes first)."""
    labels, multilabel = labels_of(name)
    threshold = None
    if multilabel:
        edited = ui.threshold_editor(name, f"predict-thresholds-{name}")  # per-label, editable for this view
        threshold = np.asarray(getattr(ui.load_model(name), "threshold", 0.5) if edited is None else edited,
                               dtype=float)
        chosen = [labels[j] for j in np.flatnonzero(proba >= threshold)]
        # labels come from the user's dataset: escaped, so "<b>x</b>*" shows as typed
        st.markdown("**Predicted labels:** " + (", ".join(f"**{ui.md_escape(c)}**" for c in chosen) if chosen
                                                  else "none above the threshold"))
        threshold = float(threshold) if threshold.ndim == 0 else threshold.tolist()
    else:
        top = int(proba.argmax())
        st.markdown(f"**Prediction:** **{ui.md_escape(labels[top])}** with probability {proba[top]:.1%}")
    st.plotly_chart(ui.plots.probability_bars(proba, labels, threshold=threshold), key=f"predict-proba-chart-{name}")


def contributions_panel(name: str, proba: np.ndarray, colour: Colourings) -> None:
    """Words that pushed each chosen class: coefficient × tf-idf weight (models with "contributions")."""
    labels, multilabel = labels_of(name)
    if not ui.panel(name, "contributions", "Why: words that pushed each class",
                    "Each word's contribution to a class score (weight learned for the word × its tf-idf value). "
                    + ui.COLOUR_LEGEND):
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
            cols[i % len(cols)].info(f"No word of this text is in the model's vocabulary for "
                                     f"“{ui.md_escape(label)}”.")
            continue
        tokens, weights = [str(t) for t, _ in pairs], [float(v) for _, v in pairs]
        with cols[i % len(cols)]:
            st.plotly_chart(ui.plots.contribution_bars(tokens, weights, label), key=f"predict-contrib-{name}-{label}")
            st.markdown(f"**{ui.md_escape(label)}** in the text:")
            colour.show(f"contributions towards {label}", tokens, weights)


def attention_panel(name: str, colour: Colourings) -> dict[str, tuple[list[str], np.ndarray]]:
    """Attention (models with "attention"): a layer x head heatmap with head average and rollout, and the first
    row ([CLS]) as coloured words; RNN attention pooling shows its pooling weights. Word pieces are merged into
    words. Returns per-word attention {view: (words, scores)} for the agreement score and the case file.
    A variant without attention weights (int8 on ONNX Runtime) shows its fp32 parent's, and says so."""
    shown, name = name, ui.capable_model(name, "attention")
    if not ui.panel(name, "attention", "Attention",
                    "Where the model looks. Rows of the heatmap are the attending words, columns the words they "
                    "attend to; each row sums to 1. Attention shows what is mixed, not what decides: compare it "
                    "with SHAP or integrated gradients below."):
        return {}
    if name != shown:
        st.info(f"{shown} has no attention weights (it runs on ONNX Runtime or in int8): this is the attention of "
                f"{name}, the fp32 model it was built from.", icon=":material/info:")
    att = ui.attention_of(name, text)
    if att.kind == "pooling":
        tokens, scores = ui.attention_summary(name, text)["pooling weights"]
        st.caption("This model pools its per-word states with learned attention: each word's weight in the sentence "
                   "vector (the weights sum to 1).")
        colour.show("pooling weights", tokens, scores)
        st.plotly_chart(ui.attribution_bar(tokens, scores, "the sentence vector", title="Largest pooling weights"),
                        key=f"predict-att-pool-{name}")
        return ui.attention_summary(name, text)
    c1, c2, c3 = st.columns(3)
    layer = c1.selectbox("Layer", [None, *range(att.n_layers)], key=f"predict-att-layer-{name}",
                         format_func=lambda i: "all layers" if i is None else f"layer {i + 1} of {att.n_layers}",
                         help="Attention: one layer, or the mean of all layers. Rollout: up to this layer.")
    head = c2.selectbox("Head", [None, *range(att.n_heads)], key=f"predict-att-head-{name}",
                        format_func=lambda h: "average of heads" if h is None else f"head {h + 1} of {att.n_heads}")
    view = c3.radio("Show", ["attention", "rollout"], horizontal=True, key=f"predict-att-view-{name}",
                    help="Rollout (Abnar & Zuidema 2020) multiplies the layers' attention, with the residual "
                         "connection, so a row says how much a word's final representation draws on each input word.")
    where = ("all layers" if layer is None else f"layer {layer + 1}") if view == "attention" else \
        ("rollout over all layers" if layer is None else f"rollout up to layer {layer + 1}")
    who = "head average" if head is None else f"head {head + 1}"
    fig, tokens, first_row = ui.attention_view(name, text, layer, head, view == "rollout",
                                               title=f"Attention — {where}, {who}")
    st.plotly_chart(fig, key=f"predict-att-heatmap-{name}")
    words, row = drop_special(tokens, first_row)
    first = tokens[0].replace("`", "'")  # shown as inline code: a backtick would end it
    st.markdown(f"**What `{first}` attends to** ({where}, {who}; special tokens hidden):")
    colour.show(f"what {first} attends to ({where}, {who})", words, row)
    return ui.attention_summary(name, text)


def explanation_panel(name: str, proba: np.ndarray, colour: Colourings):
    """Why the model gave one class its score: SHAP (any model), exact linear contributions (TF-IDF) or
    integrated gradients (torch models), as coloured words and a bar chart. Returns the TokenAttribution or None."""
    labels, _ = labels_of(name)
    st.subheader("Explain one class")
    c1, c2, c3 = st.columns(3)
    label = c1.selectbox("Class", labels, index=int(np.argmax(proba)), key=f"predict-x-class-{name}")
    explainer, settings = ui.explain_controls(name, "predict-x", f"-{name}", columns=(c2, c3))
    if ui.needs_compute(explainer) and not st.toggle(f"Compute {explainer.title}", key=f"predict-x-run-{name}",
                                                     help="Takes seconds on a neural model; results are cached "
                                                          "per text."):
        st.caption("Switch on to compute (the result is cached, so coming back to this text is instant).")
        return None
    with st.spinner(f"Computing {explainer.title}…"):
        attr = ui.explain_text(name, text, labels.index(label), explainer.name, settings)
    extra = attr.extra or {}
    facts = [f"{explainer.title} towards “{ui.md_escape(label)}”"]
    if np.isfinite(attr.base_value):
        facts.append(f"base value {attr.base_value:.3f} (the output with every word removed)")
    if "seconds" in extra:
        facts.append(f"{float(extra['seconds']):.2f} s" + (" (cached)" if extra.get("cached") else ""))
    if "delta" in extra:
        facts.append(f"completeness gap {float(extra['delta']):+.3g}")
    st.caption("; ".join(facts) + ". " + ui.COLOUR_LEGEND)
    if len(attr.tokens) == 0:
        st.info("No word of this text carries any weight for this class.", icon=":material/info:")
        return attr
    what = f"{explainer.title} towards {label}"
    colour[what] = (list(attr.tokens), attr.values)
    if long_text:
        st.caption(f"Coloured on the text above: choose “{ui.md_escape(what)}”.")
    ui.show_attribution(attr, label, key=f"predict-x-chart-{name}", text=text, chips=not long_text)
    ui.show_trust(name, text, labels.index(label), explainer.name, settings)
    return attr


def agreement_panel(attention: dict, attr) -> dict[str, float]:
    """Spearman rank agreement between each attention view and the attribution, over the words of the text."""
    if not attention or attr is None or len(attr.tokens) == 0:
        return {}
    rhos = {what: rank_agreement(scores, attr, text) for what, scores in attention.items()}
    st.markdown("**Does attention agree with the attribution?**")
    cols = st.columns(len(rhos))
    for col, (what, rho) in zip(cols, rhos.items()):
        col.metric(f"{what} vs {attr.method}", ui.fmt(rho, 2),
                   help="Spearman rank correlation of word importances (magnitudes): 1 = same order, "
                        "0 = unrelated; – when undefined (fewer than 3 words).")
    return rhos


def chunks_panel(name: str, proba: np.ndarray) -> None:
    """A text longer than the model reads at once ("chunks" models): its windows' probabilities, and the window
    that decided (highest probability of the predicted class) with its excerpt."""
    info_m = ui.artifact_info(name)
    if info_m is None or "chunks" not in info_m.capabilities:
        return
    view = ui.chunk_view(name, text)
    spans, cp = view["spans"], np.asarray(view["proba"])
    if len(spans) < 2:
        return  # the text fits one window: nothing was cut or combined
    labels, _ = labels_of(name)
    top = int(np.argmax(proba))
    decided = int(np.argmax(cp[:, top]))
    how = {"mean": "the window probabilities are averaged", "max": "each class takes its highest window "
           "probability"}.get(view["chunking"])
    st.subheader("Long text: which part decided")
    if how:
        st.caption(f"The model reads at most {view['max_length']} word pieces at a time, so this text was read as "
                   f"{len(spans)} overlapping windows ({view['stride']} pieces of overlap) and {how} "
                   "(chunked inference, recorded with the model).")
    else:
        st.caption(f"Chunking is off for this model: it read only the first {view['max_length']} word pieces "
                   f"(window 1). The chart shows what the other {len(spans) - 1} windows would say.")
    classes = [int(j) for j in np.argsort(-proba)[:3]]
    st.plotly_chart(ui.plots.chunk_probabilities(cp, labels, classes, highlight=decided),
                    key=f"predict-chunks-{name}")
    a, b = spans[decided]
    st.markdown(f"**Window {decided + 1} of {len(spans)}** (characters {a:,}–{b:,}) gives "
                f"“{ui.md_escape(labels[top])}” its highest probability, {cp[decided, top]:.1%}:")
    ui.show_text(text[a:b], max_height=EXCERPT_PX)


def text_panel(name: str, colour: Colourings) -> None:
    """A long text, once: a scroll box with its paragraphs, coloured by one of the panels' colourings."""
    st.subheader("The text")
    options = ["no colours", *colour]
    choice = st.selectbox("Colour the words by", options, index=len(options) - 1, key=f"predict-text-colour-{name}",
                          help="Each explanation below colours the words; a long text is shown once, here.")
    tokens, values = colour.get(choice, (None, None))
    paragraphs = sum(1 for p in text.split("\n\n") if p.strip())
    st.caption(f"{len(text):,} characters in {paragraphs:,} paragraph(s); scroll inside the box. "
               + (ui.COLOUR_LEGEND if tokens is not None else ""))
    ui.show_text(text, tokens, values, max_height=TEXT_BOX_PX)


def model_view(name: str) -> dict | None:
    """Every panel for one model; returns what the case file needs (None if prediction failed)."""
    proba = None
    with ui.guard("Prediction failed"):
        proba = ui.predict_one(name, text)
    if proba is None:
        return None
    out = {"proba": proba, "labels": labels_of(name)[0], "attention": {}, "attr": None, "agreement": {}}
    colour = Colourings()
    with st.container(border=True):
        probabilities_panel(name, proba)
    with st.container():
        with ui.guard("Could not score the windows of the text"):
            chunks_panel(name, proba)
    text_box = st.container()  # filled last (a long text only), once every panel has offered its colouring
    with st.container():
        with ui.guard("Could not compute word contributions"):
            contributions_panel(name, proba, colour)
    with st.container():
        with ui.guard("Could not compute attention"):
            out["attention"] = attention_panel(name, colour)
    with st.container():
        with ui.guard("Could not explain the prediction"):
            out["attr"] = explanation_panel(name, proba, colour)
        with ui.guard("Could not compare attention with the attribution"):
            out["agreement"] = agreement_panel(out["attention"], out["attr"])
    with st.container(border=True):
        ui.whatif_panels(name, text, proba)  # why A and not B, edit and compare, minimal flip
    if long_text:
        with text_box:
            text_panel(name, colour)
    return out


def case_file(results: dict[str, dict]) -> str:
    """Self-contained HTML of the text with every model's prediction and explanations (all text escaped)."""
    sections: list = [("Text", text)]
    for m, r in results.items():
        labels = r["labels"]  # from the script run: this runs in the download's thread, outside Streamlit
        sections.append((f"{m}: class probabilities", ui.plots.probability_bars(r["proba"], labels)))
        attr = r["attr"]
        if attr is not None:
            label = labels[attr.class_index]
            sections.append((f"{m}: {attr.method} towards “{label}”",
                             [ui.render.attribution_html(attr, label),  # same colours as the page
                              ui.attribution_bar(attr.tokens, attr.values, label)]))
        for what, (tokens, scores) in r["attention"].items():
            sections.append((f"{m}: {what}", ui.render.tokens_html(tokens, scores, fmt="{:.4f}")))
        if r["agreement"]:
            sections.append((f"{m}: rank agreement with the attribution", {k: ui.fmt(v, 3) for k, v in
                                                                         r["agreement"].items()}))
    meta = {"models": ", ".join(results), "dataset": info.dataset if info else "?",
            "created": datetime.now().isoformat(timespec="seconds")}
    return ui.render.case_file_html(f"Case file: {' '.join(text.split())[:60]}", sections, meta=meta)


models = [name] + ([name_b] if name_b else [])
results: dict[str, dict] = {}
for column, m in zip(st.columns(len(models)) if len(models) > 1 else [st.container()], models):
    with column:
        if len(models) > 1:
            st.header(m, divider="gray")  # artifact names are [A-Za-z0-9._-] (artifacts.check_name)
        r = model_view(m)
        if r is not None:
            results[m] = r
if results:
    snapshot = dict(results)  # the download runs after this script run; keep this run's results
    ui.case_file_button(lambda: case_file(snapshot), f"case-file-{name}.html", key="predict-case-file")
