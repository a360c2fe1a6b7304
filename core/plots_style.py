"""Shared look of the lab's plotly figures: the attribution colours and the common layout.

Used by core.plots (data, prediction, errors, comparison), core.plots_train, core.plots_compress and
core.plots_explain, so every chart speaks one colour convention.
"""
from __future__ import annotations

import plotly.graph_objects as go

#: Colours for "pushed towards" / "pushed away from" a class (blue / red), and for everything else (grey).
POSITIVE = "#2f6fb0"
NEGATIVE = "#c0504d"
NEUTRAL = "#9aa5b1"


def apply_layout(fig: go.Figure, title: str, x: str, y: str, height: int | None = None) -> go.Figure:
    """Common layout: title, axis titles, compact margins."""
    fig.update_layout(
        title={"text": title, "x": 0.0, "xanchor": "left"},
        xaxis_title=x,
        yaxis_title=y,
        margin={"l": 10, "r": 10, "t": 50, "b": 10},
        legend={"orientation": "h", "yanchor": "bottom", "y": 1.0, "xanchor": "right", "x": 1.0},
    )
    if height:
        fig.update_layout(height=height)
    return fig
