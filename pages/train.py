"""Train: choose a dataset, a model family and its settings; training runs as a background process."""
import math
from typing import Any

import streamlit as st

import ui

ui.page_header(
    "Train a model",
    "Pick a dataset and a model family, adjust its settings and start training. Training runs in a background "
    "process: the progress bar survives page reloads, and the model appears everywhere when it is done.",
)


def param_widget(p: "ui.Param", key: str) -> Any:
    """One widget for one declared parameter: selectbox / multiselect for choices, checkbox for bools,
    number_input (with bounds) for numbers, text_input for lists and strings."""
    label, help_, t = p.name.replace("_", " "), p.help or None, p.kind
    if p.choices is not None and (p.multi or t is list):
        default = [c for c in (p.default or []) if c in p.choices]
        return st.multiselect(label, list(p.choices), default=default, help=help_, key=key)
    if p.choices is not None:
        opts = list(p.choices)
        return st.selectbox(label, opts, index=opts.index(p.default) if p.default in opts else 0,
                            format_func=lambda c: "none" if c is None else str(c), help=help_, key=key)
    if t is bool:
        return st.checkbox(label, value=bool(p.default), help=help_, key=key)
    if t is int or t is float:
        cast = int if t is int else float
        kwargs: dict[str, Any] = {"help": help_, "key": key}
        if p.min is not None:
            kwargs["min_value"] = cast(p.min)
        if p.max is not None:
            kwargs["max_value"] = cast(p.max)
        if t is float:
            kwargs["format"] = "%g"
            # a step of the default's order of magnitude: 1e-5 for a learning rate, 0.1 for dropout
            kwargs["step"] = 10.0 ** math.floor(math.log10(abs(p.default))) if p.default else 0.1
        value = None if p.default is None else cast(p.default)
        return st.number_input(label, value=value, **kwargs)
    if t is list:
        text = st.text_input(label, value=", ".join(map(str, p.default or [])), help=(help_ or "") +
                             " (comma separated)", key=key)
        return text
    return st.text_input(label, value="" if p.default is None else str(p.default), help=help_, key=key)


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
    basic = [p for p in params if not p.advanced]
    advanced = [p for p in params if p.advanced]
    values: dict[str, Any] = {}
    cols = st.columns(2)
    for i, p in enumerate(basic):
        with cols[i % 2]:
            values[p.name] = param_widget(p, f"train-{kind}-{p.name}")
    if advanced:
        with st.expander("Advanced settings"):
            acols = st.columns(2)
            for i, p in enumerate(advanced):
                with acols[i % 2]:
                    values[p.name] = param_widget(p, f"train-{kind}-{p.name}")
    c1, c2 = st.columns(2)
    max_train = c1.number_input("Max training rows (0 = all)", min_value=0, value=0, step=500,
                                help="Train on a seeded random sample of the training split to go faster.")
    run_name = c2.text_input("Run name (optional)", help="Letters, digits, '.', '_' and '-'; "
                             "a name with the dataset, family and time is chosen if empty.")
    submitted = st.form_submit_button("Train", type="primary", icon=":material/play_arrow:")

if submitted:
    try:
        resolved = ui.resolve_params(params, values, kind)  # validate here: mistakes show at once, not in a job log
    except ui.ParamError as exc:
        ui.show_error(exc, "Check the settings")
    else:
        # only settings that differ from the defaults go on the job's command line
        def same(a: Any, b: Any) -> bool:  # list settings come back from text inputs as strings
            return a == b or (isinstance(a, list) and isinstance(b, list) and list(map(str, a)) == list(map(str, b)))

        changed = {p.name: resolved[p.name] for p in params if not same(resolved[p.name], p.default)}
        job = ui.start_job(dataset, kind, changed, run_name.strip() or None, max_train=int(max_train) or None)
        if job:
            st.toast(f"Training started (job {job}).", icon=":material/play_arrow:")

st.subheader("Training jobs")
st.caption("Running jobs update every second; finished ones link to the new model.")
if not ui.job_monitor(key="train-jobs", recent=5):
    st.caption("No training running.")
