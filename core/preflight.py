"""Pre-flight estimate of a torch training run: optimisation steps, seconds, peak memory — measured, not guessed.

`estimate(dataset, kind, params)` runs the family's real `fit` on the real data (tokenizer, pretrained start,
model, optimizer, loader: everything the run builds) and stops it after `WARMUP` optimisation steps on real
batches; the model is then discarded. It reads only the loop's public contract:
  * steps     the `total` the loop reports to its progress callback (the trainer's own budget rule);
  * time      seconds per step = the warm-up steps after the first (which pays for lazy allocations) fitted
              against their padded tokens, read at the run's mean tokens per step (`seconds_per_step`,
              `run_tokens_per_step`: the loop's own length-bucketed batches), plus validation (forward passes of
              the validation split at every evaluation, ~1/3 of a training step per text; a family's
              `validation_units(dataset, params)` hook counts windows of long texts) -> total seconds of the
              training loop (an upper bound when early stopping fires);
  * memory    the process's peak RSS during the warm-up (sampled every 5 ms), plus the activations of the
              largest batch the run will see: bytes per token = the steps' RSS growth over their padded tokens
              (input ids seen by the embedding layers), times the tokens of the largest batch
              (batch_size x min(max_length, longest text in characters x tokens per character)),
              plus the copy of the best validation state the loop keeps from its first evaluation on (the
              trainable weights and buffers, core.trainer_eval; the warm-up stops before any evaluation).
  * coverage  families with a pretrained vocabulary (a `vocabulary_coverage(dataset, params)` hook, e.g. the
              transformer family) also measure how well it covers the training texts (core.coverage): pieces per
              word, unknown pieces, the language, and a plain warning with a recommendation when it is poor.
`check_memory` refuses (ParamError with the numbers) when the run needs more than the machine's free memory.
Families without an optimisation loop (TF-IDF, ensembles) have no estimate (ParamError).
"""
from __future__ import annotations

import re
import threading
import time
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np
import psutil

from .dynamics.record import max_rows_setting
from .errors import ParamError
from .memory import MB
from .progress import Cancelled
from .trainer_batching import BucketBatchSampler

WARMUP = 6          # optimisation steps run (the first is discarded from the time per step)
EVAL_COST = 1 / 3   # a forward pass of one text costs about a third of a training step's forward + backward


@dataclass
class Estimate:
    """Numbers of one pre-flight estimate (seconds, MB of 10^6 bytes)."""

    kind: str
    steps: int
    seconds_per_step: float
    train_seconds: float
    eval_seconds: float
    total_seconds: float
    peak_memory_mb: float
    start_memory_mb: float
    free_memory_mb: float
    warmup_steps: int
    largest_batch_tokens: int
    warmup_seconds: float
    details: dict[str, Any] = field(default_factory=dict)
    coverage: dict[str, Any] | None = None  # core.coverage.Coverage.as_dict() for families with the hook

    @property
    def needed_mb(self) -> float:
        """Memory the run adds to this process (MB)."""
        return max(0.0, self.peak_memory_mb - self.start_memory_mb)

    def as_dict(self) -> dict[str, Any]:
        return {**asdict(self), "needed_mb": round(self.needed_mb, 1)}

    def lines(self) -> list[str]:
        return [f"estimate ({self.kind}): {self.steps:,} optimisation steps x {self.seconds_per_step:.3f} s "
                f"+ validation {self.eval_seconds:.0f} s = about {_duration(self.total_seconds)}",
                f"  peak memory about {self.peak_memory_mb:,.0f} MB (largest batch {self.largest_batch_tokens:,} "
                f"tokens); free now {self.free_memory_mb:,.0f} MB; measured in a {self.warmup_steps}-step warm-up "
                f"({self.warmup_seconds:.1f} s)"] + ([f"  {self.coverage['message']}"] if self.coverage else [])


def _duration(s: float) -> str:
    return f"{s:.0f} s" if s < 120 else f"{s / 60:.1f} min"


_PRINTED = re.compile(r"estimate \((?P<kind>[^)]+)\): (?P<steps>[\d,]+) optimisation steps x (?P<per_step>[\d.]+) s "
                      r"\+ validation (?P<eval>[\d.]+) s(?s:.*?)peak memory about (?P<peak>[\d,.]+) MB")


def parse_printed(text: str) -> dict[str, Any] | None:
    """The last estimate `Estimate.lines()` printed in `text` (a training run's output) -> {kind, steps,
    seconds_per_step, eval_seconds, total_seconds, peak_memory_mb}, None when there is none (families without
    an optimisation loop). Seconds are as precise as printed (per step 1 ms, validation 1 s), memory 1 MB."""
    found = list(_PRINTED.finditer(text))
    if not found:
        return None
    m = found[-1]
    steps, per_step, eval_s = int(m["steps"].replace(",", "")), float(m["per_step"]), float(m["eval"])
    return {"kind": m["kind"], "steps": steps, "seconds_per_step": per_step, "eval_seconds": eval_s,
            "total_seconds": round(steps * per_step + eval_s, 1), "peak_memory_mb": float(m["peak"].replace(",", ""))}


class _Probe:
    """Progress callback + global embedding hook: step times, per-step RSS peaks and padded tokens; raises
    `Done` after `warmup` steps (or when the run has fewer)."""

    class Done(Cancelled):
        pass

    def __init__(self, warmup: int) -> None:
        self.warmup, self.total, self.step = warmup, 0, 0
        self.times: list[float] = []
        self.tokens: list[int] = []      # padded tokens (B x T) of each step's largest embedding input
        self.step_tokens: list[int] = []  # padded tokens of the whole step (all token-budget pieces)
        self.step_nonpad: list[int] = []  # real tokens of the whole step
        self.step_rows: list[int] = []    # texts of the whole step
        self.peaks: list[float] = []     # peak RSS (MB) during each step
        self.starts: list[float] = []    # RSS (MB) when each step began
        self._proc = psutil.Process()
        self._largest = 0                # padded tokens of the current step's largest embedding input
        self.model: Any = None           # the first module trained: the whole network (its forward runs first)
        self._sums: dict[int, list[int]] = {}  # per embedding module: [padded, real, rows] summed over the step
        self._peak = 0.0
        self._t = 0.0
        self._stop = threading.Event()

    def _rss(self) -> float:
        return self._proc.memory_info().rss / MB

    def sample(self) -> None:
        while not self._stop.wait(0.005):
            self._peak = max(self._peak, self._rss())

    def hook(self, module: Any, args: tuple) -> None:
        import torch

        if self.model is None and torch.is_grad_enabled():
            self.model = module
        if not isinstance(module, torch.nn.Embedding) or not args or not torch.is_tensor(args[0]):
            return
        ids = args[0]
        if ids.ndim != 2 or not torch.is_grad_enabled():
            return
        if not self._t:  # the first batch of the run starts now: everything before it is set-up
            self._begin()
        self._largest = max(self._largest, ids.numel())
        acc = self._sums.setdefault(id(module), [0, 0, 0])
        acc[0] += ids.numel()
        acc[1] += int((ids != 0).sum())
        acc[2] += ids.shape[0]

    def _begin(self) -> None:
        self._t = time.perf_counter()
        self.starts.append(self._rss())
        self._peak = self.starts[-1]

    def __call__(self, done: float, total: float, message: str = "", extra: dict | None = None) -> None:
        if not message.startswith("train:") or int(done) <= self.step or "validating" in message:
            return
        self.step, self.total = int(done), int(total)
        self.times.append(time.perf_counter() - self._t)
        self.peaks.append(max(self._peak, self._rss()))
        self.tokens.append(self._largest)
        # the word embedding sees every piece of the step; smaller inputs (positions) never win the max
        total = max(self._sums.values(), default=[0, 0, 0])
        self.step_tokens.append(total[0])
        self.step_nonpad.append(total[1])
        self.step_rows.append(total[2])
        self._largest, self._sums = 0, {}
        if self.step >= min(self.warmup, self.total):
            raise self.Done()
        self._begin()


def _loop_settings(fam: Any, resolved: dict[str, Any]) -> None:
    if "batch_size" not in resolved or "epochs" not in resolved:
        raise ParamError(f"{getattr(fam, 'KIND', 'this family')} has no optimisation loop: no pre-flight estimate "
                         "(it trains in one pass)")


def estimate(dataset: Any, kind: str, params: dict[str, Any] | None = None, max_train: int | None = None,
             warmup: int = WARMUP) -> Estimate:
    """Measure a `warmup`-step start of training family `kind` on `dataset` (a name, a path-resolved
    TextDataset) with `params`; see the module docstring for what each number means."""
    import torch

    from .data import TextDataset, apply_max_train, load_dataset
    from .models import family
    from .params import resolve

    fam = family(kind)
    resolved = resolve(fam.PARAMS, params)
    _loop_settings(fam, resolved)
    if hasattr(fam, "check_params"):
        fam.check_params(dict(resolved))
    ds = apply_max_train(dataset, max_train) if isinstance(dataset, TextDataset) else \
        load_dataset(dataset, max_train=max_train)
    coverage_hook = getattr(fam, "vocabulary_coverage", None)
    coverage = coverage_hook(ds, dict(resolved)) if coverage_hook else None
    units_hook = getattr(fam, "validation_units", None)  # e.g. windows of long validation texts
    val_units = units_hook(ds, dict(resolved)) if units_hook else len(ds.validation)
    start_mb = psutil.Process().memory_info().rss / MB
    probe = _Probe(warmup)
    sampler = threading.Thread(target=probe.sample, daemon=True)
    sampler.start()
    handle = torch.nn.modules.module.register_module_forward_pre_hook(probe.hook)
    t0 = time.perf_counter()
    try:
        fam.fit(ds, dict(resolved), probe)
    except _Probe.Done:
        pass
    finally:
        handle.remove()
        probe._stop.set()
        sampler.join()
    warm_s = time.perf_counter() - t0
    if not probe.times:
        raise ParamError(f"{kind}: the warm-up ran no optimisation step (empty training split?)")
    lengths_hook = getattr(fam, "token_lengths", None)  # exact tokens per training text, when the family says
    lengths = lengths_hook(ds, dict(resolved)) if lengths_hook else None
    est = _extrapolate(kind, ds, resolved, probe, start_mb, warm_s, val_units, lengths)
    est.coverage = coverage
    return est


def _extrapolate(kind: str, ds: Any, params: dict[str, Any], probe: _Probe, start_mb: float,
                 warm_s: float, val_units: int | None = None, lengths: np.ndarray | None = None) -> Estimate:
    """Turn the warm-up measurements into the run's steps, seconds and peak memory (module docstring).
    `val_units`: forward passes of one validation (default: the validation texts); every evaluation also scores
    up to TEXTLAB_DYNAMICS_MAX_ROWS training rows (the data map's training dynamics). `lengths`: (n_train,) tokens
    per training text from the family's `token_lengths` hook; else tokens = characters x `tokens_per_char`."""
    val_units = len(ds.validation) if val_units is None else int(val_units)
    from .budget import plan_budget

    bs = int(params["batch_size"])
    # epochs / evaluations as the loop plans them (0 = core.budget's rule; the steps come from the loop itself)
    plan = plan_budget(len(ds.train), ds.n_labels, bs, kind, int(params["epochs"]),
                       int(params.get("evals_per_epoch", 0)))
    epochs, evals_per_epoch = plan.epochs, plan.evals_per_epoch
    steps = probe.total
    steps_per_epoch = max(1, -(-steps // epochs))
    n_evals = min(steps, epochs * evals_per_epoch) if len(ds.validation) else 0
    # tokens per character of this tokenizer on these texts (from the warm-up's real tokens)
    chars = np.array([len(t) for t in ds.train.texts], dtype=float)
    max_len = int(params.get("max_length") or 0)
    batches = list(BucketBatchSampler(chars, bs, int(params.get("seed", 0)), bool(params.get("bucket", True))))
    per_char = tokens_per_char(chars, batches[:len(probe.step_nonpad)], probe.step_nonpad, probe.step_rows, max_len)
    if lengths is None or len(lengths) != len(chars):
        lengths = np.maximum(1.0, np.minimum(chars * per_char, max_len or np.inf))
    run_tokens = float(np.mean([len(b) * lengths[b].max() for b in batches])) if batches else 0.0
    per_step, time_model = seconds_per_step(probe, run_tokens)
    # every evaluation also scores up to max_rows training rows for the data map (core.dynamics, core.train.run)
    dyn_rows = min(len(ds.train), max_rows_setting())
    eval_s = n_evals * (val_units + dyn_rows) * per_step / max(bs, 1) * EVAL_COST
    longest = float(lengths.max()) if len(lengths) else 0.0
    longest_tokens = min(longest, max_len) if max_len else longest
    largest = bs * max(longest_tokens, 1)
    if params.get("max_batch_tokens"):  # token-budget pieces with gradient accumulation cap what one pass holds
        largest = min(largest, int(params["max_batch_tokens"]))
    largest = int(max(largest, max(probe.tokens)))
    # activation bytes per padded token from the steps after the first (the first also allocates the optimizer)
    idx = range(1, len(probe.peaks)) if len(probe.peaks) > 1 else range(len(probe.peaks))
    per_token = max(max((probe.peaks[i] - probe.starts[i]) / max(probe.tokens[i], 1) for i in idx), 0.0)
    at_peak = int(np.argmax(probe.peaks))
    kept = _kept_state_mb(probe.model) if len(ds.validation) else 0.0
    peak = max(probe.peaks) + per_token * max(0, largest - probe.tokens[at_peak]) + kept
    return Estimate(
        kind=kind, steps=steps, seconds_per_step=round(per_step, 4), train_seconds=round(per_step * steps, 1),
        eval_seconds=round(float(eval_s), 4), total_seconds=round(float(per_step * steps + eval_s), 1),
        peak_memory_mb=round(peak, 1), start_memory_mb=round(start_mb, 1),
        free_memory_mb=round(psutil.virtual_memory().available / MB, 1), warmup_steps=len(probe.times),
        largest_batch_tokens=largest, warmup_seconds=round(warm_s, 1),
        details={"steps_per_epoch": steps_per_epoch, "evaluations": n_evals, "tokens_per_char": round(per_char, 4),
                 "step_seconds": [round(t, 4) for t in probe.times], "step_tokens": probe.tokens,
                 "step_peak_mb": [round(p, 1) for p in probe.peaks], "mb_per_1k_tokens": round(per_token * 1e3, 3),
                 "validation_units": val_units, "best_state_mb": round(kept, 3),
                 "run_tokens_per_step": round(run_tokens, 1),
                 "warmup_step_tokens": probe.step_tokens, "time_model": time_model})


def _kept_state_mb(model: Any) -> float:
    """MB of the best-validation copy core.trainer_eval keeps: trainable parameters + buffers of `model`."""
    if model is None:
        return 0.0
    tensors = [p for p in model.parameters() if p.requires_grad] + list(model.buffers())
    return sum(t.numel() * t.element_size() for t in tensors) / MB


def tokens_per_char(chars: np.ndarray, warm_batches: list[list[int]], nonpad: list[int], rows: list[int],
                    max_len: int) -> float:
    """Tokens per character of the tokenizer on these texts. The warm-up ran the loop's first batches (the same
    seeded BucketBatchSampler), so its real tokens are matched to those rows' characters, each text counted at
    most `max_len` tokens (truncation): the `pc` with sum(min(chars x pc, max_len)) = real tokens, by bisection.
    When the batches do not match the warm-up's rows (re-sampling), the mean over the whole split is used."""
    sizes = [len(b) for b in warm_batches]
    if not warm_batches or sizes != list(rows[:len(sizes)]) or sum(nonpad) <= 0:
        return float(sum(nonpad)) / max(sum(rows) * chars.mean(), 1.0)
    seen = chars[np.concatenate([np.asarray(b) for b in warm_batches])]
    cap, target = float(max_len or np.inf), float(sum(nonpad[:len(sizes)]))
    lo, hi = 1e-4, 100.0
    for _ in range(60):
        mid = (lo + hi) / 2
        lo, hi = (mid, hi) if np.minimum(seen * mid, cap).sum() < target else (lo, mid)
    return (lo + hi) / 2


def seconds_per_step(probe: _Probe, run_tokens: float) -> tuple[float, dict[str, Any]]:
    """(seconds of an average step of the run, the model used). A step's time grows with its padded tokens, and
    the warm-up's few batches can be much shorter or longer than the run's average (RuSentiment: 820 tokens in
    the warm-up against 1,835 in the run, and a median step 3x too fast), so the warm-up steps after the first
    are fitted as seconds = a + b x tokens (a >= 0, b > 0: the optimizer's fixed cost plus the per-token cost)
    and read at the run's mean tokens per step; with too little spread in the warm-up's tokens, the ratio
    seconds / tokens is used."""
    times = np.asarray(probe.times[1:] or probe.times, dtype=float)
    tokens = np.asarray((probe.step_tokens[1:] or probe.step_tokens)[:len(times)], dtype=float)
    if len(tokens) != len(times) or not len(times) or run_tokens <= 0 or tokens.min() <= 0:
        return float(np.median(times)), {"model": "median"}
    if len(times) >= 3 and tokens.max() >= 1.5 * tokens.min():
        b, a = np.polyfit(tokens, times, 1)
        if b > 0 and a >= 0:
            return float(a + b * run_tokens), {"model": "linear", "a": round(float(a), 4),
                                               "b_per_1k": round(float(b) * 1e3, 4)}
    rate = float(times.sum() / tokens.sum())
    return rate * run_tokens, {"model": "rate", "per_1k": round(rate * 1e3, 4)}


def check_memory(est: Estimate, force: bool = False) -> None:
    """ParamError naming the numbers when the run needs more memory than is free now (unless `force`)."""
    if not force and est.needed_mb > est.free_memory_mb:
        raise ParamError(f"training would need about {est.needed_mb:,.0f} MB more memory (peak {est.peak_memory_mb:,.0f}"
                         f" MB) but only {est.free_memory_mb:,.0f} MB are free; lower batch_size or max_length, "
                         "train on fewer rows, or pass --force to try anyway")


def preflight(dataset: Any, kind: str, params: dict[str, Any], max_train: int | None, *, only: bool = False,
              force: bool = False) -> bool:
    """What `python -m core train` does first: print the estimate (families with an optimisation loop) and
    refuse when it exceeds the free memory (unless `force`); with `only` also print it as JSON (last line,
    read by the Train page) and return True (= stop here)."""
    import json

    from .models import family
    from .params import resolve

    if "batch_size" not in resolve(family(kind).PARAMS, params) and not only:
        return False  # no optimisation loop: nothing to estimate
    est = estimate(dataset, kind, params, max_train)
    print("\n".join(est.lines()), flush=True)
    if only:
        print(json.dumps({"estimate": est.as_dict()}))
        return True
    check_memory(est, force)
    return False


def estimate_in_subprocess(dataset: str, kind: str, params: dict[str, Any] | None = None,
                           max_train: int | None = None, timeout: float = 900) -> dict[str, Any]:
    """`python -m core train ... --estimate` in a fresh process (the warm-up's memory never stays in the caller,
    e.g. the dashboard's server) -> Estimate.as_dict(); ParamError with the process's last error line."""
    import json
    import os
    import subprocess
    import sys

    from . import config

    args = [sys.executable, "-m", "core", "train", "--dataset", dataset, "--model", kind, "--estimate"]
    for k, v in (params or {}).items():
        args += ["--set", f"{k}={','.join(map(str, v)) if isinstance(v, (list, tuple)) else v}"]
    if max_train:
        args += ["--max-train", str(int(max_train))]
    env = dict(os.environ, TQDM_DISABLE="1")
    try:
        proc = subprocess.run(args, cwd=str(config.ROOT), capture_output=True, text=True, timeout=timeout, env=env)
    except subprocess.TimeoutExpired as e:
        raise ParamError(f"the estimate did not finish within {timeout:.0f} s") from e
    lines = [x for x in proc.stdout.splitlines() if x.startswith('{"estimate"')]
    if proc.returncode or not lines:
        err = [x for x in (proc.stderr or proc.stdout).splitlines() if x.strip()]
        raise ParamError(f"estimate failed: {err[-1] if err else f'exit code {proc.returncode}'}")
    return json.loads(lines[-1])["estimate"]
