"""Pruning: unstructured magnitude sparsity and attention-head removal.

What each one changes, truthfully:
    magnitude   zeroes the smallest |w| of the linear layers (torch.nn.utils.prune, then made permanent). The
                tensors stay dense, so the file size and the latency do NOT change (dense kernels multiply the
                zeros too); only the count of non-zero weights does. Useful as a study of redundancy, and as a
                starting point for int8 (zeros quantize exactly).
    heads       removes whole attention heads of BERT-style encoders (rows of query / key / value, columns of the
                attention output projection). The matrices really shrink, so parameters, file size and latency
                go down in proportion to the attention share of the compute (about a third of each layer in
                MiniLM: removing 1/3 of the heads saves roughly 1/9 of the encoder's work).
Head importance is measured on a validation sample: "gradient" = |∂ loss / ∂ head gate| summed over the sample and
normalised per layer (Michel et al., 2019, "Are sixteen heads really better than one?"), or "entropy" = mean
attention entropy (gradient-free; a diffuse head scores as unimportant).
"""
from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import torch
from torch import nn

from ..errors import ParamError
from ..params import Param
from ..progress import ProgressCallback, null_progress

MAGNITUDE_PARAMS: list[Param] = [
    Param("sparsity", 0.5, "share of the linear-layer weights set to zero", min=0.0, max=0.99),
    Param("scope", "global", "rank weights across all layers (global) or within each layer", choices=("global", "layer")),
    Param("include_head", False, "also prune the classification head"),
]
HEAD_PARAMS: list[Param] = [
    Param("fraction", 0.25, "share of all attention heads to remove", min=0.0, max=0.95),
    Param("importance", "gradient", "head importance: |d loss / d head gate| (Michel et al.) or attention entropy",
          choices=("gradient", "entropy")),
    Param("per_layer", False, "remove the same number of heads in every layer (keeps the attention panel)"),
    Param("sample", 256, "validation texts used to score the heads", min=8, max=100_000),
    Param("batch_size", 32, "texts per forward pass while scoring", min=1, max=1024, advanced=True),
]


# ----------------------------------------------------------------------------------------------- magnitude
def prunable_linears(model: Any, include_head: bool = False) -> list[tuple[str, nn.Linear]]:
    """(path, module) of every float nn.Linear in the model's networks (the classification head only if asked)."""
    from ..models.variants import torch_roots

    out = []
    for attr, root in torch_roots(model).items():
        for name, m in root.named_modules():
            if type(m) is nn.Linear and (include_head or not name.startswith("head")):
                out.append((f"{attr}.{name}", m))
    return out


def magnitude_prune(model: Any, sparsity: float, scope: str = "global", include_head: bool = False) -> dict:
    """Zero the `sparsity` share of smallest-magnitude linear weights in place (permanent); returns statistics."""
    from torch.nn.utils import prune as tprune

    layers = prunable_linears(model, include_head)
    if not layers:
        raise ParamError(f"{type(model).__name__} has no linear layers to prune")
    params = [(m, "weight") for _, m in layers]
    if sparsity > 0:
        if scope == "global":
            tprune.global_unstructured(params, pruning_method=tprune.L1Unstructured, amount=float(sparsity))
        else:
            for m, n in params:
                tprune.l1_unstructured(m, n, amount=float(sparsity))
        for m, n in params:
            tprune.remove(m, n)  # bake the mask into the weight: a plain dense tensor with zeros
    zeros = sum(int((m.weight == 0).sum()) for _, m in layers)
    total = sum(m.weight.numel() for _, m in layers)
    per_layer = [{"layer": p, "sparsity": round(float((m.weight == 0).float().mean()), 4)} for p, m in layers]
    return {"pruned_layers": len(layers), "zero_weights": zeros, "prunable_weights": total,
            "achieved_sparsity": round(zeros / max(total, 1), 4), "per_layer": per_layer,
            "note": "dense storage: file size and latency are unchanged by unstructured sparsity"}


# ----------------------------------------------------------------------------------------------- heads
def attention_blocks(model: Any) -> dict[str, nn.Module]:
    """{path: block} of BERT-style attention blocks (`.self` with query/key/value, `.output.dense`), in order."""
    from ..models.variants import torch_roots

    out: dict[str, nn.Module] = {}
    for attr, root in torch_roots(model).items():
        for name, m in root.named_modules():
            sa = m._modules.get("self")
            out_mod = m._modules.get("output")
            if sa is not None and all(a in sa._modules for a in ("query", "key", "value")) and \
                    out_mod is not None and "dense" in out_mod._modules and hasattr(sa, "attention_head_size"):
                out[f"{attr}.{name}"] = m
    return out


def kept_heads(block: nn.Module) -> list[int]:
    """Original indices of the heads a block still has."""
    sa = block.self
    return list(getattr(sa, "textlab_kept", range(sa.num_attention_heads)))


def _select(lin: nn.Linear, idx: torch.Tensor, dim: int) -> nn.Linear:
    w = lin.weight.detach().index_select(dim, idx)
    new = nn.Linear(w.shape[1], w.shape[0], bias=lin.bias is not None)
    new.weight.data.copy_(w)
    if lin.bias is not None:
        new.bias.data.copy_(lin.bias.detach() if dim == 1 else lin.bias.detach().index_select(0, idx))
    return new.to(lin.weight.dtype)


def _inflate(lin: nn.Linear, idx: torch.Tensor, full: int, dim: int) -> nn.Linear:
    """Inverse of `_select`: a float linear with `full` rows (dim 0) or columns (dim 1), `lin`'s at `idx`, zeros
    elsewhere (a row's bias too; a column-pruned linear keeps its whole bias)."""
    rows, cols = (full, lin.in_features) if dim == 0 else (lin.out_features, full)
    new = nn.Linear(cols, rows, bias=lin.bias is not None)
    with torch.no_grad():
        new.weight.zero_()
        new.weight.index_copy_(dim, idx, lin.weight.float())
        if lin.bias is not None and dim == 1:
            new.bias.copy_(lin.bias.float())
        elif lin.bias is not None:
            new.bias.zero_()
            new.bias.index_copy_(0, idx, lin.bias.float())
    return new


def _positions(heads: list[int], kept: list[int], dh: int) -> torch.Tensor:
    """Feature positions (in the current, possibly shrunk layout) of original heads `heads`."""
    pos = [kept.index(h) for h in heads]
    return torch.cat([torch.arange(p * dh, (p + 1) * dh) for p in pos]) if pos else torch.zeros(0, dtype=torch.long)


def shrink_heads(block: nn.Module, removed: list[int]) -> None:
    """Remove heads `removed` (original indices) from a float attention block in place; ≥ 1 head must remain."""
    sa = block.self
    kept = kept_heads(block)
    new_kept = [h for h in kept if h not in set(removed)]
    if not new_kept:
        raise ParamError("cannot remove every head of a layer")
    if new_kept == kept:
        return
    idx = _positions(new_kept, kept, sa.attention_head_size)
    for name in ("query", "key", "value"):
        setattr(sa, name, _select(getattr(sa, name), idx, 0))
    block.output.dense = _select(block.output.dense, idx, 1)
    sa.num_attention_heads = len(new_kept)
    sa.all_head_size = len(new_kept) * sa.attention_head_size
    sa.textlab_kept = new_kept


def inflate_heads(block: nn.Module, removed: list[int]) -> list[tuple[nn.Module, str, nn.Module]]:
    """Swap in full-size float layers with zeros at the removed heads (for saving in the parent's own format).
    Returns the swaps for `core.compress.quantize.restore`."""
    sa = block.self
    kept = kept_heads(block)
    n_full = len(kept) + len([h for h in removed if h not in kept])
    dh = sa.attention_head_size
    idx = torch.cat([torch.arange(h * dh, (h + 1) * dh) for h in kept])
    swaps = []
    for name in ("query", "key", "value"):
        old = getattr(sa, name)
        setattr(sa, name, _inflate(old, idx, n_full * dh, 0))
        swaps.append((sa, name, old))
    old = block.output.dense
    block.output.dense = _inflate(old, idx, n_full * dh, 1)
    swaps.append((block.output, "dense", old))
    return swaps


def _batches(texts: list[str], y: np.ndarray, batch_size: int):
    for s in range(0, len(texts), batch_size):
        yield texts[s:s + batch_size], y[s:s + batch_size]


def _set_attn(model: Any, impl: str) -> Callable[[], None]:
    """Switch HF encoders under `model` to attention `impl`; returns a function that switches them back."""
    from ..models.variants import torch_roots

    undo = []
    for root in torch_roots(model).values():
        for m in root.modules():
            if hasattr(m, "set_attn_implementation") and hasattr(m, "config"):
                old = getattr(m.config, "_attn_implementation", "sdpa")
                m.set_attn_implementation(impl)
                undo.append((m, old))
    return lambda: [m.set_attn_implementation(old) for m, old in undo]


def head_importance(model: Any, texts: list[str], y: np.ndarray, multilabel: bool, method: str = "gradient",
                    batch_size: int = 32, progress: ProgressCallback = null_progress) -> dict[str, np.ndarray]:
    """{block path: (heads,) importance} over `texts` (labels `y`), larger = more important.

    Heads already removed get importance 0 (they are gone). Needs a classifier with `net` (forward(**batch) ->
    logits) and `encode(texts)`.
    """
    import torch.nn.functional as F

    blocks = attention_blocks(model)
    if not blocks:
        raise ParamError(f"{type(model).__name__} has no BERT-style attention blocks: head pruning needs a "
                         "pretrained-encoder (transformer) model")
    net, encode = model.net, model.encode
    gates = {p: torch.ones(b.self.num_attention_heads, requires_grad=True) for p, b in blocks.items()}
    scores = {p: torch.zeros(b.self.num_attention_heads, dtype=torch.float64) for p, b in blocks.items()}
    hooks = []
    undo = _set_attn(model, "eager") if method == "entropy" else (lambda: None)
    current_mask: dict[str, torch.Tensor] = {}

    def make_hook(path: str, dh: int):
        def hook(module, args, output):
            attn_out, weights = output[0], output[1] if len(output) > 1 else None
            if method == "entropy":
                if weights is None:
                    raise RuntimeError("the encoder returned no attention weights (eager attention needed)")
                mask = current_mask["m"]  # (B, T) 1 = real token
                ent = -(weights.clamp_min(1e-12).log() * weights).sum(-1)  # (B, H, T)
                m = mask[:, None, :].to(ent.dtype)
                scores[path] += ((ent * m).sum((0, 2)) / m.sum((0, 2)).clamp_min(1)).double().detach()
                return None
            shape = attn_out.shape
            gated = attn_out.view(*shape[:-1], -1, dh) * gates[path].to(attn_out.dtype)[:, None]
            return (gated.view(shape),) + tuple(output[1:])
        return hook

    for path, block in blocks.items():
        hooks.append(block.self.register_forward_hook(make_hook(path, block.self.attention_head_size)))
    was_training = net.training
    net.eval()
    n_batches = int(np.ceil(len(texts) / batch_size))
    try:
        for b, (bt, by) in enumerate(_batches(list(texts), np.asarray(y), batch_size)):
            batch = encode(bt)
            current_mask["m"] = batch["attention_mask"]
            if method == "entropy":
                with torch.no_grad():
                    net(**batch)
            else:
                with torch.enable_grad():
                    logits = net(**batch)
                    logits = logits.logits if hasattr(logits, "logits") else logits
                    yt = torch.as_tensor(by)
                    loss = (F.binary_cross_entropy_with_logits(logits.float(), yt.float()) if multilabel
                            else F.cross_entropy(logits.float(), yt.long()))
                    grads = torch.autograd.grad(loss, list(gates.values()))
                for path, g in zip(gates, grads):
                    scores[path] += g.abs().double()
            progress(b + 1, n_batches, "prune-heads: scoring heads")
    finally:
        for h in hooks:
            h.remove()
        undo()
        net.train(was_training)
    out = {}
    for path in blocks:
        s = scores[path].numpy() / max(n_batches, 1)
        if method == "entropy":
            out[path] = -s  # low entropy (a focused head) ranks as more important
        else:
            out[path] = s / (np.linalg.norm(s) + 1e-12)  # per-layer L2 normalisation (Michel et al.)
    return out


def choose_heads(importance: dict[str, np.ndarray], kept: dict[str, list[int]], fraction: float,
                 per_layer: bool, total_heads: int) -> dict[str, list[int]]:
    """Heads to remove ({path: [original head indices]}): the least important `fraction` of `total_heads`,
    ranked globally (at least one head stays in each layer) or the same count in every layer."""
    n_remove = int(round(fraction * total_heads))
    plan: dict[str, list[int]] = {p: [] for p in importance}
    if n_remove <= 0:
        return {}
    if per_layer:
        per = max(0, min(n_remove // max(len(importance), 1), min(len(v) for v in kept.values()) - 1))
        for p, s in importance.items():
            order = np.argsort(s, kind="stable")[:per]
            plan[p] = sorted(kept[p][i] for i in order)
    else:
        cand = sorted((float(s[i]), p, i) for p, s in importance.items() for i in range(len(s)))
        left = {p: len(v) for p, v in kept.items()}
        for _, p, i in cand:
            if n_remove <= 0:
                break
            if left[p] > 1:
                plan[p].append(kept[p][i])
                left[p] -= 1
                n_remove -= 1
    return {p: sorted(v) for p, v in plan.items() if v}
