"""Plotly figures of training histories (written by core.trainer.train_loop: metrics.json -> train_info ->
history): loss and validation curves of several runs, gradient flow per layer. Pure plotly, like core.plots."""
from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import plotly.graph_objects as go

from .plots_style import NEUTRAL, POSITIVE, apply_layout


def _smooth(values: Sequence[float], window: int) -> np.ndarray:
    """Trailing moving average (window 1 = unchanged), so noisy per-step losses stay readable."""
    v = np.asarray(values, dtype=float)
    if window <= 1 or len(v) < 2:
        return v
    c = np.cumsum(np.insert(v, 0, 0.0))
    idx = np.arange(1, len(v) + 1)
    lo = np.maximum(0, idx - window)
    return (c[idx] - c[lo]) / (idx - lo)


def training_curves(histories: Mapping[str, Mapping], metric: str = "accuracy", smooth: int = 20,
                    title: str = "Training curves") -> go.Figure:
    """Two panels, runs overlaid: training loss per step (moving average over `smooth` steps) and the
    validation `metric` per evaluation. histories: {run name: history dict with train_loss [[step, loss]] and
    evals [{step, <metric>, ...}]}."""
    from plotly.colors import qualitative
    from plotly.subplots import make_subplots

    fig = make_subplots(rows=1, cols=2, subplot_titles=("training loss", f"validation {metric}"))
    palette = qualitative.Plotly
    for i, (name, h) in enumerate(histories.items()):
        color = palette[i % len(palette)]
        loss = h.get("train_loss") or []
        if loss:
            fig.add_scatter(x=[s for s, _ in loss], y=_smooth([v for _, v in loss], smooth), mode="lines",
                            name=name, legendgroup=name, line={"color": color}, row=1, col=1)
        evals = [e for e in h.get("evals") or [] if e.get(metric) is not None]
        if evals:
            fig.add_scatter(x=[e["step"] for e in evals], y=[e[metric] for e in evals], mode="lines+markers",
                            name=name, legendgroup=name, showlegend=not loss, line={"color": color}, row=1, col=2)
            best = h.get("best_step")
            hit = [e for e in evals if e["step"] == best]
            if hit:
                fig.add_scatter(x=[best], y=[hit[0][metric]], mode="markers", legendgroup=name, showlegend=False,
                                marker={"symbol": "star", "size": 13, "color": color},
                                hovertemplate=f"best ({name})<br>step %{{x}}<br>{metric} %{{y:.4f}}<extra></extra>",
                                row=1, col=2)
    fig.update_xaxes(title_text="step")
    fig.update_yaxes(title_text="loss", row=1, col=1)
    fig.update_yaxes(title_text=metric, row=1, col=2)
    fig.update_layout(title={"text": title, "x": 0.0, "xanchor": "left"}, height=420,
                      margin={"l": 10, "r": 10, "t": 70, "b": 10},
                      legend={"orientation": "h", "yanchor": "bottom", "y": 1.08, "xanchor": "right", "x": 1.0})
    return fig


def gradient_flow(history: Mapping, step: int | None = None, title: str = "Gradient flow") -> go.Figure:
    """Mean and max |gradient| per layer (weights, input side first) on a log axis, at the recorded step
    `step` (default: averaged over every recorded step). Vanishing gradients show as layers near the input
    with much smaller bars than layers near the output."""
    records = history.get("grad_flow") or []
    if step is not None:
        records = [r for r in records if r["step"] == step]
    names: list[str] = []
    mean: dict[str, list[float]] = {}
    mx: dict[str, list[float]] = {}
    for r in records:
        for layer in r["layers"]:
            if layer["name"] not in mean:
                names.append(layer["name"])
                mean[layer["name"]], mx[layer["name"]] = [], []
            mean[layer["name"]].append(layer["mean_abs"])
            mx[layer["name"]].append(layer["max_abs"])
    floor = 1e-12  # log axis: a zero gradient is drawn at the floor instead of disappearing
    fig = go.Figure()
    fig.add_bar(x=names, y=[max(float(np.mean(mx[n])), floor) for n in names], name="max |grad|",
                marker_color=NEUTRAL)
    fig.add_bar(x=names, y=[max(float(np.mean(mean[n])), floor) for n in names], name="mean |grad|",
                marker_color=POSITIVE)
    fig.update_layout(barmode="overlay")
    fig.update_yaxes(type="log")
    sub = f" at step {step}" if step is not None else (f" (mean of {len(records)} recorded steps)" if records else "")
    return apply_layout(fig, title + sub, "layer", "|gradient|", height=450)
