"""Overview: what the lab is, the trained models, the datasets, and a one-click baseline."""
import pandas as pd
import streamlit as st

import ui

ui.page_header(
    "Text Classification Lab",
    "Train, compare and understand text classifiers on built-in or your own datasets. "
    "Every number here can be reproduced with `python -m core ...`.",
)

st.markdown(
    "- **Dataset** — statistics of a dataset (classes, lengths, duplicates, leakage) or upload your own file.\n"
    "- **Train** — pick a dataset and a model family; training runs in the background with a progress bar.\n"
    "- **Predict** — type a text and see class probabilities and the words behind them.\n"
    "- **Errors / Compare** — confusion matrices, misclassified examples, and a leaderboard of all models."
)

BASELINE = {"dataset": "ag_news", "kind": "tfidf"}

st.subheader("Trained models")
with ui.guard("Listing models"):
    infos = ui.artifact_infos(include_broken=True)
    ok = [i for i in infos if i.ok]
    broken = [i for i in infos if not i.ok]
    if ok:
        st.dataframe(
            ui.models_frame(ok), hide_index=True,
            column_config={
                "accuracy": st.column_config.NumberColumn("accuracy", format="%.3f"),
                "f1_macro": st.column_config.NumberColumn("macro F1", format="%.3f"),
                "size_mb": st.column_config.NumberColumn("size (MB)", format="%.2f"),
            },
        )
        warned = [i for i in ok if i.warnings]
        if warned:
            with st.expander(f"{len(warned)} model(s) made with other library versions"):
                for i in warned:
                    st.write(f"`{i.name}`: " + "; ".join(i.warnings))
    else:
        st.info("No model trained yet. Train a TF-IDF baseline on AG News in about a minute, "
                "or choose any dataset and family on the Train page.", icon=":material/info:")
        available = {d["name"] for d in ui.dataset_list() if d.get("available", True)}
        if BASELINE["dataset"] in available:
            if st.button("Train a baseline (TF-IDF on AG News)", type="primary", icon=":material/play_arrow:"):
                if ui.start_job(BASELINE["dataset"], BASELINE["kind"]):
                    st.rerun()
        else:
            st.caption("AG News is not available on this machine; pick another dataset on the Train page.")
        ui.page_link(ui.PAGE_TRAIN, "Open the Train page", ":material/model_training:")
    if broken:
        with st.expander(f"{len(broken)} unusable model folder(s)"):
            st.dataframe(pd.DataFrame([{"folder": i.name, "reason": i.broken} for i in broken]), hide_index=True)

ui.job_monitor(key="overview-jobs", recent=1, max_age_s=3600)  # finished jobs stay listed on Train

st.subheader("Datasets")
st.caption("Built-in datasets are read from the data search path; uploaded ones from your user data folder.")
with ui.guard("Listing datasets"):
    rows = ui.dataset_list()
    if rows:
        df = pd.DataFrame(rows)
        cols = [c for c in ("name", "title", "task", "language", "available", "where") if c in df.columns]
        st.dataframe(df[cols], hide_index=True)
    else:
        ui.empty_state("No datasets found.", ui.PAGE_DATASET, "Upload a dataset", ":material/upload:")
