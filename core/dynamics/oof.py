"""Out-of-fold "dynamics" for families trained in one shot (TF-IDF): repeated k-fold cross-validation.

Each repeat splits the training rows into `k` stratified folds (seeded; multi-label rows by their rarest label)
and fits the family with the model's own settings on k-1 folds to score the held-out one, so every row gets
`repeats` out-of-fold probabilities -- one per repeat, the "evaluations" of the data map: confidence is their
mean, variability their spread across fold assignments (0 with a single repeat). Cost: k x repeats fits.
"""
from __future__ import annotations

from typing import Any

import numpy as np

from ..data import Split, TextDataset
from ..data.splits import strat_keys
from ..progress import ProgressCallback, null_progress
from .rows import row_ids
from .store import Dynamics, gold_and_correct

K = 5
REPEATS = 2


def folds(y: np.ndarray, k: int, seed: int) -> list[np.ndarray]:
    """`k` held-out index arrays covering every row once (stratified, seeded)."""
    from sklearn.model_selection import KFold, StratifiedKFold

    keys = strat_keys(np.asarray(y))
    _, counts = np.unique(keys, return_counts=True)
    splitter = StratifiedKFold(k, shuffle=True, random_state=seed) if counts.min() >= k else \
        KFold(k, shuffle=True, random_state=seed)
    return [held for _, held in splitter.split(np.zeros(len(keys)), keys)]


def cross_validated(ds: TextDataset, kind: str, params: dict[str, Any], k: int = K, repeats: int = REPEATS,
                    seed: int = 0, progress: ProgressCallback = null_progress) -> Dynamics:
    """Dynamics (source "cross-validation", E = `repeats`) of family `kind` on ds.train."""
    import time

    from ..errors import ParamError
    from ..models import family

    n = len(ds.train)
    if k < 2 or repeats < 1 or n < k:
        raise ParamError(f"cross-validation needs k >= 2 (got {k}), repeats >= 1 (got {repeats}) and at least "
                         f"k training rows (got {n})")
    fam = family(kind)
    y = np.asarray(ds.train.y)
    empty = Split([], y[:0])
    gold, correct, proba_sum = [], [], np.zeros((n, ds.n_labels))
    t0, total, done = time.perf_counter(), k * repeats, 0
    for r in range(repeats):
        proba = np.zeros((n, ds.n_labels), dtype=np.float32)
        for held in folds(y, k, seed + r):
            progress(done, total, f"cross-validation: repeat {r + 1}/{repeats}, fold {done % k + 1}/{k}")
            keep = np.setdiff1d(np.arange(n), held)
            part = TextDataset(ds.name, ds.labels, ds.train.subset(keep), empty, empty, ds.multilabel, ds.language)
            model, _ = fam.fit(part, dict(params))
            proba[held] = np.asarray(model.predict_proba([ds.train.texts[i] for i in held]), dtype=np.float32)
            done += 1
        g, c = gold_and_correct(proba, y, ds.multilabel)
        gold.append(g.astype(np.float16))
        correct.append(c)
        proba_sum += proba
    progress(total, total, "cross-validation: done")
    return Dynamics(gold=np.stack(gold), correct=np.stack(correct), mean_proba=(proba_sum / repeats).astype(np.float16),
                    row_ids=row_ids("train", ds.train.texts), evals=[{"repeat": r + 1, "folds": k} for r in range(repeats)],
                    source="cross-validation", multilabel=ds.multilabel,
                    info={"n_train": n, "n_recorded": n, "subsampled": False, "k": k, "repeats": repeats,
                          "seconds": round(time.perf_counter() - t0, 3)})
