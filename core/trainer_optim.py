"""Optimisation pieces of the training loop: the warm-up + linear-decay schedule, AdamW parameter groups and
per-layer gradient statistics (the gradient-flow plot)."""
from __future__ import annotations

import torch


def linear_schedule(optimizer: torch.optim.Optimizer, warmup_steps: int, total_steps: int):
    """Linear warm-up to the peak lr, then linear decay to 0 at `total_steps` -- the same schedule as
    transformers.get_linear_schedule_with_warmup, without importing transformers (~10 s here)."""

    def factor(step: int) -> float:
        if step < warmup_steps:
            return step / max(1, warmup_steps)
        return max(0.0, (total_steps - step) / max(1, total_steps - warmup_steps))

    return torch.optim.lr_scheduler.LambdaLR(optimizer, factor)


def _default_groups(model: torch.nn.Module, weight_decay: float) -> list[dict]:
    """AdamW groups: no decay on biases, norms and embeddings (decaying them only hurts)."""
    decay, no_decay = [], []
    for name, p in model.named_parameters():
        if not p.requires_grad:
            continue
        lname = name.lower()
        if p.ndim < 2 or "norm" in lname or "embed" in lname:
            no_decay.append(p)
        else:
            decay.append(p)
    groups = [{"params": decay, "weight_decay": weight_decay}, {"params": no_decay, "weight_decay": 0.0}]
    return [g for g in groups if g["params"]]


def _grad_stats(model: torch.nn.Module) -> list[dict]:
    """mean / max |grad| per weight tensor (biases skipped, as in the classic gradient-flow plot)."""
    out = []
    for name, p in model.named_parameters():
        if p.grad is None or "bias" in name:
            continue
        g = p.grad.detach().abs()
        out.append({"name": name.removeprefix("module."), "mean_abs": float(g.mean()), "max_abs": float(g.max())})
    return out
