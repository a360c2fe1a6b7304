"""Plotly figure builders for explanations (no streamlit): attention heatmap, attribution bars,
embedding maps, confusable words, agreement histogram.

Inputs are arrays and lists from core.explain; every user string shown in a hover or axis label is
HTML-escaped (plotly renders a subset of HTML in labels) and hover texts are cut to 200 characters.
Token axes use positions with tick labels, so repeated tokens ("the", "the") stay separate rows.
"""
from __future__ import annotations

import html
from collections.abc import Sequence

import numpy as np
import plotly.graph_objects as go

from .explain.attribution import TokenAttribution
from .plots_style import NEGATIVE, POSITIVE  # one convention everywhere: blue pushes towards the class, red away

HOVER_CHARS = 200


def _e(s) -> str:
    return html.escape(str(s), quote=False)


def hover_text(text: str, limit: int = HOVER_CHARS) -> str:
    """Escaped text cut to `limit` characters (with an ellipsis), wrapped every ~60 characters."""
    t = " ".join(str(text).split())
    t = t if len(t) <= limit else t[: limit - 1] + "…"
    lines, line = [], ""
    for word in t.split(" "):
        if line and len(line) + len(word) > 60:
            lines.append(line)
            line = word
        else:
            line = f"{line} {word}" if line else word
    lines.append(line)
    return "<br>".join(_e(x) for x in lines)


def attention_heatmap(matrix: np.ndarray, tokens: Sequence[str], title: str = "Attention") -> go.Figure:
    """(T, T) attention heatmap; rows = attending token (query), columns = attended-to token (key)."""
    m = np.asarray(matrix, dtype=float)
    t = len(tokens)
    if m.shape != (t, t):
        raise ValueError(f"matrix {m.shape} does not match {t} tokens")
    labels = [_e(x) for x in tokens]
    fig = go.Figure(go.Heatmap(
        z=m, x=list(range(t)), y=list(range(t)), colorscale="Blues", zmin=0, colorbar={"title": "weight"},
        customdata=[[[labels[i], labels[j]] for j in range(t)] for i in range(t)],
        hovertemplate="%{customdata[0]} → %{customdata[1]}: %{z:.3f}<extra></extra>"))
    axis = {"tickmode": "array", "tickvals": list(range(t)), "ticktext": labels, "tickfont": {"size": 10}}
    fig.update_layout(title=_e(title), height=max(400, 14 * t + 150), margin={"l": 100, "b": 100},
                      xaxis={**axis, "title": "attended-to token (key)", "tickangle": -60},
                      yaxis={**axis, "title": "attending token (query)", "autorange": "reversed"})
    return fig


def attribution_bar(tokens: Sequence[str] | TokenAttribution, values=None, top: int = 15,
                    title: str = "Top tokens", class_name: str | None = None) -> go.Figure:
    """Horizontal bars of the `top` tokens by |value| (blue = towards the class, red = away from it)."""
    if isinstance(tokens, TokenAttribution):
        tokens, values = tokens.tokens, tokens.values
    v = np.asarray(values, dtype=float).reshape(-1)
    order = np.argsort(-np.abs(v), kind="stable")[:top][::-1]  # largest at the top
    labels = [_e(tokens[i]) for i in order]
    fig = go.Figure(go.Bar(
        x=v[order], y=list(range(len(order))), orientation="h",
        marker_color=[POSITIVE if v[i] >= 0 else NEGATIVE for i in order],
        customdata=labels, hovertemplate="%{customdata}: %{x:+.4f}<extra></extra>"))
    xt = "contribution" + (f" to {_e(class_name)}" if class_name is not None else "")
    fig.update_layout(title=_e(title), height=max(300, 24 * len(order) + 120), xaxis_title=xt,
                      yaxis={"title": "token", "tickmode": "array", "tickvals": list(range(len(order))),
                             "ticktext": labels})
    return fig


def embedding_scatter(coords: np.ndarray, texts: Sequence[str], color, *, color_name: str = "label",
                      continuous: bool = False, hover: dict[str, Sequence] | None = None, highlight=None,
                      highlight_name: str = "highlighted", title: str = "Embedding map",
                      axis_titles: tuple[str, str] = ("dimension 1", "dimension 2")) -> go.Figure:
    """2-D map of texts; `color` (n,) is a category per point (true label, predicted label, correct /
    wrong) or a number (`continuous=True`, e.g. confidence). `hover` adds named columns to the tooltip;
    `highlight` (n,) bool draws those points again as black rings (e.g. predictions that differ)."""
    xy = np.asarray(coords, dtype=float)
    n = len(xy)
    extra = hover or {}
    hov = []
    for i in range(n):
        lines = [f"<b>{_e(color_name)}</b>: {_e(color[i] if not continuous else f'{float(color[i]):.3f}')}"]
        lines += [f"<b>{_e(k)}</b>: {_e(v[i])}" for k, v in extra.items()]
        hov.append("<br>".join(lines) + "<br>" + hover_text(texts[i]))
    hov = np.array(hov, dtype=object)
    fig = go.Figure()
    marker = {"size": 5, "opacity": 0.75}
    if continuous:
        fig.add_trace(go.Scattergl(x=xy[:, 0], y=xy[:, 1], mode="markers", text=hov, hoverinfo="text",
                                   marker={**marker, "color": np.asarray(color, dtype=float),
                                           "colorscale": "Viridis", "colorbar": {"title": _e(color_name)}},
                                   name=_e(color_name)))
    else:
        from plotly.colors import qualitative

        # explicit distinct hues: the dashboard theme's colorway pairs shades of one hue (two blues, two reds),
        # which hides exactly the confusable pairs (Business vs Sci/Tech) a map should separate
        palette = qualitative.D3
        cats = np.asarray([str(c) for c in color], dtype=object)
        for k, c in enumerate(sorted(set(cats), key=str)):
            mask = cats == c
            fig.add_trace(go.Scattergl(x=xy[mask, 0], y=xy[mask, 1], mode="markers", text=hov[mask],
                                       hoverinfo="text", marker={**marker, "color": palette[k % len(palette)]},
                                       name=_e(c)))
    if highlight is not None:
        mask = np.asarray(highlight, dtype=bool)
        fig.add_trace(go.Scattergl(x=xy[mask, 0], y=xy[mask, 1], mode="markers", text=hov[mask], hoverinfo="text",
                                   marker={"size": 10, "color": "rgba(0,0,0,0)", "line": {"width": 1.5,
                                                                                          "color": "black"}},
                                   name=f"{_e(highlight_name)} ({int(mask.sum())})"))
    fig.update_layout(title=_e(title), xaxis_title=axis_titles[0], yaxis_title=axis_titles[1],
                      legend_title=_e(color_name), height=600)
    return fig


def shared_scatter(coords_a: np.ndarray, coords_b: np.ndarray, texts: Sequence[str], differ=None,
                   names: tuple[str, str] = ("teacher", "student"), title: str = "Two models, one PCA space"
                   ) -> go.Figure:
    """Both models' points of the same texts; texts whose predictions differ are joined by a grey line
    and drawn larger."""
    a, b = np.asarray(coords_a, dtype=float), np.asarray(coords_b, dtype=float)
    hov = [hover_text(t) for t in texts]
    d = np.zeros(len(a), dtype=bool) if differ is None else np.asarray(differ, dtype=bool)
    fig = go.Figure()
    if d.any():
        xs, ys = [], []
        for i in np.nonzero(d)[0]:
            xs += [a[i, 0], b[i, 0], None]
            ys += [a[i, 1], b[i, 1], None]
        fig.add_trace(go.Scattergl(x=xs, y=ys, mode="lines", line={"color": "rgba(120,120,120,0.5)", "width": 1},
                                   hoverinfo="skip", name=f"prediction differs ({int(d.sum())})"))
    for coords, name, symbol in ((a, names[0], "circle"), (b, names[1], "diamond")):
        fig.add_trace(go.Scattergl(x=coords[:, 0], y=coords[:, 1], mode="markers", text=hov, hoverinfo="text",
                                   name=_e(name), marker={"symbol": symbol, "size": np.where(d, 9, 5),
                                                          "opacity": 0.7}))
    fig.update_layout(title=_e(title), xaxis_title="shared PC 1", yaxis_title="shared PC 2", height=600)
    return fig


def confusable_bar(frame, title: str = "Words over-represented in the confusion cell", top: int = 20) -> go.Figure:
    """Bars of `confusable_words` scores (word, score, count_in_cell, count_in_reference)."""
    f = frame.head(top).iloc[::-1]
    words = [_e(w) for w in f["word"]]
    fig = go.Figure(go.Bar(
        x=f["score"], y=list(range(len(f))), orientation="h", marker_color=POSITIVE,
        customdata=np.stack([words, f["count_in_cell"], f["count_in_reference"]], axis=1) if len(f) else None,
        hovertemplate="%{customdata[0]}: score %{x:.3f}<br>in cell texts: %{customdata[1]}"
                      "<br>in reference texts: %{customdata[2]}<extra></extra>"))
    method = frame.attrs.get("method", "log_odds")
    fig.update_layout(title=_e(title), height=max(300, 24 * len(f) + 120),
                      xaxis_title="log-odds z-score" if method == "log_odds" else "TF-IDF difference",
                      yaxis={"title": "word", "tickmode": "array", "tickvals": list(range(len(f))), "ticktext": words})
    return fig


def agreement_histogram(rhos: Sequence[float], title: str = "Rank agreement per text") -> go.Figure:
    """Histogram of per-text Spearman rho (NaN dropped), with the mean as a dashed line."""
    r = np.asarray(rhos, dtype=float)
    r = r[~np.isnan(r)]
    fig = go.Figure(go.Histogram(x=r, xbins={"start": -1, "end": 1, "size": 0.1}, marker_color=NEGATIVE))
    if len(r):
        fig.add_vline(x=float(r.mean()), line_dash="dash", annotation_text=f"mean {r.mean():.2f}")
    fig.update_layout(title=_e(title), xaxis_title="Spearman rho", yaxis_title="texts", xaxis_range=[-1, 1])
    return fig


def probability_delta_bar(labels: Sequence[str], delta: Sequence[float], top: int = 20,
                          title: str = "Change in each class probability (edited − original)") -> go.Figure:
    """Horizontal bars of p(edited) - p(original) per class (the `top` largest |delta|), blue up, red down."""
    d = np.asarray(delta, dtype=float)
    order = np.argsort(-np.abs(d), kind="stable")[:top][::-1]
    fig = go.Figure(go.Bar(x=d[order], y=[_e(labels[i]) for i in order], orientation="h",
                           marker_color=[POSITIVE if d[i] >= 0 else NEGATIVE for i in order],
                           hovertemplate="%{y}: %{x:+.3f}<extra></extra>"))
    fig.update_layout(title=title, height=max(180, 28 * len(order) + 90), margin=dict(l=10, r=10, t=40, b=30),
                      xaxis_title="probability change")
    return fig


def probability_path(path: Sequence[float], removed: Sequence[str], class_name: str) -> go.Figure:
    """p(class) before and after each removal of a minimal flip (x = the word removed at that step)."""
    x = ["(original)"] + [f"{i + 1}: −{_e(w)}" for i, w in enumerate(removed)]
    fig = go.Figure(go.Scatter(x=x, y=list(path), mode="lines+markers", line_color=POSITIVE,
                               hovertemplate="%{x}: %{y:.3f}<extra></extra>"))
    fig.update_layout(title=f"p({_e(class_name)}) along the edits", height=260, yaxis_range=[0, 1],
                      margin=dict(l=10, r=10, t=40, b=30), yaxis_title="probability")
    return fig
