"""The `prune-structured` recipe: score, cut layers and FFN neurons, recover by distillation from the parent.

    build(teacher, settings, progress) -> (variant, train_info)
Steps: (1) a seeded calibration sample; (2) with layers_keep, keep the most influential encoder layers
(core.compress.structured.layer_influence) as a shallow copy of the parent; (3) score FFN neurons and remove all
but ffn_keep of every layer; (4) recovery_steps of fine-tuning with the distillation loss of
core.trainer_losses (α·CE + (1 − α)·T²·KL towards the unpruned parent's probabilities on the training rows).
"""
from __future__ import annotations

import dataclasses
import time
from typing import Any

import numpy as np

from ..base import TextClassifier
from ..errors import ParamError
from ..progress import ProgressCallback
from . import structured as st


def _sample(split: Any, n: int, seed: int = 0) -> Any:
    rng = np.random.default_rng(seed)
    return split.subset(np.sort(rng.choice(len(split), min(len(split), int(n)), replace=False)))


def _recover(t: Any, model: TextClassifier, s: dict[str, Any], progress: ProgressCallback) -> dict[str, Any]:
    """Fine-tune `model.net` in place for s["recovery_steps"] steps against the parent's soft targets."""
    from ..data import apply_max_train
    from ..trainer import loop_config, train_loop
    from .distill import teacher_targets

    ds = t.dataset
    steps, bs = int(s["recovery_steps"]), int(s["batch_size"])
    rows = min(len(ds.train), steps * bs)
    train_ds = apply_max_train(ds, rows) if rows < len(ds.train) else ds
    if s["max_validation"] and len(train_ds.validation) > int(s["max_validation"]):
        train_ds = dataclasses.replace(train_ds, validation=_sample(train_ds.validation, int(s["max_validation"])))
    soft = teacher_targets(t.model, list(train_ds.train.texts), progress, cache_key=f"{t.name}-{t.info.created}")
    epochs = int(np.ceil(steps * bs / max(len(train_ds.train), 1)))
    cfg = loop_config({"epochs": max(1, epochs), "batch_size": bs, "lr": float(s["lr"]), "max_steps": steps,
                       "evals_per_epoch": 1, "patience": 0, "restore_best": True, "grad_stats_every": 10_000})
    for p in model.net.parameters():
        p.requires_grad_(True)
    model.net.train()
    history = train_loop(model.net, model.encode, train_ds, cfg, progress, soft_targets=soft,
                         alpha=float(s["alpha"]), temperature=float(s["temperature"]))
    model.net.eval()
    return {"recovery_rows": len(train_ds.train), "recovery_steps": steps, "history": history}


def build(t: Any, s: dict[str, Any], progress: ProgressCallback) -> tuple[TextClassifier, dict[str, Any]]:
    """The pruned (and recovered) variant of teacher `t` (core.compress.Teacher) and what was done."""
    from . import _variant
    from .distill import shallow_copy

    base, recipe = t.fresh()
    layers = st.ffn_layers(base)
    if not layers:
        raise ParamError(f"{base.kind!r} models have no BERT-style FFN blocks: structured pruning needs a "
                         "pretrained-encoder (transformer) model")
    if any(recipe.get(k) not in (None, "fp32") for k in ("storage", "linear", "embedding", "compute")):
        raise ParamError("the parent is quantized or half precision; prune its fp32 parent, then quantize")
    ds = t.dataset
    calib = _sample(ds.validation if len(ds.validation) else ds.train, int(s["sample"]))
    info: dict[str, Any] = {"layers_before": len(layers)}
    t0 = time.perf_counter()
    n_keep_layers = int(s["layers_keep"])
    if n_keep_layers and n_keep_layers < len(layers):
        if recipe.get("pruned_heads") or recipe.get("pruned_ffn"):
            raise ParamError("layers_keep needs a parent without pruned heads or neurons (set layers_keep=0)")
        progress(0, 1, "prune-structured: scoring layers")
        influence = st.layer_influence(base, calib.texts, int(s["batch_size"]))
        kept_layers = st.choose_layers(influence, n_keep_layers)
        base = shallow_copy(base, kept_layers, "copy")
        info.update(layer_influence=np.round(influence, 6).tolist(), kept_layers=kept_layers)
    layers = st.ffn_layers(base)
    widths = {p: st.ffn_width(lay) + len((recipe.get("pruned_ffn") or {}).get(p, [])) for p, lay in layers.items()}
    before = {p: [int(j) for j in (recipe.get("pruned_ffn") or {}).get(p, [])] for p in layers}
    if float(s["ffn_keep"]) < 1.0:
        imp = (st.taylor_importance(base, calib.texts, np.asarray(calib.y), ds.multilabel, int(s["batch_size"]),
                                    progress) if s["importance"] == "taylor" else st.weight_importance(layers))
        kept = {p: st.kept_neurons(lay) for p, lay in layers.items()}
        plan = st.choose_neurons(imp, kept, float(s["ffn_keep"]), widths)
        for p, removed in plan.items():
            st.shrink_ffn(layers[p], removed)
        before = {p: sorted(set(before[p]) | set(plan.get(p, []))) for p in layers}
    pruned = {p: v for p, v in before.items() if v}
    info.update(ffn_sizes=[st.ffn_width(lay) for lay in layers.values()], ffn_original=list(widths.values()),
                scoring_seconds=round(time.perf_counter() - t0, 2), n_parameters_before=t.model.n_parameters())
    if int(s["recovery_steps"]) > 0:
        info["recovery"] = _recover(t, base, s, progress)
    if hasattr(base, "finalize"):
        base.finalize()
    variant = _variant(base, {**recipe, "pruned_ffn": pruned})
    info["n_parameters"] = variant.n_parameters()
    return variant, info

