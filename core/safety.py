"""Input hygiene shared by the CLI, the pages and the load test: text limits and cleaning.

Every model family accepts any string (tests/test_bad_input.py feeds each one 100,000 characters, emoji,
right-to-left scripts and HTML), so nothing here is needed for correctness; it bounds the work one
request can cause and removes the few code points that make tokenizers raise:

- lone UTF-16 surrogates ("\\ud800"): HF `tokenizers` refuses them with a TypeError;
- NUL and other C0 control characters (except tab / newline / carriage return): invisible, and some
  terminals and CSV writers choke on them.

Text is never HTML-escaped here: it is data. Rendering escapes it (ui.token_html, core.explain.render).
"""
from __future__ import annotations

import re
from collections.abc import Sequence

#: Longest text a page sends to a model (characters); longer texts are cut with a notice. 20,000 characters
#: is ~40 pages of prose, far beyond any model's max_length (at most 512 tokens ~ 2,500 characters), so the
#: cut never changes a transformer's prediction; TF-IDF sees the first 20,000 characters only.
MAX_TEXT_CHARS: int = 20_000

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
