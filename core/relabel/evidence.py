"""Per-row evidence that a label is wrong, one table per source (the relabel queue adds them up):

- training rows: the model's data map (core.dynamics) -- hard-to-learn region, cleanlab flag on the mean
  probabilities; multi-label: a row is hard when any of its labels is;
- test rows: cleanlab on the model's stored (out-of-sample) test probabilities;
- every row: near duplicates (same text after lowercasing and removing punctuation, core.data.stats.
  normalise_text) carrying a different label, in any split.
Every table: row_id, split, text, label, suggested, suspicion (1 - probability of the given label, in [0, 1]),
hard, flagged, conflict, reasons (list of short sentences).
"""
from __future__ import annotations

from collections import Counter

import numpy as np
import pandas as pd

from ..data import TextDataset
from ..dynamics import Dynamics, row_ids
from ..dynamics.datamap import AMBIGUOUS_VARIABILITY, HARD_CONFIDENCE
from ..explain.label_quality import label_quality
from .corrections import SEP, label_text


def _suggest(ds: TextDataset, proba: np.ndarray) -> list[str]:
    if ds.multilabel:
        return [SEP.join(ds.labels[j] for j in np.flatnonzero(p >= 0.5)) for p in proba]
    return [ds.labels[int(j)] for j in proba.argmax(axis=1)]


def _frame(ds: TextDataset, split: str, ids: list[str], positions: np.ndarray, proba: np.ndarray,
           hard: np.ndarray, confidence: np.ndarray) -> pd.DataFrame:
    part = ds.splits()[split]
    y = np.asarray(part.y)[positions]
    lq = label_quality(y, proba.astype(np.float64), multilabel=ds.multilabel)
    reasons = [[] for _ in ids]
    for i in np.flatnonzero(hard):
        reasons[i].append(f"hard-to-learn (confidence {confidence[i]:.2f})")
    for i in np.flatnonzero(lq["flag"].to_numpy()):
        reasons[i].append(f"cleanlab label issue (quality {lq['quality'].iloc[i]:.2f})")
    return pd.DataFrame({
        "row_id": ids, "split": split, "text": [part.texts[i] for i in positions],
        "label": [label_text(ds, v) for v in y], "suggested": _suggest(ds, proba),
        "suspicion": 1.0 - lq["quality"].to_numpy(), "hard": hard, "flagged": lq["flag"].to_numpy(),
        "conflict": False, "reasons": reasons,
    })


def training_evidence(dyn: Dynamics, ds: TextDataset) -> pd.DataFrame:
    """Evidence for the recorded training rows (those still in `ds`)."""
    position = {rid: i for i, rid in enumerate(row_ids("train", ds.train.texts))}
    cols = np.array([j for j, rid in enumerate(dyn.row_ids) if rid in position], dtype=np.int64)
    gold = dyn.gold.astype(np.float32)[:, cols]
    conf, var = gold.mean(axis=0), gold.std(axis=0)
    hard = (conf < HARD_CONFIDENCE) & (var < AMBIGUOUS_VARIABILITY)
    if dyn.multilabel:  # (N, K): the row's least confident label speaks for it
        hard, conf = hard.any(axis=1), conf.min(axis=1)
    ids = [dyn.row_ids[j] for j in cols]
    return _frame(ds, "train", ids, np.array([position[r] for r in ids], dtype=np.int64),
                  dyn.mean_proba.astype(np.float32)[cols], hard, conf)


def heldout_evidence(proba: np.ndarray, texts: list[str], ds: TextDataset) -> pd.DataFrame:
    """Evidence for the test rows from the model's stored test probabilities (texts must be ds.test's)."""
    if list(texts) != list(ds.test.texts):
        return _frame(ds, "test", [], np.zeros(0, np.int64), np.zeros((0, ds.n_labels)), np.zeros(0, bool),
                      np.zeros(0))
    n = len(texts)
    return _frame(ds, "test", row_ids("test", texts), np.arange(n), np.asarray(proba, dtype=np.float32),
                  np.zeros(n, bool), np.ones(n))


def conflicting_duplicates(ds: TextDataset) -> dict[str, tuple[str, str]]:
    """row_id -> (reason, majority label of its group) for every row whose near duplicates carry another label."""
    from ..data.stats import normalise_text

    groups: dict[str, list[tuple[str, str]]] = {}
    for split, part in ds.splits().items():
        for rid, text, y in zip(row_ids(split, part.texts), part.texts, part.y):
            key = normalise_text(str(text))
            if key:
                groups.setdefault(key, []).append((rid, label_text(ds, y)))
    out = {}
    for members in groups.values():
        labels = Counter(label for _, label in members)
        if len(labels) < 2:
            continue
        majority = labels.most_common(1)[0][0]
        for rid, label in members:
            others = ", ".join(f"{n} × {lab}" for lab, n in labels.items() if lab != label)
            out[rid] = (f"near duplicates labelled differently ({others})", majority)
    return out
