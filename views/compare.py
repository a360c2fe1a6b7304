"""Compare: a leaderboard of every model trained on one dataset, and their calibration on one chart."""
import pandas as pd
import streamlit as st

import ui

ui.page_header(
    "Compare models",
    "Every model trained on a dataset, scored on the same test split. Higher is better for accuracy and F1; "
    "lower is better for ECE (calibration error), size, training time and latency.",
)

#: (metrics.json key, column title, number format) of the leaderboard, in display order.
COLUMNS = [
    ("accuracy", "accuracy", "%.4f"),
    ("f1_macro", "F1 macro", "%.4f"),
    ("f1_micro", "F1 micro", "%.4f"),
    ("f1_weighted", "F1 weighted", "%.4f"),
    ("ece", "ECE", "%.4f"),
    ("size_mb", "size (MB)", "%.2f"),
    ("n_parameters", "parameters", "%d"),
    ("train_seconds", "train time (s)", "%.1f"),
    ("latency_ms_p50", "latency p50 (ms)", "%.2f"),
]
HIGHER_IS_BETTER = ["accuracy", "f1_macro", "f1_micro", "f1_weighted"]

dataset, infos = ui.dataset_and_models("compare-dataset")
# the own test split, or an evaluation set: only models scored on it, with their shift from the own split
infos, evaluated_on = ui.compare_on(infos, "compare-evaluated-on")
if evaluated_on:
    COLUMNS = COLUMNS[:5] + ui.SHIFT_COLUMNS + COLUMNS[5:]

board = pd.DataFrame([i.row([key for key, _, _ in COLUMNS]) for i in infos]).drop(columns="dataset")
board = board.rename(columns={"name": "model"})
sort_by = st.selectbox("Rank by", [c for c, _, _ in COLUMNS], format_func=dict((c, t) for c, t, _ in COLUMNS).get,
                       key="compare-sort")
board = board.sort_values(sort_by, ascending=sort_by not in HIGHER_IS_BETTER, na_position="last")

st.subheader("Leaderboard")
st.caption(f"{len(board)} model(s) on {evaluated_on or dataset}. Latency is one text at a time on this machine's CPU.")
st.dataframe(board, hide_index=True, column_config={
    key: st.column_config.NumberColumn(title, format=f) for key, title, f in COLUMNS
})
ui.csv_download(board, f"leaderboard-{dataset.replace(':', '-')}.csv", key="compare-dl")

metric = st.selectbox("Metric for the bar chart", HIGHER_IS_BETTER + ["ece"], key="compare-metric",
                      format_func=dict((c, t) for c, t, _ in COLUMNS).get)
values = pd.to_numeric(board[metric], errors="coerce")
if values.notna().any():
    fig = ui.plots.leaderboard_bars(board["model"].tolist(), values.tolist(), metric)
    st.plotly_chart(fig, key="compare-bars")

st.subheader("Calibration")
st.caption("Reliability diagram: test predictions are grouped by confidence; a well-calibrated model's accuracy in "
           "each group equals its confidence (the dashed diagonal). Points below it are over-confident.")
chosen = ui.pick_models(dataset, key="compare-models", label="Models on the diagram")
curves = {}
for i in infos:
    bins = (i.metrics or {}).get("calibration_bins")
    if i.name in chosen and bins:
        curves[i.name] = bins
if curves:
    st.plotly_chart(ui.plots.reliability_diagram(curves), key="compare-reliability")
elif chosen:
    st.info("The chosen models have no calibration bins in their metrics.", icon=":material/info:")
else:
    st.info("Choose one or more models to draw their reliability diagrams.", icon=":material/info:")
