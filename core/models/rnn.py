"""Recurrent classifiers trained from scratch: RNN / GRU / LSTM, stacked, optionally bidirectional, with
max / mean / last / attention / concat (max+mean+last) aggregation of the per-token states.

This is the model family of the AG News RNN homework (word vocabulary, padding, aggregation experiments),
trained with the shared loop in `core.trainer`.
"""
from __future__ import annotations

from typing import Any

import numpy as np
import torch
from torch import nn
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

from ..base import Attention
from ..data import TextDataset
from ..params import Param
from ..progress import ProgressCallback
from ..tokenization import build_tokenizer
from ..trainer import loop_config, loop_params, seed_everything, train_loop
from .embedding_init import pretrained_embeddings
from .torch_base import TorchTextClassifier

KIND = "rnn"
TITLE = "RNN / GRU / LSTM (from scratch)"
DESCRIPTION = "Recurrent network over a word or BPE vocabulary trained on this dataset; max/mean/last/attention pooling."

CELLS = ("rnn", "gru", "lstm")
AGGREGATIONS = ("max", "mean", "last", "attention", "concat")

OWN_PARAMS: list[Param] = [
    Param("cell", "gru", "recurrent cell", choices=CELLS),
    Param("num_layers", 1, "stacked recurrent layers", min=1, max=6),
    Param("bidirectional", False, "read the text in both directions (about 2x slower per epoch)"),
    Param("aggregation", "attention", "how per-token states become one vector (concat = max + mean + last)",
          choices=AGGREGATIONS),
    Param("embed_dim", 128, "word embedding size", min=8, max=1024),
    Param("init_embeddings", "none", "start the embeddings from a pretrained encoder's input embeddings "
          "(sets embed_dim to its size, 384 for minilm-l6; works offline)", choices=("none", "minilm-l6")),
    Param("hidden_dim", 128, "recurrent state size (per direction)", min=8, max=2048),
    Param("dropout", 0.3, "dropout on embeddings, between layers and in the head", min=0.0, max=0.9),
    Param("tokenizer", "bpe", "byte-pair encoding or word vocabulary", choices=("bpe", "word")),
    Param("min_freq", 2, "word tokenizer: minimum count of a word in the training split", min=1, advanced=True),
    Param("max_vocab", 30000, "word tokenizer: maximum vocabulary size", min=100, max=1_000_000, advanced=True),
    Param("bpe_vocab_size", 8000, "BPE tokenizer: vocabulary size", min=100, max=200_000, advanced=True),
    Param("lowercase", True, "lower-case the text before tokenising", advanced=True),
    Param("max_length", 0, "truncate texts to this many tokens (0 = 95th percentile of the training split)",
          min=0, max=2048),
]
# defaults from an AG News grid of one-change-at-a-time variants (core/experiments.py): a one-direction GRU
# with attention pooling over BPE tokens gave the best accuracy per second of the recurrent variants
PARAMS: list[Param] = OWN_PARAMS + loop_params(epochs=6, batch_size=128, lr=4e-3, weight_decay=0.0,
                                               warmup_ratio=0.03, patience=3)


class RNNNet(nn.Module):
    """Embedding -> (bi)RNN stack -> aggregation -> 2-layer head.

    forward(input_ids (B, T), attention_mask (B, T)) -> logits (B, n_labels); pool() -> (B, pooled_dim)."""

    def __init__(self, vocab_size: int, n_labels: int, cell: str = "gru", num_layers: int = 1,
                 bidirectional: bool = True, aggregation: str = "max", embed_dim: int = 128,
                 hidden_dim: int = 128, dropout: float = 0.3) -> None:
        super().__init__()
        self.cell, self.aggregation = cell, aggregation
        self.embedding = nn.Embedding(vocab_size, embed_dim, padding_idx=0)
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


def fit(dataset: TextDataset, params: dict, progress: ProgressCallback | None = None,
        soft_targets: np.ndarray | None = None, **distill: Any) -> tuple[RNNClassifier, dict]:
    """Build the tokenizer on the training split, train with `core.trainer.train_loop`, return (model, info).
    `soft_targets` / `alpha` / `temperature` are passed to the loop (distillation into an RNN)."""
    cfg = loop_config(params)
    seed_everything(cfg.seed)
    tok = build_tokenizer(params["tokenizer"], dataset.train.texts, min_freq=params["min_freq"],
                          max_size=params["max_vocab"], vocab_size=params["bpe_vocab_size"],
                          lowercase=params["lowercase"], max_length=params["max_length"])
    net_config = {k: params[k] for k in ("cell", "num_layers", "bidirectional", "aggregation", "embed_dim",
                                         "hidden_dim", "dropout")}
    net_config.update(vocab_size=tok.vocab_size, n_labels=dataset.n_labels)
    init, covered = None, None
    if params.get("init_embeddings", "none") != "none":
        init, covered = pretrained_embeddings(tok, params["init_embeddings"])
        net_config["embed_dim"] = int(init.shape[1])
    net = RNNNet(**net_config)
    if init is not None:
        with torch.no_grad():
            net.embedding.weight.copy_(init)
    encode = tok.cached(dataset.train.texts + dataset.validation.texts)
    history = train_loop(net, encode, dataset, cfg, progress, soft_targets=soft_targets, **distill)
    model = RNNClassifier(net, tok, dataset.labels, dataset.multilabel, net_config)
    info = {"history": history, "vocab_size": tok.vocab_size, "max_length": tok.max_length,
            "tokenizer": tok.kind}
    if covered is not None:
        info["init_embeddings_coverage"] = round(covered, 4)
    return model, info

