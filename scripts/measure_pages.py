"""Time the dashboard in a real browser: start-up to the first rendered page, then every page's render time.

    python scripts/measure_pages.py [--lab DIR] [--model NAME] [--dataset NAME] [--repeat 2]
                                    [--text "..."] [--screenshots docs/screenshots]

A page counts as rendered when its title replaced the previous page's and Streamlit's script state is
"notRunning" (nothing left to compute); pages are opened from the sidebar like a user would, so caches
warm up as they would for one user. `--repeat 2` shows cold and warm times. Without --lab the lab's
usual folders (or $TEXTLAB_* variables) are used. Headless Debian Chromium (/usr/bin/chromium) is required.
"""
from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))
import browser_utils as bu  # noqa: E402

SAMPLE = "Stocks fell sharply on Wall Street after the central bank raised interest rates by half a point."


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--lab", type=Path, help="folder holding artifacts/, user_data/, jobs/, cache/ (as in tests)")
    ap.add_argument("--model", help="model preselected on model pages (default: the newest)")
    ap.add_argument("--dataset", help="dataset preselected on dataset pages")
    ap.add_argument("--repeat", type=int, default=2, help="passes over every page (1st cold, then warm)")
    ap.add_argument("--text", default=SAMPLE, help="text typed on Predict")
    ap.add_argument("--screenshots", type=Path, help="save a PNG of every page here (first pass)")
    args = ap.parse_args(argv)

    env = bu.lab_env(args.lab) if args.lab else {}
    query = "&".join(f"{k}={v}" for k, v in (("model", args.model), ("dataset", args.dataset)) if v)
    rows: list[tuple[str, int, float]] = []
    with bu.browser() as page:  # launched first, so start-up time is the server's and the first render's only
        with bu.run_app(env) as app:
            page.goto(f"{app.url}/" + (f"?{query}" if query else ""))
            bu.wait_idle(page, timeout=300)
            first = time.perf_counter() - app.started
            bu.assert_no_exception(page, "Overview")
            print(f"streamlit start -> healthy: {app.seconds_to_healthy:.1f} s; -> first page rendered: {first:.1f} s")
            titles = bu.nav_titles(page)
            for r in range(args.repeat):
                order = titles[1:] + titles[:1]  # end on Overview, so every page is entered by a click
                for title in order:
                    seconds = bu.go(page, title, timeout=600)
                    bu.assert_no_exception(page, title)
                    rows.append((title, r + 1, seconds))
                    if r == 0 and title != "Predict":  # Predict is pictured with its answer, below
                        bu.screenshot(page, args.screenshots, title.lower().replace(" ", "-"))
                    if title == "Predict":
                        t0 = time.perf_counter()
                        area = page.locator('[data-testid="stTextArea"] textarea')
                        if area.count():
                            area.fill(args.text + (" " * r))  # a new text each pass: no cached answer
                            area.press("Control+Enter")
                            page.get_by_text("Prediction:").first.wait_for(timeout=600_000)
                            bu.wait_idle(page, timeout=600)
                            bu.assert_no_exception(page, "Predict with a text")
                            rows.append(("Predict: type a text", r + 1, time.perf_counter() - t0))
                            if r == 0:
                                bu.screenshot(page, args.screenshots, "predict")
    print(f"\n{'page':<28} " + " ".join(f"{'pass ' + str(r + 1):>8}" for r in range(args.repeat)))
    for name in dict.fromkeys(n for n, _, _ in rows):
        cells = {r: s for n, r, s in rows if n == name}
        print(f"{name:<28} " + " ".join(f"{cells.get(r + 1, float('nan')):>7.1f}s" for r in range(args.repeat)))
    print(f"\nload average: {' '.join(f'{x:.1f}' for x in os.getloadavg())} on {os.cpu_count()} CPUs")
    return 0


if __name__ == "__main__":
    sys.exit(main())
