"""Classification heads over an encoder's token states.

Every head maps `states` (B, T, H) float + `mask` (B, T) (1 = real token, 0 = padding; right-padded)
to a `HeadOutput(logits (B, k), pooled (B, D), weights (B, T) | None)`:
    cls           linear layer on the [CLS] state                                   D = H
    mean          linear layer on the mask-aware mean of the token states            D = H
    mlp_residual  [CLS] -> x + MLP(LayerNorm(x)) -> linear (the AG News report's best head)   D = H
    bilstm        BiLSTM over the token states, final forward + backward states -> linear     D = 2 * lstm_hidden
    textcnn       1-D convolutions (kernel sizes 2, 3, 4) + max over time -> linear          D = 3 * n_filters
    attention     learned attention pooling (weights returned for display); an optional `penalty` (B, T)
                  0/1 mask lowers the pooling logits of the marked tokens by `penalty_strength`
                  (the AG News report tried this on words confusable between Business and Sci/Tech)
`build_head(name, hidden, n_labels, **opts)` builds one by name; HEADS lists the names with a description.
"""
from __future__ import annotations

from typing import NamedTuple

import torch
from torch import nn

from ..errors import ParamError


class HeadOutput(NamedTuple):
    logits: torch.Tensor                 # (B, k)
    pooled: torch.Tensor                 # (B, D) the vector the final linear layer reads
    weights: torch.Tensor | None = None  # (B, T) pooling weights (rows sum to 1) for heads that pool by attention


def masked_mean(states: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """(B, T, H), (B, T) -> (B, H) mean over the real tokens."""
    m = mask.to(states.dtype).unsqueeze(-1)
    return (states * m).sum(1) / m.sum(1).clamp_min(1.0)


class _Head(nn.Module):
    """Base: dropout + the final linear layer over a pooled vector of size `dim`."""

    def __init__(self, dim: int, n_labels: int, dropout: float) -> None:
        super().__init__()
        self.dropout = nn.Dropout(dropout)
        self.classifier = nn.Linear(dim, n_labels)

    def pool(self, states: torch.Tensor, mask: torch.Tensor, penalty: torch.Tensor | None
             ) -> tuple[torch.Tensor, torch.Tensor | None]:
        raise NotImplementedError

    def forward(self, states: torch.Tensor, mask: torch.Tensor, penalty: torch.Tensor | None = None) -> HeadOutput:
        pooled, weights = self.pool(states, mask, penalty)
        return HeadOutput(self.classifier(self.dropout(pooled)), pooled, weights)


class ClsHead(_Head):
    def __init__(self, hidden: int, n_labels: int, dropout: float = 0.1) -> None:
        super().__init__(hidden, n_labels, dropout)

    def pool(self, states, mask, penalty):
        return states[:, 0], None


class MeanHead(_Head):
    def __init__(self, hidden: int, n_labels: int, dropout: float = 0.1) -> None:
        super().__init__(hidden, n_labels, dropout)

    def pool(self, states, mask, penalty):
        return masked_mean(states, mask), None


class MLPResidualHead(_Head):
    """[CLS] -> x + W2 GELU(W1 LayerNorm(x)): a residual block lets the head start close to a linear probe."""

    def __init__(self, hidden: int, n_labels: int, dropout: float = 0.1, mlp_hidden: int = 0) -> None:
        super().__init__(hidden, n_labels, dropout)
        inner = mlp_hidden or hidden
        self.mlp = nn.Sequential(nn.LayerNorm(hidden), nn.Linear(hidden, inner), nn.GELU(), nn.Dropout(dropout),
                                 nn.Linear(inner, hidden))

    def pool(self, states, mask, penalty):
        x = states[:, 0]
        return x + self.mlp(x), None


class BiLSTMHead(_Head):
    """A BiLSTM reads the token states; its last forward and backward states form the pooled vector."""

    def __init__(self, hidden: int, n_labels: int, dropout: float = 0.1, lstm_hidden: int = 0) -> None:
        lstm_hidden = lstm_hidden or max(hidden // 2, 16)
        super().__init__(2 * lstm_hidden, n_labels, dropout)
        self.lstm = nn.LSTM(hidden, lstm_hidden, batch_first=True, bidirectional=True)

    def pool(self, states, mask, penalty):
        lengths = mask.sum(1).clamp_min(1).cpu()
        # packing skips the padding, so the backward direction starts at each text's real last token
        packed = nn.utils.rnn.pack_padded_sequence(states, lengths, batch_first=True, enforce_sorted=False)
        _, (h, _) = self.lstm(packed)  # h: (2, B, lstm_hidden)
        return torch.cat([h[0], h[1]], dim=-1), None


class TextCNNHead(_Head):
    """Kim-style TextCNN over the token states: one Conv1d per kernel size, max over valid positions."""

    def __init__(self, hidden: int, n_labels: int, dropout: float = 0.1, n_filters: int = 128,
                 kernel_sizes: tuple[int, ...] = (2, 3, 4)) -> None:
        super().__init__(n_filters * len(kernel_sizes), n_labels, dropout)
        self.kernel_sizes = tuple(int(k) for k in kernel_sizes)
        self.convs = nn.ModuleList(nn.Conv1d(hidden, n_filters, k) for k in self.kernel_sizes)

    def pool(self, states, mask, penalty):
        k_max = max(self.kernel_sizes)
        x = states * mask.unsqueeze(-1).to(states.dtype)  # zero the padding
        if x.shape[1] < k_max:  # texts shorter than the widest kernel
            x = nn.functional.pad(x, (0, 0, 0, k_max - x.shape[1]))
        x = x.transpose(1, 2)  # (B, H, T)
        lengths = mask.sum(1)
        outs = []
        for k, conv in zip(self.kernel_sizes, self.convs):
            c = torch.relu(conv(x))  # (B, F, T - k + 1)
            # a window is valid when it starts inside the text (at least one start per text)
            valid = torch.arange(c.shape[-1], device=c.device)[None, :] < (lengths - k + 1).clamp_min(1)[:, None]
            outs.append(c.masked_fill(~valid[:, None, :], float("-inf")).amax(-1))
        return torch.cat(outs, dim=-1), None


class AttentionPoolingHead(_Head):
    """Additive attention pooling: score_t = v·tanh(W h_t) - penalty_strength * penalty_t; weights = softmax over
    the real tokens; pooled = Σ weights_t h_t."""

    def __init__(self, hidden: int, n_labels: int, dropout: float = 0.1, attn_hidden: int = 0,
                 penalty_strength: float = 2.0) -> None:
        super().__init__(hidden, n_labels, dropout)
        inner = attn_hidden or hidden
        self.score = nn.Sequential(nn.Linear(hidden, inner), nn.Tanh(), nn.Linear(inner, 1, bias=False))
        self.penalty_strength = float(penalty_strength)

    def pool(self, states, mask, penalty):
        scores = self.score(states).squeeze(-1)  # (B, T)
        if penalty is not None and self.penalty_strength:
            scores = scores - self.penalty_strength * penalty.to(scores.dtype)
        scores = scores.masked_fill(mask == 0, float("-inf"))
        weights = torch.softmax(scores, dim=-1)
        return torch.einsum("bt,bth->bh", weights, states), weights


#: head name -> (class, one-line description)
HEADS: dict[str, tuple[type[_Head], str]] = {
    "cls": (ClsHead, "linear layer on the [CLS] state"),
    "mean": (MeanHead, "linear layer on mean-pooled token states"),
    "mlp_residual": (MLPResidualHead, "MLP with a residual connection on [CLS]"),
    "bilstm": (BiLSTMHead, "BiLSTM over the token states"),
    "textcnn": (TextCNNHead, "TextCNN (kernels 2, 3, 4) over the token states"),
    "attention": (AttentionPoolingHead, "attention pooling (can down-weight listed words)"),
}

#: options each head accepts besides hidden / n_labels (others are ignored, so one option dict fits all)
_OPTIONS: dict[str, set[str]] = {
    "cls": {"dropout"},
    "mean": {"dropout"},
    "mlp_residual": {"dropout", "mlp_hidden"},
    "bilstm": {"dropout", "lstm_hidden"},
    "textcnn": {"dropout", "n_filters", "kernel_sizes"},
    "attention": {"dropout", "attn_hidden", "penalty_strength"},
}


def build_head(name: str, hidden: int, n_labels: int, **opts) -> _Head:
    """Head `name` for encoder width `hidden` and `n_labels` outputs; options a head does not use are ignored."""
    if name not in HEADS:
        raise ParamError(f"unknown head {name!r}; known: {sorted(HEADS)}")
    cls = HEADS[name][0]
    return cls(hidden, n_labels, **{k: v for k, v in opts.items() if k in _OPTIONS[name]})


def head_options(name: str, opts: dict) -> dict:
    """The subset of `opts` head `name` uses (what gets written to the model's config json)."""
    return {k: v for k, v in opts.items() if k in _OPTIONS.get(name, set())}
