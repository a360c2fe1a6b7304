"""Validation inside the training loop: metrics of validation logits, the evaluation schedule, and the
`Evaluator` that scores the validation split, keeps the best weights and counts patience."""
from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import torch

from .data import Split
from .models.torch_base import predict_logits
from .trainer_batching import Encode

METRICS = ("f1_macro", "accuracy", "f1_micro", "val_loss")
#: (texts, on_batch) -> (n, k) float32 validation logits, when a family reads texts its own way
ValLogits = Callable[[list[str], Callable[[int, int], None] | None], np.ndarray]


def model_logits(out: Any) -> torch.Tensor:
    """Logits (B, k) of a model output: the tensor itself, or `.logits` of a HF-style output object."""
    return out.logits if hasattr(out, "logits") else out


def val_metrics(logits: np.ndarray, y: np.ndarray, multilabel: bool, loss_fn: Callable) -> dict[str, float]:
    """val_loss, accuracy (subset accuracy for multi-label), f1_macro, f1_micro of logits (n, k) against
    y ((n,) indices or (n, k) 0/1); loss_fn(logits tensor, y tensor) -> scalar."""
    from sklearn.metrics import accuracy_score, f1_score

    with torch.no_grad():
        t = torch.from_numpy(logits)
        yt = torch.as_tensor(np.asarray(y), dtype=torch.float32 if multilabel else torch.long)
        loss = float(loss_fn(t, yt))
    if multilabel:
        pred = (logits >= 0).astype(int)  # sigmoid >= 0.5
    else:
        pred = logits.argmax(axis=1)
    return {
        "val_loss": loss,
        "accuracy": float(accuracy_score(y, pred)),
        "f1_macro": float(f1_score(y, pred, average="macro", zero_division=0)),
        "f1_micro": float(f1_score(y, pred, average="micro", zero_division=0)),
    }


def eval_points(steps_per_epoch: int, evals_per_epoch: int) -> list[int]:
    """Batch numbers (1-based, within an epoch) after which to evaluate: `evals_per_epoch` evenly spaced
    points, the last one at the epoch end (fewer when the epoch has fewer batches)."""
    return sorted({max(1, round(steps_per_epoch * j / evals_per_epoch)) for j in range(1, evals_per_epoch + 1)})


class _Best:
    """Best validation state kept in memory (only trainable tensors and buffers; frozen weights never change)."""

    def __init__(self, metric: str) -> None:
        self.metric = metric
        self.value: float | None = None
        self.loss: float | None = None  # validation loss of the kept state (the tie-breaker)
        self.step: int | None = None
        self.state: dict[str, torch.Tensor] | None = None

    def better(self, value: float, loss: float | None = None) -> bool:
        """True when `value` beats the kept one; a tie on a rate metric is broken by the validation loss
        `loss` (small validation sets tie often: 0.97 macro F1 twice in a row is no reason to stop)."""
        if self.value is None:
            return True
        if self.metric == "val_loss":
            return value < self.value
        if value == self.value and loss is not None and self.loss is not None:
            return loss < self.loss
        return value > self.value

    def keep(self, model: torch.nn.Module, value: float, step: int, loss: float | None = None) -> None:
        frozen = {n for n, p in model.named_parameters() if not p.requires_grad}
        self.state = {k: v.detach().clone() for k, v in model.state_dict().items() if k not in frozen}
        self.value, self.step, self.loss = value, step, loss

    def restore(self, model: torch.nn.Module) -> None:
        if self.state is not None:
            model.load_state_dict(self.state, strict=False)


class Evaluator:
    """Scores `val` during training. Each call appends {step, epoch, val_loss, accuracy, f1_macro, f1_micro} to
    `evals`, keeps the weights of the best evaluation by `metric` (lower is better only for val_loss) in `best`,
    and reports when `patience` evaluations in a row brought no improvement (patience 0 = never) -- never before
    optimizer step `min_step` (the budget rule's minimum: on small data the first evaluations are noisy, and
    stopping there left the SMS spam MiniLM at 252 of the 300 steps the rule asks for)."""

    def __init__(self, val: Split, encode: Encode, multilabel: bool, loss_fn: Callable, metric: str,
                 patience: int, batch_size: int, device: torch.device | str, min_step: int = 0,
                 logits_fn: ValLogits | None = None) -> None:
        self.val, self.encode, self.multilabel, self.loss_fn = val, encode, multilabel, loss_fn
        self.logits_fn = logits_fn  # the family's own reading of the texts (e.g. windows of long texts)
        self.y = np.asarray(val.y)
        self.metric, self.patience, self.batch_size, self.device = metric, patience, batch_size, device
        self.min_step = int(min_step)
        self.best = _Best(metric)
        self.evals: list[dict[str, Any]] = []
        self.last: dict[str, float] = {}  # metrics of the latest evaluation ({} before the first)
        self._bad = 0

    def __call__(self, model: torch.nn.Module, step: int, epoch: float,
                 on_batch: Callable[[int, int], None] | None = None) -> bool:
        """Evaluate the unwrapped `model` at optimizer step `step` (`epoch` fractional, e.g. 1.5); True when
        patience ran out. `on_batch(done, total)` reports validation batches. An empty split is skipped."""
        if len(self.val) == 0:
            return False
        if self.logits_fn is not None:
            logits = self.logits_fn(list(self.val.texts), on_batch)
        else:
            logits = predict_logits(model, self.encode, self.val.texts, self.batch_size, self.device,
                                    on_batch=on_batch)
        self.last = val_metrics(logits, self.y, self.multilabel, self.loss_fn)
        self.evals.append({"step": step, "epoch": round(epoch, 3), **self.last})
        value, loss = self.last[self.metric], self.last["val_loss"]
        if self.best.better(value, loss):
            self.best.keep(model, value, step, loss)
            self._bad = 0
            return False
        self._bad += 1
        return self.patience > 0 and self._bad >= self.patience and step >= self.min_step
