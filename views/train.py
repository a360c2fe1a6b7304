"""Train: choose a dataset, a model family and its settings; training runs as a background process."""
import streamlit as st

import ui
from core.params import changed_settings, resolve_for

ui.page_header(
    "Train a model",
    "Pick a dataset and a model family, adjust its settings and start training. Training runs in a background "
    "process: the progress bar survives page reloads, and the model appears everywhere when it is done.",
)


dataset = ui.pick_dataset(key="train-dataset")
if dataset is None:
    st.stop()

families, unavailable = ui.families()
for kind, reason in unavailable.items():
    st.warning(f"Model family `{kind}` is unavailable here: {reason}", icon=":material/warning:")
if not families:
    ui.empty_state("No model family is available.", None)
    st.stop()

kind = st.selectbox("Model family", list(families), key="train-kind",
                    format_func=lambda k: getattr(families[k], "TITLE", k))
fam = families[kind]
st.caption(getattr(fam, "DESCRIPTION", ""))

with st.form("train-form", border=True):
    params = list(getattr(fam, "PARAMS", []))
    values = ui.param_fields(params, f"train-{kind}")
    c1, c2 = st.columns(2)
    max_train = c1.number_input("Max training rows (0 = all)", min_value=0, value=0, step=500,
                                help="Train on a seeded random sample of the training split to go faster.")
    run_name = c2.text_input("Run name (optional)", help="Letters, digits, '.', '_' and '-'; "
                             "a name with the dataset, family and time is chosen if empty.")
    b1, b2 = st.columns([1, 5])
    submitted = b1.form_submit_button("Train", type="primary", icon=":material/play_arrow:")
    estimate = b2.form_submit_button("Estimate", icon=":material/timer:",
                                     help="Steps, time and peak memory of this run, measured in a few real "
                                          "training steps (nothing is saved)")

if "init_embeddings" in values:  # what the pretrained start means for this dataset (auto: by its language)
    with ui.guard("Could not detect the dataset's language"):
        st.caption(f"Embedding start: {ui.embedding_start(dataset, str(values['init_embeddings']))}")

if estimate:
    with ui.guard("Check the settings"):
        resolved = resolve_for(kind, params, values)
        ui.estimate_panel(dataset, kind, changed_settings(params, resolved), int(max_train) or None)

if submitted:
    with ui.guard("Check the settings"):
        resolved = resolve_for(kind, params, values)  # validate here: mistakes show at once, not in a job log
        # only settings that differ from the defaults go on the job's command line
        job = ui.start_job(dataset, kind, changed_settings(params, resolved), run_name.strip() or None,
                           max_train=int(max_train) or None)
        if job:
            st.toast(f"Training started (job {job}).", icon=":material/play_arrow:")

st.subheader("Training jobs")
st.caption("Running jobs update every second; finished ones link to the new model.")
if not ui.job_monitor(key="train-jobs", recent=5):
    st.caption("No training running.")

started = [i for i in ui.artifact_infos(dataset) if i.manifest.get("embedding_init")][:5]
if started:
    st.subheader("Embedding start of recent models")
    st.dataframe([{"model": i.name, "embedding start": i.manifest["embedding_init"].get("description"),
                   "vocabulary covered": i.manifest["embedding_init"].get("coverage")} for i in started],
                 hide_index=True)
