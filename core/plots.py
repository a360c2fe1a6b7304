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

#: above this many classes, class bars turn horizontal (one labelled row per class) and lengths become box plots
MANY_CLASSES = 12
#: pixels per class row of the horizontal charts (every label stays readable at 100 classes)
ROW_PX = 18


def class_distribution(counts: Mapping[str, Mapping[str, int]] | Mapping[str, int],
                       title: str = "Class distribution") -> go.Figure:
    """Bars of examples per class. `counts` is {label: n} or {split: {label: n}} (grouped bars per split).

    Up to MANY_CLASSES classes: vertical grouped bars. More: horizontal bars stacked by split, sorted by total
    count (largest on top), ROW_PX pixels per class and every class labelled.
    """
    if counts and all(isinstance(v, Mapping) for v in counts.values()):
        per_split: Mapping[str, Mapping[str, int]] = counts  # type: ignore[assignment]
    else:
        per_split = {"examples": counts}  # type: ignore[dict-item]
    labels = list(dict.fromkeys(lab for c in per_split.values() for lab in c))
    fig = go.Figure()
    if len(labels) <= MANY_CLASSES:
        for split, c in per_split.items():
            fig.add_bar(x=list(c), y=[c[k] for k in c], name=str(split))
        fig.update_layout(barmode="group", showlegend=len(per_split) > 1)
        return apply_layout(fig, title, "class", "examples")
    totals = {lab: sum(c.get(lab, 0) for c in per_split.values()) for lab in labels}
    order = sorted(labels, key=lambda lab: -totals[lab])
    names = [str(lab) for lab in order]
    for split, c in per_split.items():
        fig.add_bar(y=names, x=[c.get(lab, 0) for lab in order], name=str(split), orientation="h",
                    hovertemplate="%{y}: %{x} " + str(split) + "<extra></extra>")
    fig.update_layout(barmode="stack", showlegend=len(per_split) > 1)
    fig.update_yaxes(autorange="reversed", tickmode="array", tickvals=names, ticktext=names, type="category",
                     tickfont={"size": 11})
    return apply_layout(fig, title + " (sorted by count)", "examples", "class",
                        height=ROW_PX * len(names) + 160)


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


def _binned_quantile(edges: np.ndarray, counts: np.ndarray, q: float) -> float:
    """Quantile q (0..1) of a histogram, interpolating linearly inside the bin that holds it."""
    total = counts.sum()
    if total <= 0:
        return float("nan")
    cum = np.concatenate([[0.0], np.cumsum(counts)]) / total
    i = int(np.clip(np.searchsorted(cum, q, side="left") - 1, 0, len(counts) - 1))
    inside = (q - cum[i]) / max(cum[i + 1] - cum[i], 1e-12)
    return float(edges[i] + np.clip(inside, 0, 1) * (edges[i + 1] - edges[i]))


def length_boxes_binned(edges: Sequence[float], counts_by_class: Mapping[str, Sequence[int]],
                        unit: str = "tokens", title: str | None = None,
                        percentiles: Mapping[str, Mapping[str, float]] | None = None) -> go.Figure:
    """One horizontal box per class from precomputed bins (`length_histogram_binned`'s input), sorted by median.

    Quartiles come from the bins (linear inside a bin); whiskers reach from the class's minimum to its 95th
    percentile, taken from `percentiles` {class: {"min", "p50", "p95", ...}} (describe()'s per_class) when given,
    else from the bins. ROW_PX pixels per class, every class labelled.
    """
    edges = np.asarray(edges, dtype=float)
    rows = []
    for label, counts in counts_by_class.items():
        c = np.asarray(counts, dtype=float)
        if c.sum() <= 0:
            continue
        pct = (percentiles or {}).get(label, {})
        q = {name: _binned_quantile(edges, c, v) for name, v in (("lo", 0.0), ("q1", .25), ("med", .5),
                                                                  ("q3", .75), ("hi", .95))}
        lo, hi = float(pct.get("min", q["lo"])), float(pct.get("p95", q["hi"]))
        med = float(pct.get("p50", q["med"]))
        rows.append((str(label), min(lo, q["q1"]), q["q1"], med, q["q3"], max(hi, q["q3"])))
    rows.sort(key=lambda r: -r[3])
    names = [r[0] for r in rows]
    fig = go.Figure(go.Box(y=names, lowerfence=[r[1] for r in rows], q1=[r[2] for r in rows],
                           median=[r[3] for r in rows], q3=[r[4] for r in rows], upperfence=[r[5] for r in rows],
                           orientation="h", marker_color=POSITIVE, name="length", showlegend=False))
    fig.update_yaxes(autorange="reversed", tickmode="array", tickvals=names, ticktext=names, type="category",
                     tickfont={"size": 11})
    return apply_layout(fig, title or f"Text length per class ({unit}; box = quartiles, whiskers = min to 95th "
                        "percentile, sorted by median)", f"length ({unit})", "class",
                        height=ROW_PX * len(names) + 160)


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


def chunk_probabilities(proba: np.ndarray, labels: Sequence[str], classes: Sequence[int],
                        highlight: int | None = None, title: str = "Probability in each window") -> go.Figure:
    """Per-window probabilities of a long text (chunked inference): one line per class in `classes`
    (proba (n_chunks, k)), x = window number from 1; `highlight` (a window index) is marked with a band."""
    p = np.asarray(proba, dtype=float)
    x = np.arange(1, len(p) + 1)
    fig = go.Figure()
    for j in classes:
        fig.add_scatter(x=x, y=p[:, j], mode="lines+markers", name=str(labels[j]),
                        hovertemplate="window %{x}: %{y:.1%}<extra>" + str(labels[j]) + "</extra>")
    if highlight is not None:
        fig.add_vrect(x0=highlight + 0.5, x1=highlight + 1.5, fillcolor="#e8a33d", opacity=0.25, line_width=0,
                      annotation_text="decided", annotation_position="top left")
    fig.update_yaxes(range=[0, 1.02], tickformat=".0%")
    fig.update_xaxes(dtick=1 if len(p) <= 30 else None)
    return apply_layout(fig, title, "window (in text order)", "probability", height=300)


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

#: numbers are written in the cells of a confusion matrix up to this many classes (cells stay ≥ ~30 px)
CELL_TEXT_MAX = 25
#: colours of correct predictions (the diagonal) and of errors (off-diagonal cells with at least one text)
DIAGONAL_SCALE = [[0.0, "#eef2f7"], [1.0, "#8fb0d3"]]
ERROR_SCALE = [[0.0, "#fcd9bd"], [0.5, "#ef7b45"], [1.0, "#a3191b"]]


def confusion_heatmap(matrix: np.ndarray | Sequence[Sequence[float]], labels: Sequence[str],
                      normalized: bool = False, title: str | None = None,
                      indices: Sequence[int] | None = None,
                      row_totals: Sequence[float] | None = None) -> go.Figure:
    """Confusion matrix: rows = true class, columns = predicted class, in the order given.

    Errors have their own colour scale (off-diagonal cells, 0 left blank, so errors of 1–3 show beside a
    diagonal of hundreds); the diagonal is shaded separately in pale blue. `normalized` divides each row by its
    total. Cells are square and grow the figure with the number of classes (every label shown); numbers are
    written in the cells up to CELL_TEXT_MAX classes. `indices`: the class index of each row / column in the
    model's labels (default 0..k-1) when a subset or a reordering is drawn; `row_totals`: texts of each row's
    true class (default: the row sums; pass the full-matrix totals when drawing a subset of columns).
    An invisible marker sits on each cell so a click selects it (heatmaps have no point selection in plotly);
    the selected point's `customdata` is [true index, predicted index, count, row share].
    """
    counts = np.asarray(matrix, dtype=float)
    k = counts.shape[0]
    names = [str(x) for x in labels]
    idx = np.arange(k) if indices is None else np.asarray(indices, dtype=int)
    totals = counts.sum(axis=1) if row_totals is None else np.asarray(row_totals, dtype=float)
    share_m = counts / np.maximum(totals, 1)[:, None]
    z = share_m if normalized else counts
    diag = np.eye(k, dtype=bool)
    show_text = k <= CELL_TEXT_MAX
    text = [[(f"{v:.0%}" if normalized else f"{int(c)}") if c > 0 else "" for v, c in zip(zr, cr)]
            for zr, cr in zip(z, counts)]
    off = np.where(~diag & (counts > 0), z, np.nan)
    fig = go.Figure()
    fig.add_heatmap(z=np.where(diag, z, np.nan), x=names, y=names, colorscale=DIAGONAL_SCALE, showscale=False,
                    text=text if show_text else None, texttemplate="%{text}" if show_text else None,
                    hoverinfo="skip", name="correct")
    fig.add_heatmap(z=off, x=names, y=names, colorscale=ERROR_SCALE, zmin=0,
                    zmax=float(np.nanmax(off)) if np.isfinite(off).any() else 1.0,
                    text=text if show_text else None, texttemplate="%{text}" if show_text else None,
                    hoverinfo="skip", name="errors",
                    colorbar={"title": "errors (share of row)" if normalized else "errors", "len": 0.6})
    # Hover text and click target live on invisible markers (hoverinfo "skip" on the heatmaps hands them the
    # events; "skip" on the markers would disable their clicks). A selected cell is outlined in orange.
    ii, jj = np.meshgrid(np.arange(k), np.arange(k), indexing="ij")
    cell = int(np.clip(560 // max(k, 1), 14, 36))  # px per cell: fits a page up to ~25 classes, then scrolls
    fig.add_scatter(
        x=[names[j] for j in jj.ravel()], y=[names[i] for i in ii.ravel()], mode="markers",
        marker={"size": cell, "opacity": 0.0, "symbol": "square"},
        selected={"marker": {"opacity": 0.45, "color": "#e8a33d"}}, unselected={"marker": {"opacity": 0.0}},
        customdata=np.stack([idx[ii.ravel()], idx[jj.ravel()], counts[ii.ravel(), jj.ravel()],
                             share_m[ii.ravel(), jj.ravel()]], axis=1), showlegend=False, name="cells",
        hovertemplate="true %{y} → predicted %{x}<br>%{customdata[2]:.0f} examples "
                      "(%{customdata[3]:.1%} of the true class)<br>click to list them<extra></extra>",
    )
    font = 11 if cell >= 16 else 9
    label_px = int(min(max((max((len(n) for n in names), default=4)) * font * 0.6 + 20, 60), 320))
    fig.update_yaxes(autorange="reversed", type="category", tickmode="array", tickvals=names, ticktext=names,
                     tickfont={"size": font}, scaleanchor="x", scaleratio=1, constrain="domain")
    fig.update_xaxes(type="category", tickmode="array", tickvals=names, ticktext=names, tickfont={"size": font},
                     tickangle=-90 if k > 8 else 0, constrain="domain", side="bottom")
    fig = apply_layout(fig, title or ("Confusion matrix (row-normalised)" if normalized else "Confusion matrix"),
                       "predicted", "true", height=cell * k + label_px + 130)
    fig.update_layout(width=cell * k + label_px + 130, plot_bgcolor="white")
    return fig


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
