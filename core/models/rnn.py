"""Recurrent classifiers trained from scratch: RNN / GRU / LSTM, stacked, optionally bidirectional, with
max / mean / last / attention / concat (max+mean+last) aggregation of the per-token states.

This is the model family of the AG News RNN homework (word vocabulary, padding, aggregation experiments),
trained with the shared loop in `core.trainer`. This module is the classifier (inference, explanations,
save/load); settings and `fit` live in core/models/rnn_fit.py (re-exported here on first use).
"""
from __future__ import annotations

from typing import Any

import torch
from torch import nn
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

from ..base import Attention
from . import training_attributes
from .torch_base import TorchTextClassifier
from .tuned_rows import TunedRowsEmbedding

KIND = "rnn"
TITLE = "RNN / GRU / LSTM (from scratch)"
DESCRIPTION = "Recurrent network over a word or BPE vocabulary trained on this dataset; max/mean/last/attention pooling."

CELLS = ("rnn", "gru", "lstm")
AGGREGATIONS = ("max", "mean", "last", "attention", "concat")

#: names defined by the training module core/models/rnn_fit.py, imported from it on first use
__getattr__ = training_attributes(__name__, ".rnn_fit", {"OWN_PARAMS", "PARAMS", "fit"})


class RNNNet(nn.Module):
    """Embedding -> (bi)RNN stack -> aggregation -> 2-layer head.

    forward(input_ids (B, T), attention_mask (B, T)) -> logits (B, n_labels); pool() -> (B, pooled_dim)."""

    def __init__(self, vocab_size: int, n_labels: int, cell: str = "gru", num_layers: int = 1,
                 bidirectional: bool = True, aggregation: str = "max", embed_dim: int = 128,
                 hidden_dim: int = 128, dropout: float = 0.3, tuned_rows: int | None = None) -> None:
        """`tuned_rows` set: the embedding is fixed except that many rows (core/models/tuned_rows.py)."""
        super().__init__()
        self.cell, self.aggregation = cell, aggregation
        self.embedding = TunedRowsEmbedding(vocab_size, embed_dim, tuned_rows) if tuned_rows is not None else \
            nn.Embedding(vocab_size, embed_dim, padding_idx=0)
        rnn_cls = {"rnn": nn.RNN, "gru": nn.GRU, "lstm": nn.LSTM}[cell]
        self.rnn = rnn_cls(embed_dim, hidden_dim, num_layers=num_layers, batch_first=True,
                           bidirectional=bidirectional, dropout=dropout if num_layers > 1 else 0.0)
        out_dim = hidden_dim * (2 if bidirectional else 1)
        self.dropout = nn.Dropout(dropout)
        if aggregation == "attention":
            # additive attention pooling: score_t = v·tanh(W h_t)
            self.att_proj = nn.Linear(out_dim, out_dim)
            self.att_v = nn.Linear(out_dim, 1, bias=False)
        self.pooled_dim = out_dim * (3 if aggregation == "concat" else 1)
        self.head = nn.Sequential(nn.Linear(self.pooled_dim, hidden_dim), nn.ReLU(), nn.Dropout(dropout),
                                  nn.Linear(hidden_dim, n_labels))

    def states(self, input_ids: torch.Tensor, attention_mask: torch.Tensor):
        """Per-token outputs (B, T, out_dim), mask (B, T) bool and the final hidden state (B, out_dim)."""
        mask = attention_mask.bool()
        lengths = mask.sum(1).clamp_min(1).cpu()
        x = self.dropout(self.embedding(input_ids))
        # packing makes the backward direction start at each text's real end and gives true last states
        packed = pack_padded_sequence(x, lengths, batch_first=True, enforce_sorted=False)
        out, h = self.rnn(packed)
        out, _ = pad_packed_sequence(out, batch_first=True, total_length=input_ids.shape[1])
        h = h[0] if isinstance(h, tuple) else h  # LSTM returns (h, c)
        n_dir = 2 if self.rnn.bidirectional else 1
        last = torch.cat([h[-n_dir + d] for d in range(n_dir)], dim=-1)  # top layer, every direction
        return out, mask, last

    def attention_weights(self, out: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        """(B, T) pooling weights (zero on padding, rows sum to 1)."""
        scores = self.att_v(torch.tanh(self.att_proj(out))).squeeze(-1)
        scores = scores.masked_fill(~mask, float("-inf"))
        return torch.softmax(scores, dim=-1)

    def pool(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
        out, mask, last = self.states(input_ids, attention_mask)
        m = mask.unsqueeze(-1)
        agg = self.aggregation
        if agg == "attention":
            return (self.attention_weights(out, mask).unsqueeze(-1) * out).sum(1)
        mx = out.masked_fill(~m, float("-inf")).max(1).values
        if agg == "max":
            return mx
        mean = (out * m).sum(1) / m.sum(1).clamp_min(1)
        if agg == "mean":
            return mean
        if agg == "last":
            return last
        return torch.cat([mx, mean, last], dim=-1)

    def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
        return self.head(self.dropout(self.pool(input_ids, attention_mask)))


class RNNClassifier(TorchTextClassifier):
    kind = KIND
    NET = RNNNet

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        caps = {"embed", "tokens", "gradients"}
        if self.net_config.get("aggregation") == "attention":
            caps.add("attention")
        self.capabilities = frozenset(caps)

    def attention(self, text: str) -> Attention:
        """Pooling weights (T,) over the tokens of `text` (attention aggregation only)."""
        if "attention" not in self.capabilities:
            return super().attention(text)
        inputs = {k: v.to(next(self.net.parameters()).device) for k, v in self.encode([text]).items()}
        self.net.eval()
        with torch.inference_mode():
            out, mask, _ = self.net.states(**inputs)
            w = self.net.attention_weights(out, mask)[0]
        n = int(mask[0].sum())
        return Attention(tokens=self.tokenizer.tokens(text)[:n], weights=w[:n].double().cpu().numpy(), kind="pooling")


CLASSIFIER = RNNClassifier
