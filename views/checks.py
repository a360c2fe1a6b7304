"""Behavioural tests: a dataset's suite of INV / DIR / MFT tests (core.checks), edited here or as a file, run on a
model and its compressed variants; failure rates, failing examples and the side-by-side table come from the run
records `python -m core check` writes too."""
import pandas as pd
import streamlit as st

import ui
from core import checks
from core.checks import tables

ui.page_header(
    "Behavioural tests",
    "Tests after CheckList: INV (typos, punctuation, case, contractions, swapped names / numbers / places must not "
    "change the prediction), DIR (adding or removing the words of a confusion cell must move its probability the "
    "expected way), MFT (templates with expected labels). One suite per dataset, run on any model.",
)

name = ui.pick_model(key="checks-model")
if name is None:
    st.stop()
info = ui.artifact_info(name)
dataset, labels = info.dataset, list(info.manifest.get("labels") or [])

st.subheader("Suite")
saved = checks.saved_suite_text(dataset)
if saved is None:
    ui.empty_state(f"No test suite is saved for {dataset} yet. The default one samples test texts for the INV "
                   f"tests and takes the DIR tests from {name}'s most frequent confusions.", None)
    if st.button("Generate the default suite", key="checks-generate", icon=":material/auto_awesome:"):
        with ui.guard("Could not generate the suite"), st.spinner("Generating…"):
            checks.save_suite(dataset, checks.generate_for(name), labels=labels)
            st.rerun()
    st.stop()

st.caption(f"Saved as `{checks.suite_path(dataset)}` — edit it here or in that file (the schema is in "
           "core/checks/suite.py). Runs use the saved suite.")
edited = st.text_area("Suite (YAML)", value=saved, height=320, key=f"checks-suite-{checks.suite_hash(saved)}")
c1, c2, c3, c4 = st.columns([1, 1, 2, 2])
validate = c1.button("Validate", key="checks-validate", icon=":material/fact_check:")
save = c2.button("Save", key="checks-save", icon=":material/save:")
consent = c3.checkbox("Replace the saved suite", key="checks-consent",
                      help="Saving a different suite over the saved one, or regenerating it, needs this consent.")
regenerate = c4.button("Regenerate the default suite", key="checks-regenerate", icon=":material/restart_alt:")
if validate or save:
    try:
        parsed = checks.parse_suite(edited, labels)
        if save:
            checks.save_suite(dataset, edited, replace=consent, labels=labels)
            if edited != saved:
                st.rerun()
        st.success(f"Valid: {len(parsed.tests)} tests." + (" Saved." if save else ""), icon=":material/check:")
    except checks.SuiteError as e:
        st.error("The suite is not valid:", icon=":material/error:")
        st.dataframe(pd.DataFrame({"problem": e.problems}), hide_index=True)
    except Exception as e:  # noqa: BLE001 - NameTakenError (no consent) and the like: a plain message
        ui.show_error(e, "Not saved")
if regenerate:
    with ui.guard("Not regenerated"), st.spinner("Generating…"):
        checks.save_suite(dataset, checks.generate_for(name), replace=consent, labels=labels)
        st.rerun()
if edited != saved:
    st.info("The suite has unsaved edits: save them to run them.", icon=":material/edit_note:")

st.subheader("Run")
suite_hash = checks.suite_hash(saved)
variants = checks.variants_of(name)
chosen = st.multiselect("Also run on its compressed variants", variants, default=variants, key="checks-variants",
                        help="Variants built from this model (core.lineage), tested on the same inputs.")
models = [name] + chosen
if st.button("Run the suite", key="checks-run", type="primary", icon=":material/play_arrow:"):
    with ui.guard("The run failed"):
        ui.run_checks(models, saved)

records = [r for m in models if (r := checks.load_record(m, suite_hash)) is not None]
main = next((r for r in records if r["model"] == name), None)
if main is None:
    st.info(f"{name} has not been run on this suite yet. Run it here or with "
            f"`python -m core check {name}`.", icon=":material/info:")
    st.stop()

st.subheader("Failure rates")
st.caption(f"{name}: run at {main['created'].replace('T', ' ')} UTC in {main['seconds']:.1f} s; a case fails when "
           "the prediction changes (INV), the probability moves the wrong way (DIR) or the label is wrong (MFT). "
           "Skipped: texts the perturbation does not apply to.")
summary = tables.summary(main)
st.dataframe(summary, hide_index=True, column_config={
    "failure_rate": st.column_config.NumberColumn("failure rate", format="percent")})
side = tables.side_by_side(records) if len(records) > 1 else None
st.plotly_chart(tables.failure_chart(side if side is not None else summary,
                                     "Failure rate per test" + (" — model and variants" if side is not None else "")),
                key="checks-chart")
ui.csv_download(summary, f"checks_{name}_{suite_hash}.csv", "Download failure rates (CSV)", key="checks-csv")

if side is not None:
    st.subheader("Model and its variants")
    st.caption("Failure rate of every test, side by side (the same inputs for every model).")
    rates = {m: st.column_config.NumberColumn(m, format="percent") for m in side.columns[2:]}
    st.dataframe(side, hide_index=True, column_config=rates)
    ui.csv_download(side, f"checks_{name}_variants_{suite_hash}.csv", "Download side by side (CSV)",
                    key="checks-side-csv")
missing = [m for m in models if m not in {r["model"] for r in records}]
if missing:
    st.caption("Not run on this suite yet: " + ", ".join(missing))

st.subheader("Failing examples")
failing = [r["name"] for r in main["results"] if r["failed"]]
if not failing:
    st.success(f"{name} passes every test of this suite.", icon=":material/check_circle:")
    st.stop()
test = st.selectbox("Test", failing, key="checks-test")
ex = tables.examples(main, test)
st.caption(f"{len(ex)} of {int(summary.set_index('test').loc[test, 'failed'])} failing cases kept "
           "(original → perturbed, prediction before → after).")
st.dataframe(ex.drop(columns="test"), hide_index=True)
ui.csv_download(tables.examples(main), f"checks_{name}_failures.csv", "Download every failing example (CSV)",
                key="checks-examples-csv")
