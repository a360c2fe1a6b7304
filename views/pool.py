"""Active learning: an unlabeled pool beside a dataset, ranked by a model's uncertainty (near duplicates kept
out of one batch), exported to label, imported back, added to the dataset as a new version and retrained; a
learning curve estimates how many labelled rows a target metric needs."""
import pandas as pd
import streamlit as st

import ui
from core.data.formats import ACCEPTED_EXTENSIONS, read_table
from core.pool import curve as curves
from core.pool import grow, labels, rank, store
from core.pool.plot import curve_figure

ui.page_header(
    "Active learning",
    "Add texts without labels, let a model pick the ones it is least sure of, label them, grow the dataset "
    "and retrain; the learning curve says how many labelled rows a target needs.",
)

dataset = ui.pick_dataset(key="pool-dataset")
if dataset is None:
    st.stop()
counts = store.summary(dataset)
c = st.columns(4)
for col, (key, title) in zip(c, (("unlabelled", "Unlabelled"), ("labelled", "Labelled, not yet added"),
                                 ("used", "Added to the dataset"), ("total", "Pool size"))):
    col.metric(title, f"{counts[key]:,}")

with st.expander("Add texts to the pool", expanded=counts["total"] == 0):
    up = st.file_uploader("A file of texts (no labels needed)", type=[e.lstrip(".") for e in ACCEPTED_EXTENSIONS],
                          key="pool-file", help="CSV / TSV / JSONL / Parquet; the text column is guessed.")
    pasted = st.text_area("…or paste texts, one per line", key="pool-paste", height=100)
    if st.button("Add to the pool", key="pool-add", icon=":material/playlist_add:", disabled=not (up or pasted.strip())):
        with ui.guard("Adding texts"):
            texts = store.texts_from_table(read_table(up.getvalue(), up.name)) if up else []
            texts += [t for t in pasted.splitlines() if t.strip()]
            ds = ui.load_dataset(dataset)
            known = {t for s in ds.splits().values() for t in s.texts}
            added = store.add_texts(dataset, texts, known)
            st.success(f"Added {added['added']:,} texts ({added['duplicate']} already pooled, {added['in_dataset']} "
                       f"already in the dataset, {added['blank']} blank skipped).", icon=":material/check:")
            counts = store.summary(dataset)

st.subheader("1 · Rank the next batch to label")
model = ui.pick_model(dataset, key="pool-model", label="Model that picks")
if model is None:
    st.stop()
c1, c2, c3 = st.columns(3)
size = c1.number_input("Batch size", 1, 1000, 50, key="pool-size")
method = c2.selectbox("Uncertainty", list(rank.METHODS), key="pool-method",
                      format_func=lambda m: f"{m} — {rank.METHODS[m][1]}")
max_sim = c3.slider("Near-duplicate cosine", 0.5, 1.0, 0.9, 0.01, key="pool-maxsim",
                    help="A text this similar to one already in the batch is skipped.")
if st.button("Rank the pool", key="pool-rank", type="primary", icon=":material/sort:",
             disabled=counts["unlabelled"] == 0):
    bar = st.progress(0.0, text="scoring the pool")
    with ui.guard("Ranking the pool"):
        st.session_state["pool-batch"] = (dataset, model, rank.rank_pool(
            model, dataset, int(size), method, float(max_sim),
            progress=lambda share, msg: bar.progress(min(share, 1.0), text=msg)))
if counts["unlabelled"] == 0:
    st.caption("The pool has no unlabelled text: add some above.")
batch = st.session_state.get("pool-batch")
if batch and batch[:2] == (dataset, model):
    frame: pd.DataFrame = batch[2]
    a = frame.attrs
    st.caption(f"{len(frame)} of {a.get('pool', 0):,} unlabelled texts by {a.get('method')}; "
               f"{a.get('near_duplicates_skipped', 0)} near duplicates skipped ({a.get('space')} space).")
    st.dataframe(frame, hide_index=True, column_config={"uncertainty": st.column_config.ProgressColumn(
        "uncertainty", min_value=0.0, max_value=1.0, format="%.3f")})
    st.download_button("Download the batch to label (CSV)", labels.export_batch(dataset, frame),
                       file_name="batch-to-label.csv", mime="text/csv", icon=":material/download:",
                       key="pool-export", help="Fill the label column (multi-label: names joined by ';').")

st.subheader("2 · Import the labels")
ds = ui.load_dataset(dataset)
done = st.file_uploader("The labelled batch (same columns; empty labels are skipped)", key="pool-labels",
                        type=[e.lstrip(".") for e in ACCEPTED_EXTENSIONS])
if done is not None and st.button("Import labels", key="pool-import", icon=":material/upload:"):
    with ui.guard("Importing labels"):
        result = labels.import_labels(dataset, read_table(done.getvalue(), done.name), list(ds.labels), ds.multilabel)
        st.success(f"Labelled {result.labelled} pool rows ({result.relabelled} relabelled, {result.skipped_blank} "
                   f"left blank).", icon=":material/check:")
        counts = store.summary(dataset)

st.subheader("3 · Grow the dataset and retrain")
st.caption(f"{counts['labelled']:,} labelled pool rows are waiting to be added to {dataset}.")
if st.button("Save as a new dataset version", key="pool-grow", icon=":material/library_add:",
             disabled=counts["labelled"] == 0):
    with ui.guard("Growing the dataset"):
        st.session_state["pool-grown"] = grow.save_grown(dataset)
        ui.refresh_datasets()
grown = st.session_state.get("pool-grown")
if grown:
    st.success(f"Saved {grown}: the old version stays loadable.", icon=":material/check:")
    with ui.guard("Retraining"):
        kind, params, max_train = grow.retrain_settings(model)
        if st.button(f"Retrain {model}'s settings ({kind}) on {grown}", key="pool-retrain",
                     icon=":material/model_training:"):
            ui.start_job(grown, kind, params, max_train=max_train)
    ui.job_monitor(key="pool-jobs")

st.subheader("Learning curve")
with ui.guard("Learning curve"):
    fractions = st.multiselect("Shares of the training rows to retrain on", [0.05, 0.1, 0.2, 0.35, 0.5, 0.75],
                               default=list(curves.DEFAULT_FRACTIONS), key="pool-fractions")
    est = curves.estimate_seconds(model, fractions) if fractions else None
    target = st.number_input("Target metric", 0.0, 1.0, 0.9, 0.01, key="pool-target")
    if est is not None:
        st.caption(f"About {est:,.0f} s of retraining ({len(fractions)} retrains of {model}'s family).")
    if st.button("Draw the learning curve", key="pool-curve", disabled=not fractions, icon=":material/show_chart:"):
        bar = st.progress(0.0, text="retraining")
        curves.learning_curve(model, fractions, progress=lambda s, m: bar.progress(min(s, 1.0), text=m))
    curve = curves.saved_curve(model)
    if curve is not None:
        st.plotly_chart(curve_figure(curve, target), key="pool-curve-chart")
        need = curve.rows_needed(target)
        if curve.fit is None:
            st.info("Too few points for a fit: add shares.", icon=":material/info:")
        elif need:
            st.markdown(f"About **{need:,}** labelled training rows for test {curve.metric} {target:.3f} "
                        f"(plateau of the fit: {curve.fit['a']:.3f}; now {curve.rows[-1]:,} rows).")
        else:
            st.warning(f"The fit levels off at {curve.fit['a']:.3f}: {target:.3f} looks out of reach with more "
                       "rows of this kind; try another model family.", icon=":material/warning:")
        for note in curve.notes:
            st.caption(note)
        ui.csv_download(pd.DataFrame({"rows": curve.rows, curve.metric: curve.values}), "learning-curve.csv",
                        key="pool-curve-csv")
