"""Overview: what the lab is, the trained models, the datasets, and a one-click baseline."""
import pandas as pd
import streamlit as st

import ui
from core.artifact_tables import models_frame

ui.page_header(
    "Text Classification Lab",
    "Train, compare and understand text classifiers on built-in or your own datasets. "
    "Every number here can be reproduced from the command line with `python -m core`.",
)

st.markdown(
    "- **Dataset** — statistics of a dataset (classes, lengths, duplicates, leakage) or upload your own file.\n"
    "- **Train** — pick a dataset and a model family; training runs in the background with a progress bar.\n"
    "- **Predict** — type a text and see class probabilities and the words behind them.\n"
    "- **Errors / Compare** — confusion matrices, misclassified examples, and a leaderboard of all models."
)

BASELINE = {"dataset": "ag_news", "kind": "tfidf"}

st.subheader("Trained models")
infos = []
with ui.guard("Listing models"):
    infos = ui.artifact_infos(include_broken=True)
    ok = [i for i in infos if i.ok]
    broken = [i for i in infos if not i.ok]
    if ok:
        st.dataframe(
            models_frame(ok, ui.dataset_marks()), hide_index=True,
            column_config={
                "data": st.column_config.TextColumn("data", help="“dataset changed”: the dataset was re-saved or "
                                                    "edited since the model was scored; “dataset gone”: it is no "
                                                    "longer available. Its scores describe the old data."),
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
        st.info("No model trained yet. Train a TF-IDF baseline on AG News in about a minute, build the demo zoo "
                "so every page has models to show, or choose any dataset and family on the Train page.",
                icon=":material/info:")
        available = {d["name"] for d in ui.dataset_list() if d.get("available", True)}
        busy = ui.jobs_running()  # one background job at a time from here: a second click would only compete
        cols = st.columns(3)
        if BASELINE["dataset"] in available:
            if cols[0].button("Train a baseline (TF-IDF on AG News)", type="primary", icon=":material/play_arrow:",
                              disabled=busy):
                if ui.start_job(BASELINE["dataset"], BASELINE["kind"]):
                    st.rerun()
        else:
            cols[0].caption("AG News is not available on this machine; pick another dataset on the Train page.")
        if cols[1].button("Build the demo zoo (quick, ~2 min)", icon=":material/bolt:", disabled=busy,
                          help="`python -m core zoo --quick`: small TF-IDF baselines on AG News and SMS spam."):
            if ui.start_zoo(quick=True):
                st.rerun()
        if cols[2].button("Build the full zoo (~20 min)", icon=":material/category:", disabled=busy,
                          help="`python -m core zoo`: on AG News TF-IDF, a BiLSTM, fine-tuned MiniLM and its LoRA "
                               "twin, a distilled student and int8 variants; a TF-IDF baseline on every other "
                               "dataset. Models that already exist are skipped."):
            if ui.start_zoo(quick=False):
                st.rerun()
        ui.page_link(ui.PAGE_TRAIN, "Open the Train page", ":material/model_training:")
    if broken:
        with st.expander(f"{len(broken)} unusable model folder(s)"):
            st.dataframe(pd.DataFrame([{"folder": i.name, "reason": i.broken} for i in broken]), hide_index=True)


def _delete(target: str | None) -> None:
    # A callback (runs before the next script run), so it may reset the confirmation box.
    typed = st.session_state.get("overview-delete-confirm", "")
    try:
        ui.delete_model(target or "", typed)
    except Exception as exc:  # noqa: BLE001 - shown on the page, nothing was deleted
        st.session_state["_overview_delete_msg"] = ("error", str(exc))
    else:
        st.session_state["_overview_delete_msg"] = ("success", f"Deleted model `{target}`.")
        st.session_state["overview-delete-confirm"] = ""
        st.session_state.pop("overview-delete-model", None)


if infos:
    with st.expander("Delete a model", icon=":material/delete:"):
        st.caption("Deleting removes the model's folder (weights, metrics, predictions) for every user; it cannot "
                   "be undone. Type the model's name to confirm.")
        target = st.selectbox("Model to delete", [i.name for i in infos], index=None, placeholder="Choose a model",
                              key="overview-delete-model")
        typed = st.text_input("Type the model's name to confirm", key="overview-delete-confirm")
        st.button("Delete permanently", key="overview-delete", icon=":material/delete_forever:",
                  disabled=not target or typed != target, on_click=_delete, args=(target,))
msg = st.session_state.pop("_overview_delete_msg", None)
if msg:
    (st.success if msg[0] == "success" else st.error)(msg[1])

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
