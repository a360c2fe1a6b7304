"""Compare: a leaderboard of every model trained on one dataset, and their calibration on one chart."""
import pandas as pd
import streamlit as st

import ui
from core.scoresets import ScoreSet, group_by_test_set, group_notes, short

ui.page_header(
    "Compare models",
    "Every model trained on a dataset, ranked against the models scored on the same test split. Higher is better for accuracy and F1; "
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
# the own test split, or an evaluation set: only the models scored on it, with their shift from the own split
infos, evaluation_set = ui.compare_on(infos, "compare-evaluated-on")
if evaluation_set:
    COLUMNS = COLUMNS[:5] + ui.SHIFT_COLUMNS + COLUMNS[5:]
# models are ranked only against models scored on the same test set (a re-saved dataset, another version)
groups = [evaluation_set] if evaluation_set else group_by_test_set(infos, first=st.session_state.get("_shared_model"))
for note in group_notes(groups):
    st.warning(note + ".", icon=":material/call_split:")
marks = ui.dataset_marks(dataset)
sort_by = st.selectbox("Rank by", [c for c, _, _ in COLUMNS], format_func=dict((c, t) for c, t, _ in COLUMNS).get,
                       key="compare-sort")
metric = st.selectbox("Metric for the bar chart", HIGHER_IS_BETTER + ["ece"], key="compare-metric",
                      format_func=dict((c, t) for c, t, _ in COLUMNS).get)


def leaderboard(group: ScoreSet, n: int) -> None:
    """Ranked table, CSV and bar chart of one group of models scored on one test set (`n`: its position)."""
    board = pd.DataFrame([i.row([key for key, _, _ in COLUMNS]) for i in group.infos]).drop(columns="dataset")
    board = board.rename(columns={"name": "model"})
    data = [marks.get(i.name, "") for i in group.infos]  # "dataset changed" / "dataset gone"
    if any(data):  # next to the name, where it is seen: the scores describe data that is not there any more
        board.insert(1, "data", data)
    board = board.sort_values(sort_by, ascending=sort_by not in HIGHER_IS_BETTER, na_position="last")
    test_set = f"test set {short(group.fingerprint)}"
    st.subheader("Leaderboard" if n == 0 else f"Leaderboard: {test_set}")
    st.caption(f"{len(board)} model(s) on {dataset}, scored on the same test split ({test_set}). Latency is one "
               "text at a time on this machine's CPU." + (" “dataset changed” / “dataset gone”: the dataset is not "
                                                          "what these models were scored on any more."
                                                          if any(data) else ""))
    st.dataframe(board, hide_index=True, column_config={
        key: st.column_config.NumberColumn(title, format=f) for key, title, f in COLUMNS
    })
    suffix = f"-{group.fingerprint}" if n else ""
    ui.csv_download(board, f"leaderboard-{dataset.replace(':', '-')}{suffix}.csv", key=f"compare-dl{suffix}")
    values = pd.to_numeric(board[metric], errors="coerce")
    if values.notna().any():
        fig = ui.plots.leaderboard_bars(board["model"].tolist(), values.tolist(), metric)
        st.plotly_chart(fig, key=f"compare-bars{suffix}")


for n, group in enumerate(groups):
    leaderboard(group, n)

st.subheader("Calibration")
st.caption("Reliability diagram: test predictions are grouped by confidence; a well-calibrated model's accuracy in "
           "each group equals its confidence (the dashed diagonal). Points below it are over-confident.")
group = groups[0]
if len(groups) > 1:
    options = {g.fingerprint: g for g in groups}
    chosen_set = st.selectbox("Test set", list(options), key="compare-test-set", format_func=lambda f: (
        f"test set {short(f)} ({len(options[f].infos)} models)"), help="Only models scored on one test set share "
                                                                       "a diagram.")
    group = options[chosen_set]
chosen = ui.pick_models(dataset, key="compare-models", label="Models on the diagram", only=group.names)
curves = {}
for i in group.infos:
    bins = (i.metrics or {}).get("calibration_bins")
    if i.name in chosen and bins:
        curves[i.name] = bins
if curves:
    st.plotly_chart(ui.plots.reliability_diagram(curves), key="compare-reliability")
elif chosen:
    st.info("The chosen models have no calibration bins in their metrics.", icon=":material/info:")
else:
    st.info("Choose one or more models to draw their reliability diagrams.", icon=":material/info:")

# ------------------------------------------------------------------ before / after (e.g. a retrain on corrections)
st.subheader("Side by side: which test predictions changed")
st.caption("Two models, e.g. one and its retrain on corrected labels (Relabel page): their scores side by side and "
           "every shared test text whose prediction changed, matched by text, judged against the second model's "
           "(corrected) labels.")
before = st.selectbox("First model", [i.name for i in infos], key="compare-before")
after = ui.pick_other_model(before, key="compare-after", label="Second model", dataset=dataset) if before else None
if before and after:
    from core.relabel.changes import changed_predictions

    pair = [ui.artifact_info(n) for n in (before, after)]
    st.dataframe(pd.DataFrame([{"model": i.name, "dataset": i.dataset, **{t: (i.metrics or {}).get(k) for k, t, _ in
                                                                          COLUMNS[:3]}} for i in pair if i]),
                 hide_index=True)
    with ui.guard("Could not compare the predictions"):
        changed = changed_predictions(before, after)
        st.caption(f"{len(changed):,} of {changed.attrs['shared']:,} shared test texts changed: "
                   f"{changed.attrs['fixed']:,} fixed, {changed.attrs['broken']:,} broken, "
                   f"{len(changed) - changed.attrs['fixed'] - changed.attrs['broken']:,} wrong either way.")
        st.dataframe(changed.drop(columns="row_id"), hide_index=True,
                     column_config={"text": st.column_config.TextColumn("text", width="large")})
        ui.csv_download(changed, f"changed-{before}-{after}.csv", key="compare-changed-csv")
