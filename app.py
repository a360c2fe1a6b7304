"""Text Classification Lab dashboard: `streamlit run app.py`.

Only page configuration and navigation live here; every page is a file in views/ that lays out
what core/ returns (through the ui package). The folder is not called pages/: Streamlit would switch to its
legacy multipage mode for a `pages/` folder next to the main script. To add a page, append a row to PAGES;
rows whose file does not exist yet are skipped, so the app always starts.
"""
from pathlib import Path

import streamlit as st

st.set_page_config(page_title="Text Classification Lab", page_icon=":material/science:", layout="wide")

ROOT = Path(__file__).resolve().parent

#: (section, file, title, material icon); the first row is the default page.
PAGES: list[tuple[str, str, str, str]] = [
    ("Lab", "views/overview.py", "Overview", ":material/home:"),
    ("Data", "views/dataset.py", "Dataset", ":material/table_chart:"),
    ("Models", "views/train.py", "Train", ":material/model_training:"),
    ("Models", "views/predict.py", "Predict", ":material/edit_note:"),
    ("Models", "views/score.py", "Batch scoring", ":material/fact_check:"),
    ("Analysis", "views/errors.py", "Errors", ":material/grid_on:"),
    ("Analysis", "views/compare.py", "Compare", ":material/leaderboard:"),
    ("Analysis", "views/explain.py", "Explain", ":material/psychology:"),
    ("Analysis", "views/embeddings.py", "Embeddings", ":material/scatter_plot:"),
    ("Models", "views/curves.py", "Training curves", ":material/show_chart:"),
    ("Models", "views/compression.py", "Compression", ":material/compress:"),
    ("Analysis", "views/slices.py", "Slices", ":material/splitscreen:"),
    ("Analysis", "views/checks.py", "Behavioural tests", ":material/rule:"),
    ("Data", "views/datamaps.py", "Data maps", ":material/bubble_chart:"),
    ("Data", "views/relabel.py", "Relabel", ":material/edit_note:"),
    ("Data", "views/pool.py", "Active learning", ":material/label:"),
    ("Lab", "views/report.py", "Model card & report", ":material/description:"),
]

# a link like ?model=NAME&dataset=NAME (demo bookmarks, "open in" links) preselects them on every page: the
# pickers fall back to these remembered choices, which survive navigation while the URL's parameters do not
for _param, _shared in (("model", "_shared_model"), ("dataset", "_shared_dataset")):
    _value = st.query_params.get(_param)
    if _value and st.session_state.get(f"_seeded_{_param}") != _value:
        st.session_state[_shared] = _value
        st.session_state[f"_seeded_{_param}"] = _value

sections: dict[str, list] = {}
for i, (section, file, title, icon) in enumerate(PAGES):
    if (ROOT / file).exists():
        sections.setdefault(section, []).append(st.Page(file, title=title, icon=icon, default=(i == 0)))

st.navigation(sections).run()
