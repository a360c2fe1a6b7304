"""Errors: where a model goes wrong on the test split, from its stored predictions (no inference is re-run)."""
import dataclasses

import numpy as np
import pandas as pd
import streamlit as st

import ui
from core.confusion import cluster_order, confused_pairs, default_subset
from core.evaluate import confusion_cell_indices, confusion_counts, label_counts, label_outcome_indices, top_confusion

#: Rows drawn in an examples table: the browser table stays light on a 50,000-text test split (the CSV
#: download still holds every row of the cell).
MAX_TABLE_ROWS = 1000
#: Examples offered for a per-text explanation (the top of the sorted table).
MAX_EXPLAIN_CHOICES = 200
#: Texts explained for a cell's mean attribution (SHAP costs seconds per text on a neural model).
MAX_MEAN_TEXTS = 30
#: Multi-label view: what the "Show" choice lists -> core.evaluate.LABEL_OUTCOMES key.
OUTCOMES = {"false negatives (missed)": "fn", "false positives (wrongly predicted)": "fp", "true positives": "tp"}
#: Rows of the most-confused-pairs table.
MAX_PAIRS = 200

ui.page_header(
    "Errors",
    "The test examples a model gets wrong. The confusion matrix counts test texts by true class (rows) and "
    "predicted class (columns); click a cell, or choose it below, to read those texts.",
)

name, preds = ui.model_and_predictions("errors-model", "This model's test split is empty, so there is nothing to "
                                                       "analyse.")
# the model's own test split or an evaluation record (core.evaluations): every panel below reads the chosen set
evaluation, preds, metrics = ui.evaluated_on(name, preds, "errors-evaluated-on")
labels = list(preds.labels)
k = len(labels)
if preds.multilabel:  # per-label thresholds: edits change this page's predicted label sets at once
    edited_thresholds = ui.threshold_editor(name, "errors-thresholds")
    if edited_thresholds is not None:
        preds = dataclasses.replace(preds, threshold=edited_thresholds)


def per_class_table() -> pd.DataFrame:
    """Precision / recall / F1 / support per class from metrics.json."""
    rows = metrics.get("per_class") or []
    df = pd.DataFrame(rows)
    if df.empty:
        return df
    cols = [c for c in ("label", "precision", "recall", "f1", "support", "roc_auc") if c in df.columns]
    return df[cols]


def suspicion() -> pd.DataFrame | None:
    """Label-quality scores of every test text (core.explain.label_quality), None if they cannot be computed."""
    with ui.guard("Could not score label quality"):
        return ui.label_quality(name, evaluation)
    return None


def show_examples(idx: np.ndarray, file_name: str, extra: dict[str, np.ndarray] | None = None,
                  key: str = "cell") -> pd.DataFrame | None:
    """Table of test examples `idx` (most confident first by default; click a header to re-sort) with a
    label-suspicion column and a CSV download; returns the sorted table (None when empty)."""
    if len(idx) == 0:
        st.info("No test example falls in this cell.", icon=":material/info:")
        return None
    y_pred = preds.y_pred
    df = pd.DataFrame({"text": [preds.texts[i] for i in idx]})
    if preds.multilabel:
        as_names = lambda row: ", ".join(labels[j] for j in np.flatnonzero(row)) or "(none)"  # noqa: E731
        df["true"] = [as_names(preds.y_true[i]) for i in idx]
        df["predicted"] = [as_names(y_pred[i]) for i in idx]
    else:
        df["true"] = [labels[int(preds.y_true[i])] for i in idx]
        df["predicted"] = [labels[int(y_pred[i])] for i in idx]
        df["confidence"] = preds.proba[idx, y_pred[idx]]
        df["p(true)"] = preds.proba[idx, preds.y_true[idx].astype(int)]
    for col, values in (extra or {}).items():
        df[col] = values
    quality = suspicion()
    if quality is not None:
        df["suspicion"] = quality["suspicion"].to_numpy()[idx]
        df["label issue?"] = quality["flag"].to_numpy()[idx]
    df.insert(0, "test row", idx)
    first = "confidence" if "confidence" in df.columns else df.columns[-1]
    options = [first] + (["suspicion"] if "suspicion" in df.columns else [])
    sort_col = st.radio("Sort by", options, horizontal=True, key=f"errors-sort-{key}",
                        format_func=lambda c: {"suspicion": "label suspicion (the label is probably wrong)"}.get(c, c),
                        help="Suspicion = 1 − the label's quality score from the model's out-of-sample test "
                             "probabilities (cleanlab's confident learning; see the note under the table).")
    df = df.sort_values(sort_col, ascending=False, kind="stable")
    if len(df) > MAX_TABLE_ROWS:
        st.caption(f"Showing {MAX_TABLE_ROWS:,} of {len(df):,} texts (highest {sort_col} first); "
                   "the CSV download has all of them.")
    st.dataframe(df.head(MAX_TABLE_ROWS), hide_index=True, column_config={
        "text": st.column_config.TextColumn("text", width="large"),
        "confidence": st.column_config.ProgressColumn("confidence", min_value=0.0, max_value=1.0, format="%.3f"),
        "p(true)": st.column_config.NumberColumn("p(true class)", format="%.3f"),
        "suspicion": st.column_config.ProgressColumn("label suspicion", min_value=0.0, max_value=1.0, format="%.3f"),
    })
    if quality is not None:
        st.caption(f"Label suspicion: {quality.attrs.get('engine', '?')} ({quality.attrs.get('method', '?')}); "
                   f"“label issue?” marks texts it flags. {quality.attrs.get('note', '')}")
    ui.csv_download(df, file_name, key=f"errors-dl-{file_name}")
    return df


def open_cell(cell: tuple[str, str], origin: str) -> None:
    """Point the cell selectboxes at (true, predicted) once per new choice from `origin` ("pairs" / "matrix"), so
    a later change of the selectboxes is not undone by the same, still-selected row or point."""
    if st.session_state.get(f"_errors_{origin}") != (name, cell):
        st.session_state[f"_errors_{origin}"] = (name, cell)
        st.session_state["errors-true"], st.session_state["errors-pred"] = cell


def pairs_panel(counts: np.ndarray) -> None:
    """The most confused (true, predicted) pairs, sortable; selecting a row opens that cell below."""
    st.subheader("Most confused pairs")
    rows = confused_pairs(counts, labels, top=MAX_PAIRS)
    if not rows:
        st.info("No confusion: every test text is predicted as its true class.", icon=":material/check_circle:")
        return
    pairs = pd.DataFrame({"true": [r["true_label"] for r in rows], "predicted": [r["predicted_label"] for r in rows],
                          "count": [r["count"] for r in rows],
                          "% of true class": [100 * r["share"] for r in rows]})
    st.caption(f"{len(pairs):,} pairs{' (top ' + str(MAX_PAIRS) + ')' if len(pairs) == MAX_PAIRS else ''}; "
               "select a row to read its texts below, click a column header to sort.")
    event = st.dataframe(pairs, hide_index=True, on_select="rerun", selection_mode="single-row",
                         key=f"errors-pairs-{name}" + (f"-{evaluation}" if evaluation else ""), height=min(38 + 35 * len(pairs), 350), column_config={
                             "% of true class": st.column_config.ProgressColumn(
                                 "% of true class", min_value=0.0, max_value=100.0, format="%.1f%%")})
    chosen = (event.selection.rows if event else None) or []
    if chosen:
        row = pairs.iloc[int(chosen[0])]
        open_cell((str(row["true"]), str(row["predicted"])), "pairs")


def matrix_panel(counts: np.ndarray) -> None:
    """The confusion matrix of a class subset, ordered by confusion clusters; a click opens a cell."""
    st.subheader("Confusion matrix")
    c1, c2 = st.columns([3, 1])
    shown = c1.multiselect("Classes shown", labels, default=[labels[i] for i in default_subset(counts)],
                           key=f"errors-classes-{name}",
                           help="Default: every class up to 20 classes, else the classes of the most confused pairs.")
    order = c2.radio("Order", ["confusion clusters", "dataset order"], key="errors-order",
                     help="Confusion clusters put classes that are mistaken for each other side by side "
                          "(hierarchical clustering of the symmetrised error rates).")
    normalized = st.toggle("Normalise each row (share of the true class)", key="errors-normalized")
    sel = [labels.index(x) for x in shown] or list(range(k))
    if order == "confusion clusters":
        sel = [sel[i] for i in cluster_order(counts[np.ix_(sel, sel)])]
    st.caption(f"{len(sel)} of {k} classes shown. Correct predictions (the diagonal) are pale blue; errors have "
               "their own scale from light orange (1) to dark red, empty cells are blank.")
    fig = ui.plots.confusion_heatmap(counts[np.ix_(sel, sel)], [labels[i] for i in sel], normalized=normalized,
                                     indices=sel, row_totals=counts.sum(axis=1)[sel])
    # Square cells keep every label readable, so a matrix of many classes is wider than the page: it scrolls
    # sideways in its own box (our CSS, built from a number only) instead of being squeezed to the page width.
    width = int(fig.layout.width)
    st.html(f"<style>.st-key-errors-cm-box {{overflow-x:auto;overflow-y:hidden}} .st-key-errors-cm-box > div "
            f"{{min-width:{width}px;width:{width}px}}</style>")
    with st.container(key="errors-cm-box"):
        event = st.plotly_chart(fig, on_select="rerun", selection_mode="points", key=f"errors-cm-{name}",
                                width=width)
    # A click on the chart sets the two selectboxes below (they stay the fallback and show the choice).
    points = (event.selection.points if event else None) or []
    clicked = next((p for p in points if p.get("customdata")), None)
    if clicked is not None:
        data = clicked["customdata"]  # [true index, predicted index, ...]; Streamlit 1.6x sends {"0": .., "1": ..}
        at = (lambda i: data[str(i)]) if isinstance(data, dict) else data.__getitem__
        open_cell((labels[int(at(0))], labels[int(at(1))]), "matrix")


def multiclass_view() -> None:
    y_true, y_pred = preds.y_true.astype(int), preds.y_pred
    counts = confusion_counts(y_true, y_pred, k)
    st.metric("Test accuracy", f"{(y_true == y_pred).mean():.1%}", help=f"{len(y_true):,} test texts")
    pairs_panel(counts)
    matrix_panel(counts)
    if st.session_state.get("errors-true") not in labels or st.session_state.get("errors-pred") not in labels:
        i, j = top_confusion(counts)  # default: the most frequent confusion
        st.session_state["errors-true"], st.session_state["errors-pred"] = labels[i], labels[j]

    st.subheader("Examples in a cell")
    c1, c2 = st.columns(2)
    true_label = c1.selectbox("True class", labels, key="errors-true")
    pred_label = c2.selectbox("Predicted class", labels, key="errors-pred")
    ti, pj = labels.index(true_label), labels.index(pred_label)
    idx = confusion_cell_indices(y_true, y_pred, ti, pj)
    kind = "correct" if ti == pj else "misclassified"
    st.caption(f"{len(idx):,} test texts of class “{ui.md_escape(true_label)}” predicted as "
               f"“{ui.md_escape(pred_label)}” ({kind}); "
               "confidence is the probability of the predicted class.")
    table = show_examples(idx, f"{name}-{true_label}-as-{pred_label}.csv".replace("/", "_"))
    if table is None:
        return
    st.subheader("Explanations")
    explainer, settings = ui.explain_controls(name, "errors-x", label="Explanation method", horizontal=True)
    case: dict = {"table": table}
    with ui.guard("Could not explain the example"):
        targets = [("predicted", pj)] + ([("true", ti)] if ti != pj else [])
        case["example"] = example_panel(table, targets, explainer, settings)
    if ti != pj:
        with ui.guard("Could not find confusable words"):
            case["words"] = confusable_panel(ti, pj)
        with ui.guard("Could not compute the mean attribution"):
            case["mean"] = mean_attribution_panel(idx, pj, explainer, settings)
    cell = {"model": name, "true class": true_label, "predicted class": pred_label, "texts in the cell": len(idx),
            f"share of “{true_label}” test texts": f"{len(idx) / max(int((y_true == ti).sum()), 1):.1%}",
            "model accuracy": f"{(y_true == y_pred).mean():.1%}"}
    ui.case_file_button(lambda: cell_case_file(cell, case), f"case-file-{name}-{true_label}-as-{pred_label}.html",
                        key="errors-case-file", label="Download this cell's case file (HTML)")


def short(text: str, n: int = 90) -> str:
    t = " ".join(text.split())
    return t if len(t) <= n else t[: n - 1] + "…"


def example_panel(table: pd.DataFrame, targets: list[tuple[str, int]], explainer, settings: dict) -> dict | None:
    """One example of the table explained towards each of `targets` [(what, class index)]."""
    st.markdown("**Explain one example**")
    rows = [int(r) for r in table["test row"].to_numpy()[:MAX_EXPLAIN_CHOICES]]
    if len(table) > len(rows):
        st.caption(f"Choose among the first {len(rows):,} of {len(table):,} texts, in the table's order.")
    row = st.selectbox("Example (test row: text)", rows, key=f"errors-x-row-{name}",
                       format_func=lambda r: f"#{r}: {short(preds.texts[r])}")
    text = preds.texts[row]
    if ui.needs_compute(explainer) and not st.toggle("Compute the explanation", key="errors-x-run",
                                            help="Seconds per text on a neural model; cached afterwards."):
        st.caption("Switch on to explain the chosen example.")
        return None
    out = {"row": row, "text": text, "attrs": []}
    if len(targets) == 2:  # a confusion cell: also "why the predicted class and not the true one" (A/B = pred/true)
        targets = [*targets, ("contrast", targets[0][1], targets[1][1])]
    cols = st.columns(len(targets))
    for col, (what, j, *contrast) in zip(cols, targets):
        b = contrast[0] if contrast else None
        with col:
            st.markdown(f"Towards the {what} class **{ui.md_escape(labels[j])}**" if b is None else
                        f"Why **{ui.md_escape(labels[j])}** and not **{ui.md_escape(labels[b])}**")
            with st.spinner("Explaining…"):
                attr = ui.explain_text(name, text, j, explainer.name, settings, contrast=b)
            shown = labels[j] if b is None else f"{labels[j]} rather than {labels[b]}"
            ui.show_attribution(attr, shown, key=f"errors-x-chart-{what}")
            ui.show_trust(name, text, j, explainer.name, settings, contrast=b)
            out["attrs"].append((shown, attr))
    st.caption(ui.COLOUR_LEGEND)
    return out


def confusable_panel(ti: int, pj: int) -> pd.DataFrame:
    """"Why A → B": words over-represented in texts of A predicted as B (core.explain.confusable)."""
    a, b = labels[ti], labels[pj]
    st.markdown(f"**Why “{ui.md_escape(a)}” → “{ui.md_escape(b)}”: words over-represented in this cell**")
    c1, c2 = st.columns(2)
    method = c1.radio("Score", ["log_odds", "tfidf"], horizontal=True, key="errors-conf-method",
                      format_func={"log_odds": "log-odds z-score", "tfidf": "TF-IDF difference"}.get,
                      help="Log-odds with an informative prior (Monroe et al. 2008) discounts words seen once or "
                           "twice; TF-IDF difference = mean tf-idf in the cell minus in the reference texts.")
    reference = c2.radio("Compared with", ["a", "b"], horizontal=True, key="errors-conf-ref",
                         format_func=lambda r: f"“{a if r == 'a' else b}” predicted correctly")
    words = ui.confusable_words(name, ti, pj, method, reference, evaluation=evaluation)
    st.caption(f"{words.attrs.get('n_cell', '?')} texts in the cell against {words.attrs.get('n_reference', '?')} "
               f"reference texts; words present in at least 2 cell texts, top {len(words)} shown.")
    if words.empty:
        st.info("No word stands out (the cell may have too few texts).", icon=":material/info:")
        return words
    st.plotly_chart(ui.xplots.confusable_bar(words, title=f"Words that mark “{a}” texts predicted as “{b}”"),
                    key=f"errors-conf-chart-{name}")
    st.dataframe(words, hide_index=True, column_config={
        "score": st.column_config.NumberColumn("score", format="%.3f"),
        "share_in_cell": st.column_config.NumberColumn("share in cell", format="%.2f"),
        "share_in_reference": st.column_config.NumberColumn("share in reference", format="%.2f"),
    })
    ui.csv_download(words, f"{name}-confusable-{a}-as-{b}.csv".replace("/", "_"), key="errors-conf-dl")
    return words


def mean_attribution_panel(idx: np.ndarray, pj: int, explainer, settings: dict) -> pd.DataFrame | None:
    """Mean attribution towards the predicted class over a sample of the cell's texts."""
    b = labels[pj]
    st.markdown(f"**Mean attribution towards “{ui.md_escape(b)}” over the cell's texts**")
    n = st.slider("Texts to explain", 1, MAX_MEAN_TEXTS, min(10, MAX_MEAN_TEXTS), key="errors-mean-n",
                  help="A seeded sample of the cell; each text is explained once and cached.")
    if ui.needs_compute(explainer) and not st.toggle("Compute the mean attribution", key="errors-mean-run",
                                            help="SHAP / integrated gradients for every sampled text: seconds each."):
        st.caption(f"Switch on to explain {min(n, len(idx))} of the {len(idx):,} texts.")
        return None
    mean = ui.mean_attribution(name, [preds.texts[i] for i in idx], pj, explainer.name, settings, max_texts=n)
    st.caption(f"Showing words from {min(n, len(idx))} of {len(idx):,} texts (seeded sample); "
               "mean_value = average attribution of the word where it occurs.")
    if mean.empty:
        st.info("No attribution to aggregate.", icon=":material/info:")
        return mean
    st.plotly_chart(ui.attribution_bar(mean["word"].tolist(), mean["mean_value"].to_numpy(), b,
                                       title=f"Mean attribution towards “{b}”"), key=f"errors-mean-chart-{name}")
    st.dataframe(mean.head(50), hide_index=True)
    return mean


def cell_case_file(cell: dict, case: dict) -> str:
    """Self-contained HTML of a confusion cell: summary, confusable words, mean attribution, an explained
    example and the most confident texts (every string escaped by core.explain.render)."""
    sections: list = []
    words = case.get("words")
    if words is not None and not words.empty:
        sections.append(("Words over-represented in the cell", [ui.xplots.confusable_bar(words), words]))
    mean = case.get("mean")
    if mean is not None and not mean.empty:
        sections.append(("Mean attribution towards the predicted class", mean.head(30)))
    example = case.get("example")
    if example:
        sections.append((f"Example: test row {example['row']}", example["text"]))
        for label, attr in example["attrs"]:
            sections.append((f"{attr.method} towards “{label}”", ui.render.attribution_html(attr, label)))
    cols = [c for c in ("test row", "text", "confidence", "p(true)", "suspicion") if c in case["table"].columns]
    sections.append(("Texts of the cell (first 30, table order)", case["table"][cols].head(30)))
    title = f"Case file: “{cell['true class']}” predicted as “{cell['predicted class']}”"
    return ui.render.case_file_html(title, sections, meta=cell)


def multilabel_view() -> None:
    y_true, y_pred = preds.y_true.astype(int), preds.y_pred
    counts = label_counts(y_true, y_pred)
    tp, fp, fn = counts["tp"], counts["fp"], counts["fn"]
    st.metric("Exact-match accuracy", f"{(y_true == y_pred).all(axis=1).mean():.1%}",
              help="share of test texts whose whole label set is predicted exactly")
    st.plotly_chart(ui.plots.per_label_confusion(tp, fp, fn, labels), key=f"errors-ml-{name}")
    st.subheader("Examples for a label")
    c1, c2 = st.columns(2)
    label = c1.selectbox("Label", labels, index=int(np.argmax(fp + fn)), key="errors-label")
    what = c2.radio("Show", list(OUTCOMES), key="errors-ml-kind", horizontal=True)
    j = labels.index(label)
    idx = label_outcome_indices(y_true, y_pred, j, OUTCOMES[what])
    st.caption(f"{len(idx):,} test texts; p(label) is the model's probability for “{ui.md_escape(label)}”.")
    table = show_examples(idx, f"{name}-{label}.csv".replace("/", "_"), extra={"p(label)": preds.proba[idx, j]})
    if table is not None:
        st.subheader("Explanations")
        explainer, settings = ui.explain_controls(name, "errors-x", label="Explanation method", horizontal=True)
        with ui.guard("Could not explain the example"):
            example_panel(table, [("", j)], explainer, settings)


if preds.multilabel:
    multilabel_view()
else:
    multiclass_view()

st.subheader("Per-class report")
st.caption("Precision: share of texts predicted as the class that are right. Recall: share of the class's texts "
           "found. F1: their harmonic mean. Support: test texts of the class.")
report = per_class_table()
if report.empty:
    st.info("This model's metrics have no per-class report.", icon=":material/info:")
else:
    st.dataframe(report, hide_index=True, column_config={
        c: st.column_config.NumberColumn("ROC AUC" if c == "roc_auc" else c, format="%.3f")
        for c in ("precision", "recall", "f1", "roc_auc")
    })
    ui.csv_download(report, f"{name}-per-class.csv", key="errors-report-dl")
