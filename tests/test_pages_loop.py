"""Data maps and Relabel pages through AppTest, on a tiny upload with planted label noise (TF-IDF, GRU and a
multi-label TF-IDF model built once per module)."""
from __future__ import annotations

import sys
from pathlib import Path

import pytest

from tests.envtools import chart_text, lab_dirs

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:  # pages import `ui` from the project root
    sys.path.insert(0, str(ROOT))

from streamlit.testing.v1 import AppTest  # noqa: E402

from tests.test_pages import texts_of  # noqa: E402

TIMEOUT = 180
XSS = "<b>bold</b> ball goal team"


@pytest.fixture(scope="module")
def loop_lab(tmp_path_factory):
    from core import train
    from core.data import save_upload
    from tests.planted_noise import FAST_RNN, noisy_dataset
    from tests.tiny_bert import tiny_dataset

    root = tmp_path_factory.mktemp("looplab")
    with lab_dirs(root):
        ds, flipped = noisy_dataset()
        ds.train.texts[flipped[0]] = XSS  # a flipped row with markup: hover and tables must show it as text
        save_upload(ds, "noisy")
        save_upload(tiny_dataset(multilabel=True, n_train=60), "multi")
        fast = {"analyzer": "word", "min_df": 1}
        train.run("upload:noisy", "tfidf", fast, name="noisy-tfidf")
        train.run("upload:noisy", "rnn", FAST_RNN, name="noisy-rnn")
        train.run("upload:multi", "tfidf", fast, name="multi-tfidf")
        yield {"root": root, "ds": ds, "flipped": flipped}


@pytest.fixture()
def lab(loop_lab):
    import streamlit as st

    with lab_dirs(loop_lab["root"]):
        st.cache_data.clear()
        yield loop_lab


def page(name: str, model: str, **state) -> AppTest:
    at = AppTest.from_file(str(ROOT / "views" / f"{name}.py"), default_timeout=TIMEOUT)
    at.session_state["_shared_model"] = model
    for key, value in state.items():
        at.session_state[key] = value
    at.run()
    assert not at.exception, at.exception
    return at


# ------------------------------------------------------------------------------------------------ Data maps

def test_datamaps_page_draws_the_map_and_lists_the_hard_rows(lab):
    at = page("datamaps", "noisy-tfidf")
    assert not at.error, [e.value for e in at.error]
    assert "Data maps" in [t.value for t in at.title]
    metrics = {m.label: m.value for m in at.metric}
    assert int(metrics["hard-to-learn"]) >= len(lab["flipped"]) * 0.8
    chart = chart_text(at.get("plotly_chart")[0])
    assert "hard-to-learn" in chart and "&lt;b&gt;bold&lt;/b&gt;" in chart and "<b>bold</b>" not in chart
    table = at.dataframe[0].value
    assert set(table["region"]) == {"hard-to-learn"}
    assert set(lab["ds"].train.texts[i] for i in lab["flipped"]) & set(table["text"])


def test_datamaps_page_saves_the_listed_rows_as_a_slice(lab):
    at = page("datamaps", "noisy-tfidf")
    at.text_input[0].set_value("suspects")
    at.button(key="FormSubmitter:datamaps-slice-Save as slice").click().run()
    assert not at.exception, at.exception
    from core.slices.store import list_slices

    assert "as slice “suspects” of upload:noisy" in texts_of(at)
    saved = {s.name: s for s in list_slices("upload:noisy")}["suspects"]
    assert saved.kind == "texts" and set(saved.definition["texts"]) == set(at.dataframe[0].value["text"])


def test_datamaps_page_recorded_dynamics_and_region_picker(lab):
    at = page("datamaps", "noisy-rnn", **{"datamaps-regions": ["easy-to-learn"]})
    assert not at.error
    assert "recorded during training" in texts_of(at)
    assert set(at.dataframe[0].value["region"]) == {"easy-to-learn"}


def test_datamaps_page_multilabel_has_a_label_picker(lab):
    at = page("datamaps", "multi-tfidf")
    assert not at.error
    picker = at.selectbox(key="datamaps-label")
    assert picker.options and picker.value == picker.options[0]
    at.multiselect(key="datamaps-regions").set_value(list(at.multiselect(key="datamaps-regions").options)).run()
    assert set(at.dataframe[0].value["label"]) == {picker.value, f"not {picker.value}"}
    assert "Data map of multi-tfidf" in chart_text(at.get("plotly_chart")[0])


def test_datamaps_page_empty_state_for_a_model_without_dynamics(lab):
    (lab["root"] / "artifacts" / "noisy-rnn" / "dynamics.npz").rename(lab["root"] / "dyn.npz")
    try:
        at = page("datamaps", "noisy-rnn")
        assert "no recorded training dynamics" in texts_of(at)
        assert not at.get("plotly_chart")
    finally:
        (lab["root"] / "dyn.npz").rename(lab["root"] / "artifacts" / "noisy-rnn" / "dynamics.npz")


# ------------------------------------------------------------------------------------------------ Relabel

def test_relabel_page_ranks_flipped_rows_and_bulk_accept_saves_corrections(lab):
    from core.data import load_dataset
    from core.dynamics import row_ids
    from core.relabel.corrections import load_overlay

    at = page("relabel", "noisy-tfidf")
    assert not at.error, [e.value for e in at.error]
    assert "Relabel" in [t.value for t in at.title] and "Queue" in [s.value for s in at.subheader]
    ds = load_dataset("upload:noisy")
    flipped_ids = {row_ids("train", ds.train.texts)[i] for i in lab["flipped"]}
    editor = at.dataframe[0].value  # the editable queue
    assert editor["row_id"].head(10).isin(flipped_ids).mean() >= 0.8
    assert {"action", "new_label", "why", "reasons", "suggested"} <= set(editor.columns)
    at.number_input[0].set_value(5)
    at.button(key="FormSubmitter:relabel-bulk-Apply to the top rows").click().run()
    assert not at.exception, at.exception
    overlay = load_overlay(ds)
    assert overlay.version == 1 and len(overlay.entries) == 5
    assert set(overlay.entries) <= flipped_ids | {row_ids("test", ds.test.texts)[0]}
    assert all(c.why == "relabel queue, top rows" and c.who for c in overlay.entries.values())
    assert "Saved 5 correction(s)" in texts_of(at)
    assert "corrections v1" in texts_of(at)
    assert at.button(key="relabel-retrain").disabled is False


def test_relabel_page_lists_saved_corrections_and_takes_them_out_of_the_queue(lab):
    from core.data import load_dataset
    from core.dynamics import row_ids
    from core.relabel.corrections import Correction, add_corrections

    ds = load_dataset("upload:noisy")
    rid = row_ids("train", ds.train.texts)[lab["flipped"][1]]
    add_corrections(ds, [Correction(rid, exclude=True, why="unreadable", who="ann")])
    at = page("relabel", "noisy-tfidf")
    corrections = at.dataframe[1].value
    assert rid in set(corrections["row_id"]) and "ann" in set(corrections["who"])
    assert rid not in set(at.dataframe[0].value["row_id"])
    assert at.get("download_button")[1].proto.label == "Export corrections (CSV)"


def test_relabel_page_multilabel_model_queue(lab):
    at = page("relabel", "multi-tfidf")
    assert not at.error, [e.value for e in at.error]
    assert "rows queued for upload:multi@v1" in texts_of(at)


def test_compare_page_shows_which_predictions_changed(lab):
    from core import train

    train.run("upload:noisy", "tfidf", {"analyzer": "word", "min_df": 1, "C": 0.05}, name="noisy-tfidf-weak")
    at = page("compare", "noisy-tfidf", _shared_dataset="upload:noisy",
              **{"compare-before": "noisy-tfidf", "compare-after": "noisy-tfidf-weak"})
    assert not at.error, [e.value for e in at.error]
    assert "Side by side: which test predictions changed" in [s.value for s in at.subheader]
    assert "shared test texts changed" in texts_of(at)
