"""Structured pruning that pays: whole FFN neurons and whole encoder layers leave the network.

Each BERT-style layer's feed-forward block is `output.dense(act(intermediate.dense(x)))` with an inner width I
(1536 in MiniLM-L6-H384). Removing neuron j deletes row j of `intermediate.dense` (I, H) and column j of
`output.dense` (H, I): both matrices physically shrink, so parameters, file size and latency drop. The FFN is
about two thirds of a layer's multiply-adds at short sequence lengths, so keeping half the neurons in every layer
saves about a third of the encoder's work (≈ 1.5× faster); dropping whole layers saves the rest.

Importance, measured on a calibration sample (validation split, else train):
    taylor   Σ |a_j · ∂loss/∂a_j| over tokens, a_j = the neuron's activation (first-order Taylor estimate of the
             loss change when the neuron is removed; Molchanov et al., 2017)
    weight   ‖row j of intermediate.dense‖ · ‖column j of output.dense‖ (gradient-free)
Layers are ranked by block influence, 1 − mean cos(h_in, h_out) over real tokens (how much the layer changes its
input; Men et al., 2024, "ShortGPT"): the least influential ones go.

Storage: a pruned variant keeps the recipe entry `pruned_ffn` = {"<layer path>": [removed neuron indices]}
(core.models.variants.CompressedClassifier); saving re-inflates the removed neurons as zero rows / columns which
core.compress.storage drops from the file, loading shrinks them again, so the per-layer inner sizes are part of
the saved recipe. Dropped layers leave the saved encoder itself (its config has fewer layers).
"""
from __future__ import annotations

from typing import Any

import numpy as np
import torch
from torch import nn

from ..errors import ParamError
from ..params import Param
from ..progress import ProgressCallback, null_progress
from .prune import _batches, _inflate, _select

PARAMS: list[Param] = [
    Param("ffn_keep", 0.5, "share of the FFN neurons kept in every layer", min=0.02, max=1.0),
    Param("layers_keep", 0, "encoder layers kept, the most influential (0 = all)", min=0, max=1000),
    Param("importance", "taylor", "FFN neuron importance: |activation x gradient| or weight norms",
          choices=("taylor", "weight")),
    Param("sample", 256, "calibration texts used to score neurons and layers", min=8, max=100_000),
    Param("recovery_steps", 200, "optimizer steps of distillation from the unpruned parent (0 = none)", min=0,
          max=1_000_000),
    Param("batch_size", 16, "texts per step (scoring and recovery)", min=1, max=1024, advanced=True),
    Param("lr", 1e-4, "recovery learning rate (AdamW, linear decay)", min=1e-7, max=1.0, advanced=True),
    Param("alpha", 0.5, "recovery: weight of the hard labels (1 - alpha on the parent's soft targets)", min=0.0,
          max=1.0, advanced=True),
    Param("temperature", 2.0, "recovery: distillation temperature", min=0.1, max=50.0, advanced=True),
    Param("max_validation", 500, "validation rows checked during recovery (0 = all)", min=0, advanced=True),
]


def ffn_layers(model: Any) -> dict[str, nn.Module]:
    """{path: layer} of BERT-style layers (`.intermediate.dense` and `.output.dense` linears), in order."""
    from ..models.variants import torch_roots

    out: dict[str, nn.Module] = {}
    for attr, root in torch_roots(model).items():
        for name, m in root.named_modules():
            inter, outp = m._modules.get("intermediate"), m._modules.get("output")
            if inter is not None and outp is not None and isinstance(getattr(inter, "dense", None), nn.Linear) \
                    and isinstance(getattr(outp, "dense", None), nn.Linear):
                out[f"{attr}.{name}"] = m
    return out


def kept_neurons(layer: nn.Module) -> list[int]:
    """Original indices of the FFN neurons a layer still has."""
    inter = layer.intermediate
    return list(getattr(inter, "textlab_kept", range(inter.dense.out_features)))


def ffn_width(layer: nn.Module) -> int:
    return int(layer.intermediate.dense.out_features)


def shrink_ffn(layer: nn.Module, removed: list[int]) -> None:
    """Remove FFN neurons `removed` (original indices) from a float layer in place (idempotent; ≥ 1 stays)."""
    kept = kept_neurons(layer)
    gone = set(int(r) for r in removed)
    new_kept = [j for j in kept if j not in gone]
    if not new_kept:
        raise ParamError("cannot remove every FFN neuron of a layer")
    if new_kept == kept:
        return
    pos = {j: i for i, j in enumerate(kept)}
    idx = torch.tensor([pos[j] for j in new_kept], dtype=torch.long)
    layer.intermediate.dense = _select(layer.intermediate.dense, idx, 0)
    layer.output.dense = _select(layer.output.dense, idx, 1)
    layer.intermediate.textlab_kept = new_kept


def inflate_ffn(layer: nn.Module, removed: list[int]) -> list[tuple[nn.Module, str, nn.Module]]:
    """Swap in full-width float linears with zeros at the removed neurons (for saving); returns the swaps for
    `core.compress.quantize.restore`."""
    kept = kept_neurons(layer)
    full = len(kept) + len([r for r in removed if r not in kept])
    idx = torch.tensor(kept, dtype=torch.long)
    old_in, old_out = layer.intermediate.dense, layer.output.dense
    layer.intermediate.dense, layer.output.dense = _inflate(old_in, idx, full, 0), _inflate(old_out, idx, full, 1)
    return [(layer.intermediate, "dense", old_in), (layer.output, "dense", old_out)]


# ----------------------------------------------------------------------------------------------- importance
def weight_importance(layers: dict[str, nn.Module]) -> dict[str, np.ndarray]:
    """{path: (I,)} ‖intermediate row‖ · ‖output column‖ per current neuron."""
    return {p: (lay.intermediate.dense.weight.detach().float().norm(dim=1)
                * lay.output.dense.weight.detach().float().norm(dim=0)).numpy() for p, lay in layers.items()}


def taylor_importance(model: Any, texts: list[str], y: np.ndarray, multilabel: bool, batch_size: int = 16,
                      progress: ProgressCallback = null_progress) -> dict[str, np.ndarray]:
    """{path: (I,)} mean over batches of Σ_tokens |a · ∂loss/∂a| of each current FFN neuron (padding excluded).
    Needs a classifier with `net` (forward(**batch) -> logits) and `encode(texts)`."""
    import torch.nn.functional as F

    layers = ffn_layers(model)
    acts: dict[str, torch.Tensor] = {}
    hooks = [lay.intermediate.register_forward_hook(lambda m, a, out, p=p: acts.__setitem__(p, out))
             for p, lay in layers.items()]
    scores = {p: torch.zeros(ffn_width(lay), dtype=torch.float64) for p, lay in layers.items()}
    net = model.net
    was_training = net.training
    frozen = [q for q in net.parameters() if not q.requires_grad]
    for q in frozen:  # a loaded model is frozen (finalize); activations need a graph back to the weights
        q.requires_grad_(True)
    net.eval()
    n_batches = int(np.ceil(len(texts) / batch_size))
    try:
        for b, (bt, by) in enumerate(_batches(list(texts), np.asarray(y), batch_size)):
            batch = model.encode(bt)
            with torch.enable_grad():
                logits = net(**batch)
                yt = torch.as_tensor(by)
                loss = (F.binary_cross_entropy_with_logits(logits.float(), yt.float()) if multilabel
                        else F.cross_entropy(logits.float(), yt.long()))
                grads = torch.autograd.grad(loss, [acts[p] for p in layers])
            mask = batch["attention_mask"][..., None].to(torch.float32)  # (B, T, 1)
            for p, g in zip(layers, grads):
                scores[p] += ((acts[p].detach() * g).abs() * mask).sum((0, 1)).double()
            acts.clear()
            progress(b + 1, n_batches, "prune-structured: scoring FFN neurons")
    finally:
        for h in hooks:
            h.remove()
        for q in frozen:
            q.requires_grad_(False)
        net.train(was_training)
    return {p: (s / max(n_batches, 1)).numpy() for p, s in scores.items()}


@torch.no_grad()
def layer_influence(model: Any, texts: list[str], batch_size: int = 16) -> np.ndarray:
    """(L,) block influence 1 − mean cos(h_in, h_out) of each encoder layer over real tokens of `texts`."""
    from ..models.transformer_net import _base_encoder

    enc = _base_encoder(model.net.encoder)
    sums = None
    count = 0.0
    for s in range(0, len(texts), batch_size):
        batch = model.encode(list(texts[s:s + batch_size]))
        kwargs = {k: v for k, v in batch.items() if k in ("input_ids", "attention_mask", "token_type_ids")}
        hs = enc(**kwargs, output_hidden_states=True).hidden_states  # L+1 × (B, T, H)
        m = batch["attention_mask"].to(torch.float32)
        cos = torch.stack([torch.nn.functional.cosine_similarity(a, b, dim=-1) for a, b in zip(hs[:-1], hs[1:])])
        part = ((1 - cos) * m).sum((1, 2)).double()
        sums = part if sums is None else sums + part
        count += float(m.sum())
    return (sums / max(count, 1.0)).numpy()


def choose_neurons(importance: dict[str, np.ndarray], kept: dict[str, list[int]], keep: float,
                   widths: dict[str, int]) -> dict[str, list[int]]:
    """Neurons to remove ({path: original indices}): in each layer all but the round(keep · original width)
    most important (importance indexed by current position; at least one neuron stays)."""
    plan: dict[str, list[int]] = {}
    for p, s in importance.items():
        n_keep = max(1, int(round(keep * widths[p])))
        if n_keep >= len(kept[p]):
            continue
        order = np.argsort(-np.asarray(s), kind="stable")  # most important first
        plan[p] = sorted(kept[p][i] for i in order[n_keep:])
    return plan


def choose_layers(influence: np.ndarray, n_keep: int) -> list[int]:
    """Indices (ascending) of the `n_keep` most influential layers."""
    n_keep = max(1, min(int(n_keep), len(influence)))
    return sorted(int(i) for i in np.argsort(-influence, kind="stable")[:n_keep])
