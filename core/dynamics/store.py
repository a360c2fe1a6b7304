"""`Dynamics`: per-row gold-label probabilities over a series of evaluations, and their files.

Files (next to a model, or in the cache for cross-validated ones):
    dynamics.npz   gold        float16 (E, N) single-label: p(gold label) per evaluation and training row;
                               (E, N, K) multi-label: per label, p(the row's gold 0/1 value) = p if y=1 else 1-p
                   correct     bool, same shape: the prediction was right (argmax == gold; multi-label: the
                               thresholded 0.5 decision equals the gold value)
                   mean_proba  float16 (N, K): class probabilities averaged over the evaluations (suggestions)
                   row_ids     str (N,): core.dynamics.rows ids of the training rows, in column order
    dynamics.json  source ("training" = recorded during training, "cross-validation" = out-of-fold), evals
                   [{step, epoch}] or [{repeat, folds}], multilabel, info (n_train, n_recorded, subsampled, seconds)
Loaded with allow_pickle=False.
"""
from __future__ import annotations

import io
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from ..atomic import atomic_write_bytes
from ..errors import ArtifactError

FILES = ("dynamics.npz", "dynamics.json")


def gold_and_correct(proba: np.ndarray, y: np.ndarray, multilabel: bool) -> tuple[np.ndarray, np.ndarray]:
    """(gold probability, correct) of proba (N, K) against y ((N,) indices or (N, K) 0/1): shapes (N,) / (N, K)."""
    proba = np.asarray(proba, dtype=np.float32)
    y = np.asarray(y)
    if multilabel:
        gold = np.where(y == 1, proba, 1.0 - proba)
        return gold, (proba >= 0.5) == (y == 1)
    rows = np.arange(len(y))
    return proba[rows, y], proba.argmax(axis=1) == y


@dataclass
class Dynamics:
    gold: np.ndarray
    correct: np.ndarray
    mean_proba: np.ndarray
    row_ids: list[str]
    evals: list[dict[str, Any]]
    source: str
    multilabel: bool = False
    info: dict[str, Any] = field(default_factory=dict)

    @property
    def n_evals(self) -> int:
        return int(self.gold.shape[0])

    def files(self) -> dict[str, bytes]:
        """{file name: bytes} to write next to a model (save_artifact(extra_files=...))."""
        buf = io.BytesIO()
        np.savez_compressed(buf, gold=self.gold.astype(np.float16), correct=self.correct.astype(bool),
                            mean_proba=self.mean_proba.astype(np.float16),
                            row_ids=np.array(self.row_ids, dtype=np.str_))
        meta = {"source": self.source, "evals": self.evals, "multilabel": self.multilabel, "info": self.info,
                "shape": list(self.gold.shape)}
        return {"dynamics.npz": buf.getvalue(), "dynamics.json": json.dumps(meta, indent=1).encode()}

    def save(self, folder: Path) -> None:
        folder.mkdir(parents=True, exist_ok=True)
        for name, data in self.files().items():
            atomic_write_bytes(folder / name, data)


def has_dynamics(folder: Path) -> bool:
    return all((Path(folder) / f).is_file() for f in FILES)


def load_dynamics(folder: Path) -> Dynamics:
    """The Dynamics saved in `folder`; ArtifactError when missing or unreadable."""
    folder = Path(folder)
    try:
        meta = json.loads((folder / "dynamics.json").read_text("utf-8"))
        with np.load(folder / "dynamics.npz", allow_pickle=False) as z:
            gold, correct, mean = z["gold"], z["correct"], z["mean_proba"]
            ids = [str(t) for t in z["row_ids"]]
    except (OSError, ValueError, KeyError) as e:
        raise ArtifactError(f"training dynamics in {folder} are missing or unreadable ({e})") from e
    if gold.shape[1] != len(ids) or correct.shape != gold.shape:
        raise ArtifactError(f"training dynamics in {folder} are inconsistent: {gold.shape} for {len(ids)} rows")
    return Dynamics(gold=gold, correct=correct, mean_proba=mean, row_ids=ids, evals=meta.get("evals", []),
                    source=meta.get("source", "training"), multilabel=bool(meta.get("multilabel")),
                    info=meta.get("info", {}))
