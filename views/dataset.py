"""Dataset: statistics of a built-in or uploaded dataset, and upload of a user's own file."""
import re
from typing import Any

import pandas as pd
import streamlit as st

import ui
from core.data import ACCEPTED_EXTENSIONS as UPLOAD_TYPES  # the file picker follows core.data.formats.READERS
from core.data import guess_label_columns, guess_text_columns, validate_frame
from core.errors import NameTakenError

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
        st.caption(f"Share of texts that fit in N {cov_unit} without truncation.")
        note = stats.get("suggestion_note") or f"{suggested}"
        if stats.get("suggested_covers_target", True):
            st.caption(f"Suggested max length: {ui.md_escape(note)}.")
        else:  # no candidate covers the target: say so instead of claiming it
            st.warning(f"Suggested max length: {ui.md_escape(note)}.", icon=":material/warning:")
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
    """A free dataset name from the file name: its stem, or "stem-2", "stem-3"... when taken (a default never
    replaces a saved dataset; the browser only knows the file name, not its folder)."""
    stem = re.sub(r"\.(gz)$", "", filename)
    stem = re.sub(r"\.[A-Za-z0-9]+$", "", stem)
    stem = (re.sub(r"[^A-Za-z0-9_-]+", "_", stem).strip("_-") or "my_dataset")[:64]
    return ui.free_dataset_name(stem)


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


def read_test_file(limit_mb: int):
    """The optional official test file (same columns as the data file), read; None when there is none."""
    test_up = st.file_uploader(
        "Official test file (optional): same columns; it becomes the test split", type=UPLOAD_TYPES,
        key="dataset-upload-test", help="When given, no test share is carved: models are scored on exactly these "
                                        "rows, and validation is carved from the training file only.")
    if test_up is None:
        return None
    if test_up.size > limit_mb * 1024 * 1024:
        st.error(f"{test_up.name} is over the {limit_mb} MB upload limit.", icon=":material/error:")
        return None
    with ui.guard("Could not read the test file"):
        test_df = ui.read_upload(test_up.getvalue(), test_up.name)
        st.caption(f"Test file: {len(test_df):,} rows × {len(test_df.columns)} columns.")
        return test_df
    return None


def save_dataset(df: pd.DataFrame, test_df: pd.DataFrame | None, name: str, new_version: bool,
                 **frame_kwargs: Any) -> None:
    """Save the upload (refused when the name is taken and no new version was confirmed) and report it."""
    with ui.guard("Could not save the dataset"):
        try:
            saved = ui.save_upload(df, name, test_frame=test_df, title=name, new_version=new_version, **frame_kwargs)
        except NameTakenError:
            versions = ", ".join(f"v{v}" for v in ui.dataset_versions(name))
            st.error(f"A dataset named “{ui.md_escape(name)}” already exists ({versions}). Nothing was saved or "
                     "replaced: choose another name, or tick “Save as a new version” to keep the saved one (models "
                     "trained on it keep working) and add this as its next version.", icon=":material/block:")
            return
        ds = ui.load_dataset(saved)
        version = ds.meta.get("version", 1)
        st.success(f"Saved **{saved}**{f' (version {version})' if version > 1 else ''}: {len(ds.train):,} train / "
                   f"{len(ds.validation):,} validation / {len(ds.test):,} test rows, {len(ds.labels)} labels "
                   f"({'multi-label' if ds.multilabel else 'multi-class'}); test split: {ds.meta.get('test_split')}. "
                   "It is now selected in the dataset pickers and in the Statistics tab.", icon=":material/check_circle:")
        for warning in ds.meta.get("warnings", []):
            st.warning(warning)
        dropped = (ds.meta.get("dropped") or {}).get("total", 0)
        if dropped:
            st.caption(f"{dropped} rows were dropped: {ds.meta['dropped']}")
        ui.page_link(ui.PAGE_TRAIN, "Train a model on it", ":material/model_training:")


with upload_tab:
    st.caption("Your file stays on this machine: it is saved under the lab's user data folder and then appears in "
               "every dataset picker as “upload:<name>”. From a terminal: `python -m core data add PATH --name NAME "
               "[--test-file PATH]`.")
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
                     "Upload a sample of it, or register the whole file from a terminal: `python -m core data add "
                     "PATH --name NAME [--test-file PATH]`.", icon=":material/error:")
        else:
            with ui.guard("Could not read the file"):
                df = ui.read_upload(uploaded.getvalue(), uploaded.name)
        if df is not None:
            st.caption(f"{len(df):,} rows × {len(df.columns)} columns. First rows:")
            st.dataframe(df.head(20), hide_index=True)
            test_df = read_test_file(limit_mb)
            cols = list(df.columns)
            with st.form("dataset-upload-form"):
                c1, c2 = st.columns(2)
                label_guess = guess_label_columns(df)
                text_cols = c1.multiselect("Text column(s)", cols, default=guess_text_columns(df, exclude=label_guess),
                                           help="Several columns are joined with a space (e.g. title + body).")
                label_cols = c2.multiselect("Label column(s)", cols, default=label_guess,
                                            help="One column of class names, or one 0/1 column per label.")
                c1, c2, c3 = st.columns(3)
                fmt = c1.selectbox("Label format", list(LABEL_FORMATS), format_func=lambda f: LABEL_FORMATS[f])
                delimiter = c2.text_input("Delimiter (delimited lists)", value=",", max_chars=3)
                test_size = c3.slider("Test share (held out for evaluation)", 0.1, 0.5, 0.2, 0.05,
                                      disabled=test_df is not None,
                                      help="Ignored when a test file is given: the test file is the test split.")
                new_version = st.checkbox("Save as a new version if the name is taken", key="dataset-new-version",
                                          help="Older versions stay loadable as upload:NAME@v1 ...; upload:NAME "
                                               "loads the newest.")
                ds_name = st.text_input("Dataset name", value=default_name(uploaded.name), max_chars=64,
                                        help="Letters, digits, '-' and '_'. A taken name is refused unless you "
                                             "save as a new version.")
                b1, b2 = st.columns([1, 4])
                check = b1.form_submit_button("Check", icon=":material/fact_check:",
                                              help="List every problem of the table with these settings; saves nothing")
                save = b2.form_submit_button("Save dataset", type="primary", icon=":material/save:")
            settings = {"label_format": fmt, "delimiter": delimiter or ",", "test_size": test_size}
            if check:
                show_report(validate_frame(df, text_cols, label_cols, test_frame=test_df, **settings).as_dict())
            if save:
                save_dataset(df, test_df, ds_name.strip(), new_version, text_columns=text_cols,
                             label_columns=label_cols, **settings)


with stats_tab:  # filled last, so a dataset just saved in the upload tab is the one described, in the same run
    statistics()
