"""Plotly figures of compression benchmarks (rows from core.bench): accuracy against latency / size with the
Pareto front, and the per-class change of a variant against its parent. Pure plotly, like core.plots."""
from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import plotly.graph_objects as go

from .plots_style import NEGATIVE, NEUTRAL, POSITIVE, apply_layout


def pareto_front(cost: Sequence[float], quality: Sequence[float]) -> list[int]:
    """Indices of the points no other point beats (lower or equal cost AND higher or equal quality, one strictly),
    ordered by cost. NaN points are never on the front."""
    c = np.asarray(cost, dtype=float)
    q = np.asarray(quality, dtype=float)
    ok = np.flatnonzero(np.isfinite(c) & np.isfinite(q))
    front, best = [], -np.inf
    for i in sorted(ok, key=lambda i: (c[i], -q[i])):
        if q[i] > best:
            front.append(int(i))
            best = q[i]
    return front


def tradeoff_scatter(names: Sequence[str], cost: Sequence[float], quality: Sequence[float], cost_label: str,
                     quality_label: str = "accuracy", title: str | None = None, log_x: bool = False) -> go.Figure:
    """Quality against cost (latency ms, size MB, ...) per model, with the Pareto front as a step line: the
    models worth keeping are on the line; anything below-right of it is beaten on both axes."""
    c = np.asarray(cost, dtype=float)
    q = np.asarray(quality, dtype=float)
    front = pareto_front(c, q)
    on = set(front)
    fig = go.Figure()
    fig.add_scatter(x=c, y=q, mode="markers+text", text=[str(n) for n in names], textposition="top center",
                    cliponaxis=False, name="models", marker={"size": 11, "color": [POSITIVE if i in on else NEUTRAL
                                                                 for i in range(len(c))]},
                    hovertemplate="%{text}<br>" + cost_label + " %{x:.4g}<br>" + quality_label
                                  + " %{y:.4f}<extra></extra>")
    fig.add_scatter(x=c[front], y=q[front], mode="lines", line={"shape": "hv", "dash": "dot", "color": POSITIVE},
                    name="Pareto front", hoverinfo="skip")
    if log_x:
        fig.update_xaxes(type="log")
    return apply_layout(fig, title or f"{quality_label} against {cost_label}", cost_label + " (lower is better)",
                   quality_label, height=450)


def per_class_change(labels: Sequence[str], before: Sequence[float], after: Sequence[float],
                     support: Sequence[int] | None = None, metric: str = "accuracy",
                     title: str | None = None) -> go.Figure:
    """Horizontal bars of the per-class change `after - before` in points (x100): blue = the variant gained,
    red = it lost; hover shows both values and the class's test support. Classes in the given order."""
    b = np.asarray(before, dtype=float)
    a = np.asarray(after, dtype=float)
    d = (a - b) * 100.0
    n = np.asarray(support if support is not None else [0] * len(d))
    fig = go.Figure(go.Bar(
        x=d, y=[str(x) for x in labels], orientation="h", marker_color=[POSITIVE if v >= 0 else NEGATIVE for v in d],
        text=[f"{v:+.1f}" for v in d], textposition="auto", customdata=np.stack([b, a, n], axis=-1),
        hovertemplate="%{y}<br>" + metric + " %{customdata[0]:.3f} → %{customdata[1]:.3f}<br>"
                      "%{x:+.2f} points<br>%{customdata[2]:.0f} test examples<extra></extra>"))
    fig.add_vline(x=0, line_color=NEUTRAL)
    fig.update_yaxes(autorange="reversed")
    return apply_layout(fig, title or f"Per-class {metric} change (points)", f"change in {metric} (points)", "class",
                   height=max(250, 28 * len(d) + 110))
