"""Compressed variants of any torch classifier: int8, fp16 / bf16 storage, attention-head pruning (and mixes).

A `CompressedClassifier` wraps the parent family's classifier (`base`) and a `recipe`:
    storage        "fp32" | "fp16" | "bf16" | "int8"   how weight files are written (core/compress/storage.py)
    linear         "fp32" | "int8"                     int8 dynamic-quantized linear layers at run time
    embedding      "fp32" | "int8"                     Int8Embedding at run time (int8 rows, per-row scales)
    compute        "fp32" | "bf16"                     dtype of the float parts at run time
    pruned_heads   {"<attr>.<module path>": [removed head indices]}   BERT-style attention blocks, shrunk
    pruned_ffn     {"<attr>.<layer path>": [removed FFN neuron indices]}   BERT-style FFN blocks, shrunk
Everything else (tokenizer, labels, the capability methods of core.base.TextClassifier) is the parent's own code:
calls are delegated, for the capabilities the variant keeps (int8 / bf16 drop "gradients").

Folder written by `save`:
    variant.json   {"format", "kind": "compressed", "base_kind", "recipe"}
    base/          the parent family's folder with every *.safetensors re-encoded (int8 / half / zero rows dropped)
`load` decodes base/ into a temporary float32 folder, calls the parent family's `load` on it, then re-applies the
run-time steps (structural pruning: heads, FFN neurons; then int8) in that fixed order. Saving re-inflates pruned heads with zeros and
dequantizes int8 layers only for the moment of writing, so load(save(m)) predicts exactly like m.
"""
from __future__ import annotations

import contextlib
import json
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from ..base import Attention, GradientTarget, TextClassifier
from ..errors import ArtifactError, CapabilityError

KIND = "compressed"
TITLE = "Compressed variant"
DESCRIPTION = "A quantized / half-precision / head-pruned copy of another model (built by core.compress)."
PARAMS: list = []
FORMAT = 1
DEFAULT_RECIPE: dict[str, Any] = {"storage": "fp32", "linear": "fp32", "embedding": "fp32", "compute": "fp32",
                                  "pruned_heads": {}, "pruned_ffn": {}}


def structural_steps() -> dict[str, tuple[Any, Any]]:
    """recipe key -> (shrink(module, removed), inflate(module, removed) -> swaps): physical pruning steps."""
    from ..compress import prune, structured

    return {"pruned_heads": (prune.shrink_heads, prune.inflate_heads),
            "pruned_ffn": (structured.shrink_ffn, structured.inflate_ffn)}


def torch_roots(model: TextClassifier) -> dict[str, nn.Module]:
    """The nn.Modules a classifier holds as attributes ({"net": ...} for every torch family here)."""
    return {k: v for k, v in vars(model).items() if isinstance(v, nn.Module)}


def resolve_module(model: TextClassifier, path: str) -> nn.Module:
    """`"net.encoder.layer.0.attention"` -> that module of `model`."""
    attr, _, rest = path.partition(".")
    root = torch_roots(model).get(attr)
    if root is None:
        raise ArtifactError(f"{type(model).__name__} has no torch module {attr!r}")
    return root.get_submodule(rest) if rest else root


class CompressedClassifier(TextClassifier):
    """A parent classifier with compressed storage and/or run-time int8 / pruned heads (see module docstring)."""

    kind = KIND

    def __init__(self, base: TextClassifier, recipe: dict[str, Any] | None = None) -> None:
        if isinstance(base, CompressedClassifier):
            raise TypeError("wrap the parent's base classifier, not another CompressedClassifier")
        if not torch_roots(base):
            raise CapabilityError(f"{base.kind!r} models hold no torch network: compression needs a torch model")
        self.base = base
        self.recipe = {**DEFAULT_RECIPE, **(recipe or {})}
        self.labels = list(base.labels)
        self.multilabel = bool(base.multilabel)
        self.threshold = getattr(base, "threshold", 0.5)
        self._n_params = base.n_parameters()
        self._applied = False
        self.apply()

    # ------------------------------------------------------------------ run-time transforms
    def apply(self) -> None:
        """Apply the recipe's run-time steps to `base` (once): prune heads, count parameters, then int8 / bf16."""
        from ..compress import quantize

        if self._applied:
            return
        for key, (shrink, _) in structural_steps().items():
            for path, removed in (self.recipe.get(key) or {}).items():
                shrink(resolve_module(self.base, path), [int(h) for h in removed])
        roots = torch_roots(self.base).values()
        self._n_params = sum(quantize.count_numbers(r) for r in roots)
        for root in roots:
            if self.recipe.get("linear") == "int8":
                quantize.quantize_linear_int8(root)
            if self.recipe.get("embedding") == "int8":
                quantize.quantize_embeddings_int8(root)
            if self.recipe.get("compute") == "bf16":
                root.to(torch.bfloat16)
            root.eval()
        self._applied = True

    @property
    def capabilities(self) -> frozenset[str]:  # type: ignore[override]
        caps = set(self.base.capabilities)
        if self.recipe.get("linear") == "int8" or self.recipe.get("embedding") == "int8" or \
                self.recipe.get("compute") == "bf16":
            caps.discard("gradients")  # int8 modules have no weight gradients; attributions need the fp32 parent
        if self.recipe.get("pruned_heads") and not self.uniform_heads():
            caps.discard("attention")  # (layers, heads, T, T) needs the same number of heads in every layer
        return frozenset(caps)

    def uniform_heads(self) -> bool:
        """True when every pruned layer lost the same number of heads and no layer was left intact."""
        from ..compress import prune

        counts = {len(v) for v in (self.recipe.get("pruned_heads") or {}).values()}
        n_layers = len(prune.attention_blocks(self.base))
        return len(counts) <= 1 and len(self.recipe.get("pruned_heads") or {}) in (0, n_layers)

    # ------------------------------------------------------------------ prediction (delegated)
    def _precision(self):
        """fp32 for int8 linear layers: torch's dynamic-quantized kernels take fp32 inputs only, so the bf16
        autocast the parent would use (core.precision) must not reach them."""
        from ..precision import use_precision

        return use_precision("fp32") if self.recipe.get("linear") == "int8" else contextlib.nullcontext()

    def predict_proba(self, texts: Sequence[str]) -> np.ndarray:
        with torch.inference_mode(), self._precision():
            return np.asarray(self.base.predict_proba(list(texts)), dtype=np.float32)

    def _declaring(self, capability: str) -> TextClassifier:
        """The parent, when this variant keeps `capability` (CapabilityError otherwise)."""
        if capability not in self.capabilities:
            raise CapabilityError(f"this {self.base.kind} variant ({self.describe()}) does not provide {capability}")
        return self.base

    def embed(self, texts: Sequence[str], *args: Any, **kwargs: Any) -> np.ndarray:
        with self._precision():
            return self._declaring("embed").embed(texts, *args, **kwargs)

    def attention(self, text: str, *args: Any, **kwargs: Any) -> Attention:
        with self._precision():
            return self._declaring("attention").attention(text, *args, **kwargs)

    def gradient_target(self) -> GradientTarget:
        return self._declaring("gradients").gradient_target()

    def tokenize(self, text: str) -> list[str]:
        return self._declaring("tokens").tokenize(text)

    def contributions(self, text: str, class_index: int) -> list[tuple[str, float]]:
        return self._declaring("contributions").contributions(text, class_index)

    def contributions_base(self, class_index: int) -> float:
        return self._declaring("contributions").contributions_base(class_index)

    def chunk_proba(self, text: str) -> tuple[list[tuple[int, int]], np.ndarray]:
        with torch.inference_mode(), self._precision():
            return self._declaring("chunks").chunk_proba(text)

    def n_parameters(self) -> int:
        return int(self._n_params)

    def __getattr__(self, name: str) -> Any:
        # family-specific helpers (pieces, encode, predict_logits, ...) of the parent; only called for
        # attributes this object lacks, and never for private names (keeps copy / pickle probes sane)
        if name.startswith("_") or name == "base":
            raise AttributeError(name)
        return getattr(self.base, name)

    def describe(self) -> str:
        """One line saying what is stored and what runs."""
        r = self.recipe
        parts = [f"weights stored {r['storage']}"]
        run = []
        if r["linear"] == "int8":
            run.append("int8 linear layers")
        if r["embedding"] == "int8":
            run.append("int8 embedding rows")
        run.append(f"{r['compute']} elsewhere")
        parts.append("runs " + ", ".join(run))
        if r.get("pruned_heads"):
            n = sum(len(v) for v in r["pruned_heads"].values())
            parts.append(f"{n} attention heads removed")
        if r.get("pruned_ffn"):
            n = sum(len(v) for v in r["pruned_ffn"].values())
            parts.append(f"{n} FFN neurons removed")
        return "; ".join(parts)

    # ------------------------------------------------------------------ persistence
    def save(self, directory: Path) -> None:
        from ..compress import quantize, storage

        directory = Path(directory)
        directory.mkdir(parents=True, exist_ok=True)
        roots = list(torch_roots(self.base).values())
        swaps: list = []
        bf16 = self.recipe.get("compute") == "bf16"
        try:
            for root in roots:
                swaps += quantize.to_float(root)
                if bf16:
                    root.float()
            for key, (_, inflate) in structural_steps().items():
                for path, removed in (self.recipe.get(key) or {}).items():
                    swaps += inflate(resolve_module(self.base, path), [int(h) for h in removed])
            with tempfile.TemporaryDirectory(prefix="textlab-variant-") as tmp:
                self.base.save(Path(tmp) / "base")
                storage.encode_folder(Path(tmp) / "base", directory / "base", self.recipe["storage"])
        finally:
            quantize.restore(swaps)
            if bf16:
                for root in roots:
                    root.to(torch.bfloat16)
        meta = {"format": FORMAT, "kind": KIND, "base_kind": self.base.kind, "recipe": self.recipe,
                "description": self.describe()}
        (directory / "variant.json").write_text(json.dumps(meta, indent=2))

    @staticmethod
    def read_meta(directory: Path) -> dict[str, Any]:
        """variant.json of a saved variant (StorageError with the reason if missing / unreadable)."""
        from ..compress import storage

        try:
            meta = json.loads((Path(directory) / "variant.json").read_text())
        except FileNotFoundError as e:
            raise storage.StorageError(f"{directory} has no variant.json (not a compressed variant)") from e
        except ValueError as e:
            raise storage.StorageError(f"{directory}/variant.json is not valid JSON ({e})") from e
        if not isinstance(meta, dict) or "base_kind" not in meta:
            raise storage.StorageError(f"{directory}/variant.json has no base_kind")
        if meta.get("format", 1) > FORMAT:
            raise storage.StorageError(f"{directory} was written by a newer version (format {meta['format']})")
        return meta

    @classmethod
    def load_base(cls, directory: Path) -> TextClassifier:
        """The parent family's classifier as stored (dequantized to float32, no run-time step applied)."""
        from ..compress import storage
        from . import REGISTRY

        meta = cls.read_meta(directory)
        base_cls = REGISTRY[meta["base_kind"]]
        with tempfile.TemporaryDirectory(prefix="textlab-variant-") as tmp:
            storage.decode_folder(Path(directory) / "base", Path(tmp) / "base")
            base = base_cls.load(Path(tmp) / "base")
            # weights must not point into the temporary files (memory-mapped loads): own copies
            for root in torch_roots(base).values():
                for p in list(root.parameters()) + list(root.buffers()):
                    p.data = p.data.clone()
        return base

    @classmethod
    def load(cls, directory: Path) -> CompressedClassifier:
        return cls(cls.load_base(directory), cls.read_meta(directory).get("recipe"))


CLASSIFIER = CompressedClassifier
