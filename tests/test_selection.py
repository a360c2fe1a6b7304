"""Issue 12, "pages follow the user's selection; never rank models scored on different test sets".

Built on synthetic uploads (no shared data): `upload:alpha` saved, a TF-IDF model trained, then alpha re-saved with
other rows and a second model trained (same dataset name, different test set); `upload:beta` with a TF-IDF model
and a tiny RNN (the only model with sentence vectors).
"""
from __future__ import annotations

import contextlib
import io
import os
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from tests.envtools import restored_env

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:  # pages import `ui` from the project root
    sys.path.insert(0, str(ROOT))

from streamlit.testing.v1 import AppTest  # noqa: E402

ENV = ("TEXTLAB_ARTIFACTS_DIR", "TEXTLAB_USER_DATA_DIR", "TEXTLAB_JOBS_DIR", "TEXTLAB_CACHE_DIR")
TIMEOUT = 180
TOPICS = {"sport": "team match goal coach season player", "business": "market stock bank profit trade price",
          "tech": "software chip phone internet data web"}


def frame(n_per_class: int, seed: int) -> pd.DataFrame:
    """A table of `n_per_class` rows per topic whose texts carry the topic's words (learnable by TF-IDF)."""
    rng = np.random.default_rng(seed)
    rows = []
    for label, words in TOPICS.items():
        vocab = words.split()
        for i in range(n_per_class):
            rows.append({"text": " ".join(rng.choice(vocab, 5)) + f" item {seed}-{i}", "label": label})
    return pd.DataFrame(rows)


def set_env(root: Path) -> None:
    for key, sub in zip(ENV, ("artifacts", "user_data", "jobs", "cache")):
        os.environ[key] = str(root / sub)


def save(name: str, n_per_class: int, seed: int) -> str:
    """Save (or re-save: the old copy is removed first) upload `name`."""
    from core.data import delete_upload, list_uploads, save_upload

    if name in list_uploads():
        delete_upload(name)
    return save_upload(frame(n_per_class, seed), name, text_columns=["text"], label_columns=["label"])


TFIDF = {"analyzer": "word", "word_ngram_max": 1}


@pytest.fixture(scope="module")
def lab(tmp_path_factory):
    import torch

    from core import train

    root = tmp_path_factory.mktemp("selection")
    with restored_env(ENV):
        set_env(root)
        os.environ.setdefault("TQDM_DISABLE", "1")
        torch.set_num_threads(1)
        train.run(save("alpha", 20, seed=1), "tfidf", TFIDF, name="alpha-old")
        train.run(save("alpha", 30, seed=2), "tfidf", TFIDF, name="alpha-new")  # re-saved: other rows
        beta = save("beta", 20, seed=3)
        train.run(beta, "tfidf", TFIDF, name="beta-tfidf")
        train.run(beta, "rnn", {"epochs": 1, "batch_size": 16, "min_freq": 1, "embed_dim": 8, "hidden_dim": 8},
                  name="beta-rnn")
        yield root


@pytest.fixture()
def env(lab):
    import streamlit as st

    set_env(lab)
    st.cache_data.clear()
    st.cache_resource.clear()
    return lab


def cli(*argv: str) -> tuple[int, str, str]:
    from core.cli import main

    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main(list(argv))
    return code, out.getvalue(), err.getvalue()


# ------------------------------------------------------------------------------------------------ core


def test_manifest_records_the_scored_test_set(env):
    from core.artifacts import get_artifact, load_predictions
    from core.data import load_dataset
    from core.scoresets import fingerprint_of_test

    ds = load_dataset("upload:alpha")
    manifest = get_artifact("alpha-new").manifest
    assert manifest["test_fingerprint"] == fingerprint_of_test(ds.test.texts, ds.test.y, ds.labels)
    p = load_predictions("alpha-new")
    assert manifest["test_fingerprint"] == fingerprint_of_test(p.texts, p.y_true, p.labels)
    assert manifest["source_fingerprint"] == ds.fingerprint()
    assert get_artifact("alpha-old").manifest["test_fingerprint"] != manifest["test_fingerprint"]


def test_in_memory_dataset_records_no_source_and_is_not_marked(env):
    from core import train
    from core.artifacts import delete_artifact, get_artifact
    from core.data import load_dataset
    from core.scoresets import dataset_mark

    ds = load_dataset("upload:beta")
    ds.name = "in-memory"
    train.run(ds, "tfidf", TFIDF, name="mem-tfidf")
    try:
        info = get_artifact("mem-tfidf")
        assert info.manifest["source_fingerprint"] is None and info.manifest["test_fingerprint"]
        assert dataset_mark(info) == ""
    finally:
        delete_artifact("mem-tfidf", "mem-tfidf")


def test_list_marks_changed_and_gone_datasets(env):
    from core import train
    from core.artifacts import delete_artifact
    from core.data import delete_upload

    code, out, _ = cli("list")
    assert code == 0
    rows = {line.split()[0]: line for line in out.splitlines()[1:]}
    assert "dataset changed" in rows["alpha-old"]  # alpha was re-saved with other rows after it was trained
    assert "dataset" not in rows["alpha-new"].split("upload:alpha", 1)[1] and rows["alpha-new"].endswith("ok")
    assert rows["beta-tfidf"].endswith("ok")

    train.run(save("gamma", 10, seed=4), "tfidf", TFIDF, name="gamma-tfidf")
    try:
        delete_upload("gamma")
        code, out, _ = cli("list", "--dataset", "upload:gamma")
        assert code == 0 and "gamma-tfidf" in out and "dataset gone" in out
    finally:
        delete_artifact("gamma-tfidf", "gamma-tfidf")


def test_groups_by_test_set_and_notes(env):
    from core.artifacts import list_artifacts
    from core.scoresets import group_by_test_set, group_notes

    infos = list_artifacts("upload:alpha")
    groups = group_by_test_set(infos, first="alpha-old")
    assert [g.names for g in groups] == [["alpha-old"], ["alpha-new"]]
    notes = group_notes(groups)
    assert len(notes) == 1 and notes[0].startswith("1 model was scored on a different test set of 'upload:alpha'")
    assert groups[1].fingerprint[:8] in notes[0] and "shown in its own group" in notes[0]
    assert len(group_by_test_set(list_artifacts("upload:beta"))) == 1  # same test set: one group


def test_bench_refuses_models_scored_on_different_test_sets(env):
    from core.bench import bench, list_runs
    from core.errors import ParamError

    before = list_runs()
    with pytest.raises(ParamError, match="different test sets") as exc:
        bench(["alpha-new", "alpha-old"], n_texts=4, repeats=2, batch_size=4, batch_repeats=1)
    assert "alpha-old" in str(exc.value) and "alpha-new" in str(exc.value)
    assert list_runs() == before  # refused before anything ran or was saved
    code, _, err = cli("bench", "beta-tfidf", "alpha-new")
    assert code == 2 and "different test sets" in err


# ------------------------------------------------------------------------------------------------ pages


def test_compare_shows_each_test_set_in_its_own_group(env):
    at = AppTest.from_file(str(ROOT / "views" / "compare.py"), default_timeout=TIMEOUT)
    at.session_state["_shared_dataset"] = "upload:alpha"
    at.session_state["_shared_model"] = "alpha-new"
    at.run()
    assert not at.exception
    warnings = [w.value for w in at.warning]
    assert any("1 model was scored on a different test set of 'upload:alpha'" in w for w in warnings)
    boards = [d.value for d in at.dataframe]
    assert [list(b["model"]) for b in boards[:2]] == [["alpha-new"], ["alpha-old"]]  # never one ranking
    assert list(boards[1]["data"]) == ["dataset changed"] and "data" not in boards[0].columns
    assert at.subheader[0].value == "Leaderboard" and at.subheader[1].value.startswith("Leaderboard: test set ")
    assert at.multiselect(key="compare-models").options == ["alpha-new"]  # the diagram: one test set


def test_overview_marks_the_changed_dataset(env):
    at = AppTest.from_file(str(ROOT / "views" / "overview.py"), default_timeout=TIMEOUT).run()
    assert not at.exception
    models = at.dataframe[0].value.set_index("name")
    assert models.loc["alpha-old", "data"] == "dataset changed" and models.loc["alpha-new", "data"] == ""


def test_pages_open_on_the_dataset_of_the_model_selected_on_predict(env):
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=TIMEOUT)
    at.session_state["_shared_dataset"] = "upload:beta"  # an earlier choice, like AG News for a new user
    at.run()
    at.switch_page("views/predict.py").run()
    assert not at.exception
    at.selectbox(key="predict-model").select("alpha-new").run()
    assert not at.exception
    for page, key in (("compare", "compare-dataset"), ("curves", "curves-dataset"),
                      ("compression", "compression-dataset")):
        at.switch_page(f"views/{page}.py").run()
        assert not at.exception, page
        assert at.selectbox(key=key).value == "upload:alpha", page
    at.switch_page("views/errors.py").run()
    assert not at.exception
    assert at.selectbox(key="errors-model").value == "alpha-new"
    # choosing another dataset on a page moves the shared dataset; the model stays where the user left it
    at.switch_page("views/compare.py").run()
    at.selectbox(key="compare-dataset").select("upload:beta").run()
    at.switch_page("views/curves.py").run()
    assert at.selectbox(key="curves-dataset").value == "upload:beta"


@pytest.mark.parametrize("query", [{"model": "alpha-old"}, {"model": "alpha-old", "dataset": "upload:beta"}])
def test_links_keep_working(env, query):
    """?model=X opens dataset pages on X's dataset; ?model=X&dataset=Y keeps the link's dataset."""
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=TIMEOUT)
    for key, value in query.items():
        at.query_params[key] = value
    at.run()
    for key in list(at.query_params):  # a click in the sidebar drops the URL's parameters
        del at.query_params[key]
    at.switch_page("views/compare.py").run()
    assert not at.exception
    assert at.selectbox(key="compare-dataset").value == query.get("dataset", "upload:alpha")
    at.switch_page("views/predict.py").run()
    assert at.selectbox(key="predict-model").value == "alpha-old"


def test_embeddings_says_which_models_have_vectors_instead_of_switching(env):
    at = AppTest.from_file(str(ROOT / "views" / "embeddings.py"), default_timeout=TIMEOUT)
    at.session_state["_shared_model"] = "alpha-new"
    at.run()
    assert not at.exception
    info = " ".join(i.value for i in at.info)
    assert "`alpha-new`" in info and "no sentence vectors" in info
    assert "Models of `upload:alpha` that have them: none." in info
    assert not at.get("plotly_chart") and not at.selectbox  # no map of another dataset's model
    assert [b.label for b in at.button if "beta-rnn" in b.label]  # offered, under "other datasets"

    at = AppTest.from_file(str(ROOT / "views" / "embeddings.py"), default_timeout=TIMEOUT)
    at.session_state["_shared_model"] = "beta-tfidf"
    at.run()
    info = " ".join(i.value for i in at.info)
    assert "Models of `upload:beta` that have them: `beta-rnn`." in info
    at.button(key="embeddings-use-beta-rnn").click().run()
    assert not at.exception
    assert at.selectbox(key="embeddings-model").value == "beta-rnn" and at.get("plotly_chart")


def test_statistics_show_the_dataset_just_saved(env):
    rows = frame(12, seed=9).to_csv(index=False).encode()
    at = AppTest.from_file(str(ROOT / "views" / "dataset.py"), default_timeout=TIMEOUT)
    at.session_state["_shared_dataset"] = "upload:beta"
    at.run()
    assert at.selectbox(key="dataset-name").value == "upload:beta"
    at.file_uploader(key="dataset-upload").set_value(("fresh.csv", rows, "text/csv")).run()
    assert not at.exception
    at.button(key="FormSubmitter:dataset-upload-form-Save dataset").click().run()
    assert not at.exception and at.success
    saved = at.selectbox(key="dataset-name").value
    assert saved != "upload:beta" and saved.startswith("upload:") and saved in at.success[0].value


def test_models_saved_before_the_record_are_fingerprinted_from_their_predictions(env):
    import json
    import shutil

    from core.artifacts import artifact_dir, delete_artifact, get_artifact
    from core.scoresets import dataset_mark, scored_fingerprint

    shutil.copytree(artifact_dir("alpha-old"), artifact_dir("alpha-legacy"))
    try:
        path = artifact_dir("alpha-legacy") / "manifest.json"
        manifest = json.loads(path.read_text())
        recorded = manifest.pop("test_fingerprint")
        del manifest["source_fingerprint"]
        path.write_text(json.dumps(manifest))
        legacy = get_artifact("alpha-legacy")
        assert scored_fingerprint(legacy) == recorded  # from predictions.npz
        assert dataset_mark(legacy) == "dataset changed"  # its test split is not alpha's any more
    finally:
        delete_artifact("alpha-legacy", "alpha-legacy")


def test_changed_mark_names_the_saved_version_that_holds_the_scored_data(env):
    from core.artifacts import get_artifact
    from core.data import list_datasets
    from core.scoresets import dataset_mark

    old = get_artifact("alpha-old")
    rows = {r["name"]: r for r in list_datasets()}
    assert dataset_mark(old, rows) == "dataset changed"
    rows["upload:alpha@v1"] = {**rows["upload:alpha"], "fingerprint": old.manifest["source_fingerprint"]}
    assert dataset_mark(old, rows) == "dataset changed (scored on upload:alpha@v1)"
    assert dataset_mark(get_artifact("alpha-new"), rows) == ""


def test_curves_page_shows_the_training_plan(env):
    """The RNN run's recorded plan (epochs set by the user here), the steps it ran and the epoch it kept."""
    at = AppTest.from_file(str(ROOT / "views" / "curves.py"), default_timeout=TIMEOUT)
    at.session_state["_shared_dataset"] = "upload:beta"
    plan = " ".join(t.value for t in at.run().text)
    assert not at.exception, at.exception
    assert "beta-rnn: Plan: 1 epoch(s) x" in plan and "(epochs set by the user)" in plan
    assert "kept the weights of epoch" in plan and "thread(s)" in plan
