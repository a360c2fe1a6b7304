"""The training budget rule: how many epochs (and validation evaluations) a torch family trains for, derived from
the number of training rows and classes. Every torch family's `epochs=0` / `evals_per_epoch=0` (the defaults)
means "ask `plan_budget`"; a number the user sets wins.

The rule (one place, documented here, recorded in every model's history as `budget`):

    steps_per_epoch = ceil(rows / batch_size)                       optimizer steps (one per effective batch)
    class_factor    = max(1, sqrt(classes / 4))                     many classes need more steps (77 -> 4.4x)
    target_steps    = min_steps[family] * class_factor              a floor on optimisation, whatever the data size
    epochs          = ceil(target_steps / steps_per_epoch)          small data -> more passes
                      clipped to [min_epochs[family], max_epochs[family]];
                      min_epochs drops to 1 when one epoch alone is >= 4 * target_steps (big data: one pass is plenty)
    evals_per_epoch = clip(round(8 / epochs), 1, 4)                 ~8 validation checks per run, at least 1 an epoch,
                      at most one per 10 steps                      (tiny data: noisy checks must not stop training)

Early stopping (patience, counted in evaluations) restores the best validation state, so a generous epoch count
costs time only while validation still improves. An automatic plan is never stopped before `target_steps` (the
floor above): small validation sets are noisy early on, and a tie on the metric is broken by the validation loss.
Learning rates: a freshly initialised head trains at `head_lr(lr)` = max(lr, HEAD_LR_FLOOR) (a 1e-3 head on a 5e-5
encoder), warm-up is `warmup_ratio` of the steps.
"""
from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Any

#: smallest learning rate of a freshly initialised classification head on a pretrained encoder
HEAD_LR_FLOOR = 1e-3


@dataclass(frozen=True)
class FamilyRule:
    """min_steps: optimizer steps at 4 classes or fewer; epochs are clipped to [min_epochs, max_epochs]."""

    min_steps: int
    min_epochs: int
    max_epochs: int


#: per family (core.models KIND); "default" covers any other torch loop
RULES: dict[str, FamilyRule] = {
    "transformer": FamilyRule(min_steps=300, min_epochs=2, max_epochs=12),  # pretrained: converges fast
    "rnn": FamilyRule(min_steps=800, min_epochs=6, max_epochs=40),  # from scratch: needs many updates
    "scratch_transformer": FamilyRule(min_steps=800, min_epochs=4, max_epochs=40),
    "default": FamilyRule(min_steps=500, min_epochs=3, max_epochs=30),
}


@dataclass(frozen=True)
class Budget:
    """A training plan. steps count optimizer updates; `source` is 'auto' (the rule) or 'user' (epochs set)."""

    epochs: int
    steps_per_epoch: int
    total_steps: int
    evals_per_epoch: int
    target_steps: int
    class_factor: float
    family: str
    source: str

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)

    def describe(self) -> str:
        """'12 epochs x 78 steps = 936 optimizer steps (rule: at least 2,640 steps for 77 classes, capped at 12
        epochs)' -- the sentence the Train page and the CLI show."""
        head = f"{self.epochs} epoch(s) x {self.steps_per_epoch} steps = {self.total_steps:,} optimizer steps"
        if self.source == "user":
            return head + " (epochs set by the user)"
        return head + f" (rule for {self.family}: at least {self.target_steps:,} steps, class factor " \
                      f"{self.class_factor:.2f}; early stopping keeps the best evaluation)"


def plan_budget(n_rows: int, n_classes: int, batch_size: int, family: str = "default", epochs: int = 0,
                evals_per_epoch: int = 0) -> Budget:
    """The plan for `n_rows` training rows of `n_classes` classes in effective batches of `batch_size`.
    `epochs` / `evals_per_epoch` > 0 are the user's and are kept as given."""
    rule = RULES.get(family, RULES["default"])
    spe = max(1, math.ceil(max(n_rows, 1) / max(batch_size, 1)))
    factor = max(1.0, math.sqrt(max(n_classes, 1) / 4))
    target = int(math.ceil(rule.min_steps * factor))
    if epochs > 0:
        n_epochs, source = int(epochs), "user"
    else:
        floor = 1 if spe >= 4 * target else rule.min_epochs
        n_epochs, source = min(max(math.ceil(target / spe), floor), rule.max_epochs), "auto"
    evals = int(evals_per_epoch) if evals_per_epoch > 0 else min(max(round(8 / n_epochs), 1), 4, max(1, spe // 10))
    return Budget(epochs=n_epochs, steps_per_epoch=spe, total_steps=spe * n_epochs, evals_per_epoch=evals,
                  target_steps=target, class_factor=round(factor, 3), family=family, source=source)


def head_lr(lr: float) -> float:
    """Learning rate of a freshly initialised head trained on top of a pretrained encoder at `lr`."""
    return max(float(lr), HEAD_LR_FLOOR)


def run_summary(history: dict[str, Any]) -> str:
    """One sentence about how a recorded run (core.trainer history) used its plan, '' for runs without one:
    'Plan: 5 epoch(s) x 313 steps = ... Ran 1,252 steps; kept the weights of epoch 3.0 (stopped early).
    bf16, 1 thread(s), at most 2,048 tokens per forward pass.'"""
    plan = history.get("budget")
    if not plan:
        return ""
    ran = len(history.get("train_loss") or [])
    kept = history.get("best_epoch")
    parts = [f"Plan: {plan.get('text', '')}.", f"Ran {ran:,} steps" + (
        f"; kept the weights of epoch {kept}" if kept is not None else "") + (
        " (stopped early)." if history.get("stopped_early") else ".")]
    tokens = history.get("max_batch_tokens")
    extra = [history.get("precision"), f"{(history.get('threads') or {}).get('threads', '?')} thread(s)",
             f"at most {tokens:,} tokens per forward pass" if tokens else None]
    parts.append(", ".join(str(x) for x in extra if x) + ".")
    return " ".join(parts)
