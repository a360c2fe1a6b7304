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
    epoch_seconds [s], best_step, best_metric, metric, stopped_early, peak_memory_mb, grad_flow
    [{step, layers: [{name, mean_abs, max_abs}]}], n_trainable, n_total, steps_per_epoch, total_steps,
    train_seconds, device, num_processes.

Scale-out: the loop is written against HF `accelerate` (model, optimizer, dataloader and scheduler go through
`Accelerator.prepare`), so `accelerate launch -m core train ...` runs the same code data-parallel on several
GPUs or nodes; on this CPU box it is a single process.
"""
from __future__ import annotations

import math
import random
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, fields
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch.utils.data import DataLoader, Sampler

from .config import num_threads
from .data import TextDataset
from .models.torch_base import logits_to_proba, predict_logits  # noqa: F401 - re-exported
from .params import Param
from .progress import ProgressCallback, null_progress

Encode = Callable[[list[str]], dict[str, torch.Tensor]]

METRICS = ("f1_macro", "accuracy", "f1_micro", "val_loss")
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


# ----------------------------------------------------------------------------------------------- batching
class BucketBatchSampler(Sampler[list[int]]):
    """Yields batches of row indices. Each epoch: resample rows (over/under-sampling), shuffle, sort by text
    length inside chunks of `chunk` batches (so a batch holds similar lengths -> little padding), then shuffle
    the batch order. Seeded by (seed, epoch), so runs are reproducible."""

    def __init__(self, lengths: np.ndarray, batch_size: int, seed: int, bucket: bool = True,
                 groups: np.ndarray | None = None, sampling: str = "none", chunk: int = 50) -> None:
        self.lengths = np.asarray(lengths)
        self.batch_size = batch_size
        self.seed = seed
        self.bucket = bucket
        self.groups = groups
        self.sampling = sampling
        self.chunk = chunk
        self.epoch = 0
        self.drop_last = False  # read by accelerate's BatchSamplerShard when sharding over processes

    def set_epoch(self, epoch: int) -> None:
        self.epoch = epoch

    def _rows(self, rng: np.random.Generator) -> np.ndarray:
        n = len(self.lengths)
        if self.sampling not in ("oversample", "undersample") or self.groups is None:
            return rng.permutation(n)
        by_group = [np.flatnonzero(self.groups == g) for g in np.unique(self.groups)]
        sizes = [len(ix) for ix in by_group]
        target = max(sizes) if self.sampling == "oversample" else min(sizes)
        parts = []
        for ix in by_group:
            if len(ix) >= target:
                parts.append(rng.choice(ix, size=target, replace=False))
            else:  # keep every row once, draw the rest with replacement
                parts.append(np.concatenate([ix, rng.choice(ix, size=target - len(ix), replace=True)]))
        return rng.permutation(np.concatenate(parts))

    def _batches(self) -> list[np.ndarray]:
        rng = np.random.default_rng([self.seed, self.epoch])
        rows = self._rows(rng)
        bs = self.batch_size
        if not self.bucket:
            return [rows[i:i + bs] for i in range(0, len(rows), bs)]
        batches = []
        span = bs * self.chunk
        for start in range(0, len(rows), span):
            part = rows[start:start + span]
            part = part[np.argsort(self.lengths[part], kind="stable")]
            batches += [part[i:i + bs] for i in range(0, len(part), bs)]
        order = rng.permutation(len(batches))
        return [batches[i] for i in order]

    def __iter__(self) -> Iterator[list[int]]:
        for b in self._batches():
            yield b.tolist()

    def __len__(self) -> int:
        n = len(self.lengths)
        if self.sampling in ("oversample", "undersample") and self.groups is not None:
            sizes = np.unique(self.groups, return_counts=True)[1]
            n = int((sizes.max() if self.sampling == "oversample" else sizes.min()) * len(sizes))
        if not self.bucket:
            return math.ceil(n / self.batch_size)
        span = self.batch_size * self.chunk
        full, rest = divmod(n, span)
        return full * self.chunk + math.ceil(rest / self.batch_size)


def balance_groups(y: np.ndarray, multilabel: bool) -> np.ndarray:
    """Group id per row for over/under-sampling: the class (multi-class) or, for multi-label rows, the rarest
    positive label (rows without labels form their own group)."""
    if not multilabel:
        return np.asarray(y)
    y = np.asarray(y)
    freq = y.sum(axis=0).astype(float)
    rarity = np.where(y > 0, freq[None, :], np.inf)
    return np.where(y.sum(axis=1) > 0, rarity.argmin(axis=1), y.shape[1])


def class_weights(y: np.ndarray, n_labels: int, multilabel: bool) -> torch.Tensor:
    """Balanced weights: n / (k * count_c) per class, or neg/pos per label (clipped to 50) for multi-label."""
    y = np.asarray(y)
    if multilabel:
        pos = y.sum(axis=0).astype(float)
        return torch.tensor(np.clip((len(y) - pos) / np.maximum(pos, 1), 0.0, 50.0), dtype=torch.float32)
    counts = np.bincount(y, minlength=n_labels).astype(float)
    return torch.tensor(len(y) / (n_labels * np.maximum(counts, 1)), dtype=torch.float32)


class _Rows(torch.utils.data.Dataset):
    def __init__(self, n: int) -> None:
        self.n = n

    def __len__(self) -> int:
        return self.n

    def __getitem__(self, i: int) -> int:
        return i


def make_collate(encode: Encode, texts: list[str], y: np.ndarray, multilabel: bool) -> Callable[[list[int]], dict]:
    """Collate row indices -> encode(texts) + `_labels` + `_index` (popped before the model is called)."""
    ydtype = torch.float32 if multilabel else torch.long

    def collate(rows: list[int]) -> dict[str, torch.Tensor]:
        batch = dict(encode([texts[i] for i in rows]))
        batch["_labels"] = torch.as_tensor(np.asarray(y[rows]), dtype=ydtype)
        batch["_index"] = torch.as_tensor(rows, dtype=torch.long)
        return batch

    return collate


# ----------------------------------------------------------------------------------------------- inference
def _logits(out: Any) -> torch.Tensor:
    return out.logits if hasattr(out, "logits") else out


def val_metrics(logits: np.ndarray, y: np.ndarray, multilabel: bool, loss_fn: Callable) -> dict[str, float]:
    """val_loss, accuracy (subset accuracy for multi-label), f1_macro, f1_micro."""
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


# ----------------------------------------------------------------------------------------------- helpers
def linear_schedule(optimizer: torch.optim.Optimizer, warmup_steps: int, total_steps: int):
    """Linear warm-up to the peak lr, then linear decay to 0 at `total_steps` -- the same schedule as
    transformers.get_linear_schedule_with_warmup, without importing transformers (~10 s here)."""

    def factor(step: int) -> float:
        if step < warmup_steps:
            return step / max(1, warmup_steps)
        return max(0.0, (total_steps - step) / max(1, total_steps - warmup_steps))

    return torch.optim.lr_scheduler.LambdaLR(optimizer, factor)


def _peak_rss_mb() -> float:
    try:
        import psutil

        return psutil.Process().memory_info().rss / 2**20
    except Exception:  # noqa: BLE001 - psutil missing: fall back to the kernel's lifetime peak
        import resource

        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


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


class _Best:
    """Best validation state kept in memory (only trainable tensors and buffers; frozen weights never change)."""

    def __init__(self, metric: str) -> None:
        self.metric = metric
        self.value: float | None = None
        self.step: int | None = None
        self.state: dict[str, torch.Tensor] | None = None

    def better(self, value: float) -> bool:
        if self.value is None:
            return True
        return value < self.value if self.metric == "val_loss" else value > self.value

    def keep(self, model: torch.nn.Module, value: float, step: int) -> None:
        frozen = {n for n, p in model.named_parameters() if not p.requires_grad}
        self.state = {k: v.detach().clone() for k, v in model.state_dict().items() if k not in frozen}
        self.value, self.step = value, step

    def restore(self, model: torch.nn.Module) -> None:
        if self.state is not None:
            model.load_state_dict(self.state, strict=False)


# ----------------------------------------------------------------------------------------------- the loop
def train_loop(model: torch.nn.Module, encode: Encode, dataset: TextDataset, cfg: LoopConfig,
               progress: ProgressCallback | None = None, *, soft_targets: np.ndarray | None = None,
               alpha: float = 1.0, temperature: float = 1.0, param_groups: list[dict] | None = None,
               trainable: Callable[[str], bool] | None = None) -> dict:
    """Train `model` in place on dataset.train, select the best state on dataset.validation; return the history
    (see the module docstring)."""
    from accelerate import Accelerator

    progress = progress or null_progress
    if cfg.metric not in METRICS:
        raise ValueError(f"metric must be one of {METRICS}")
    if cfg.imbalance not in IMBALANCE:
        raise ValueError(f"imbalance must be one of {IMBALANCE}")
    torch.set_num_threads(num_threads())
    seed_everything(cfg.seed)
    multilabel = dataset.multilabel
    train, val = dataset.train, dataset.validation
    if len(train) == 0:
        raise ValueError("the training split is empty")
    y_train = np.asarray(train.y)
    if soft_targets is not None:
        soft_targets = np.asarray(soft_targets, dtype=np.float32)
        if soft_targets.shape != (len(train), dataset.n_labels):
            raise ValueError(f"soft_targets must be {(len(train), dataset.n_labels)}, got {soft_targets.shape}")

    if trainable is not None:
        for name, p in model.named_parameters():
            p.requires_grad_(bool(trainable(name)))
    n_total = sum(p.numel() for p in model.parameters())
    n_trainable = sum(p.numel() for p in model.parameters() if p.requires_grad)

    accelerator = Accelerator(cpu=not torch.cuda.is_available())
    device = accelerator.device

    weight = class_weights(y_train, dataset.n_labels, multilabel) if cfg.imbalance == "class_weights" else None
    weight = weight.to(device) if weight is not None else None
    if multilabel:
        def hard_loss(logits: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
            pw = weight.to(logits.device) if weight is not None else None
            return F.binary_cross_entropy_with_logits(logits, y.float(), pos_weight=pw)
    else:
        def hard_loss(logits: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
            w = weight.to(logits.device) if weight is not None else None
            return F.cross_entropy(logits, y, weight=w)

    soft_t = torch.from_numpy(soft_targets) if soft_targets is not None else None
    T = float(temperature)

    def loss_fn(logits: torch.Tensor, y: torch.Tensor, index: torch.Tensor) -> torch.Tensor:
        loss = hard_loss(logits, y)
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

    groups = _default_groups(model, cfg.weight_decay) if param_groups is None else param_groups
    optimizer = torch.optim.AdamW(groups, lr=cfg.lr)

    sampling = cfg.imbalance if cfg.imbalance in ("oversample", "undersample") else "none"
    sampler = BucketBatchSampler(np.array([len(t) for t in train.texts]), cfg.batch_size, cfg.seed, cfg.bucket,
                                 groups=balance_groups(y_train, multilabel), sampling=sampling)
    loader = DataLoader(_Rows(len(train)), batch_sampler=sampler,
                        collate_fn=make_collate(encode, train.texts, y_train, multilabel))

    model, optimizer, loader = accelerator.prepare(model, optimizer, loader)
    steps_per_epoch = len(loader)
    total_steps = steps_per_epoch * cfg.epochs
    if cfg.max_steps:
        total_steps = min(total_steps, cfg.max_steps)
    # the accelerate-wrapped scheduler steps once per process, so count global steps
    scheduler = linear_schedule(optimizer, int(cfg.warmup_ratio * total_steps),
                                                max(total_steps, 1))
    scheduler = accelerator.prepare(scheduler)

    eval_points = sorted({max(1, round(steps_per_epoch * j / cfg.evals_per_epoch))
                          for j in range(1, cfg.evals_per_epoch + 1)})
    y_val = np.asarray(val.y)

    def eval_loss(logits: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        return hard_loss(logits, y)

    history: dict[str, Any] = {
        "train_loss": [], "lr": [], "evals": [], "epoch_seconds": [], "grad_flow": [],
        "best_step": None, "best_metric": None, "metric": cfg.metric, "stopped_early": False,
        "n_trainable": int(n_trainable), "n_total": int(n_total), "steps_per_epoch": steps_per_epoch,
        "total_steps": total_steps, "device": str(device), "num_processes": accelerator.num_processes,
        "batch_size": cfg.batch_size,
    }
    best = _Best(cfg.metric)
    peak = _peak_rss_mb()
    bad_evals = 0
    step = 0
    last_val: dict[str, float] = {}
    stop = False
    t_start = time.perf_counter()
    msg = ""

    def evaluate(epoch: float) -> bool:
        """Evaluate on validation; True when patience ran out."""
        nonlocal bad_evals, last_val
        if len(val) == 0:
            return False
        raw = accelerator.unwrap_model(model)

        def tick(b: int, n: int) -> None:
            progress(step, total_steps, f"{msg} (validating {b}/{n})", {"loss": history["train_loss"][-1][1]})

        logits = predict_logits(raw, encode, val.texts, cfg.eval_batch_size, device, on_batch=tick)
        last_val = val_metrics(logits, y_val, multilabel, eval_loss)
        history["evals"].append({"step": step, "epoch": round(epoch, 3), **last_val})
        value = last_val[cfg.metric]
        if best.better(value):
            best.keep(raw, value, step)
            bad_evals = 0
            return False
        bad_evals += 1
        return cfg.patience > 0 and bad_evals >= cfg.patience

    model.train()
    for epoch in range(cfg.epochs):
        sampler.set_epoch(epoch)
        if hasattr(loader, "set_epoch"):
            loader.set_epoch(epoch)
        t_epoch = time.perf_counter()
        msg = f"train: epoch {epoch + 1}/{cfg.epochs}"
        for i, batch in enumerate(loader, start=1):
            y = batch.pop("_labels")
            index = batch.pop("_index")
            logits = _logits(model(**batch))
            loss = loss_fn(logits, y, index)
            optimizer.zero_grad(set_to_none=True)
            accelerator.backward(loss)
            step += 1
            if step == 1 or step % cfg.grad_stats_every == 0:
                history["grad_flow"].append({"step": step, "layers": _grad_stats(model)})
            if cfg.max_grad_norm > 0:
                accelerator.clip_grad_norm_(model.parameters(), cfg.max_grad_norm)
            optimizer.step()
            scheduler.step()
            loss_v = float(loss.detach())
            if not math.isfinite(loss_v):
                raise FloatingPointError(f"training diverged at step {step} (loss {loss_v}); lower the lr")
            history["train_loss"].append([step, round(loss_v, 5)])
            history["lr"].append([step, float(scheduler.get_last_lr()[0])])
            peak = max(peak, _peak_rss_mb())
            extra = {"loss": round(loss_v, 4)}
            if last_val:
                extra["val_acc"] = round(last_val["accuracy"], 4)
            progress(step, total_steps, msg, extra)
            last_of_run = step >= total_steps
            if i in eval_points or last_of_run:
                stop = evaluate(epoch + i / steps_per_epoch)
                model.train()
            if stop or last_of_run:
                break
        history["epoch_seconds"].append(round(time.perf_counter() - t_epoch, 4))
        if stop or step >= total_steps:
            break

    history["stopped_early"] = bool(stop)
    raw = accelerator.unwrap_model(model)
    if cfg.restore_best and best.state is not None:
        best.restore(raw)
    history["best_step"] = best.step if best.step is not None else step
    history["best_metric"] = best.value
    history["best_eval"] = next((e for e in history["evals"] if e["step"] == best.step), None)
    history["train_seconds"] = round(time.perf_counter() - t_start, 3)
    if torch.cuda.is_available():
        peak = max(peak, torch.cuda.max_memory_allocated() / 2**20)
    history["peak_memory_mb"] = round(peak, 1)
    raw.eval()
    progress(total_steps, total_steps, "train: done", {"val_acc": (history["best_eval"] or {}).get("accuracy")})
    accelerator.free_memory()
    return history
