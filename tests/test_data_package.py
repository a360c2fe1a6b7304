"""core.data as a package (issue 11): the validation report, the READERS table, one meaning of max_train, the
declarative built-in specs, and the shared "name already exists" check (core.naming)."""
from __future__ import annotations

import gzip
import io
import json

import numpy as np
import pandas as pd
import pytest

from core import artifacts, data, naming, train
from core.data import DataError, TableError
from core.errors import ArtifactError, NameTakenError
from tests.envtools import needs_shared

ALL_BUILTINS = needs_shared("", what="shared reference data (../shared/data)")


@pytest.fixture(autouse=True)
def _isolated(tmp_path, monkeypatch):
    monkeypatch.setenv("TEXTLAB_USER_DATA_DIR", str(tmp_path / "user_data"))
    monkeypatch.setenv("TEXTLAB_ARTIFACTS_DIR", str(tmp_path / "artifacts"))


def _frame(n: int = 60) -> pd.DataFrame:
    return pd.DataFrame({"text": [f"message number {i} about {'cats' if i % 3 else 'dogs'}" for i in range(n)],
                         "label": ["cats" if i % 3 else "dogs" for i in range(n)]})


# ---------------------------------------------------------------- validation: every problem at once


def test_validation_report_lists_every_problem_at_once():
    df = pd.DataFrame({"text": ["a fine text"] * 6 + ["", "  ", "another text", "more"],
                       "label": ["pos"] * 8 + [np.nan, "pos"]})
    test = pd.DataFrame({"text": ["held out", "also held out"]})  # no label column
    report = data.validate_frame(df, ["text", "title"], "label", test_frame=test)
    messages = [p.message for p in report.errors]
    assert not report.ok and report.counts["error"] == len(messages) == 5, messages
    assert any("column 'title' not found in the file" in m for m in messages)
    assert any("column 'title' not found in the test file" in m for m in messages)
    assert any("column 'label' not found in the test file" in m for m in messages)
    assert any("single class ('pos')" in m for m in messages)
    assert any("only 7 usable rows; need at least 10" in m for m in messages)
    dropped = {p.message: p for p in report.of("info")}
    empty = next(p for m, p in dropped.items() if "empty text" in m)
    no_label = next(p for m, p in dropped.items() if "no label" in m)
    assert (empty.rows, empty.n_rows, empty.table) == ((6, 7), 2, "file")
    assert (no_label.rows, no_label.column) == ((8,), "label")
    assert report.dropped == {"missing_label_file": 1, "empty_text_file": 2}
    assert report.class_counts == {"pos": 7} and report.rows == {"file": 10, "test file": 2}
    json.dumps(report.as_dict())  # a preview can show it as is
    with pytest.raises(TableError) as err:
        data.dataset_from_frame(df, ["text", "title"], "label", test_frame=test)
    assert isinstance(err.value, DataError) and str(err.value).startswith("5 problems")
    assert all(m in str(err.value) for m in messages)
    assert [p.message for p in err.value.report.errors] == messages


def test_validation_report_of_a_good_table_and_warnings():
    df = _frame(40)
    df.loc[0, "text"] = df.loc[1, "text"]  # same text, other label -> a warning, not an error
    report = data.validate_frame(df, "text", "label")
    assert report.ok and report.counts["error"] == 0 and report.label_format == "names"
    assert [p.message for p in report.warnings] == ["1 repeated texts carry different labels"]
    ds = data.dataset_from_frame(df, "text", "label")
    assert ds.meta["warnings"] == ["1 repeated texts carry different labels"]
    several = data.validate_frame(df.assign(a=1, b="x"), "text", ["a", "b"])  # two 0/1 columns, one is not
    assert [p.column for p in several.errors] == ["b"] and "row 0 holds 'x'" in several.errors[0].message


# ---------------------------------------------------------------- formats: READERS drives ACCEPTED_EXTENSIONS

WRITERS = {  # reader name -> frame to bytes; a new Reader needs a row here
    "CSV": lambda df: df.to_csv(index=False).encode(),
    "TSV": lambda df: df.to_csv(index=False, sep="\t").encode(),
    "JSONL": lambda df: df.to_json(orient="records", lines=True).encode(),
    "JSON": lambda df: df.to_json(orient="records").encode(),
    "Parquet": lambda df: _parquet(df),
}


def _parquet(df: pd.DataFrame) -> bytes:
    buf = io.BytesIO()
    df.to_parquet(buf)
    return buf.getvalue()


def test_accepted_extensions_are_exactly_what_read_table_reads():
    assert data.ACCEPTED_EXTENSIONS == sorted({ext.lstrip(".") for ext in data.READERS} | {"gz"})
    assert {"csv", "tsv", "jsonl", "json", "parquet", "txt", "gz"} <= set(data.ACCEPTED_EXTENSIONS)
    df = _frame(5)
    for ext, reader in data.READERS.items():
        payload = WRITERS[reader.name](df)
        for name, blob in ((f"t{ext}", payload), (f"t{ext}.gz", gzip.compress(payload))):
            back = data.read_table(blob, name)
            assert back.shape == (5, 2) and back["label"].tolist() == df["label"].tolist(), name
    for bad in ("t.xlsx", "t.docx", "noext"):
        assert bad.rsplit(".", 1)[-1] not in data.ACCEPTED_EXTENSIONS
        with pytest.raises(DataError, match="CSV UTF-8|unknown file type"):
            data.read_table(b"a,b\n1,2\n", bad)


# ---------------------------------------------------------------- max_train: one meaning everywhere


def test_max_train_samples_training_rows_only_for_builtin_upload_and_in_memory(tmp_path, monkeypatch):
    folder = tmp_path / "mydata" / "sms_spam"
    folder.mkdir(parents=True)
    frame = _frame(120).assign(label=lambda f: f["label"].map({"cats": "ham", "dogs": "spam"}))
    frame.to_csv(folder / "sms_spam.csv", index=False)
    monkeypatch.setenv("TEXTLAB_DATA_DIR", str(tmp_path / "mydata"))
    in_memory = data.dataset_from_frame(frame, "text", "label", name="mem")
    upload = data.save_upload(in_memory, "mem")
    for full, small in ((data.load_dataset("sms_spam"), data.load_dataset("sms_spam", max_train=20)),
                        (data.load_dataset(upload), data.load_dataset(upload, max_train=20)),
                        (in_memory, data.apply_max_train(in_memory, 20))):
        assert len(small.train) == 20 and len(full.train) > 20
        assert small.validation.texts == full.validation.texts and small.test.texts == full.test.texts
        assert set(small.train.texts) <= set(full.train.texts)
        assert small.meta["rows_before_max_train"]["train"] == len(full.train) and small.meta["max_train"] == 20
    assert len(in_memory.train) > 20  # the caller's dataset is not changed
    path = train.run(in_memory, "tfidf", {"analyzer": "word", "min_df": 1}, name="mem-tfidf", max_train=20)
    metrics = artifacts.get_artifact(path.name).metrics
    assert metrics["train_rows"] == 20 and metrics["validation_rows"] == len(in_memory.validation)
    assert metrics["test_rows"] == len(in_memory.test)
    with pytest.raises(NameTakenError, match="a model named 'mem-tfidf' already exists"):
        train.run(in_memory, "tfidf", name="mem-tfidf")
    with pytest.raises(DataError, match="at least 2"):
        data.load_dataset("sms_spam", max_train=1)


# ---------------------------------------------------------------- built-ins: declarative specs


def test_every_builtin_spec_has_a_parser_and_well_formed_roles():
    assert set(data.SPECS) == set(data.PARSERS)
    for spec in data.SPECS.values():
        roles = [f.role for f in spec.files]
        assert len(roles) == len(set(roles)) and spec.ships("train"), spec.name
        assert all(f.split in (None, "train", "validation", "test") and f.names for f in spec.files)
        assert all(name in f.names for f in spec.files for name, _ in f.rows)
        assert spec.task == ("multilabel" if spec.multilabel else "multiclass")


@ALL_BUILTINS
def test_documented_sizes_match_the_parsed_data():
    listed = {d["name"]: d["rows"] for d in data.list_datasets() if d["kind"] == "builtin"}
    for name in data.SPECS:
        ds = data.load_dataset(name)
        assert listed[name] == {k: len(s) for k, s in ds.splits().items()}, name


# ---------------------------------------------------------------- names: one "already exists" check


def test_shared_name_checks(tmp_path):
    free, taken = tmp_path / "free", tmp_path / "taken"
    taken.mkdir()
    naming.ensure_free(free, "free", "model")
    naming.ensure_free(taken, "taken", "model", overwrite=True)
    naming.ensure_free(lambda: False, "x", "dataset")
    for what, family in (("model", ArtifactError), ("dataset", DataError)):
        for how in (taken, True, lambda: True):
            with pytest.raises(NameTakenError, match=f"a {what} named 'taken' already exists; pick another"):
                naming.ensure_free(how, "taken", what)
            with pytest.raises(family):
                naming.ensure_free(how, "taken", what)
        with pytest.raises(family, match=f"invalid {what} name '../x'"):
            naming.check_name("../x", what)
    assert naming.check_name("a.b-1", "model") == "a.b-1"
    with pytest.raises(DataError, match="invalid dataset name"):
        naming.check_name("a.b", "dataset")


def test_save_upload_refuses_a_taken_name_unless_a_new_version_is_confirmed():
    ds = data.dataset_from_frame(_frame(30), "text", "label")
    data.save_upload(ds, "mine")
    with pytest.raises(NameTakenError, match="a dataset named 'mine' already exists"):
        data.save_upload(ds, "mine")  # nothing is replaced silently: refusing is the default
    with pytest.raises(DataError):
        data.save_upload(ds, "upload:mine")
    assert data.upload_versions("mine") == [1]
    data.save_upload(ds, "mine", new_version=True)
    assert data.upload_versions("mine") == [1, 2]
    data.save_upload(ds, "mine", overwrite=True)  # the explicit API: every version replaced by one
    assert data.upload_versions("mine") == [1]


class _Part(dict):
    """A stand-in for a `datasets` split: columns by name plus `features`."""

    def __init__(self, columns: dict, features: dict):
        super().__init__(columns)
        self.features = features


def _names(names):
    return type("ClassLabel", (), {"names": names})()


def test_hub_fallback_reads_the_spec_records(tmp_path, monkeypatch):
    import sys
    import types

    from core import config

    n = 40
    hub = {
        "ucirvine/sms_spam": {"train": _Part({"sms": [f" text {i} " for i in range(n)], "label": [i % 2 for i in range(n)]},
                                             {"label": _names(["ham", "spam"])})},
        "fancyzhx/ag_news": {split: _Part({"text": [f"cost \\$5 #{i}" for i in range(n)], "label": [i % 4 for i in range(n)]},
                                          {"label": _names(["W", "S", "B", "T"])}) for split in ("train", "test")},
        "google-research-datasets/go_emotions": {
            split: _Part({"text": [f" e {i}" for i in range(n)], "labels": [[i % 3] if i % 5 else [0, 2] for i in range(n)]},
                         {"labels": type("Seq", (), {"feature": _names(["a", "b", "c"])})()})
            for split in ("train", "validation", "test")},
    }
    calls = []

    def load_dataset(hub_id, config_name=None):
        calls.append((hub_id, config_name))
        return hub[hub_id]

    monkeypatch.setitem(sys.modules, "datasets", types.SimpleNamespace(load_dataset=load_dataset))
    monkeypatch.setattr(config, "data_search_path", lambda: [tmp_path / "empty"])
    monkeypatch.delenv("TEXTLAB_OFFLINE", raising=False)
    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    sms = data.load_dataset("sms_spam")
    assert sms.meta["source"] == "hub:ucirvine/sms_spam" and "carved" in sms.meta["test_split"]
    assert sum(map(len, sms.splits().values())) == n and " " not in sms.train.texts[0][0] + sms.train.texts[0][-1]
    ag = data.load_dataset("ag_news")
    assert ag.labels == ["W", "S", "B", "T"] and len(ag.test) == n and ag.test.texts[0] == "cost $5 #0"
    go = data.load_dataset("goemotions")
    assert go.multilabel and go.meta["validation_split"] == "official" and go.train.y.shape == (n, 3)
    assert go.train.texts[0] == " e 0" and go.train.y[0].tolist() == [1, 0, 1]
    assert ("google-research-datasets/go_emotions", "simplified") in calls
    with pytest.raises(DataError, match="no Hugging Face hub copy"):
        data.load_dataset("rusentiment")
