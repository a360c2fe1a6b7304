"""Batching for the training loop: length-bucketed, re-sampled batches of row indices and their collation.

`make_loader(encode, split, ...)` is what `core.trainer.train_loop` uses; the pieces are public so tests and
other loops can reuse them.
"""
from __future__ import annotations

import math
from collections.abc import Callable, Iterator

import numpy as np
import torch
from torch.utils.data import DataLoader, Sampler

from .data import Split

Encode = Callable[[list[str]], dict[str, torch.Tensor]]


class BucketBatchSampler(Sampler[list[int]]):
    """Yields batches of row indices. Each epoch: resample rows (over/under-sampling), shuffle, sort by text
    length inside chunks of `chunk` batches (so a batch holds similar lengths -> little padding), then shuffle
    the batch order. Seeded by (seed, epoch), so runs are reproducible."""

    def __init__(self, lengths: np.ndarray, batch_size: int, seed: int, bucket: bool = True,
                 groups: np.ndarray | None = None, sampling: str = "none", chunk: int = 50) -> None:
        self.lengths = np.asarray(lengths)
        self.batch_size = batch_size
        self.seed = seed
        self.bucket = bucket
        self.groups = groups
        self.sampling = sampling
        self.chunk = chunk
        self.epoch = 0
        self.drop_last = False  # read by accelerate's BatchSamplerShard when sharding over processes

    def set_epoch(self, epoch: int) -> None:
        self.epoch = epoch

    def _rows(self, rng: np.random.Generator) -> np.ndarray:
        n = len(self.lengths)
        if self.sampling not in ("oversample", "undersample") or self.groups is None:
            return rng.permutation(n)
        by_group = [np.flatnonzero(self.groups == g) for g in np.unique(self.groups)]
        sizes = [len(ix) for ix in by_group]
        target = max(sizes) if self.sampling == "oversample" else min(sizes)
        parts = []
        for ix in by_group:
            if len(ix) >= target:
                parts.append(rng.choice(ix, size=target, replace=False))
            else:  # keep every row once, draw the rest with replacement
                parts.append(np.concatenate([ix, rng.choice(ix, size=target - len(ix), replace=True)]))
        return rng.permutation(np.concatenate(parts))

    def _batches(self) -> list[np.ndarray]:
        rng = np.random.default_rng([self.seed, self.epoch])
        rows = self._rows(rng)
        bs = self.batch_size
        if not self.bucket:
            return [rows[i:i + bs] for i in range(0, len(rows), bs)]
        batches = []
        span = bs * self.chunk
        for start in range(0, len(rows), span):
            part = rows[start:start + span]
            part = part[np.argsort(self.lengths[part], kind="stable")]
            batches += [part[i:i + bs] for i in range(0, len(part), bs)]
        order = rng.permutation(len(batches))
        return [batches[i] for i in order]

    def __iter__(self) -> Iterator[list[int]]:
        for b in self._batches():
            yield b.tolist()

    def __len__(self) -> int:
        n = len(self.lengths)
        if self.sampling in ("oversample", "undersample") and self.groups is not None:
            sizes = np.unique(self.groups, return_counts=True)[1]
            n = int((sizes.max() if self.sampling == "oversample" else sizes.min()) * len(sizes))
        if not self.bucket:
            return math.ceil(n / self.batch_size)
        span = self.batch_size * self.chunk
        full, rest = divmod(n, span)
        return full * self.chunk + math.ceil(rest / self.batch_size)


def balance_groups(y: np.ndarray, multilabel: bool) -> np.ndarray:
    """Group id per row for over/under-sampling: the class (multi-class) or, for multi-label rows, the rarest
    positive label (rows without labels form their own group)."""
    if not multilabel:
        return np.asarray(y)
    y = np.asarray(y)
    freq = y.sum(axis=0).astype(float)
    rarity = np.where(y > 0, freq[None, :], np.inf)
    return np.where(y.sum(axis=1) > 0, rarity.argmin(axis=1), y.shape[1])


class _Rows(torch.utils.data.Dataset):
    """The row indices 0..n-1: the sampler picks rows, the collate function turns them into a batch."""

    def __init__(self, n: int) -> None:
        self.n = n

    def __len__(self) -> int:
        return self.n

    def __getitem__(self, i: int) -> int:
        return i


def make_collate(encode: Encode, texts: list[str], y: np.ndarray, multilabel: bool) -> Callable[[list[int]], dict]:
    """Collate row indices -> encode(texts) + `_labels` + `_index` (popped before the model is called)."""
    ydtype = torch.float32 if multilabel else torch.long

    def collate(rows: list[int]) -> dict[str, torch.Tensor]:
        batch = dict(encode([texts[i] for i in rows]))
        batch["_labels"] = torch.as_tensor(np.asarray(y[rows]), dtype=ydtype)
        batch["_index"] = torch.as_tensor(rows, dtype=torch.long)
        return batch

    return collate


def make_loader(encode: Encode, split: Split, multilabel: bool, batch_size: int, seed: int, bucket: bool,
                imbalance: str) -> tuple[BucketBatchSampler, DataLoader]:
    """(sampler, loader) over `split`: batches of `batch_size` rows, bucketed by text length (characters) when
    `bucket`, over/under-sampled when `imbalance` says so. Each batch is `make_collate`'s dict; call
    `sampler.set_epoch(e)` before epoch e (the shuffle is seeded by (seed, epoch))."""
    y = np.asarray(split.y)
    sampling = imbalance if imbalance in ("oversample", "undersample") else "none"
    sampler = BucketBatchSampler(np.array([len(t) for t in split.texts]), batch_size, seed, bucket,
                                 groups=balance_groups(y, multilabel), sampling=sampling)
    loader = DataLoader(_Rows(len(split)), batch_sampler=sampler,
                        collate_fn=make_collate(encode, split.texts, y, multilabel))
    return sampler, loader
