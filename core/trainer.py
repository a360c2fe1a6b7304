"""The one training loop every torch family uses (RNN, scratch transformer, pretrained encoders, distillation).

Public API (stable; other families build on it):

    LoopConfig                       dataclass of the common knobs (epochs, batch_size, lr, ..., imbalance, seed)
    LOOP_PARAMS: list[Param]         the same knobs as declarative Params; a family does
                                         PARAMS = OWN_PARAMS + loop_params(lr=5e-5, epochs=2)   # own defaults
    loop_params(**defaults) -> list[Param]
    loop_config(params: dict) -> LoopConfig      picks the loop knobs out of a family's resolved params
    seed_everything(seed) -> None                 torch + numpy + random; call it before building the model
    train_loop(model, encode, dataset, cfg, progress=None, *, soft_targets=None, alpha=1.0, temperature=1.0,
               param_groups=None, trainable=None, family="default", train_view=None, val_logits=None)
                                     -> history dict

Contract of `train_loop`:
    model(**encode(texts)) returns logits (B, k) (or an object with `.logits`, e.g. a HF model output).
    encode(texts) tokenises ONE batch and pads it dynamically -> dict of tensors (input_ids, attention_mask, ...).
    dataset.train is trained on, dataset.validation is evaluated `evals_per_epoch` times per epoch (the last
    one at the epoch end); the best state (by cfg.metric) is kept in memory and restored at the end.
    Loss: cross-entropy (multi-class; optional class weights) or BCE-with-logits (multi-label; optional
    pos_weight). With `soft_targets` (n_train, k) teacher *probabilities*, the loss is
        alpha * CE(student, y) + (1 - alpha) * T² * KL(softmax(log p_teacher / T) || softmax(student / T))
    (multi-label: BCE against sigmoid(logit(p_teacher) / T) instead of the KL term).
    `param_groups` (AdamW groups) replaces the default decay / no-decay split; `trainable(name) -> False`
    freezes that parameter. Cancelled raised by `progress` propagates untouched (the caller writes no artifact).

History dict (JSON-serialisable, stored as metrics.json -> train_info -> history):
    train_loss [[step, loss]], lr [[step, lr]], evals [{step, epoch, val_loss, accuracy, f1_macro, f1_micro}],
    epoch_seconds [s], best_step, best_metric, metric, stopped_early, peak_memory_mb (MB, core.memory), grad_flow
    [{step, layers: [{name, mean_abs, max_abs}]}], n_trainable, n_total, steps_per_epoch, total_steps,
    train_seconds, device, num_processes, budget (core.budget.Budget as a dict + its sentence `text`), best_epoch
    (fractional epoch of the restored weights), threads (core.threads.ThreadChoice), precision (bf16 | fp32),
    max_batch_tokens.

Budgets, memory, threads, precision: `epochs` / `evals_per_epoch` 0 = planned by core.budget from the rows and
classes; `max_batch_tokens` splits a batch into token-budget pieces with gradient accumulation
(core.models.token_budget); `threads` 0 = core.threads' policy; `precision` auto = bf16 autocast where the CPU
has it (core.precision).

Layout: this module holds the knobs and the loop (`train_loop` -> `run_epochs` -> one optimizer step); the
parts live beside it and are re-exported here: `trainer_losses` (class weights, CE/BCE, distillation),
`trainer_eval` (validation metrics, evaluation schedule, best-state `Evaluator`), `trainer_batching`
(length-bucketed, re-sampled batches), `trainer_optim` (schedule, AdamW groups, gradient statistics).

Scale-out: the loop is written against HF `accelerate` (model, optimizer, dataloader and scheduler go through
`Accelerator.prepare`), so `accelerate launch -m core train ...` runs the same code data-parallel on several
GPUs or nodes; on this CPU box it is a single process.
"""
from __future__ import annotations

import contextlib
import dataclasses
import math
import random
import time
from collections.abc import Callable
from dataclasses import dataclass, fields
from typing import Any

import numpy as np
import torch
from torch.utils.data import DataLoader

from .budget import plan_budget
from .data import TextDataset
from .dynamics.record import attach as attach_dynamics
from .memory import MB, PeakMemory
from .models.token_budget import take, token_pieces
from .models.torch_base import logits_to_proba, predict_logits  # noqa: F401 - re-exported
from .params import Param
from .precision import PRECISIONS, autocast, use_precision
from .progress import ProgressCallback, null_progress
from .threads import apply_threads

# The loop's parts live in sibling modules; every name stays importable from core.trainer.
from .trainer_batching import (  # noqa: F401 - re-exported
    BucketBatchSampler,
    Encode,
    balance_groups,
    make_collate,
    make_loader,
)
from .trainer_eval import (  # noqa: F401 - re-exported
    METRICS,
    Evaluator,
    ValLogits,
    eval_points,
    model_logits,
    val_metrics,
)
from .trainer_losses import TrainLoss, build_losses, class_weights  # noqa: F401 - re-exported
from .trainer_optim import _default_groups, _grad_stats, linear_schedule  # noqa: F401 - re-exported

IMBALANCE = ("none", "class_weights", "oversample", "undersample")


@dataclass
class LoopConfig:
    """Common training knobs. Steps count optimizer updates; `patience` counts evaluations (0 = never stop).
    epochs / evals_per_epoch 0 = planned by core.budget (the torch families' default; this class keeps fixed
    numbers for direct callers)."""

    epochs: int = 3
    batch_size: int = 32
    lr: float = 1e-3
    weight_decay: float = 0.01
    warmup_ratio: float = 0.06
    max_grad_norm: float = 1.0
    evals_per_epoch: int = 2
    patience: int = 2
    metric: str = "f1_macro"
    seed: int = 0
    imbalance: str = "none"
    max_steps: int = 0
    grad_stats_every: int = 25
    eval_batch_size: int = 64
    bucket: bool = True
    restore_best: bool = True
    max_batch_tokens: int = 0
    threads: int = 0
    precision: str = "auto"


_HELP = {
    "epochs": "passes over the training split (0 = auto: from the rows and classes, see core/budget.py)",
    "batch_size": "texts per optimizer step (the effective batch, whatever max_batch_tokens splits it into)",
    "lr": "peak learning rate of AdamW (linear warm-up, then linear decay to 0)",
    "weight_decay": "AdamW weight decay (not applied to biases and norms)",
    "warmup_ratio": "share of the steps spent warming the learning rate up",
    "max_grad_norm": "gradient clipping norm (0 = no clipping)",
    "evals_per_epoch": "validation evaluations per epoch, the last at the epoch end (0 = auto: ~8 per run)",
    "patience": "stop after this many evaluations without improvement (0 = never)",
    "metric": "validation metric that picks the best checkpoint",
    "seed": "seed for initialisation, shuffling and dropout",
    "imbalance": "class weights in the loss, or over/under-sampling of the training rows",
    "max_steps": "stop after this many optimizer steps (0 = no limit)",
    "grad_stats_every": "record per-layer gradient statistics every N steps",
    "eval_batch_size": "texts per batch when evaluating / predicting",
    "bucket": "group texts of similar length into batches (less padding, faster)",
    "restore_best": "restore the weights of the best validation evaluation at the end",
    "max_batch_tokens": "most tokens (texts x padded length) per forward pass; larger batches accumulate "
                        "gradients over pieces, so memory does not grow with text length (0 = no limit)",
    "threads": "torch threads (0 = $TEXTLAB_THREADS, else the cores free when training starts)",
    "precision": "auto = bf16 autocast on CPUs with AVX512-BF16 / AMX, else fp32; or force bf16 / fp32",
}
_BOUNDS: dict[str, dict[str, Any]] = {
    "epochs": {"min": 0, "max": 1000},
    "batch_size": {"min": 1, "max": 4096},
    "lr": {"min": 1e-7, "max": 1.0},
    "weight_decay": {"min": 0.0, "max": 1.0, "advanced": True},
    "warmup_ratio": {"min": 0.0, "max": 0.5, "advanced": True},
    "max_grad_norm": {"min": 0.0, "max": 1000.0, "advanced": True},
    "evals_per_epoch": {"min": 0, "max": 100, "advanced": True},
    "patience": {"min": 0, "max": 1000},
    "metric": {"choices": METRICS, "advanced": True},
    "seed": {"min": 0, "max": 2**32 - 1, "advanced": True},  # numpy seeds are 32-bit; torch overflows past 2**64
    "imbalance": {"choices": IMBALANCE},
    "max_steps": {"min": 0, "advanced": True},
    "grad_stats_every": {"min": 1, "advanced": True},
    "eval_batch_size": {"min": 1, "max": 4096, "advanced": True},
    "bucket": {"advanced": True},
    "restore_best": {"advanced": True},
    "max_batch_tokens": {"min": 0, "advanced": True},
    "threads": {"min": 0, "max": 1024, "advanced": True},
    "precision": {"choices": PRECISIONS, "advanced": True},
}


def loop_params(**defaults: Any) -> list[Param]:
    """The loop knobs as Params, with family-specific defaults, e.g. `loop_params(lr=5e-5, epochs=2)`."""
    base = LoopConfig()
    unknown = set(defaults) - {f.name for f in fields(LoopConfig)}
    if unknown:
        raise ValueError(f"unknown loop setting(s) {sorted(unknown)}")
    out = []
    for f in fields(LoopConfig):
        default = defaults.get(f.name, getattr(base, f.name))
        out.append(Param(f.name, default, _HELP[f.name], **_BOUNDS.get(f.name, {})))
    return out


LOOP_PARAMS: list[Param] = loop_params()


def loop_config(params: dict[str, Any]) -> LoopConfig:
    """The LoopConfig inside a family's resolved params (missing knobs keep the LoopConfig defaults)."""
    return LoopConfig(**{f.name: params[f.name] for f in fields(LoopConfig) if f.name in params})


def seed_everything(seed: int) -> None:
    """Seed torch, numpy and random (call before building the model so initialisation is reproducible)."""
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)


@dataclass
class _Run:
    """The accelerate-prepared objects of one run. Steps count optimizer updates (global over processes)."""

    accelerator: Any
    model: torch.nn.Module
    optimizer: torch.optim.Optimizer
    scheduler: Any
    sampler: BucketBatchSampler
    loader: DataLoader
    steps_per_epoch: int
    total_steps: int


def _update(run: _Run, loss_fn: TrainLoss, batch: dict[str, torch.Tensor], max_grad_norm: float,
            grad_stats: bool, max_tokens: int = 0) -> tuple[float, list[dict] | None]:
    """One optimizer step on `batch` (encoded texts + `_labels` + `_index`) -> (training loss, per-layer
    gradient statistics before clipping when `grad_stats`, else None). A batch over `max_tokens` runs as
    token-budget pieces whose losses are weighted by their share of rows and whose gradients accumulate, so
    the step equals one pass over the batch (exact for unweighted mean losses)."""
    run.optimizer.zero_grad(set_to_none=True)
    pieces = token_pieces(batch, max_tokens)
    n, total = len(batch["_labels"]), 0.0
    for j, (rows, width) in enumerate(pieces):
        part = batch if len(pieces) == 1 else take(batch, rows, width)
        y, index = part.pop("_labels"), part.pop("_index")
        # gradients of all but the last piece stay local (data-parallel runs all-reduce once per step)
        sync = run.accelerator.no_sync(run.model) if j + 1 < len(pieces) else contextlib.nullcontext()
        with sync:
            with autocast():  # bf16 matmuls when core.precision says so; the loss itself in fp32
                logits = model_logits(run.model(**part))
            loss = loss_fn(logits.float(), y, index) * (len(y) / n)
            run.accelerator.backward(loss)
        total += float(loss.detach())
    stats = _grad_stats(run.model) if grad_stats else None
    if max_grad_norm > 0:
        run.accelerator.clip_grad_norm_(run.model.parameters(), max_grad_norm)
    run.optimizer.step()
    run.scheduler.step()
    return total, stats


def _validation_ticker(progress: ProgressCallback, step: int, total: int, msg: str,
                       loss: float) -> Callable[[int, int], None]:
    """on_batch callback for validation: reports "(validating b/n)" at the current training step."""
    return lambda b, n: progress(step, total, f"{msg} (validating {b}/{n})", {"loss": loss})


def run_epochs(run: _Run, loss_fn: TrainLoss, evaluate: Evaluator, cfg: LoopConfig, history: dict[str, Any],
               progress: ProgressCallback) -> tuple[int, bool]:
    """The optimisation loop: up to cfg.epochs passes over run.loader, at most run.total_steps optimizer steps.

    Appends train_loss [[step, loss]], lr [[step, lr]], grad_flow (step 1 and every cfg.grad_stats_every steps)
    and epoch_seconds [s] to `history`; validates at the `eval_points` of each epoch and after the last step.
    Returns (optimizer steps done, stopped early because patience ran out). Raises FloatingPointError when
    the loss stops being finite.
    """
    model, total = run.model, run.total_steps
    points = eval_points(run.steps_per_epoch, cfg.evals_per_epoch)
    step, stop = 0, False
    model.train()
    for epoch in range(cfg.epochs):
        run.sampler.set_epoch(epoch)
        if hasattr(run.loader, "set_epoch"):
            run.loader.set_epoch(epoch)
        t_epoch = time.perf_counter()
        msg = f"train: epoch {epoch + 1}/{cfg.epochs}"
        for i, batch in enumerate(run.loader, start=1):
            step += 1
            loss_v, grads = _update(run, loss_fn, batch, cfg.max_grad_norm,
                                    step == 1 or step % cfg.grad_stats_every == 0, cfg.max_batch_tokens)
            if grads is not None:
                history["grad_flow"].append({"step": step, "layers": grads})
            if not math.isfinite(loss_v):
                raise FloatingPointError(f"training diverged at step {step} (loss {loss_v}); lower the lr")
            history["train_loss"].append([step, round(loss_v, 5)])
            history["lr"].append([step, float(run.scheduler.get_last_lr()[0])])
            extra = {"loss": round(loss_v, 4)}
            if evaluate.last:
                extra["val_acc"] = round(evaluate.last["accuracy"], 4)
            progress(step, total, msg, extra)
            last_of_run = step >= total
            if i in points or last_of_run:
                stop = evaluate(run.accelerator.unwrap_model(model), step, epoch + i / run.steps_per_epoch,
                                on_batch=_validation_ticker(progress, step, total, msg, round(loss_v, 5)))
                model.train()
            if stop or last_of_run:
                break
        history["epoch_seconds"].append(round(time.perf_counter() - t_epoch, 4))
        if stop or step >= total:
            break
    return step, stop


def _checked_soft_targets(dataset: TextDataset, cfg: LoopConfig, soft_targets: np.ndarray | None) -> np.ndarray | None:
    """Validate the loop's inputs; returns `soft_targets` as float32 (n_train, k) (or None)."""
    if cfg.metric not in METRICS:
        raise ValueError(f"metric must be one of {METRICS}")
    if cfg.imbalance not in IMBALANCE:
        raise ValueError(f"imbalance must be one of {IMBALANCE}")
    if len(dataset.train) == 0:
        raise ValueError("the training split is empty")
    if soft_targets is None:
        return None
    soft_targets = np.asarray(soft_targets, dtype=np.float32)
    if soft_targets.shape != (len(dataset.train), dataset.n_labels):
        raise ValueError(f"soft_targets must be {(len(dataset.train), dataset.n_labels)}, got {soft_targets.shape}")
    return soft_targets


# ----------------------------------------------------------------------------------------------- the loop
def train_loop(model: torch.nn.Module, encode: Encode, dataset: TextDataset, cfg: LoopConfig,
               progress: ProgressCallback | None = None, *, soft_targets: np.ndarray | None = None,
               alpha: float = 1.0, temperature: float = 1.0, param_groups: list[dict] | None = None,
               trainable: Callable[[str], bool] | None = None, family: str = "default",
               train_view: Callable[[list[str]], list[str]] | None = None, val_logits: ValLogits | None = None
               ) -> dict:
    """Train `model` in place on dataset.train, select the best state on dataset.validation; return the history
    (see the module docstring). Builds the losses (`build_losses`), the validation (`Evaluator`) and the
    accelerate-prepared optimizer, loader and schedule, then runs `run_epochs`. cfg.epochs / evals_per_epoch 0
    are planned by `core.budget.plan_budget` with `family`'s rule; threads and precision follow core.threads /
    core.precision. `train_view(texts) -> texts` is applied to every training batch before `encode` (e.g. a
    random window of a long text, core.models.chunking.WindowPicker); `val_logits(texts, on_batch)` replaces
    `encode` + forward for validation (e.g. aggregated windows, the way the family predicts)."""
    from accelerate import Accelerator

    progress = progress or null_progress
    soft_targets = _checked_soft_targets(dataset, cfg, soft_targets)
    threads = apply_threads(cfg.threads)
    seed_everything(cfg.seed)
    multilabel = dataset.multilabel
    if trainable is not None:
        for name, p in model.named_parameters():
            p.requires_grad_(bool(trainable(name)))
    n_total = sum(p.numel() for p in model.parameters())
    n_trainable = sum(p.numel() for p in model.parameters() if p.requires_grad)

    accelerator = Accelerator(cpu=not torch.cuda.is_available())
    device = accelerator.device
    losses = build_losses(np.asarray(dataset.train.y), dataset.n_labels, multilabel, cfg.imbalance, device,
                          soft_targets, alpha, temperature)
    groups = _default_groups(model, cfg.weight_decay) if param_groups is None else param_groups
    optimizer = torch.optim.AdamW(groups, lr=cfg.lr)
    train_encode = encode if train_view is None else (lambda texts: encode(train_view(texts)))
    sampler, loader = make_loader(train_encode, dataset.train, multilabel, cfg.batch_size, cfg.seed, cfg.bucket,
                                  cfg.imbalance)
    model, optimizer, loader = accelerator.prepare(model, optimizer, loader)
    steps_per_epoch = len(loader)  # after re-sampling: the plan counts the steps actually run
    plan = plan_budget(len(dataset.train), dataset.n_labels, cfg.batch_size, family, cfg.epochs, cfg.evals_per_epoch)
    plan = dataclasses.replace(plan, steps_per_epoch=steps_per_epoch, total_steps=steps_per_epoch * plan.epochs)
    cfg = dataclasses.replace(cfg, epochs=plan.epochs, evals_per_epoch=plan.evals_per_epoch)
    total_steps = steps_per_epoch * cfg.epochs
    if cfg.max_steps:
        total_steps = min(total_steps, cfg.max_steps)
    # the accelerate-wrapped scheduler steps once per process, so count global steps
    scheduler = accelerator.prepare(linear_schedule(optimizer, int(cfg.warmup_ratio * total_steps),
                                                    max(total_steps, 1)))
    run = _Run(accelerator, model, optimizer, scheduler, sampler, loader, steps_per_epoch, total_steps)
    # an automatic plan is not cut short before its minimum number of steps (a user's epochs are theirs to stop)
    evaluate = Evaluator(dataset.validation, encode, multilabel, losses.hard, cfg.metric, cfg.patience,
                         cfg.eval_batch_size, device, min_step=min(plan.target_steps, total_steps)
                         if plan.source == "auto" else 0, logits_fn=val_logits)
    # training dynamics (core.dynamics): records the training rows' gold probabilities when a recording is open
    evaluate = attach_dynamics(evaluate, dataset.train, encode, multilabel, device)

    history: dict[str, Any] = {
        "train_loss": [], "lr": [], "evals": evaluate.evals, "epoch_seconds": [], "grad_flow": [],
        "best_step": None, "best_metric": None, "metric": cfg.metric, "stopped_early": False,
        "n_trainable": int(n_trainable), "n_total": int(n_total), "steps_per_epoch": steps_per_epoch,
        "total_steps": total_steps, "device": str(device), "num_processes": accelerator.num_processes,
        "batch_size": cfg.batch_size, "max_batch_tokens": cfg.max_batch_tokens,
        "budget": {**plan.as_dict(), "text": plan.describe()}, "threads": threads.as_dict(),
    }
    t_start = time.perf_counter()
    # RSS sampled in the background for the whole loop, validation included; validation autocasts like training
    with PeakMemory() as mem, use_precision(cfg.precision) as precision:
        history["precision"] = precision
        step, stop = run_epochs(run, losses.train, evaluate, cfg, history, progress)
    history["stopped_early"] = bool(stop) and step < total_steps  # a stop at the last step ran the whole plan
    raw = accelerator.unwrap_model(model)
    best = evaluate.best
    if cfg.restore_best and best.state is not None:
        best.restore(raw)
    history["best_step"] = best.step if best.step is not None else step
    history["best_metric"] = best.value
    history["best_eval"] = next((e for e in history["evals"] if e["step"] == best.step), None)
    history["best_epoch"] = (history["best_eval"] or {}).get("epoch")  # the epoch whose weights were kept
    history["train_seconds"] = round(time.perf_counter() - t_start, 3)
    peak = mem.peak_mb
    if torch.cuda.is_available():
        peak = max(peak, torch.cuda.max_memory_allocated() / MB)
    history["peak_memory_mb"] = round(peak, 1)
    raw.eval()
    progress(total_steps, total_steps, "train: done", {"val_acc": (history["best_eval"] or {}).get("accuracy")})
    accelerator.free_memory()
    return history
