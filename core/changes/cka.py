"""Linear CKA between the layer representations of two models (Kornblith et al., 2019).

    linear_cka(X (n, d1), Y (n, d2)) -> float in [0, 1]; 1 for representations equal up to rotation and scale
    layer_states(model, texts) -> [(n, H)] mean-pooled hidden states, embeddings first, then every layer; None
                                  when the model exposes no hidden states (TF-IDF, ONNX Runtime, ensembles, ...)
    cka_matrix(teacher_states, variant_states) -> (L_t, L_v) matrix
    matched_layers(n_teacher, n_variant, kept) -> teacher layer each variant layer corresponds to
Hidden states come from HF encoders (`model.net.encoder(..., output_hidden_states=True)`); compressed variants
delegate `net` / `encode` to their parent-family base, so int8 / pruned / shallow variants are covered.
"""
from __future__ import annotations

from collections.abc import Sequence

import numpy as np


def linear_cka(x: np.ndarray, y: np.ndarray) -> float:
    """Linear CKA of two (n, d) representations of the same n examples: ‖YᵀX‖²_F / (‖XᵀX‖_F ‖YᵀY‖_F) after
    centring each feature. 0 when either is constant."""
    x = np.asarray(x, dtype=np.float64)
    y = np.asarray(y, dtype=np.float64)
    x = x - x.mean(axis=0, keepdims=True)
    y = y - y.mean(axis=0, keepdims=True)
    num = np.linalg.norm(y.T @ x) ** 2
    den = np.linalg.norm(x.T @ x) * np.linalg.norm(y.T @ y)
    return float(num / den) if den > 0 else 0.0


def _hf_encoder(model: object):
    """The HF encoder a classifier runs (None when it has none)."""
    net = getattr(model, "net", None)
    enc = getattr(net, "encoder", None)
    if enc is None or getattr(model, "encode", None) is None:
        return None
    enc = enc.get_base_model() if hasattr(enc, "get_base_model") else enc
    return enc if hasattr(enc, "config") and hasattr(enc.config, "num_hidden_layers") else None


def has_states(model: object) -> bool:
    return _hf_encoder(model) is not None


def layer_states(model: object, texts: Sequence[str], batch_size: int = 32) -> list[np.ndarray] | None:
    """[(n, H) float32] per layer (index 0 = embedding output), each the mean over real tokens; None when the
    model exposes no hidden states."""
    import torch

    enc = _hf_encoder(model)
    if enc is None:
        return None
    texts = list(texts)
    out: list[list[np.ndarray]] = []
    with torch.inference_mode():
        for s in range(0, len(texts), batch_size):
            batch = model.encode(texts[s:s + batch_size])  # type: ignore[attr-defined]
            kwargs = {k: v for k, v in batch.items() if k in ("input_ids", "attention_mask", "token_type_ids")}
            hs = enc(**kwargs, output_hidden_states=True).hidden_states
            m = batch["attention_mask"][..., None].float()
            pooled = [((h.float() * m).sum(1) / m.sum(1).clamp_min(1)).numpy() for h in hs]
            if not out:
                out = [[] for _ in pooled]
            for i, p in enumerate(pooled):
                out[i].append(p)
    return [np.concatenate(o).astype(np.float32) for o in out]


def cka_matrix(a: Sequence[np.ndarray], b: Sequence[np.ndarray]) -> np.ndarray:
    """(len(a), len(b)) linear CKA of every pair of layers."""
    return np.array([[linear_cka(x, y) for y in b] for x in a])


def matched_layers(n_teacher: int, n_variant: int, kept: Sequence[int] | None = None) -> list[int]:
    """Teacher hidden-state index (0 = embeddings) each variant hidden-state index corresponds to.

    `kept`: the 0-based teacher layers a shallow student / layer-pruned variant kept, in order (variant layer i
    is teacher layer kept[i]); without it layers are spread evenly (the last matched to the last)."""
    if kept is not None and len(kept) == n_variant - 1:
        return [0, *[int(k) + 1 for k in kept]]
    if n_variant <= 1:
        return [0] * n_variant
    return [int(round(i * (n_teacher - 1) / (n_variant - 1))) for i in range(n_variant)]
