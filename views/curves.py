"""Training curves: overlaid loss and validation curves of torch runs, a results table, and the gradient flow."""
import pandas as pd
import streamlit as st

import ui
from core.artifact_tables import run_results
from core.budget import run_summary
from core.scoresets import group_by_test_set, group_notes

ui.page_header(
    "Training curves",
    "How runs of the neural families learned: training loss per step and validation metrics per evaluation, "
    "overlaid so one-change-at-a-time experiments (rnn → gru → bi-lstm, max vs mean pooling) can be read at a glance.",
)

dataset = ui.pick_dataset(key="curves-dataset")
if dataset is None:
    st.stop()
by_name = {i.name: i for i in ui.artifact_infos(dataset) if i.ok and i.training_history().get("train_loss")}
runs = list(by_name)
if not runs:
    ui.empty_state(f"No run on {dataset} has a training history: only the neural families (RNN, scratch "
                   "transformer, pretrained encoder) record one — train one of them.")
    st.stop()

key = "curves-runs"
if key in st.session_state:
    st.session_state[key] = [r for r in st.session_state[key] if r in runs]
chosen = st.multiselect("Runs", runs, key=key, default=None if key in st.session_state else runs[:3],
                        help="Runs of this dataset that recorded a training history, newest first.")
if not chosen:
    st.info("Choose one or more runs to overlay their curves.", icon=":material/info:")
    st.stop()
histories = {n: by_name[n].training_history() for n in chosen}

st.subheader("Loss and validation curves")
metrics = sorted({k for h in histories.values() for e in h.get("evals") or [] for k, v in e.items()
                  if k not in ("step", "epoch") and isinstance(v, (int, float))})
c1, c2 = st.columns(2)
default_metric = "accuracy" if "accuracy" in metrics else (metrics[0] if metrics else "accuracy")
metric = c1.selectbox("Validation metric", metrics or ["accuracy"], index=(metrics or ["accuracy"]).index(
    default_metric), key="curves-metric")
smooth = c2.slider("Smooth the loss over steps", 1, 100, 20, key="curves-smooth",
                   help="Moving average window (1 = raw per-step loss, which is noisy with small batches).")
st.plotly_chart(ui.plots.training_curves(histories, metric=metric, smooth=smooth), key="curves-chart")
st.caption("Left: training loss per optimisation step. Right: the validation metric at each evaluation; the star "
           "marks the checkpoint that was kept (early stopping restores the best one). A training loss that keeps "
           "falling while validation stalls or drops means over-fitting.")

plans = {n: run_summary(h) for n, h in histories.items()}
if any(plans.values()):
    with st.expander("Training plans (epochs from the rows and classes, early stopping, precision, threads)"):
        for n, text in plans.items():
            st.text(f"{n}: {text or 'no plan recorded (trained before budgets were planned)'}")

st.subheader("Results")
for note in group_notes(group_by_test_set([by_name[n] for n in chosen], first=chosen[0])):
    st.warning(note + ": compare their test scores only within a group.", icon=":material/call_split:")
table = run_results([by_name[n] for n in chosen]).drop(columns=["artifact"])  # variant = artifact name here
table.insert(2, "changes", table.pop("changes"))
st.dataframe(table, hide_index=True, column_config={
    "accuracy": st.column_config.NumberColumn(format="%.4f"), "f1_macro": st.column_config.NumberColumn(format="%.4f"),
    "f1_micro": st.column_config.NumberColumn(format="%.4f"),
    "seconds_per_epoch": st.column_config.NumberColumn("s / epoch", format="%.1f"),
    "train_seconds": st.column_config.NumberColumn("train time (s)", format="%.1f"),
    "changes": st.column_config.TextColumn("settings that differ", width="large")})
st.caption("Test-split scores; “settings that differ” lists only the settings that are not the same in every chosen "
           "run. `python -m core experiment FILE --out results.csv --plot curves.html` trains such a grid and writes "
           "the same table and chart.")
ui.csv_download(table, f"runs-{dataset.replace(':', '-')}.csv", key="curves-dl")

st.subheader("Gradient flow")
with_grads = [n for n in chosen if histories[n].get("grad_flow")]
if not with_grads:
    st.info("None of the chosen runs recorded gradient statistics.", icon=":material/info:")
    st.stop()
run = st.selectbox("Run", with_grads, key="curves-grad-run")
steps = [r["step"] for r in histories[run]["grad_flow"]]
step = st.select_slider("Step", ["mean of all", *steps], value="mean of all", key=f"curves-step-{run}",
                        help="Gradient statistics are recorded at intervals during training.")
fig = ui.plots.gradient_flow(histories[run], step=None if step == "mean of all" else int(step), title=f"{run}")
st.plotly_chart(fig, key="curves-grad")
st.caption("Mean and largest |gradient| of each layer's weights (input side on the left, log scale). Vanishing "
           "gradients show as layers near the input with bars far lower than those near the output; exploding ones "
           "as very tall bars (gradient clipping caps their effect).")
last = pd.DataFrame(histories[run]["grad_flow"][-1]["layers"]) if steps else pd.DataFrame()
if len(last):
    with st.expander(f"Numbers at the last recorded step ({steps[-1]})"):
        st.dataframe(last, hide_index=True)
