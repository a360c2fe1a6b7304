"""Training dynamics of torch families: the gold-label probability of every training row at each evaluation.

`core.train.run` opens `recording()` around a family's fit; `core.trainer.train_loop` wraps its validation
`Evaluator` with `attach(...)`, which (only when a recording is open) scores the training rows after every
validation evaluation: batched, in eval mode, under `torch.inference_mode`, with a large batch (the cost is one
forward pass over the training rows per evaluation; a model trained with autocast keeps its dtype). Above
`max_rows` training rows a seeded random subset of `max_rows` rows is recorded (`TEXTLAB_DYNAMICS_MAX_ROWS`,
default 8,000; 0 switches recording off). The cap bounds the cost: each evaluation scores at most 8,000 rows
without gradients (by forward-pass count ~15% of a default GRU run on AG News' 23k rows; not timed).

The result is a `Dynamics` (core.dynamics.store) saved next to the model as dynamics.npz + dynamics.json.
"""
from __future__ import annotations

import contextlib
import os
import time
from collections.abc import Iterator
from contextvars import ContextVar
from typing import Any

import numpy as np

from .rows import row_ids
from .store import Dynamics, gold_and_correct

#: Default cap on recorded training rows (a seeded subset above it).
MAX_ROWS = 8_000
#: Texts per forward pass when scoring the training rows (no gradients, so far more than a training batch).
BATCH = 256


def max_rows_setting() -> int:
    """TEXTLAB_DYNAMICS_MAX_ROWS (0 = do not record), default MAX_ROWS."""
    return int(os.environ.get("TEXTLAB_DYNAMICS_MAX_ROWS", MAX_ROWS))


class Session:
    """One open recording: holds the Recorder the training loop creates (None until then)."""

    def __init__(self, max_rows: int, seed: int = 0) -> None:
        self.max_rows, self.seed = max_rows, seed
        self.recorder: Recorder | None = None

    def result(self) -> Dynamics | None:
        """The recorded Dynamics, or None when the loop never evaluated (or recording is off)."""
        return self.recorder.result() if self.recorder is not None and self.recorder.gold else None


_ACTIVE: ContextVar[Session | None] = ContextVar("textlab_dynamics", default=None)


@contextlib.contextmanager
def recording(max_rows: int | None = None, seed: int = 0) -> Iterator[Session]:
    """Record the training dynamics of every `train_loop` run inside the block (the last run wins)."""
    session = Session(max_rows_setting() if max_rows is None else max_rows, seed)
    token = _ACTIVE.set(session)
    try:
        yield session
    finally:
        _ACTIVE.reset(token)


class Recorder:
    """Scores the (sub-sampled) training rows; `record` appends one evaluation."""

    def __init__(self, split: Any, multilabel: bool, max_rows: int, seed: int) -> None:
        n = len(split)
        idx = np.arange(n)
        if n > max_rows:
            idx = np.sort(np.random.default_rng(seed).choice(n, size=max_rows, replace=False))
        ids = row_ids("train", split.texts)
        self.idx, self.n_train, self.multilabel = idx, n, multilabel
        self.ids = [ids[i] for i in idx]
        self.texts = [split.texts[i] for i in idx]
        self.y = np.asarray(split.y)[idx]
        self.gold: list[np.ndarray] = []
        self.correct: list[np.ndarray] = []
        self.proba_sum: np.ndarray | None = None
        self.evals: list[dict[str, Any]] = []
        self.seconds = 0.0

    def record(self, model: Any, encode: Any, device: Any, step: int, epoch: float) -> None:
        import torch

        from ..models.torch_base import logits_to_proba, predict_logits

        t0 = time.perf_counter()
        with torch.inference_mode():
            logits = predict_logits(model, encode, self.texts, BATCH, device)
        proba = logits_to_proba(logits, self.multilabel)
        gold, correct = gold_and_correct(proba, self.y, self.multilabel)
        self.gold.append(gold.astype(np.float16))
        self.correct.append(correct)
        self.proba_sum = proba.astype(np.float64) if self.proba_sum is None else self.proba_sum + proba
        self.evals.append({"step": int(step), "epoch": round(float(epoch), 3)})
        self.seconds += time.perf_counter() - t0

    def result(self) -> Dynamics:
        mean = (self.proba_sum / len(self.gold)).astype(np.float16)
        return Dynamics(gold=np.stack(self.gold), correct=np.stack(self.correct), mean_proba=mean,
                        row_ids=self.ids, evals=self.evals, source="training", multilabel=self.multilabel,
                        info={"n_train": self.n_train, "n_recorded": len(self.ids),
                              "subsampled": len(self.ids) < self.n_train, "seconds": round(self.seconds, 3)})


class _Recording:
    """The loop's Evaluator with a recording after each call (every other attribute is the Evaluator's)."""

    def __init__(self, inner: Any, recorder: Recorder, encode: Any, device: Any) -> None:
        self._inner, self._recorder, self._encode, self._device = inner, recorder, encode, device

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)

    def __call__(self, model: Any, step: int, epoch: float, **kwargs: Any) -> bool:
        stop = self._inner(model, step, epoch, **kwargs)
        self._recorder.record(model, self._encode, self._device, step, epoch)
        return stop


def attach(evaluator: Any, split: Any, encode: Any, multilabel: bool, device: Any) -> Any:
    """`evaluator`, recording the training dynamics of `split` after each evaluation when a `recording()` is
    open (else `evaluator` itself, untouched)."""
    session = _ACTIVE.get()
    if session is None or session.max_rows <= 0 or len(split) == 0:
        return evaluator
    session.recorder = Recorder(split, multilabel, session.max_rows, session.seed)
    return _Recording(evaluator, session.recorder, encode, device)
