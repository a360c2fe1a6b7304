"""Plotly figures of core.changes results: flips by class, parent × variant confusion, CKA heat map."""
from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import plotly.graph_objects as go

from ..plots_style import NEGATIVE, NEUTRAL, POSITIVE, apply_layout


def flips_by_class(rows: Sequence[Mapping[str, Any]], title: str = "Flipped predictions by class") -> go.Figure:
    """Stacked bars per class (of the parent's prediction): flips the variant fixed, broke, or changed between
    two wrong answers. rows: core.changes `by_class`."""
    names = [str(r["class"]) for r in rows]
    other = [r["flipped"] - r["fixed"] - r["broken"] for r in rows]
    fig = go.Figure()
    for label, vals, colour in (("broken (was right)", [r["broken"] for r in rows], NEGATIVE),
                                ("wrong both ways", other, NEUTRAL),
                                ("fixed (was wrong)", [r["fixed"] for r in rows], POSITIVE)):
        fig.add_bar(x=names, y=vals, name=label, marker_color=colour)
    fig.update_layout(barmode="stack")
    return apply_layout(fig, title, "class (parent's prediction)", "test examples flipped", height=380)


def parent_variant_confusion(labels: Sequence[str], matrix: Sequence[Sequence[int]],
                             title: str = "Parent prediction × variant prediction") -> go.Figure:
    """Heat map of counts: row = the parent's predicted class, column = the variant's; off-diagonal = flips."""
    fig = go.Figure(go.Heatmap(z=[list(r) for r in matrix], x=list(labels), y=list(labels), colorscale="Blues",
                               text=[[str(v) for v in r] for r in matrix], texttemplate="%{text}",
                               hovertemplate="parent %{y} → variant %{x}: %{z}<extra></extra>"))
    fig.update_yaxes(autorange="reversed")
    return apply_layout(fig, title, "variant predicts", "parent predicts", height=120 + 40 * len(labels))


def cka_heatmap(matrix: Sequence[Sequence[float]], matched: Sequence[Mapping[str, Any]] = (),
                title: str = "Linear CKA: parent layer × variant layer") -> go.Figure:
    """Heat map of CKA in [0, 1] (layer 0 = embeddings); matched layer pairs are outlined with markers."""
    rows = len(matrix)
    cols = len(matrix[0]) if rows else 0
    fig = go.Figure(go.Heatmap(z=[list(r) for r in matrix], x=list(range(cols)), y=list(range(rows)), zmin=0,
                               zmax=1, colorscale="Viridis", texttemplate="%{z:.2f}",
                               hovertemplate="parent layer %{y}, variant layer %{x}: CKA %{z:.3f}<extra></extra>"))
    if matched:
        fig.add_scatter(x=[m["variant_layer"] for m in matched], y=[m["teacher_layer"] for m in matched],
                        mode="markers", marker={"symbol": "square-open", "size": 22, "color": "white",
                                                "line": {"width": 2}}, name="matched layers", hoverinfo="skip")
    fig.update_yaxes(autorange="reversed", dtick=1)
    fig.update_xaxes(dtick=1)
    return apply_layout(fig, title, "variant layer (0 = embeddings)", "parent layer (0 = embeddings)",
                        height=160 + 36 * rows)
