"""Chunked inference for encoder models: a text longer than max_length is read as overlapping windows.

A window holds at most `max_length` word pieces (special tokens included); consecutive windows of one text overlap
by `stride` word pieces (HF tokenizers' overflow semantics). Each window is scored on its own and the window
probabilities are aggregated per text:
    "mean"  average of the window probabilities (robust for topic-like labels spread over the text)
    "max"   per class, the highest window probability (a label any part signals); rows of a multi-class model
            are renormalised to sum to 1
    "off"   no windows: the text is truncated to its first max_length word pieces (the behaviour of models saved
            before chunking existed, which keep it on load so they predict what their metrics say)
New models default to "mean" (DEFAULT_CHUNKING); texts that fit one window score exactly as without chunking.

Training window: with chunking on, a model whose max_length is left to the data (max_length=0) gets at most
AUTO_WINDOW_CAP word pieces and reads every window at prediction. Training reads long texts the same way
(`train_windows`, core.models.transformer_fit): each epoch a long training text is one of its windows drawn at
random (`WindowPicker`), so over the epochs every part of a document is trained on at the cost of one window per
text; validation inside the loop aggregates up to VAL_WINDOWS evenly spread windows per text (`spread`), the way
prediction reads it. Training on the first window only (`train_windows=first`, the behaviour before) and validating
on it: on 1,000 synthetic documents whose topic is spread through them (scripts/synthetic_sets.py long5) the
default MiniLM reached 0.940 test accuracy against TF-IDF's 0.948 (BENCHMARKS.md has the comparison).
Without the cap, long documents (95% coverage -> 512) make every optimisation step far dearer for the same number
of steps (the budget counts steps, core.budget): on 900 synthetic articles of 500-25,000 characters
(scripts/synthetic_sets.py long5, one thread, load ~4) the pre-flight estimate of default MiniLM was 17.6 s per step
and 128 min at 512 pieces, 7.0 s and 47 min at 256, 2.8 s and 17.5 min at 128. A window of 128 pieces still holds
a topic (AG News texts average ~60); prediction averages every window of the text (chunking "mean").

Memory stays flat for long texts: windows are run in length-sorted batches of at most WINDOW_TOKENS word pieces
(a 25,000-character article is ~6,000 pieces = ~13 windows of 512, run 16 at a time).
Used by core/models/transformer.py (torch) and core/compress/onnx_int8.py (ONNX Runtime).
"""
from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from .token_budget import padded_width

CHUNKINGS = ("off", "mean", "max")
DEFAULT_CHUNKING = "mean"
#: what a model saved without a chunking setting uses (it was trained and scored on truncated texts)
LEGACY_CHUNKING = "off"
DEFAULT_STRIDE = 64
#: largest automatic max_length (word pieces) when chunking is on: see the module docstring
AUTO_WINDOW_CAP = 128
#: word pieces per forward batch of windows (rows = WINDOW_TOKENS // max_length)
WINDOW_TOKENS = 8192
#: windows per long text read by the validation inside the training loop (evenly spread; see `spread`)
VAL_WINDOWS = 4
#: how a long training text is read: one random window per epoch, or always its first window
TRAIN_WINDOWS = ("random", "first")


def effective_stride(stride: int, max_length: int, n_special: int = 2) -> int:
    """The overlap actually used: `stride` clipped to half of a window's content (max_length - special tokens)."""
    content = max(int(max_length) - int(n_special), 1)
    return int(max(0, min(int(stride), content // 2)))


@dataclass
class Windows:
    """The windows of a batch of texts.

    input_ids / token_type_ids: one list of ids per window (W windows); sample: (W,) index of the window's text;
    spans: (W,) (start_char, end_char) of the text each window covers; penalty: per window 0/1 per id (or None).
    """

    input_ids: list[list[int]]
    token_type_ids: list[list[int]] | None
    sample: np.ndarray
    spans: list[tuple[int, int]]
    penalty: list[list[float]] | None = None

    def __len__(self) -> int:
        return len(self.input_ids)


def word_mask(enc: Any, i: int, text: str, words: set[str]) -> list[float]:
    """0/1 per word piece of encoding `i`: 1 where the piece belongs to a word (original text, lower-cased) in
    `words`. `enc` is a fast-tokenizer output with offset_mapping (lists or tensors)."""
    offsets = enc["offset_mapping"][i]
    offsets = offsets.tolist() if hasattr(offsets, "tolist") else offsets
    spans: dict[int, list[int]] = {}
    for t, w in enumerate(enc.word_ids(i)):
        if w is not None:
            spans.setdefault(w, []).append(t)
    mask = [0.0] * len(offsets)
    for ts in spans.values():
        if text[offsets[ts[0]][0]:offsets[ts[-1]][1]].lower() in words:
            for t in ts:
                mask[t] = 1.0
    return mask


def windows(tokenizer: Any, texts: Sequence[str], max_length: int, stride: int,
            penalised: set[str] | None = None) -> Windows:
    """Split `texts` into windows of at most `max_length` word pieces overlapping by `effective_stride`."""
    texts = [t if isinstance(t, str) else str(t) for t in texts]
    s = effective_stride(stride, max_length, tokenizer.num_special_tokens_to_add())
    enc = tokenizer(texts, truncation=True, max_length=int(max_length), stride=s, return_overflowing_tokens=True,
                    return_offsets_mapping=True)
    sample = np.asarray(enc["overflow_to_sample_mapping"], dtype=np.int64)
    spans = []
    for offsets in enc["offset_mapping"]:
        real = [(a, b) for a, b in offsets if b > a]  # special tokens map to (0, 0)
        spans.append((min(a for a, _ in real), max(b for _, b in real)) if real else (0, 0))
    penalty = ([word_mask(enc, i, texts[j], penalised) for i, j in enumerate(sample)] if penalised else None)
    return Windows(enc["input_ids"], enc.get("token_type_ids"), sample, spans, penalty)


def rows_per_batch(max_length: int) -> int:
    """Windows per forward batch: WINDOW_TOKENS word pieces at the widest window (at least 1)."""
    return max(1, WINDOW_TOKENS // max(int(max_length), 1))


def batches(w: Windows, max_length: int, pad_id: int) -> Iterator[tuple[np.ndarray, dict[str, np.ndarray]]]:
    """(rows, arrays) per batch of windows, length-sorted, at most WINDOW_TOKENS word pieces each.

    arrays: input_ids / attention_mask (int64 (B, T); T = the longest window rounded up to a multiple of
    token_budget.WIDTH_MULTIPLE, at most max_length), token_type_ids when the tokenizer gives them,
    penalty_mask (float32 (B, T)) when `w.penalty` is set.
    """
    per = rows_per_batch(max_length)
    lengths = np.asarray([len(ids) for ids in w.input_ids])
    order = np.argsort(lengths, kind="stable")
    for start in range(0, len(order), per):
        rows = order[start:start + per]
        width = padded_width(int(lengths[rows].max()), max_length)  # few shapes per run (token_budget)
        ids = np.full((len(rows), width), pad_id, dtype=np.int64)
        mask = np.zeros((len(rows), width), dtype=np.int64)
        out = {"input_ids": ids, "attention_mask": mask}
        if w.token_type_ids is not None:
            out["token_type_ids"] = np.zeros((len(rows), width), dtype=np.int64)
        if w.penalty is not None:
            out["penalty_mask"] = np.zeros((len(rows), width), dtype=np.float32)
        for b, r in enumerate(rows):
            n = len(w.input_ids[r])
            ids[b, :n] = w.input_ids[r]
            mask[b, :n] = 1
            if w.token_type_ids is not None:
                out["token_type_ids"][b, :n] = w.token_type_ids[r]
            if w.penalty is not None:
                out["penalty_mask"][b, :n] = w.penalty[r]
        yield rows, out


def window_logits(w: Windows, run: Callable[[dict[str, np.ndarray]], np.ndarray], k: int, max_length: int,
                  pad_id: int, on_batch: Callable[[int, int], None] | None = None) -> np.ndarray:
    """(W, k) float32 logits of every window; `run(arrays) -> (B, k)` scores one batch from `batches`;
    `on_batch(done, total)` reports batches."""
    out = np.zeros((len(w), k), dtype=np.float32)
    n_batches = -(-len(w) // rows_per_batch(max_length))
    for b, (rows, arrays) in enumerate(batches(w, max_length, pad_id), start=1):
        out[rows] = run(arrays)
        if on_batch is not None:
            on_batch(b, n_batches)
    return out


def spread(w: Windows, most: int) -> Windows:
    """The windows of `w` with at most `most` per text, evenly spread over each text (first and last kept):
    the mean of their probabilities estimates the mean over all windows at a fraction of the forward passes."""
    keep: list[int] = []
    for j in np.unique(w.sample):
        idx = np.flatnonzero(w.sample == j)
        keep += idx.tolist() if len(idx) <= most else idx[np.unique(np.linspace(0, len(idx) - 1, most).round()
                                                                      .astype(int))].tolist()
    return Windows([w.input_ids[i] for i in keep],
                   None if w.token_type_ids is None else [w.token_type_ids[i] for i in keep],
                   w.sample[keep], [w.spans[i] for i in keep],
                   None if w.penalty is None else [w.penalty[i] for i in keep])


class WindowPicker:
    """The training view of long texts: `picker(texts)` returns `texts` with every text longer than one window
    replaced by one of its windows (the window's characters), drawn at random (seeded). Called once per batch,
    so each epoch trains on another part of a long document for the price of one window."""

    def __init__(self, tokenizer: Any, texts: Sequence[str], max_length: int, stride: int, seed: int = 0,
                 chunk: int = 512) -> None:
        n_special = tokenizer.num_special_tokens_to_add()
        # a word piece covers at least one character, so a text this short fits one window untokenised
        long = sorted({t for t in texts if isinstance(t, str) and len(t) + n_special > max_length})
        self.spans: dict[str, list[tuple[int, int]]] = {}
        for start in range(0, len(long), chunk):  # bounded tokenizer memory on big training splits
            part = long[start:start + chunk]
            w = windows(tokenizer, part, max_length, stride)
            for j, text in enumerate(part):
                mine = [w.spans[i] for i in np.flatnonzero(w.sample == j)]
                if len(mine) > 1:
                    self.spans[text] = mine
        self.rng = np.random.default_rng(seed)

    def __len__(self) -> int:
        """Training texts longer than one window."""
        return len(self.spans)

    def __call__(self, texts: Sequence[str]) -> list[str]:
        out = []
        for t in texts:
            spans = self.spans.get(t) if isinstance(t, str) else None
            if spans:
                a, b = spans[int(self.rng.integers(len(spans)))]
                t = t[a:b]
            out.append(t)
        return out


def aggregate(proba: np.ndarray, sample: np.ndarray, n: int, how: str, multilabel: bool) -> np.ndarray:
    """(n, k) per-text probabilities from (W, k) window probabilities; `sample[w]` = text of window w."""
    k = proba.shape[1]
    if how == "mean":
        out = np.zeros((n, k), dtype=np.float64)
        np.add.at(out, sample, proba)
        out /= np.maximum(np.bincount(sample, minlength=n), 1)[:, None]
    elif how == "max":
        out = np.zeros((n, k), dtype=np.float64)
        np.maximum.at(out, sample, proba)
        if not multilabel:
            out /= np.maximum(out.sum(axis=1, keepdims=True), 1e-12)
    else:
        raise ValueError(f"chunking must be one of {CHUNKINGS[1:]} here, got {how!r}")
    return out.astype(np.float32)


def aggregate_logits(logits: np.ndarray, sample: np.ndarray, n: int, how: str, multilabel: bool,
                     to_proba: Callable[[np.ndarray, bool], np.ndarray]) -> np.ndarray:
    """(n, k) per-text logits from (W, k) window logits: a text of one window keeps its raw logits (so chunking
    changes nothing for texts that fit), a longer text gets `proba_to_logits` of its aggregated probabilities."""
    out = np.zeros((n, logits.shape[1]), dtype=np.float32)
    counts = np.bincount(sample, minlength=n)
    single = counts[sample] == 1
    out[sample[single]] = logits[single]
    if (~single).any():
        agg = aggregate(to_proba(logits, multilabel), sample, n, how, multilabel)
        long_rows = np.flatnonzero(counts > 1)
        out[long_rows] = proba_to_logits(agg[long_rows], multilabel)
    return out


def proba_to_logits(proba: np.ndarray, multilabel: bool) -> np.ndarray:
    """Logits whose softmax (multi-class) or sigmoid (multi-label) gives back `proba` (clipped away from 0 / 1)."""
    p = np.clip(np.asarray(proba, dtype=np.float64), 1e-7, 1 - 1e-7)
    return (np.log(p / (1 - p)) if multilabel else np.log(p)).astype(np.float32)
