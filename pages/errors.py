"""Errors: where a model goes wrong on the test split, from its stored predictions (no inference is re-run)."""
import numpy as np
import pandas as pd
import streamlit as st

import ui

#: Rows drawn in an examples table: the browser table stays light on a 50,000-text test split (the CSV
#: download still holds every row of the cell).
MAX_TABLE_ROWS = 1000

ui.page_header(
    "Errors",
    "The test examples a model gets wrong. The confusion matrix counts test texts by true class (rows) and "
    "predicted class (columns); click a cell, or choose it below, to read those texts.",
)

name = ui.pick_model(key="errors-model")
if name is None:
    st.stop()
info = ui.artifact_info(name)
metrics = (info.metrics if info else None) or {}
preds = None
with ui.guard("Could not read the stored predictions"):
    preds = ui.load_predictions(name)
if preds is None:
    st.stop()
labels = list(preds.labels)
k = len(labels)
if len(preds.texts) == 0:
    ui.empty_state("This model's test split is empty, so there is nothing to analyse.", None)
    st.stop()


def per_class_table() -> pd.DataFrame:
    """Precision / recall / F1 / support per class from metrics.json."""
    rows = metrics.get("per_class") or []
    df = pd.DataFrame(rows)
    if df.empty:
        return df
    cols = [c for c in ("label", "precision", "recall", "f1", "support", "roc_auc") if c in df.columns]
    return df[cols]


def show_examples(idx: np.ndarray, file_name: str, extra: dict[str, np.ndarray] | None = None) -> None:
    """Table of test examples `idx` (most confident first; click a header to re-sort) with a CSV download."""
    if len(idx) == 0:
        st.info("No test example falls in this cell.", icon=":material/info:")
        return
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
    df.insert(0, "test row", idx)
    sort_col = "confidence" if "confidence" in df.columns else df.columns[-1]
    df = df.sort_values(sort_col, ascending=False)
    if len(df) > MAX_TABLE_ROWS:
        st.caption(f"Showing {MAX_TABLE_ROWS:,} of {len(df):,} texts (highest {sort_col} first); "
                   "the CSV download has all of them.")
    st.dataframe(df.head(MAX_TABLE_ROWS), hide_index=True, column_config={
        "text": st.column_config.TextColumn("text", width="large"),
        "confidence": st.column_config.ProgressColumn("confidence", min_value=0.0, max_value=1.0, format="%.3f"),
        "p(true)": st.column_config.NumberColumn("p(true class)", format="%.3f"),
    })
    ui.csv_download(df, file_name, key=f"errors-dl-{file_name}")


def multiclass_view() -> None:
    y_true, y_pred = preds.y_true.astype(int), preds.y_pred
    counts = np.zeros((k, k), dtype=np.int64)
    np.add.at(counts, (y_true, y_pred), 1)
    st.metric("Test accuracy", f"{(y_true == y_pred).mean():.1%}", help=f"{len(y_true):,} test texts")
    normalized = st.toggle("Normalise each row (share of the true class)", key="errors-normalized")
    event = st.plotly_chart(ui.plots.confusion_heatmap(counts, labels, normalized=normalized),
                            on_select="rerun", selection_mode="points", key=f"errors-cm-{name}")
    # A click on the chart sets the two selectboxes below (they stay the fallback and show the choice).
    points = (event.selection.points if event else None) or []
    clicked = next((p for p in points if p.get("customdata")), None)
    if clicked is not None:
        data = clicked["customdata"]  # [true index, predicted index, ...]; Streamlit 1.6x sends {"0": .., "1": ..}
        at = (lambda i: data[str(i)]) if isinstance(data, dict) else data.__getitem__
        cell = (labels[int(at(0))], labels[int(at(1))])
        if st.session_state.get("_errors_clicked") != (name, cell):
            st.session_state["_errors_clicked"] = (name, cell)
            st.session_state["errors-true"], st.session_state["errors-pred"] = cell
    if st.session_state.get("errors-true") not in labels or st.session_state.get("errors-pred") not in labels:
        # default: the most frequent confusion (largest off-diagonal cell)
        off = counts.copy()
        np.fill_diagonal(off, -1)
        i, j = np.unravel_index(int(off.argmax()), off.shape) if k > 1 else (0, 0)
        st.session_state["errors-true"], st.session_state["errors-pred"] = labels[i], labels[j]

    st.subheader("Examples in a cell")
    c1, c2 = st.columns(2)
    true_label = c1.selectbox("True class", labels, key="errors-true")
    pred_label = c2.selectbox("Predicted class", labels, key="errors-pred")
    ti, pj = labels.index(true_label), labels.index(pred_label)
    idx = np.flatnonzero((y_true == ti) & (y_pred == pj))
    kind = "correct" if ti == pj else "misclassified"
    st.caption(f"{len(idx):,} test texts of class “{true_label}” predicted as “{pred_label}” ({kind}); "
               "confidence is the probability of the predicted class.")
    show_examples(idx, f"{name}-{true_label}-as-{pred_label}.csv".replace("/", "_"))


def multilabel_view() -> None:
    y_true, y_pred = preds.y_true.astype(int), preds.y_pred
    tp = ((y_true == 1) & (y_pred == 1)).sum(axis=0)
    fp = ((y_true == 0) & (y_pred == 1)).sum(axis=0)
    fn = ((y_true == 1) & (y_pred == 0)).sum(axis=0)
    st.metric("Exact-match accuracy", f"{(y_true == y_pred).all(axis=1).mean():.1%}",
              help="share of test texts whose whole label set is predicted exactly")
    st.plotly_chart(ui.plots.per_label_confusion(tp, fp, fn, labels), key=f"errors-ml-{name}")
    st.subheader("Examples for a label")
    c1, c2 = st.columns(2)
    label = c1.selectbox("Label", labels, index=int(np.argmax(fp + fn)), key="errors-label")
    what = c2.radio("Show", ["false negatives (missed)", "false positives (wrongly predicted)", "true positives"],
                    key="errors-ml-kind", horizontal=True)
    j = labels.index(label)
    if what.startswith("false negatives"):
        mask = (y_true[:, j] == 1) & (y_pred[:, j] == 0)
    elif what.startswith("false positives"):
        mask = (y_true[:, j] == 0) & (y_pred[:, j] == 1)
    else:
        mask = (y_true[:, j] == 1) & (y_pred[:, j] == 1)
    idx = np.flatnonzero(mask)
    st.caption(f"{len(idx):,} test texts; p(label) is the model's probability for “{label}”.")
    show_examples(idx, f"{name}-{label}.csv".replace("/", "_"), extra={"p(label)": preds.proba[idx, j]})


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
