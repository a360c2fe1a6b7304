"""Post-training quantization and half-precision storage of any torch classifier.

int8 (method "int8"), what is stored and what runs:
    linear layers   stored int8 (one scale per output row); at load they become torch dynamic-quantized
                    linear layers (`torch.ao.nn.quantized.dynamic.Linear`, int8 weights, activations quantized
                    per batch) built from exactly the stored int8 values and scales (no second rounding)
    embeddings      stored int8 per row; at run time an `Int8Embedding` keeps the int8 matrix and scales and
                    dequantizes only the looked-up rows, so memory shrinks too
    other ≥2-D float tensors (RNN cells, position tables ≥ 1024 numbers)   stored int8, run in fp32 after load
    biases / norms  stored and run in fp32
fp16 / bf16 (methods "fp16", "bf16"): every float tensor stored in half precision, dequantized to fp32 at load,
    so compute is fp32 (`compute=bf16` runs the network in bfloat16 instead).

`quantize_linear_int8`, `quantize_embeddings_int8` and `to_float` work on any nn.Module tree; the
`CompressedClassifier` (core/models/variants.py) applies them after loading its parent family.
"""
from __future__ import annotations

import warnings
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from ..params import Param
from .storage import int8_rows

#: embeddings smaller than this stay fp32 (position / token-type tables: tiny and used by every token)
MIN_EMBEDDING = 4096


class Int8Embedding(nn.Module):
    """nn.Embedding replacement holding int8 rows + one float32 scale per row; lookups dequantize on the fly.

    forward(ids (...)) -> (..., dim) float32. `weight` returns the dequantized (num, dim) matrix for code that
    reads it (slow: avoid in hot paths)."""

    def __init__(self, qweight: torch.Tensor, scale: torch.Tensor, padding_idx: int | None = None) -> None:
        super().__init__()
        self.register_buffer("qweight", qweight.to(torch.int8).contiguous())
        self.register_buffer("scale", scale.float().contiguous())
        self.num_embeddings, self.embedding_dim = int(qweight.shape[0]), int(qweight.shape[1])
        self.padding_idx = padding_idx

    @classmethod
    def from_float(cls, emb: nn.Embedding) -> Int8Embedding:
        q, scale = int8_rows(emb.weight.detach())
        return cls(q, scale, emb.padding_idx)

    @property
    def weight(self) -> torch.Tensor:
        return self.qweight.float() * self.scale[:, None]

    def forward(self, ids: torch.Tensor) -> torch.Tensor:
        return F.embedding(ids, self.qweight).float() * F.embedding(ids, self.scale[:, None])

    def to_float(self) -> nn.Embedding:
        emb = nn.Embedding(self.num_embeddings, self.embedding_dim, padding_idx=self.padding_idx)
        emb.weight.data.copy_(self.weight)
        return emb

    def extra_repr(self) -> str:
        return f"{self.num_embeddings}, {self.embedding_dim}, int8 rows"


def _qlinear_cls() -> type:
    from torch.ao.nn.quantized.dynamic import Linear as DynamicLinear

    return DynamicLinear


def int8_linear(lin: nn.Linear) -> nn.Module:
    """A dynamic-quantized copy of `lin` (int8 weights with per-row scales as in `storage.int8_rows`)."""
    q, scale = int8_rows(lin.weight.detach())
    with warnings.catch_warnings():  # torch.ao deprecation notices (the kernels are current; see torchao)
        warnings.simplefilter("ignore")
        qweight = torch._make_per_channel_quantized_tensor(q, scale.double(), torch.zeros(len(scale), dtype=torch.long),
                                                           0)
        out = _qlinear_cls()(lin.in_features, lin.out_features, bias_=lin.bias is not None, dtype=torch.qint8)
    out.set_weight_bias(qweight, None if lin.bias is None else lin.bias.detach().float())
    return out


def _swap(root: nn.Module, match, build) -> list[tuple[nn.Module, str, nn.Module]]:
    """Replace every sub-module m with match(m) by build(m); returns [(parent, attr, old module)]."""
    done = []
    for parent in list(root.modules()):
        for attr, child in list(parent.named_children()):
            if match(child):
                setattr(parent, attr, build(child))
                done.append((parent, attr, child))
    return done


def quantize_linear_int8(root: nn.Module) -> int:
    """Replace every plain nn.Linear under `root` by its int8 dynamic version; returns how many.

    Subclasses of nn.Linear (e.g. nn.MultiheadAttention's out_proj, whose weight is read directly) are left alone.
    """
    return len(_swap(root, lambda m: type(m) is nn.Linear, int8_linear))


def quantize_embeddings_int8(root: nn.Module, min_size: int = MIN_EMBEDDING) -> int:
    """Replace every nn.Embedding with ≥ `min_size` numbers by an `Int8Embedding`; returns how many."""
    return len(_swap(root, lambda m: type(m) is nn.Embedding and m.weight.numel() >= min_size,
                     Int8Embedding.from_float))


def _float_linear(q: nn.Module) -> nn.Linear:
    w, b = q.weight().dequantize(), q.bias()
    lin = nn.Linear(w.shape[1], w.shape[0], bias=b is not None)
    lin.weight.data.copy_(w)
    if b is not None:
        lin.bias.data.copy_(b)
    return lin


def to_float(root: nn.Module) -> list[tuple[nn.Module, str, nn.Module]]:
    """Swap int8 modules under `root` for float equivalents (same values); returns the swaps for `restore`."""
    qlin = _qlinear_cls()
    return (_swap(root, lambda m: isinstance(m, qlin), _float_linear)
            + _swap(root, lambda m: isinstance(m, Int8Embedding), lambda m: m.to_float()))


def restore(swaps: list[tuple[nn.Module, str, nn.Module]]) -> None:
    """Undo `to_float` / `_swap` (last swap first)."""
    for parent, attr, old in reversed(swaps):
        setattr(parent, attr, old)


def count_numbers(root: nn.Module) -> int:
    """Learned numbers under `root`, counting int8 linear and embedding weights too (parameters() misses them)."""
    qlin = _qlinear_cls()
    n = 0
    for m in root.modules():
        if isinstance(m, qlin):
            n += m.weight().numel() + (m.bias().numel() if m.bias() is not None else 0)
        elif isinstance(m, Int8Embedding):
            n += m.qweight.numel()
        else:
            n += sum(p.numel() for p in m.parameters(recurse=False))
    return int(n)


# ----------------------------------------------------------------------------------------------- methods
INT8_PARAMS: list[Param] = [
    Param("linear", True, "int8 dynamic quantization of the linear layers (stored and run in int8)"),
    Param("embedding", True, "int8 storage of the embedding matrix, dequantized per looked-up row at run time"),
    Param("runtime", "auto", "where the int8 model runs: ONNX Runtime when installed and the family exports (auto), "
          "always ONNX Runtime (onnx), or torch's dynamic int8 layers (torch, keeps attention weights)",
          choices=("auto", "onnx", "torch")),
]
HALF_PARAMS: list[Param] = [
    Param("compute", "fp32", "run in fp32 after loading (default) or in bfloat16", choices=("fp32", "bf16")),
]


def int8_recipe(settings: dict[str, Any]) -> dict[str, Any]:
    """Recipe of the "int8" method (see CompressedClassifier)."""
    return {"storage": "int8", "linear": "int8" if settings.get("linear", True) else "fp32",
            "embedding": "int8" if settings.get("embedding", True) else "fp32"}


def half_recipe(storage: str, settings: dict[str, Any]) -> dict[str, Any]:
    """Recipe of the "fp16" / "bf16" methods: half-precision files, fp32 (or bf16) compute."""
    return {"storage": storage, "compute": settings.get("compute", "fp32")}
