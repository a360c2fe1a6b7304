"""The explanation UI through Streamlit's AppTest: Predict (attention, attributions, agreement, side by side, case
file), Errors (explained examples, "why A -> B" words, label suspicion, cell case file), Embeddings and Explain.

Three small real artifacts are built once per session: TF-IDF on 500 rows of sms_spam ("contributions"), and on the
4-topic toy dataset of tests/tiny_bert.py a from-scratch transformer (self-attention, embed, gradients) and an RNN
with attention pooling. Case-file downloads are deferred callables; the test captures them from Streamlit's media
file manager and checks that user text is escaped.
"""
from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path

import numpy as np
import pytest

from tests.envtools import chart_text, needs_shared, restored_env

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:  # pages import `ui` from the project root
    sys.path.insert(0, str(ROOT))

from streamlit.runtime.media_file_manager import MediaFileManager  # noqa: E402
from streamlit.testing.v1 import AppTest  # noqa: E402

SHARED = ROOT.parent / "shared" / "data"
pytestmark = needs_shared()

TIMEOUT = 180  # seconds per AppTest run: the first ones import torch / plotly / captum on a shared 2-core box
ENV = ("TEXTLAB_ARTIFACTS_DIR", "TEXTLAB_USER_DATA_DIR", "TEXTLAB_JOBS_DIR", "TEXTLAB_CACHE_DIR")
XSS = "<script>alert(1)</script>"


def set_env(root: Path, artifacts: Path | None = None) -> None:
    os.environ["TEXTLAB_ARTIFACTS_DIR"] = str(artifacts or root / "artifacts")
    os.environ["TEXTLAB_USER_DATA_DIR"] = str(root / "user_data")
    os.environ["TEXTLAB_JOBS_DIR"] = str(root / "jobs")
    os.environ["TEXTLAB_CACHE_DIR"] = str(root / "cache")


def build(root: Path) -> None:
    import torch
    from tiny_bert import tiny_dataset

    from core import train

    set_env(root)
    os.environ.setdefault("TQDM_DISABLE", "1")
    torch.set_num_threads(1)
    train.run("sms_spam", "tfidf", {"analyzer": "word", "word_ngram_max": 1}, name="spam-tfidf", max_train=500)
    topics = tiny_dataset(n_train=96)
    loop = {"epochs": 1, "batch_size": 16, "min_freq": 1}
    train.run(topics, "scratch_transformer", {**loop, "num_layers": 2, "num_heads": 2, "d_model": 16, "ff_dim": 32,
                                              "pooling": "cls", "tokenizer": "bpe", "bpe_vocab_size": 120},
              name="topics-tx")
    train.run(topics, "rnn", {**loop, "aggregation": "attention", "embed_dim": 16, "hidden_dim": 16}, name="topics-rnn")


@pytest.fixture(scope="session")
def xlab(tmp_path_factory):
    root = tmp_path_factory.mktemp("xlab")
    with restored_env(ENV):
        build(root)
        yield root


@pytest.fixture()
def lab(xlab):
    import streamlit as st

    set_env(xlab)
    st.cache_data.clear()
    st.cache_resource.clear()
    return xlab


@pytest.fixture()
def downloads(monkeypatch) -> dict:
    """file name -> the deferred data callable of every st.download_button(data=callable) of a run."""
    captured: dict = {}
    original = MediaFileManager.add_deferred

    def spy(self, data_callable, mimetype, coordinates, file_name=None, **kwargs):
        captured[file_name] = data_callable
        return original(self, data_callable, mimetype, coordinates, file_name, **kwargs)

    monkeypatch.setattr(MediaFileManager, "add_deferred", spy)
    return captured


def page(name: str, model: str, **state) -> AppTest:
    at = AppTest.from_file(str(ROOT / "views" / f"{name}.py"), default_timeout=TIMEOUT)
    at.session_state["_shared_model"] = model
    for key, value in state.items():
        at.session_state[key] = value
    return at.run()


def texts_of(at: AppTest) -> str:
    parts = []
    for kind in ("title", "header", "subheader", "markdown", "caption", "info", "success", "warning", "error"):
        parts += [str(getattr(e, "value", "")) for e in getattr(at, kind)]
    return "\n".join(parts)


def ok(at: AppTest) -> AppTest:
    assert not at.exception, at.exception
    assert not at.error, [e.value for e in at.error]
    return at


def charts(at: AppTest) -> list:
    return at.get("plotly_chart")


def html_of(downloads: dict, prefix: str) -> str:
    name = next(n for n in downloads if n and n.startswith(prefix))
    return downloads[name]().decode("utf-8")


# ------------------------------------------------------------------------------------------------ Predict

def test_predict_self_attention_heatmap_pickers_and_escaping(lab):
    at = ok(page("predict", "topics-tx", **{"predict-text": f"Stock market {XSS} price rally for the company"}))
    assert "Attention" in [s.value for s in at.subheader]
    assert at.selectbox(key="predict-att-layer-topics-tx").options[0] == "all layers"
    assert len(at.selectbox(key="predict-att-head-topics-tx").options) == 3  # average + 2 heads
    assert any("Attention — all layers, head average" in chart_text(c) for c in charts(at))
    spans = [m.value for m in at.markdown if "<span" in m.value]
    # the BPE tokenizer splits the tag into pieces: every "<" of the user's text arrives escaped
    assert spans and all("<script" not in m and ">scri" not in m.replace("\">scri", "") for m in spans)
    assert any("&lt;" in m for m in spans)
    at.selectbox(key="predict-att-layer-topics-tx").set_value(1)
    at.selectbox(key="predict-att-head-topics-tx").set_value(0)
    at.radio(key="predict-att-view-topics-tx").set_value("rollout").run()
    ok(at)
    assert any("rollout up to layer 2, head 1" in chart_text(c) for c in charts(at))


def test_predict_pooling_weights_ig_and_agreement(lab):
    at = ok(page("predict", "topics-rnn", **{"predict-text": "The team won the match after a late goal",
                                             "predict-x-method-topics-rnn": "ig", "predict-x-run-topics-rnn": True,
                                             "predict-x-n_steps-topics-rnn": 8}))
    assert "pools its per-word states with learned attention" in texts_of(at)
    assert [m for m in at.metric if m.label == "pooling weights vs integrated_gradients"]
    assert len(charts(at)) >= 3  # probabilities, pooling weights, attribution


def test_predict_tfidf_linear_explanation_side_by_side_and_case_file(lab, downloads):
    text = f"WINNER!! Claim your free prize now {XSS}"
    at = ok(page("predict", "spam-tfidf", **{"predict-text": text, "predict-compare": True,
                                             "predict-model-b": "topics-tx"}))
    assert [h.value for h in at.header] == ["spam-tfidf", "topics-tx"]  # two columns, one per model
    assert at.radio(key="predict-x-method-spam-tfidf").value == "linear"  # exact path by default for TF-IDF
    assert at.toggle(key="predict-x-run-topics-tx").value is False  # SHAP on a neural model waits for the user
    assert any("Words that pushed “spam”" in chart_text(c) for c in charts(at))
    html = html_of(downloads, "case-file-spam-tfidf")
    assert html.startswith("<!DOCTYPE html>") and "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert XSS not in html
    assert "spam-tfidf: linear towards" in html and "topics-tx: [CLS] attention" in html


@pytest.mark.slow
def test_predict_partition_shap_on_a_neural_model(lab):
    at = ok(page("predict", "topics-tx", **{"predict-text": "Oil price falls as the stock market rallies",
                                            "predict-x-method-topics-tx": "shap", "predict-x-run-topics-tx": True,
                                            "predict-x-max_evals-topics-tx": 60}))
    assert any(m.label.endswith("vs shap_partition") for m in at.metric)


# ------------------------------------------------------------------------------------------------ Errors

def test_errors_suspicion_confusable_words_and_cell_case_file(lab, downloads):
    from core import artifacts

    preds = artifacts.load_predictions("spam-tfidf")
    at = ok(page("errors", "spam-tfidf", **{"errors-true": "spam", "errors-pred": "ham"}))
    assert list(at.dataframe[0].value.columns[:3]) == ["true", "predicted", "count"]  # the confused pairs
    table = at.dataframe[1].value
    assert {"suspicion", "label issue?"} <= set(table.columns)
    n_cell = int(((preds.y_true == preds.labels.index("spam")) & (preds.y_pred == preds.labels.index("ham"))).sum())
    assert len(table) == n_cell > 0
    words = at.dataframe[2].value
    assert list(words.columns[:2]) == ["word", "score"] and len(words) > 0
    assert any("Why “spam” → “ham”" in m.value for m in at.markdown)
    mean = at.dataframe[3].value  # linear attributions: the cell's mean is computed straight away
    assert {"word", "mean_value", "n_texts"} <= set(mean.columns)
    assert any("of 52 texts" in c.value or "texts (seeded sample)" in c.value for c in at.caption)
    at.radio(key="errors-sort-cell").set_value("suspicion").run()
    ok(at)
    assert np.all(np.diff(at.dataframe[1].value["suspicion"].to_numpy()) <= 0)
    html = html_of(downloads, "case-file-spam-tfidf-spam-as-ham")
    assert "Words over-represented in the cell" in html and str(words["word"].iloc[0]) in html


def test_errors_example_explained_with_integrated_gradients(lab):
    at = ok(page("errors", "topics-rnn", **{"errors-x-method": "ig", "errors-x-run": True, "errors-x-n_steps": 8}))
    assert any("Towards the predicted class" in m.value for m in at.markdown)
    assert any("Words that pushed" in chart_text(c) for c in charts(at))


def test_predict_what_if_contrast_edit_and_compare_and_minimal_flip(lab):
    """Predict's what-if section on a TF-IDF model: why A and not B with trust, an edit's deltas and escaped word
    diff, and the minimal flip with substitutions after the button."""
    text = f"WINNER!! Claim your free prize now {XSS}"
    at = ok(page("predict", "spam-tfidf", **{"predict-text": text}))
    shown = texts_of(at)
    assert {"Why A and not B", "Edit and compare", "Minimal flip"} <= {h.value for h in at.subheader}
    assert at.selectbox(key="predict-why-a-spam-tfidf").value == "spam"
    assert at.selectbox(key="predict-why-b-spam-tfidf").value == "ham"
    assert shown.count("Explanation trust") >= 2  # next to the class attribution and to the contrast
    assert "stability: deterministic" in shown and "comprehensiveness" in shown
    assert any("spam rather than ham" in chart_text(c) for c in charts(at))
    assert at.text_area(key="predict-edit-spam-tfidf").value == text  # prefilled with the text
    at.text_area(key="predict-edit-spam-tfidf").set_value(text.replace("free prize", "lunch")).run()
    ok(at)
    diff = next(m.value for m in at.markdown if "text-diff" in m.value)
    assert "&lt;script&gt;" in diff and "<script>" not in diff and "line-through" in diff and "lunch" in diff
    table = next(d.value for d in at.dataframe if "p_edited" in d.value.columns)
    spam = table.set_index("class").loc["spam"]
    assert spam["delta"] == pytest.approx(spam["p_edited"] - spam["p_original"]) and spam["delta"] < 0
    assert any("Change in each class probability" in chart_text(c) for c in charts(at))
    at.button(key="predict-flip-run-spam-tfidf").click().run()
    ok(at)
    verdict = next(m.value for m in at.markdown if "removing" in m.value or "No flip" in m.value)
    assert "Flipped after removing" in verdict and "ham" in verdict
    assert any("p(spam) along the edits" in chart_text(c) for c in charts(at))
    subs = next(d.value for d in at.dataframe if "with" in d.value.columns)
    assert {"replace", "with", "p_a", "p_b", "gain", "flips"} <= set(subs.columns) and len(subs) > 0


def test_errors_cell_shows_why_predicted_and_not_true_with_trust(lab):
    at = ok(page("errors", "spam-tfidf", **{"errors-true": "spam", "errors-pred": "ham"}))
    assert any("Why **ham** and not **spam**" in m.value for m in at.markdown)
    assert sum("Explanation trust" in m.value for m in at.markdown) == 3  # predicted, true, and the contrast
    assert any("ham rather than spam" in chart_text(c) for c in charts(at))


# ------------------------------------------------------------------------------------------------ Embeddings

def test_embeddings_map_and_shared_space(lab):
    at = ok(page("embeddings", "topics-tx"))
    assert any("Showing all 32 test texts" in c.value for c in at.caption)
    assert any("topics-tx: test texts, PCA" in chart_text(c) for c in charts(at))
    at.radio(key="embeddings-colour").set_value("confidence")
    at.toggle(key="embeddings-compare").set_value(True).run()
    ok(at)
    assert at.selectbox(key="embeddings-model-b").value == "topics-rnn"
    assert [m.value for m in at.metric if m.label == "Texts"] == ["32"]
    assert len(charts(at)) == 2
    assert list((lab / "cache" / "embeddings").glob("topics-tx-*.npy"))  # embeddings cached on disk


def test_embeddings_empty_state_for_tfidf_only(lab, tmp_path):
    only = tmp_path / "artifacts"
    shutil.copytree(lab / "artifacts" / "spam-tfidf", only / "spam-tfidf")
    set_env(lab, artifacts=only)
    at = ok(page("embeddings", "spam-tfidf"))
    info = " ".join(i.value for i in at.info)
    assert "No trained model provides sentence embeddings" in info and "rnn" in info and "transformer" in info
    assert not charts(at)


# ------------------------------------------------------------------------------------------------ Explain

def test_explain_page_top_words_per_class(lab):
    at = ok(page("explain", "spam-tfidf", **{"explain-n": 20}))
    top = at.dataframe[0].value
    assert {"class", "word", "mean_value", "n_texts"} <= set(top.columns) and len(top) > 0
    assert (top["n_texts"] >= 2).all()
    texts = at.dataframe[1].value
    assert len(texts) == 20
    # explanation trust per text: the linear attribution's top words beat random words on average
    assert {"comprehensiveness", "random comprehensiveness", "sufficiency"} <= set(texts.columns)
    assert texts["comprehensiveness"].mean() > texts["random comprehensiveness"].mean()
    assert any(m.value.startswith("**Explanation trust** (top-5 words, mean over 20 texts)") for m in at.markdown)
    assert len(at.get("download_button")) == 2 and charts(at)
    at.selectbox(key="explain-class").set_value("spam")
    at.radio(key="explain-outcome").set_value("wrong").run()
    ok(at)
    assert set(at.dataframe[-1].value["true"]) == {"spam"}


def test_explain_page_neural_model_waits_then_explains(lab):
    at = ok(page("explain", "topics-rnn", **{"explain-method": "ig", "explain-n_steps": 8, "explain-n": 4}))
    assert not at.dataframe  # nothing computed until the user switches it on
    at.toggle(key="explain-run").set_value(True).run()
    ok(at)
    assert len(at.dataframe[-1].value) == 4


def test_app_lists_the_new_pages(lab):
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=TIMEOUT)
    at.session_state["_shared_model"] = "spam-tfidf"
    at.run()
    for name in ("explain", "embeddings"):
        at.switch_page(f"views/{name}.py").run()
        ok(at)
        assert at.title, name
