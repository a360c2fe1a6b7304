"""Many classes and long texts on the pages (AppTest), on synthetic data (tests/synthetic_many.py).

- an 80-class dataset whose classes 3 and 7 share their vocabulary (a planted confusion), with a tiny TF-IDF:
  Errors shows the pair on top of the confused-pairs table, a row opens its cell, the matrix shows the chosen
  classes with every label; the Dataset charts label all 80 classes;
- a 25,000-character text with paragraphs on Predict: shown once, paragraphs and "isn't" kept;
- a tiny BERT reading windows: Predict shows which window decided.
"""
from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import numpy as np
import pytest

from tests.envtools import restored_env

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from streamlit.testing.v1 import AppTest  # noqa: E402

from tests.synthetic_many import LABELS, K, long_text, many_classes  # noqa: E402

TIMEOUT = 180
ENV = ("TEXTLAB_ARTIFACTS_DIR", "TEXTLAB_USER_DATA_DIR", "TEXTLAB_JOBS_DIR")


@pytest.fixture(scope="module")
def lab(tmp_path_factory):
    from core import train
    from core.data import save_upload

    root = tmp_path_factory.mktemp("many")
    with restored_env(ENV):
        os.environ["TEXTLAB_ARTIFACTS_DIR"] = str(root / "artifacts")
        os.environ["TEXTLAB_USER_DATA_DIR"] = str(root / "user_data")
        os.environ["TEXTLAB_JOBS_DIR"] = str(root / "jobs")
        os.environ.setdefault("TQDM_DISABLE", "1")
        dataset = save_upload(many_classes(), "many80")
        train.run(dataset, "tfidf", {"analyzer": "word", "word_ngram_max": 1}, name="many-tfidf")
        yield {"root": root, "dataset": dataset}


@pytest.fixture()
def fresh(lab):
    import streamlit as st

    st.cache_data.clear()
    st.cache_resource.clear()
    return lab


def page(name: str, **state) -> AppTest:
    at = AppTest.from_file(str(ROOT / "views" / f"{name}.py"), default_timeout=TIMEOUT)
    for k, v in state.items():
        at.session_state[k] = v
    return at


def figures(at: AppTest) -> list[dict]:
    return [json.loads(c.proto.spec) for c in at.get("plotly_chart")]


def array(value) -> np.ndarray:
    """A plotly JSON array: a list, or {"bdata": base64, "dtype": ...} (plotly's binary encoding)."""
    if isinstance(value, dict) and "bdata" in value:
        import base64

        return np.frombuffer(base64.b64decode(value["bdata"]), dtype=np.dtype(value["dtype"]))
    return np.asarray(value)


def axis_labels(fig: dict, axis: str) -> list[str]:
    return list(fig["layout"][f"{axis}axis"]["tickvals"])


# ------------------------------------------------------------------------------------------------ Errors

def test_errors_at_80_classes_pairs_matrix_and_cell(fresh):
    at = page("errors", _shared_model="many-tfidf").run()
    assert not at.exception
    pairs = at.dataframe[0].value
    assert list(pairs.columns[:3]) == ["true", "predicted", "count"]
    top2 = {(r.true, r.predicted) for r in pairs.head(2).itertuples()}
    assert top2 & {("class_03", "class_07"), ("class_07", "class_03")}  # the planted confusion leads
    assert (np.diff(pairs["count"].to_numpy()) <= 0).all()
    # the default subset: classes of the top pairs, 3 and 7 side by side (confusion clusters)
    shown = at.multiselect(key="errors-classes-many-tfidf").value
    assert {"class_03", "class_07"} <= set(shown) and len(shown) < K
    fig = next(f for f in figures(at) if f["layout"]["title"]["text"].startswith("Confusion matrix"))
    xs, ys = axis_labels(fig, "x"), axis_labels(fig, "y")
    assert xs == ys and set(xs) == set(shown)
    assert abs(xs.index("class_03") - xs.index("class_07")) == 1
    assert fig["layout"]["yaxis"]["scaleanchor"] == "x"  # square cells
    # every class: 80 labels on both axes, a bigger figure, no numbers in the (small) cells
    at.multiselect(key="errors-classes-many-tfidf").set_value(list(LABELS)).run()
    assert not at.exception
    big = next(f for f in figures(at) if f["layout"]["title"]["text"].startswith("Confusion matrix"))
    assert sorted(axis_labels(big, "x")) == LABELS and sorted(axis_labels(big, "y")) == LABELS
    assert big["layout"]["height"] > fig["layout"]["height"] and "texttemplate" not in big["data"][0]
    # selecting the pair's row opens its cell
    row = next(i for i, r in enumerate(pairs.itertuples()) if (r.true, r.predicted) == ("class_07", "class_03"))
    at.session_state["errors-pairs-many-tfidf"] = {"selection": {"rows": [row], "columns": [], "cells": []}}
    at.run()
    assert not at.exception
    assert at.selectbox(key="errors-true").value == "class_07"
    assert at.selectbox(key="errors-pred").value == "class_03"
    cell = next(d.value for d in at.dataframe if "text" in d.value.columns)
    assert len(cell) == int(pairs.iloc[row]["count"]) and set(cell["true"]) == {"class_07"}
    assert set(cell["predicted"]) == {"class_03"}


def test_confusion_helpers_find_the_planted_pair():
    from core.confusion import cluster_order, confused_pairs, default_subset

    counts = np.diag(np.full(30, 10))
    counts[3, 7], counts[7, 3], counts[12, 20] = 6, 4, 1
    rows = confused_pairs(counts, [str(i) for i in range(30)])
    assert [(r["true"], r["predicted"], r["count"]) for r in rows] == [(3, 7, 6), (7, 3, 4), (12, 20, 1)]
    assert rows[0]["share"] == pytest.approx(6 / 16)
    order = list(cluster_order(counts))
    assert sorted(order) == list(range(30)) and abs(order.index(3) - order.index(7)) == 1
    assert default_subset(counts) == [3, 7, 12, 20] and default_subset(counts[:5, :5]) == list(range(5))


# ------------------------------------------------------------------------------------------------ Dataset

def test_dataset_charts_label_every_class_at_80(fresh):
    at = page("dataset", _shared_dataset=fresh["dataset"]).run()
    assert not at.exception
    figs = {f["layout"]["title"]["text"]: f for f in figures(at)}
    bars = next(f for t, f in figs.items() if t.startswith("Examples per class"))
    assert sorted(axis_labels(bars, "y")) == LABELS and bars["data"][0]["orientation"] == "h"
    assert bars["layout"]["height"] >= 18 * K
    boxes = next(f for t, f in figs.items() if t.startswith("Text length per class"))
    assert boxes["data"][0]["type"] == "box" and sorted(axis_labels(boxes, "y")) == LABELS


# ------------------------------------------------------------------------------------------------ Predict

def test_predict_long_text_shown_once_with_paragraphs(fresh):
    text = long_text()
    assert len(text) == 25_000 and text.count("\n\n") > 20
    at = page("predict", _shared_model="many-tfidf").run()
    at.text_area(key="predict-text").input(text).run()
    assert not at.exception
    html = [m.value for m in at.markdown if "text-chips" in m.value]
    assert len(html) == 1  # one text box, not one per panel
    box = html[0]
    assert "max-height" in box and box.count("<br><br>") > 20  # collapsed, paragraphs kept
    assert "isn&#x27;t" in box and "bank&#x27;s" in box  # contractions and possessives stay one word
    assert "<b>" not in box
    assert at.selectbox(key="predict-text-colour-many-tfidf").options[0] == "no colours"
    assert any("Coloured on the text above" in c.value for c in at.caption)


def test_predict_short_text_keeps_chips_in_the_panels(fresh):
    at = page("predict", _shared_model="many-tfidf").run()
    at.text_area(key="predict-text").input("w3x1 w3x2 isn't the report.\nSecond line w5x0").run()
    assert not at.exception
    boxes = [m.value for m in at.markdown if "text-chips" in m.value]
    assert len(boxes) >= 2 and all("max-height" not in b for b in boxes)  # one per explained class
    assert "isn&#x27;t" in boxes[0] and "<br>" in boxes[0]


@pytest.fixture()
def chunked_bert(fresh):
    """A tiny BERT (max_length 16) that reads windows (chunking "max"), saved as an artifact."""
    from core import train
    from tests.test_chunking import chunked_model

    model, ds = chunked_model()
    train.finish(model, ds, "tiny-chunked", config={})
    return model


def test_predict_shows_which_window_decided(chunked_bert):
    from tests.tiny_bert import FILLER, TOPICS

    names = list(TOPICS)
    filler = " ".join(FILLER[i % len(FILLER)] for i in range(60))
    c = next((j for j, n in enumerate(names) if int(chunked_bert.predict_proba([" ".join(TOPICS[n].split()[:6])])
                                                   .argmax()) == j), None)
    if c is None:
        pytest.skip("the tiny model learned no topic")
    keywords = " ".join(TOPICS[names[c]].split()[:6])
    at = page("predict", _shared_model="tiny-chunked").run()
    at.text_area(key="predict-text").input(f"{filler}. {keywords}.").run()
    assert not at.exception
    assert any(s.value == "Long text: which part decided" for s in at.subheader)
    chart = next(f for f in figures(at) if f["layout"]["title"]["text"] == "Probability in each window")
    assert len(array(chart["data"][0]["x"])) >= 5  # one point per window
    decided = next(m.value for m in at.markdown if m.value.startswith("**Window "))
    n = int(decided.split("**Window ")[1].split(" of ")[0])
    total = int(decided.split(" of ")[1].split("**")[0])
    if int(chunked_bert.predict_proba([f"{filler}. {keywords}."]).argmax()) == c:
        assert n == total  # the keyword sits in the last window, which decided
