"""Every dashboard page through Streamlit's AppTest, on small real TF-IDF artifacts built once per session.

Pages run on their own (AppTest.from_file("views/x.py")) and through app.py's navigation; each must render
without an exception, show its heading and widgets, and show an empty state when nothing is trained.
`python tests/test_pages.py` prints each page's AppTest render time (cold and warm).
"""
from __future__ import annotations

import os
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from tests.envtools import needs_shared, restored_env

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:  # pages import `ui` from the project root
    sys.path.insert(0, str(ROOT))

from streamlit.testing.v1 import AppTest  # noqa: E402

SHARED = ROOT.parent / "shared" / "data"
pytestmark = needs_shared()

PAGES = ["overview", "dataset", "train", "predict", "errors", "compare"]
TIMEOUT = 120  # seconds per AppTest run: first renders import plotly/transformers on a shared 2-core box


def page(name: str, dataset: str = "sms_spam") -> AppTest:
    """A page run on its own; dataset pickers start on `dataset` (not ag_news, whose statistics take long)."""
    at = AppTest.from_file(str(ROOT / "views" / f"{name}.py"), default_timeout=TIMEOUT)
    at.session_state["_shared_dataset"] = dataset
    return at


def texts_of(at: AppTest) -> str:
    """All visible text of a rendered app (titles, markdown, captions, alerts) joined, for substring checks."""
    parts = []
    for kind in ("title", "header", "subheader", "markdown", "caption", "info", "success", "warning", "error"):
        parts += [str(getattr(e, "value", "")) for e in getattr(at, kind)]
    return "\n".join(parts)


def charts(at: AppTest) -> list:
    return at.get("plotly_chart")


def set_env(root: Path) -> None:
    os.environ["TEXTLAB_ARTIFACTS_DIR"] = str(root / "artifacts")
    os.environ["TEXTLAB_USER_DATA_DIR"] = str(root / "user_data")
    os.environ["TEXTLAB_JOBS_DIR"] = str(root / "jobs")


def clear_streamlit_caches() -> None:
    import streamlit as st

    st.cache_data.clear()
    st.cache_resource.clear()


def build_artifacts(root: Path) -> dict[str, str]:
    """Two small real models: TF-IDF on 500 rows of sms_spam (multi-class) and on jigsaw_toxic (multi-label)."""
    from core import train

    set_env(root)
    os.environ.setdefault("TQDM_DISABLE", "1")
    fast = {"analyzer": "word", "word_ngram_max": 1}  # word unigrams: same code paths, a fraction of the time
    train.run("sms_spam", "tfidf", fast, name="spam-tfidf", max_train=500)
    train.run("jigsaw_toxic", "tfidf", fast, name="toxic-tfidf")
    return {"multiclass": "spam-tfidf", "multilabel": "toxic-tfidf"}


@pytest.fixture(scope="session")
def lab(tmp_path_factory) -> dict[str, str]:
    root = tmp_path_factory.mktemp("lab")
    with restored_env(("TEXTLAB_ARTIFACTS_DIR", "TEXTLAB_USER_DATA_DIR", "TEXTLAB_JOBS_DIR")):
        models = build_artifacts(root)
        yield {**models, "root": str(root)}


@pytest.fixture()
def trained(lab):
    """The session's artifacts folder, with fresh Streamlit caches."""
    set_env(Path(lab["root"]))
    clear_streamlit_caches()
    return lab


@pytest.fixture()
def empty(tmp_path):
    """An empty artifacts folder, with fresh Streamlit caches."""
    saved = {k: os.environ.get(k) for k in ("TEXTLAB_ARTIFACTS_DIR", "TEXTLAB_USER_DATA_DIR", "TEXTLAB_JOBS_DIR")}
    set_env(tmp_path)
    clear_streamlit_caches()
    yield tmp_path
    for k, v in saved.items():
        if v is not None:
            os.environ[k] = v


# ------------------------------------------------------------------------------------------------ app.py


def test_app_navigation_renders_every_page(trained):
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=TIMEOUT)
    at.session_state["_shared_dataset"] = "sms_spam"
    at.run()
    assert not at.exception
    assert "Text Classification Lab" in texts_of(at)
    for name in ("predict", "errors", "compare", "train"):
        at.switch_page(f"views/{name}.py").run()
        assert not at.exception, name
        assert at.title, name


@pytest.mark.parametrize("name", ["spam-tfidf", "toxic-tfidf"])  # both: one of them is the default anyway
def test_link_with_model_query_preselects_it_on_other_pages(trained, name):
    """A demo link ?model=NAME&dataset=NAME lands on Overview and still picks NAME after navigating away."""
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=TIMEOUT)
    at.query_params["model"] = name
    at.query_params["dataset"] = "sms_spam"
    at.run()
    assert not at.exception
    for key in list(at.query_params):  # a click in the sidebar drops the URL's parameters in the browser
        del at.query_params[key]
    at.switch_page("views/predict.py").run()
    assert not at.exception
    assert at.selectbox(key="predict-model").value == name


# ------------------------------------------------------------------------------------------------ pages


def test_overview_lists_models_and_datasets(trained):
    at = page("overview").run()
    assert not at.exception
    assert at.title[0].value == "Text Classification Lab"
    models = at.dataframe[0].value
    assert set(models["name"]) == {"spam-tfidf", "toxic-tfidf"}
    assert models["accuracy"].notna().all()
    assert "sms_spam" in set(at.dataframe[-1].value["name"])
    assert not [b for b in at.button if "baseline" in b.label]


def test_overview_broken_artifact_listed_separately(trained):
    broken = Path(trained["root"]) / "artifacts" / "half-written"
    broken.mkdir(exist_ok=True)
    try:
        at = page("overview").run()
        assert not at.exception
        assert "half-written" not in set(at.dataframe[0].value["name"])
        assert any("unusable" in e.label for e in at.expander)
    finally:
        broken.rmdir()


def test_dataset_statistics(trained):
    at = page("dataset").run()
    assert not at.exception
    at.selectbox(key="dataset-name").select("sms_spam").run()
    assert not at.exception
    text = texts_of(at)
    assert "Classes" in text and "Text length" in text and "Data quality" in text
    assert len(charts(at)) >= 3  # classes, lengths, coverage
    assert at.get("download_button")
    at.radio(key="dataset-unit").set_value("chars").run()
    assert not at.exception


def test_dataset_multilabel_statistics(trained):
    at = page("dataset").run()
    at.selectbox(key="dataset-name").select("jigsaw_toxic").run()
    assert not at.exception
    assert "train rows with no label" in [m.label for m in at.metric]
    assert len(charts(at)) >= 4  # + co-occurrence heatmap


def test_dataset_upload_saves_and_reports_errors(trained):
    rows = ["title,body,category"] + [f"match {i},the team won the cup final {i},sport" for i in range(20)] + \
           [f"shares {i},the stock market fell again {i},business" for i in range(20)]
    at = page("dataset").run()
    at.file_uploader(key="dataset-upload").set_value(("news.csv", "\n".join(rows).encode(), "text/csv")).run()
    assert not at.exception
    assert at.dataframe  # the preview
    assert at.multiselect[0].value == ["title", "body"]  # the text-like columns, not the label
    # the label column is also picked as text: a clear error, no traceback
    at.multiselect[0].set_value(["title", "category"])
    at.multiselect[1].set_value(["category"])
    save = "FormSubmitter:dataset-upload-form-Save dataset"
    at.button(key=save).click().run()
    assert not at.exception
    assert at.error and "both text and label" in at.error[0].value
    at.multiselect[0].set_value(["title", "body"])
    at.button(key=save).click().run()
    assert not at.exception and not at.error
    assert "upload:news" in at.success[0].value
    from core import data

    assert "upload:news" in [d["name"] for d in data.list_datasets()]


def test_dataset_upload_check_lists_every_problem_before_saving(trained):
    rows = ["title,body,category"] + [f"match {i},the team won {i},sport" for i in range(30)] + [",empty,sport"] * 3
    at = page("dataset").run()
    at.file_uploader(key="dataset-upload").set_value(("one.csv", "\n".join(rows).encode(), "text/csv")).run()
    at.multiselect[0].set_value(["title", "category"])
    at.multiselect[1].set_value(["category"])
    at.button(key="FormSubmitter:dataset-upload-form-Check").click().run()
    assert not at.exception
    assert at.error and "2 problem(s)" in at.error[0].value
    problems = at.dataframe[-1].value
    messages = " | ".join(problems["message"])
    assert "both text and label" in messages and "single class" in messages and "empty text" in messages
    assert set(problems["severity"]) == {"error", "info"}
    from core import data

    assert "upload:one" not in [d["name"] for d in data.list_datasets()]  # a check saves nothing


def test_train_page_widgets_and_background_job(trained):
    from core import jobs

    at = page("train").run()
    assert not at.exception
    assert at.title[0].value == "Train a model"
    at.selectbox(key="train-dataset").select("sms_spam").run()
    at.selectbox(key="train-kind").select("tfidf").run()
    assert at.get("number_input") and at.button  # generic parameter widgets + Train
    at.selectbox(key="train-tfidf-analyzer").select("word")  # fast features; sent as --set analyzer=word
    at.number_input[-1].set_value(300)  # max training rows
    at.text_input[-1].set_value("spam-from-page")
    at.button(key="FormSubmitter:train-form-Train").click().run()
    assert not at.exception
    deadline = time.time() + 180
    while time.time() < deadline:
        states = {j.get("name"): j["state"] for j in jobs.list_jobs()}
        if states.get("spam-from-page") not in ("running", "starting"):
            break
        time.sleep(1)
    assert states.get("spam-from-page") == "done", jobs.list_jobs()[0]
    from core import artifacts

    info = artifacts.get_artifact("spam-from-page")
    assert info.manifest["config"]["analyzer"] == "word" and info.metrics["train_rows"] == 300
    clear_streamlit_caches()
    at = page("train").run()
    assert not at.exception
    assert any("spam-from-page" in s.value for s in at.success)
    artifacts.delete_artifact("spam-from-page", confirm="spam-from-page")
    jobs.clear_finished()


def test_train_page_rejects_bad_name(trained):
    at = page("train").run()
    at.selectbox(key="train-dataset").select("sms_spam").run()
    at.text_input[-1].set_value("../escape")
    at.button(key="FormSubmitter:train-form-Train").click().run()
    assert not at.exception
    assert at.error


def fake_job(job_id: str, pid: int, **progress) -> Path:
    """A job folder as core.jobs writes it (job.json, pid, progress.json), without running anything."""
    import json

    from core import config

    jdir = config.jobs_dir() / job_id
    jdir.mkdir(parents=True)
    (jdir / "job.json").write_text(json.dumps({"id": job_id, "dataset": "sms_spam", "kind": "tfidf",
                                               "command": "train", "started": time.time()}))
    (jdir / "pid").write_text(str(pid))
    (jdir / "progress.json").write_text(json.dumps(progress))
    return jdir


def test_train_page_running_and_failed_jobs(empty):
    running = fake_job("20990101-000000-run", os.getpid(), state="running", done=3, total=10, message="fit: epoch 1")
    fake_job("20000101-000000-bad", os.getpid(), state="failed", error="MemoryError: out of memory in fit")
    at = page("train").run()
    assert not at.exception
    bars = at.get("progress")
    assert len(bars) == 1 and abs(bars[0].proto.value - 30) <= 1  # percent
    assert any("failed" in e.value for e in at.error)
    assert any("MemoryError" in c.value for c in at.code)
    at.button(key="train-jobs-cancel-20990101-000000-run").click().run()
    assert not at.exception
    assert (running / "cancel").exists()


def test_plot_builders_have_titles_and_axis_labels():
    from core import plots

    figs = [
        plots.class_distribution({"train": {"a": 3, "b": 5}, "test": {"a": 1, "b": 2}}),
        plots.length_histogram({"a": [1, 5, 9], "b": [2, 3]}, unit="words"),
        plots.length_histogram_binned([0, 10, 20], {"a": [1, 2]}),
        plots.length_coverage([3, 5, 8, 40], marks=[8]),
        plots.length_coverage(points=[(16, 0.2), (32, 0.5), (64, 0.97)], marks=[64]),
        plots.cooccurrence_heatmap(np.eye(3), ["x", "y", "z"]),
        plots.probability_bars([0.1, 0.7, 0.2], ["a", "b", "c"], threshold=[0.3, 0.5, 0.6]),
        plots.contribution_bars(["free", "prize", "hi"], [0.5, 0.3, -0.2], "spam"),
        plots.confusion_heatmap([[5, 1], [2, 7]], ["ham", "spam"], normalized=True),
        plots.per_label_confusion([1, 2], [0, 1], [3, 0], ["a", "b"]),
        plots.reliability_diagram({"m": [{"confidence": 0.5, "accuracy": 0.4, "count": 3},
                                         {"confidence": None, "accuracy": None, "count": 0}]}),
        plots.leaderboard_bars(["m1", "m2"], [0.8, 0.9], "accuracy"),
    ]
    for fig in figs:
        fig.to_json()
        assert fig.layout.title.text and fig.layout.xaxis.title.text and fig.layout.yaxis.title.text
    cells = figs[8].data[-1]  # the clickable markers of the confusion matrix carry [true, predicted, count, share]
    assert cells.customdata.shape == (4, 4) and list(cells.customdata[1][:3]) == [0, 1, 1]
    assert "≤ 8" in figs[3].layout.annotations[0].text and "75%" in figs[3].layout.annotations[0].text


def test_predict_shows_probabilities_and_contributions(trained):
    at = page("predict").run()
    assert not at.exception
    assert at.info  # empty text -> a hint, not an error
    at.selectbox(key="predict-model").select("spam-tfidf").run()
    at.text_area(key="predict-text").input("WINNER!! Claim your free prize now, call 09061701461").run()
    assert not at.exception
    assert "Prediction:" in texts_of(at) and "spam" in texts_of(at)
    assert len(charts(at)) >= 2  # probabilities + at least one contribution chart
    assert "Why: words that pushed each class" in texts_of(at)


def test_predict_multilabel(trained):
    at = page("predict").run()
    at.selectbox(key="predict-model").select("toxic-tfidf").run()
    at.text_area(key="predict-text").input("you are a stupid idiot").run()
    assert not at.exception
    assert "Predicted labels" in texts_of(at)
    assert charts(at)


def test_predict_long_and_html_text_is_safe(trained):
    at = page("predict").run()
    at.selectbox(key="predict-model").select("spam-tfidf").run()
    at.text_area(key="predict-text").input("<script>alert(1)</script> free " * 10).run()
    assert not at.exception
    assert [m for m in at.markdown if "<span" in m.value]  # the coloured words were drawn...
    assert all("<script>" not in m.value for m in at.markdown)  # ...with every user token escaped


def test_errors_confusion_and_cell_table(trained):
    from core import artifacts

    preds = artifacts.load_predictions("spam-tfidf")
    at = page("errors").run()
    at.selectbox(key="errors-model").select("spam-tfidf").run()
    assert not at.exception
    assert charts(at)
    labels = preds.labels
    at.selectbox(key="errors-true").select(labels[1])
    at.selectbox(key="errors-pred").select(labels[1]).run()
    assert not at.exception
    expected = int(((preds.y_true == 1) & (preds.y_pred == 1)).sum())
    table = next(d.value for d in at.dataframe if "text" in d.value.columns)  # after the confused-pairs table
    assert len(table) == expected > 0
    assert {"text", "true", "predicted", "confidence"} <= set(table.columns)
    assert np.all(np.diff(table["confidence"].to_numpy()) <= 0)  # most confident first
    report = at.dataframe[-1].value
    assert list(report["label"]) == labels
    at.toggle(key="errors-normalized").set_value(True).run()
    assert not at.exception


def test_errors_multilabel(trained):
    at = page("errors").run()
    at.selectbox(key="errors-model").select("toxic-tfidf").run()
    assert not at.exception
    assert charts(at)
    assert "Examples for a label" in texts_of(at)
    at.radio(key="errors-ml-kind").set_value("true positives").run()
    assert not at.exception


def test_compare_leaderboard(trained):
    at = page("compare").run()
    at.selectbox(key="compare-dataset").select("sms_spam").run()
    assert not at.exception
    board = at.dataframe[0].value
    assert "spam-tfidf" in set(board["model"])
    assert {"accuracy", "f1_macro", "ece", "size_mb", "train_seconds", "latency_ms_p50"} <= set(board.columns)
    assert len(charts(at)) == 2  # leaderboard bars + reliability diagram
    assert at.get("download_button")


@pytest.mark.parametrize("name", ["predict", "errors", "compare"])
def test_empty_state_without_models(empty, name):
    at = page(name).run()
    assert not at.exception
    assert any("No model" in i.value for i in at.info)


def test_empty_overview_offers_a_baseline(empty):
    at = page("overview").run()
    assert not at.exception
    assert any("baseline" in b.label for b in at.button)


def test_empty_train_page(empty):
    at = page("train").run()
    assert not at.exception
    assert "No training running." in texts_of(at)


# ------------------------------------------------------------------------------------------------ timing

def render_times(models_root: Path) -> list[tuple[str, float, float]]:
    """(page, cold seconds, warm seconds) of one AppTest run per page on the artifacts in `models_root`."""
    set_env(models_root)
    out = []
    for name in PAGES:
        at = page(name)
        at.session_state["_shared_model"] = "spam-tfidf"
        if name == "predict":
            at.session_state["predict-text"] = "Free entry! Win a prize, text WIN now"
        times = []
        for _ in range(2):
            t0 = time.perf_counter()
            at.run()
            times.append(time.perf_counter() - t0)
            assert not at.exception, (name, at.exception)
        out.append((name, *times))
    return out


if __name__ == "__main__":
    import tempfile

    with tempfile.TemporaryDirectory() as tmp:
        t0 = time.perf_counter()
        build_artifacts(Path(tmp))
        print(f"built 2 TF-IDF artifacts in {time.perf_counter() - t0:.1f} s")
        print(f"{'page':10s} {'cold s':>8s} {'warm s':>8s}")
        for name, cold, warm in render_times(Path(tmp)):
            print(f"{name:10s} {cold:8.2f} {warm:8.2f}")


def test_thresholds_table_on_errors_and_predict_follows_saved_edits(trained):
    """A multi-label model's per-label thresholds (tuned on validation) are listed with their validation F1 on
    Errors and Predict; thresholds saved from the command line show up on the next render."""
    from core import thresholds

    record = thresholds.for_model("toxic-tfidf")
    label = next(iter(record["labels"]))
    at = page("errors").run()
    at.selectbox(key="errors-model").select("toxic-tfidf").run()
    assert not at.exception
    assert "Validation macro F1" in texts_of(at)
    table = next(d.value for d in at.dataframe if "threshold" in d.value.columns)
    assert list(table["label"]) == list(record["labels"]) and {"val_f1", "f1_at_0.5"} <= set(table.columns)
    old = record["labels"][label]["threshold"]
    try:
        thresholds.save_edits("toxic-tfidf", {label: 0.77})
        for name, key in (("errors", "errors-model"), ("predict", "predict-model")):
            at = page(name).run()
            at.selectbox(key=key).select("toxic-tfidf").run()
            if name == "predict":
                at.text_area(key="predict-text").input("you are a stupid idiot").run()
            assert not at.exception
            table = next(d.value for d in at.dataframe if "threshold" in d.value.columns)
            assert table.loc[table["label"] == label, "threshold"].item() == 0.77
    finally:
        thresholds.save_edits("toxic-tfidf", {label: old})


def test_train_page_shows_embedding_start_and_estimate(trained):
    at = page("train").run()
    at.selectbox(key="train-dataset").select("sms_spam").run()
    at.selectbox(key="train-kind").select("rnn").run()
    assert not at.exception
    assert "Embedding start: auto → English, MiniLM word pieces" in texts_of(at)
    at.number_input[-1].set_value(200)  # max training rows: a quick warm-up
    at.button(key="FormSubmitter:train-form-Estimate").click().run(timeout=300)
    assert not at.exception
    labels = [m.label for m in at.metric]
    assert {"Optimisation steps", "Time per step", "Training time", "Peak memory"} <= set(labels)
    assert "warm-up" in texts_of(at)
