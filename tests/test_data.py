"""core.data: built-in loaders on the shared reference files, users' tables, uploads and describe()."""
from __future__ import annotations

import gzip
import importlib.util
import io
import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from core import config, data
from core.data import DataError, Split, TextDataset
from tests.envtools import needs_shared as needs_shared_data

SHARED = Path(__file__).resolve().parents[2] / "shared" / "data"
needs_shared = needs_shared_data("", what="shared reference data (../shared/data)")


@pytest.fixture(autouse=True)
def _isolated(tmp_path, monkeypatch):
    """Every test writes into its own temporary folders, never into the repo."""
    monkeypatch.setenv("TEXTLAB_USER_DATA_DIR", str(tmp_path / "user_data"))
    monkeypatch.setenv("TEXTLAB_ARTIFACTS_DIR", str(tmp_path / "artifacts"))


def _counts(y: np.ndarray, k: int) -> np.ndarray:
    return np.bincount(y, minlength=k)


def _all_y(ds: TextDataset) -> np.ndarray:
    return np.concatenate([ds.train.y, ds.validation.y, ds.test.y])


# ---------------------------------------------------------------- built-in datasets on the real files


@needs_shared
def test_list_datasets_is_cheap_and_complete():
    rows = {d["name"]: d for d in data.list_datasets()}
    assert set(rows) >= {"ag_news", "rusentiment", "sms_spam", "goemotions", "jigsaw_toxic", "jigsaw_toxic_binary"}
    for d in rows.values():
        assert {"name", "title", "task", "language", "available", "where", "rows"} <= set(d)
        assert d["available"]
    assert rows["ag_news"]["rows"] == {"train": 23166, "validation": 2574, "test": 7600}
    assert rows["goemotions"]["task"] == "multilabel"
    assert rows["rusentiment"]["language"] == "ru" and rows["rusentiment"]["hub_id"] is None


@needs_shared
def test_ag_news_official_test_and_cleanup():
    ds = data.load_dataset("ag_news")
    assert ds.labels == ["World", "Sports", "Business", "Sci/Tech"]
    assert len(ds.test) == 7600
    assert _counts(ds.test.y, 4).tolist() == [1900] * 4
    assert len(ds.train) + len(ds.validation) == 25740
    assert _counts(np.concatenate([ds.train.y, ds.validation.y]), 4).tolist() == [7275, 5538, 5650, 7277]
    assert ds.meta["test_split"] == "official" and not ds.multilabel and ds.language == "en"
    everything = ds.train.texts + ds.validation.texts + ds.test.texts
    assert not any("\\" in t or " #39;" in t or "&lt;" in t for t in everything)
    assert "A second team of rocketeers competing for the $10 million" in ds.test.texts[1]


@needs_shared
def test_validation_is_carved_stratified_and_seeded():
    ds = data.load_dataset("ag_news")
    share_train = _counts(ds.train.y, 4) / len(ds.train)
    share_val = _counts(ds.validation.y, 4) / len(ds.validation)
    assert len(ds.validation) == 2574
    assert np.abs(share_train - share_val).max() < 0.005
    assert not set(ds.train.texts[:2000]) & set(ds.validation.texts)
    other = data.load_dataset("ag_news", seed=1)
    assert other.validation.texts != ds.validation.texts and other.test.texts == ds.test.texts
    small = data.load_dataset("ag_news", max_train=400)
    # max_train samples training rows only (issue 11: one meaning): validation and test stay whole
    assert len(small.train) == 400 and len(small.validation) == 2574 and len(small.test) == 7600
    assert small.validation.texts == ds.validation.texts and small.meta["max_train"] == 400
    assert _counts(small.train.y, 4).min() >= 80  # stratified: every class keeps its share


@needs_shared
def test_rusentiment():
    ds = data.load_dataset("rusentiment")
    assert ds.labels == ["negative", "neutral", "positive", "skip", "speech"] and ds.language == "ru"
    assert len(ds.train) + len(ds.validation) == 21268 + 6950
    assert _counts(np.concatenate([ds.train.y, ds.validation.y]), 5).tolist() == [
        2294 + 1360, 8323 + 2977, 4635 + 1475, 3190 + 904, 2826 + 234]
    assert _counts(ds.test.y, 5).tolist() == [258, 1420, 536, 346, 407]


@needs_shared
def test_sms_spam_carved_test_is_fixed():
    ds = data.load_dataset("sms_spam")
    assert ds.labels == ["ham", "spam"]
    assert _counts(_all_y(ds), 2).tolist() == [4827, 747]
    assert len(ds.test) == 1115 and "carved" in ds.meta["test_split"]
    assert abs(ds.test.y.mean() - 747 / 5574) < 0.005
    assert data.load_dataset("sms_spam", seed=3).test.texts == ds.test.texts  # test never depends on seed


@needs_shared
def test_goemotions_multilabel_official_splits():
    ds = data.load_dataset("goemotions")
    assert ds.multilabel and len(ds.labels) == 28 and ds.labels[0] == "admiration" and ds.labels[27] == "neutral"
    assert (len(ds.train), len(ds.validation), len(ds.test)) == (43410, 5426, 5427)
    assert ds.train.y.shape == (43410, 28) and set(np.unique(ds.train.y)) == {0, 1}
    assert int((ds.train.y.sum(axis=1) > 1).sum()) == 7102
    assert int(ds.train.y[:, 27].sum()) == 14219 and int(ds.train.y[:, ds.labels.index("grief")].sum()) == 77
    assert ds.meta["validation_split"] == "official"


@needs_shared
def test_jigsaw_samples_and_binary():
    ds = data.load_dataset("jigsaw_toxic")
    assert ds.multilabel and ds.labels[0] == "toxic" and len(ds.labels) == 6
    assert len(ds.train) + len(ds.validation) == 300 and ds.test.y.shape == (101, 6)
    assert np.concatenate([ds.train.y, ds.validation.y]).sum(axis=0).tolist() == [31, 3, 18, 2, 17, 5]
    assert ds.test.y.sum(axis=0).tolist() == [13, 1, 10, 1, 6, 1]
    b = data.load_dataset("jigsaw_toxic_binary")
    assert b.labels == ["non-toxic", "toxic"] and not b.multilabel
    assert _counts(_all_y(b), 2).tolist() == [6090, 6090] and len(b.test) == 2436
    assert int(b.test.y.sum()) == 1218


def test_unknown_and_missing_dataset(tmp_path, monkeypatch):
    with pytest.raises(DataError, match="unknown dataset 'nope'.*ag_news"):
        data.load_dataset("nope")
    monkeypatch.setattr(config, "data_search_path", lambda: [tmp_path / "empty"])
    monkeypatch.setenv("TEXTLAB_OFFLINE", "1")
    with pytest.raises(DataError, match=r"(?s)in no data folder.*empty.*TEXTLAB_DATA_DIR.*Offline"):
        data.load_dataset("ag_news")
    with pytest.raises(DataError, match="no Hugging Face hub copy"):
        data.load_dataset("rusentiment")
    assert not {d["name"]: d for d in data.list_datasets()}["sms_spam"]["available"]
    if importlib.util.find_spec("datasets") is None:  # never touch the network in tests
        monkeypatch.delenv("TEXTLAB_OFFLINE")
        monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
        with pytest.raises(DataError, match="`datasets` package"):
            data.load_dataset("sms_spam")


def test_data_dir_override_and_cache_follows_edits(tmp_path, monkeypatch):
    folder = tmp_path / "mydata" / "sms_spam"
    folder.mkdir(parents=True)
    rows = [("spam" if i % 4 == 0 else "ham", f"message number {i}") for i in range(40)]
    pd.DataFrame(rows, columns=["label", "text"]).to_csv(folder / "sms_spam.csv", index=False)
    monkeypatch.setenv("TEXTLAB_DATA_DIR", str(tmp_path / "mydata"))
    ds = data.load_dataset("sms_spam")
    assert sum(map(len, ds.splits().values())) == 40 and ds.meta["source"] == str(folder)
    assert {d["name"]: d for d in data.list_datasets()}["sms_spam"]["rows"] is None  # not the reference file
    rows.append(("ham", "one more"))
    pd.DataFrame(rows, columns=["label", "text"]).to_csv(folder / "sms_spam.csv", index=False)
    assert sum(map(len, data.load_dataset("sms_spam").splits().values())) == 41


# ---------------------------------------------------------------- users' files


def _frame(n: int = 30) -> pd.DataFrame:
    return pd.DataFrame({"title": [f"title {i}" for i in range(n)], "body": [f"body text {i}" for i in range(n)],
                         "label": ["pos" if i % 3 else "neg" for i in range(n)]})


def test_read_table_formats(tmp_path):
    df = _frame(12)
    assert data.read_table(df.to_csv(index=False).encode(), "a.csv").shape == (12, 3)
    assert data.read_table(df.to_csv(index=False, sep=";").encode(), "a.csv").columns.tolist() == ["title", "body",
                                                                                                  "label"]
    assert data.read_table(df.to_csv(index=False, sep="\t").encode(), "a.tsv").shape == (12, 3)
    assert data.read_table(df.to_json(orient="records", lines=True).encode(), "a.jsonl").shape == (12, 3)
    buf = io.BytesIO()
    df.to_parquet(buf)
    assert data.read_table(buf.getvalue(), "a.parquet").shape == (12, 3)
    path = tmp_path / "a.csv.gz"
    path.write_bytes(gzip.compress(("\ufeff" + df.to_csv(index=False)).encode()))  # BOM + gzip
    assert data.read_table(path).columns[0] == "title"
    assert data.read_table(df.to_csv(index=False).encode("utf-16"), "excel.csv").shape == (12, 3)
    headless = data.read_table(b"1,first text\n2,second text\n", "h.csv", header=False)
    assert headless.columns.tolist() == ["column_1", "column_2"] and len(headless) == 2
    na = data.read_table(b"text,label\nNA,x\n,y\n", "na.csv")
    assert na["text"].tolist()[0] == "NA" and pd.isna(na["text"].tolist()[1])  # only empty cells are missing


@pytest.mark.parametrize("payload,name,pattern", [
    ("label,text\nham,caf\u00e9 ok\n".encode("latin-1"), "latin.csv", r"not UTF-8 text \(byte 0xe9 at offset 18\)"),
    (b"", "empty.csv", "is empty"),
    (b"   \n\n", "blank.csv", "is empty"),
    (b"label,text\n", "header.csv", "no data rows"),
    (bytes(np.random.default_rng(0).integers(0, 256, 4096, dtype=np.uint8)), "junk.csv", "binary"),
    (b"PK\x03\x04" + b"x" * 100, "book.csv", "zip archive"),
    (b"not parquet", "a.parquet", "Parquet"),
    (b"a,b\n1,2\n", "sheet.xlsx", "CSV UTF-8"),
    (b'{"a": 1}\n{"a": ', "broken.jsonl", "cannot parse"),
])
def test_read_table_errors(payload, name, pattern):
    with pytest.raises(DataError, match=pattern):
        data.read_table(payload, name)


def test_frame_to_dataset_names_and_joining():
    df = _frame(40)
    df.loc[3, "label"] = np.nan
    df.loc[4, "label"] = "  "
    df.loc[5, ["title", "body"]] = [np.nan, ""]
    df.loc[7] = df.loc[8]  # a duplicate row
    ds = data.dataset_from_frame(df, ["title", "body"], "label", name="mine")
    assert ds.labels == ["neg", "pos"] and not ds.multilabel
    assert ds.meta["dropped"] == {"missing_label_file": 2, "empty_text_file": 1, "total": 3}
    assert ds.meta["duplicate_rows"] == 1
    assert sum(map(len, ds.splits().values())) == 37 and len(ds.test) == 7
    assert "title 0 body text 0" in ds.train.texts + ds.validation.texts + ds.test.texts
    ints = pd.DataFrame({"t": [f"x{i}" for i in range(30)], "y": [[2, 10, 1][i % 3] for i in range(30)]})
    assert data.dataset_from_frame(ints, "t", "y").labels == ["1", "2", "10"]


def test_frame_errors():
    df = _frame(30)
    with pytest.raises(DataError, match=r"column 'lable' not found.*did you mean 'label'.*'title', 'body', 'label'"):
        data.dataset_from_frame(df, "title", "lable")
    with pytest.raises(DataError, match="every row of the file has a missing label"):
        data.dataset_from_frame(df.assign(label=np.nan), "title", "label")
    with pytest.raises(DataError, match="single class.*'pos'.*at least 2 classes"):
        data.dataset_from_frame(df.assign(label="pos"), "title", "label")
    with pytest.raises(DataError, match="only 1 usable rows; need at least 10"):
        data.dataset_from_frame(df.head(1), "title", "label")
    one = df.copy()
    one.loc[0, "label"] = "rare"
    with pytest.raises(DataError, match="at least 2 rows.*'rare': 1"):
        data.dataset_from_frame(one, "title", "label")
    with pytest.raises(DataError, match="both text and label"):
        data.dataset_from_frame(df, "label", "label")


def test_multilabel_delimited_and_binary_columns():
    tags = ["a,b", "b", "c", "a", "", "a, c"] * 5
    df = pd.DataFrame({"text": [f"text {i}" for i in range(30)], "tags": tags})
    ds = data.dataset_from_frame(df, "text", "tags")
    assert ds.multilabel and ds.labels == ["a", "b", "c"] and ds.meta["label_format"] == "delimited"
    y = _all_y(ds)
    assert y.shape == (30, 3) and y.sum(axis=0).tolist() == [15, 10, 10] and int((y.sum(axis=1) == 0).sum()) == 5
    cols = pd.DataFrame({"text": [f"c {i}" for i in range(30)], "toxic": [i % 2 for i in range(30)],
                         "insult": [int(i % 5 == 0) for i in range(30)]})
    ds2 = data.dataset_from_frame(cols, "text", ["toxic", "insult"])
    assert ds2.multilabel and ds2.labels == ["toxic", "insult"] and _all_y(ds2).sum(axis=0).tolist() == [15, 6]
    single = data.dataset_from_frame(cols, "text", ["toxic"], label_format="binary_columns")
    assert not single.multilabel and single.labels == ["not toxic", "toxic"]
    with pytest.raises(DataError, match="must hold 0/1 values.*'maybe'"):
        data.dataset_from_frame(cols.assign(insult=["maybe"] * 30), "text", ["toxic", "insult"])


def test_separate_test_frame():
    df, test = _frame(30), _frame(12)
    ds = data.dataset_from_frame(df, "body", "label", test_frame=test)
    assert len(ds.test) == 12 and ds.meta["test_split"] == "test file" and len(ds.train) + len(ds.validation) == 30
    rare = df.copy()
    rare.loc[0, "label"] = "rare"  # one row is enough when the test split comes from a file: it stays in train
    with_rare = data.dataset_from_frame(rare, "body", "label", test_frame=test)
    assert with_rare.labels.index("rare") in with_rare.train.y.tolist()
    with pytest.raises(DataError, match="test file"):
        data.dataset_from_frame(df, "body", "label", test_frame=test.drop(columns="body"))


def test_upload_round_trip(tmp_path):
    ds = data.dataset_from_frame(_frame(50), ["title", "body"], "label", name="x")
    ref = data.save_upload(ds, "my-set_1", title="My set")
    assert ref == "upload:my-set_1" and (tmp_path / "user_data" / "my-set_1" / "data.parquet").is_file()
    back = data.load_dataset(ref)
    assert back.fingerprint() == ds.fingerprint() and back.labels == ds.labels and back.name == ref
    assert back.meta["dropped"] == ds.meta["dropped"]
    listed = {d["name"]: d for d in data.list_datasets()}[ref]
    assert listed["kind"] == "upload" and listed["title"] == "My set" and listed["rows"]["test"] == len(ds.test)
    tags = pd.DataFrame({"text": [f"t {i}" for i in range(30)], "tags": ["a|b", "b", "a"] * 10})
    ml = data.load_dataset(data.save_upload(tags, "ml", text_columns="text", label_columns="tags", delimiter="|"))
    assert ml.multilabel and ml.labels == ["a", "b"] and _all_y(ml).shape == (30, 2)
    assert len(data.load_dataset("upload:ml", max_train=5).train) == 5
    for bad in ["../evil", "a/b", "", ".hidden", "x" * 65]:
        with pytest.raises(DataError, match="invalid dataset name"):
            data.save_upload(ds, bad)
    data.delete_upload("ml")
    with pytest.raises(DataError, match="no saved dataset named 'ml'"):
        data.load_dataset("upload:ml")


# ---------------------------------------------------------------- describe()


def _words(texts):
    return [t.split() for t in texts]


@needs_shared
def test_describe_sms_spam():
    d = data.describe(data.load_dataset("sms_spam"), tokenizer=_words)
    json.dumps(d)  # plain JSON-able
    for key in ("splits", "lengths", "coverage", "suggested_max_length", "vocab_size", "duplicates", "overlap",
                "empty", "tokenizer", "sampling"):
        assert key in d
    for split in d["splits"].values():
        assert abs(split["class_share"]["spam"] - 0.134) < 0.005
    assert 6.3 < d["splits"]["train"]["imbalance_ratio"] < 6.6
    assert [r["max_length"] for r in d["coverage"]] == [16, 32, 64, 128, 256, 512]
    assert d["suggested_max_length"] == 64 and d["tokenizer"].startswith("custom")
    assert d["lengths"]["chars"]["per_class"]["spam"]["p50"] > d["lengths"]["chars"]["per_class"]["ham"]["p50"]
    assert d["duplicates"]["count"] > 0 and d["overlap"]["train_test"]["count"] > 0  # SMS has known repeats
    assert not d["sampling"]["sampled"] and d["empty"]["count"] == 0


@needs_shared
def test_describe_goemotions_multilabel():
    ds = data.load_dataset("goemotions")
    d = data.describe(ds, tokenizer=lambda texts: [len(t.split()) for t in texts], max_rows=3000)
    assert d["sampling"] == {"max_rows": 3000, "rows_total": 54263, "rows_used": 3000, "sampled": True,
                             "max_token_rows": 10_000, "token_rows_used": 3000}
    m = np.array(d["cooccurrence"]["matrix"])
    assert m.shape == (28, 28) and (m == m.T).all() and m[27, 27] == 14219
    train = d["splits"]["train"]
    assert train["no_label_share"] == 0.0 and train["class_counts"]["grief"] == 77
    assert sum(train["labels_per_row"]["counts"].values()) == 43410 and train["labels_per_row"]["counts"]["2"] > 0
    assert set(d["lengths"]["tokens"]["per_class"]) == set(ds.labels)


def test_describe_small_synthetic_leakage_and_default_tokenizer():
    texts = [f"sample text number {i} " + "word " * (i % 7) for i in range(40)]
    y = np.array([i % 2 for i in range(40)])
    ds = TextDataset("toy", ["a", "b"], Split(texts[:30], y[:30]), Split(texts[30:35], y[30:35]),
                     Split(texts[35:] + [texts[0].upper() + "!", ""], np.r_[y[35:], 0, 1]))
    d = data.describe(ds)
    assert d["overlap"]["train_test"]["count"] == 1 and d["empty"]["count"] == 1
    assert d["tokenizer"].startswith(("all-MiniLM", "whitespace"))
    assert d["suggested_max_length"] == 16 == data.suggest_max_length(ds)
    assert data.suggest_max_length(ds, tokenizer=lambda ts: [100] * len(ts)) == 128
