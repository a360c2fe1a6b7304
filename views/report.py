"""Model card & report: the README.md model card the lab writes into every model folder, and a one-file HTML
lab report for a meeting (metrics, confusion, errors with explanations, compression scorecard)."""
import streamlit as st

import ui
from core.cards import card as cards
from core.cards.report import N_ERRORS, N_EXPLAINED, lab_report_html
from core.errors import LabError

ui.page_header(
    "Model card & report",
    "A Hugging Face style model card written from the lab's own records (data, settings, metrics per class, "
    "lineage, limitations), and a self-contained HTML report to take to a meeting.",
)

name = ui.pick_model(key="report-model")
if name is None:
    st.stop()
info = ui.artifact_info(name)
card_path = info.path / cards.CARD_FILE

st.subheader("Model card")
license_id = st.text_input("License (metadata)", value=cards.recorded_license(card_path) or cards.DEFAULT_LICENSE,
                           key=f"report-license-{name}", max_chars=64,
                           help="An SPDX-style id such as mit or apache-2.0; 'other' when it is stated elsewhere.")
with ui.guard("Writing the model card"):
    text = cards.model_card(name, license=license_id.strip() or None)
    front, _, body = text.removeprefix("---\n").partition("\n---\n")
    body = body.rsplit("\n<!--", 1)[0]  # the lab's seal is for the file, not for reading
    with st.expander("Metadata (YAML, model-index with the test metrics)"):
        st.code(front, language="yaml")
    with st.container(border=True):
        st.markdown(body)
    c1, c2 = st.columns(2)
    c1.download_button("Download README.md", text.encode("utf-8"), file_name=f"{name}-README.md",
                       mime="text/markdown", icon=":material/download:", key="report-card-download")
    edited = cards.edited_by_hand(card_path)
    if edited:
        st.warning("The README.md in the model's folder was edited by hand; writing replaces those edits.",
                   icon=":material/warning:")
    replace = st.checkbox("Replace my edits", key="report-card-force") if edited else False
    if c2.button("Write README.md into the model folder", key="report-card-write", icon=":material/save:",
                 disabled=edited and not replace):
        try:
            path = cards.write_card(name, license=license_id.strip() or None, force=replace)
        except LabError as e:
            ui.show_error(e)
        else:
            st.success(f"Wrote {path.name} in the folder of {name}.", icon=":material/check:")

st.subheader("Lab report")
c1, c2 = st.columns(2)
n_errors = c1.number_input("Most confident errors listed", 0, 100, N_ERRORS, key="report-errors")
n_explained = c2.number_input("Of those, explained", 0, 20, N_EXPLAINED, key="report-explained",
                              help="Each explanation costs a fraction of a second (TF-IDF) to several seconds.")
stamp = (name, info.created, int(n_errors), int(n_explained))
if st.button("Build the report", key="report-build", icon=":material/description:", type="primary"):
    bar = st.progress(0.0, text="collecting the records")
    with ui.guard("Building the report"):
        st.session_state["report-html"] = (stamp, lab_report_html(
            name, n_errors=int(n_errors), n_explained=int(n_explained),
            progress=lambda share, msg: bar.progress(min(max(share, 0.0), 1.0), text=msg)))
built = st.session_state.get("report-html")
if built and built[0] == stamp:
    html = built[1]
    st.download_button(f"Download the report ({len(html) / 1e6:.1f} MB HTML)", html.encode("utf-8"),
                       file_name=f"{name}-lab-report.html", mime="text/html", icon=":material/download:",
                       key="report-download")
    st.caption("One HTML file: opens offline, every text escaped, charts interactive. Command line: "
               f"`python -m core report {name} --out report.html`.")
else:
    st.caption(f"Command line twin: `python -m core report {name} --out report.html`.")
