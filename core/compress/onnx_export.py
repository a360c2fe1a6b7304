"""Export any int8-quantizable torch family to ONNX and quantize it with ONNX Runtime (dynamic int8).

Families (EXPORTS, kind -> how to trace it):
    transformer           HF encoder + head (fine-tuned teachers, shallow distilled students): inputs input_ids,
                          attention_mask[, token_type_ids]; outputs (logits, [CLS] state of the last layer)
    rnn                   embedding -> (bi)RNN with packed sequences -> pooling -> head: inputs input_ids,
                          attention_mask; outputs (logits, pooled vector); ONNX's RNN/GRU/LSTM take sequence_lens
    scratch_transformer   the from-scratch encoder: same inputs and outputs as rnn
The legacy TorchScript exporter (`dynamo=False`, opset 17, dynamic batch and length axes) traces a wrapper that
returns (logits, pooled); `onnxruntime.quantization.quantize_dynamic` stores int8 weights (per output channel)
and quantizes activations per call. `runtime_for(...)` is the rule the "int8" method follows: ONNX Runtime when
it is installed and the family exports, torch otherwise (or when asked with runtime=torch).
"""
from __future__ import annotations

import importlib.util
import warnings
from pathlib import Path
from typing import Any

from ..errors import ParamError

INPUTS = ("input_ids", "attention_mask", "token_type_ids")
EXPORTABLE = ("transformer", "rnn", "scratch_transformer")
RUNTIMES = ("auto", "onnx", "torch")


def onnxruntime_installed() -> bool:
    return importlib.util.find_spec("onnxruntime") is not None


def runtime_for(kind: str, requested: str, recipe: dict[str, Any] | None = None) -> str:
    """"onnx" or "torch" for an int8 variant of a `kind` parent (`requested`: auto | onnx | torch).

    auto picks ONNX Runtime when it is installed and the family exports (and the parent does not run in bf16);
    an explicit "onnx" that cannot be honoured raises ParamError."""
    recipe = recipe or {}
    reason = None
    if not onnxruntime_installed():
        reason = "onnxruntime is not installed"
    elif kind not in EXPORTABLE:
        reason = f"{kind!r} models do not export to ONNX (exportable: {', '.join(EXPORTABLE)})"
    elif recipe.get("compute") == "bf16":
        reason = "the parent runs in bf16"
    if requested == "torch" or (requested == "auto" and reason):
        return "torch"
    if reason:
        raise ParamError(f"runtime=onnx is not possible: {reason}")
    return "onnx"


def _transformer(model: Any) -> tuple[Any, tuple, list[str]]:
    import torch

    if model.config.get("penalised_words"):
        raise ParamError("ONNX export does not support penalised_words (an extra input of the attention head)")
    net = model.net.eval()
    batch = model.encode(["an example text for tracing the graph"])
    names = [k for k in INPUTS if k in batch]

    class Wrap(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.net = net

        def forward(self, *args: torch.Tensor):
            out = self.net.run(**dict(zip(names, args)))
            return out["logits"], out["states"][:, 0]

    return Wrap(), tuple(batch[k] for k in names), names


def _scratch(model: Any) -> tuple[Any, tuple, list[str]]:
    import torch

    net = model.net.eval()
    batch = model.encode(["an example text for tracing the graph", "short one"])

    class Wrap(torch.nn.Module):
        """(logits, pooled): the family's forward is head(dropout(pool)); dropout is the identity in eval."""

        def __init__(self) -> None:
            super().__init__()
            self.net = net

        def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor):
            pooled = self.net.pool(input_ids, attention_mask)
            return self.net.head(pooled), pooled

    return Wrap(), (batch["input_ids"], batch["attention_mask"]), ["input_ids", "attention_mask"]


#: kind -> model -> (wrapper module, example inputs, input names)
EXPORTS = {"transformer": _transformer, "rnn": _scratch, "scratch_transformer": _scratch}


def export_int8(model: Any, folder: Path, per_channel: bool = True) -> dict[str, Any]:
    """Export `model` (a family in EXPORTS) to `folder`/fp32.onnx and quantize it to `folder`/int8.onnx."""
    import torch
    from onnxruntime.quantization import QuantType, quantize_dynamic

    if model.kind not in EXPORTS:
        raise ParamError(f"ONNX export supports {', '.join(EXPORTS)} models, not {model.kind!r}")
    wrap, args, names = EXPORTS[model.kind](model)
    axes = {k: {0: "batch", 1: "tokens"} for k in names}
    axes.update(logits={0: "batch"}, cls={0: "batch"})
    with warnings.catch_warnings(), torch.no_grad():
        warnings.simplefilter("ignore")
        torch.onnx.export(wrap.eval(), args, str(folder / "fp32.onnx"), dynamo=False, input_names=names,
                          output_names=["logits", "cls"], dynamic_axes=axes, opset_version=17)
    quantize_dynamic(str(folder / "fp32.onnx"), str(folder / "int8.onnx"), weight_type=QuantType.QInt8,
                     per_channel=per_channel)
    return {"inputs": names, "fp32_mb": (folder / "fp32.onnx").stat().st_size / 1e6,
            "int8_mb": (folder / "int8.onnx").stat().st_size / 1e6}
