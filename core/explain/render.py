"""HTML rendering: coloured tokens and the self-contained "case file" report.

Every user-supplied string (texts, tokens, labels, titles, table cells) goes through `html.escape`;
only markup this module built itself is marked `Safe` and inserted as is. Plotly figures are embedded
with their JSON (plotly escapes "<" there) and the plotly.js bundle inlined once, so the file opens offline.
"""
from __future__ import annotations

import html
from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np

from .attribution import TokenAttribution, align_to_words, word_spans

# The dashboard's convention everywhere (core.plots.POSITIVE / NEGATIVE, tokens_html): blue = towards the class.
POSITIVE = (47, 111, 176)  # blue "#2f6fb0": pushes towards the class
NEGATIVE = (192, 80, 77)   # red "#c0504d": pushes away from it
#: What the colours mean, shown on the pages and at the top of every case file.
LEGEND = ("Blue words pushed the text towards the class, red words pushed it away; the stronger the colour, the "
          "larger the effect. Attention and pooling weights (never negative) are blue only: stronger = more weight.")

CSS = """
body{font-family:-apple-system,Segoe UI,Helvetica,Arial,sans-serif;max-width:1100px;margin:2em auto;padding:0 1em;
color:#222;line-height:1.5}
h1{font-size:1.6em;border-bottom:2px solid #ddd;padding-bottom:.3em}h2{font-size:1.25em;margin-top:1.6em}
.tokens{line-height:2.1;font-size:1.05em}.tok{padding:1px 3px;border-radius:3px;white-space:pre-wrap}
.text{white-space:pre-wrap;background:#f7f7f7;padding:.6em;border-radius:4px}
table{border-collapse:collapse;font-size:.9em}td,th{border:1px solid #ddd;padding:3px 8px;text-align:left}
th{background:#f0f0f0}.legend{font-size:.85em;color:#555}.meta{color:#666;font-size:.85em}
"""


class Safe(str):
    """HTML built by this module (already escaped); inserted without escaping."""


def esc(value: Any) -> str:
    """Escape anything for HTML text and attribute values."""
    return value if isinstance(value, Safe) else html.escape(str(value), quote=True)


def colour(value: float, max_abs: float) -> str:
    """Diverging background colour: blue for positive, red for negative, opacity by |value| / max_abs."""
    if not np.isfinite(value) or max_abs <= 0:
        return "rgba(0,0,0,0)"
    r, g, b = POSITIVE if value >= 0 else NEGATIVE
    alpha = min(abs(value) / max_abs, 1.0) * 0.85
    return f"rgba({r},{g},{b},{alpha:.3f})"


#: Inline styles of `tokens_html(inline=True)`: the `.tokens` / `.tok` rules of CSS, for pages without that CSS.
INLINE_STYLE = {"tokens": "line-height:2.1", "tok": "padding:1px 3px;margin:1px;border-radius:3px;display:inline-block"}


def tokens_html(tokens: Sequence[str], values, *, max_abs: float | None = None, fmt: str = "{:+.4f}",
                inline: bool = False) -> Safe:
    """Tokens as coloured spans (tooltip = the value), separated by spaces; every token is escaped.

    max_abs: the value mapped to full colour (default: the largest |value|), pass one shared value to make
    several texts comparable. inline: carry the layout as style attributes (the dashboard's st.markdown has no
    case-file CSS) instead of the classes `.tokens` / `.tok`.
    """
    v = np.asarray(values, dtype=np.float64).reshape(-1)
    if len(v) != len(tokens):
        raise ValueError(f"{len(tokens)} tokens but {len(v)} values")
    if max_abs is None:
        finite = np.abs(v[np.isfinite(v)])
        max_abs = float(finite.max()) if len(finite) else 0.0
    tok = f";{INLINE_STYLE['tok']}" if inline else ""
    spans = [f'<span class="tok" style="background:{colour(x, max_abs)}{tok}" title="{esc(fmt.format(x))}">'
             f"{esc(t)}</span>" for t, x in zip(tokens, v)]
    box = f' style="{INLINE_STYLE["tokens"]}"' if inline else ""
    return Safe(f'<div class="tokens"{box}>' + " ".join(spans) + "</div>")


def _gap_html(gap: str) -> str:
    """What separates two chips: the text between them is whitespace only; newlines become <br> (a blank line
    between paragraphs stays a blank line), anything else one space."""
    n = gap.count("\n")
    return "<br>" * min(n, 2) if n else (" " if gap else "")


def text_html(text: str, tokens: Sequence[str] | None = None, values=None, *, max_abs: float | None = None,
              fmt: str = "{:+.4f}", inline: bool = False, max_height: int | None = None) -> Safe:
    """The whole `text` as chips of its `core.base.simple_tokenize` words, paragraph breaks kept.

    tokens / values: any explainer's units (word pieces, SHAP words, vocabulary terms) mapped onto the words by
    `align_to_words`; words with no value stay plain text (None: the plain text). Every word is escaped
    and only the line breaks this module writes are markup. max_height: pixels of a scroll box holding the text
    (long texts stay one screen high), else the text takes its height.
    """
    spans = word_spans(text)
    words = [text[a:b] for a, b in spans]
    if tokens is None:
        v = np.zeros(len(words))
    else:
        words, v = align_to_words(list(tokens), values, text)
    finite = np.abs(v[np.isfinite(v)])
    max_abs = (float(finite.max()) if len(finite) else 0.0) if max_abs is None else max_abs
    tok = f";{INLINE_STYLE['tok']}" if inline else ""
    parts, cursor = [], 0
    for (a, b), word, x in zip(spans, words, v):
        parts.append(_gap_html(text[cursor:a]))
        if x and np.isfinite(x):  # only coloured words get a chip: a 25,000-character text stays light HTML
            parts.append(f'<span class="tok" style="background:{colour(x, max_abs)}{tok}" '
                         f'title="{esc(fmt.format(x))}">{esc(word)}</span>')
        else:
            parts.append(esc(word))
        cursor = b
    style = INLINE_STYLE["tokens"] if inline else ""
    if max_height:
        style += f";max-height:{int(max_height)}px;overflow-y:auto;border:1px solid #ddd;padding:.4em;border-radius:4px"
    box = f' style="{style.lstrip(";")}"' if style else ""
    return Safe(f'<div class="tokens text-chips"{box}>' + "".join(parts) + "</div>")


def attribution_html(attr: TokenAttribution, class_name: str | None = None, max_abs: float | None = None) -> Safe:
    """Coloured tokens of one attribution with a one-line legend."""
    who = esc(class_name) if class_name is not None else f"class {attr.class_index}"
    base = "" if not np.isfinite(attr.base_value) else f"; base value {attr.base_value:.4f}"
    legend = (f'<div class="legend">{esc(attr.method)} towards <b>{who}</b>: '
              f'<span style="color:rgb{POSITIVE}">blue pushes towards</span>, '
              f'<span style="color:rgb{NEGATIVE}">red pushes away</span>{esc(base)}</div>')
    notice = (attr.extra or {}).get("notice")
    if notice:  # e.g. SHAP explained only the first MAX_SHAP_WORDS words
        legend += f'<div class="legend"><b>Note:</b> {esc(notice)}</div>'
    return Safe(legend + tokens_html(attr.tokens, attr.values, max_abs=max_abs))


#: Inline styles of `diff_html`: removed words struck through on red, inserted words on blue (the dashboard colours).
DIFF_STYLE = {"delete": f"background:rgba{(*NEGATIVE, 0.25)};text-decoration:line-through;border-radius:3px",
              "insert": f"background:rgba{(*POSITIVE, 0.25)};border-radius:3px"}


def diff_html(ops: Iterable[Any]) -> Safe:
    """A word diff (core.explain.counterfactual.DiffOp: tag, a, b) as one escaped line: equal words plain, removed
    words struck through, inserted words highlighted (a replacement shows both)."""
    parts = []
    for op in ops:
        if op.tag == "equal":
            parts.append(esc(op.a))
            continue
        if op.a:
            parts.append(f'<span style="{DIFF_STYLE["delete"]}" title="removed">{esc(op.a)}</span>')
        if op.b:
            parts.append(f'<span style="{DIFF_STYLE["insert"]}" title="inserted">{esc(op.b)}</span>')
    return Safe('<div class="tokens text-diff" style="line-height:2.1">' + " ".join(parts) + "</div>")


def table_html(frame, max_rows: int = 200) -> Safe:
    """A pandas DataFrame as an escaped HTML table (first `max_rows` rows)."""
    return Safe(frame.head(max_rows).to_html(index=False, escape=True, border=0, float_format=lambda x: f"{x:.4g}"))


def _content(item: Any, state: dict) -> str:
    if item is None:
        return ""
    if isinstance(item, Safe):
        return item
    if isinstance(item, str):
        return f'<div class="text">{esc(item)}</div>'
    if isinstance(item, TokenAttribution):
        return attribution_html(item)
    if hasattr(item, "to_plotly_json") and hasattr(item, "to_html"):  # plotly Figure
        # the first figure carries plotly.js inline so the report works offline; the others reuse it
        out = item.to_html(full_html=False, include_plotlyjs=not state["plotly"], default_width="100%")
        state["plotly"] = True
        return out
    if hasattr(item, "to_html") and hasattr(item, "columns"):  # pandas DataFrame
        return table_html(item)
    if isinstance(item, dict):
        rows = "".join(f"<tr><th>{esc(k)}</th><td>{esc(v)}</td></tr>" for k, v in item.items())
        return f"<table>{rows}</table>"
    if isinstance(item, (list, tuple)):
        return "".join(_content(x, state) for x in item)
    return f'<div class="text">{esc(item)}</div>'


def case_file_html(title: str, sections: Iterable[tuple[str, Any]], meta: dict | None = None) -> str:
    """A self-contained HTML report (inline CSS, plotly.js inlined once, no external requests).

    sections: (heading, content) pairs; content is a str (shown as escaped text), Safe markup, a
    TokenAttribution, a plotly Figure, a pandas DataFrame, a dict (key/value table) or a list of these.
    meta: small key/value table under the title (model, dataset, created ...), followed by the colour LEGEND.
    """
    state = {"plotly": False}
    parts = ["<!DOCTYPE html>", '<html lang="en"><head><meta charset="utf-8">',
             f"<title>{esc(title)}</title><style>{CSS}</style></head><body>", f"<h1>{esc(title)}</h1>"]
    if meta:
        parts.append(f'<div class="meta">{_content(meta, state)}</div>')
    parts.append(f'<p class="legend" id="colour-legend"><b>Colours:</b> {esc(LEGEND)}</p>')
    for heading, content in sections:
        parts.append(f"<section><h2>{esc(heading)}</h2>{_content(content, state)}</section>")
    parts.append("</body></html>")
    return "\n".join(parts)
