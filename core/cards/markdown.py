"""Markdown pieces of a model card: escaped cells and tables (user strings such as labels never become markup)."""
from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

#: Characters escaped inside a card's markdown: table pipes, emphasis, links and raw HTML.
_SPECIAL = str.maketrans({c: f"\\{c}" for c in "\\`*_[]<>|#"})


def cell(value: Any, digits: int = 4) -> str:
    """One table cell: floats rounded, None/NaN as "–", text escaped for markdown (pipes, HTML, emphasis)."""
    if value is None or (isinstance(value, float) and not np.isfinite(value)):
        return "–"
    if isinstance(value, (bool, np.bool_)):
        return "yes" if value else "no"
    if isinstance(value, (float, np.floating)):
        return f"{float(value):.{digits}f}"
    if isinstance(value, (int, np.integer)):
        return f"{int(value):,}"
    return text(value)


def text(value: Any) -> str:
    """Free text (a label, a dataset name, a user's text) as literal markdown on one line."""
    return " ".join(str(value).splitlines()).translate(_SPECIAL)


def table(frame: pd.DataFrame, max_rows: int = 50) -> str:
    """A GitHub-flavoured markdown table of the first `max_rows` rows (a note says how many were left out)."""
    if frame is None or frame.empty:
        return "_(none)_"
    head = frame.head(max_rows)
    lines = ["| " + " | ".join(text(c) for c in head.columns) + " |",
             "|" + "|".join("---" for _ in head.columns) + "|"]
    lines += ["| " + " | ".join(cell(v) for v in row) + " |" for row in head.itertuples(index=False)]
    if len(frame) > max_rows:
        lines.append(f"\n_{len(frame) - max_rows:,} more rows not shown._")
    return "\n".join(lines)


def pairs(values: dict[str, Any]) -> str:
    """A two-column key/value markdown table."""
    return table(pd.DataFrame({"": list(values), "value": list(values.values())}).astype({"value": object}))


__all__ = ["cell", "text", "table", "pairs"]
