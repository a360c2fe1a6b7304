"""Dataset: statistics of a built-in or uploaded dataset, and upload of a user's own file."""
import re
from typing import Any

import pandas as pd
import streamlit as st

import ui
from core.data import ACCEPTED_EXTENSIONS as UPLOAD_TYPES  # the file picker follows core.data.formats.READERS
from core.data import validate_frame

LABEL_FORMATS = {
    "auto": "detect",
    "names": "one column of class names or integers",
    "delimited": "one column holding a delimited list of labels (multi-label)",
    "binary_columns": "one 0/1 column per label (multi-label)",
}

ui.page_header(
    "Dataset",
    "What a dataset looks like before training on it: class balance, text lengths (which pick a model's maximum "
    "sequence length), duplicates and train/test leakage. Or upload your own file.",
)

#: above this many classes, text lengths are drawn as one box per class instead of overlaid histograms
BOXES_ABOVE = 10

stats_tab, upload_tab = st.tabs(["Statistics", "Upload your own file"])


def stats_view(stats: dict[str, Any]) -> None:
    """Charts and tables of one describe() result."""
    splits = stats.get("splits", {})
    train = splits.get("train", {})
    labels = stats.get("labels", [])
    multilabel = stats.get("multilabel", False)

    c = st.columns(6)
    for col, split in zip(c[:3], ("train", "validation", "test")):
        col.metric(f"{split} rows", f"{splits.get(split, {}).get('rows', 0):,}")
    c[3].metric("labels", len(labels), help="multi-label: a text can carry several" if multilabel else None)
    c[4].metric("vocabulary", f"{stats.get('vocab_size', 0):,}", help="distinct lower-cased words")
    c[5].metric("imbalance", ui.fmt(train.get("imbalance_ratio"), 1) + "×",
                help="train rows of the largest class ÷ rows of the smallest")

    st.subheader("Classes")
    st.caption("Examples per class in each split; a large imbalance ratio means a model can score well by "
               "favouring the big classes, so watch macro F1.")
    counts = {name: s.get("class_counts", {}) for name, s in splits.items()}
    st.plotly_chart(ui.plots.class_distribution(counts, title="Examples per class and split"),
                    key="dataset-classes")
    if train.get("missing_classes"):
        st.warning(f"Classes with no training rows: {', '.join(train['missing_classes'])}")
    class_df = pd.DataFrame({name: s.get("class_counts", {}) for name, s in splits.items()})
    class_df.index.name = "class"
    class_df = class_df.reset_index()
    if multilabel:
        c1, c2 = st.columns(2)
        c1.metric("train rows with no label", f"{train.get('no_label_share', 0):.1%}")
        c2.metric("labels per train row (mean)", ui.fmt((train.get("labels_per_row") or {}).get("mean"), 2))
        co = stats.get("cooccurrence")
        if co:
            st.caption("How often two labels are given to the same train text; the diagonal is each label's count.")
            st.plotly_chart(ui.plots.cooccurrence_heatmap(co["matrix"], co["labels"]), key="dataset-cooc")
    with st.expander("Class counts table"):
        st.dataframe(class_df, hide_index=True)
        ui.csv_download(class_df, f"{stats.get('name', 'dataset')}-classes.csv".replace(":", "-"),
                        key="dataset-dl-classes")

    st.subheader("Text length")
    lengths = stats.get("lengths", {})
    units = [u for u in ("tokens", "words", "chars") if u in lengths]
    unit = st.radio("Measure length in", units, horizontal=True, key="dataset-unit",
                    format_func=lambda u: {"chars": "characters", "tokens": "model tokens"}.get(u, u))
    block = lengths.get(unit, {})
    hist = block.get("histogram") or {}
    boxes = len(hist.get("counts") or {}) > BOXES_ABOVE  # overlaid histograms of many classes are unreadable
    st.caption((f"Text length per class as box plots ({block.get('unit', unit)}; box = quartiles from the "
                "histogram bins, whiskers = min to 95th percentile)" if boxes else
                f"Histogram of text length per class ({block.get('unit', unit)}; the last bar also holds the longest "
                "0.5%)") + f". Tokens are counted with {stats.get('tokenizer', 'the default tokenizer')}.")
    if hist.get("edges"):
        u = block.get("unit", unit)
        fig = (ui.plots.length_boxes_binned(hist["edges"], hist["counts"], unit=u, percentiles=block.get("per_class"))
               if boxes else ui.plots.length_histogram_binned(hist["edges"], hist["counts"], unit=u))
        st.plotly_chart(fig, key="dataset-lengths")
    pct = pd.DataFrame({"all": block.get("overall", {}), **block.get("per_class", {})}).T
    pct.index.name = "class"
    pct = pct.reset_index()
    st.dataframe(pct, hide_index=True)
    ui.csv_download(pct, f"{stats.get('name', 'dataset')}-lengths-{unit}.csv".replace(":", "-"),
                    key="dataset-dl-lengths")

    st.subheader("Maximum sequence length")
    coverage = stats.get("coverage") or []
    suggested = stats.get("suggested_max_length")
    if coverage:
        cov_unit = lengths.get("tokens", {}).get("unit", "tokens")
        st.caption(f"Share of texts that fit in N {cov_unit} without truncation. Suggested max length: "
                   f"**{suggested}** (the smallest candidate covering ≥ 95% of texts).")
        points = [(r["max_length"], r["share"]) for r in coverage]
        st.plotly_chart(ui.plots.length_coverage(points=points, unit=cov_unit, marks=[suggested] if suggested else []),
                        key="dataset-coverage")
        cov_df = pd.DataFrame(coverage)
        st.dataframe(cov_df, hide_index=True)
        ui.csv_download(cov_df, f"{stats.get('name', 'dataset')}-coverage.csv".replace(":", "-"),
                        key="dataset-dl-coverage")

    st.subheader("Data quality")
    st.caption("Empty texts; duplicates (equal after lower-casing and removing punctuation); and leakage — test "
               "texts that also appear in train, which inflates test scores.")
    dup = stats.get("duplicates", {})
    overlap = stats.get("overlap", {})
    c = st.columns(4)
    c[0].metric("empty texts", stats.get("empty", {}).get("count", 0))
    c[1].metric("duplicate texts", dup.get("count", 0))
    c[2].metric("duplicates with conflicting labels", dup.get("conflicting_labels", 0))
    tt = overlap.get("train_test", {})
    c[3].metric("test texts also in train", tt.get("count", 0), help=f"{tt.get('share_of_test', 0):.1%} of test")
    rows = [{"splits": k.replace("_", " / "), "overlapping texts": v.get("count", 0),
             "% of the second split": 100 * next((x for n, x in v.items() if n.startswith("share_of")), 0.0)}
            for k, v in overlap.items()]
    if rows:
        st.dataframe(pd.DataFrame(rows), hide_index=True, column_config={
            "% of the second split": st.column_config.NumberColumn(format="%.2f")})
    if dup.get("examples"):
        with st.expander("Duplicate examples"):
            st.dataframe(pd.DataFrame(dup["examples"]).astype(str), hide_index=True)
    leak_examples = [{"splits": k, "text": t} for k, v in overlap.items() for t in v.get("examples", [])]
    if leak_examples:
        with st.expander("Leaked examples"):
            st.dataframe(pd.DataFrame(leak_examples), hide_index=True)
    sampling = stats.get("sampling") or {}
    if sampling.get("sampled"):
        st.caption(f"Lengths and vocabulary use a random {sampling['rows_used']:,} of {sampling['rows_total']:,} "
                   "rows; counts, duplicates and leakage use every row.")


def statistics() -> None:  # drawn at the end of the page: see there
    name = ui.pick_dataset(key="dataset-name")
    if name is not None:
        info = next((d for d in ui.dataset_list() if d["name"] == name), {})
        if info.get("description"):
            st.caption(info["description"])
        stats = None
        with ui.guard(f"Could not describe {name}"):
            stats = ui.describe_dataset(name)
        if stats is not None:
            stats_view(stats)


def default_name(filename: str) -> str:
    stem = re.sub(r"\.(gz)$", "", filename)
    stem = re.sub(r"\.[A-Za-z0-9]+$", "", stem)
    return (re.sub(r"[^A-Za-z0-9_-]+", "_", stem).strip("_-") or "my_dataset")[:64]


def guess_text_columns(df: pd.DataFrame) -> list[str]:
    named = [c for c in df.columns if c.lower() in ("text", "title", "description", "body", "content", "comment",
                                                     "message", "sentence", "review")]
    if named:
        return named
    textual = [c for c in df.columns if df[c].dtype == object]
    if not textual:
        return []
    # the column with the longest texts on average
    return [max(textual, key=lambda c: df[c].astype(str).str.len().mean())]


def show_report(report: dict[str, Any]) -> None:
    """The upload preview's check (core.data.validate_frame(...).as_dict()): every problem at once, as a table."""
    counts = report["counts"]
    usable = report["usable_rows"].get("file", 0)
    if report["ok"]:
        st.success(f"Ready to save: {usable:,} usable rows, {len(report['class_counts'])} labels "
                   f"({counts['warning']} warnings).", icon=":material/check_circle:")
    else:
        st.error(f"{counts['error']} problem(s) to fix before saving ({counts['warning']} warnings).",
                 icon=":material/error:")
    if report["problems"]:
        table = pd.DataFrame(report["problems"])[["severity", "table", "column", "message", "n_rows", "rows"]]
        table["rows"] = table["rows"].map(lambda r: ", ".join(map(str, r)))
        st.dataframe(table, hide_index=True, column_config={
            "n_rows": st.column_config.NumberColumn("rows affected"),
            "rows": st.column_config.TextColumn("first rows (0-based)")})
    if report["class_counts"]:
        counts_df = pd.DataFrame({"label": list(report["class_counts"]), "rows": list(report["class_counts"].values())})
        st.caption("Usable rows per label: " + ", ".join(f"{ui.md_escape(r.label)} {r.rows:,}"
                                                         for r in counts_df.itertuples()))


with upload_tab:
    st.caption("Your file stays on this machine: it is saved under the lab's user data folder and then appears in "
               "every dataset picker as “upload:<name>”.")
    uploaded = st.file_uploader(
        f"CSV, TSV, JSONL or Parquet file (up to {ui.upload_limit_mb()} MB)", type=UPLOAD_TYPES, key="dataset-upload",
        help=f"One row per text. Pick the text column(s) and the label column(s) below. Files over "
             f"{ui.upload_limit_mb()} MB are refused (server.maxUploadSize in .streamlit/config.toml).",
    )
    if uploaded is None:
        st.info("Choose a file to see a preview and pick its columns.", icon=":material/upload:")
    else:
        df = None
        limit_mb = ui.upload_limit_mb()
        if uploaded.size > limit_mb * 1024 * 1024:  # the server refuses these too; this is the clear message
            st.error(f"{uploaded.name} is {uploaded.size / 2**20:,.1f} MB, over the {limit_mb} MB upload limit. "
                     "Upload a sample of it, or save the whole file from Python: `core.data.save_upload("
                     "core.data.read_table(path), name, text_columns=[...], label_columns=[...])`.",
                     icon=":material/error:")
        else:
            with ui.guard("Could not read the file"):
                df = ui.read_upload(uploaded.getvalue(), uploaded.name)
        if df is not None:
            st.caption(f"{len(df):,} rows × {len(df.columns)} columns. First rows:")
            st.dataframe(df.head(20), hide_index=True)
            cols = list(df.columns)
            with st.form("dataset-upload-form"):
                c1, c2 = st.columns(2)
                text_cols = c1.multiselect("Text column(s)", cols, default=guess_text_columns(df),
                                           help="Several columns are joined with a space (e.g. title + body).")
                label_guess = [c for c in cols if c.lower() in ("label", "labels", "class", "category", "target")]
                label_cols = c2.multiselect("Label column(s)", cols, default=label_guess[:1],
                                            help="One column of class names, or one 0/1 column per label.")
                c1, c2, c3 = st.columns(3)
                fmt = c1.selectbox("Label format", list(LABEL_FORMATS), format_func=lambda f: LABEL_FORMATS[f])
                delimiter = c2.text_input("Delimiter (delimited lists)", value=",", max_chars=3)
                test_size = c3.slider("Test share (held out for evaluation)", 0.1, 0.5, 0.2, 0.05)
                ds_name = st.text_input("Dataset name", value=default_name(uploaded.name), max_chars=64,
                                        help="Letters, digits, '-' and '_'. An existing upload with this name "
                                             "is replaced.")
                b1, b2 = st.columns([1, 4])
                check = b1.form_submit_button("Check", icon=":material/fact_check:",
                                              help="List every problem of the table with these settings; saves nothing")
                save = b2.form_submit_button("Save dataset", type="primary", icon=":material/save:")
            if check:
                show_report(validate_frame(df, text_cols, label_cols, label_format=fmt, delimiter=delimiter or ",",
                                           test_size=test_size).as_dict())
            if save:
                with ui.guard("Could not save the dataset"):
                    saved = ui.save_upload(df, ds_name.strip(), text_columns=text_cols, label_columns=label_cols,
                                           label_format=fmt, delimiter=delimiter or ",", test_size=test_size,
                                           title=ds_name.strip())
                    ds = ui.load_dataset(saved)
                    st.success(f"Saved **{saved}**: {len(ds.train):,} train / {len(ds.validation):,} validation / "
                               f"{len(ds.test):,} test rows, {len(ds.labels)} labels "
                               f"({'multi-label' if ds.multilabel else 'multi-class'}). It is now selected in the "
                               "dataset pickers.", icon=":material/check_circle:")
                    for warning in ds.meta.get("warnings", []):
                        st.warning(warning)
                    dropped = (ds.meta.get("dropped") or {}).get("total", 0)
                    if dropped:
                        st.caption(f"{dropped} rows were dropped: {ds.meta['dropped']}")
                    ui.page_link(ui.PAGE_TRAIN, "Train a model on it", ":material/model_training:")

with stats_tab:  # filled last, so a dataset just saved in the upload tab is the one described, in the same run
    statistics()
