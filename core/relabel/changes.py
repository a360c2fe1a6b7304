"""Which test predictions changed between a model and its retrained twin (e.g. before / after corrections).

Rows are matched by test row id (core.dynamics.rows: text-based), so a twin scored on a corrected test split
(changed labels, excluded rows) still lines up. The "true" label is the twin's (the corrected one).
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from ..artifacts import load_predictions
from ..dynamics.rows import row_ids


def _names(p, y: np.ndarray, i: int) -> str:
    if p.multilabel:
        return ", ".join(p.labels[j] for j in np.flatnonzero(y[i])) or "(none)"
    return p.labels[int(y[i])]


def changed_predictions(before: str, after: str) -> pd.DataFrame:
    """One row per shared test text whose prediction differs: row_id, text, true (after's labels), before,
    after, outcome ("fixed" = after right and before wrong, "broken" = the reverse, "changed" = both wrong).
    attrs: shared (rows in both), fixed, broken."""
    a, b = load_predictions(before), load_predictions(after)
    ia = {rid: i for i, rid in enumerate(row_ids("test", a.texts))}
    ids_b = row_ids("test", b.texts)
    pairs = [(ia[rid], j) for j, rid in enumerate(ids_b) if rid in ia]
    ya, yb, yt = a.y_pred, b.y_pred, b.y_true
    rows = []
    for i, j in pairs:
        pa, pb, t = _names(a, ya, i), _names(b, yb, j), _names(b, yt, j)
        if pa == pb:
            continue
        outcome = "fixed" if pb == t else "broken" if pa == t else "changed"
        rows.append({"row_id": ids_b[j], "text": b.texts[j], "true": t, "before": pa, "after": pb,
                     "outcome": outcome})
    out = pd.DataFrame(rows, columns=["row_id", "text", "true", "before", "after", "outcome"])
    out.attrs.update(shared=len(pairs), fixed=int((out["outcome"] == "fixed").sum()),
                     broken=int((out["outcome"] == "broken").sum()))
    return out
