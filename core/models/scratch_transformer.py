"""A small transformer encoder written in torch and trained from scratch (BPE or word tokens).

Pre-LayerNorm blocks; our own multi-head attention so every layer's per-head attention matrix can be read
out (`attention(text)` -> (layers, heads, T, T)); training and plain prediction use PyTorch's fused
scaled-dot-product attention, which gives the same result without materialising the weights.
This module is the classifier (inference, explanations, save/load); settings and `fit` live in
core/models/scratch_transformer_fit.py (re-exported here on first use).
"""
from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

from ..base import Attention
from ..errors import ParamError
from . import training_attributes
from .torch_base import TorchTextClassifier

KIND = "scratch_transformer"
TITLE = "Small transformer (from scratch)"
DESCRIPTION = "A few transformer encoder layers trained on this dataset only; per-head attention maps."

#: names defined by the training module core/models/scratch_transformer_fit.py, imported from it on first use
__getattr__ = training_attributes(__name__, ".scratch_transformer_fit", {"OWN_PARAMS", "PARAMS", "check_params",
                                                                        "fit"})


class SelfAttention(nn.Module):
    """Multi-head self-attention over (B, T, d) with a key padding mask (B, T) bool, True = real token."""

    def __init__(self, d_model: int, num_heads: int, dropout: float) -> None:
        super().__init__()
        if d_model % num_heads:
            raise ParamError(f"num_heads ({num_heads}) must divide d_model ({d_model})")
        self.h, self.dh, self.p = num_heads, d_model // num_heads, dropout
        self.qkv = nn.Linear(d_model, 3 * d_model)
        self.out = nn.Linear(d_model, d_model)

    def forward(self, x: torch.Tensor, mask: torch.Tensor, need_weights: bool = False):
        """-> (output (B, T, d), weights (B, heads, T, T) or None)."""
        B, T, d = x.shape
        q, k, v = self.qkv(x).view(B, T, 3, self.h, self.dh).permute(2, 0, 3, 1, 4)  # each (B, h, T, dh)
        keep = mask[:, None, None, :]  # broadcast over heads and query positions
        p = self.p if self.training else 0.0
        if need_weights:
            scores = (q @ k.transpose(-1, -2)) / math.sqrt(self.dh)
            w = torch.softmax(scores.masked_fill(~keep, float("-inf")), dim=-1)
            ctx = F.dropout(w, p, self.training) @ v
        else:
            w = None
            ctx = F.scaled_dot_product_attention(q, k, v, attn_mask=keep, dropout_p=p)
        return self.out(ctx.transpose(1, 2).reshape(B, T, d)), w


class Block(nn.Module):
    """Pre-LN encoder block: x + Attn(LN(x)), then x + FF(LN(x))."""

    def __init__(self, d_model: int, num_heads: int, ff_dim: int, dropout: float) -> None:
        super().__init__()
        self.norm1, self.norm2 = nn.LayerNorm(d_model), nn.LayerNorm(d_model)
        self.attn = SelfAttention(d_model, num_heads, dropout)
        self.ff = nn.Sequential(nn.Linear(d_model, ff_dim), nn.GELU(), nn.Dropout(dropout), nn.Linear(ff_dim, d_model))
        self.drop = nn.Dropout(dropout)

    def forward(self, x: torch.Tensor, mask: torch.Tensor, need_weights: bool = False):
        a, w = self.attn(self.norm1(x), mask, need_weights)
        x = x + self.drop(a)
        return x + self.drop(self.ff(self.norm2(x))), w


def sinusoids(n: int, d: int) -> torch.Tensor:
    """(n, d) fixed sine/cosine position vectors (Vaswani et al.)."""
    pos = torch.arange(n, dtype=torch.float32)[:, None]
    div = torch.exp(torch.arange(0, d, 2, dtype=torch.float32) * (-math.log(10000.0) / d))
    pe = torch.zeros(n, d)
    pe[:, 0::2] = torch.sin(pos * div)
    pe[:, 1::2] = torch.cos(pos * div[: d // 2])
    return pe


class TransformerNet(nn.Module):
    """Token + position embeddings -> pre-LN blocks -> final LN -> mean or <cls> pooling -> linear head.

    forward(input_ids (B, T), attention_mask (B, T)) -> logits (B, n_labels); pool() -> (B, d_model);
    attentions() -> per-layer (B, heads, T, T)."""

    def __init__(self, vocab_size: int, n_labels: int, max_positions: int = 256, num_layers: int = 2,
                 num_heads: int = 4, d_model: int = 128, ff_dim: int = 256, dropout: float = 0.1,
                 positional: str = "learned", pooling: str = "mean") -> None:
        super().__init__()
        self.pooling = pooling
        self.embedding = nn.Embedding(vocab_size, d_model, padding_idx=0)
        if positional == "learned":
            self.position = nn.Embedding(max_positions, d_model)
        else:
            self.position = None
            # scaled to the token embeddings' size (std 0.02): at full amplitude the fixed positions swamp the
            # freshly initialised token vectors and the model barely learns
            self.register_buffer("sinusoids", 0.02 * math.sqrt(2) * sinusoids(max_positions, d_model),
                                 persistent=False)
        self.drop = nn.Dropout(dropout)
        self.blocks = nn.ModuleList(Block(d_model, num_heads, ff_dim, dropout) for _ in range(num_layers))
        self.norm = nn.LayerNorm(d_model)
        self.head = nn.Linear(d_model, n_labels)
        self.apply(self._init)

    @staticmethod
    def _init(m: nn.Module) -> None:
        # small normal init (as in BERT/GPT) trains more stably from scratch than PyTorch's default
        if isinstance(m, (nn.Linear, nn.Embedding)):
            nn.init.normal_(m.weight, std=0.02)
            if isinstance(m, nn.Linear) and m.bias is not None:
                nn.init.zeros_(m.bias)

    def encode(self, input_ids: torch.Tensor, attention_mask: torch.Tensor, need_weights: bool = False):
        """-> hidden states (B, T, d) after the final LN, mask (B, T) bool, list of per-layer weights."""
        mask = attention_mask.bool()
        T = input_ids.shape[1]
        pos = self.position.weight[:T] if self.position is not None else self.sinusoids[:T]
        x = self.drop(self.embedding(input_ids) + pos)
        weights = []
        for block in self.blocks:
            x, w = block(x, mask, need_weights)
            weights.append(w)
        return self.norm(x), mask, weights

    def pool(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
        x, mask, _ = self.encode(input_ids, attention_mask)
        if self.pooling == "cls":
            return x[:, 0]
        m = mask.unsqueeze(-1).to(x.dtype)
        return (x * m).sum(1) / m.sum(1).clamp_min(1)

    def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
        return self.head(self.drop(self.pool(input_ids, attention_mask)))

    def attentions(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> list[torch.Tensor]:
        return self.encode(input_ids, attention_mask, need_weights=True)[2]


class ScratchTransformerClassifier(TorchTextClassifier):
    kind = KIND
    NET = TransformerNet
    capabilities = frozenset({"embed", "tokens", "gradients", "attention"})

    def attention(self, text: str) -> Attention:
        """Self-attention of every layer and head: weights (layers, heads, T, T), rows sum to 1."""
        inputs = {k: v.to(next(self.net.parameters()).device) for k, v in self.encode([text]).items()}
        self.net.eval()
        with torch.inference_mode():
            ws = self.net.attentions(**inputs)
        w = torch.stack([x[0] for x in ws]).double().cpu().numpy()  # (L, H, T, T)
        return Attention(tokens=self.tokenizer.tokens(text), weights=w, kind="self")


CLASSIFIER = ScratchTransformerClassifier
