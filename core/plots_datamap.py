"""Plotly figure of a data map (core.dynamics.datamap): variability (x) against confidence (y), as in
Swayamdipta et al. 2020, coloured by correctness, with the three regions shaded and labelled and cleanlab's
flags drawn as black rings. Hover texts are HTML-escaped and cut (core.plots_explain.hover_text). Each point's
customdata is its position in the frame, so a selection maps back to rows."""
from __future__ import annotations

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from .dynamics.datamap import AMBIGUOUS_VARIABILITY, HARD_CONFIDENCE
from .plots_explain import _e, hover_text

#: Most points drawn (a seeded sample above it, flagged rows always kept): the browser stays responsive.
MAX_POINTS = 25_000
_SHADES = (  # (region, x0, x1, y0, y1, colour): variability on x (0..0.5), confidence on y (0..1)
    ("easy-to-learn", 0.0, AMBIGUOUS_VARIABILITY, HARD_CONFIDENCE, 1.0, "rgba(44,160,44,0.08)"),
    ("hard-to-learn", 0.0, AMBIGUOUS_VARIABILITY, 0.0, HARD_CONFIDENCE, "rgba(214,39,40,0.08)"),
    ("ambiguous", AMBIGUOUS_VARIABILITY, 0.5, 0.0, 1.0, "rgba(255,127,14,0.08)"),
)


def plotted_rows(frame: pd.DataFrame, max_points: int = MAX_POINTS, seed: int = 0) -> np.ndarray:
    """Positions of the frame rows drawn: all, or a seeded sample of `max_points` that keeps every flagged row."""
    n = len(frame)
    if n <= max_points:
        return np.arange(n)
    flagged = np.flatnonzero(frame["flagged"].to_numpy()) if "flagged" in frame else np.zeros(0, np.int64)
    rest = np.setdiff1d(np.arange(n), flagged)
    take = np.random.default_rng(seed).choice(rest, size=max(0, max_points - len(flagged)), replace=False)
    return np.sort(np.concatenate([flagged[:max_points], take]))


def data_map_figure(frame: pd.DataFrame, title: str = "Data map", max_points: int = MAX_POINTS) -> go.Figure:
    """Scatter of `frame` (columns variability, confidence, correctness, label, suggested, region, text and
    optionally flagged)."""
    rows = plotted_rows(frame, max_points)
    sub = frame.iloc[rows]
    hov = [f"<b>label</b>: {_e(lab)} · <b>suggested</b>: {_e(sug)}<br><b>{_e(reg)}</b> · confidence {c:.2f} · "
           f"variability {v:.2f} · correct {k:.0%}<br>{hover_text(t)}"
           for lab, sug, reg, c, v, k, t in zip(sub["label"], sub["suggested"], sub["region"], sub["confidence"],
                                                sub["variability"], sub["correctness"], sub["text"])]
    fig = go.Figure()
    for region, x0, x1, y0, y1, colour in _SHADES:
        fig.add_shape(type="rect", x0=x0, x1=x1, y0=y0, y1=y1, fillcolor=colour, line_width=0, layer="below")
        fig.add_annotation(x=(x0 + x1) / 2, y=y1 - 0.03, text=region, showarrow=False, font={"size": 12})
    fig.add_trace(go.Scattergl(
        x=sub["variability"], y=sub["confidence"], mode="markers", text=hov, hoverinfo="text",
        customdata=rows, name="rows",
        marker={"size": 5, "opacity": 0.7, "color": sub["correctness"], "colorscale": "RdYlGn", "cmin": 0, "cmax": 1,
                "colorbar": {"title": "correctness"}}))
    if "flagged" in sub and sub["flagged"].any():
        mask = sub["flagged"].to_numpy()
        fig.add_trace(go.Scattergl(
            x=sub["variability"][mask], y=sub["confidence"][mask], mode="markers", customdata=rows[mask],
            text=np.asarray(hov, dtype=object)[mask], hoverinfo="text",
            name=f"cleanlab label issue ({int(mask.sum())})",
            marker={"size": 9, "color": "rgba(0,0,0,0)", "line": {"width": 1.2, "color": "black"}}))
    fig.update_layout(title=_e(title), xaxis={"title": "variability (std of the gold-label probability)",
                                              "range": [0, max(0.5, float(frame["variability"].max()) + 0.02)]},
                      yaxis={"title": "confidence (mean gold-label probability)", "range": [0, 1.02]},
                      height=600, dragmode="lasso", legend={"orientation": "h", "y": -0.15})
    return fig
