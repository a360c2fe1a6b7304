"""Data maps: where each training row sits in the model's training dynamics (Swayamdipta et al. 2020)."""
import numpy as np
import streamlit as st

import ui
from core import artifacts
from core import dynamics as D
from core.dynamics.datamap import AMBIGUOUS_VARIABILITY, HARD_CONFIDENCE
from core.plots_datamap import data_map_figure

#: Rows drawn in the selection table (the CSV download holds every selected row).
MAX_TABLE_ROWS = 1000

ui.page_header(
    "Data maps",
    "Every training row placed by how the model learnt it: confidence = mean probability of the row's label over "
    "the model's evaluations during training (TF-IDF: over repeated cross-validation), variability = its standard "
    f"deviation. Regions: ambiguous (variability ≥ {AMBIGUOUS_VARIABILITY}), else easy-to-learn (confidence ≥ "
    f"{HARD_CONFIDENCE}) or hard-to-learn — where mislabelled rows gather. Rings: cleanlab's label-issue flags.",
)

name = ui.pick_model(key="datamaps-model")
if name is None:
    st.stop()
info = artifacts.get_artifact(name)
state = D.status(name)
if state == "unavailable":
    ui.empty_state(f"{name} ({info.kind}) has no recorded training dynamics: it was trained before they were "
                   "recorded. Retrain it (same settings) to see its data map.")
    st.stop()
label = None
if info.manifest.get("multilabel"):
    label = st.selectbox("Label", list(info.manifest.get("labels", [])), key="datamaps-label",
                         help="A multi-label model has one data map per label: the row's gold value of this "
                              "label (present or absent) plays the gold label.")
frame = None
with ui.guard("Could not build the data map"):
    frame = ui.datamaps.data_map(name, label)
if frame is None:
    st.stop()
if frame.empty:
    ui.empty_state("No recorded training row is in the current dataset any more.", None)
    st.stop()

counts = D.region_counts(frame)
cols = st.columns(4)
for col, (region, n) in zip(cols, counts.items()):
    col.metric(region, f"{n:,}", f"{n / len(frame):.1%}", delta_color="off")
cols[3].metric("cleanlab flags", f"{int(frame['flagged'].sum()):,}")
source = ("recorded during training, " if frame.attrs.get("source") == "training" else "out-of-fold, repeated "
          "cross-validation, ") + f"{frame.attrs.get('n_evals')} evaluations"
st.caption(f"{len(frame):,} training rows of {info.dataset} ({source}). Label issues by "
           f"{frame.attrs.get('engine', 'cleanlab')}.")

event = st.plotly_chart(data_map_figure(frame, title=f"Data map of {name}" + (f" — {label}" if label else "")),
                        on_select="rerun", selection_mode=("points", "box", "lasso"), key=f"datamaps-chart-{name}")
points = (event.selection.points if event else None) or []
picked = sorted({int(p["customdata"]) for p in points if p.get("customdata") is not None})

st.subheader("Rows")
if picked:
    st.caption(f"{len(picked):,} rows selected on the map (clear the selection to pick by region instead).")
    rows = frame.iloc[picked]
else:
    c1, c2 = st.columns([3, 1])
    regions = c1.multiselect("Regions", list(D.REGIONS), default=["hard-to-learn"], key="datamaps-regions")
    only_flagged = c2.checkbox("Only cleanlab-flagged", key="datamaps-flagged")
    mask = frame["region"].isin(regions).to_numpy()
    if only_flagged:
        mask &= frame["flagged"].to_numpy()
    rows = frame[mask].sort_values("confidence")
st.caption(f"{len(rows):,} rows" + (f"; the first {MAX_TABLE_ROWS:,} shown" if len(rows) > MAX_TABLE_ROWS else ""))
table = rows[["row_id", "text", "label", "suggested", "region", "confidence", "variability", "correctness",
              "flagged"]]
st.dataframe(table.head(MAX_TABLE_ROWS), hide_index=True, column_config={
    "text": st.column_config.TextColumn("text", width="large"),
    **{c: st.column_config.NumberColumn(c, format="%.3f") for c in ("confidence", "variability", "correctness")},
})
ui.csv_download(table, f"datamap-{name}.csv", key="datamaps-csv")

with st.form("datamaps-slice"):
    st.markdown("**Save these rows as a slice** (a named set of texts, reusable on the Slices page)")
    slice_name = st.text_input("Slice name", value="hard-to-learn" if not picked else "map-selection")
    description = st.text_input("Description", value=f"data map of {name}: {len(rows):,} rows")
    if st.form_submit_button("Save as slice", disabled=rows.empty):
        with ui.guard("Could not save the slice"):
            st.success(ui.datamaps.save_rows_as_slice(info.dataset, slice_name, list(np.asarray(rows["text"])),
                                                      description))
