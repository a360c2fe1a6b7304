"""The dashboard in a real browser: headless Debian Chromium driven by Playwright, against `streamlit run app.py`.

- test_browser_smoke (default run): one small pre-trained model on a small upload; the first request is a deep
  link (/dataset?...), which must still get app.py's navigation; every page in the menu opens without an
  exception box and shows its title; Predict answers a typed text.
- test_user_walk (@browser): a user's whole path from an empty lab — Overview's zoo button (started, then
  cancelled) → upload a CSV on Dataset → train TF-IDF on it from Train and watch the progress bar finish →
  Predict with word contributions → click a confusion cell on Errors → every other page (Compare,
  Embeddings, Compression, ... when they exist). A screenshot of every page goes to a temporary folder, or to
  $TEXTLAB_SCREENSHOTS (e.g. docs/screenshots) to refresh the README's pictures.

Run: python3 -m pytest tests/test_browser.py -q (smoke) / python3 -m pytest -m browser -q (walk).
"""
from __future__ import annotations

import os
import re
import sys
import time
from pathlib import Path

import pandas as pd
import pytest

from tests.envtools import needs_shared, restored_env

sys.path.insert(0, str(Path(__file__).resolve().parent))
import browser_utils as bu  # noqa: E402

SMS = Path(__file__).resolve().parent.parent.parent / "shared" / "data" / "sms_spam" / "sms_spam.csv.gz"
pytestmark = [
    pytest.mark.skipif(not bu.chromium_available(), reason="needs /usr/bin/chromium (Debian chromium) + playwright"),
    needs_shared(),
]
SPAM_TEXT = "WINNER!! You have won a free prize. Call now to claim your cash reward, text WIN to 80082"


def open_page(page, title: str, shots: Path | None, shot: str | None = None) -> str:
    """Open `title` from the sidebar, check it rendered cleanly, screenshot it; returns the main area's text."""
    bu.go(page, title)
    bu.assert_no_exception(page, title)
    assert page.locator("h1").count() >= 1, f"{title}: no page title"
    bu.screenshot(page, shots, shot or re.sub(r"\W+", "-", title.lower()).strip("-"))
    return bu.main_text(page)


def predict(page, text: str) -> str:
    """Type `text` on the Predict page (Ctrl+Enter submits a text area) and wait for the prediction."""
    area = page.locator('[data-testid="stTextArea"] textarea')
    area.fill(text)
    area.press("Control+Enter")
    page.get_by_text("Prediction:").first.wait_for(timeout=120_000)
    bu.wait_idle(page)
    bu.assert_no_exception(page, "Predict")
    return bu.main_text(page)


# ------------------------------------------------------------------------------------------------ smoke


@pytest.fixture(scope="module")
def small_lab(tmp_path_factory) -> Path:
    """A lab folder with a 400-message upload of sms_spam and one TF-IDF model on it (word unigrams: seconds).

    A small upload rather than the built-in set keeps the Dataset page's statistics quick."""
    root = tmp_path_factory.mktemp("browser-smoke")
    with restored_env(bu.lab_env(root)):
        os.environ.update(bu.lab_env(root))
        from core import data, train

        frame = pd.read_csv(SMS).sample(400, random_state=0)
        dataset = data.save_upload(frame, "sms400", text_columns=["text"], label_columns=["label"])
        train.run(dataset, "tfidf", {"analyzer": "word", "word_ngram_max": 1}, name="spam-smoke")
    return root


def test_browser_smoke(small_lab):
    with bu.run_app(bu.lab_env(small_lab)) as app, bu.browser() as page:
        # A deep link as the server's first request (a bookmark after a restart) must still get app.py's menu
        page.goto(f"{app.url}/dataset?dataset=upload:sms400")
        bu.wait_idle(page)
        bu.assert_no_exception(page, "Dataset")
        titles = bu.nav_titles(page)
        assert {"Overview", "Dataset", "Train", "Predict", "Errors"} <= set(titles), titles
        assert "upload:sms400" in bu.selected(page, "Dataset")
        assert "train rows" in bu.main_text(page)
        for title in [t for t in titles if t != "Dataset"]:
            text = open_page(page, title, None)
            if title == "Overview":
                assert "spam-smoke" in text or page.get_by_text("spam-smoke").count()
            if title == "Predict":
                text = predict(page, SPAM_TEXT)
                assert re.search(r"Prediction: (spam|ham) with probability \d", text), text[:500]
            if title == "Errors":
                assert re.search(r"Test accuracy\s*\d+\.\d%", text), text[:500]


# ------------------------------------------------------------------------------------------------ walk


@pytest.fixture()
def shots(tmp_path) -> Path:
    """Where screenshots go: $TEXTLAB_SCREENSHOTS (README pictures) or a temporary folder."""
    return Path(os.environ.get("TEXTLAB_SCREENSHOTS") or tmp_path / "screenshots")


def write_messages_csv(path: Path, n: int = 300) -> Path:
    """`n` real SMS messages (seeded sample, both classes) as a user's CSV with columns text,label."""
    df = pd.read_csv(SMS)
    spam = df[df.label == "spam"].sample(n // 4, random_state=0)
    ham = df[df.label == "ham"].sample(n - len(spam), random_state=0)
    pd.concat([spam, ham]).sample(frac=1, random_state=0)[["text", "label"]].to_csv(path, index=False)
    return path


def click_cell(page, chart, i: int, j: int, k: int) -> None:
    """Click cell (row i, column j) of a k x k plotly heatmap (rows top to bottom, as the confusion matrix).

    The cell's centre is read from the axes' tick labels (plotly's SVG), not from the plot area: square cells
    (scaleanchor) may fill only part of it."""
    chart.scroll_into_view_if_needed()

    def centres(axis: str, coord: str) -> list[float]:
        boxes = [chart.locator(f".{axis}tick text").nth(n).bounding_box()
                 for n in range(chart.locator(f".{axis}tick text").count())]
        return sorted(b[coord] + b["width" if coord == "x" else "height"] / 2 for b in boxes if b)

    xs, ys = centres("x", "x"), centres("y", "y")
    assert len(xs) == len(ys) == k, f"expected {k} labels per axis, got {len(xs)} x {len(ys)}"
    page.mouse.click(xs[j], ys[i])


@pytest.mark.browser
def test_user_walk(tmp_path, shots):
    csv = write_messages_csv(tmp_path / "messages.csv")
    timings: dict[str, float] = {}
    with bu.run_app(bu.lab_env(tmp_path / "lab")) as app, bu.browser() as page:
        # Overview of an empty lab: the one-click options, and the quick zoo starting as a background job
        t0 = time.perf_counter()
        page.goto(app.url)
        bu.wait_idle(page)
        timings["first page"] = time.perf_counter() - t0
        bu.assert_no_exception(page, "Overview")
        text = bu.main_text(page)
        assert "No model trained yet" in text
        bu.screenshot(page, shots, "overview-empty")
        page.get_by_role("button", name="Build the demo zoo (quick, ~2 min)").click()
        page.get_by_text(re.compile(r"Model zoo \(quick\) — \d of 2 models ready")).first.wait_for()
        assert page.locator('[data-testid="stProgress"]').count() >= 1
        page.get_by_role("button", name="Cancel").first.click()
        page.get_by_text("was cancelled").first.wait_for(timeout=180_000)
        bu.wait_idle(page)
        bu.assert_no_exception(page, "Overview after cancelling the zoo")

        # Dataset: upload the CSV, check the preview, save it
        open_page(page, "Dataset", shots, "dataset")
        page.get_by_role("tab", name="Upload your own file").click()
        page.locator('[data-testid="stFileUploaderDropzoneInput"]').set_input_files(str(csv))
        page.get_by_text("300 rows × 2 columns").first.wait_for()
        bu.wait_idle(page)
        page.locator('[data-testid="stTextInput"]').filter(has_text="Dataset name").locator("input").fill("messages")
        page.get_by_role("button", name="Save dataset").click()
        page.get_by_text("Saved upload:messages").first.wait_for()
        bu.wait_idle(page)
        bu.assert_no_exception(page, "Dataset upload")
        assert re.search(r"\d+ train / \d+ validation / \d+ test rows, 2 labels", bu.main_text(page))
        bu.screenshot(page, shots, "dataset-upload")

        # Train: TF-IDF on the upload, progress bar until the success message with its accuracy
        open_page(page, "Train", shots, "train")
        picked = bu.selected(page, "Dataset")
        assert "upload:messages" in picked, f"the saved upload should be the selected dataset, not {picked!r}"
        bu.select_option(page, "Model family", "TF-IDF")
        page.get_by_role("button", name="Train", exact=True).click()
        page.locator('[data-testid="stProgress"]').first.wait_for(timeout=60_000)
        bu.screenshot(page, shots, "train-progress")
        t0 = time.perf_counter()
        page.get_by_text(re.compile(r"finished: model .* accuracy 0\.\d{3}")).first.wait_for(timeout=300_000)
        timings["train job"] = time.perf_counter() - t0
        bu.wait_idle(page)
        bu.assert_no_exception(page, "Train")
        bu.screenshot(page, shots, "train-done")

        # Predict (through the finished job's link): probabilities and word contributions
        page.locator('[data-testid="stPageLink"]').filter(has_text="Try it on Predict").first.click()
        page.get_by_role("heading", name="Predict").first.wait_for()
        bu.wait_idle(page)
        text = predict(page, SPAM_TEXT)
        assert re.search(r"Prediction: (spam|ham) with probability \d+\.\d%", text), text[:800]
        assert page.locator('[data-testid="stPlotlyChart"]').count() >= 2, "probability + contribution charts"
        assert "words that pushed each class" in text
        assert page.locator('span[title^="+"], span[title^="-"]').count() >= 3, "coloured tokens"
        bu.screenshot(page, shots, "predict")

        # Errors: click the (ham, ham) cell of the confusion matrix; its examples are listed
        text = open_page(page, "Errors", shots, "errors")
        assert re.search(r"Test accuracy\s*\d+\.\d%", text), text[:800]
        chart = page.locator('[data-testid="stPlotlyChart"]').first
        click_cell(page, chart, 0, 0, 2)
        page.get_by_text(re.compile(r"test texts of class “ham” predicted as “ham” \(correct\)")).first.wait_for()
        bu.wait_idle(page)
        bu.assert_no_exception(page, "Errors after a click")
        assert page.locator('[data-testid="stDataFrame"]').count() >= 1
        bu.screenshot(page, shots, "errors-cell")

        # Every other page of the navigation (Compare, Embeddings, Compression, Explain, ... as they exist):
        # a TF-IDF model shows their unsupported / empty states, never an exception.
        seen = {"Overview", "Dataset", "Train", "Predict", "Errors"}
        for title in bu.nav_titles(page):
            if title not in seen:
                t0 = time.perf_counter()
                open_page(page, title, shots)
                timings[title] = time.perf_counter() - t0
        text = open_page(page, "Overview", shots, "overview")
        assert "messages" in text
    print("browser walk timings (s):", {k: round(v, 1) for k, v in timings.items()})
