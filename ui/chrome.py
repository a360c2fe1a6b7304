"""Page chrome: titles, links between pages, empty states, error display, capability panels, downloads."""
from __future__ import annotations

import re
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager

import pandas as pd
import streamlit as st
from streamlit.errors import StreamlitAPIException

from core.errors import LabError
from core.explain import render
from core.safety import csv_bytes

from .cache import artifact_info

#: Page files, for links (relative to the app's main script, app.py).
PAGE_OVERVIEW = "views/overview.py"
PAGE_DATASET = "views/dataset.py"
PAGE_TRAIN = "views/train.py"
PAGE_PREDICT = "views/predict.py"
PAGE_ERRORS = "views/errors.py"
PAGE_COMPARE = "views/compare.py"
PAGE_EMBEDDINGS = "views/embeddings.py"
PAGE_EXPLAIN = "views/explain.py"
PAGE_COMPRESSION = "views/compression.py"
PAGE_CURVES = "views/curves.py"
PAGE_SCORE = "views/score.py"

#: Errors whose message is meant for the user: shown as a plain st.error, no traceback. Anything else is a bug
#: and is shown with its traceback folded away.
KNOWN_ERRORS: tuple[type[BaseException], ...] = (LabError, FileNotFoundError)


def page_header(title: str, help: str) -> None:
    """The page title and a one-line caption saying what the page shows."""
    st.title(title)
    st.caption(help)


def page_link(page: str, label: str, icon: str | None = None, query: dict[str, str] | None = None) -> None:
    """st.page_link that degrades to a hint when the page is not registered (e.g. a page run on its own)."""
    try:
        st.page_link(page, label=label, icon=icon, query_params=query)
    except StreamlitAPIException:
        st.caption(f"Open **{label}** from the navigation menu.")


def empty_state(message: str, page: str | None = PAGE_TRAIN, label: str = "Train a model",
                icon: str = ":material/model_training:") -> None:
    """An informative empty state with a link to the page that fixes it."""
    st.info(message, icon=":material/info:")
    if page:
        page_link(page, label, icon=icon)


def show_error(exc: BaseException, context: str | None = None) -> None:
    """Show `exc` clearly: known (user-facing) errors as one line, unexpected ones with details folded away."""
    prefix = f"{context}: " if context else ""
    if isinstance(exc, KNOWN_ERRORS):
        st.error(f"{prefix}{exc}", icon=":material/error:")
    else:
        st.error(f"{prefix}unexpected error ({type(exc).__name__}): {exc}", icon=":material/error:")
        with st.expander("Technical details"):
            st.exception(exc)


@contextmanager
def guard(context: str | None = None) -> Iterator[None]:
    """`with ui.guard("Loading the model"): ...` shows any error via `show_error` and carries on with the page.

    Streamlit's own control flow (st.rerun / st.stop) derives from BaseException and passes through.
    """
    try:
        yield
    except Exception as exc:  # noqa: BLE001 - the page must keep rendering whatever happened
        show_error(exc, context)


def panel(name: str, capability: str, title: str, help: str = "") -> bool:
    """Start a section only if model `name` declares `capability` in its manifest; returns whether it was drawn.

        if ui.panel(model, "attention", "Attention", "which words each layer looks at"):
            ...draw it...
    Models without the capability get nothing (no fake or empty chart).
    """
    info = artifact_info(name)
    if info is None or capability not in info.capabilities:
        return False
    st.subheader(title)
    if help:
        st.caption(help)
    return True


def show_tokens(tokens: Sequence[str], weights: Sequence[float], max_abs: float | None = None) -> None:
    """Tokens shaded by weight (core.explain.render.tokens_html: every token escaped, so user text is safe with
    unsafe_allow_html; blue > 0, red < 0, as in case files)."""
    st.markdown(render.tokens_html(list(tokens), weights, max_abs=max_abs, fmt="{:+.3f}", inline=True),
                unsafe_allow_html=True)


def csv_download(df: pd.DataFrame, file_name: str, label: str = "Download CSV", key: str | None = None) -> None:
    """A download button for a table (UTF-8 CSV, no index, formula-like text cells defused by core.safety)."""
    st.download_button(label, csv_bytes(df), file_name=file_name, mime="text/csv", icon=":material/download:",
                       key=key)


def case_file_button(build: Callable[[], str], file_name: str, key: str,
                     label: str = "Download case file (HTML)") -> None:
    """A download button for a self-contained HTML report; `build() -> str` (render.case_file_html) runs only
    when the button is clicked, so pages do not inline plotly.js (~4 MB) on every rerun."""
    st.download_button(label, data=lambda: build().encode("utf-8"), file_name=re.sub(r"[^\w.-]+", "_", file_name),
                       mime="text/html", key=key, on_click="ignore", icon=":material/description:",
                       help="A single HTML file (text, prediction, explanations, charts) that opens offline — "
                            "for a meeting or a bug report.")


def upload_limit_mb() -> int:
    """Largest accepted upload in MB: server.maxUploadSize (.streamlit/config.toml); the browser and the
    server both refuse bigger files, so pages state it next to the uploader."""
    try:
        return int(st.get_option("server.maxUploadSize"))
    except Exception:  # noqa: BLE001 - option missing in a very old / new streamlit: its default
        return 200
