"""The Slices page through Streamlit's AppTest on the planted lab of tests/slices_lab.py: the slice table and its
chart, largest gaps, saving a user slice (and refusing a bad one), discovered clusters and reading a cluster's
texts, and the against-parent toggle of a compressed variant."""
from __future__ import annotations

import json
import shutil
import sys
from pathlib import Path

import pytest

from core.slices import store
from tests import slices_lab
from tests.envtools import restored_env

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:  # pages import `ui` from the project root
    sys.path.insert(0, str(ROOT))

from streamlit.testing.v1 import AppTest  # noqa: E402

from tests.test_pages import texts_of  # noqa: E402

TIMEOUT = 180


@pytest.fixture(scope="module")
def lab(tmp_path_factory):
    root = tmp_path_factory.mktemp("slices-page")
    with restored_env(slices_lab.ENV):
        name = slices_lab.build(root)
        # a "variant" of the model: a copy whose manifest names it as its parent (what compress writes)
        art = root / "artifacts"
        shutil.copytree(art / name, art / "planted-variant")
        manifest = json.loads((art / "planted-variant" / "manifest.json").read_text())
        manifest.update(name="planted-variant", parent=name, compression={"method": "copy", "description": "copy"})
        (art / "planted-variant" / "manifest.json").write_text(json.dumps(manifest))
        yield {"root": root, "model": name}


@pytest.fixture()
def page(lab):
    import streamlit as st

    with restored_env(slices_lab.ENV):
        slices_lab.set_env(lab["root"])
        st.cache_data.clear()
        st.cache_resource.clear()
        at = AppTest.from_file(str(ROOT / "views" / "slices.py"), default_timeout=TIMEOUT)
        at.session_state["_shared_dataset"] = "upload:planted"
        at.session_state["_shared_model"] = lab["model"]
        yield at


def test_page_shows_table_gaps_and_chart(page):
    at = page.run()
    assert not at.exception, [e.value for e in at.exception]
    assert [s.value for s in at.subheader][:2] == ["Largest gaps", "Your slices"]
    assert at.get("plotly_chart"), "the slice chart is missing"
    gaps = at.dataframe[0].value
    assert "label suspicion" in list(gaps["slice"])
    assert any("accuracy" in m.label for m in at.metric)


def test_save_a_keyword_slice_and_refuse_a_bad_regex(page, lab):
    at = page.run()
    at.text_input(key="slices-new-name").input("zorblat texts")
    at.text_input(key="slices-words").input("zorblat")
    next(b for b in at.get("form_submit_button") if "Save slice" in str(b.proto.label)).click()
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    saved = {s.name: s for s in store.list_slices("upload:planted")}
    assert saved["zorblat texts"].definition == {"words": ["zorblat"]}
    assert "zorblat texts" in list(at.dataframe[0].value["slice"])  # the new slice leads the largest gaps
    before = store._path("upload:planted").read_bytes()
    at.radio(key="slices-kind").set_value("regex").run()
    at.text_input(key="slices-new-name").input("broken")
    at.text_input(key="slices-pattern").input("(unclosed")
    next(b for b in at.get("form_submit_button") if "Save slice" in str(b.proto.label)).click()
    at.run()
    assert "invalid regular expression" in texts_of(at)
    assert store._path("upload:planted").read_bytes() == before


def test_discovered_clusters_and_their_texts(page):
    at = page.run()
    at.toggle(key="slices-discover").set_value(True).run()
    assert not at.exception, [e.value for e in at.exception]
    clusters = next(d.value for d in at.dataframe if "words" in d.value.columns)
    assert "zorblat" in clusters.iloc[0]["words"]
    texts = next(d.value for d in at.dataframe if "text" in d.value.columns and "error" in d.value.columns)
    assert texts["text"].str.contains(slices_lab.MARKER).mean() > 0.8
    last = int(clusters.iloc[-1]["cluster"])
    at.selectbox(key="slices-cluster").set_value(last).run()
    texts = next(d.value for d in at.dataframe if "text" in d.value.columns and "error" in d.value.columns)
    assert texts["text"].str.contains(slices_lab.MARKER).mean() < 0.5  # another cluster's texts
    at.text_input(key="slices-cluster-name").input("stray errors")
    next(b for b in at.get("form_submit_button") if "Save as slice" in str(b.proto.label)).click()
    at.run()
    (saved,) = [s for s in store.list_slices("upload:planted") if s.name == "stray errors"]
    assert saved.kind == "texts" and set(saved.definition["texts"]) == set(texts["text"])


def test_against_parent_toggle_on_a_variant(page):
    page.session_state["_shared_model"] = "planted-variant"
    at = page.run()
    at.toggle(key="slices-against").set_value(True).run()
    assert not at.exception, [e.value for e in at.exception]
    assert "planted-variant against planted-tfidf" in [s.value for s in at.subheader]
    assert "0 slice(s) hurt" in texts_of(at)  # an exact copy changes nothing


def test_column_slice_from_the_uploaded_files_metadata(page):
    at = page.run()
    assert "column" in at.radio(key="slices-kind").options  # the upload kept its "source" column
    at.radio(key="slices-kind").set_value("column").run()
    at.text_input(key="slices-new-name").input("wire rows page")
    at.selectbox(key="slices-col").set_value("source")
    at.multiselect(key="slices-values").set_value(["wire"])
    next(b for b in at.get("form_submit_button") if "Save slice" in str(b.proto.label)).click()
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    (saved,) = [s for s in store.list_slices("upload:planted") if s.name == "wire rows page"]
    assert saved.definition == {"column": "source", "values": ["wire"]}
    gaps = at.dataframe[0].value.set_index("slice")
    assert gaps.loc["wire rows page", "n"] == slices_lab.N_PLANTED and gaps.loc["wire rows page", "accuracy"] == 0
