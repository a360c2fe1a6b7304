"""The learning-curve chart: measured points, the power-law fit extended to the rows needed, the target."""
from __future__ import annotations

import numpy as np
import plotly.graph_objects as go

from ..plots_style import NEUTRAL, POSITIVE, apply_layout
from .curve import Curve


def curve_figure(curve: Curve, target: float | None = None) -> go.Figure:
    """Test metric against labelled rows (log x); the fit runs to the rows the target needs (or 3× the data)."""
    needed = curve.rows_needed(target) if target is not None else None
    fig = go.Figure()
    fig.add_scatter(x=curve.rows, y=curve.values, mode="markers+lines", name="measured (retrains)",
                    marker_color=POSITIVE, hovertemplate="%{x:,} rows: %{y:.4f}<extra></extra>")
    if curve.fit:
        top = max(max(curve.rows) * 3, int(needed * 1.2) if needed else 0)
        xs = np.unique(np.geomspace(max(min(curve.rows), 2), top, 80).astype(int))
        fig.add_scatter(x=xs, y=curve.predict(xs), mode="lines", name="power-law fit",
                        line={"dash": "dot", "color": NEUTRAL}, hovertemplate="%{x:,} rows: %{y:.4f}<extra>fit</extra>")
    if target is not None:
        fig.add_hline(y=target, line_dash="dash", annotation_text=f"target {target:.3f}")
    if needed:
        fig.add_vline(x=needed, line_dash="dot", annotation_text=f"≈ {needed:,} rows")
    fig.update_xaxes(type="log")
    return apply_layout(fig, "Learning curve", "labelled training rows (log scale)", f"test {curve.metric}")
