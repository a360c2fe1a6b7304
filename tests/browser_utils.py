"""Helpers for real-browser tests: start the dashboard on a free port, drive headless Chromium, wait for pages.

Used by tests/test_browser.py and scripts/measure_pages.py / scripts/screenshots.py. Chromium is the Debian
package (/usr/bin/chromium, installed by .ci/run); Playwright only drives it (`playwright install` is never
needed). Every wait is on something a user would see: the page title, the running indicator going away.
"""
from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CHROMIUM = os.environ.get("TEXTLAB_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-quic",
    "--no-first-run", "--disable-component-update", "--disable-sync",
]
#: Streamlit's DOM hooks (stable data-testid attributes).
EXCEPTION = '[data-testid="stException"]'
MAIN = '[data-testid="stMain"]'
#: True when the app is connected, its script is not running and no skeleton placeholder is left.
IDLE_JS = """() => {
  const app = document.querySelector('[data-testid="stApp"]');
  return !!app && app.dataset.testScriptState === 'notRunning' && app.dataset.testConnectionState === 'CONNECTED'
    && !document.querySelector('[data-testid="stSkeleton"]');
}"""


def chromium_available() -> bool:
    """Whether the Debian chromium binary and Playwright's Python package are both installed."""
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return False
    return Path(CHROMIUM).exists()


def free_port() -> int:
    """A TCP port that is free on localhost right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class App:
    """A running `streamlit run app.py` server; `url` is its root, `seconds_to_healthy` its start-up time."""

    url: str
    process: subprocess.Popen
    log: Path
    seconds_to_healthy: float
    started: float = field(default_factory=time.perf_counter)

    def log_tail(self, n: int = 40) -> str:
        try:
            return "\n".join(self.log.read_text(errors="replace").splitlines()[-n:])
        except OSError:
            return ""


def lab_env(root: Path) -> dict[str, str]:
    """Environment pointing every writable lab folder into `root` (nothing is written into the repo)."""
    return {
        "TEXTLAB_ARTIFACTS_DIR": str(root / "artifacts"),
        "TEXTLAB_USER_DATA_DIR": str(root / "user_data"),
        "TEXTLAB_JOBS_DIR": str(root / "jobs"),
        "TEXTLAB_CACHE_DIR": str(root / "cache"),
    }


@contextlib.contextmanager
def run_app(env: dict[str, str], timeout: float = 180.0) -> Iterator[App]:
    """Start the dashboard on a free port with `env` added to os.environ; stop it (and its jobs' group) on exit."""
    port = free_port()
    log = Path(tempfile.mkstemp(prefix="textlab-streamlit-", suffix=".log")[1])
    full_env = {**os.environ, "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1", "TOKENIZERS_PARALLELISM": "false",
                "TQDM_DISABLE": "1", **env}
    cmd = [sys.executable, "-m", "streamlit", "run", str(ROOT / "app.py"), "--server.port", str(port),
           "--server.address", "127.0.0.1", "--server.headless", "true", "--browser.gatherUsageStats", "false",
           "--server.fileWatcherType", "none"]
    t0 = time.perf_counter()
    with open(log, "wb") as out:
        proc = subprocess.Popen(cmd, cwd=str(ROOT), env=full_env, stdout=out, stderr=subprocess.STDOUT,
                                start_new_session=True)
    url = f"http://127.0.0.1:{port}"
    try:
        while True:
            if proc.poll() is not None:
                raise RuntimeError(f"streamlit exited with {proc.returncode}:\n{log.read_text(errors='replace')}")
            with contextlib.suppress(OSError):
                with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as r:
                    if r.status == 200:
                        break
            if time.perf_counter() - t0 > timeout:
                raise TimeoutError(f"streamlit not healthy after {timeout:.0f} s:\n{log.read_text(errors='replace')}")
            time.sleep(0.2)
        yield App(url, proc, log, time.perf_counter() - t0, t0)
    finally:
        # the server's own session; background training jobs start their own sessions and are
        # cancelled by the test itself
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=15)


@contextlib.contextmanager
def browser(width: int = 1280, height: int = 900) -> Iterator:
    """A Playwright page in headless Debian Chromium with a fresh profile (a BrowserContext's first page)."""
    from playwright.sync_api import sync_playwright

    with tempfile.TemporaryDirectory(prefix="textlab-chromium-") as profile, sync_playwright() as p:
        ctx = p.chromium.launch_persistent_context(
            profile, executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS,
            viewport={"width": width, "height": height}, device_scale_factor=1,
        )
        try:
            ctx.set_default_timeout(60_000)
            page = ctx.pages[0] if ctx.pages else ctx.new_page()
            yield page
        finally:
            ctx.close()


def wait_idle(page, timeout: float = 120.0, settle: float = 0.5) -> float:
    """Wait until the app has rendered: connected, the script not running (Streamlit's own `stApp` state
    attribute, which its e2e tests wait on), no skeleton, for `settle` seconds in a row. Returns the seconds
    waited (without the settle time). Raises TimeoutError."""
    t0 = time.perf_counter()
    page.wait_for_selector(MAIN, timeout=timeout * 1000)
    quiet_since = None
    while True:
        idle = page.evaluate(IDLE_JS)
        now = time.perf_counter()
        if not idle:
            quiet_since = None
        elif quiet_since is None:
            quiet_since = now
        elif now - quiet_since >= settle:
            return quiet_since - t0
        if now - t0 > timeout:
            raise TimeoutError(f"page still running after {timeout:.0f} s")
        time.sleep(0.05)


def go(page, title: str, timeout: float = 120.0) -> float:
    """Open page `title` from the sidebar navigation (keeps the session) and wait until its title replaced the
    previous page's and it stopped running; returns the seconds that took."""
    t0 = time.perf_counter()
    old_url = page.url
    old_h1 = page.locator("h1").first.inner_text() if page.locator("h1").count() else ""
    page.locator(f'[data-testid="stSidebarNavLink"]:has(span[label="{title}"])').first.click()
    if page.url == old_url:
        page.wait_for_url(lambda u: u != old_url, timeout=timeout * 1000)
    page.wait_for_function("old => { const h = document.querySelector('h1'); return h && h.innerText !== old; }",
                           arg=old_h1, timeout=timeout * 1000)
    wait_idle(page, timeout)
    return time.perf_counter() - t0


def nav_titles(page) -> list[str]:
    """Titles of every page in the sidebar navigation, in order (the link's label, without its icon)."""
    return [str(t) for t in page.locator('[data-testid="stSidebarNavLink"] span[label]').evaluate_all(
        "els => els.map(e => e.getAttribute('label'))")]


def main_text(page) -> str:
    """Visible text of the main area (not the sidebar)."""
    return page.locator(MAIN).inner_text()


def assert_no_exception(page, where: str = "") -> None:
    """Fail with the exception box's text if Streamlit drew one."""
    boxes = page.locator(EXCEPTION)
    if boxes.count():
        raise AssertionError(f"Streamlit exception on {where or page.url}:\n{boxes.first.inner_text()[:2000]}")


def selected(page, label: str) -> str:
    """The shown value of the st.selectbox labelled `label` (a combobox input since Streamlit 1.5x)."""
    return page.get_by_role("combobox", name=label).first.input_value()


def select_option(page, label: str, option: str) -> None:
    """Choose the first option containing `option` in the st.selectbox labelled `label`."""
    page.get_by_role("combobox", name=label).first.click()
    page.get_by_role("option").filter(has_text=option).first.click()
    page.wait_for_function("([l, o]) => [...document.querySelectorAll('input[role=combobox]')].some("
                           "e => e.getAttribute('aria-label') === l && e.value.includes(o))", arg=[label, option])


def screenshot(page, folder: Path | None, name: str, full: bool = True, max_height: int = 2400,
               max_kb: int = 300) -> Path | None:
    """Save `folder/name.png` (no-op when folder is None): the whole page when `full` (the viewport is
    stretched to the main area's height, at most `max_height` px, then restored; Streamlit scrolls inside
    its main area, so Playwright's own full_page sees only the viewport). PNGs over `max_kb` are re-saved
    with a 256-colour palette, which keeps README pictures small and sharp."""
    if folder is None:
        return None
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{name}.png"
    page.mouse.move(0, 0)  # no hover tooltip in the picture
    size = page.viewport_size
    if full and size:
        height = int(page.evaluate(f"() => document.querySelector('{MAIN}').scrollHeight"))
        page.set_viewport_size({"width": size["width"], "height": max(size["height"], min(height, max_height))})
        time.sleep(0.3)  # let charts that listen to resize settle
    try:
        page.screenshot(path=str(path), animations="disabled", caret="hide")
    finally:
        if full and size:
            page.set_viewport_size(size)
    if path.stat().st_size > max_kb * 1024:
        from PIL import Image

        with Image.open(path) as img:
            img.convert("RGB").quantize(256, method=Image.Quantize.MEDIANCUT).save(path, optimize=True)
    return path
