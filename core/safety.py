"""Input hygiene shared by the CLI, the pages and the load test: text limits and cleaning.

Every model family accepts any string (tests/test_bad_input.py feeds each one 150,000 characters, emoji,
right-to-left scripts and HTML), so nothing here is needed for correctness; it bounds the work one
request can cause and removes the few code points that make tokenizers raise:

- lone UTF-16 surrogates ("\\ud800"): HF `tokenizers` refuses them with a TypeError;
- NUL and other C0 control characters (except tab / newline / carriage return): invisible, and some
  terminals and CSV writers choke on them.

Text is never HTML-escaped here: it is data. Rendering escapes it (core.explain.render). What is here for output
is plain-text escaping: `md_escape` (a label shown literally in markdown), `csv_cell` / `csv_safe` / `csv_bytes`
(spreadsheet formulas defused in CSV downloads) and `fmt` (a metric for display).
"""
from __future__ import annotations

import math
import re
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # annotations only: pandas loads lazily (the CLI's text paths never need it)
    import pandas as pd

#: Longest text a page sends to a model (characters); longer texts are cut with a notice. Encoder models read
#: long texts whole in sliding windows (core/models/chunking.py), so the limit has to cover a long article
#: (the 25,000-character news texts of issue 12) with room to spare: 100,000 characters is ~17,000 words,
#: ~50 windows of 512 word pieces, which still bounds one request's work (TF-IDF scores it in milliseconds;
#: SHAP explains at most its first 300 words, core/explain/shap_text.py).
MAX_TEXT_CHARS: int = 100_000

_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_SURROGATE = re.compile(r"[\ud800-\udfff]")


def clean_text(text: object, limit: int = MAX_TEXT_CHARS) -> tuple[str, str | None]:
    """(text safe to give any model, notice for the user or None).

    `None` becomes ""; other non-strings go through str(). Lone surrogates become U+FFFD, control characters
    are dropped, and the result is cut to `limit` characters (the notice then says so).
    """
    s = "" if text is None else text if isinstance(text, str) else str(text)
    notices = []
    if len(s) > limit:
        notices.append(f"The text has {len(s):,} characters; only the first {limit:,} are used.")
        s = s[:limit]
    if _SURROGATE.search(s):
        s = _SURROGATE.sub("\ufffd", s)
        notices.append("Invalid characters (lone UTF-16 surrogates) were replaced by �.")
    if _CONTROL.search(s):
        s = _CONTROL.sub("", s)
    return s, (" ".join(notices) or None)


def clean_texts(texts: Sequence[object], limit: int = MAX_TEXT_CHARS) -> list[str]:
    """`clean_text` of every text (notices dropped): what batch paths such as ui.predict_proba use."""
    return [clean_text(t, limit)[0] for t in texts]


def is_blank(text: object) -> bool:
    """True for None, "" and whitespace-only text (nothing for a model to read)."""
    return text is None or not str(text).strip()


# ---------------------------------------------------------------------------------------------- output

def fmt(value: Any, digits: int = 3) -> str:
    """A metric for display: floats rounded to `digits`, None / NaN as an en dash, anything else via str()."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
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
    import pandas as pd

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


#: Characters with a meaning in Streamlit markdown (CommonMark punctuation, "$" for LaTeX, ":" for emoji /
#: colour directives, "<" ">" "&" for HTML), each backslash-escaped by `md_escape`.
_MD_SPECIAL = re.compile(r"([\\`*_{}\[\]()#+\-.!|<>&~$:=^\"'])")


def md_escape(value: Any) -> str:
    """`value` as literal text inside st.markdown / st.caption / alerts: markdown, HTML and LaTeX characters
    are backslash-escaped and newlines become spaces, so a label such as "<b>x</b>*" shows as typed."""
    return _MD_SPECIAL.sub(r"\\\1", " ".join(str(value).splitlines()))
