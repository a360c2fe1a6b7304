"""Batch scoring: score a whole file (or pasted texts) with a saved model and download the result."""
import hashlib

import pandas as pd
import streamlit as st

import ui
from core.data import ACCEPTED_EXTENSIONS, guess_text_columns
from core.scoring import ID_NAMES

#: Scored rows shown on the page (the downloads hold every row).
PREVIEW_ROWS = 100

ui.page_header(
    "Batch scoring",
    "Score many texts at once: each row gets the predicted label, its confidence and one probability per class. "
    "For files over the upload limit use the command line (it streams the file in chunks).",
)

name = ui.pick_model(key="score-model")
if name is None:
    st.stop()
source = st.radio("Texts from", ["a file", "pasted text (one per line)"], horizontal=True, key="score-source")
cli = f"python -m core predict {name} FILE --out scored.parquet"

df, origin = None, ""
if source == "a file":
    limit_mb = ui.upload_limit_mb()
    uploaded = st.file_uploader(f"CSV, TSV, JSONL or Parquet file (up to {limit_mb} MB)", type=ACCEPTED_EXTENSIONS,
                                key="score-upload", help="One row per text; the other columns can be kept.")
    if uploaded is not None and uploaded.size > limit_mb * 1024 * 1024:
        st.error(f"{uploaded.name} is {uploaded.size / 2**20:,.1f} MB, over the {limit_mb} MB upload limit. "
                 f"Score it from the command line instead (chunked, flat memory): `{cli}`", icon=":material/error:")
    elif uploaded is not None:
        with ui.guard(f"Could not read {uploaded.name}"):
            df = ui.read_upload(uploaded.getvalue(), uploaded.name)
        origin = f"{uploaded.name}:{uploaded.size}"
else:
    pasted = st.text_area("Texts, one per line", key="score-paste", height=180)
    lines = [line.strip() for line in pasted.splitlines() if line.strip()]
    if lines:
        df = pd.DataFrame({"text": lines})
        origin = "paste:" + hashlib.sha256(pasted.encode()).hexdigest()[:16]

if df is None:
    st.info(f"Choose a file or paste texts to score them. Large files: `{cli}`.", icon=":material/info:")
    st.stop()

columns = [str(c) for c in df.columns]
if len(columns) > 1:
    c1, c2 = st.columns(2)
    text_cols = c1.multiselect("Text column(s)", columns, default=guess_text_columns(df) or columns[:1],
                               key=f"score-text-{origin}", help="Several columns are joined with a space.")
    default_keep = [c for c in columns if c.lower() in ID_NAMES] + text_cols
    keep_cols = c2.multiselect("Columns to keep in the result", columns, default=default_keep,
                               key=f"score-keep-{origin}")
else:
    text_cols, keep_cols = columns, columns
if not text_cols:
    st.warning("Choose at least one text column.", icon=":material/warning:")
    st.stop()

signature = (name, origin, tuple(text_cols), tuple(keep_cols))
if st.button(f"Score {len(df):,} texts", type="primary", key="score-run", icon=":material/play_arrow:"):
    with ui.guard("Could not score the texts"):
        st.session_state["score-result"] = (signature, ui.score_table(name, df, text_cols, keep_cols))
saved = st.session_state.get("score-result")
if not saved or saved[0] != signature:
    st.stop()
result: pd.DataFrame = saved[1]

st.subheader("Result")
st.caption(f"{len(result):,} rows scored by {name}; first {min(PREVIEW_ROWS, len(result))} shown. "
           "`row` is the row's position in the input (0-based).")
st.dataframe(result.head(PREVIEW_ROWS), hide_index=True, column_config={
    "confidence": st.column_config.ProgressColumn("confidence", min_value=0.0, max_value=1.0, format="%.3f")})
labels = result["label"].fillna("").astype(str)
info = ui.artifact_info(name)
if info is not None and info.manifest.get("multilabel"):
    labels = labels.str.split(",").explode().replace("", "(none)")  # every predicted label counts once
counts = labels.value_counts()
st.plotly_chart(ui.plots.class_distribution({str(k): int(v) for k, v in counts.items()},
                                            title="Predicted labels"), key="score-chart")
stem = f"{name}-scored"
c1, c2 = st.columns(2)
with c1:
    ui.csv_download(result, f"{stem}.csv", label="Download CSV", key="score-dl-csv")
with c2:
    st.download_button("Download Parquet", ui.parquet_bytes(result), file_name=f"{stem}.parquet",
                       mime="application/octet-stream", icon=":material/download:", key="score-dl-parquet")
