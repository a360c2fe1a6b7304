"""Many classes and a long text in a real browser (@browser): headless Debian Chromium against `streamlit run app.py`.

- Errors at 80 classes (the synthetic set of tests/synthetic_many.py: classes 3 and 7 share their vocabulary,
  a tiny TF-IDF): the "Most confused pairs" table lists the planted pair first; selecting a row of the table opens
  that cell (its texts are listed below, all of that true / predicted pair); the confusion matrix draws the pair's
  labels, and no exception box appears.
- Predict on a 25,000-character text with paragraphs, pasted into the text area: the text is shown once (one
  scroll box, each paragraph once), no exception, and the page stays short (the old page was ~27,000 px tall).

Run: python -m pytest -m browser -q tests/test_browser_many.py (~1 min).
"""
from __future__ import annotations

import re
import sys
from pathlib import Path

import numpy as np
import pytest

from tests.synthetic_many import MODEL, build_lab, long_text

sys.path.insert(0, str(Path(__file__).resolve().parent))
import browser_utils as bu  # noqa: E402

pytestmark = [
    pytest.mark.skipif(not bu.chromium_available(), reason="needs /usr/bin/chromium (Debian chromium) + playwright"),
    pytest.mark.browser,
]
PLANTED = {("class_03", "class_07"), ("class_07", "class_03")}
#: Generous bound on the Predict page's height with a 25,000-character text (px); before the text was shown once
#: in a scroll box the page was ~27,000 px tall.
MAX_PREDICT_PAGE_PX = 8000
#: Rows of a Streamlit dataframe (glide data grid) in CSS pixels: header and body rows share this default height.
GRID_ROW_PX = 35


@pytest.fixture(scope="module")
def lab(tmp_path_factory):
    root = tmp_path_factory.mktemp("browser-many")
    info = build_lab(root)
    with bu.run_app(bu.lab_env(root)) as app:
        yield {**info, "app": app}


def grid_rows(frame) -> list[list[str]]:
    """The body rows of a st.dataframe as text, read from the grid's accessibility table (the visible grid is a
    canvas); glide-data-grid keeps the rows in view there, which covers every row of a small table."""
    frame.locator("table[role=grid] tbody tr").first.wait_for(state="attached")  # filled after the first paint
    return frame.locator("table[role=grid] tbody tr").evaluate_all(
        "rows => rows.map(r => [...r.querySelectorAll('td')].map(td => td.textContent))")


def grid_header(frame) -> list[str]:
    frame.locator("table[role=grid] thead th").first.wait_for(state="attached")
    return frame.locator("table[role=grid] thead th").evaluate_all("ths => ths.map(th => th.textContent)")


def select_grid_row(page, frame, row: int) -> None:
    """Tick body row `row` of a single-row-selection st.dataframe: a click on its row marker (the first column)."""
    frame.scroll_into_view_if_needed()  # a click outside the viewport reaches nothing
    box = frame.locator('[data-testid="stDataFrameResizable"]').first.bounding_box() or frame.bounding_box()
    assert box, "the dataframe has no box"
    page.mouse.click(box["x"] + 12, box["y"] + GRID_ROW_PX * (row + 1) + GRID_ROW_PX / 2)


def choose(page, label: str, option: str) -> None:
    """Choose `option` in the st.selectbox labelled `label` by typing it (the list of 80 options is virtualised:
    only the options in view exist in the page), then wait until the box shows it."""
    box = page.get_by_role("combobox", name=label).first
    box.click()
    page.keyboard.type(option)
    page.get_by_role("option").filter(has_text=re.compile(f"^{re.escape(option)}$")).first.click()
    page.wait_for_function("([l, o]) => [...document.querySelectorAll('input[role=combobox]')].some("
                           "e => e.getAttribute('aria-label') === l && e.value === o)", arg=[label, option])


def cell_caption(true: str, predicted: str) -> re.Pattern:
    return re.compile(rf"\d+ test texts of class “{true}” predicted as “{predicted}”")


def wait_cell(page, true: str, predicted: str) -> None:
    """Wait until "Examples in a cell" shows cell (true, predicted) and the page stopped running."""
    page.get_by_text(cell_caption(true, predicted)).first.wait_for()
    bu.wait_idle(page)
    bu.assert_no_exception(page, f"Errors, cell {true} -> {predicted}")


def cell_table(page):
    """The examples table of the open cell (the dataframe whose header has a "text" column)."""
    frames = page.locator('[data-testid="stDataFrame"]')
    found = [frames.nth(i) for i in range(frames.count()) if "text" in grid_header(frames.nth(i))]
    assert found, "no examples table on the page"
    return found[0]


def test_errors_at_80_classes_pairs_table_opens_the_cell(lab):
    expected = lab["pairs"]
    assert {(t, p) for t, p, _ in expected[:2]} & PLANTED, expected[:3]  # the data really plants the pair
    with bu.browser() as page:
        page.goto(f"{lab['app'].url}/errors?model={MODEL}")
        bu.wait_idle(page)
        bu.assert_no_exception(page, "Errors")
        text = bu.main_text(page)
        assert "Most confused pairs" in text and re.search(r"Test accuracy\s*\d+\.\d%", text), text[:800]

        # the pairs table: the planted pair on top, counts never increasing, as computed from the predictions
        pairs = page.locator('[data-testid="stDataFrame"]').first
        assert grid_header(pairs)[:3] == ["true", "predicted", "count"]
        rows = grid_rows(pairs)
        assert (rows[0][0], rows[0][1]) in PLANTED, rows[:3]
        assert [(r[0], r[1], int(r[2])) for r in rows] == expected[:len(rows)]
        assert len(rows) >= 3 and (np.diff([int(r[2]) for r in rows]) <= 0).all()

        # the matrix: drawn (plotly's SVG), with the pair's labels on its axes, no exception box
        matrix = page.locator('[data-testid="stPlotlyChart"]').first
        matrix.locator(".nsewdrag").first.wait_for()
        ticks = matrix.locator(".xtick text, .ytick text").evaluate_all("ts => ts.map(t => t.textContent)")
        assert {"class_03", "class_07"} <= set(ticks), ticks[:20]
        assert 2 < len(set(ticks)) < 80  # the default subset: the classes of the confused pairs, not all 80

        # move the cell elsewhere first, so the row click below is what opens the pair
        choose(page, "True class", "class_10")
        choose(page, "Predicted class", "class_10")
        wait_cell(page, "class_10", "class_10")

        for row in (0, 1):  # the planted pair, then the next row (its reverse, or the next pair)
            true, predicted, count = expected[row]
            select_grid_row(page, pairs, row)
            wait_cell(page, true, predicted)
            assert bu.selected(page, "True class") == true and bu.selected(page, "Predicted class") == predicted
            examples = cell_table(page)
            header = grid_header(examples)
            cells = [dict(zip(header, r)) for r in grid_rows(examples)]
            assert len(cells) == count, (row, cells)
            assert {c["true"] for c in cells} == {true} and {c["predicted"] for c in cells} == {predicted}
            # texts of class 3 or 7 are written with class 3's words (the shared vocabulary)
            assert all(re.search(r"\bw3x\d\b", c["text"]) for c in cells), cells
        bu.assert_no_exception(page, "Errors after selecting rows")


def test_predict_shows_a_long_text_once_on_a_short_page(lab):
    text = long_text()
    assert len(text) == 25_000 and text.count("\n\n") > 20
    with bu.browser() as page:
        page.goto(f"{lab['app'].url}/predict?model={MODEL}")
        bu.wait_idle(page)
        area = page.locator('[data-testid="stTextArea"] textarea')
        area.fill(text)  # a paste: the whole text at once
        area.press("Control+Enter")
        page.get_by_text("Prediction:").first.wait_for(timeout=120_000)
        bu.wait_idle(page)
        bu.assert_no_exception(page, "Predict with a 25,000-character text")
        main = bu.main_text(page)
        assert "only the first" not in main  # 25,000 characters are read whole, not cut
        assert re.search(r"25,000 characters in \d+ paragraph", main), main[:1500]

        # once: one scroll box holds the text, each paragraph appears once on the page, paragraph breaks kept
        boxes = page.locator(".text-chips")
        assert boxes.count() == 1
        box_height = boxes.first.evaluate("e => e.clientHeight")
        assert boxes.first.evaluate("e => e.scrollHeight") > 3 * box_height  # it scrolls inside its box
        assert boxes.first.locator("br").count() > 20
        for marker in ("Paragraph 3.", "Paragraph 17."):
            assert main.count(marker) == 1, marker

        # short: Streamlit scrolls inside its main area (document.body.scrollHeight stays at the viewport's
        # height or 0), so the main area's scrollHeight is the page's height
        heights = page.evaluate(f"""() => ({{body: document.body.scrollHeight,
                                              main: document.querySelector('{bu.MAIN}').scrollHeight}})""")
        print(f"Predict page height with a 25,000-character text: {heights}")
        assert heights["main"] > page.viewport_size["height"], heights  # measured where the page really scrolls
        assert max(heights.values()) < MAX_PREDICT_PAGE_PX, heights
