"""Bounded load test of the dashboard's Predict page, against localhost only.

    python scripts/load_test.py                          # start the app on a free port, 4 browser sessions x 5 requests
    python scripts/load_test.py --sessions 8 --requests 10 --with-training
    python scripts/load_test.py --url http://localhost:8501 --model my-model   # an app you started (localhost only)
    python scripts/load_test.py --mode apptest           # no browser: N threads of Streamlit AppTest runs
    python scripts/load_test.py --memory-rows 50000      # peak RSS of the Errors page on a 50,000-row test split

Modes: "browser" drives N concurrent headless Chromium sessions (Playwright, /usr/bin/chromium) through the real
server's websocket protocol; "apptest" runs N threads of AppTest of views/predict.py in this process, sharing one
model cache (what st.cache_resource gives concurrent sessions). "auto" picks browser when Chromium exists.
Each request types a different text and waits until the page finished re-running; a request fails on a
Streamlit exception box, a missing prediction or a timeout. Prints sessions, requests, errors, p50/p95/max
latency; with --with-training the same load runs again while a background training job runs (core.jobs),
so the two latency lines show whether training stalls predictions.

Bounded: every request has a timeout, the whole run a deadline (--deadline), the server and the job started
here are stopped at the end. Refuses any URL whose host is not localhost / 127.0.0.1 / ::1.
"""
from __future__ import annotations

import argparse
import asyncio
import json
import os
import signal
import subprocess
import sys
import tempfile
import threading
import time
from contextlib import ExitStack, contextmanager, suppress
from pathlib import Path
from urllib.parse import urlparse

ROOT = Path(__file__).resolve().parent.parent
for p in (ROOT, ROOT / "tests"):
    if str(p) not in sys.path:
        sys.path.insert(0, str(p))

LOCAL_HOSTS = {"localhost", "127.0.0.1", "::1"}
VERBOSE = False
TEXTS = [
    "WINNER!! You have been selected to receive a £900 prize reward. Call 09061701461 to claim",
    "Hey, are we still meeting for lunch tomorrow at noon?",
    "URGENT! Your mobile number has won a free holiday. Text WIN to 80086 now",
    "Sorry I missed your call, I'll ring you back after the meeting",
    "Free entry in a weekly competition to win FA Cup final tickets. Text FA to 87121",
    "Can you pick up some milk on the way home please",
    "Congratulations, you have won a guaranteed cash prize, claim it before midnight",
    "I'm running late, start dinner without me",
]


def check_local(url: str) -> str:
    """`url` without a trailing slash if its host is this machine; SystemExit(2) otherwise."""
    host = urlparse(url).hostname
    if host not in LOCAL_HOSTS:
        raise SystemExit(f"refusing to load-test {url!r}: only localhost / 127.0.0.1 / ::1 are allowed")
    return url.rstrip("/")


def percentiles(values: list[float]) -> dict[str, float | None]:
    import numpy as np

    if not values:
        return {"p50": None, "p95": None, "max": None}
    v = np.asarray(values)
    return {"p50": float(np.percentile(v, 50)), "p95": float(np.percentile(v, 95)), "max": float(v.max())}


def text_for(session: int, request: int) -> str:
    return f"{TEXTS[(session + request) % len(TEXTS)]} (session {session}, request {request})"


# ----------------------------------------------------------------------------------------------- lab

def build_lab(root: Path) -> str:
    """A small TF-IDF model in `root`/artifacts (sms_spam when the shared data exists, else a toy set)."""
    os.environ.update({"TEXTLAB_ARTIFACTS_DIR": str(root / "artifacts"), "TEXTLAB_USER_DATA_DIR":
                       str(root / "user_data"), "TEXTLAB_JOBS_DIR": str(root / "jobs"),
                       "TEXTLAB_CACHE_DIR": str(root / "cache"), "TQDM_DISABLE": "1"})
    from core import train

    fast = {"analyzer": "word+char", "char_ngram_max": 4}
    try:
        train.run("sms_spam", "tfidf", fast, name="load-tfidf", max_train=2000)
    except Exception:  # noqa: BLE001 - no shared data: a toy dataset keeps the script usable anywhere
        from tiny_bert import tiny_dataset

        train.run(tiny_dataset(), "tfidf", fast, name="load-tfidf")
    return "load-tfidf"


@contextmanager
def training_job(dataset: str, deadline: float):
    """A background training job (core.jobs) running for the duration of the block, then cancelled."""
    from core import jobs

    job = jobs.start_job(dataset, "rnn", {"epochs": 50, "embed_dim": 64, "hidden_dim": 64}, max_train=3000)
    t0 = time.time()
    # wait until the optimisation loop runs (past imports, data loading and tokenizer fitting), so the
    # measurement overlaps real training
    while time.time() - t0 < min(300, deadline - time.time() - 120):
        status = jobs.job_status(job)
        if status.get("state") not in ("starting", "running") or "epoch" in str(status.get("message", "")):
            break
        time.sleep(0.5)
    print(f"  training job {job}: {jobs.job_status(job).get('message', '')} after {time.time() - t0:.0f} s",
          flush=True)
    try:
        yield job
    finally:
        status = jobs.job_status(job)
        jobs.cancel_job(job)
        pid_file = Path(os.environ.get("TEXTLAB_JOBS_DIR", "")) / job / "pid"
        with suppress(OSError, ValueError, ProcessLookupError):
            t1 = time.time()
            while jobs.job_status(job)["state"] in ("running", "starting") and time.time() - t1 < 20:
                time.sleep(0.5)
            if jobs.job_status(job)["state"] in ("running", "starting"):
                os.killpg(int(pid_file.read_text()), signal.SIGKILL)
        print(f"  training job {job}: {status.get('state')} — {status.get('message', '')}", flush=True)


# ----------------------------------------------------------------------------------------------- browser mode

async def _browser_session(browser, url: str, model: str, session: int, n: int, timeout: float,
                           out: list, errors: list) -> None:
    from browser_utils import EXCEPTION, IDLE_JS

    ctx = await browser.new_context(viewport={"width": 1200, "height": 900})
    page = await ctx.new_page()

    async def wait_done(t0: float) -> None:
        # the rerun may be over before we look, so "running" is waited for briefly, then idle for real
        with suppress(Exception):
            await page.wait_for_function(
                "() => document.querySelector('[data-testid=\"stApp\"]')?.dataset.testScriptState === 'running'",
                timeout=3000)
        await page.wait_for_function(IDLE_JS, timeout=max(1.0, timeout - (time.perf_counter() - t0)) * 1000)

    try:
        t0 = time.perf_counter()
        await page.goto(f"{url}/predict?model={model}", timeout=timeout * 1000)
        await wait_done(t0)
        if VERBOSE:
            print(f"    session {session} opened the page in {time.perf_counter() - t0:.2f} s", flush=True)
        box = page.get_by_label("Text", exact=True)
        # one uncounted warm-up request: the first one in a fresh server loads the model and imports plotly
        t0 = time.perf_counter()
        await box.fill(text_for(session, -1))
        await box.press("Control+Enter")
        await wait_done(t0)
        if VERBOSE:
            print(f"    session {session} warm-up request: {time.perf_counter() - t0:.2f} s", flush=True)
        for r in range(n):
            t0 = time.perf_counter()
            try:
                await box.fill(text_for(session, r))
                await box.press("Control+Enter")
                await wait_done(t0)
                elapsed = time.perf_counter() - t0
                if await page.locator(EXCEPTION).count():
                    errors.append(f"session {session} request {r}: exception box")
                elif not await page.get_by_text("Prediction:").count():
                    errors.append(f"session {session} request {r}: no prediction shown")
                else:
                    out.append(elapsed)
                if VERBOSE:
                    print(f"    session {session} request {r}: {elapsed:.2f} s", flush=True)
            except Exception as exc:  # noqa: BLE001 - a timeout or a closed page is an error, not a crash
                errors.append(f"session {session} request {r}: {type(exc).__name__}: {str(exc)[:120]}")
    finally:
        await ctx.close()


async def _browser_load(url: str, model: str, sessions: int, requests: int, timeout: float) -> tuple[list, list]:
    from browser_utils import CHROMIUM, CHROMIUM_ARGS
    from playwright.async_api import async_playwright

    latencies: list[float] = []
    errors: list[str] = []
    async with async_playwright() as p:
        browser = await p.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        try:
            await asyncio.gather(*(_browser_session(browser, url, model, s, requests, timeout, latencies, errors)
                                   for s in range(sessions)))
        finally:
            await browser.close()
    return latencies, errors


def browser_load(url: str, model: str, sessions: int, requests: int, timeout: float) -> tuple[list, list]:
    return asyncio.run(_browser_load(url, model, sessions, requests, timeout))


# ----------------------------------------------------------------------------------------------- apptest mode

def apptest_load(model: str, sessions: int, requests: int, timeout: float) -> tuple[list, list]:
    """N threads, each one AppTest session of views/predict.py; they share this process's model cache."""
    from streamlit.testing.v1 import AppTest

    latencies: list[float] = []
    errors: list[str] = []
    lock = threading.Lock()

    def user(session: int) -> None:
        at = AppTest.from_file(str(ROOT / "views" / "predict.py"), default_timeout=timeout)
        at.session_state["predict-model"] = model
        at.session_state["predict-text"] = text_for(session, -1)
        at.run()  # uncounted warm-up (model load, imports)
        for r in range(requests):
            at.session_state["predict-text"] = text_for(session, r)
            t0 = time.perf_counter()
            try:
                at.run()
                elapsed = time.perf_counter() - t0
                shown = any("Prediction:" in m.value for m in at.markdown)
                with lock:
                    if at.exception:
                        errors.append(f"session {session} request {r}: {at.exception[0].value[:120]}")
                    elif not shown:
                        errors.append(f"session {session} request {r}: no prediction shown")
                    else:
                        latencies.append(elapsed)
            except Exception as exc:  # noqa: BLE001
                with lock:
                    errors.append(f"session {session} request {r}: {type(exc).__name__}: {str(exc)[:120]}")

    threads = [threading.Thread(target=user, args=(s,), daemon=True) for s in range(sessions)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=timeout * requests)
    return latencies, errors


# ----------------------------------------------------------------------------------------------- memory

MEMORY_CHILD = r"""
import json, os, sys, time
sys.path[:0] = [sys.argv[1], os.path.join(sys.argv[1], "tests")]
from streamlit.testing.v1 import AppTest
import ui  # noqa: F401 - import everything the page needs before the baseline
from core.memory import PeakMemory
at = AppTest.from_file(os.path.join(sys.argv[1], "views", "errors.py"), default_timeout=600)
at.session_state["_shared_model"] = sys.argv[2]
at.session_state["errors-true"], at.session_state["errors-pred"] = "World", "World"
t0 = time.perf_counter()
with PeakMemory(interval=0.02) as mem:  # the lab's one memory measurement (MB = 10^6 bytes)
    at.run()
seconds = time.perf_counter() - t0
shown = len(at.dataframe[0].value) if at.dataframe else 0
caption = next((c.value for c in at.caption if c.value.startswith("Showing")), "")
print(json.dumps({"baseline_rss_mb": round(mem.start_mb, 1), "peak_rss_mb": round(mem.peak_mb, 1),
    "seconds": round(seconds, 2), "rows_shown": shown, "caption": caption, "exception": bool(at.exception)}))
"""


def make_big_artifact(name: str, n: int) -> None:
    """An artifact whose stored test predictions have `n` rows of ~200-character texts (4 classes)."""
    import numpy as np
    from tiny_bert import tiny_dataset

    from core import artifacts
    from core.data import Split, TextDataset
    from core.models import family
    from core.params import resolve
    from core.progress import null_progress

    rng = np.random.default_rng(0)
    k = 4
    y = rng.integers(0, k, n)
    pred = np.where(rng.random(n) < 0.7, y, rng.integers(0, k, n))
    logits = rng.normal(0, 1, (n, k))
    logits[np.arange(n), pred] += 3
    proba = (np.exp(logits) / np.exp(logits).sum(1, keepdims=True)).astype(np.float32)
    words = np.array("market team profit game bank chip election data win stock".split())
    texts = [f"row {i}: " + " ".join(words[rng.integers(0, 10, 30)]) for i in range(n)]
    small = tiny_dataset()
    labels = ["World", "Sports", "Business", "Tech"]
    model = family("tfidf").fit(small, resolve(family("tfidf").PARAMS, {"analyzer": "word"}), null_progress)[0]
    ds = TextDataset(f"synthetic_{n}", labels, small.train, small.validation, Split(texts, y))
    preds = artifacts.Predictions(proba, y, texts, labels)
    artifacts.save_artifact(model, name, dataset=ds, config={}, metrics={"accuracy": 0.7}, predictions=preds)


def memory_report(rows: list[int]) -> list[dict]:
    """Peak RSS of one Errors-page render (AppTest, fresh process) per test-split size."""
    out = []
    with tempfile.TemporaryDirectory(prefix="textlab-mem-") as tmp:
        os.environ["TEXTLAB_ARTIFACTS_DIR"] = str(Path(tmp) / "artifacts")
        os.environ["TEXTLAB_CACHE_DIR"] = str(Path(tmp) / "cache")
        for n in rows:
            make_big_artifact(f"big-{n}", n)
            proc = subprocess.run([sys.executable, "-c", MEMORY_CHILD, str(ROOT), f"big-{n}"], cwd=ROOT,
                                  capture_output=True, text=True, timeout=900, env=dict(os.environ))
            if proc.returncode:
                raise RuntimeError(proc.stderr[-3000:])
            out.append({"rows": n, **json.loads(proc.stdout.strip().splitlines()[-1])})
    return out


# ----------------------------------------------------------------------------------------------- main

def run_phase(label: str, args, url: str | None, model: str, mode: str) -> dict:
    t0 = time.perf_counter()
    if mode == "browser":
        lat, errors = browser_load(url, model, args.sessions, args.requests, args.request_timeout)
    else:
        lat, errors = apptest_load(model, args.sessions, args.requests, args.request_timeout)
    wall = time.perf_counter() - t0
    done = len(lat) + len(errors)
    row = {"phase": label, "mode": mode, "sessions": args.sessions, "requests": done, "errors": len(errors),
           **{f"{k}_s": (round(v, 3) if v is not None else None) for k, v in percentiles(lat).items()},
           "wall_s": round(wall, 1), "throughput_rps": round(len(lat) / wall, 2) if wall else None}
    print(f"{label:>9}: {row['sessions']} sessions, {row['requests']} requests, {row['errors']} errors, "
          f"p50 {row['p50_s']} s, p95 {row['p95_s']} s, max {row['max_s']} s, {row['wall_s']} s wall "
          f"({mode})", flush=True)
    for e in errors[:10]:
        print(f"           {e}", flush=True)
    return row


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--url", help="an app already running on localhost (default: start one on a free port)")
    ap.add_argument("--model", help="model to predict with (default: a small TF-IDF trained here)")
    ap.add_argument("--mode", choices=("auto", "browser", "apptest"), default="auto")
    ap.add_argument("--sessions", type=int, default=4)
    ap.add_argument("--requests", type=int, default=5, help="requests per session")
    ap.add_argument("--request-timeout", type=float, default=120.0, help="seconds per request")
    ap.add_argument("--deadline", type=float, default=900.0, help="seconds for the whole run")
    ap.add_argument("--with-training", action="store_true", help="repeat the load while a training job runs")
    ap.add_argument("--train-dataset", default="sms_spam", help="dataset of that training job")
    ap.add_argument("--memory-rows", type=int, nargs="*", help="only measure Errors-page peak RSS for these sizes")
    ap.add_argument("--json", help="also write the results to this JSON file")
    ap.add_argument("--verbose", action="store_true", help="print every request's latency")
    args = ap.parse_args(argv)
    global VERBOSE
    VERBOSE = args.verbose
    if not (1 <= args.sessions <= 64 and 1 <= args.requests <= 1000):
        raise SystemExit("--sessions must be 1..64 and --requests 1..1000 (this is a bounded test)")
    url = check_local(args.url) if args.url else None

    if args.memory_rows:
        rows = memory_report(args.memory_rows)
        for r in rows:
            print(f"errors page, {r['rows']:>6,} test rows: baseline {r['baseline_rss_mb']} MB, peak "
                  f"{r['peak_rss_mb']} MB, {r['seconds']} s, table rows {r['rows_shown']} ({r['caption']})")
        if args.json:
            Path(args.json).write_text(json.dumps(rows, indent=2))
        return 0

    from browser_utils import chromium_available

    mode = args.mode if args.mode != "auto" else ("browser" if chromium_available() else "apptest")
    deadline = time.time() + args.deadline

    def on_deadline(*_):
        raise TimeoutError(f"the load test passed its {args.deadline:.0f} s deadline")

    signal.signal(signal.SIGALRM, on_deadline)
    signal.alarm(int(args.deadline))
    results = []
    with ExitStack() as stack:
        tmp = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="textlab-load-")))
        if url is not None and args.model is None:
            raise SystemExit("--url needs --model (a model the running app can see)")
        if args.model is None:
            t0 = time.perf_counter()
            model = build_lab(tmp)
            print(f"lab: model {model!r} in {tmp} ({time.perf_counter() - t0:.1f} s)", flush=True)
        else:
            model = args.model
            # a training job started here writes into the temporary folder, never into the repo
            os.environ.setdefault("TEXTLAB_JOBS_DIR", str(tmp / "jobs"))
        if mode == "browser" and url is None:
            from browser_utils import lab_env, run_app

            app = stack.enter_context(run_app(lab_env(tmp)))
            url = app.url
            print(f"app: {url} healthy after {app.seconds_to_healthy:.1f} s", flush=True)
        results.append(run_phase("idle", args, url, model, mode))
        if args.with_training:
            if url is not None and args.url:
                print("  (the training job runs with this shell's TEXTLAB_* folders)", flush=True)
            with training_job(args.train_dataset, deadline):
                results.append(run_phase("training", args, url, model, mode))
    signal.alarm(0)
    if len(results) == 2 and results[0]["p50_s"] and results[1]["p50_s"]:
        print(f"p50 while training / idle: {results[1]['p50_s'] / results[0]['p50_s']:.2f}x, "
              f"p95: {results[1]['p95_s'] / results[0]['p95_s']:.2f}x")
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=2))
    return 1 if any(r["errors"] for r in results) else 0


if __name__ == "__main__":
    sys.exit(main())
