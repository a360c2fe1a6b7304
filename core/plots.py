"""Pure plotly figure builders for the dashboard (no streamlit here, so notebooks and tests can use them).

Every builder takes plain arrays / mappings and returns a `plotly.graph_objects.Figure` with a title and
labelled axes. Sections here: data, prediction, errors, comparison; training histories are in core.plots_train,
compression benchmarks in core.plots_compress, explanations in core.plots_explain, colours and the common layout
in core.plots_style. Every builder is importable from core.plots. Append new builders under a section comment.
"""
from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import plotly.graph_objects as go

# Builders of training histories and compression benchmarks live beside this module; pages keep using
# ui.plots.X for all of them.
from .plots_compress import pareto_front, per_class_change, tradeoff_scatter  # noqa: F401 - re-exported
from .plots_style import NEGATIVE, NEUTRAL, POSITIVE, apply_layout  # noqa: F401 - re-exported
from .plots_train import gradient_flow, training_curves  # noqa: F401 - re-exported

# ----------------------------------------------------------------------------------------------------------
# Data
# ----------------------------------------------------------------------------------------------------------

def class_distribution(counts: Mapping[str, Mapping[str, int]] | Mapping[str, int],
                       title: str = "Class distribution") -> go.Figure:
    """Bars of examples per class. `counts` is {label: n} or {split: {label: n}} (grouped bars per split)."""
    if counts and all(isinstance(v, Mapping) for v in counts.values()):
        per_split: Mapping[str, Mapping[str, int]] = counts  # type: ignore[assignment]
    else:
        per_split = {"examples": counts}  # type: ignore[dict-item]
    fig = go.Figure()
    for split, c in per_split.items():
        labels = list(c)
        fig.add_bar(x=labels, y=[c[k] for k in labels], name=str(split))
    fig.update_layout(barmode="group", showlegend=len(per_split) > 1)
    return apply_layout(fig, title, "class", "examples")


def length_histogram(lengths_by_class: Mapping[str, Sequence[float]], unit: str = "tokens",
                     title: str | None = None, nbins: int = 60) -> go.Figure:
    """Overlaid histograms of text length (in `unit`) per class; raw lengths in, one trace per class."""
    fig = go.Figure()
    for label, lengths in lengths_by_class.items():
        fig.add_histogram(x=np.asarray(lengths), name=str(label), opacity=0.6, nbinsx=nbins)
    fig.update_layout(barmode="overlay")
    return apply_layout(fig, title or f"Text length per class ({unit})", f"length ({unit})", "texts")


def length_histogram_binned(edges: Sequence[float], counts_by_class: Mapping[str, Sequence[int]],
                            unit: str = "tokens", title: str | None = None) -> go.Figure:
    """Same chart as `length_histogram` from precomputed bins: `edges` (b+1,), counts (b,) per class."""
    edges = np.asarray(edges, dtype=float)
    centers, widths = (edges[:-1] + edges[1:]) / 2, np.diff(edges)
    fig = go.Figure()
    for label, counts in counts_by_class.items():
        fig.add_bar(x=centers, y=np.asarray(counts), width=widths, name=str(label), opacity=0.6)
    fig.update_layout(barmode="overlay", bargap=0)
    return apply_layout(fig, title or f"Text length per class ({unit})", f"length ({unit})", "texts")


def length_coverage(lengths: Sequence[float] | None = None, unit: str = "tokens",
                    marks: Sequence[float] = (), points: Sequence[tuple[float, float]] | None = None,
                    title: str | None = None) -> go.Figure:
    """Share of texts with length ≤ N (the curve that picks a max sequence length).

    Either raw `lengths` (an exact step curve), or precomputed `points` [(N, share 0..1)] such as
    describe()'s coverage table (drawn as labelled markers on a log2 axis). `marks` are lengths
    annotated as "≤ N unit: X%" with a dotted line.
    """
    if points is None:
        arr = np.sort(np.asarray(lengths if lengths is not None else [], dtype=float))
        xs = np.unique(arr)
        ys = np.searchsorted(arr, xs, side="right") / max(len(arr), 1)
        fig = go.Figure(go.Scatter(x=xs, y=ys * 100, mode="lines", name="coverage", line={"shape": "hv"},
                                   hovertemplate=f"≤ %{{x:.0f}} {unit}: %{{y:.1f}}%<extra></extra>"))
    else:
        xs = np.asarray([p[0] for p in points], dtype=float)
        ys = np.asarray([p[1] for p in points], dtype=float)
        fig = go.Figure(go.Scatter(x=xs, y=ys * 100, mode="lines+markers+text", name="coverage",
                                   text=[f"{y:.0%}" for y in ys], textposition="top left",
                                   hovertemplate=f"≤ %{{x:.0f}} {unit}: %{{y:.1f}}%<extra></extra>"))
        fig.update_xaxes(type="log", tickvals=list(xs), ticktext=[f"{x:g}" for x in xs])
    for n in marks:
        # share of texts ≤ n: the step function's value at n (0 before the first point)
        i = int(np.searchsorted(xs, n, side="right")) - 1
        share = float(ys[i]) if i >= 0 else 0.0
        # On a log axis plotly places SHAPES (the vline) at data values but ANNOTATIONS at log10 positions.
        fig.add_vline(x=n, line_dash="dot", line_color=NEUTRAL)
        fig.add_annotation(x=np.log10(n) if points is not None else n, y=share * 100,
                           text=f"≤ {n:g} {unit}: {share:.0%}", showarrow=True, arrowhead=2, ax=40, ay=40)
    fig.update_yaxes(range=[0, 105], ticksuffix="%")
    return apply_layout(fig, title or f"Length coverage ({unit})", f"max length N ({unit})", "texts with length ≤ N")


def cooccurrence_heatmap(matrix: np.ndarray | Sequence[Sequence[float]], labels: Sequence[str],
                         title: str = "Label co-occurrence") -> go.Figure:
    """(k, k) counts of rows carrying both labels (diagonal = label frequency)."""
    m = np.asarray(matrix)
    fig = go.Figure(go.Heatmap(z=m, x=list(labels), y=list(labels), colorscale="Blues",
                               hovertemplate="%{y} & %{x}: %{z}<extra></extra>", colorbar={"title": "rows"}))
    fig.update_yaxes(autorange="reversed")
    return apply_layout(fig, title, "label", "label", height=max(400, 18 * len(labels) + 150))


# ----------------------------------------------------------------------------------------------------------
# Prediction
# ----------------------------------------------------------------------------------------------------------

def probability_bars(proba: Sequence[float], labels: Sequence[str],
                     threshold: float | Sequence[float] | None = None,
                     title: str = "Class probabilities", top: int | None = 30) -> go.Figure:
    """Horizontal bars of one text's probabilities, highest on top.

    `threshold` (multi-label) is one cut drawn as a dashed line, or one cut per label drawn as markers;
    bars at or above their cut are highlighted. Without it the top class is highlighted.
    """
    p = np.asarray(proba, dtype=float)
    order = np.argsort(-p)[: top or len(p)]
    names = [str(labels[i]) for i in order]
    vals = p[order]
    thr = None if threshold is None else np.broadcast_to(np.asarray(threshold, dtype=float), p.shape)[order]
    if thr is None:
        colors = [POSITIVE if i == 0 else NEUTRAL for i in range(len(order))]
    else:
        colors = [POSITIVE if v >= t else NEUTRAL for v, t in zip(vals, thr)]
    fig = go.Figure(go.Bar(x=vals, y=names, orientation="h", marker_color=colors, name="probability",
                           text=[f"{v:.1%}" for v in vals], textposition="auto", showlegend=False,
                           textangle=0, cliponaxis=False,  # short bars: label beside the bar, not rotated in it
                           hovertemplate="%{y}: %{x:.3f}<extra></extra>"))
    if threshold is not None and np.ndim(threshold) == 0:
        fig.add_vline(x=float(threshold), line_dash="dash", line_color=NEGATIVE,
                      annotation_text=f"threshold {float(threshold):g}", annotation_position="top")
    elif thr is not None:
        fig.add_scatter(x=thr, y=names, mode="markers", name="threshold",
                        marker={"symbol": "line-ns-open", "size": 18, "color": NEGATIVE, "line": {"width": 2}})
    fig.update_yaxes(autorange="reversed")
    fig.update_xaxes(range=[0, 1])
    return apply_layout(fig, title, "probability", "class", height=max(250, 28 * len(order) + 110))


def contribution_bars(tokens: Sequence[str], weights: Sequence[float], label: str, top: int = 15,
                      title: str | None = None) -> go.Figure:
    """Words that pushed the text towards (positive, blue) or away from (negative, red) class `label`.

    tokens/weights: one contribution per word (e.g. coefficient × tf-idf weight); the `top` largest by |w|.
    """
    w = np.asarray(weights, dtype=float)
    order = np.argsort(-np.abs(w))[:top]
    order = order[np.argsort(w[order])]  # most negative at the bottom, most positive on top after reversal
    fig = go.Figure(go.Bar(x=w[order], y=[str(tokens[i]) for i in order], orientation="h",
                           marker_color=[POSITIVE if v >= 0 else NEGATIVE for v in w[order]],
                           hovertemplate="%{y}: %{x:+.3f}<extra></extra>"))
    fig.add_vline(x=0, line_color=NEUTRAL)
    return apply_layout(fig, title or f"Words that pushed “{label}”", "contribution to the class score", "word",
                   height=max(250, 24 * len(order) + 110))


# ----------------------------------------------------------------------------------------------------------
# Errors
# ----------------------------------------------------------------------------------------------------------

def confusion_heatmap(matrix: np.ndarray | Sequence[Sequence[float]], labels: Sequence[str],
                      normalized: bool = False, title: str | None = None) -> go.Figure:
    """Confusion matrix: rows = true class, columns = predicted class.

    `normalized` divides each row by its total (recall on the diagonal). An invisible marker sits on
    each cell so a click selects it (heatmaps themselves have no point selection in plotly);
    the selected point's `customdata` is [true index, predicted index, count, row share].
    """
    counts = np.asarray(matrix, dtype=float)
    k = counts.shape[0]
    names = [str(x) for x in labels]
    if normalized:
        z = counts / np.maximum(counts.sum(axis=1, keepdims=True), 1)
        text = [[f"{v:.0%}" for v in row] for row in z]
    else:
        z = counts
        text = [[f"{int(v)}" for v in row] for row in z]
    show_text = k <= 12
    fig = go.Figure(go.Heatmap(
        z=z, x=names, y=names, colorscale="Blues", text=text if show_text else None,
        texttemplate="%{text}" if show_text else None, hoverinfo="skip",
        colorbar={"title": "share of row" if normalized else "examples"},
    ))
    # Hover text and click target live on invisible markers (hoverinfo "skip" on the heatmap hands them the
    # events; "skip" on the markers would disable their clicks). A selected cell is outlined in orange.
    ii, jj = np.meshgrid(np.arange(k), np.arange(k), indexing="ij")
    cells = counts[ii.ravel(), jj.ravel()]
    share = (counts / np.maximum(counts.sum(axis=1, keepdims=True), 1))[ii.ravel(), jj.ravel()]
    fig.add_scatter(
        x=[names[j] for j in jj.ravel()], y=[names[i] for i in ii.ravel()], mode="markers",
        marker={"size": max(8, min(40, 400 // max(k, 1))), "opacity": 0.0, "symbol": "square"},
        selected={"marker": {"opacity": 0.45, "color": "#e8a33d"}}, unselected={"marker": {"opacity": 0.0}},
        customdata=np.stack([ii.ravel(), jj.ravel(), cells, share], axis=1), showlegend=False, name="cells",
        hovertemplate="true %{y} → predicted %{x}<br>%{customdata[2]:.0f} examples "
                      "(%{customdata[3]:.1%} of the true class)<br>click to list them<extra></extra>",
    )
    fig.update_yaxes(autorange="reversed", type="category")
    fig.update_xaxes(type="category")
    return apply_layout(fig, title or ("Confusion matrix (row-normalised)" if normalized else "Confusion matrix"),
                   "predicted", "true", height=max(400, 30 * k + 200))


def per_label_confusion(tp: Sequence[int], fp: Sequence[int], fn: Sequence[int], labels: Sequence[str],
                        title: str = "Per-label errors") -> go.Figure:
    """Multi-label: stacked bars of true positives, false positives and false negatives per label."""
    names = [str(x) for x in labels]
    fig = go.Figure()
    fig.add_bar(x=names, y=list(tp), name="true positives", marker_color=POSITIVE)
    fig.add_bar(x=names, y=list(fp), name="false positives", marker_color="#e8a33d")
    fig.add_bar(x=names, y=list(fn), name="false negatives", marker_color=NEGATIVE)
    fig.update_layout(barmode="stack")
    return apply_layout(fig, title, "label", "test examples")


# ----------------------------------------------------------------------------------------------------------
# Comparison
# ----------------------------------------------------------------------------------------------------------

def reliability_diagram(curves: Mapping[str, Sequence[Mapping[str, float]]],
                        title: str = "Reliability diagram") -> go.Figure:
    """Accuracy against confidence per bin for one or several models, with the diagonal of perfect calibration.

    curves: {model name: [{"confidence": mean confidence, "accuracy": accuracy, "count": n}, ...]}; empty
    bins (count 0) are skipped.
    """
    fig = go.Figure(go.Scatter(x=[0, 1], y=[0, 1], mode="lines", name="perfect calibration",
                               line={"dash": "dash", "color": NEUTRAL}))
    for name, bins in curves.items():
        rows = [b for b in bins if b.get("count", 1) and b.get("confidence") is not None]
        fig.add_scatter(
            x=[b["confidence"] for b in rows], y=[b["accuracy"] for b in rows], mode="lines+markers", name=name,
            customdata=[b.get("count", 0) for b in rows],
            hovertemplate="confidence %{x:.2f}<br>accuracy %{y:.2f}<br>%{customdata} examples<extra>"
                          + name + "</extra>",
        )
    fig.update_xaxes(range=[0, 1])
    fig.update_yaxes(range=[0, 1.02])
    return apply_layout(fig, title, "mean confidence in bin", "accuracy in bin", height=450)


def leaderboard_bars(names: Sequence[str], values: Sequence[float], metric: str,
                     title: str | None = None) -> go.Figure:
    """Horizontal bars of one metric per model, best on top (assumes higher is better)."""
    v = np.asarray(values, dtype=float)
    order = np.argsort(-np.nan_to_num(v, nan=-np.inf))
    fig = go.Figure(go.Bar(x=v[order], y=[str(names[i]) for i in order], orientation="h",
                           marker_color=POSITIVE, text=[f"{x:.3f}" for x in v[order]], textposition="auto"))
    fig.update_yaxes(autorange="reversed")
    return apply_layout(fig, title or f"Models by {metric}", metric, "model", height=max(250, 30 * len(order) + 110))
