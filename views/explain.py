"""Explain: explanations for a slice of the test set and the words that matter most for each class on average."""
import numpy as np
import pandas as pd
import streamlit as st

import ui
from core.explain.confusable import aggregate_attributions

MAX_TEXTS = 50  # SHAP costs seconds per text on a neural model; 50 keeps a slice within a few minutes

ui.page_header(
    "Explain",
    "Explain a slice of the test set (a class, right or wrong predictions) and average the word attributions per "
    "class: which words the model relies on, beyond one example.",
)

name, preds = ui.model_and_predictions("explain-model", "This model's test split is empty, so there is nothing to "
                                                        "explain.")
evaluation, preds, _ = ui.evaluated_on(name, preds, "explain-evaluated-on")  # own test split or a record
labels = list(preds.labels)
y_true, y_pred = preds.y_true.astype(int), preds.y_pred

st.subheader("Slice")
c1, c2, c3 = st.columns(3)
if preds.multilabel:
    label = c1.selectbox("Label", labels, key="explain-label")
    j = labels.index(label)
    has = c1.checkbox("Only texts that carry this label", value=True, key="explain-has-label")
    right = y_true[:, j] == y_pred[:, j]
    member = y_true[:, j] == 1 if has else np.ones(len(y_true), dtype=bool)
else:
    which = c1.selectbox("True class", ["all classes", *labels], key="explain-class")
    right = y_true == y_pred
    member = np.ones(len(y_true), dtype=bool) if which == "all classes" else y_true == labels.index(which)
outcome = c2.radio("Predictions", ["all", "correct", "wrong"], horizontal=True, key="explain-outcome")
n = c3.slider("Texts to explain", 1, MAX_TEXTS, 20, key="explain-n",
              help=f"A seeded random sample of the slice, at most {MAX_TEXTS}.")
mask = member & (right if outcome == "correct" else ~right if outcome == "wrong" else True)
pool = np.flatnonzero(mask)
if len(pool) == 0:
    st.info("No test text matches this slice.", icon=":material/info:")
    st.stop()
rows = np.sort(np.random.default_rng(0).choice(pool, size=min(n, len(pool)), replace=False))
st.caption(f"Explaining {len(rows)} of the {len(pool):,} test texts in this slice (of {len(y_true):,}).")

st.subheader("Method")
c1, c2, c3 = st.columns(3)
explainer, settings = ui.explain_controls(name, "explain", columns=(c1, c2))
if preds.multilabel:
    target = "label"
    c3.caption(f"Attributions towards “{ui.md_escape(label)}”.")
else:
    target = c3.radio("Explain towards", ["predicted class", "true class"], key="explain-target",
                      help="Predicted: why the model said what it said. True: what spoke for the right answer.")
if ui.needs_compute(explainer) and not st.toggle(f"Explain {len(rows)} texts with {explainer.title}",
                                                 key="explain-run",
                                                 help="Seconds per text on a neural model; every result is cached."):
    st.info("Switch on to compute the explanations (cached: a second visit is instant).", icon=":material/info:")
    st.stop()


def target_of(i: int) -> int:
    if preds.multilabel:
        return j
    return int(y_pred[i]) if target == "predicted class" else int(y_true[i])


def names_of(y) -> str:
    if preds.multilabel:
        return ", ".join(labels[k] for k in np.flatnonzero(y)) or "(none)"
    return labels[int(y)]


def top_words(i: int, sign: int, k: int = 5) -> str:
    """The k words of text `i` with the largest attribution of this sign, as "word (+value)"."""
    words = attrs[i].to_words(preds.texts[i])
    pairs = sorted(((w, v) for w, v in zip(words.tokens, words.values) if v * sign > 0), key=lambda p: -abs(p[1]))
    return ", ".join(f"{w} ({v:+.3f})" for w, v in pairs[:k])


attrs = {}
with ui.guard("Could not explain the slice"):
    bar = st.progress(0.0, text=f"Explaining {len(rows)} texts…")
    for done, i in enumerate(rows, 1):
        attrs[int(i)] = ui.explain_text(name, preds.texts[i], target_of(i), explainer.name, settings)
        bar.progress(done / len(rows), text=f"Explained {done} of {len(rows)} texts")
    bar.empty()
if len(attrs) < len(rows):
    st.stop()

per_text = pd.DataFrame({
    "test row": rows,
    "text": [preds.texts[i] for i in rows],
    "true": [names_of(y_true[i]) for i in rows],
    "predicted": [names_of(y_pred[i]) for i in rows],
    "explained class": [labels[target_of(i)] for i in rows],
    "top words (towards)": [top_words(int(i), +1) for i in rows],
    "top words (against)": [top_words(int(i), -1) for i in rows],
})

st.subheader("Top words per class")
st.caption("Mean attribution of each word over the slice's texts explained towards that class (words mapped onto "
           "the text's words first, so every method aggregates alike). Positive = the word pushes towards the class. "
           "`count` = occurrences, `n_texts` = texts containing it.")
min_texts = st.number_input("Only words found in at least this many texts", 1, MAX_TEXTS, 2 if len(rows) >= 10 else 1,
                            key="explain-min-texts", help="A word seen once can top a mean by chance.")
frames = []
for c in sorted({target_of(i) for i in rows}):
    texts = [preds.texts[i] for i in rows if target_of(i) == c]
    lookup = {preds.texts[i]: attrs[int(i)] for i in rows if target_of(i) == c}
    agg = aggregate_attributions(texts, lookup)
    agg = agg[agg["n_texts"] >= min_texts]
    agg.insert(0, "class", labels[c])
    agg.insert(1, "texts explained", len(texts))
    frames.append(agg)
table = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()
if table.empty:
    st.info("No word carries any attribution in this slice.", icon=":material/info:")
else:
    classes = list(dict.fromkeys(table["class"]))
    for tab, c in zip(st.tabs(classes), classes):
        part = table[table["class"] == c]
        with tab:
            st.plotly_chart(ui.attribution_bar(part["word"].tolist(), part["mean_value"].to_numpy(), c,
                                               title=f"Mean attribution towards “{c}” "
                                                     f"({int(part['texts explained'].iloc[0])} texts)"),
                            key=f"explain-bar-{c}")
    top = table.groupby("class", sort=False).head(15)
    st.dataframe(top, hide_index=True, column_config={
        "mean_value": st.column_config.NumberColumn("mean attribution", format="%+.4f")})
    st.caption(f"Top 15 words per class shown; the CSV holds all {len(table):,} rows.")
    ui.csv_download(table, f"{name}-top-words.csv", label="Download top words (CSV)", key="explain-dl-words")

st.subheader("Texts of the slice")
with ui.guard("Could not check the explanations"):  # explanation trust: the deletion check of every text
    checks = ui.deletion_columns(name, [preds.texts[i] for i in rows], [target_of(i) for i in rows], explainer.name,
                                 settings)
    per_text = pd.concat([per_text, checks], axis=1)
    st.markdown(f"**Explanation trust** (top-5 words, mean over {len(rows)} texts): comprehensiveness "
                f"{checks['comprehensiveness'].mean():+.3f} (random {checks['random comprehensiveness'].mean():+.3f})"
                f" · sufficiency {checks['sufficiency'].mean():+.3f} (random "
                f"{checks['random sufficiency'].mean():+.3f})")
    st.caption("Comprehensiveness = drop of the explained class's probability when a text's top-5 words are "
               "removed (faithful: well above random words); sufficiency = the drop when only they are kept "
               "(faithful: below random). Stability (a rerun at another budget) is on Predict and Errors.")
st.dataframe(per_text, hide_index=True, column_config={"text": st.column_config.TextColumn("text", width="large")})
ui.csv_download(per_text, f"{name}-explained-texts.csv", label="Download explained texts (CSV)", key="explain-dl-texts")
