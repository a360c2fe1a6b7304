"""A small transformer encoder written in torch and trained from scratch (BPE or word tokens).

Pre-LayerNorm blocks; our own multi-head attention so every layer's per-head attention matrix can be read
out (`attention(text)` -> (layers, heads, T, T)); training and plain prediction use PyTorch's fused
scaled-dot-product attention, which gives the same result without materialising the weights.
"""
from __future__ import annotations

import math
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from ..base import Attention
from ..data import TextDataset
from ..params import Param, ParamError
from ..progress import ProgressCallback
from ..tokenization import build_tokenizer
from ..trainer import loop_config, loop_params, seed_everything, train_loop
from .torch_base import TorchTextClassifier

KIND = "scratch_transformer"
TITLE = "Small transformer (from scratch)"
DESCRIPTION = "A few transformer encoder layers trained on this dataset only; per-head attention maps."

OWN_PARAMS: list[Param] = [
    Param("num_layers", 2, "encoder layers", min=1, max=12),
    Param("num_heads", 4, "attention heads per layer (must divide d_model)", min=1, max=32),
    Param("d_model", 128, "token vector width", min=16, max=1024),
    Param("ff_dim", 256, "width of the feed-forward sub-layer", min=16, max=8192),
    Param("dropout", 0.1, "dropout on embeddings, attention and sub-layer outputs", min=0.0, max=0.9),
    Param("positional", "learned", "learned position vectors or fixed sinusoids", choices=("learned", "sinusoidal")),
    Param("pooling", "mean", "sentence vector: mean of the tokens or a <cls> token", choices=("mean", "cls")),
    Param("tokenizer", "bpe", "byte-pair encoding or word vocabulary", choices=("bpe", "word")),
    Param("bpe_vocab_size", 8000, "BPE tokenizer: vocabulary size", min=100, max=200_000, advanced=True),
    Param("min_freq", 2, "minimum count of a token / merge in the training split", min=1, advanced=True),
    Param("max_vocab", 30000, "word tokenizer: maximum vocabulary size", min=100, max=1_000_000, advanced=True),
    Param("lowercase", True, "lower-case the text before tokenising", advanced=True),
    Param("max_length", 0, "truncate texts to this many tokens (0 = 95th percentile of the training split)",
          min=0, max=1024),
]
PARAMS: list[Param] = OWN_PARAMS + loop_params(epochs=4, batch_size=64, lr=1e-3, weight_decay=0.01,
                                               warmup_ratio=0.1, patience=2)


class SelfAttention(nn.Module):
    """Multi-head self-attention over (B, T, d) with a key padding mask (B, T) bool, True = real token."""

    def __init__(self, d_model: int, num_heads: int, dropout: float) -> None:
        super().__init__()
        if d_model % num_heads:
            raise ValueError(f"num_heads ({num_heads}) must divide d_model ({d_model})")
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


def check_params(params: dict) -> dict:
    """Cross-setting checks, run by core.train.run and the Train page before any work starts."""
    if params["d_model"] % params["num_heads"]:
        raise ParamError(f"num_heads ({params['num_heads']}) must divide d_model ({params['d_model']})")
    return params


def fit(dataset: TextDataset, params: dict, progress: ProgressCallback | None = None,
        soft_targets: np.ndarray | None = None, **distill: Any) -> tuple[ScratchTransformerClassifier, dict]:
    """Train the tokenizer on the training split, then the encoder with `core.trainer.train_loop`."""
    cfg = loop_config(params)
    seed_everything(cfg.seed)
    check_params(params)
    tok = build_tokenizer(params["tokenizer"], dataset.train.texts, min_freq=params["min_freq"],
                          max_size=params["max_vocab"], vocab_size=params["bpe_vocab_size"],
                          lowercase=params["lowercase"], add_cls=params["pooling"] == "cls",
                          max_length=params["max_length"])
    net_config = {k: params[k] for k in ("num_layers", "num_heads", "d_model", "ff_dim", "dropout", "positional",
                                         "pooling")}
    net_config.update(vocab_size=tok.vocab_size, n_labels=dataset.n_labels, max_positions=tok.max_length)
    net = TransformerNet(**net_config)
    encode = tok.cached(dataset.train.texts + dataset.validation.texts)
    history = train_loop(net, encode, dataset, cfg, progress, soft_targets=soft_targets, **distill)
    model = ScratchTransformerClassifier(net, tok, dataset.labels, dataset.multilabel, net_config)
    info = {"history": history, "vocab_size": tok.vocab_size, "max_length": tok.max_length, "tokenizer": tok.kind}
    return model, info
