"""Token-budget micro-batches: split one padded batch so no piece holds more than `max_tokens` (rows x padded
length) tokens. Activation memory grows with tokens per forward pass, so a budget makes memory independent of
text length: 32 texts of 64 pieces (2,048 tokens) run as one pass, 32 texts of 512 pieces as 8 passes of 4.

Training accumulates the gradients of the pieces (core.trainer: each piece's mean loss weighted by its share of
rows, so the sum is the whole batch's mean loss -- the same gradient as one pass); inference concatenates outputs.
Rows are sorted longest first and each piece is trimmed to its own longest row when the batch is right-padded
(attention_mask columns past that length are all 0), so short rows no longer pay for the longest one.

Widths are rounded up to a multiple of `WIDTH_MULTIPLE` (`padded_width`; the transformer family's `encode` pads
its batches the same way): with dynamic padding every batch would otherwise have its own width, and a run's
hundreds of tensor shapes fragment glibc's heap (and oneDNN's per-shape caches), so the process grew ~1 GB past
what the pre-flight warm-up measured (BENCHMARKS.md, "pre-flight memory").
"""
from __future__ import annotations

import torch

Batch = dict[str, torch.Tensor]

#: batch widths (padded length in tokens) are multiples of this: a few dozen shapes per run instead of hundreds
#: (AG News, 3,000 rows, 3 epochs: 143 training shapes -> 33) for ~4.5% more padded tokens
WIDTH_MULTIPLE = 8


def padded_width(longest: int, cap: int, multiple: int = WIDTH_MULTIPLE) -> int:
    """`longest` rounded up to a multiple of `multiple`, but never past `cap` (the batch's or the window's width)
    nor below `longest`."""
    return max(longest, min(-(-longest // max(multiple, 1)) * max(multiple, 1), cap))


def token_pieces(batch: Batch, max_tokens: int) -> list[tuple[torch.Tensor, int]]:
    """[(row indices (m,), width)] covering every row of `batch` once; width = padded length of that piece.
    One piece (all rows, full width) when max_tokens <= 0, there is no 2-D attention_mask, or the batch fits."""
    mask = batch.get("attention_mask")
    if mask is None or mask.ndim != 2:
        rows = next(iter(batch.values())).shape[0]
        return [(torch.arange(rows), -1)]
    rows, width = mask.shape
    if max_tokens <= 0 or rows * width <= max_tokens:
        return [(torch.arange(rows), width)]
    lengths = mask.sum(dim=1)
    order = torch.argsort(lengths, descending=True, stable=True)
    pieces, start = [], 0
    while start < rows:
        longest = max(1, int(lengths[order[start]]))
        piece_width = padded_width(longest, width)  # the width the piece will have (rows fit the budget at it)
        take = order[start:start + max(1, max_tokens // piece_width)]
        right_padded = not bool(mask[take, longest:].any())
        pieces.append((take, piece_width if right_padded else width))
        start += len(take)
    return pieces


def take(batch: Batch, rows: torch.Tensor, width: int) -> Batch:
    """The sub-batch of `rows`, sequence tensors (same width as attention_mask) cut to `width` columns.
    Keys starting with '_' (labels, row numbers) are sliced by row only."""
    full = batch["attention_mask"].shape[1] if "attention_mask" in batch else -1
    out = {}
    for key, value in batch.items():
        part = value[rows]
        if (not key.startswith("_") and 0 < width < full and part.ndim >= 2 and part.shape[1] == full):
            part = part[:, :width]
        out[key] = part
    return out
