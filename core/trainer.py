"""The one training loop every torch family uses (RNN, scratch transformer, pretrained encoders, distillation).

Public API (stable; other families build on it):

    LoopConfig                       dataclass of the common knobs (epochs, batch_size, lr, ..., imbalance, seed)
    LOOP_PARAMS: list[Param]         the same knobs as declarative Params; a family does
                                         PARAMS = OWN_PARAMS + loop_params(lr=5e-5, epochs=2)   # own defaults
    loop_params(**defaults) -> list[Param]
    loop_config(params: dict) -> LoopConfig      picks the loop knobs out of a family's resolved params
    seed_everything(seed) -> None                 torch + numpy + random; call it before building the model
    train_loop(model, encode, dataset, cfg, progress=None, *, soft_targets=None, alpha=1.0, temperature=1.0,
               param_groups=None, trainable=None) -> history dict

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
    train_seconds, device, num_processes.

Layout: this module holds the knobs and the loop (`train_loop` -> `run_epochs` -> one optimizer step); the
parts live beside it and are re-exported here: `trainer_losses` (class weights, CE/BCE, distillation),
`trainer_eval` (validation metrics, evaluation schedule, best-state `Evaluator`), `trainer_batching`
(length-bucketed, re-sampled batches).

Scale-out: the loop is written against HF `accelerate` (model, optimizer, dataloader and scheduler go through
`Accelerator.prepare`), so `accelerate launch -m core train ...` runs the same code data-parallel on several
GPUs or nodes; on this CPU box it is a single process.
"""
from __future__ import annotations

import math
import random
import time
from collections.abc import Callable
from dataclasses import dataclass, fields
from typing import Any

import numpy as np
import torch
from torch.utils.data import DataLoader

from .config import num_threads
from .data import TextDataset
from .dynamics.record import attach as attach_dynamics
from .memory import MB, PeakMemory
from .models.torch_base import logits_to_proba, predict_logits  # noqa: F401 - re-exported
from .params import Param
from .progress import ProgressCallback, null_progress

# The loop's parts live in sibling modules; every name stays importable from core.trainer.
from .trainer_batching import (  # noqa: F401 - re-exported
    BucketBatchSampler,
    Encode,
    balance_groups,
    make_collate,
    make_loader,
)
from .trainer_eval import METRICS, Evaluator, eval_points, model_logits, val_metrics  # noqa: F401 - re-exported
from .trainer_losses import TrainLoss, build_losses, class_weights  # noqa: F401 - re-exported

IMBALANCE = ("none", "class_weights", "oversample", "undersample")


@dataclass
class LoopConfig:
    """Common training knobs. Steps count optimizer updates; `patience` counts evaluations (0 = never stop)."""

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


_HELP = {
    "epochs": "passes over the training split",
    "batch_size": "texts per optimizer step",
    "lr": "peak learning rate of AdamW (linear warm-up, then linear decay to 0)",
    "weight_decay": "AdamW weight decay (not applied to biases and norms)",
    "warmup_ratio": "share of the steps spent warming the learning rate up",
    "max_grad_norm": "gradient clipping norm (0 = no clipping)",
    "evals_per_epoch": "validation evaluations per epoch (the last at the epoch end)",
    "patience": "stop after this many evaluations without improvement (0 = never)",
    "metric": "validation metric that picks the best checkpoint",
    "seed": "seed for initialisation, shuffling and dropout",
    "imbalance": "class weights in the loss, or over/under-sampling of the training rows",
    "max_steps": "stop after this many optimizer steps (0 = no limit)",
    "grad_stats_every": "record per-layer gradient statistics every N steps",
    "eval_batch_size": "texts per batch when evaluating / predicting",
    "bucket": "group texts of similar length into batches (less padding, faster)",
    "restore_best": "restore the weights of the best validation evaluation at the end",
}
_BOUNDS: dict[str, dict[str, Any]] = {
    "epochs": {"min": 1, "max": 1000},
    "batch_size": {"min": 1, "max": 4096},
    "lr": {"min": 1e-7, "max": 1.0},
    "weight_decay": {"min": 0.0, "max": 1.0, "advanced": True},
    "warmup_ratio": {"min": 0.0, "max": 0.5, "advanced": True},
    "max_grad_norm": {"min": 0.0, "max": 1000.0, "advanced": True},
    "evals_per_epoch": {"min": 1, "max": 100, "advanced": True},
    "patience": {"min": 0, "max": 1000},
    "metric": {"choices": METRICS, "advanced": True},
    "seed": {"min": 0, "max": 2**32 - 1, "advanced": True},  # numpy seeds are 32-bit; torch overflows past 2**64
    "imbalance": {"choices": IMBALANCE},
    "max_steps": {"min": 0, "advanced": True},
    "grad_stats_every": {"min": 1, "advanced": True},
    "eval_batch_size": {"min": 1, "max": 4096, "advanced": True},
    "bucket": {"advanced": True},
    "restore_best": {"advanced": True},
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


# ----------------------------------------------------------------------------------------------- optimisation
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
            grad_stats: bool) -> tuple[float, list[dict] | None]:
    """One optimizer step on `batch` (encoded texts + `_labels` + `_index`) -> (training loss, per-layer
    gradient statistics before clipping when `grad_stats`, else None)."""
    y = batch.pop("_labels")
    index = batch.pop("_index")
    loss = loss_fn(model_logits(run.model(**batch)), y, index)
    run.optimizer.zero_grad(set_to_none=True)
    run.accelerator.backward(loss)
    stats = _grad_stats(run.model) if grad_stats else None
    if max_grad_norm > 0:
        run.accelerator.clip_grad_norm_(run.model.parameters(), max_grad_norm)
    run.optimizer.step()
    run.scheduler.step()
    return float(loss.detach()), stats


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
                                    step == 1 or step % cfg.grad_stats_every == 0)
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
               trainable: Callable[[str], bool] | None = None) -> dict:
    """Train `model` in place on dataset.train, select the best state on dataset.validation; return the history
    (see the module docstring). Builds the losses (`build_losses`), the validation (`Evaluator`) and the
    accelerate-prepared optimizer, loader and schedule, then runs `run_epochs`."""
    from accelerate import Accelerator

    progress = progress or null_progress
    soft_targets = _checked_soft_targets(dataset, cfg, soft_targets)
    torch.set_num_threads(num_threads())
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
    sampler, loader = make_loader(encode, dataset.train, multilabel, cfg.batch_size, cfg.seed, cfg.bucket,
                                  cfg.imbalance)
    model, optimizer, loader = accelerator.prepare(model, optimizer, loader)
    steps_per_epoch = len(loader)
    total_steps = steps_per_epoch * cfg.epochs
    if cfg.max_steps:
        total_steps = min(total_steps, cfg.max_steps)
    # the accelerate-wrapped scheduler steps once per process, so count global steps
    scheduler = accelerator.prepare(linear_schedule(optimizer, int(cfg.warmup_ratio * total_steps),
                                                    max(total_steps, 1)))
    run = _Run(accelerator, model, optimizer, scheduler, sampler, loader, steps_per_epoch, total_steps)
    evaluate = Evaluator(dataset.validation, encode, multilabel, losses.hard, cfg.metric, cfg.patience,
                         cfg.eval_batch_size, device)
    # training dynamics (core.dynamics): records the training rows' gold probabilities when a recording is open
    evaluate = attach_dynamics(evaluate, dataset.train, encode, multilabel, device)

    history: dict[str, Any] = {
        "train_loss": [], "lr": [], "evals": evaluate.evals, "epoch_seconds": [], "grad_flow": [],
        "best_step": None, "best_metric": None, "metric": cfg.metric, "stopped_early": False,
        "n_trainable": int(n_trainable), "n_total": int(n_total), "steps_per_epoch": steps_per_epoch,
        "total_steps": total_steps, "device": str(device), "num_processes": accelerator.num_processes,
        "batch_size": cfg.batch_size,
    }
    t_start = time.perf_counter()
    with PeakMemory() as mem:  # RSS sampled in the background for the whole loop, validation included
        step, stop = run_epochs(run, losses.train, evaluate, cfg, history, progress)
    history["stopped_early"] = bool(stop)
    raw = accelerator.unwrap_model(model)
    best = evaluate.best
    if cfg.restore_best and best.state is not None:
        best.restore(raw)
    history["best_step"] = best.step if best.step is not None else step
    history["best_metric"] = best.value
    history["best_eval"] = next((e for e in history["evals"] if e["step"] == best.step), None)
    history["train_seconds"] = round(time.perf_counter() - t_start, 3)
    peak = mem.peak_mb
    if torch.cuda.is_available():
        peak = max(peak, torch.cuda.max_memory_allocated() / MB)
    history["peak_memory_mb"] = round(peak, 1)
    raw.eval()
    progress(total_steps, total_steps, "train: done", {"val_acc": (history["best_eval"] or {}).get("accuracy")})
    accelerator.free_memory()
    return history
