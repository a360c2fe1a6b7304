"""ui helpers that keep user strings inert: CSV cells (spreadsheet formulas) and markdown (labels on pages)."""
from __future__ import annotations

import io
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from tests.browser_utils import lab_env

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import ui  # noqa: E402


@pytest.mark.parametrize("cell, expected", [
    ("=HYPERLINK(\"http://x\")", "'=HYPERLINK(\"http://x\")"),
    ("+1+2", "'+1+2"),
    ("-2+3+cmd|' /C calc'!A0", "'-2+3+cmd|' /C calc'!A0"),
    ("@SUM(A1)", "'@SUM(A1)"),
    ("\tx", "'\tx"),
    ("\r=1", "'\r=1"),
    ("-", "'-"),
    ("hello = world", "hello = world"),
    ("-0.5", "-0.5"),  # a text that is just a number is no formula
    ("+3e-4", "+3e-4"),
    ("", ""),
    (-0.5, -0.5),
    (-3, -3),
    (None, None),
])
def test_csv_cell(cell, expected):
    assert ui.csv_cell(cell) == expected


def test_csv_bytes_defuses_text_keeps_numbers():
    df = pd.DataFrame({
        "text": ["=1+1", "fine", "@me", None],
        "score": [-0.25, 1.0, -3.5, np.nan],
        "count": [-1, 2, 3, 4],
        "mixed": ["-x", -2, "ok", 1.5],
        "=label": ["a", "b", "c", "d"],
    })
    out = pd.read_csv(io.BytesIO(ui.csv_bytes(df)), keep_default_na=False)
    assert list(out.columns) == ["text", "score", "count", "mixed", "'=label"]
    assert out["text"].tolist() == ["'=1+1", "fine", "'@me", ""]
    assert out["score"].astype(str).tolist() == ["-0.25", "1.0", "-3.5", ""]  # numbers, no quote
    assert "\n'=1+1,-0.25,-1,'-x,a\n" in ui.csv_bytes(df).decode("utf-8")
    assert out["count"].tolist() == [-1, 2, 3, 4]
    assert out["mixed"].astype(str).tolist() == ["'-x", "-2", "ok", "1.5"]
    assert df["text"][0] == "=1+1"  # the caller's frame is untouched


def test_md_escape_makes_labels_literal():
    assert ui.md_escape("<b>x</b>*") == r"\<b\>x\</b\>\*"
    assert ui.md_escape("a_b `c` $x$ [l](javascript:1) :red[y]") == \
        r"a\_b \`c\` \$x\$ \[l\]\(javascript\:1\) \:red\[y\]"
    assert ui.md_escape("two\nlines") == "two lines"
    assert ui.md_escape(3) == "3" and ui.md_escape("plain words") == "plain words"


EVIL_LABEL = "<b>x</b>*"


@pytest.fixture()
def evil_model(tmp_path, monkeypatch):
    """A small TF-IDF model whose class names are markup: "<b>x</b>*" and "plain_label"."""
    for var, path in lab_env(tmp_path).items():
        monkeypatch.setenv(var, path)
    monkeypatch.setenv("TQDM_DISABLE", "1")
    import streamlit as st

    from core import data, train

    rows = [{"text": f"free prize winner cash now {i}", "label": EVIL_LABEL} for i in range(30)] + \
           [{"text": f"see you at lunch tomorrow {i}", "label": "plain_label"} for i in range(30)]
    dataset = data.save_upload(pd.DataFrame(rows), "evil", text_columns="text", label_columns="label")
    train.run(dataset, "tfidf", {"analyzer": "word", "word_ngram_max": 1}, name="evil-tfidf")
    st.cache_data.clear()
    st.cache_resource.clear()
    yield "evil-tfidf"
    st.cache_data.clear()
    st.cache_resource.clear()


def test_predict_page_escapes_label_names(evil_model):
    from streamlit.testing.v1 import AppTest

    at = AppTest.from_file(str(ROOT / "views" / "predict.py"), default_timeout=120)
    at.run()
    at.selectbox(key="predict-model").select(evil_model).run()
    at.text_area(key="predict-text").input("free prize winner cash").run()
    assert not at.exception, at.exception
    shown = [str(e.value) for kind in ("markdown", "caption", "info", "subheader", "header")
             for e in getattr(at, kind)]
    escaped = ui.md_escape(EVIL_LABEL)
    assert any("Prediction:" in s and escaped in s for s in shown), shown
    assert any(escaped in s and "in the text" in s for s in shown)  # the contributions panel's heading
    for s in shown:  # raw markup only inside escaped token spans (render.tokens_html), never from a label
        assert "<b>x</b>" not in s and "`<b>" not in s
