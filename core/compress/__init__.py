"""Compression methods that turn a saved model (the teacher / parent) into a new artifact.

    compress(teacher, method, settings, name, progress) -> artifact folder
Methods (METHODS): distill, static, int8, int8-onnx, fp16, bf16, prune, prune-heads, prune-structured, ensemble. Each
has a Param list
(validated like training settings; `python -m core compress --method M --show-params` lists them).

Every result is saved with `core.train.finish`, so it is evaluated on the same test split as its parent and its
manifest records `parent` (the teacher's name) and `compression` ({method, settings, ...}). Variants that change
storage (int8 / half / head pruning) are saved, re-loaded from disk and only then evaluated, so the metrics are
those of exactly what a later `load_model` returns. A compressed parent can be compressed further (e.g. prune
heads, then int8): the recipes combine on the parent's fp32 weights.
"""
from __future__ import annotations

import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

from ..base import TextClassifier
from ..errors import ParamError
from ..params import Param, resolve
from ..progress import ProgressCallback, null_progress


@dataclass
class Method:
    name: str
    title: str
    description: str
    params: list[Param]
    build: Callable[[Teacher, dict[str, Any], ProgressCallback], tuple[TextClassifier, dict[str, Any]]]
    #: settings not in `params` are allowed (passed to a student family); validated by `build`
    open_settings: bool = False
    extra: dict[str, Any] = field(default_factory=dict)


class Teacher:
    """The parent artifact: its name, manifest, dataset, the model as saved, and a fresh fp32 copy to modify."""

    def __init__(self, name: str, dataset: Any = None) -> None:
        from ..artifacts import ArtifactError, get_artifact

        self.name = name
        if dataset is not None:
            self.dataset = dataset  # fills the cached property (tests pass in-memory datasets)
        self.info = get_artifact(name)
        if self.info.broken:
            raise ArtifactError(f"model {name!r} is broken: {self.info.broken}")

    @cached_property
    def model(self) -> TextClassifier:
        from ..artifacts import load_model

        return load_model(self.name)

    @cached_property
    def dataset(self):
        from ..data import load_dataset

        return load_dataset(self.info.dataset)

    def fresh(self) -> tuple[TextClassifier, dict[str, Any]]:
        """(an fp32 copy of the parent family's classifier, the compression recipe already applied to it)."""
        from ..artifacts import load_model
        from ..models.variants import CompressedClassifier

        if self.info.kind == "compressed":
            path = self.info.path / "model"
            return CompressedClassifier.load_base(path), dict(CompressedClassifier.read_meta(path)["recipe"])
        if self.info.kind == "ensemble":
            raise ParamError("an ensemble cannot be quantized or pruned; compress its members instead")
        return load_model(self.name), {}


# ----------------------------------------------------------------------------------------------- builders
def _variant(base: TextClassifier, recipe: dict[str, Any]) -> TextClassifier:
    from ..models.variants import DEFAULT_RECIPE, CompressedClassifier

    if all(recipe.get(k, v) == v for k, v in DEFAULT_RECIPE.items()):
        return base  # nothing to do at storage / run time: the parent family's own format
    return CompressedClassifier(base, recipe)


def _int8(t: Teacher, s: dict[str, Any], progress: ProgressCallback) -> tuple[TextClassifier, dict]:
    from .onnx_export import runtime_for
    from .onnx_int8 import build_onnx
    from .quantize import int8_recipe

    base, recipe = t.fresh()
    if recipe.get("compute") == "bf16":
        raise ParamError("the parent runs in bf16; quantize its fp32 parent instead")
    # ONNX Runtime's int8 kernels are the faster path (see onnx_int8); torch keeps attention weights and settings
    # that quantize only part of the model
    requested = s.get("runtime", "auto") if s.get("linear", True) and s.get("embedding", True) else "torch"
    if recipe.get("storage") not in (None, "fp32") and requested == "auto":
        requested = "torch"  # a half / int8-stored parent: its own recipe continues in torch
    if runtime_for(base.kind, requested, recipe) == "onnx":
        return build_onnx(base, progress, recipe)
    progress(0, 1, "int8: quantizing")
    return _variant(base, {**recipe, **int8_recipe(s)}), {}


def _half(storage: str):
    def build(t: Teacher, s: dict[str, Any], progress: ProgressCallback) -> tuple[TextClassifier, dict]:
        from .quantize import half_recipe

        base, recipe = t.fresh()
        if recipe.get("storage") == "int8":
            raise ParamError("the parent is stored in int8 already; half precision would not shrink it")
        progress(0, 1, f"{storage}: converting")
        return _variant(base, {**recipe, **half_recipe(storage, s)}), {}
    return build


def _prune(t: Teacher, s: dict[str, Any], progress: ProgressCallback) -> tuple[TextClassifier, dict]:
    from .prune import magnitude_prune

    base, recipe = t.fresh()
    progress(0, 1, "prune: zeroing small weights")
    stats = magnitude_prune(base, s["sparsity"], s["scope"], s["include_head"])
    return _variant(base, recipe), {"pruning": stats}


def _prune_heads(t: Teacher, s: dict[str, Any], progress: ProgressCallback) -> tuple[TextClassifier, dict]:
    import numpy as np

    from .prune import attention_blocks, choose_heads, head_importance

    base, recipe = t.fresh()
    ds = t.dataset
    split = ds.validation if len(ds.validation) else ds.train
    rng = np.random.default_rng(0)
    idx = np.sort(rng.choice(len(split), min(len(split), int(s["sample"])), replace=False))
    sample = split.subset(idx)
    imp = head_importance(base, sample.texts, np.asarray(sample.y), ds.multilabel, s["importance"],
                          int(s["batch_size"]), progress)
    blocks = attention_blocks(base)
    before = {p: [int(h) for h in v] for p, v in (recipe.get("pruned_heads") or {}).items()}
    n_heads = {p: b.self.num_attention_heads for p, b in blocks.items()}
    kept = {p: [h for h in range(n_heads[p]) if h not in before.get(p, [])] for p in blocks}
    sub = {p: imp[p][kept[p]] for p in blocks}
    plan = choose_heads(sub, kept, float(s["fraction"]), bool(s["per_layer"]), sum(n_heads.values()))
    merged = {p: sorted(set(before.get(p, [])) | set(plan.get(p, []))) for p in blocks}
    merged = {p: v for p, v in merged.items() if v}
    info = {"importance": {p: np.round(v, 6).tolist() for p, v in imp.items()}, "removed_heads": merged,
            "heads_total": int(sum(n_heads.values())), "heads_removed": int(sum(len(v) for v in merged.values()))}
    return _variant(base, {**recipe, "pruned_heads": merged}), info


def _distill(t: Teacher, s: dict[str, Any], progress: ProgressCallback) -> tuple[TextClassifier, dict]:
    from .distill import distill

    fresh = None
    if (s.get("student") or "shallow") == "shallow":
        fresh, recipe = t.fresh()
        if recipe.get("pruned_heads"):
            raise ParamError("a shallow student copies layers of an unpruned transformer teacher")
    return distill(t.model, fresh, t.dataset, s, progress, cache_key=f"{t.name}-{t.info.created}")


def _static(t: Teacher, s: dict[str, Any], progress: ProgressCallback) -> tuple[TextClassifier, dict]:
    import numpy as np

    from ..data import apply_max_train
    from ..models import static_fit
    from .distill import teacher_targets

    fresh, _ = t.fresh()  # fp32, unpruned: the tokenizer and encoder the token vectors come from
    if not hasattr(fresh, "tokenizer") or not hasattr(fresh, "net"):
        raise ParamError(f"a static student needs a 'transformer'-family teacher, not {t.info.kind!r}")
    ds = t.dataset
    if s["max_train"] and s["max_train"] < len(ds.train):
        ds = apply_max_train(ds, int(s["max_train"]))
    texts = list(ds.train.texts)
    key = f"{t.name}-{t.info.created}"
    soft = teacher_targets(t.model, texts, progress, cache_key=key)
    return static_fit.build(t.model, fresh, texts, np.asarray(ds.train.y), soft, s, progress, cache_key=key)


def _ensemble(t: Teacher, s: dict[str, Any], progress: ProgressCallback) -> tuple[TextClassifier, dict]:
    from ..models import ensemble

    others = [m for m in s.get("members") or [] if m and m != t.name]
    params = {"members": [t.name, *others], "objective": s["objective"], "max_validation": s["max_validation"]}
    return ensemble.fit(t.dataset, params, progress)


def _onnx(t: Teacher, s: dict[str, Any], progress: ProgressCallback) -> tuple[TextClassifier, dict]:
    from .onnx_int8 import build_onnx_int8

    return build_onnx_int8(t, s, progress)


def _structured(t: Teacher, s: dict[str, Any], progress: ProgressCallback) -> tuple[TextClassifier, dict]:
    from .structured_fit import build

    return build(t, s, progress)


def _methods() -> dict[str, Method]:
    from ..models import ensemble, static_fit
    from . import distill, prune, quantize, structured

    ens_params = [Param("members", [], "other models to combine with the teacher (comma separated)", type=list),
                  *[p for p in ensemble.PARAMS if p.name != "members"]]
    return {m.name: m for m in [
        Method("distill", "Knowledge distillation", distill.__doc__.split("\n\n")[0], distill.OWN_PARAMS, _distill,
               open_settings=True),
        Method("static", "Static-embedding student", "one distilled vector per tokenizer token (PCA, SIF "
               "frequency weighting) averaged over a text + a small head on the teacher's probabilities; numpy-only "
               "inference", static_fit.PARAMS, _static),
        Method("int8", "int8 quantization", "int8 weights, run by ONNX Runtime's int8 kernels when onnxruntime is "
               "installed (runtime=auto), else (or with runtime=torch) int8 weights on disk (per-row scales) and "
               "torch's dynamic-quantized linear layers", quantize.INT8_PARAMS, _int8),
        Method("int8-onnx", "int8 ONNX Runtime", "export to ONNX and quantize with onnxruntime (dynamic int8); "
               "prediction only", [], _onnx),
        Method("fp16", "fp16 storage", "weights stored as float16 (half the file); computed in fp32 after loading",
               quantize.HALF_PARAMS, _half("fp16")),
        Method("bf16", "bf16 storage", "weights stored as bfloat16 (half the file); computed in fp32 after loading "
               "unless compute=bf16", quantize.HALF_PARAMS, _half("bf16")),
        Method("prune", "Magnitude pruning", "zero the smallest linear weights (dense tensors: same file size and "
               "latency)", prune.MAGNITUDE_PARAMS, _prune),
        Method("prune-heads", "Attention-head pruning", "remove the least important attention heads (smaller "
               "matrices: fewer parameters, smaller file, lower latency)", prune.HEAD_PARAMS, _prune_heads),
        Method("prune-structured", "Structured pruning", "remove the least important FFN neurons (and optionally "
               "whole layers), then recover by distillation from the parent (smaller and faster)",
               structured.PARAMS, _structured),
        Method("ensemble", "Weighted ensemble", "weighted vote of the teacher and other saved models, weights tuned "
               "on validation", ens_params, _ensemble),
    ]}


def methods() -> dict[str, Method]:
    """name -> Method (title, description, params)."""
    return _methods()


def resolve_settings(method: str, settings: dict[str, Any] | None) -> dict[str, Any]:
    """Validated settings of `method` (defaults filled; unknown keys kept for open methods like distill)."""
    table = methods()
    if method not in table:
        raise ParamError(f"unknown compression method {method!r}; known: {list(table)}")
    m = table[method]
    given = dict(settings or {})
    if m.open_settings:
        own = {p.name for p in m.params}
        return {**resolve(m.params, {k: v for k, v in given.items() if k in own}),
                **{k: v for k, v in given.items() if k not in own}}
    return resolve(m.params, given)


def default_name(teacher: str, method: str) -> str:
    from ..artifacts import unique_name

    return unique_name(f"{teacher}-{method}")


def _round_trip(model: TextClassifier) -> TextClassifier:
    """Save and re-load a storage variant so it is evaluated exactly as it will load later."""
    from ..models.variants import CompressedClassifier

    if not isinstance(model, CompressedClassifier):
        return model
    with tempfile.TemporaryDirectory(prefix="textlab-compress-") as tmp:
        model.save(Path(tmp) / "m")
        return CompressedClassifier.load(Path(tmp) / "m")


def compress(teacher: str, method: str, settings: dict[str, Any] | None = None, name: str | None = None,
             progress: ProgressCallback | None = None, dataset: Any = None) -> Path:
    """Build `method`'s variant of artifact `teacher`, evaluate it on the test split and save it; returns its folder.

    `dataset` (a TextDataset) replaces loading the teacher's dataset by name (in-memory data in tests).
    Bad settings raise ParamError before any work; a failure or Cancelled leaves no artifact.
    """
    import time

    from ..artifacts import check_new_name
    from ..memory import PeakMemory
    from ..train import finish

    progress = progress or null_progress
    resolved = resolve_settings(method, settings)
    if name is not None:
        check_new_name(name)
    t = Teacher(teacher, dataset)
    progress(0, 1, "data: loading dataset")
    ds = t.dataset
    name = name or default_name(teacher, method)
    t0 = time.perf_counter()
    with PeakMemory() as mem:
        model, info = methods()[method].build(t, resolved, progress)
        model = _round_trip(model)
    seconds = time.perf_counter() - t0
    parent_metrics = t.info.metrics or {}
    compression = {"method": method, "settings": resolved, "parent_kind": t.info.kind,
                   **({"runtime": model.runtime} if isinstance(getattr(model, "runtime", None), str) else {}),
                   "description": getattr(model, "describe", lambda: methods()[method].description)()}
    extra = {"train_seconds": round(seconds, 3), "peak_memory_mb": round(mem.peak_mb, 1),
             "train_info": info, "compression": compression,
             "parent_size_mb": parent_metrics.get("size_mb"), "parent_accuracy": parent_metrics.get("accuracy")}
    return finish(model, ds, name, config={"teacher": teacher, "method": method, **resolved}, extra_metrics=extra,
                  parent=teacher, compression=compression, progress=progress)
