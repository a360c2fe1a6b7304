"""Plotly figures of slice tables: the main metric per slice with its bootstrap interval, and a variant's change
per slice against its parent. Pure builders (numbers come from core.slices.table)."""
from __future__ import annotations

import pandas as pd
import plotly.graph_objects as go

from ..plots_style import NEGATIVE, NEUTRAL, POSITIVE, apply_layout


def _hover(name: str, df: pd.DataFrame) -> list[str]:
    # slice names are the lab's tag names or user names checked by core.naming (no markup characters)
    return [f"{s} (n={int(n):,})" for s, n in zip(df["slice"], df["n"])] if name else []


def slice_bars(table: pd.DataFrame, metric: str | None = None) -> go.Figure:
    """Horizontal bars: `metric` (default: the table's main metric) of every non-empty slice, with error bars
    from its _lo / _hi columns and a line at the whole set's value; slices worse than the whole set in red."""
    metric = metric or table.attrs.get("main", "accuracy")
    df = table[table["n"] > 0].iloc[::-1]
    overall = float(table[metric].iloc[0])
    colours = [NEUTRAL if s == "all" else (NEGATIVE if v < overall else POSITIVE)
               for s, v in zip(df["slice"], df[metric])]
    fig = go.Figure(go.Bar(
        x=df[metric], y=[f"{s} ({int(n):,})" for s, n in zip(df["slice"], df["n"])], orientation="h",
        marker_color=colours, hovertext=_hover(metric, df),
        error_x={"type": "data", "symmetric": False, "array": df[f"{metric}_hi"] - df[metric],
                 "arrayminus": df[metric] - df[f"{metric}_lo"]}))
    fig.add_vline(x=overall, line_dash="dot", line_color=NEUTRAL)
    conf = int(round(100 * float(table.attrs.get("confidence", 0.95))))
    return apply_layout(fig, f"{metric} by slice ({conf}% bootstrap intervals; dotted line: every text)",
                        metric, "slice (texts)", height=max(300, 26 * len(df) + 100))


def delta_bars(against: pd.DataFrame) -> go.Figure:
    """Horizontal bars: the variant's change of the main metric per non-empty slice, with paired intervals;
    slices the variant hurt (interval below 0) in red."""
    m = against.attrs.get("main", "accuracy")
    df = against[against["n"] > 0].iloc[::-1]
    key = f"delta_{m}"
    colours = [NEGATIVE if h else NEUTRAL for h in df["hurt"]]
    fig = go.Figure(go.Bar(
        x=df[key], y=[f"{s} ({int(n):,})" for s, n in zip(df["slice"], df["n"])], orientation="h",
        marker_color=colours, hovertext=_hover(key, df),
        error_x={"type": "data", "symmetric": False, "array": df[f"{key}_hi"] - df[key],
                 "arrayminus": df[key] - df[f"{key}_lo"]}))
    fig.add_vline(x=0, line_color=NEUTRAL)
    return apply_layout(fig, f"{against.attrs.get('model', 'variant')} − {against.attrs.get('parent', 'parent')}: "
                        f"change of {m} by slice (red: hurt)", f"Δ {m}", "slice (texts)",
                        height=max(300, 26 * len(df) + 100))
