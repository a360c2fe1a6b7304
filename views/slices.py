"""Slices: where a model fails, as groups of texts (automatic tags, the user's saved slices, discovered error
clusters) with metrics and bootstrap intervals; a compressed variant against its parent, slice by slice."""
import pandas as pd
import streamlit as st

import ui
from core import lineage
from core.slices import plots as splots
from core.slices import store
from core.slices.discovery import cluster_texts
from core.slices.table import largest_gaps

#: Rows of a cluster's texts drawn in the browser (the CSV download has all of them).
MAX_TEXT_ROWS = 1000
#: Metadata column values offered in the column-slice form.
MAX_VALUES = 200
TABLE_CONFIG = {
    "share": st.column_config.NumberColumn("share", format="%.3f"),
    "lift": st.column_config.NumberColumn("error lift", format="%.2f", help="error rate / the whole set's"),
}

ui.page_header(
    "Slices",
    "Metrics by slice: automatic tags (length, digits, URLs, negation, duplicates of training texts, low "
    "confidence, label suspicion...), your saved slices (keyword, regex, metadata column) and clusters of the "
    "errors, each with a 95% bootstrap interval. `python -m core slices MODEL` prints the same tables.",
)

dataset, _infos = ui.dataset_and_models("slices-dataset")
name = ui.pick_model(dataset, key="slices-model")
if name is None:
    st.stop()
preds = None
with ui.guard("Could not read the stored predictions"):
    preds = ui.load_predictions(name)
if preds is None:
    st.stop()
evaluation, preds, _metrics = ui.evaluated_on(name, preds, "slices-evaluated-on")
info = ui.artifact_info(name)
rows_of = evaluation  # None = the model's own test split; else the evaluation record's id

table = None
with ui.guard("Could not compute the slice table"):
    table = ui.slice_table(name, rows_of)
if table is None:
    st.stop()
es = ui.slice_rows(name, rows_of)
main = table.attrs["main"]
overall = table.iloc[0]

c1, c2, c3 = st.columns(3)
c1.metric(f"{main} (every text)", ui.fmt(float(overall[main])),
          help=f"{int(overall['n']):,} texts; interval {ui.fmt(float(overall[main + '_lo']))}–"
               f"{ui.fmt(float(overall[main + '_hi']))}")
c2.metric("error rate", ui.fmt(float(overall["error_rate"])))
c3.metric("slices", f"{int((table['n'] > 0).sum()) - 1} non-empty")
for note in table.attrs.get("notes", []):
    st.warning(ui.md_escape(note), icon=":material/warning:")

st.subheader("Largest gaps")
gaps = largest_gaps(table)
st.caption(f"Slices of at least 20 texts whose {main} falls furthest below every text's; “significant”: the "
           "slice's whole interval lies below it.")
st.dataframe(gaps[["slice", "n", main, f"{main}_lo", f"{main}_hi", "gap", "lift", "significant", "description"]]
             .head(10), hide_index=True, column_config=TABLE_CONFIG)

st.plotly_chart(splots.slice_bars(table), width="stretch")
with st.expander("Every slice (table)"):
    st.dataframe(table, hide_index=True, column_config=TABLE_CONFIG)
ui.csv_download(table, f"slices-{name}.csv", key="slices-dl")

# --------------------------------------------------------------------------------------- against the parent
parent = info.parent if info is not None else ""
variants = lineage.descendants(name, ui.artifact_infos())
if parent and ui.artifact_info(parent) is not None:
    other = parent if st.toggle(f"Against its parent ({parent})", key="slices-against",
                                help="Which slices did compression hurt? The change of each slice's metric "
                                     "with a paired bootstrap interval (the same resampled texts for both).") else None
    pair = (name, other)
elif variants:
    choice = st.selectbox("Compare a variant of this model", ["(none)", *variants], key="slices-variant")
    pair = (choice, name) if choice != "(none)" else (None, None)
else:
    pair = (None, None)
if pair[0] and pair[1]:
    st.subheader(f"{pair[0]} against {pair[1]}")
    with ui.guard("Could not compare the two models"):
        against = ui.slice_against(pair[0], pair[1], rows_of)
        hurt = against[against["hurt"]]
        st.caption(f"{len(hurt)} slice(s) hurt (interval of the change wholly below 0): "
                   + (", ".join(hurt["slice"]) or "none"))
        st.plotly_chart(splots.delta_bars(against), width="stretch")
        st.dataframe(against, hide_index=True)
        ui.csv_download(against, f"slices-{pair[0]}-vs-{pair[1]}.csv", key="slices-against-dl")

# ------------------------------------------------------------------------------------------- saved slices
st.subheader("Your slices")
key = store.dataset_key(es.dataset)
saved = store.list_slices(es.dataset)
if saved:
    st.dataframe(pd.DataFrame([{"name": s.name, "kind": s.kind, "definition": s.summary(),
                                "description": s.description, "created": s.created} for s in saved]),
                 hide_index=True)
columns = ui.slice_columns(es)
kinds = ["keyword", "regex"] + (["column"] if columns is not None else [])
kind = st.radio("Kind", kinds, horizontal=True, key="slices-kind",
                help="keyword: texts containing any of the words; regex: texts matching the pattern; column: rows "
                     "of your uploaded file whose metadata column holds one of the values")
with st.form("slices-new"):
    new_name = st.text_input("Slice name", key="slices-new-name")
    if kind == "column":
        col = st.selectbox("Column", [c for c in columns.columns], key="slices-col")
        values = columns[col].dropna().astype(str).value_counts().index[:MAX_VALUES].tolist()
        definition = {"column": col, "values": st.multiselect("Values", values, key="slices-values")}
    elif kind == "regex":
        definition = {"pattern": st.text_input("Regular expression", key="slices-pattern"),
                      "ignore_case": st.checkbox("Ignore case", value=True, key="slices-icase")}
    else:
        words = st.text_input("Words (comma-separated)", key="slices-words")
        definition = {"words": [w.strip() for w in words.split(",") if w.strip()]}
    description = st.text_input("Description (optional)", key="slices-description")
    replace = st.checkbox("Replace a saved slice of the same name", key="slices-replace")
    if st.form_submit_button("Save slice", icon=":material/save:"):
        with ui.guard("Could not save the slice"):
            store.save_slice(es.dataset, new_name, kind, definition, description, replace=replace)
            ui.refresh_slices()
            st.success(f"Saved slice {ui.md_escape(new_name)} for {ui.md_escape(key)}.")
            st.rerun()
if saved:
    gone = st.selectbox("Delete a slice", ["(none)", *[s.name for s in saved]], key="slices-delete")
    if gone != "(none)" and st.button(f"Delete {gone}", key="slices-delete-btn", icon=":material/delete:"):
        with ui.guard("Could not delete the slice"):
            store.delete_slice(es.dataset, gone)
            ui.refresh_slices()
            st.rerun()

# ------------------------------------------------------------------------------------------------ discovery
st.subheader("Discovered error clusters")
st.caption("The errors clustered in the model's embedding space (TF-IDF space for models without one), ranked by "
           "error-rate lift; “significant”: one-sided Fisher exact test, Holm-adjusted, below 0.05. Words: what the "
           "cluster's errors say more often than the other texts.")
if st.toggle("Discover error clusters", key="slices-discover",
             help="First time: may embed a few hundred texts (cached on disk afterwards)."):
    with ui.guard("Could not discover error clusters"):
        found = ui.discover_slices(name, rows_of)
        for note in found.notes:
            st.caption(ui.md_escape(note))
        if found.clusters.empty:
            st.info("Nothing to cluster.", icon=":material/info:")
            st.stop()
        shown = found.clusters[["cluster", "n_pool", "errors", "est_n", "error_rate", "lift", "p_adjusted",
                                "significant", "top_confusion", "words"]]
        event = st.dataframe(shown, hide_index=True, on_select="rerun", selection_mode="single-row",
                             key="slices-clusters", column_config=TABLE_CONFIG)
        picked = list(getattr(getattr(event, "selection", None), "rows", []) or [])
        options = list(shown["cluster"])
        # a newly selected table row points the selectbox at its cluster once; later selectbox changes stick
        if picked and st.session_state.get("_slices_picked") != (name, picked[0]):
            st.session_state["_slices_picked"] = (name, picked[0])
            st.session_state["slices-cluster"] = options[picked[0]]
        if st.session_state.get("slices-cluster") not in options:
            st.session_state.pop("slices-cluster", None)
        cluster = st.selectbox("Read the texts of cluster", options, key="slices-cluster",
                               format_func=lambda c: f"{c}: {shown.set_index('cluster').loc[c, 'words']}")
        texts = cluster_texts(es, found, cluster)
        st.dataframe(texts.head(MAX_TEXT_ROWS), hide_index=True,
                     column_config={"text": st.column_config.TextColumn("text", width="large")})
        ui.csv_download(texts, f"cluster-{name}-{cluster}.csv", key="slices-cluster-dl")
        with st.form("slices-save-cluster"):
            cname = st.text_input("Save this cluster as a slice named", key="slices-cluster-name")
            if st.form_submit_button("Save as slice", icon=":material/bookmark_add:"):
                words = shown.set_index("cluster").loc[cluster, "words"]
                with ui.guard("Could not save the cluster as a slice"):
                    store.save_slice(es.dataset, cname, "texts", list(texts["text"]),
                                     f"error cluster of {name} ({found.space} space): {words}",
                                     source_model=name, space=found.space)
                    ui.refresh_slices()
                    st.success(f"Saved slice {ui.md_escape(cname)} ({len(texts):,} texts).")
