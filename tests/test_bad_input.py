"""Bad input matrix: what a person can type, upload or set, through the library and through the pages.

Texts: empty, whitespace, 150,000 characters (with and without spaces; more than the 100,000-character page
limit, so the cut is exercised), emoji, Arabic / Hebrew (right to left), Cyrillic, CJK, HTML and <script>, control
characters, lone surrogates -> every family's predict_proba (TF-IDF, RNN, scratch transformer, tiny BERT) and the
Predict page. HTML stays inert on every page and in case files.
Uploads: empty, non-UTF-8, binary / pickle / zip named .csv, header only, over the size limit, missing or
misnamed columns, NaN labels, a single class, one row, duplicates -> core.data and the Dataset page.
Settings: every numeric setting of every family below its minimum / above its maximum, NaN, wrong type,
unknown choice, unknown key; epochs=-1 and negative learning rates; the CLI and the Train page.
`python -m pytest tests/test_bad_input.py -q`
"""
from __future__ import annotations

import math
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from tests.envtools import restored_env

ROOT = Path(__file__).resolve().parent.parent
for p in (ROOT, ROOT / "tests"):
    if str(p) not in sys.path:
        sys.path.insert(0, str(p))

from tiny_bert import tiny_dataset, tiny_encoder, tiny_params, tiny_tokenizer  # noqa: E402

from core import artifacts, data, safety  # noqa: E402
from core.data import DataError, Split, TextDataset  # noqa: E402
from core.models import FAMILIES, family  # noqa: E402
from core.params import ParamError, resolve  # noqa: E402
from core.progress import null_progress  # noqa: E402

LONG = ("The market rallied on bank profit news while the team won the match. " * 2200)[:150_000]
BAD_TEXTS: dict[str, str] = {
    "empty": "",
    "whitespace": " \n\t  \r\n ",
    "150k_chars": LONG,
    "150k_no_spaces": "x" * 150_000,
    "150k_newlines": "\n" * 150_000,
    "emoji": "🚀🔥 great game!! 😀👍🏽 👨‍👩‍👧 " * 20,
    "arabic_rtl": "السوق ارتفع بعد أخبار أرباح البنك والفريق فاز بالمباراة",
    "hebrew_rtl": "השוק עלה אחרי חדשות על רווחי הבנק והקבוצה ניצחה במשחק",
    "mixed_bidi": "price \u202e\u0631\u0628\u062d\u202c up 5% \u200f",
    "cyrillic": "Рынок вырос после новостей о прибыли банка, а команда выиграла матч",
    "cjk": "市场在银行利润消息后上涨，球队赢得了比赛",
    "html": "<b>bold</b> <a href='javascript:alert(1)'>click</a> <img src=x onerror=alert(1)>",
    "script": "<script>alert('xss')</script> market profit",
    "control_chars": "a\x00b\x07c\x1bd\x7f market",
    "lone_surrogate": "bank \ud800 profit",
    "zero_width": "\u200b\u200c\u200d\ufeff",
    "combining": "e\u0301" * 500,
    "markdown": "# title\n**bold** [link](http://example.com) ![img](http://example.com/x.png) `code`",
}
# (a lone surrogate cannot reach a page: the browser's UTF-8 encoding replaces it, and Streamlit refuses it)
PAGE_TEXTS = ["whitespace", "150k_chars", "emoji", "arabic_rtl", "cyrillic", "html", "script", "control_chars",
              "markdown"]
PAYLOAD = "<script>alert(1)</script>"


# ----------------------------------------------------------------------------------------------- models

RNN_FAST = {"embed_dim": 16, "hidden_dim": 16, "epochs": 1, "batch_size": 32, "min_freq": 1, "patience": 0}
SCRATCH_FAST = {"d_model": 16, "num_heads": 2, "ff_dim": 32, "num_layers": 1, "epochs": 1, "batch_size": 32,
                "min_freq": 1, "bpe_vocab_size": 150, "patience": 0}


@pytest.fixture(scope="module")
def models() -> dict:
    """One small model of every family, trained (or built) on the tiny topic dataset."""
    import torch

    torch.set_num_threads(1)
    ds = tiny_dataset()
    out = {}
    for kind, params in (("tfidf", {"analyzer": "word+char", "char_ngram_max": 4}), ("rnn", RNN_FAST),
                         ("scratch_transformer", SCRATCH_FAST)):
        fam = family(kind)
        out[kind] = fam.fit(ds, resolve(fam.PARAMS, params), null_progress)[0]
    from core.models import transformer as T

    out["transformer"] = T.build(ds, tiny_params(), encoder=tiny_encoder(), tokenizer=tiny_tokenizer())
    assert set(out) == set(FAMILIES)  # a new family must be added here
    return out


@pytest.mark.parametrize("kind", sorted(FAMILIES))
def test_every_family_accepts_every_bad_text(models, kind):
    model = models[kind]
    names = list(BAD_TEXTS)
    texts = safety.clean_texts([BAD_TEXTS[n] for n in names], limit=200_000)  # cleaning only, no cut
    assert len(texts[names.index("150k_chars")]) == 150_000
    proba = model.predict_proba(texts)  # one batch, mixed lengths
    assert proba.shape == (len(texts), 4) and np.isfinite(proba).all()
    np.testing.assert_allclose(proba.sum(axis=1), 1.0, atol=1e-4)
    for name in ("150k_chars", "150k_no_spaces", "emoji", "arabic_rtl", "script", "empty"):  # one at a time
        single = model.predict_proba([texts[names.index(name)]])
        np.testing.assert_allclose(single[0], proba[names.index(name)], rtol=1e-4, atol=1e-5)
    for text in texts[:3]:
        model.tokenize(text)  # the explanation units never raise either


@pytest.mark.parametrize("kind", ["tfidf", "rnn"])
def test_raw_lone_surrogates_are_accepted_without_cleaning(models, kind):
    """Word-level families read any Python string; HF-tokenizer families need safety.clean_text first
    (ui.predict_proba always applies it)."""
    proba = models[kind].predict_proba([BAD_TEXTS["lone_surrogate"], BAD_TEXTS["control_chars"]])
    assert np.isfinite(proba).all()


def test_clean_text():
    text, notice = safety.clean_text(LONG)
    assert len(text) == safety.MAX_TEXT_CHARS and "150,000 characters" in notice and "100,000" in notice
    assert safety.clean_text("bank \ud800 x") == ("bank \ufffd x", safety.clean_text("\ud800")[1])
    assert safety.clean_text("a\x00b\tc\nd")[0] == "ab\tc\nd"
    assert safety.clean_text(None) == ("", None) and safety.clean_text(42) == ("42", None)
    for name in ("emoji", "arabic_rtl", "hebrew_rtl", "cyrillic", "cjk", "html", "script", "combining"):
        assert safety.clean_text(BAD_TEXTS[name]) == (BAD_TEXTS[name], None)  # data is never altered
    assert safety.is_blank("  \n") and safety.is_blank(None) and not safety.is_blank(" x ")


# ----------------------------------------------------------------------------------------------- pages

def _page(name: str, dataset: str = "tiny_topics"):
    from streamlit.testing.v1 import AppTest

    at = AppTest.from_file(str(ROOT / "views" / f"{name}.py"), default_timeout=120)
    at.session_state["_shared_dataset"] = dataset
    return at


def _raw_html(at) -> list[str]:
    """Everything a page renders as raw HTML (markdown / captions with unsafe_allow_html, st.html)."""
    out = [m.value for m in list(at.markdown) + list(at.caption) if getattr(m.proto, "allow_html", False)]
    return out + [str(getattr(h, "proto", h)) for h in at.get("html")]


def _assert_inert(at, where: str) -> None:
    """No element rendered as raw HTML carries a live tag from user data."""
    for html in _raw_html(at):
        low = html.lower()
        assert "<script" not in low and "<img" not in low and "<a " not in low and "<b>" not in low, (where, html)


def _visible(at) -> str:
    parts = []
    for kind in ("title", "subheader", "markdown", "caption", "info", "success", "warning", "error"):
        parts += [str(getattr(e, "value", "")) for e in getattr(at, kind)]
    return "\n".join(parts)


def _save(model, ds: TextDataset, name: str) -> None:
    from core.train import evaluate_on

    metrics, preds = evaluate_on(model, ds.test, ds.labels, ds.multilabel)
    artifacts.save_artifact(model, name, dataset=ds, config={}, metrics=metrics, predictions=preds)


def _hostile_dataset() -> TextDataset:
    """Texts and label names full of HTML, script, emoji and right-to-left text."""
    labels = [f"<b>spam</b>{PAYLOAD}", "ham <img src=x onerror=alert(2)> 😀", "עברית", "кириллица"]
    rng = np.random.default_rng(0)
    words = [BAD_TEXTS[n] for n in ("emoji", "arabic_rtl", "hebrew_rtl", "cyrillic", "html", "script", "markdown")]

    def split(n: int) -> Split:
        y = np.arange(n) % 4
        texts = [f"{PAYLOAD} label{int(k)} {words[int(rng.integers(len(words)))]} topic{int(k)}" for k in y]
        return Split(texts, y)

    return TextDataset("hostile", labels, split(80), split(20), split(24))


@pytest.fixture(scope="module")
def lab(models, tmp_path_factory) -> Path:
    """Artifacts of the TF-IDF and scratch-transformer models, plus a TF-IDF model of the hostile dataset."""
    root = tmp_path_factory.mktemp("bad_input")
    with restored_env(("TEXTLAB_ARTIFACTS_DIR", "TEXTLAB_USER_DATA_DIR", "TEXTLAB_JOBS_DIR")):
        os.environ.update(TEXTLAB_ARTIFACTS_DIR=str(root / "artifacts"),
                          TEXTLAB_USER_DATA_DIR=str(root / "user_data"), TEXTLAB_JOBS_DIR=str(root / "jobs"))
        ds = tiny_dataset()
        _save(models["tfidf"], ds, "topics-tfidf")
        _save(models["scratch_transformer"], ds, "topics-scratch")
        hostile = _hostile_dataset()
        fam = family("tfidf")
        _save(fam.fit(hostile, resolve(fam.PARAMS, {"analyzer": "word"}), null_progress)[0], hostile,
              "hostile-tfidf")
        yield root


@pytest.fixture()
def pages_env(lab):
    import streamlit as st

    st.cache_data.clear()
    st.cache_resource.clear()
    return lab


@pytest.mark.parametrize("name", PAGE_TEXTS)
def test_predict_page_bad_texts(pages_env, name):
    at = _page("predict")
    at.session_state["predict-model"] = "topics-tfidf"
    at.session_state["predict-text"] = BAD_TEXTS[name]
    at.run()
    assert not at.exception and not at.error, name
    text = _visible(at)
    if name == "whitespace":
        assert "Enter a text" in text
        return
    assert "Prediction:" in text
    if name == "150k_chars":
        assert "only the first 100,000 are used" in text
    _assert_inert(at, name)


def test_predict_page_torch_model_long_and_script_text(pages_env):
    for text in (LONG, PAYLOAD * 50, BAD_TEXTS["emoji"], BAD_TEXTS["hebrew_rtl"]):
        at = _page("predict")
        at.session_state["predict-model"] = "topics-scratch"
        at.session_state["predict-text"] = text
        at.run()
        assert not at.exception and not at.error
        assert "Prediction:" in _visible(at)


def test_ui_predict_proba_cleans_every_text(pages_env, models):
    """The path every page uses: texts are cut to MAX_TEXT_CHARS and invalid characters removed first."""
    import ui

    texts = list(BAD_TEXTS.values())
    for name in ("topics-tfidf", "topics-scratch"):
        proba = ui.predict_proba(name, texts)
        assert proba.shape == (len(texts), 4) and np.isfinite(proba).all()
    cut = ui.predict_proba("topics-tfidf", [LONG])
    np.testing.assert_allclose(cut, models["tfidf"].predict_proba([LONG[:safety.MAX_TEXT_CHARS]]), rtol=1e-6)


def _all_pages() -> list[str]:
    return sorted(p.stem for p in (ROOT / "views").glob("*.py"))


@pytest.mark.parametrize("page", _all_pages())
def test_html_in_texts_and_labels_stays_inert_on_every_page(pages_env, page):
    at = _page(page, dataset="sms_spam")
    at.session_state["_shared_model"] = "hostile-tfidf"
    at.session_state["predict-model"] = "hostile-tfidf"
    at.session_state["predict-text"] = f"{PAYLOAD} label0 {BAD_TEXTS['html']}"
    at.run()
    assert not at.exception, (page, at.exception)
    _assert_inert(at, page)


def test_case_file_escapes_everything():
    import plotly.graph_objects as go

    from core.explain.render import case_file_html, tokens_html

    labels = [f"<b>spam</b>{PAYLOAD}", "ham"]
    fig = go.Figure(go.Bar(x=labels, y=[0.6, 0.4]), layout={"title": {"text": PAYLOAD}})
    report = case_file_html(
        f"Case {PAYLOAD}",
        [(f"Text {PAYLOAD}", f"{PAYLOAD} {BAD_TEXTS['html']} {BAD_TEXTS['arabic_rtl']}"),
         ("Tokens", tokens_html(["<script>", "alert(1)", "</script>", "😀"], [0.5, -0.2, 0.1, 0.0])),
         ("Table", pd.DataFrame({"text": [PAYLOAD, BAD_TEXTS["html"]], "label": labels})),
         ("Meta", {"<script>": PAYLOAD}), ("Figure", fig)],
        meta={"model": PAYLOAD, "dataset": "<img src=x onerror=alert(1)>"},
    )
    # the only <script> elements are plotly's own; the payload appears escaped everywhere
    assert PAYLOAD not in report and "alert(1)</script>" not in report
    assert "<img src=x" not in report and "<b>spam" not in report and "<a href='javascript" not in report
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in report  # text, title, table, meta
    assert "\\u003cscript\\u003ealert(1)" in report  # plotly's JSON escapes "<": a label cannot close its script


def test_dashboard_token_chips_escape():
    """The chips the pages show (ui.show_tokens: render.tokens_html with inline styles) escape every token."""
    import ui

    html = ui.render.tokens_html([PAYLOAD, "<img src=x onerror=alert(1)>", "ok"], [0.5, -0.5, 0.0], inline=True)
    assert "<script" not in html and "<img" not in html and html.count("<span") == 3


# ----------------------------------------------------------------------------------------------- uploads

def _csv(rows: list[tuple], header: str = "text,label") -> bytes:
    return (header + "\n" + "\n".join(",".join(map(str, r)) for r in rows)).encode()


GOOD_ROWS = [(f"the team won match number {i}", "sport") for i in range(15)] + \
            [(f"the market fell by {i} percent", "business") for i in range(15)]

UNREADABLE = [  # (file name, bytes, message fragment)
    ("empty.csv", b"", "is empty"),
    ("blank.csv", b"\n\n   \n", "is empty"),
    ("header_only.csv", b"text,label\n", "no data rows"),
    ("latin1.csv", "text,label\ncafé crème,a\n".encode("latin-1"), "not UTF-8"),
    ("random.csv", bytes(np.random.default_rng(1).integers(0, 256, 2048, dtype=np.uint8)), "binary"),
    ("pickle.csv", b"\x80\x04\x95" + b"\x00" * 40, "pickle"),
    ("book.csv", b"PK\x03\x04" + b"\x00" * 200, "zip archive"),
    ("image.csv", b"\x89PNG\r\n\x1a\n" + b"\x00" * 100, "PNG"),
    ("fake.parquet", b"text,label\na,b\n", "Parquet"),
    ("broken.jsonl", b'{"text": "a", "label": "x"}\n{"text": ', "cannot parse"),
    ("nul.csv", b"text,label\n" + b"a\x00b,x\n" * 20, "binary"),
]


@pytest.mark.parametrize("fname, payload, message", UNREADABLE, ids=[u[0] for u in UNREADABLE])
def test_unreadable_uploads_give_clear_errors(fname, payload, message):
    with pytest.raises(DataError, match=message):
        data.read_table(payload, fname)


FRAME_CASES = [  # (id, frame, text columns, label columns, message fragment or None when it must succeed)
    ("missing-text-column", pd.DataFrame(GOOD_ROWS, columns=["text", "label"]), "body", "label",
     "column 'body' not found"),
    ("misnamed-label-column", pd.DataFrame(GOOD_ROWS, columns=["text", "label"]), "text", "Label",
     "did you mean 'label'"),
    ("no-text-column-chosen", pd.DataFrame(GOOD_ROWS, columns=["text", "label"]), [], "label", "text column"),
    ("same-column-twice", pd.DataFrame(GOOD_ROWS, columns=["text", "label"]), "label", "label", "both text"),
    ("all-labels-nan", pd.DataFrame({"text": [r[0] for r in GOOD_ROWS], "label": [np.nan] * 30}), "text", "label",
     "missing label"),
    ("single-class", pd.DataFrame({"text": [r[0] for r in GOOD_ROWS], "label": ["sport"] * 30}), "text", "label",
     "single class"),
    ("one-row", pd.DataFrame(GOOD_ROWS[:1], columns=["text", "label"]), "text", "label", "only 1 usable rows"),
    ("class-with-one-row", pd.DataFrame(GOOD_ROWS + [("odd one", "rare")], columns=["text", "label"]), "text",
     "label", "at least 2 rows"),
    ("all-texts-empty", pd.DataFrame({"text": ["  "] * 30, "label": ["a", "b"] * 15}), "text", "label",
     "no row"),
    ("some-labels-nan", pd.DataFrame({"text": [r[0] for r in GOOD_ROWS] + ["x", "y"],
                                      "label": [r[1] for r in GOOD_ROWS] + [np.nan, None]}), "text", "label", None),
    ("duplicates", pd.DataFrame(GOOD_ROWS * 3, columns=["text", "label"]), "text", "label", None),
    ("numeric-labels", pd.DataFrame({"text": [r[0] for r in GOOD_ROWS], "label": [0, 1] * 15}), "text", "label",
     None),
    ("hostile-texts", pd.DataFrame({"text": [f"{PAYLOAD} {BAD_TEXTS['emoji']} {i}" for i in range(30)],
                                    "label": [f"<b>{k}</b>" for k in "ab" * 15]}), "text", "label", None),
]


@pytest.mark.parametrize("case", FRAME_CASES, ids=[c[0] for c in FRAME_CASES])
def test_upload_column_and_label_problems(tmp_path, monkeypatch, case):
    monkeypatch.setenv("TEXTLAB_USER_DATA_DIR", str(tmp_path))
    _, frame, text_cols, label_cols, message = case
    if message is not None:
        with pytest.raises(DataError, match=message):
            data.save_upload(frame, "bad", text_columns=text_cols, label_columns=label_cols)
        assert data.list_uploads() == []  # nothing half-saved
        return
    name = data.save_upload(frame, "fine", text_columns=text_cols, label_columns=label_cols)
    ds = data.load_dataset(name)
    assert sum(len(s) for s in ds.splits().values()) == len(frame.dropna(subset=["label"]))
    if case[0] == "duplicates":
        assert ds.meta["duplicate_rows"] == 60  # counted and reported, kept
    if case[0] == "some-labels-nan":
        assert ds.meta["dropped"]["total"] == 2


def test_dataset_page_upload_errors_are_clear(pages_env):
    at = _page("dataset").run()
    assert not at.exception
    assert "up to 50 MB" in at.file_uploader(key="dataset-upload").label  # from .streamlit/config.toml
    for fname, payload, message in UNREADABLE:
        at.file_uploader(key="dataset-upload").set_value((fname, payload, "text/csv")).run()
        assert not at.exception, fname
        assert at.error and message.lower() in at.error[0].value.lower(), (fname, [e.value for e in at.error])


def test_dataset_page_refuses_files_over_the_limit(pages_env):
    from streamlit import config as st_config

    at = _page("dataset").run()
    old = st_config.get_option("server.maxUploadSize")
    st_config.set_option("server.maxUploadSize", 1)
    try:
        big = _csv(GOOD_ROWS) + b"\n" + b"x" * (1024 * 1024 + 10) + b",sport\n"
        at.file_uploader(key="dataset-upload").set_value(("big.csv", big, "text/csv")).run()
    finally:
        st_config.set_option("server.maxUploadSize", old)
    assert not at.exception
    assert at.error and "over the 1 MB upload limit" in at.error[0].value
    assert not any("First rows" in c.value for c in at.caption)  # the file was not parsed: no preview


def _submit_upload(at, payload: bytes, fname: str, text_cols=None, label_cols=None, name: str = "mine"):
    at.file_uploader(key="dataset-upload").set_value((fname, payload, "text/csv")).run()
    assert not at.exception
    if text_cols is not None:
        at.multiselect[0].set_value(text_cols)
    if label_cols is not None:
        at.multiselect[1].set_value(label_cols)
    at.text_input[-1].set_value(name)
    at.button(key="FormSubmitter:dataset-upload-form-Save dataset").click().run()
    assert not at.exception
    return at


def test_dataset_page_content_problems(pages_env):
    at = _page("dataset").run()
    single = _csv([(t, "sport") for t, _ in GOOD_ROWS])
    assert "single class" in _submit_upload(at, single, "single.csv").error[0].value
    one = _csv(GOOD_ROWS[:1])
    assert "only 1 usable rows" in _submit_upload(at, one, "one.csv").error[0].value
    misnamed = _csv(GOOD_ROWS, header="txt,lbl")  # no column called like a label: none is preselected
    assert "choose at least one" in _submit_upload(at, misnamed, "misnamed.csv").error[0].value
    misnamed_picked = _submit_upload(at, misnamed, "misnamed.csv", text_cols=["txt"], label_cols=[])
    assert "choose at least one label column" in misnamed_picked.error[0].value
    nan_labels = _csv(GOOD_ROWS + [("no label here", ""), ("nor here", "")])
    at = _submit_upload(at, nan_labels, "nan.csv", name="with_nan")
    assert not at.error and "upload:with_nan" in at.success[0].value
    assert any("2 rows were dropped" in c.value for c in at.caption)
    dups = _csv(GOOD_ROWS * 2)
    at = _submit_upload(at, dups, "dups.csv", name="dups")
    assert not at.error and "upload:dups" in at.success[0].value
    for bad in ("../../escape", "a/b", "", "..", "na me"):  # (the box itself stops at 64 characters)
        at = _submit_upload(at, _csv(GOOD_ROWS), "ok.csv", name=bad)
        assert at.error and "dataset name" in at.error[0].value, bad
    assert sorted(data.list_uploads()) == ["dups", "with_nan"]


# ----------------------------------------------------------------------------------------------- settings

def _bad_values(p) -> list[tuple[object, str]]:
    """(value, expected message fragment) that must be refused for Param `p`."""
    out: list[tuple[object, str]] = []
    t = p.kind
    if t in (int, float) and p.choices is None:
        if p.min is not None:
            out.append((p.min - (1 if t is int else max(abs(p.min), 1e-3)), "must be ≥"))
            out.append((-1e9, "must be ≥"))
        if p.max is not None:
            out.append((p.max + (1 if t is int else max(abs(p.max), 1.0)), "must be ≤"))
        out += [("abc", "cannot read"), ("", "cannot read"), ([1, 2], "cannot read")]
        out.append((math.nan, "NaN" if t is float else "cannot read"))
        if t is int:
            out += [(1.5, "cannot read"), (math.inf, "cannot read")]
        elif p.max is not None:
            out.append((math.inf, "must be ≤"))
    elif p.choices is not None:
        out.append((["__nope__"] if (p.multi or t is list) else "__nope__", "is not one of"))
    elif t is bool:
        out += [("maybe", "cannot read"), ("2", "cannot read")]
    return out


def _family_params() -> list[tuple[str, object]]:
    return [(kind, p) for kind in sorted(FAMILIES) for p in family(kind).PARAMS]


@pytest.mark.parametrize("kind", sorted(FAMILIES))
def test_out_of_range_settings_are_refused_for_every_family(kind):
    params = family(kind).PARAMS
    assert resolve(params, {})  # the defaults are valid
    tried = 0
    for p in params:
        for value, message in _bad_values(p):
            with pytest.raises(ParamError, match=message):
                resolve(params, {p.name: value})
            tried += 1
    names = {p.name for p in params}
    if "epochs" in names:
        assert resolve(params, {"epochs": 0})["epochs"] == 0  # 0 = planned by core.budget
        with pytest.raises(ParamError, match="epochs must be ≥ 0"):
            resolve(params, {"epochs": -1})
    if "lr" in names:
        with pytest.raises(ParamError, match="lr must be ≥"):
            resolve(params, {"lr": -0.001})
    if "seed" in names:
        with pytest.raises(ParamError, match="seed must be ≤"):
            resolve(params, {"seed": 10**30})  # torch.manual_seed would overflow mid-job
    with pytest.raises(ParamError, match="unknown setting"):
        resolve(params, {"epochz": 3})
    assert tried >= len([p for p in params if p.kind in (int, float)])


def test_bad_settings_fail_before_any_work(tmp_path, monkeypatch):
    from core import train

    monkeypatch.setenv("TEXTLAB_ARTIFACTS_DIR", str(tmp_path / "artifacts"))
    for kind, bad in (("rnn", {"epochs": -1}), ("scratch_transformer", {"lr": -1}), ("tfidf", {"C": -1}),
                      ("transformer", {"batch_size": 0})):
        with pytest.raises(ParamError):
            train.run("no_such_dataset", kind, bad)  # the settings are checked before the dataset is looked up
    assert not (tmp_path / "artifacts").exists() or list((tmp_path / "artifacts").iterdir()) == []


def test_cli_rejects_bad_settings_in_one_line(tmp_path):
    env = dict(os.environ, TEXTLAB_ARTIFACTS_DIR=str(tmp_path / "artifacts"), TQDM_DISABLE="1")
    proc = subprocess.run([sys.executable, "-m", "core", "train", "--dataset", "sms_spam", "--model", "rnn",
                           "--set", "epochs=-1", "--set", "lr=-1"], cwd=ROOT, env=env, capture_output=True,
                          text=True, timeout=300)
    assert proc.returncode == 2 and "epochs must be ≥ 0" in proc.stderr and "Traceback" not in proc.stderr
    proc = subprocess.run([sys.executable, "-m", "core", "train", "--dataset", "sms_spam", "--model", "rnn",
                           "--set", "epochs"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 2 and "key=value" in proc.stderr and "Traceback" not in proc.stderr


def test_family_cross_checks_run_before_any_work(tmp_path, monkeypatch):
    from core import train

    monkeypatch.setenv("TEXTLAB_ARTIFACTS_DIR", str(tmp_path / "artifacts"))
    for kind, bad, message in (("tfidf", {"search_C": "abc,-1"}, "search grid values must be numbers"),
                               ("tfidf", {"search_C": "0"}, "all > 0"),
                               ("tfidf", {"char_ngram_min": 5, "char_ngram_max": 2}, "char_ngram_min"),
                               ("scratch_transformer", {"d_model": 30, "num_heads": 4}, "must divide")):
        with pytest.raises(ParamError, match=message):
            train.run("no_such_dataset", kind, bad)


def test_train_page_bad_list_setting_is_a_clear_error(pages_env):
    at = _page("train", dataset="sms_spam").run()
    at.selectbox(key="train-kind").select("tfidf").run()
    at.text_input(key="train-tfidf-search_C").set_value("abc, -1")
    at.button(key="FormSubmitter:train-form-Train").click().run()
    assert not at.exception
    assert at.error and "Check the settings" in at.error[0].value
    from core import jobs

    assert not jobs.list_jobs()
