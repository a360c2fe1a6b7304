"""Streamlit glue between pages/ and core/: the only module importing both.

- cached loaders: models (st.cache_resource, shared by every session, so calls go through a per-model
  lock), artifact lists / predictions / dataset statistics (st.cache_data);
- pickers that remember the choice across pages (`pick_dataset`, `pick_model`, `pick_models`);
- page chrome: `page_header`, `empty_state`, `page_link`, `show_error` / `guard`, `panel` (a section
  drawn only when a model declares a capability), `job_monitor` (live progress of background jobs);
- safe output: `token_html` escapes every token before colouring it, `md_escape` makes a label literal in
  st.markdown / captions, `csv_download` defuses spreadsheet formulas (`csv_safe`);
- settings forms: `param_fields` / `param_widget` (Train and Compression pages).

Pages import `ui` (and streamlit / pandas / numpy) only; what they need from core is reached through
here (`ui.plots`, `ui.families()`, `ui.resolve_params`, ...), so core's API can move without touching pages.

Caches are keyed by the artifact's manifest mtime as well as its name, so a re-trained model with the
same name is never served stale.
"""
from __future__ import annotations

import hashlib
import html
import json
import math
import os
import re
import threading
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import streamlit as st
from streamlit.errors import StreamlitAPIException

from core import artifacts, config, data, jobs, plots  # noqa: F401 - `plots` is re-exported: pages use ui.plots
from core.base import CapabilityError, TextClassifier
from core.params import Param, ParamError, resolve
from core.safety import MAX_TEXT_CHARS, clean_text, clean_texts  # noqa: F401 - re-exported for pages

#: Page files, for links (relative to the app's main script, app.py).
PAGE_OVERVIEW = "pages/overview.py"
PAGE_DATASET = "pages/dataset.py"
PAGE_TRAIN = "pages/train.py"
PAGE_PREDICT = "pages/predict.py"
PAGE_ERRORS = "pages/errors.py"
PAGE_COMPARE = "pages/compare.py"
PAGE_EMBEDDINGS = "pages/embeddings.py"
PAGE_EXPLAIN = "pages/explain.py"

#: Errors whose message is meant for the user: shown as a plain st.error, no traceback.
KNOWN_ERRORS: tuple[type[BaseException], ...] = (
    ValueError, ParamError, CapabilityError, artifacts.ArtifactError, FileNotFoundError,
)


# ----------------------------------------------------------------------------------------------------------
# Page chrome
# ----------------------------------------------------------------------------------------------------------

def _through_navigation() -> None:
    """Make sure this run went through app.py's st.navigation.

    Streamlit decides once per server process whether the app uses the old `pages/` folder mode: until some
    run calls st.navigation it assumes so. When the first request after a (re)start is a deep link such as
    /predict, it runs pages/predict.py on its own — file-name menu, narrow layout, no app.py — and stays in
    that mode until someone opens /. Turning the flag off and rerunning sends this run through app.py.
    """
    try:
        from streamlit.runtime.pages_manager import PagesManager
    except ImportError:  # a Streamlit without the old mode
        return
    if getattr(PagesManager, "uses_pages_directory", None):
        PagesManager.uses_pages_directory = False
        st.rerun()


def page_header(title: str, help: str) -> None:
    """The page title and a one-line caption saying what the page shows."""
    _through_navigation()
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


def fmt(value: Any, digits: int = 3) -> str:
    """A metric for display: floats rounded, None as an en dash."""
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return "–"
    if isinstance(value, float):
        return f"{value:.{digits}f}"
    return str(value)


#: First characters that make a spreadsheet read a cell as a formula (OWASP "CSV injection").
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
_PLAIN_NUMBER = re.compile(r"[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?")


def csv_cell(value: Any) -> Any:
    """One CSV cell made inert for spreadsheets: a text starting with = + - @ TAB or CR gets a leading "'"
    (OWASP advice); numbers, and texts that are just a number such as "-0.5", are left as they are."""
    if isinstance(value, str) and value.startswith(FORMULA_START) and not _PLAIN_NUMBER.fullmatch(value):
        return "'" + value
    return value


def csv_safe(df: pd.DataFrame) -> pd.DataFrame:
    """A copy of `df` whose text cells and column names went through `csv_cell` (numeric columns untouched)."""
    out = df.copy()
    out.columns = [csv_cell(c) for c in out.columns]
    for i in range(out.shape[1]):
        col = out.iloc[:, i]
        if not (pd.api.types.is_numeric_dtype(col) or pd.api.types.is_datetime64_any_dtype(col)):
            out.isetitem(i, col.astype(object).map(csv_cell))
    return out


def csv_bytes(df: pd.DataFrame) -> bytes:
    """`df` as UTF-8 CSV (no index) after `csv_safe`: what every CSV download of the dashboard serves."""
    return csv_safe(df).to_csv(index=False).encode("utf-8")


def csv_download(df: pd.DataFrame, file_name: str, label: str = "Download CSV", key: str | None = None) -> None:
    """A download button for a table (UTF-8 CSV, no index, formula-like text cells defused by `csv_safe`)."""
    st.download_button(label, csv_bytes(df), file_name=file_name, mime="text/csv", icon=":material/download:",
                       key=key)


#: Characters with a meaning in Streamlit markdown (CommonMark punctuation, "$" for LaTeX, ":" for emoji /
#: colour directives, "<" ">" "&" for HTML), each backslash-escaped by `md_escape`.
_MD_SPECIAL = re.compile(r"([\\`*_{}\[\]()#+\-.!|<>&~$:=^\"'])")


def md_escape(value: Any) -> str:
    """`value` as literal text inside st.markdown / st.caption / alerts: markdown, HTML and LaTeX characters
    are backslash-escaped and newlines become spaces, so a label such as "<b>x</b>*" shows as typed."""
    return _MD_SPECIAL.sub(r"\\\1", " ".join(str(value).splitlines()))


# ----------------------------------------------------------------------------------------------------------
# Safe HTML
# ----------------------------------------------------------------------------------------------------------

def token_html(tokens: Sequence[str], weights: Sequence[float], max_abs: float | None = None,
               positive: str | None = None, negative: str | None = None) -> str:
    """Tokens as HTML spans shaded by weight (blue > 0, red < 0: core.explain.render's colours, so pages and
    case files agree); every token is html.escape'd.

    weights: one float per token; max_abs scales the shading (default: the largest |weight|);
    positive / negative: "r,g,b" overrides.
    """
    from core.explain import render as _render

    positive = positive or ",".join(map(str, _render.POSITIVE))
    negative = negative or ",".join(map(str, _render.NEGATIVE))
    w = np.asarray(weights, dtype=float)
    scale = max_abs or (float(np.abs(w).max()) if len(w) else 1.0) or 1.0
    spans = []
    for tok, v in zip(tokens, w):
        alpha = min(abs(v) / scale, 1.0) * 0.8
        rgb = positive if v >= 0 else negative
        spans.append(
            f'<span title="{v:+.3f}" style="background: rgba({rgb},{alpha:.2f}); padding: 1px 3px; '
            f'margin: 1px; border-radius: 3px; display: inline-block">{html.escape(str(tok))}</span>'
        )
    return '<div style="line-height: 2.0">' + " ".join(spans) + "</div>"


def show_tokens(tokens: Sequence[str], weights: Sequence[float], max_abs: float | None = None) -> None:
    """Render `token_html` (escaped, so user text is safe with unsafe_allow_html)."""
    st.markdown(token_html(tokens, weights, max_abs), unsafe_allow_html=True)


# ----------------------------------------------------------------------------------------------------------
# Artifacts: lists, predictions, models
# ----------------------------------------------------------------------------------------------------------

def _stamp(name: str) -> str:
    """core.artifacts.stamp: folder + manifest mtime, part of every cache key for artifact `name`."""
    return artifacts.stamp(name)


@st.cache_data(ttl=3, show_spinner=False)
def _artifact_infos(root: str, dataset: str | None, include_broken: bool) -> list[artifacts.ArtifactInfo]:
    return artifacts.list_artifacts(dataset=dataset, include_broken=include_broken)


def artifact_infos(dataset: str | None = None, include_broken: bool = False) -> list[artifacts.ArtifactInfo]:
    """Artifacts, newest first (cached for 3 s so several widgets on one page share one directory scan)."""
    return _artifact_infos(str(config.artifacts_dir()), dataset, include_broken)


def artifact_info(name: str) -> artifacts.ArtifactInfo | None:
    """The info of one working artifact from the cached list (None if unknown or broken)."""
    return next((i for i in artifact_infos() if i.name == name), None)


def refresh_artifacts() -> None:
    """Forget cached artifact lists (after training, deleting, ...)."""
    _artifact_infos.clear()


def capabilities(name: str) -> frozenset[str]:
    """Capabilities model `name` declares in its manifest (no model load needed)."""
    info = artifact_info(name)
    return frozenset(info.manifest.get("capabilities", ())) if info else frozenset()


def has_capability(name: str, capability: str) -> bool:
    return capability in capabilities(name)


def panel(name: str, capability: str, title: str, help: str = "") -> bool:
    """Start a section only if model `name` declares `capability`; returns whether it was drawn.

        if ui.panel(model, "attention", "Attention", "which words each layer looks at"):
            ...draw it...
    Models without the capability get nothing (no fake or empty chart).
    """
    if not has_capability(name, capability):
        return False
    st.subheader(title)
    if help:
        st.caption(help)
    return True


@st.cache_data(max_entries=16, show_spinner="Loading test predictions…")
def _predictions(name: str, stamp: str) -> artifacts.Predictions:
    return artifacts.load_predictions(name)


def load_predictions(name: str) -> artifacts.Predictions:
    """Stored test-set predictions of `name` (never re-runs inference)."""
    return _predictions(name, _stamp(name))


@dataclass
class _Loaded:
    model: TextClassifier
    lock: threading.Lock


@st.cache_resource(max_entries=6, show_spinner="Loading model…")
def _model(name: str, stamp: str) -> _Loaded:
    # One instance per artifact is shared by every browser session: torch / sklearn objects are not
    # guaranteed thread-safe (tokenizer state, eval-mode switches), hence the lock around each call.
    return _Loaded(artifacts.load_model(name), threading.Lock())


def load_model(name: str) -> TextClassifier:
    """The model of artifact `name`, loaded once per process. Call it through `predict_proba` / `locked_model`."""
    return _model(name, _stamp(name)).model


@contextmanager
def locked_model(name: str) -> Iterator[TextClassifier]:
    """`with ui.locked_model(name) as m: m.attention(text)` — exclusive use of the shared model."""
    loaded = _model(name, _stamp(name))
    with loaded.lock:
        yield loaded.model


def predict_proba(name: str, texts: Sequence[str]) -> np.ndarray:
    """(n, k) probabilities from model `name`, serialised per model across sessions.

    Texts go through core.safety.clean_texts first (cut to MAX_TEXT_CHARS, invalid characters removed), so
    one pasted book cannot hold the model's lock for long; pages show clean_text's notice themselves.
    """
    texts = clean_texts(texts)
    with locked_model(name) as model:
        return np.asarray(model.predict_proba(texts))


def delete_model(name: str, confirm: str) -> None:
    """Delete artifact `name` when `confirm` repeats its name exactly (ArtifactError otherwise); forgets
    every cached list, prediction table and loaded model of it."""
    artifacts.delete_artifact(name, confirm)
    refresh_artifacts()
    _predictions.clear()
    _model.clear()


def models_frame(infos: Sequence[artifacts.ArtifactInfo]) -> pd.DataFrame:
    """One row per working model: name, dataset, kind, accuracy, macro F1, size MB, created."""
    rows = []
    for i in infos:
        m = i.metrics or {}
        rows.append({
            "name": i.name, "dataset": i.dataset, "kind": i.kind,
            "accuracy": m.get("accuracy"), "f1_macro": m.get("f1_macro"), "size_mb": m.get("size_mb"),
            "created": i.created.replace("T", " ")[:19],
        })
    return pd.DataFrame(rows, columns=["name", "dataset", "kind", "accuracy", "f1_macro", "size_mb", "created"])


# ----------------------------------------------------------------------------------------------------------
# Datasets
# ----------------------------------------------------------------------------------------------------------

@st.cache_data(ttl=30, show_spinner=False)
def _dataset_list(user_dir: str, search_path: str) -> list[dict[str, Any]]:
    return data.list_datasets()


def dataset_list() -> list[dict[str, Any]]:
    """core.data.list_datasets(): name, title, task, language, available, where, rows, description."""
    return _dataset_list(str(config.user_data_dir()), str(config.data_search_path()))


@st.cache_resource(max_entries=4, show_spinner="Loading dataset…")
def load_dataset(name: str, max_train: int | None = None):
    """A TextDataset, loaded once per process (treat it as read-only)."""
    return data.load_dataset(name, max_train=max_train)


def _dataset_stamp(name: str) -> str:
    """Hash of the dataset's folder listing (file names, sizes, mtimes): changes when its files change."""
    row = next((d for d in dataset_list() if d["name"] == name), None)
    where = (row or {}).get("where")
    parts = [name, str(where)]
    if where and Path(where).is_dir():
        for f in sorted(Path(where).rglob("*")):
            if f.is_file():
                st_ = f.stat()
                parts.append(f"{f.relative_to(where)}:{st_.st_size}:{st_.st_mtime_ns}")
    return hashlib.sha256("\n".join(parts).encode()).hexdigest()[:16]


@st.cache_data(max_entries=8, show_spinner="Computing dataset statistics (first time only; large datasets take "
                                            "up to a minute)…")
def _describe(name: str, stamp: str) -> dict[str, Any]:
    # describe() tokenizes every text (tens of seconds for AG News on this machine), so the JSON result is
    # also kept on disk under cache_dir(), keyed by the dataset files' stamp: it survives server restarts.
    path = config.cache_dir() / "describe" / f"{re.sub(r'[^A-Za-z0-9_-]+', '_', name)}-{stamp}.json"
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):
        pass
    stats = data.describe(load_dataset(name))
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(f".tmp{os.getpid()}")
    tmp.write_text(json.dumps(stats, default=str))
    os.replace(tmp, path)
    return stats


def describe_dataset(name: str) -> dict[str, Any]:
    """core.data.describe() of a dataset, cached in memory and on disk until the dataset's files change."""
    return _describe(name, _dataset_stamp(name))


def upload_limit_mb() -> int:
    """Largest accepted upload in MB: server.maxUploadSize (.streamlit/config.toml); the browser and the
    server both refuse bigger files, so pages state it next to the uploader."""
    try:
        return int(st.get_option("server.maxUploadSize"))
    except Exception:  # noqa: BLE001 - option missing in a very old / new streamlit: its default
        return 200


@st.cache_data(max_entries=2, show_spinner="Reading the file…")
def read_upload(content: bytes, filename: str) -> pd.DataFrame:
    """core.data.read_table of an uploaded file (cached on its bytes, so reruns do not re-parse it)."""
    return data.read_table(content, filename)


def save_upload(frame: pd.DataFrame, name: str, **frame_kwargs: Any) -> str:
    """Persist a user table as dataset "upload:<name>" (core.data.save_upload) and refresh the pickers."""
    saved = data.save_upload(frame, name, **frame_kwargs)
    refresh_datasets()
    st.session_state["_shared_dataset"] = saved  # pickers on every page now default to it
    return saved


def refresh_datasets() -> None:
    """Forget cached dataset lists and statistics (after an upload is saved)."""
    _dataset_list.clear()
    _describe.clear()
    load_dataset.clear()


# ----------------------------------------------------------------------------------------------------------
# Pickers
# ----------------------------------------------------------------------------------------------------------

def _remembered_select(label: str, options: list[str], key: str, shared: str, format_func=str,
                       help: str | None = None, query: str | None = None) -> str | None:
    """A selectbox whose choice is remembered across pages in session_state[`shared`].

    Widget state is dropped when the user changes page, so the widget is re-seeded from `shared`;
    `query` names a URL query parameter (set by links such as "open in Predict") that wins once.
    """
    if not options:
        return None
    wanted = st.query_params.get(query) if query else None
    if wanted and wanted in options and st.session_state.get(f"_applied_{query}") != wanted:
        st.session_state[key] = wanted
        st.session_state[f"_applied_{query}"] = wanted
    if st.session_state.get(key) not in options:
        remembered = st.session_state.get(shared)
        st.session_state[key] = remembered if remembered in options else options[0]
    value = st.selectbox(label, options, key=key, format_func=format_func, help=help)
    st.session_state[shared] = value
    return value


def _dataset_title(rows: list[dict[str, Any]]) -> dict[str, str]:
    out = {}
    for r in rows:
        task = "multi-label" if r.get("task") == "multilabel" else "multi-class"
        out[r["name"]] = f"{r.get('title') or r['name']} ({r['name']}, {task}, {r.get('language', '?')})"
    return out


def pick_dataset(key: str = "dataset", label: str = "Dataset", help: str | None = None) -> str | None:
    """Choose an available dataset (built-in or uploaded); None with an explanation if none is available."""
    rows = dataset_list()
    names = [r["name"] for r in rows if r.get("available", True)]
    if not names:
        empty_state("No dataset is available: the built-in datasets were not found on the data search path. "
                    "Upload your own file.", PAGE_DATASET, "Upload a dataset", ":material/upload:")
        return None
    titles = _dataset_title(rows)
    return _remembered_select(label, names, key, "_shared_dataset", format_func=lambda n: titles.get(n, n),
                              help=help, query="dataset")


def _model_label(info: artifacts.ArtifactInfo) -> str:
    m = info.metrics or {}
    acc = m.get("accuracy")
    return f"{info.name} · {info.kind} · {info.dataset}" + (f" · acc {acc:.3f}" if isinstance(acc, float) else "")


def pick_model(dataset: str | None = None, key: str = "model", require: str | None = None,
               label: str = "Model", help: str | None = None) -> str | None:
    """Choose a working trained model (optionally on `dataset`, declaring capability `require`).

    Draws an empty state with a link to Train and returns None when there is none.
    """
    infos = [i for i in artifact_infos(dataset) if i.ok]
    if require:
        infos = [i for i in infos if require in i.manifest.get("capabilities", ())]
    if not infos:
        where = f" on {dataset}" if dataset else ""
        need = f" that supports “{require}”" if require else ""
        empty_state(f"No model{need} trained{where} yet — train one.")
        return None
    by_name = {i.name: i for i in infos}
    return _remembered_select(label, list(by_name), key, "_shared_model",
                              format_func=lambda n: _model_label(by_name[n]), help=help, query="model")


def pick_models(dataset: str | None = None, key: str = "models", label: str = "Models",
                default_n: int = 3, require: str | None = None) -> list[str]:
    """Choose several working models (the newest `default_n` preselected)."""
    infos = [i for i in artifact_infos(dataset) if i.ok]
    if require:
        infos = [i for i in infos if require in i.manifest.get("capabilities", ())]
    names = [i.name for i in infos]
    if key in st.session_state:
        st.session_state[key] = [n for n in st.session_state[key] if n in names]
        return st.multiselect(label, names, key=key)
    return st.multiselect(label, names, default=names[:default_n], key=key)


# ----------------------------------------------------------------------------------------------------------
# Model families and their settings
# ----------------------------------------------------------------------------------------------------------

def families() -> tuple[dict[str, Any], dict[str, str]]:
    """Trainable family modules by kind (KIND, TITLE, DESCRIPTION, PARAMS), and kind -> reason for those
    that cannot be imported here (e.g. a missing optional dependency)."""
    from core.models import family, trainable_kinds

    ok, failed = {}, {}
    for kind in trainable_kinds():
        try:
            ok[kind] = family(kind)
        except Exception as exc:  # noqa: BLE001 - one broken family must not hide the others
            failed[kind] = f"{type(exc).__name__}: {exc}"
    return ok, failed


def resolve_params(params: Sequence[Param], values: dict[str, Any], kind: str | None = None) -> dict[str, Any]:
    """Defaults overlaid with `values`, coerced and range-checked (raises ParamError with the reason); with
    `kind`, the family's own cross-setting checks (`check_params`) run too, so a job never starts doomed."""
    resolved = resolve(list(params), values)
    if kind is not None:
        from core.models import family

        check = getattr(family(kind), "check_params", None)
        if check is not None:
            check(dict(resolved))
    return resolved


def param_widget(p: Param, key: str, options: dict[str, Sequence[str]] | None = None) -> Any:
    """One widget for one declared setting (Train and Compression pages): selectbox / multiselect for choices,
    checkbox for bools, number_input (with bounds) for numbers, text_input for lists and strings.

    options: setting name -> values to pick from (a multiselect), for settings whose choices are only known
    at run time, e.g. {"members": this dataset's models} for an ensemble.
    """
    label, help_, t = p.name.replace("_", " "), p.help or None, p.kind
    if options and p.name in options:
        return st.multiselect(label, list(options[p.name]), help=help_, key=key)
    if p.choices is not None and (p.multi or t is list):
        default = [c for c in (p.default or []) if c in p.choices]
        return st.multiselect(label, list(p.choices), default=default, help=help_, key=key)
    if p.choices is not None:
        opts = list(p.choices)
        return st.selectbox(label, opts, index=opts.index(p.default) if p.default in opts else 0,
                            format_func=lambda c: "none" if c is None else str(c), help=help_, key=key)
    if t is bool:
        return st.checkbox(label, value=bool(p.default), help=help_, key=key)
    if t is int or t is float:
        cast = int if t is int else float
        kwargs: dict[str, Any] = {"help": help_, "key": key}
        if p.min is not None:
            kwargs["min_value"] = cast(p.min)
        if p.max is not None:
            kwargs["max_value"] = cast(p.max)
        if t is float:
            kwargs["format"] = "%g"
            # a step of the default's order of magnitude: 1e-5 for a learning rate, 0.1 for dropout
            kwargs["step"] = 10.0 ** math.floor(math.log10(abs(p.default))) if p.default else 0.1
        return st.number_input(label, value=None if p.default is None else cast(p.default), **kwargs)
    if t is list:
        return st.text_input(label, value=", ".join(map(str, p.default or [])), key=key,
                             help=(help_ or "") + " (comma separated)")
    return st.text_input(label, value="" if p.default is None else str(p.default), help=help_, key=key)


def param_fields(params: Sequence[Param], key_prefix: str,
                 options: dict[str, Sequence[str]] | None = None) -> dict[str, Any]:
    """Widgets for `params` in two columns, advanced ones folded in an expander -> {name: widget value}.
    Widget keys are f"{key_prefix}-{name}". Call it inside an st.form so nothing runs until submit."""
    values: dict[str, Any] = {}
    basic = [p for p in params if not p.advanced]
    advanced = [p for p in params if p.advanced]
    cols = st.columns(2)
    for i, p in enumerate(basic):
        with cols[i % 2]:
            values[p.name] = param_widget(p, f"{key_prefix}-{p.name}", options)
    if advanced:
        with st.expander("Advanced settings"):
            acols = st.columns(2)
            for i, p in enumerate(advanced):
                with acols[i % 2]:
                    values[p.name] = param_widget(p, f"{key_prefix}-{p.name}", options)
    return values


# ----------------------------------------------------------------------------------------------------------
# Background jobs
# ----------------------------------------------------------------------------------------------------------

_ACTIVE = ("running", "starting")


def _job_title(job: dict[str, Any]) -> str:
    what = job.get("command", "train")
    if what == "zoo":
        return "Model zoo (quick)" if "--quick" in job.get("args", []) else "Model zoo (full)"
    name = f" → {job['name']}" if job.get("name") else ""
    return f"{what} {job.get('kind', '?')} on {job.get('dataset', '?')}{name}"


def _render_job(job: dict[str, Any], key: str) -> None:
    state = job.get("state", "?")
    title = _job_title(job)
    if state in _ACTIVE:
        done, total = float(job.get("done") or 0), float(job.get("total") or 0)
        frac = min(max(done / total, 0.0), 1.0) if total > 0 else 0.0
        message = job.get("message") or "starting…"
        if job.get("command") == "zoo":  # overall progress: models of the plan that exist, plus the current one
            names = _zoo_names(job)
            ready = sum(artifact_info(n) is not None for n in names)
            frac = min((ready + frac) / max(len(names), 1), 1.0)
            message = f"{ready} of {len(names)} models ready; now {message}"
        cols = st.columns([6, 1], vertical_alignment="center")
        cols[0].progress(frac, text=f"**{title}** — {message} ({frac:.0%})")
        if cols[1].button("Cancel", key=f"{key}-cancel-{job['id']}", icon=":material/cancel:"):
            jobs.cancel_job(job["id"])
            st.toast("Cancelling… the job stops at its next progress step.")
    elif state == "done" and job.get("command") == "zoo":
        names = _zoo_names(job)
        ready = sum(artifact_info(n) is not None for n in names)
        st.success(f"**{title}** finished: {ready} of {len(names)} demo models ready.", icon=":material/check_circle:")
        page_link(PAGE_COMPARE, "Compare them", ":material/leaderboard:")
    elif state == "done" and job.get("command") == "bench":
        st.success(f"**{title}** finished: the scorecard on the Compression page shows the new run.",
                   icon=":material/check_circle:")
    elif state == "done":
        art = job.get("artifact")
        info = artifact_info(art) if art else None
        m = (info.metrics if info else None) or {}
        st.success(f"**{title}** finished: model `{art}` — accuracy {fmt(m.get('accuracy'))}, "
                   f"macro F1 {fmt(m.get('f1_macro'))}, trained in {fmt(m.get('train_seconds'), 1)} s.",
                   icon=":material/check_circle:")
        if art:
            cols = st.columns(3)
            with cols[0]:
                page_link(PAGE_PREDICT, "Try it on Predict", ":material/edit_note:", {"model": art})
            with cols[1]:
                page_link(PAGE_ERRORS, "See its errors", ":material/grid_on:", {"model": art})
    elif state == "failed":
        st.error(f"**{title}** failed.", icon=":material/error:")
        if job.get("error"):
            st.code(str(job["error"])[-3000:], language=None)
    elif state == "cancelled":
        kept = "models finished before were kept" if job.get("command") == "zoo" else "nothing was saved"
        st.info(f"**{title}** was cancelled; {kept}.", icon=":material/cancel:")
    else:
        st.write(f"{title}: {state}")


def _render_jobs(all_jobs: list[dict[str, Any]], key: str, recent: int, max_age_s: float | None = None) -> None:
    running = [j for j in all_jobs if j.get("state") in _ACTIVE]
    finished = [j for j in all_jobs if j.get("state") not in _ACTIVE]
    if max_age_s is not None:
        now = time.time()
        finished = [j for j in finished if now - float(j.get("updated") or j.get("started") or 0) <= max_age_s]
    finished = finished[:recent]
    for job in running + finished:
        _render_job(job, key)
    if finished and st.button("Clear finished jobs", key=f"{key}-clear", type="tertiary"):
        jobs.clear_finished()
        st.rerun()


@st.fragment(run_every=1.0)
def _live_jobs(key: str, recent: int, max_age_s: float | None) -> None:
    # Re-run only this fragment every second while a job runs; once none is left, rerun the whole page
    # so tables listing models pick up the new artifact and the polling stops.
    all_jobs = jobs.list_jobs(limit=20)
    _render_jobs(all_jobs, key, recent, max_age_s)
    if not any(j.get("state") in _ACTIVE for j in all_jobs):
        refresh_artifacts()
        st.rerun()


def job_monitor(key: str = "jobs", recent: int = 3, max_age_s: float | None = None) -> bool:
    """Progress bars (with Cancel) of running background jobs and the outcome of the `recent` last
    finished ones (only those finished within `max_age_s` seconds, if given). Refreshes itself every
    second while a job runs. Returns whether any job is running."""
    all_jobs = jobs.list_jobs(limit=20)
    running = any(j.get("state") in _ACTIVE for j in all_jobs)
    if running:
        _live_jobs(key, recent, max_age_s)
    else:
        _render_jobs(all_jobs, key, recent, max_age_s)
    return running


def jobs_running() -> bool:
    """Whether any background job (training, compression, zoo) is running or starting."""
    return any(j.get("state") in _ACTIVE for j in jobs.list_jobs(limit=20))


def _zoo_names(job: dict[str, Any]) -> list[str]:
    """Artifact names a zoo job builds (core.zoo.plan of its command line)."""
    from core import zoo

    return [s.name for s in zoo.plan(quick="--quick" in job.get("args", []))]


def start_zoo(quick: bool) -> str | None:
    """Start `python -m core zoo [--quick]` in the background (errors shown, None if it could not start)."""
    try:
        job_id = jobs.start_job("ag_news", "zoo", command="zoo", extra_args=["--quick"] if quick else [])
    except Exception as exc:  # noqa: BLE001
        show_error(exc, "Could not start the model zoo")
        return None
    time.sleep(0.2)
    return job_id


def start_job(dataset: str, kind: str, params: dict[str, Any] | None = None, name: str | None = None,
              max_train: int | None = None) -> str | None:
    """Start a background training job (errors shown, None returned if it could not start)."""
    try:
        if name:  # fail here, visibly, rather than in the background job's log
            artifacts.check_name(name)
            if artifacts.artifact_dir(name).exists():
                raise artifacts.ArtifactError(f"a model named {name!r} already exists; pick another name")
        job_id = jobs.start_job(dataset, kind, params or {}, name, max_train=max_train)
    except Exception as exc:  # noqa: BLE001
        show_error(exc, "Could not start training")
        return None
    time.sleep(0.2)  # let the process write its first progress so the bar appears at once
    return job_id


# ----------------------------------------------------------------------------------------------------------
# Explanations: attention, SHAP / linear / integrated gradients, confusable words, label quality, embedding maps
# ----------------------------------------------------------------------------------------------------------
# core.explain modules import shap / captum / umap lazily; only the light ones are imported at the top of
# this section. Pages reach the figure builders as `ui.xplots` and the case-file renderer as `ui.render`.

from core import plots_explain as xplots  # noqa: E402,F401 - re-exported: pages use ui.xplots
from core.base import Attention  # noqa: E402
from core.explain import render  # noqa: E402,F401 - re-exported: pages build case files with ui.render
from core.explain.attribution import TokenAttribution  # noqa: E402

#: What the token / bar colours mean (the same sentence heads every case file).
COLOUR_LEGEND = render.LEGEND

#: Families whose models declare "embed" (the Embeddings page's empty state names them).
EMBED_FAMILIES = {"rnn": "RNN / GRU / LSTM", "scratch_transformer": "from-scratch transformer",
                  "transformer": "pretrained encoder (MiniLM, BERT…)"}
#: Texts of the test split embedded for a map (a stratified sample above this).
EMBED_CAP = 3000  # same as core.explain.embedding_cache.EMBED_CAP (the zoo warms caches with that cap)


@st.cache_data(max_entries=256, show_spinner=False)
def _proba_one(name: str, stamp: str, text: str) -> np.ndarray:
    return predict_proba(name, [text])[0]


def predict_one(name: str, text: str) -> np.ndarray:
    """(k,) probabilities of one text, cached per (model version, text): reruns that only change a picker
    (layer, head, class, method) skip the forward pass."""
    return _proba_one(name, _stamp(name), clean_text(text)[0])


def _model_id(name: str) -> str:
    """Identity of an artifact version for core caches (SHAP's disk cache): name + manifest mtime."""
    return f"{name}@{_stamp(name).rsplit('@', 1)[-1]}"


# ---------------------------------------------------------------------------------------------- attention

@st.cache_data(max_entries=32, show_spinner=False)
def _attention(name: str, stamp: str, text: str) -> Attention:
    with locked_model(name) as model:
        return model.attention(text)


def attention_of(name: str, text: str) -> Attention:
    """model.attention(text) of artifact `name` (cached per text): weights (L, H, T, T) or (T,) pooling."""
    return _attention(name, _stamp(name), clean_text(text)[0])


def _merged(att: Attention) -> tuple[list[str], np.ndarray]:
    """Display tokens and weights on one axis; word pieces ("##x", "▁x") merged into words (rows still sum to 1)."""
    from core.explain.attention import merge_pieces

    w = np.asarray(att.weights, dtype=np.float64)
    if att.pieces and len(att.pieces) == w.shape[-1] and len(att.tokens) != w.shape[-1]:
        return merge_pieces(att.pieces, w)
    return merge_pieces(list(att.tokens), w)  # a no-op for words; merges a scratch BPE tokenizer's pieces


def attention_matrix(att: Attention, layer: int | None = None, head: int | None = None,
                     rollout: bool = False) -> tuple[list[str], np.ndarray]:
    """(tokens, (T, T) matrix) of self-attention: one layer (None = mean of layers) and head (None = head
    average), or the rollout up to `layer` (None = all layers). Rows = attending token, sum to 1."""
    from core.explain import attention as A

    tokens, w = _merged(att)
    return tokens, (A.rollout(w, head=head, upto=layer) if rollout else A.select(w, layer=layer, head=head))


# cache_resource, not cache_data: a cache_data hit unpickles the figure (~50 ms for a 64 x 64 heatmap); the figure
# is only read by st.plotly_chart, so sharing one object between reruns and sessions is safe
@st.cache_resource(max_entries=64, show_spinner=False)
def _attention_view(name: str, stamp: str, text: str, layer: int | None, head: int | None, rollout: bool,
                    title: str) -> tuple[Any, list[str], np.ndarray]:
    tokens, matrix = attention_matrix(_attention(name, stamp, text), layer, head, rollout)
    return xplots.attention_heatmap(matrix, tokens, title=title), tokens, matrix[0]


def attention_view(name: str, text: str, layer: int | None, head: int | None, rollout: bool, title: str
                   ) -> tuple[Any, list[str], np.ndarray]:
    """(heatmap figure, tokens, first row of the matrix) of `attention_matrix` for model `name` and `text`,
    cached: building a 64 x 64 heatmap costs ~0.1 s on a busy CPU, and reruns (another class, another
    explanation method) should not pay it again."""
    return _attention_view(name, _stamp(name), clean_text(text)[0], layer, head, rollout, title)


@st.cache_resource(max_entries=64, show_spinner=False)
def _attention_summary(name: str, stamp: str, text: str) -> dict[str, tuple[list[str], np.ndarray]]:
    att = _attention(name, stamp, text)
    if att.kind == "pooling":
        return {"pooling weights": attention_scores(att)}
    return {"[CLS] attention (last layer)": attention_scores(att, method="cls"),
            "rollout": attention_scores(att, method="rollout")}


def attention_summary(name: str, text: str) -> dict[str, tuple[list[str], np.ndarray]]:
    """Per-word attention of `text` for agreement scores and case files, special tokens dropped (cached):
    {"pooling weights": ...} for pooling attention, else {"[CLS] attention (last layer)": ..., "rollout": ...}."""
    return _attention_summary(name, _stamp(name), clean_text(text)[0])


def attention_scores(att: Attention, layer: int | None = None, head: int | None = None, method: str = "cls",
                     hide_special: bool = True) -> tuple[list[str], np.ndarray]:
    """(tokens, (T,) scores): row 0 ([CLS]) of a layer ("cls"), of the rollout ("rollout"), attention received
    ("mean"); pooling weights for kind="pooling". Special tokens dropped by default (they soak up attention)."""
    from core.explain import attention as A

    tokens, w = _merged(att)
    merged = Attention(tokens=tokens, weights=w, kind=att.kind)
    tokens, scores = A.token_scores(merged, layer=layer, head=head, method=method)
    return drop_special(tokens, scores) if hide_special else (tokens, scores)


# ---------------------------------------------------------------------------------------------- attributions

@st.cache_resource(show_spinner="Preparing the SHAP explainer (one-off per server, up to half a minute)…")
def shap_warmup() -> float:
    """Compile shap's numba kernels once per process (core.explain.shap_text.warmup); returns its seconds."""
    from core.explain import shap_text

    return shap_text.warmup()


def shap_default_budget() -> int:
    """core.explain.shap_text.DEFAULT_MAX_EVALS: model evaluations of one partition-SHAP explanation."""
    from core.explain import shap_text

    return int(shap_text.DEFAULT_MAX_EVALS)


def ig_default_steps() -> int:
    from core.explain import gradients

    return int(gradients.DEFAULT_STEPS)


def explain_methods(name: str) -> dict[str, str]:
    """Attribution methods model `name` supports -> label; the first is the default
    ("linear" for models with "contributions", else "shap"; "ig" for models with "gradients")."""
    caps = capabilities(name)
    out = {}
    if "contributions" in caps:
        out["linear"] = "exact linear (coefficient × tf-idf)"
    out["shap"] = "SHAP (partition, through predict_proba)"
    if "gradients" in caps:
        out["ig"] = "integrated gradients"
    return out


@st.cache_data(max_entries=512, show_spinner=False)
def _explain(name: str, stamp: str, text: str, class_index: int, method: str, budget: int) -> TokenAttribution:
    from core.explain import gradients, shap_text

    if method == "linear":
        with locked_model(name) as model:
            return shap_text.explain(model, text, class_index, method="linear", model_id=_model_id(name))
    if method == "ig":
        with locked_model(name) as model:
            return gradients.integrated_gradients(model, text, class_index, n_steps=budget)
    if method != "shap":
        raise ValueError(f"unknown explanation method {method!r}")
    shap_warmup()
    # through predict_proba (one lock per batch of masked texts), so other sessions are not blocked for seconds
    return shap_text.explain(lambda texts: predict_proba(name, texts), text, class_index, max_evals=budget,
                             method="shap", model_id=_model_id(name))


def explain_text(name: str, text: str, class_index: int, method: str = "shap", budget: int | None = None
                 ) -> TokenAttribution:
    """Attribution of `text` towards class `class_index` by model `name` (cached in memory and, for SHAP, on disk).

    method "linear" (exact, models with "contributions"), "shap" (budget = max model evaluations, default
    shap_default_budget()) or "ig" (budget = integration steps, default ig_default_steps()).
    """
    if budget is None:
        budget = ig_default_steps() if method == "ig" else shap_default_budget()
    budget = 0 if method == "linear" else int(budget)
    return _explain(name, _stamp(name), clean_text(text)[0], int(class_index), method, budget)


def agreement(a: Any, b: Any, text: str) -> float:
    """Spearman rank agreement of two explanations of `text` over its words (TokenAttribution or (tokens,
    values)); magnitudes compared; NaN when undefined (fewer than 3 words, a constant side)."""
    from core.explain.agreement import rank_agreement

    return rank_agreement(a, b, clean_text(text)[0])


def show_attribution(attr: TokenAttribution, class_name: str, key: str, top: int = 15) -> None:
    """Coloured tokens (escaped) and a bar chart of the `top` tokens, in the dashboard's colours; the explainer's
    notice first, if any (e.g. SHAP explained only the first MAX_SHAP_WORDS words of a long text)."""
    notice = (attr.extra or {}).get("notice")
    if notice:
        st.info(md_escape(notice), icon=":material/info:")
    show_tokens(attr.tokens, attr.values)
    st.plotly_chart(attribution_bar(attr.tokens, attr.values, class_name, top=top), key=key)


def attribution_bar(tokens: Sequence[str], values, class_name: str, top: int = 15, title: str | None = None):
    """core.plots_explain.attribution_bar (escaped labels, repeated words kept apart) in the dashboard's colours
    (blue = towards the class, red = away, as in plots.contribution_bars and token_html)."""
    fig = xplots.attribution_bar(list(tokens), values, top=top, class_name=class_name,
                                 title=title or f"Words that pushed “{class_name}”")
    x = np.asarray(fig.data[0].x, dtype=float)
    fig.data[0].marker.color = [plots.POSITIVE if v >= 0 else plots.NEGATIVE for v in x]
    return fig


def mean_attribution(name: str, texts: Sequence[str], class_index: int, method: str, budget: int | None = None,
                     max_texts: int = 30) -> pd.DataFrame:
    """Mean attribution per word towards `class_index` over a seeded sample of at most `max_texts` texts
    (core.explain.confusable.mean_attribution), with a progress bar; each explanation is cached."""
    from core.explain.confusable import mean_attribution as mean_attr

    n = min(len(texts), max_texts)
    bar = st.progress(0.0, text=f"Explaining {n} texts…")
    done = [0]

    def fn(t: str) -> TokenAttribution:
        out = explain_text(name, t, class_index, method, budget)
        done[0] += 1
        bar.progress(min(done[0] / max(n, 1), 1.0), text=f"Explained {done[0]} of {n} texts")
        return out

    try:
        return mean_attr(list(texts), fn, max_texts=max_texts)
    finally:
        bar.empty()


# ---------------------------------------------------------------------------------------------- error analysis

@st.cache_data(max_entries=16, show_spinner="Scoring label quality…")
def _label_quality(name: str, stamp: str) -> pd.DataFrame:
    from core.explain.label_quality import label_quality as lq

    p = load_predictions(name)
    return lq(p.y_true, p.proba, multilabel=p.multilabel)


def label_quality(name: str) -> pd.DataFrame:
    """core.explain.label_quality on the stored test probabilities of `name`: one row per test text with
    quality, suspicion (= 1 - quality; high = the label is probably wrong), flag; attrs engine / note."""
    return _label_quality(name, _stamp(name))


@st.cache_data(max_entries=64, show_spinner="Finding confusable words…")
def _confusable(name: str, stamp: str, a: int, b: int, method: str, reference: str, top: int) -> pd.DataFrame:
    from core.explain.confusable import confusable_words as cw

    p = load_predictions(name)
    return cw(p.texts, p.y_true.astype(int), p.y_pred, a, b, method=method, reference=reference, top=top)


def confusable_words(name: str, a: int, b: int, method: str = "log_odds", reference: str = "a",
                     top: int = 20) -> pd.DataFrame:
    """Words over-represented in test texts of class `a` predicted as `b` (core.explain.confusable)."""
    return _confusable(name, _stamp(name), int(a), int(b), method, reference, int(top))


# ---------------------------------------------------------------------------------------------- embeddings

def embed_families() -> dict[str, str]:
    """kind -> title of the families whose models provide embeddings (titles from the registry when importable)."""
    ok, _ = families()
    return {k: getattr(ok.get(k), "TITLE", title) for k, title in EMBED_FAMILIES.items()}


def embed_sample(name: str, cap: int = EMBED_CAP) -> tuple[np.ndarray, np.ndarray]:
    """(indices (m,), embeddings (m, d)) of a seeded sample of at most `cap` test texts of `name`, stratified
    by true label. Cached on disk per artifact version by core.explain.embedding_cache (the zoo pre-computes its
    demo models'); a progress bar shows while computing."""
    from core.explain import embedding_cache

    def embed(batch):  # the shared model is locked per batch, so other sessions' predictions interleave
        with locked_model(name) as model:
            return model.embed(batch)

    bars = []  # created on the first progress call, i.e. only when the vectors are not on disk yet

    def show(done, total, message="", extra=None):
        if not bars:
            bars.append(st.progress(0.0, text=f"Embedding {total:,} test texts (first time only; cached on disk)…"))
        if done:
            bars[0].progress(done / max(total, 1), text=message)

    try:
        return embedding_cache.embed_sample(name, cap, embed=embed, preds=load_predictions(name), progress=show)
    finally:
        for bar in bars:
            bar.empty()


@st.cache_data(max_entries=16, show_spinner=False)
def _projection(name: str, stamp: str, method: str, n: int, _emb: np.ndarray):
    from core.explain.projection import project

    return project(_emb, method, cap=max(n, 1), artifact=name)


def projection(name: str, method: str, embeddings: np.ndarray):
    """core.explain.projection.project of `embeddings` (the rows embed_sample returned): a Projection whose
    `indices` are positions in `embeddings`. Cached in memory and on disk per artifact version."""
    with st.spinner(f"Projecting {len(embeddings):,} points with {method.upper()} (cached after the first time)…"):
        return _projection(name, _stamp(name), method, len(embeddings), embeddings)


def shared_projection(emb_a: np.ndarray, emb_b: np.ndarray, pred_a, pred_b):
    """core.explain.projection.shared_pca of two models' embeddings of the same texts (row i = text i)."""
    from core.explain.projection import shared_pca

    return shared_pca(emb_a, emb_b, pred_a=pred_a, pred_b=pred_b, cap=max(len(emb_a), 1))


def pick_other_model(exclude: str, key: str, label: str = "Second model", require: str | None = None,
                     dataset: str | None = None) -> str | None:
    """A second model (not `exclude`), not shared with the other pages' pickers; models of `dataset` first."""
    infos = [i for i in artifact_infos() if i.ok and i.name != exclude]
    if require:
        infos = [i for i in infos if require in i.manifest.get("capabilities", ())]
    if dataset:
        infos = [i for i in infos if i.dataset == dataset] + [i for i in infos if i.dataset != dataset]
    if not infos:
        st.info("No other model to compare with" + (f" (one that supports “{require}”)" if require else "") + ".",
                icon=":material/info:")
        return None
    by_name = {i.name: i for i in infos}
    if st.session_state.get(key) not in by_name:
        st.session_state.pop(key, None)
    return st.selectbox(label, list(by_name), key=key, format_func=lambda n: _model_label(by_name[n]))


# ---------------------------------------------------------------------------------------------- case files

def case_file_button(build, file_name: str, key: str, label: str = "Download case file (HTML)") -> None:
    """A download button for a self-contained HTML report; `build() -> str` (render.case_file_html) runs only
    when the button is clicked, so pages do not inline plotly.js (~4 MB) on every rerun."""
    st.download_button(label, data=lambda: build().encode("utf-8"), file_name=re.sub(r"[^\w.-]+", "_", file_name),
                       mime="text/html", key=key, on_click="ignore", icon=":material/description:",
                       help="A single HTML file (text, prediction, explanations, charts) that opens offline — "
                            "for a meeting or a bug report.")


def drop_special(tokens: Sequence[str], scores) -> tuple[list[str], np.ndarray]:
    """Remove [CLS] / [SEP] / <s> / <cls> … positions (core.explain.attribution.SPECIAL_TOKENS) from a per-token
    view."""
    from core.explain.attention import drop_special as drop

    return drop(list(tokens), np.asarray(scores))


# ----------------------------------------------------------------------------------------------------------
# Compression: benchmark runs, variant builds, changed predictions; training histories (curves page)
# ----------------------------------------------------------------------------------------------------------

PAGE_COMPRESSION = "pages/compression.py"
PAGE_CURVES = "pages/curves.py"


def _bench_stamp() -> str:
    """Names and mtimes of the saved benchmark runs: changes whenever a run is written or removed."""
    from core import bench

    return "|".join(f"{p.name}:{p.stat().st_mtime_ns}" for p in bench.list_runs()[:200])


@st.cache_data(max_entries=4, show_spinner=False)
def _bench_runs(bench_dir: str, stamp: str) -> list[dict[str, Any]]:
    from core import bench

    out = []
    for path in bench.list_runs()[:200]:
        try:
            df, machine = bench.load_run(path)
        except (OSError, ValueError, KeyError):  # a half-written or foreign file: skip it
            continue
        settings = machine.get("settings") or {}
        out.append({"path": str(path), "rows": df, "machine": machine, "models": list(df["model"]),
                    "reference": settings.get("reference") or (df["model"].iloc[0] if len(df) else None),
                    "created": settings.get("created") or path.stem})
    return out


def bench_runs() -> list[dict[str, Any]]:
    """Saved benchmark runs (core.bench), newest first: {path, rows (DataFrame, core.bench.COLUMNS), machine,
    models, reference, created}. Cached until a run is added."""
    from core import bench

    return _bench_runs(str(bench.bench_dir()), _bench_stamp())


def machine_summary(machine: dict[str, Any]) -> str:
    """core.machine.summary: one line with CPU, cores, threads used, RAM, OS, Python, torch."""
    from core.machine import summary

    return summary(machine)


def start_bench(names: Sequence[str], reference: str, dataset: str, repeats: int = 30, n_texts: int = 200,
                threads: int | None = None) -> str | None:
    """Start `python -m core bench NAMES --reference REF ...` in the background (errors shown; None if it could
    not start). The run is saved under cache_dir()/bench and appears in bench_runs() when done."""
    models = list(dict.fromkeys([reference, *names]))
    args = [*models, "--reference", reference, "--repeats", str(int(repeats)), "--n-texts", str(int(n_texts))]
    if threads:
        args += ["--threads", str(int(threads))]
    try:
        job_id = jobs.start_job(dataset, f"{len(models)} models", command="bench", extra_args=args)
    except Exception as exc:  # noqa: BLE001
        show_error(exc, "Could not start the benchmark")
        return None
    time.sleep(0.2)
    return job_id


def compress_methods() -> dict[str, Any]:
    """core.compress.methods(): name -> Method (title, description, params, open_settings)."""
    from core.compress import methods

    return methods()


def start_compress(teacher: str, method: str, settings: dict[str, Any] | None = None,
                   name: str | None = None) -> str | None:
    """Validate the settings, then start `python -m core compress --teacher T --method M ...` in the background
    (errors shown; None if it could not start)."""
    from core.compress import resolve_settings

    try:
        if name:
            artifacts.check_name(name)
            if artifacts.artifact_dir(name).exists():
                raise artifacts.ArtifactError(f"a model named {name!r} already exists; pick another name")
        resolve_settings(method, settings)
        info = artifacts.get_artifact(teacher)
        job_id = jobs.start_job(info.dataset, method, settings or {}, name=name, command="compress",
                                extra_args=["--teacher", teacher, "--method", method])
    except Exception as exc:  # noqa: BLE001
        show_error(exc, "Could not start the compression")
        return None
    time.sleep(0.2)
    return job_id


@st.cache_data(max_entries=16, show_spinner="Comparing predictions…")
def _changed(name: str, reference: str, stamp: str) -> pd.DataFrame:
    from core.bench import changed_predictions as changed

    return changed(name, reference)


def changed_predictions(name: str, reference: str) -> pd.DataFrame:
    """core.bench.changed_predictions from the stored test predictions: text, true, reference,
    reference_confidence, variant, variant_confidence (one row per test example whose prediction changed)."""
    return _changed(name, reference, _stamp(name) + "|" + _stamp(reference))


def per_class_delta(reference_metrics: dict[str, Any], metrics: dict[str, Any]) -> pd.DataFrame:
    """core.evaluate.per_class_delta (A = reference, B = variant): label, support, recall_a / _b (= per-class
    accuracy), delta_recall, precision and F1 likewise."""
    from core.evaluate import per_class_delta as delta

    return pd.DataFrame(delta(reference_metrics or {}, metrics or {}))


def training_history(name: str) -> dict[str, Any]:
    """The training history a torch family stored (metrics.json -> train_info -> history; {} if none):
    train_loss [[step, loss]], evals [{step, accuracy, f1_macro, val_loss, ...}], grad_flow, best_step, ..."""
    info = artifact_info(name)
    return (((info.metrics if info else None) or {}).get("train_info") or {}).get("history") or {}


def run_results(names: Sequence[str]) -> pd.DataFrame:
    """core.experiments.result_row per artifact (variant = artifact name): accuracy, F1, seconds per epoch,
    epochs run, train time, early stop, parameters; `changes` = the settings that differ between these runs."""
    from core.experiments import COLUMNS, result_row

    found = [i for i in (artifact_info(n) for n in names) if i is not None]
    configs = [dict(i.manifest.get("config") or {}) for i in found]
    keys = sorted({k for c in configs for k in c})
    differ = [k for k in keys if len({json.dumps(c.get(k), sort_keys=True, default=str) for c in configs}) > 1]
    rows = [result_row(i.name, i.kind, i.name, i.metrics or {}, {k: c.get(k) for k in differ})
            for i, c in zip(found, configs)]
    return pd.DataFrame(rows, columns=COLUMNS)


def aggregate_attributions(texts: Sequence[str], attributions: dict[str, TokenAttribution]) -> pd.DataFrame:
    """Mean attribution per word over `texts` whose explanations are already computed (`attributions[text]`):
    core.explain.confusable.mean_attribution -> word, mean_value, count, n_texts (largest mean first)."""
    from core.explain.confusable import mean_attribution as mean_attr

    return mean_attr(list(texts), attributions.__getitem__, max_texts=max(len(texts), 1))
