"""The user's own files: PATHs on the command line (resolve_dataset), `python -m core data`, versioned uploads
(nothing replaced silently), the Dataset page's test file and collision refusal, duplicates kept inside one
carved split, and statistics that stay true (suggested max length, coverage line, CLI describe)."""
from __future__ import annotations

import json
import os
import re
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest

from core import artifacts, data
from core.config import ROOT
from core.errors import DataError, LabError, NameTakenError

WORDS = {"sport": "goal match team player score league coach",
         "tech": "computer chip software code cloud server laptop",
         "food": "pizza pasta bread cheese soup salad butter"}


def topic_frame(n: int, seed: int, extra: str = "") -> pd.DataFrame:
    """n rows of 8 planted topic words + a unique token; columns id, question (text), intent (label)."""
    rng = np.random.default_rng(seed)
    labels = list(WORDS)
    rows = []
    for i in range(n):
        lab = labels[i % 3]
        words = WORDS[lab].split()
        text = " ".join(words[int(j)] for j in rng.integers(len(words), size=8))
        rows.append({"id": i, "question": f"{text} {extra}{seed}x{i}", "intent": lab})
    return pd.DataFrame(rows)


@pytest.fixture()
def env(tmp_path, monkeypatch):
    monkeypatch.setenv("TEXTLAB_ARTIFACTS_DIR", str(tmp_path / "artifacts"))
    monkeypatch.setenv("TEXTLAB_USER_DATA_DIR", str(tmp_path / "user_data"))
    monkeypatch.setenv("TEXTLAB_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setenv("TQDM_DISABLE", "1")
    folder = tmp_path / "intents"
    folder.mkdir()
    topic_frame(240, 0).to_csv(folder / "train.csv", index=False)
    topic_frame(45, 1).to_csv(folder / "test.csv", index=False)
    return tmp_path


def cli(*args: str, check: bool = True) -> subprocess.CompletedProcess:
    proc = subprocess.run([sys.executable, "-m", "core", *args], cwd=ROOT, env=dict(os.environ), capture_output=True,
                          text=True, timeout=300)
    if check:
        assert proc.returncode == 0, proc.stderr[-2000:]
    return proc


# ------------------------------------------------------------------------------------------- resolve_dataset
def test_resolve_a_path_with_a_test_file(env):
    train, test = env / "intents" / "train.csv", env / "intents" / "test.csv"
    ds = data.resolve_dataset(str(train), test_file=str(test))
    assert ds.name == "file:intents/train"
    assert len(ds.test) == 45 and ds.meta["test_split"] == "test file"
    assert len(ds.train) + len(ds.validation) == 240  # validation is carved from the training file only
    assert not set(ds.test.texts) & set(ds.train.texts + ds.validation.texts)
    assert ds.meta["text_columns"] == ["question"] and ds.meta["label_columns"] == ["intent"]  # guessed
    assert ds.meta["source_files"] == [str(train.resolve()), str(test.resolve())]
    # the name loads again later (pages showing a model trained from the file), with the same rows
    again = data.load_dataset("file:intents/train")
    assert again.fingerprint() == ds.fingerprint()
    assert len(data.resolve_dataset(str(train), max_train=30).train) == 30
    assert data.resolve_dataset(str(train)).meta["test_split"].startswith("carved")  # no test file: carved


def test_column_guesses():
    df = pd.DataFrame({"n": [1, 2], "short": ["a", "b"], "long": ["a long text here", "another long one"],
                       "Category": ["x", "y"]})
    assert data.guess_columns(df) == (["long"], ["Category"])
    assert data.guess_columns(df, ["short"], ["n"]) == (["short"], ["n"])
    with pytest.raises(DataError, match="no label column found"):
        data.guess_columns(df.drop(columns="Category"))


def _write(path, content: bytes):
    path.write_bytes(content)
    return str(path)


BAD_FILES = {
    "missing file": (lambda d: str(d / "nope.csv"), {}, "data file not found"),
    "unknown extension": (lambda d: _write(d / "t.docx", b"text,label\na,b\n"), {}, "unknown file type '.docx'"),
    "empty file": (lambda d: _write(d / "e.csv", b""), {}, "is empty"),
    "non-UTF-8": (lambda d: _write(d / "l.csv", "text,label\ncaf\u00e9 ok,a\n".encode("latin-1")), {}, "not UTF-8"),
    "missing column": (lambda d: str(d / "intents" / "train.csv"), {"text_cols": ["body"]},
                       "column 'body' not found"),
    "test labels not in train": (lambda d: str(d / "intents" / "train.csv"), {"test_file": "alien"},
                                 "not in the training file: ['alien']"),
}


@pytest.mark.parametrize("case", list(BAD_FILES))
def test_bad_files_give_one_clear_error_and_save_nothing(env, case):
    make, kwargs, message = BAD_FILES[case]
    path = make(env)
    if kwargs.get("test_file") == "alien":
        alien = topic_frame(12, 2)
        alien.loc[0, "intent"] = "alien"
        alien.to_csv(env / "alien.csv", index=False)
        kwargs = {"test_file": str(env / "alien.csv")}
    with pytest.raises(LabError, match=message.replace("[", r"\[").replace("]", r"\]").replace("(", r"\(")):
        data.resolve_dataset(path, **kwargs)
    proc = cli("data", "add", path, "--name", "bad", *(["--test-file", kwargs["test_file"]] if "test_file" in kwargs
                                                        else []), *[a for c in kwargs.get("text_cols", [])
                                                                    for a in ("--text-col", c)], check=False)
    assert proc.returncode == 2 and message in proc.stderr and "Traceback" not in proc.stderr
    assert data.list_uploads() == []


def test_repeated_label_columns_make_a_multilabel_file_dataset(env):
    df = topic_frame(60, 5)
    df["is_sport"] = (df["intent"] == "sport").astype(int)
    df["is_food"] = (df["intent"] == "food").astype(int)
    path = env / "multi.jsonl"
    df.drop(columns="intent").to_json(path, orient="records", lines=True)
    ds = data.resolve_dataset(str(path), label_cols=["is_sport", "is_food"])
    assert ds.multilabel and ds.labels == ["is_sport", "is_food"] and ds.meta["text_columns"] == ["question"]
    assert ds.train.y.shape[1] == 2 and ds.name == f"file:{env.name}/multi"


def test_column_options_are_refused_for_a_named_dataset(env):
    with pytest.raises(DataError, match="apply to a file path"):
        data.resolve_dataset("sms_spam", text_cols=["text"])


# ------------------------------------------------------------------------------------------- CLI end to end
def test_cli_trains_and_describes_a_path_with_a_test_file(env):
    train, test = str(env / "intents" / "train.csv"), str(env / "intents" / "test.csv")
    out = cli("train", "--dataset", train, "--test-file", test, "--model", "tfidf", "--name", "intents-tfidf").stdout
    result = json.loads(out[out.index("{"):])
    assert result["artifact"] == "intents-tfidf" and result["accuracy"] > 0.6  # 3 classes: chance is 1/3
    info = artifacts.get_artifact("intents-tfidf")
    assert info.ok and info.dataset == "file:intents/train"
    assert info.metrics["test_rows"] == 45  # the test file's rows, not a carved share
    assert info.manifest["dataset_fingerprint"] == data.load_dataset("file:intents/train").fingerprint()
    # a default model name from a file dataset is a valid name too
    out = cli("train", "--dataset", train, "--model", "tfidf", "--text-col", "question", "--label-col", "intent").stdout
    assert json.loads(out[out.index("{"):])["artifact"].startswith("file-intents-train-tfidf-")

    out = cli("describe", train, "--test-file", test).stdout
    assert "file:intents/train: 3 labels" in out and "test 45" in out
    assert "class distribution" in out
    for lab in WORDS:  # one line per class with its count in each split
        line = next(s for s in out.splitlines() if s.strip().startswith(lab))
        assert "train" in line and re.search(r"test\s+15$", line)
    assert "length percentiles" in out and "p95" in out and "characters" in out
    assert "suggested max length: 16 tokens" in out or "suggested max length: 32 tokens" in out
    stats = json.loads(cli("describe", train, "--json").stdout)
    assert {"splits", "lengths", "coverage", "suggestion_note", "duplicates"} <= set(stats)


def test_data_add_refuses_a_taken_name_and_new_version_keeps_v1(env):
    train, test = str(env / "intents" / "train.csv"), str(env / "intents" / "test.csv")
    out = cli("data", "add", train, "--name", "intents", "--test-file", test).stdout
    assert "saved upload:intents (v1)" in out and "test 45" in out
    v1 = data.load_dataset("upload:intents")
    spec = env / "user_data" / "intents" / "spec.json"
    before = spec.read_bytes()
    topic_frame(150, 7).to_csv(env / "intents" / "train.csv", index=False)  # a different file, same path
    refused = cli("data", "add", train, "--name", "intents", check=False)
    assert refused.returncode == 2 and "already exists" in refused.stderr and "--new-version" in refused.stderr
    assert spec.read_bytes() == before and data.upload_versions("intents") == [1]  # untouched
    # a model trained on v1 (pinned) before the new version
    from core.train import run

    run("upload:intents@v1", "tfidf", {}, name="on-v1")
    out = cli("data", "add", train, "--name", "intents", "--new-version").stdout
    assert "saved upload:intents (v2)" in out
    assert data.upload_versions("intents") == [1, 2]
    assert data.load_dataset("upload:intents").fingerprint() != v1.fingerprint()  # latest = v2
    old = data.load_dataset("upload:intents@v1")
    assert old.fingerprint() == v1.fingerprint() and old.name == "upload:intents@v1" and len(old.test) == 45
    info = artifacts.get_artifact("on-v1")
    assert info.ok and info.dataset == "upload:intents@v1"
    assert data.load_dataset(info.dataset).fingerprint() == info.manifest["dataset_fingerprint"]
    # a model that recorded the plain name while v1 was the latest finds its version by fingerprint
    assert data.version_with_fingerprint("intents", v1.fingerprint()) == "upload:intents@v1"
    assert data.version_with_fingerprint("upload:intents", "0" * 16) is None
    names = [d["name"] for d in data.list_datasets()]
    assert "upload:intents" in names and "upload:intents@v1" in names
    listed = cli("data", "list").stdout
    assert "upload:intents" in listed and "v1,v2" in listed
    shown = cli("data", "show", "intents@v1").stdout
    assert "train" in shown and v1.fingerprint() in shown and "test.csv" in shown and "v2" in shown
    assert cli("data", "remove", "intents", check=False).returncode == 2
    assert data.upload_versions("intents") == [1, 2]
    cli("data", "remove", "intents", "--yes")
    assert data.list_uploads() == []
    with pytest.raises(DataError, match="no saved dataset"):
        data.load_dataset("upload:intents@v1")


def test_upload_versions_and_free_names(env):
    ds = data.resolve_dataset(str(env / "intents" / "train.csv"))
    assert data.free_name("train") == "train"
    data.save_upload(ds, "train")
    assert data.free_name("train") == "train-2"
    data.save_upload(ds, "train-2")
    assert data.free_name("train") == "train-3"
    with pytest.raises(NameTakenError):
        data.save_upload(ds, "train")
    with pytest.raises(DataError, match="has no version v3"):
        data.load_dataset("upload:train@v3")
    with pytest.raises(DataError, match="bad dataset version"):
        data.load_dataset("upload:train@latest")


# ------------------------------------------------------------------------------------------- duplicates
def test_carved_splits_keep_exact_duplicates_inside_one_split(env):
    df = topic_frame(300, 3)
    for g in range(40):  # 40 planted groups of 3 identical texts (same class)
        rows = [g * 7, g * 7 + 3, g * 7 + 6]
        df.loc[rows, "question"] = f"planted duplicate {g}"
        df.loc[rows, "intent"] = df.loc[rows[0], "intent"]
    ds = data.dataset_from_frame(df, "question", "intent")
    where: dict[str, set[str]] = {}
    for split_name, split in ds.splits().items():
        for t in split.texts:
            where.setdefault(t, set()).add(split_name)
    assert sum(len(s) > 1 for s in where.values()) == 0
    assert all(where[f"planted duplicate {g}"] for g in range(40))
    assert ds.meta["duplicate_groups"] == 40
    assert len(ds.test) == 60 and len(ds.validation) == 24  # sizes as without duplicates (swaps, not drops)
    stats = data.describe(ds, tokenizer=lambda texts: [len(t.split()) for t in texts])
    assert stats["duplicates"]["exact_groups"] == 40 and stats["duplicates"]["exact_across_splits"] == 0
    # the plain stratified split alone would have put some groups on both sides
    keep, hold = data.splits.stratified_split(pd.factorize(df["intent"])[0], 60, 0)
    texts = df["question"].tolist()
    assert set(texts[i] for i in keep) & set(texts[i] for i in hold)


# ------------------------------------------------------------------------------------------- statistics
def test_suggested_max_length_says_when_no_candidate_covers_95_percent():
    from core.data import Split, TextDataset

    def ds(n_words: int) -> TextDataset:
        y = np.arange(40) % 2
        return TextDataset("long", ["a", "b"], Split([("w " * n_words).strip()] * 40, y), Split(["w"] * 4, y[:4]),
                           Split(["w"] * 4, y[:4]))

    words = lambda texts: [len(t.split()) for t in texts]  # noqa: E731
    long = data.describe(ds(900), tokenizer=words)
    assert long["suggested_max_length"] == 512 and long["suggested_covers_target"] is False
    assert "no candidate covers 95%" in long["suggestion_note"] and "chunked inference" in long["suggestion_note"]
    assert "covers only 17%" in long["suggestion_note"]  # 40 of 48 texts are longer than 512
    short = data.describe(ds(20), tokenizer=words)
    assert short["suggested_max_length"] == 32 and short["suggested_covers_target"] is True
    assert "smallest candidate covering ≥ 95%" in short["suggestion_note"]


def test_coverage_line_is_drawn_at_the_suggested_length_on_the_log_axis():
    from core import plots

    points = [(16, 0.1), (32, 0.3), (64, 0.6), (128, 0.97), (256, 0.99), (512, 1.0)]
    fig = plots.length_coverage(points=points, marks=[128])
    assert fig.layout.xaxis.type == "log"
    line = fig.layout.shapes[0]
    # shapes on a log axis take data values: the line sits on the curve's 128 point, not at x = log10(128)
    assert line.x0 == line.x1 == 128 and 128 in list(fig.data[0].x)
    note = fig.layout.annotations[0]
    assert note.x == pytest.approx(np.log10(128))  # annotations take log10 positions on a log axis
    assert "97%" in note.text


# ------------------------------------------------------------------------------------------- Dataset page
def _csv(frame: pd.DataFrame) -> bytes:
    return frame.to_csv(index=False).encode()


def test_dataset_page_upload_with_a_test_file_and_the_collision_refusal(env):
    import streamlit as st
    from streamlit.testing.v1 import AppTest

    st.cache_data.clear()
    st.cache_resource.clear()
    data.save_upload(data.resolve_dataset(str(env / "intents" / "train.csv")), "seed")
    at = AppTest.from_file(str(ROOT / "views" / "dataset.py"), default_timeout=120)
    at.session_state["_shared_dataset"] = "upload:seed"  # a tiny dataset for the Statistics tab
    at.run()
    at.file_uploader(key="dataset-upload").set_value(("train.csv", _csv(topic_frame(240, 0)), "text/csv")).run()
    assert not at.exception and not at.slider[0].proto.disabled
    at.file_uploader(key="dataset-upload-test").set_value(("test.csv", _csv(topic_frame(45, 1)), "text/csv")).run()
    assert not at.exception
    assert at.slider[0].proto.disabled  # the test file is the test split: no share to pick
    assert at.multiselect[0].value == ["question"] and at.multiselect[1].value == ["intent"]
    assert at.text_input[-1].value == "train"
    at.button(key="FormSubmitter:dataset-upload-form-Save dataset").click().run()
    assert not at.exception and not at.error
    assert "upload:train" in at.success[0].value and "45 test rows" in at.success[0].value
    assert "test split: test file" in at.success[0].value
    ds = data.load_dataset("upload:train")
    assert len(ds.test) == 45 and len(ds.train) + len(ds.validation) == 240
    assert at.selectbox(key="dataset-name").value == "upload:train"  # Statistics follows the save at once
    fingerprint = ds.fingerprint()

    # another file with the same file name: the default name is free, never the saved one
    other = topic_frame(150, 9)
    at.file_uploader(key="dataset-upload").set_value(("train.csv", _csv(other), "text/csv")).run()
    at.file_uploader(key="dataset-upload-test").set_value(None).run()
    assert at.text_input[-1].value == "train-2"
    at.text_input[-1].set_value("train")  # the user insists on the taken name: refused, nothing replaced
    at.button(key="FormSubmitter:dataset-upload-form-Save dataset").click().run()
    assert not at.exception and at.error and "already exists" in at.error[0].value
    assert "Save as a new version" in at.error[0].value
    assert data.upload_versions("train") == [1] and data.load_dataset("upload:train").fingerprint() == fingerprint
    at.checkbox(key="dataset-new-version").check()
    at.button(key="FormSubmitter:dataset-upload-form-Save dataset").click().run()
    assert not at.exception and not at.error and "(version 2)" in at.success[0].value
    assert data.upload_versions("train") == [1, 2]
    assert data.load_dataset("upload:train@v1").fingerprint() == fingerprint
    assert len(data.load_dataset("upload:train").test) == 30  # v2 has no test file: 20% carved


def test_dataset_page_refuses_a_test_file_with_unknown_labels(env):
    import streamlit as st
    from streamlit.testing.v1 import AppTest

    st.cache_data.clear()
    st.cache_resource.clear()
    data.save_upload(data.resolve_dataset(str(env / "intents" / "train.csv")), "seed")
    at = AppTest.from_file(str(ROOT / "views" / "dataset.py"), default_timeout=120)
    at.session_state["_shared_dataset"] = "upload:seed"
    at.run()
    alien = topic_frame(30, 4)
    alien.loc[0, "intent"] = "alien"
    at.file_uploader(key="dataset-upload").set_value(("q.csv", _csv(topic_frame(120, 0)), "text/csv")).run()
    at.file_uploader(key="dataset-upload-test").set_value(("t.csv", _csv(alien), "text/csv")).run()
    at.button(key="FormSubmitter:dataset-upload-form-Save dataset").click().run()
    assert not at.exception and at.error and "not in the training file: ['alien']" in at.error[0].value
    assert data.list_uploads() == ["seed"]


def test_an_experiment_grid_names_a_file_relative_to_its_config(env, monkeypatch):
    from core.experiments import run_file

    config = {"dataset": "intents/train.csv", "test_file": "intents/test.csv", "text_cols": ["question"],
              "base": {"kind": "tfidf", "params": {"analyzer": "word"}}, "variants": [{"name": "C1", "C": 1.0}]}
    (env / "grid.json").write_text(json.dumps(config))
    monkeypatch.chdir(ROOT)  # not the config's folder: the paths are found next to the config file
    table = run_file(env / "grid.json")
    info = artifacts.get_artifact(table["artifact"][0])
    assert info.dataset == "file:intents/train" and info.metrics["test_rows"] == 45
    assert table["artifact"][0].startswith("file-intents-train-tfidf-")
