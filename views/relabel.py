"""Relabel: the rows whose label is probably wrong, best evidence first; accept, change or exclude, then retrain."""
import streamlit as st

import ui
from core import artifacts
from core import dynamics as D
from core.relabel.corrections import Correction, add_corrections, default_user, load_overlay
from core.relabel.transfer import export_csv, import_csv, overlay_frame

#: Queue rows editable at once (the CSV download holds the whole queue).
MAX_EDIT_ROWS = 200
ACTIONS = ["", "accept suggestion", "other label", "exclude"]

ui.page_header(
    "Relabel",
    "Training and test rows ranked by combined evidence that their label is wrong: hard-to-learn on the model's "
    "data map, cleanlab's label-issue flag, near duplicates labelled differently. Accept the model's suggestion, "
    "pick another label or exclude the row. Corrections are saved as a versioned overlay next to the dataset "
    "(the data itself is never modified); retraining applies them as a new dataset version.",
)

name = ui.pick_model(key="relabel-model")
if name is None:
    st.stop()
info = artifacts.get_artifact(name)
if D.status(name) == "unavailable":
    ui.empty_state(f"{name} ({info.kind}) has no recorded training dynamics: it was trained before they were "
                   "recorded. Retrain it (same settings) to get its relabel queue.")
    st.stop()
queue = ds = None
with ui.guard("Could not build the relabel queue"):
    ds = D.model_dataset(name)
    queue = ui.datamaps.relabel_queue(name)
if queue is None or ds is None:
    st.stop()
labels = list(ds.labels)
who = st.text_input("Your name (recorded with each correction)", value=default_user(), key="relabel-who")

st.subheader("Queue")
st.caption(f"{len(queue):,} rows queued for {queue.attrs.get('dataset')} ({queue.attrs.get('corrected', 0):,} "
           "already corrected are left out). Score = one point per kind of evidence + (1 − probability of the "
           "given label).")


def save(corrections: list[Correction]) -> None:
    with ui.guard("Corrections not saved"):
        overlay = add_corrections(ds, corrections)
        st.session_state["relabel-saved"] = (f"Saved {len(corrections):,} correction(s): corrections "
                                             f"v{overlay.version} of {overlay.dataset}, {len(overlay.entries):,} "
                                             "in all.")
        st.rerun()


if msg := st.session_state.pop("relabel-saved", None):
    st.success(msg)

with st.form("relabel-bulk"):
    c1, c2, c3 = st.columns([1, 2, 2])
    top = c1.number_input("Top rows", min_value=1, max_value=max(1, len(queue)), value=min(20, max(1, len(queue))))
    bulk = c2.selectbox("Action", ["accept suggestion", "exclude"], key="relabel-bulk-action")
    why = c3.text_input("Why", value="relabel queue, top rows", key="relabel-bulk-why")
    if st.form_submit_button("Apply to the top rows", disabled=queue.empty):
        rows = queue.head(int(top))
        if bulk == "accept suggestion":
            rows = rows[rows["suggested"] != rows["label"]]
        save([Correction(r, s, exclude=bulk == "exclude", why=why, who=who)
              for r, s in zip(rows["row_id"], rows["suggested"])])

shown = queue.head(MAX_EDIT_ROWS)[["rank", "row_id", "split", "text", "label", "suggested", "score", "reasons"]]
editor = shown.assign(action="", new_label=shown["suggested"], why="")
edited = st.data_editor(
    editor, hide_index=True, key=f"relabel-editor-{name}", disabled=list(shown.columns),
    column_config={
        "text": st.column_config.TextColumn("text", width="large"),
        "score": st.column_config.NumberColumn("score", format="%.2f"),
        "action": st.column_config.SelectboxColumn("action", options=ACTIONS),
        "new_label": st.column_config.SelectboxColumn("new label", options=sorted(set(labels) | set(shown["suggested"]))),
    })
if st.button("Save the rows with an action", key="relabel-save-rows", disabled=queue.empty):
    chosen = edited[edited["action"].astype(str) != ""]
    save([Correction(r["row_id"], r["suggested"] if r["action"] == "accept suggestion" else str(r["new_label"]),
                     exclude=r["action"] == "exclude", why=r["why"] or r["reasons"], who=who)
          for r in chosen.to_dict("records")])
ui.csv_download(queue, f"relabel-queue-{name}.csv", key="relabel-queue-csv")

st.subheader("Corrections")
overlay = load_overlay(ds)
st.caption(f"{overlay.dataset}: corrections v{overlay.version}, {len(overlay.entries):,} row(s). Export / import as "
           "CSV (columns row_id, new_label, exclude, who, when, why, fingerprint): a file with unknown rows or "
           "labels, duplicates or another dataset's fingerprint is refused whole.")
frame = overlay_frame(ds, overlay)
st.dataframe(frame.drop(columns=["dataset", "fingerprint"]), hide_index=True)
st.download_button("Export corrections (CSV)", data=export_csv(ds), mime="text/csv", key="relabel-export",
                   file_name=f"corrections-{overlay.dataset.replace(':', '-')}.csv", disabled=frame.empty)
upload = st.file_uploader("Import corrections (CSV)", type=["csv"], key="relabel-import")
if upload is not None and st.button("Import", key="relabel-import-go"):
    with ui.guard("Corrections file refused"):
        new = import_csv(ds, upload.getvalue(), who=who)
        st.success(f"Imported: corrections v{new.version}, {len(new.entries):,} row(s) in all.")

st.subheader("Retrain with the corrections")
st.caption(f"Saves the corrected data as a new dataset version and trains a {info.kind} model with the settings "
           f"of {name} on it (a background job); Compare then shows the two side by side.")
new_name = st.text_input("New model name (empty = automatic)", key="relabel-new-name") or None
if st.button("Retrain", key="relabel-retrain", disabled=not overlay.entries, type="primary"):
    if ui.datamaps.start_retrain(name, new_name):
        st.success("Retraining started.")
ui.job_monitor(key="relabel-jobs", recent=1, max_age_s=3600)
