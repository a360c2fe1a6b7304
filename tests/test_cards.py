"""Model cards and lab reports (core.cards): written at save time from the lab's records, YAML metadata that
matches metrics.json, user strings escaped, a hand-edited card never replaced without consent, the HTML report's
sections and explained errors, the CLI twins and the page."""
from __future__ import annotations

import random
import sys
from pathlib import Path

import numpy as np
import pytest
import yaml

from tests.envtools import lab_dirs

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

#: a label with markup characters: the card and the report must show it as typed, never as markup
ODD = "tech <b>|*"
TOPICS = {"sport": "match team goal coach league score".split(), "money": "market stock bank profit price".split(),
          ODD: "chip software robot laptop code".split()}
PLANTED = "<script>alert(1)</script> market stock bank profit price"
RNN = {"embed_dim": 16, "hidden_dim": 16, "epochs": 3, "batch_size": 16, "lr": 0.02, "min_freq": 1, "patience": 0}


def _split(n: int, seed: int, planted: bool = False):
    from core.data import Split

    rng, labels = random.Random(seed), list(TOPICS)
    texts, y = [], []
    for i in range(n):
        k = i % 3
        words = [rng.choice(TOPICS[labels[k]]) for _ in range(3)] + ["the", "a", "today"]
        rng.shuffle(words)
        texts.append(" ".join(words))
        y.append(k)
    if planted:  # money words labelled "sport": a confident error by construction
        texts.append(PLANTED)
        y.append(0)
    return Split(texts, np.array(y))


@pytest.fixture(scope="module")
def lab(tmp_path_factory):
    import torch

    root = tmp_path_factory.mktemp("cards-lab")
    with lab_dirs(root):
        old = torch.get_num_threads()
        torch.set_num_threads(1)
        from core import train
        from core.compress import compress
        from core.data import TextDataset, load_dataset, save_upload

        ds = TextDataset("cards", list(TOPICS), _split(120, 0), _split(30, 1), _split(60, 2, planted=True))
        ds = load_dataset(save_upload(ds, "cards"))
        train.run(ds, "tfidf", {"analyzer": "word", "word_ngram_max": 1}, name="cards-tfidf")
        train.run(ds, "rnn", RNN, name="cards-rnn")
        compress("cards-rnn", "int8", name="cards-rnn-int8", dataset=ds)
        yield root
        torch.set_num_threads(old)


def _meta(card: str) -> dict:
    return yaml.safe_load(card.removeprefix("---\n").split("\n---\n", 1)[0])


def test_every_saved_model_gets_a_card_whose_metadata_matches_its_metrics(lab):
    import json

    folder = lab / "artifacts" / "cards-tfidf"
    card = (folder / "README.md").read_text(encoding="utf-8")
    meta = _meta(card)
    metrics = json.loads((folder / "metrics.json").read_text())
    results = meta["model-index"][0]["results"][0]
    acc = next(m["value"] for m in results["metrics"] if m["type"] == "accuracy")
    assert acc == pytest.approx(metrics["accuracy"], abs=1e-6)
    assert results["dataset"]["name"] == meta["datasets"][0] == "upload:cards"
    assert meta["license"] == "other" and "text-classification" in meta["tags"]
    for heading in ("## Model summary", "## Data", "## Training settings", "## Metrics per class", "## Limitations"):
        assert heading in card
    assert "<b>" not in card and r"tech \<b\>\|\*" in card  # the odd label is escaped, table intact


def test_variant_card_shows_its_lineage(lab):
    from core.cards import model_card

    card = model_card("cards-rnn-int8")
    lineage = card.split("## Compression lineage", 1)[1].split("## ", 1)[0]
    assert "cards-rnn " in lineage.replace("\\", "") or "| cards-rnn |" in lineage.replace("\\", "")
    assert "cards-rnn-int8 (this model)" in lineage.replace("\\", "")
    assert _meta(card)["base_model"] == "cards-rnn"
    assert "## Compression lineage" not in model_card("cards-tfidf")  # a model with no family has no lineage


def test_hand_edited_card_is_never_replaced_without_consent(lab):
    from core.cards import write_card
    from core.errors import ArtifactError

    path = write_card("cards-tfidf", license="mit")  # a lab-written card is rewritten freely
    assert _meta(path.read_text())["license"] == "mit"
    write_card("cards-tfidf")
    assert _meta(path.read_text())["license"] == "mit"  # the license survives a rewrite
    edited = path.read_text() + "\nOur team's notes.\n"
    path.write_text(edited)
    with pytest.raises(ArtifactError, match="edited by hand"):
        write_card("cards-tfidf")
    assert path.read_text() == edited
    write_card("cards-tfidf", force=True)
    assert "Our team's notes" not in path.read_text()


def test_report_has_sections_errors_explained_and_escapes_text(lab):
    import re

    from core.cards import lab_report_html

    seen = []
    html = lab_report_html("cards-tfidf", n_errors=5, n_explained=2, progress=lambda s, m: seen.append(s))
    headings = re.findall(r"<h2>(.*?)</h2>", html)
    for h in ("Model summary", "Confusion", "Metrics per class", "Most confident errors", "Limitations"):
        assert h in headings
    assert "<script>alert" not in html and "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "tech &lt;b&gt;|*" in html and "<b>|" not in html
    assert 'class="tok' in html  # the explained errors carry token chips
    assert seen[-1] == 1.0
    variant = lab_report_html("cards-rnn-int8", n_errors=3, n_explained=0)
    assert "Compression scorecard" in re.findall(r"<h2>(.*?)</h2>", variant)


def test_cli_card_and_report(lab, tmp_path, capsys):
    from core.cli import main

    assert main(["card", "cards-tfidf"]) == 0
    assert "model-index:" in capsys.readouterr().out
    out = tmp_path / "r.html"
    assert main(["report", "cards-tfidf", "--out", str(out), "--explained", "0"]) == 0
    assert out.read_text().startswith("<!DOCTYPE html>")
    assert main(["report", "cards-tfidf", "--out", str(out)]) == 2  # exists: refused, file kept
    assert "exists" in capsys.readouterr().err


def test_report_page_shows_card_and_builds_report(lab):
    import streamlit as st
    from streamlit.testing.v1 import AppTest

    st.cache_data.clear()
    st.cache_resource.clear()
    at = AppTest.from_file(str(ROOT / "views" / "report.py"), default_timeout=120)
    at.session_state["_shared_model"] = "cards-rnn-int8"
    at.run()
    assert not at.exception
    text = "\n".join(str(m.value) for m in at.markdown)
    assert "Compression lineage" in text and "Metrics per class" in text
    at.button(key="report-build").click().run()
    assert not at.exception
    labels = [str(b.proto.label) for b in at.get("download_button")]
    assert any("Download the report" in x for x in labels), (labels, [e.value for e in at.error])


def test_worst_slices_appear_once_the_slice_table_exists(lab):
    from core.cards import model_card
    from core.slices.table import slice_table

    assert "## Worst slices" not in model_card("cards-rnn")  # a card never computes slices itself
    slice_table("cards-rnn")
    card = model_card("cards-rnn")
    assert "## Worst slices" in card
    section = card.split("## Worst slices", 1)[1].split("\n## ", 1)[0]
    assert "| slice | description | n | accuracy |" in section and section.count("\n| ") >= 2  # header + rows


def test_behavioural_test_results_appear_once_recorded(lab):
    from core.cards import lab_report_html, model_card
    from core.cli import main

    assert "## Behavioural tests" not in model_card("cards-tfidf")
    assert main(["check", "cards-tfidf"]) == 0  # generates the default suite and writes a record
    card = model_card("cards-tfidf")
    section = card.split("## Behavioural tests", 1)[1].split("\n## ", 1)[0]
    assert "| test | type | what | cases |" in section and "INV" in section
    assert "<h2>Behavioural tests</h2>" in lab_report_html("cards-tfidf", n_explained=0)
