"""The relabel queue: training and test rows ranked by combined evidence that their label is wrong.

score = hard-to-learn + cleanlab flag + conflicting near duplicate (one point each) + suspicion (1 - probability
of the given label, 0..1, which also orders rows with equal points). Only rows with at least one point are
queued. Suggested label: the model's (argmax of the mean training-dynamics probabilities for training rows, of the
stored test probabilities for test rows); for a conflicting duplicate the model does not flag, its group's
majority label. Rows already corrected (the dataset's overlay) are left out.
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from .. import artifacts
from ..dynamics import dynamics_of
from ..progress import ProgressCallback, null_progress
from .corrections import load_overlay
from .evidence import conflicting_duplicates, heldout_evidence, training_evidence

COLUMNS = ["rank", "row_id", "split", "text", "label", "suggested", "score", "reasons"]


def rank(evidence: pd.DataFrame, conflicts: dict[str, tuple[str, str]]) -> pd.DataFrame:
    """Add conflicts, score and keep the queued rows, best first (see the module doc)."""
    ev = evidence.copy()
    hit = ev["row_id"].map(conflicts.get)
    ev["conflict"] = hit.notna().to_numpy()
    for i in np.flatnonzero(ev["conflict"].to_numpy()):
        reason, majority = hit.iloc[i]
        ev.at[ev.index[i], "reasons"] = [*ev["reasons"].iloc[i], reason]
        if not (ev["hard"].iloc[i] or ev["flagged"].iloc[i]) and majority != ev["label"].iloc[i]:
            ev.at[ev.index[i], "suggested"] = majority
    points = ev["hard"].astype(int) + ev["flagged"].astype(int) + ev["conflict"].astype(int)
    ev["score"] = points + ev["suspicion"]
    ev = ev[points > 0].sort_values("score", ascending=False, kind="stable")
    ev.insert(0, "rank", np.arange(1, len(ev) + 1))
    ev["reasons"] = ev["reasons"].map("; ".join)
    return ev.reset_index(drop=True)


def build_queue(name: str, include_test: bool = True, progress: ProgressCallback = null_progress) -> pd.DataFrame:
    """The queue of model `name` (COLUMNS plus hard, flagged, conflict, suspicion); attrs dataset (concrete
    name), corrected (rows skipped because they are already corrected)."""
    dyn, ds = dynamics_of(name, progress=progress)
    parts = [training_evidence(dyn, ds)]
    if include_test:
        preds = artifacts.load_predictions(name)
        parts.append(heldout_evidence(preds.proba, preds.texts, ds))
    evidence = pd.concat([p for p in parts if len(p)], ignore_index=True)
    queue = rank(evidence, conflicting_duplicates(ds))
    overlay = load_overlay(ds)
    done = queue["row_id"].isin(list(overlay.entries)).to_numpy()
    queue = queue[~done].reset_index(drop=True)
    queue["rank"] = np.arange(1, len(queue) + 1)
    queue.attrs.update(dataset=overlay.dataset, corrected=int(done.sum()), model=name)
    return queue[COLUMNS + ["hard", "flagged", "conflict", "suspicion"]]
