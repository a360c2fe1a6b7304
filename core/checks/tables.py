"""Check records as tables and a chart: the failure-rate table, failing examples, the side-by-side table of a model
and its variants, and their text form for the CLI. Pure functions of records (core.checks.store)."""
from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pandas as pd

SUMMARY_COLUMNS = ["test", "type", "what", "cases", "skipped", "failed", "failure_rate"]
EXAMPLE_COLUMNS = ["test", "original", "perturbed", "before", "after", "p_before", "p_after", "change"]


def summary(record: dict[str, Any]) -> pd.DataFrame:
    """One row per test: test, type, what, cases, skipped, failed, failure_rate (NaN when no case applied)."""
    rows = [{"test": r["name"], "type": r["type"], "what": r["what"], "cases": r["cases"], "skipped": r["skipped"],
             "failed": r["failed"], "failure_rate": r["failure_rate"]} for r in record["results"]]
    return pd.DataFrame(rows, columns=SUMMARY_COLUMNS).astype({"failure_rate": float})


def examples(record: dict[str, Any], test: str | None = None) -> pd.DataFrame:
    """Failing examples (of one `test`, or of all) as rows of EXAMPLE_COLUMNS."""
    rows = [{"test": r["name"], **e} for r in record["results"] if test in (None, r["name"]) for e in r["examples"]]
    return pd.DataFrame(rows, columns=EXAMPLE_COLUMNS)


def side_by_side(records: Sequence[dict[str, Any]]) -> pd.DataFrame:
    """Failure rates of one suite on several models: rows = tests (type first), one column per model."""
    frames = [summary(r).set_index("test")["failure_rate"].rename(r["model"]) for r in records]
    if not frames:
        return pd.DataFrame()
    types = summary(records[0]).set_index("test")["type"]
    out = pd.concat([types] + frames, axis=1).reset_index()
    return out.rename(columns={"index": "test"})


def failure_chart(table: pd.DataFrame, title: str = "Failure rate per test"):
    """Horizontal plotly bar chart of `side_by_side` (one bar per model) or `summary` (one model)."""
    import plotly.graph_objects as go

    from ..plots_style import apply_layout

    models = [c for c in table.columns if c not in SUMMARY_COLUMNS]
    series = {"failure rate": table["failure_rate"]} if "failure_rate" in table else {m: table[m] for m in models}
    fig = go.Figure([go.Bar(name=name, y=table["test"], x=values, orientation="h",
                            hovertemplate="%{y}: %{x:.1%}<extra>" + name + "</extra>")
                     for name, values in series.items()])
    fig.update_layout(barmode="group", xaxis={"tickformat": ".0%", "range": [0, 1]}, yaxis={"autorange": "reversed"})
    return apply_layout(fig, title, "share of cases failing", "", height=120 + 22 * len(table) * len(series))


def _rate(v: Any) -> str:
    return "n/a" if v is None or v != v else f"{v:.1%}"


def summary_lines(record: dict[str, Any], n_examples: int = 3, width: int = 90) -> list[str]:
    """The CLI's text: one line per test (failure rate, failed / cases, skipped), then a few failing examples
    (original → perturbed, prediction change)."""
    lines = [f"{record['model']}: suite {record['suite_hash']} of {record['dataset']}, {record['n_tests']} tests, "
             f"{record['seconds']:.1f} s"]
    width_name = max([len(r["name"]) for r in record["results"]] + [4])
    for r in record["results"]:
        lines.append(f"  {r['type']:<3}  {r['name']:<{width_name}}  {_rate(r['failure_rate']):>6}  "
                     f"({r['failed']}/{r['cases']} failed, {r['skipped']} skipped)  {r['what']}")
    for r in record["results"]:
        for e in r["examples"][:n_examples]:
            if e["original"]:
                start = _first_difference(e["original"], e["perturbed"], width)
                lines.append(f"    [{r['name']}] {_cut(e['original'], width, start)!r}")
                lines.append(f"      → {_cut(e['perturbed'], width, start)!r}: {e['change']}")
            else:
                lines.append(f"    [{r['name']}] {_cut(e['perturbed'], width)!r}: got {e['after']}, {e['change']}")
    return lines


def _first_difference(a: str, b: str, width: int) -> int:
    """Where to start showing two long texts so their first difference is in view (a third of `width` before it)."""
    i = next((j for j, (x, y) in enumerate(zip(a, b)) if x != y), min(len(a), len(b)))
    return max(0, i - width // 3) if i >= width - 10 else 0


def _cut(text: str, width: int, start: int = 0) -> str:
    """`text` from `start`, at most `width` characters, "…" marking what is left out."""
    head = "…" if start else ""
    text = text[start:]
    return head + (text if len(text) <= width else text[:width - 1] + "…")


def side_by_side_lines(table: pd.DataFrame) -> list[str]:
    """`side_by_side` as text, rates as percentages."""
    shown = table.copy()
    for c in shown.columns[2:]:
        shown[c] = [_rate(v) for v in shown[c]]
    return shown.to_string(index=False).splitlines()
