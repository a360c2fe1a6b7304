"""Time the many-class and long-text views in a real browser, and a long text's cost in the library (issue 12).

    python scripts/measure_long_and_many.py [--repeat 3] [--chars 25000 100000] [--library-rows 5000]
                                            [--no-library] [--screenshots DIR]

Browser (headless Debian Chromium, /usr/bin/chromium, against `streamlit run app.py` on a fresh temporary lab
holding the 80-class synthetic set of tests/synthetic_many.py and a word-unigram TF-IDF on it):
- Errors at 80 classes: render time of the first visit after the server started (cold: nothing cached) and of
  the next visits (warm), each entered from the sidebar like a user would;
- Predict: render time of a pasted text of each --chars length (paragraphs of ~470 characters) from Ctrl+Enter
  until the page stopped running, and the page's height (the main area's scrollHeight: Streamlit scrolls inside
  it, so document.body.scrollHeight, also printed, says little).
Library (--library-rows rows of AG News, or the 80-class set when ../shared/data is missing; default TF-IDF,
word + char n-grams): seconds for predict_proba, the exact word contributions and a SHAP Partition explanation
(the 300-word cap, core.explain.shap_text.MAX_SHAP_WORDS) of one 100,000-character text
(core.safety.MAX_TEXT_CHARS).
"""
from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]
import browser_utils as bu  # noqa: E402

from tests.synthetic_many import MODEL, build_lab, long_text, many_classes  # noqa: E402


def browser_part(lab: Path, repeat: int, sizes: list[int], shots: Path | None) -> list[tuple[str, list[float]]]:
    """[(what, [seconds or px per pass])] for Errors and Predict in headless Chromium."""
    rows: list[tuple[str, list[float]]] = []
    with bu.browser() as page, bu.run_app(bu.lab_env(lab)) as app:
        page.goto(f"{app.url}/?model={MODEL}")
        bu.wait_idle(page, timeout=300)
        errors = []
        for r in range(repeat):
            errors.append(bu.go(page, "Errors", timeout=600))
            bu.assert_no_exception(page, "Errors")
            assert "Most confused pairs" in bu.main_text(page)
            if r == 0:
                bu.screenshot(page, shots, "errors-80-classes")
            bu.go(page, "Overview", timeout=600)
        rows.append(("Errors, 80 classes (s)", errors))
        rows.append(("Predict, open the page (s)", [bu.go(page, "Predict", timeout=600)]))
        area = page.locator('[data-testid="stTextArea"] textarea')
        for n in sizes:
            text = long_text(n)
            seconds, heights, bodies = [], [], []
            for r in range(repeat):
                area.fill(text + " " * r)  # a new text each pass: no cached answer
                t0 = time.perf_counter()
                area.press("Control+Enter")
                page.get_by_text("Prediction:").first.wait_for(timeout=600_000)
                bu.wait_idle(page, timeout=600)
                seconds.append(time.perf_counter() - t0)
                bu.assert_no_exception(page, f"Predict, {n:,} characters")
                h = page.evaluate(f"() => [document.querySelector('{bu.MAIN}').scrollHeight, "
                                  "document.body.scrollHeight]")
                heights.append(h[0])
                bodies.append(h[1])
                if r == 0:
                    bu.screenshot(page, shots, f"predict-{n}-chars")
            rows.append((f"Predict, {n:,}-char text (s)", seconds))
            rows.append(("  page height, main area (px)", heights))
            rows.append(("  document.body.scrollHeight (px)", bodies))
    return rows


def library_part(n_rows: int) -> list[tuple[str, list[float]]]:
    """Seconds for a default TF-IDF's predict_proba / contributions / SHAP on one 100,000-character text
    (two different texts, after shap's one-off JIT warm-up)."""
    from core import safety
    from core.data import load_dataset
    from core.explain import registry, shap_text
    from core.models import family
    from core.params import resolve
    from core.progress import null_progress

    try:
        ds = load_dataset("ag_news", max_train=n_rows)
    except Exception as e:  # noqa: BLE001 - ../shared/data missing: the synthetic set still gives a timing
        print(f"(AG News unavailable: {e}; using the 80-class synthetic set)")
        ds = many_classes()
    fam = family("tfidf")
    t0 = time.perf_counter()
    model = fam.fit(ds, resolve(fam.PARAMS, {}), null_progress)[0]
    print(f"library: default TF-IDF (word + char n-grams) fitted on {len(ds.train.texts):,} rows of {ds.name} "
          f"in {time.perf_counter() - t0:.1f} s")
    rows: list[tuple[str, list[float]]] = []
    # two different texts (a cached SHAP answer would time nothing), each cut to MAX_TEXT_CHARS as the pages do
    texts = [safety.clean_text(f"Article {r}. " + long_text(150_000))[0] for r in range(2)]
    assert len(texts[0]) == safety.MAX_TEXT_CHARS and texts[0] != texts[1]
    print(f"library: shap's one-off numba compilation (shap_text.warmup, not in the timings): "
          f"{shap_text.warmup():.1f} s")
    steps = {
        "TF-IDF predict_proba": lambda t: model.predict_proba([t]),
        "TF-IDF contributions (1 class)": lambda t: model.contributions(t, 0),
        "exact linear explainer (1 class)": lambda t: registry.run("linear", model, t, 0),
        "SHAP Partition, 300-word cap": lambda t: registry.run("shap", model, t, 0),
    }
    for what, fn in steps.items():
        shap_text.clear_cache()
        times = []
        for t in texts:
            t0 = time.perf_counter()
            fn(t)
            times.append(time.perf_counter() - t0)
        rows.append((f"{what}, {safety.MAX_TEXT_CHARS:,} chars (s)", times))
    return rows


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeat", type=int, default=3, help="passes (the first Errors visit is cold, then warm)")
    ap.add_argument("--chars", type=int, nargs="+", default=[25_000], help="lengths of the texts pasted on Predict")
    ap.add_argument("--library-rows", type=int, default=5000, help="AG News train rows for the library timing")
    ap.add_argument("--no-library", action="store_true", help="browser timings only")
    ap.add_argument("--screenshots", type=Path, help="save PNGs of Errors and Predict here (first pass)")
    args = ap.parse_args(argv)
    os.environ.update({"HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1", "TQDM_DISABLE": "1"})

    with tempfile.TemporaryDirectory(prefix="textlab-measure-") as tmp:
        lab = Path(tmp)
        t0 = time.perf_counter()
        build_lab(lab)
        print(f"lab: 80-class synthetic set + TF-IDF built in {time.perf_counter() - t0:.1f} s ({lab})")
        rows = browser_part(lab, args.repeat, args.chars, args.screenshots)
    if not args.no_library:
        rows += library_part(args.library_rows)
    width = max(len(w) for w, _ in rows) + 2
    passes = max(len(v) for _, v in rows)
    print(f"\n{'':<{width}}" + "".join(f"{'pass ' + str(r + 1):>10}" for r in range(passes)) + f"{'median':>10}")
    for what, values in rows:
        cells = "".join(f"{v:>10.0f}" if "(px)" in what else f"{v:>10.2f}" for v in values)
        cells += " " * 10 * (passes - len(values))
        med = statistics.median(values)
        print(f"{what:<{width}}{cells}" + (f"{med:>10.0f}" if "(px)" in what else f"{med:>10.2f}"))
    print(f"\nload average: {' '.join(f'{x:.2f}' for x in os.getloadavg())} on {os.cpu_count()} CPUs")
    return 0


if __name__ == "__main__":
    sys.exit(main())
