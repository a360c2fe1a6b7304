"""An embedding whose pretrained rows stay fixed while a few chosen rows learn (freeze_embeddings=pretrained).

    out[ids] = weight[ids] + tuned.weight[tuned_index[ids]]        (B, T, d)
`weight` (V, d) is a frozen parameter (the pretrained start); `tuned` holds one learned offset per tuned row (row 0 =
the shared zero offset of every fixed row, kept at zero by padding_idx); `tuned_index` (V,) maps a vocabulary id to
its offset row. Masking the gradient of a plain (V, d) embedding instead would make AdamW touch all V·d numbers every
step: with navec's 250k words that made an RNN step 7x slower; here the optimizer sees only the tuned rows.
"""
from __future__ import annotations

import torch
from torch import nn


class TunedRowsEmbedding(nn.Module):
    """Drop-in for nn.Embedding(V, d, padding_idx=0) with `n_tuned` learnable rows (chosen by `choose_rows`)."""

    def __init__(self, num_embeddings: int, embedding_dim: int, n_tuned: int) -> None:
        super().__init__()
        self.num_embeddings, self.embedding_dim, self.padding_idx = num_embeddings, embedding_dim, 0
        self.weight = nn.Parameter(torch.zeros(num_embeddings, embedding_dim), requires_grad=False)
        self.tuned = nn.Embedding(n_tuned + 1, embedding_dim, padding_idx=0)
        with torch.no_grad():
            self.tuned.weight.zero_()
        self.register_buffer("tuned_index", torch.zeros(num_embeddings, dtype=torch.long))

    def choose_rows(self, rows: torch.Tensor) -> None:
        """Make the rows where `rows` (V,) bool is True learnable (the padding row 0 never is)."""
        rows = rows.clone().bool()
        rows[0] = False
        ids = torch.nonzero(rows).flatten()
        if len(ids) != self.tuned.num_embeddings - 1:
            raise ValueError(f"{len(ids)} rows chosen, the table was built for {self.tuned.num_embeddings - 1}")
        self.tuned_index.zero_()
        self.tuned_index[ids] = torch.arange(1, len(ids) + 1)

    def forward(self, input_ids: torch.Tensor) -> torch.Tensor:
        return nn.functional.embedding(input_ids, self.weight, padding_idx=0) + self.tuned(self.tuned_index[input_ids])


def learned_rows(freeze: str, covered: torch.Tensor | None, n_training_rows: int, vocab_size: int
                 ) -> torch.Tensor | None:
    """(V,) bool mask of the embedding rows that learn, or None for a plain nn.Embedding (all rows learn, or with
    freeze=all none: the caller then excludes the whole table from training).

    freeze=pretrained: the rows without a pretrained vector (`covered` (V,) bool); freeze=none with a vocabulary
    extended beyond the training words (rows >= `n_training_rows`): the training rows, so the added words keep their
    pretrained vectors and the optimizer never touches their rows."""
    if freeze == "all":
        return None
    if freeze == "pretrained":
        if covered is None:
            raise ValueError("freeze=pretrained needs the mask of rows with a pretrained vector")
        return ~covered.bool()
    if n_training_rows < vocab_size:
        return torch.arange(vocab_size) < n_training_rows
    return None
