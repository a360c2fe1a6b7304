"""Losses of the training loop: cross-entropy / BCE with optional class weights, and knowledge distillation.

`build_losses` returns the two losses `core.trainer.train_loop` needs: the training loss (hard labels, plus
the teacher's soft targets when distilling) and the plain hard-label loss that validation reports.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F

#: hard(logits (B, k), y) -> scalar; y is (B,) class indices, or (B, k) 0/1 floats for multi-label.
HardLoss = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]
#: train(logits (B, k), y, index (B,) row numbers in the training split) -> scalar.
TrainLoss = Callable[[torch.Tensor, torch.Tensor, torch.Tensor], torch.Tensor]


def class_weights(y: np.ndarray, n_labels: int, multilabel: bool) -> torch.Tensor:
    """Balanced weights: n / (k * count_c) per class, or neg/pos per label (clipped to 50) for multi-label."""
    y = np.asarray(y)
    if multilabel:
        pos = y.sum(axis=0).astype(float)
        return torch.tensor(np.clip((len(y) - pos) / np.maximum(pos, 1), 0.0, 50.0), dtype=torch.float32)
    counts = np.bincount(y, minlength=n_labels).astype(float)
    return torch.tensor(len(y) / (n_labels * np.maximum(counts, 1)), dtype=torch.float32)


def hard_loss(multilabel: bool, weight: torch.Tensor | None = None) -> HardLoss:
    """Mean cross-entropy with optional class `weight` (k,), or mean BCE-with-logits with optional
    `pos_weight` (k,) for multi-label. The weight follows the logits' device."""
    if multilabel:
        def bce(logits: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
            pw = weight.to(logits.device) if weight is not None else None
            return F.binary_cross_entropy_with_logits(logits, y.float(), pos_weight=pw)
        return bce

    def ce(logits: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        w = weight.to(logits.device) if weight is not None else None
        return F.cross_entropy(logits, y, weight=w)
    return ce


def distillation_loss(hard: HardLoss, soft_targets: np.ndarray | None, multilabel: bool, alpha: float = 1.0,
                      temperature: float = 1.0) -> TrainLoss:
    """alpha * hard + (1 - alpha) * T² * soft, where soft compares the student's logits / T with the teacher's
    probabilities `soft_targets` (n_train, k) of the batch's rows: KL(softmax(log p / T) || softmax(logits / T))
    for multi-class, BCE against sigmoid(logit(p) / T) for multi-label. Without soft targets (or alpha ≥ 1)
    it is the hard loss alone."""
    soft_t = torch.from_numpy(soft_targets) if soft_targets is not None else None
    T = float(temperature)

    def loss_fn(logits: torch.Tensor, y: torch.Tensor, index: torch.Tensor) -> torch.Tensor:
        loss = hard(logits, y)
        if soft_t is None or alpha >= 1.0:
            return loss
        p = soft_t[index.cpu()].to(logits.device).clamp_min(1e-7)
        if multilabel:
            p = p.clamp_max(1 - 1e-7)
            target = torch.sigmoid(torch.log(p / (1 - p)) / T)
            soft = F.binary_cross_entropy_with_logits(logits / T, target)
        else:
            teacher = F.softmax(torch.log(p) / T, dim=-1)
            soft = F.kl_div(F.log_softmax(logits / T, dim=-1), teacher, reduction="batchmean")
        return alpha * loss + (1.0 - alpha) * T * T * soft

    return loss_fn


@dataclass
class Losses:
    """train: the optimised loss (with distillation); hard: the hard-label loss validation reports as val_loss."""

    train: TrainLoss
    hard: HardLoss


def build_losses(y_train: np.ndarray, n_labels: int, multilabel: bool, imbalance: str,
                 device: torch.device | str = "cpu", soft_targets: np.ndarray | None = None, alpha: float = 1.0,
                 temperature: float = 1.0) -> Losses:
    """The loop's losses: class weights from `y_train` ((n,) indices or (n, k) 0/1) when imbalance is
    "class_weights", distillation towards `soft_targets` (n_train, k) probabilities when given."""
    weight = class_weights(y_train, n_labels, multilabel).to(device) if imbalance == "class_weights" else None
    hard = hard_loss(multilabel, weight)
    return Losses(distillation_loss(hard, soft_targets, multilabel, alpha, temperature), hard)
