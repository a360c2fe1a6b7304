"""Data-map metrics (Swayamdipta et al., EMNLP 2020, "Dataset Cartography") from a model's Dynamics.

Per training row, over the E evaluations:
    confidence   mean probability of the gold label
    variability  its standard deviation (population std, as in the paper)
    correctness  share of evaluations whose prediction was right
Regions (fixed thresholds, so a row's region does not depend on the other rows; the paper ranks instead --
top 33% by variability = ambiguous, bottom 33% by confidence = hard-to-learn -- which always fills each region):
    ambiguous       variability >= AMBIGUOUS_VARIABILITY (0.2): the model kept changing its mind
    easy-to-learn   otherwise, confidence >= HARD_CONFIDENCE (0.5): learnt early and consistently
    hard-to-learn   otherwise: consistently low gold probability -- where mislabelled rows gather
Multi-label: one map per label (the gold value of that label, 1 or 0, plays the gold label).
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from ..data import TextDataset
from ..errors import ParamError
from .rows import row_ids
from .store import Dynamics

AMBIGUOUS_VARIABILITY = 0.2
HARD_CONFIDENCE = 0.5
REGIONS = ("easy-to-learn", "ambiguous", "hard-to-learn")


def regions(confidence: np.ndarray, variability: np.ndarray) -> np.ndarray:
    """Region name per row (see the module doc)."""
    conf, var = np.asarray(confidence), np.asarray(variability)
    return np.where(var >= AMBIGUOUS_VARIABILITY, REGIONS[1], np.where(conf >= HARD_CONFIDENCE, REGIONS[0], REGIONS[2]))


def _label_index(dyn: Dynamics, labels: list[str], label: str | None) -> int | None:
    if not dyn.multilabel:
        return None
    if label is None:
        raise ParamError("a multi-label data map is drawn per label: choose one of " + ", ".join(labels))
    if label not in labels:
        raise ParamError(f"unknown label {label!r}; labels: {', '.join(labels)}")
    return labels.index(label)


def data_map(dyn: Dynamics, ds: TextDataset, label: str | None = None) -> pd.DataFrame:
    """One row per recorded training row: row_id, text, label (given; multi-label: "label"/"not label"),
    suggested (argmax of the mean probabilities; multi-label: the thresholded value), confidence, variability,
    correctness, region. Rows whose id is no longer in `ds` (the data changed) are dropped."""
    j = _label_index(dyn, ds.labels, label)
    gold = dyn.gold.astype(np.float32)
    correct = dyn.correct
    if j is not None:
        gold, correct = gold[:, :, j], correct[:, :, j]
    position = {rid: i for i, rid in enumerate(row_ids("train", ds.train.texts))}
    keep = np.array([rid in position for rid in dyn.row_ids], dtype=bool)
    rows = np.array([position[rid] for rid in np.asarray(dyn.row_ids)[keep]], dtype=np.int64)
    conf = gold.mean(axis=0)[keep]
    var = gold.std(axis=0)[keep]
    corr = correct.mean(axis=0)[keep]
    y = np.asarray(ds.train.y)[rows]
    mean = dyn.mean_proba.astype(np.float32)[keep]
    if j is None:
        given = [ds.labels[int(v)] for v in y]
        suggested = [ds.labels[int(v)] for v in mean.argmax(axis=1)]
    else:
        name = ds.labels[j]
        given = [name if v else f"not {name}" for v in y[:, j]]
        suggested = [name if p >= 0.5 else f"not {name}" for p in mean[:, j]]
    out = pd.DataFrame({
        "row_id": np.asarray(dyn.row_ids)[keep], "row": rows, "text": [ds.train.texts[i] for i in rows],
        "label": given, "suggested": suggested, "confidence": conf, "variability": var, "correctness": corr,
    })
    out["region"] = regions(conf, var)
    out.attrs.update(source=dyn.source, n_evals=dyn.n_evals, dropped=int((~keep).sum()), label=label)
    return out


def region_counts(frame: pd.DataFrame) -> dict[str, int]:
    """Rows per region, in REGIONS order."""
    counts = frame["region"].value_counts()
    return {r: int(counts.get(r, 0)) for r in REGIONS}


def with_label_issues(frame: pd.DataFrame, dyn: Dynamics, ds: TextDataset) -> pd.DataFrame:
    """`frame` plus `flagged` (cleanlab's find_label_issues on the mean probabilities of the recorded rows,
    via core.explain.label_quality) and `quality`. Cross-validated dynamics are out-of-sample, as cleanlab
    wants; dynamics recorded during training are in-sample averages, so cleanlab flags fewer rows there (the
    hard-to-learn region is the signal made for that case)."""
    from ..explain.label_quality import label_quality

    position = {rid: i for i, rid in enumerate(dyn.row_ids)}
    cols = np.array([position[rid] for rid in frame["row_id"]], dtype=np.int64)
    if len(cols) == 0:
        return frame.assign(flagged=np.zeros(0, bool), quality=np.zeros(0))
    y = np.asarray(ds.train.y)[frame["row"].to_numpy()]
    lq = label_quality(y, dyn.mean_proba.astype(np.float64)[cols], multilabel=dyn.multilabel)
    out = frame.copy()
    out["flagged"] = lq["flag"].to_numpy()
    out["quality"] = lq["quality"].to_numpy()
    out.attrs.update(frame.attrs, engine=lq.attrs.get("engine"))
    return out
