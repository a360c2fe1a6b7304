"""Splitting and subsampling, shared by built-in and user datasets.

Every split is stratified (by class, or for multi-label by each row's rarest label) and seeded, and keeps
the file order of the rows it holds (trainers shuffle themselves).

`max_train` has ONE meaning everywhere (`load_dataset(name, max_train=)`, `train.run(dataset, max_train=)`
with a name or an in-memory TextDataset, experiment grids, distillation): a stratified, seeded sample of at
most `max_train` TRAINING rows. Validation and test are never subsampled, so scores stay comparable with
full-data runs.
"""
from __future__ import annotations

import dataclasses

import numpy as np

from .types import DataError, Split, TextDataset

#: Share of train carved out as validation when a dataset ships none.
VALIDATION_SIZE = 0.1
#: Share carved out as test when a dataset ships no official test split (sms_spam, jigsaw_toxic_binary).
TEST_SIZE = 0.2


def n_hold(n: int, frac: float) -> int:
    """Rows held out of n for a share `frac` (at least 1, leaving at least 1)."""
    return max(1, min(n - 1, int(n * frac + 0.5)))


def strat_keys(y: np.ndarray) -> np.ndarray:
    """Stratification key per row: the class index, or for multi-label (n, k) the row's rarest positive
    label (k for rows with none), which keeps rare labels present on both sides of a split."""
    if y.ndim == 1:
        return y
    freq = y.sum(axis=0).astype(np.float64)
    masked = np.where(y > 0, freq[None, :], np.inf)
    keys = masked.argmin(axis=1)
    keys[~(y > 0).any(axis=1)] = y.shape[1]
    return keys


def stratified_split(y: np.ndarray, n_hold: int, seed: int, rare_to_hold: bool = False
                     ) -> tuple[np.ndarray, np.ndarray]:
    """Split row indices into (keep, hold) with len(hold) == n_hold and class shares preserved.

    Rows of a class (stratification key) with a single member cannot be stratified: they go to `keep`
    (so a carved test / validation split never takes a class's only training row), or to `hold` with
    `rare_to_hold` (used when `hold` is the part that is kept, as in subsampling).
    Both index arrays are sorted, so every split keeps the file order.
    """
    from sklearn.model_selection import train_test_split

    idx = np.arange(len(y))
    _, inv, counts = np.unique(strat_keys(y), return_inverse=True, return_counts=True)
    rare = counts[inv] < 2
    pool, rare_idx = idx[~rare], idx[rare]
    n_pool_hold = n_hold - len(rare_idx) if rare_to_hold else n_hold
    if 1 <= n_pool_hold < len(pool):
        try:
            keep, hold = train_test_split(pool, test_size=n_pool_hold, stratify=inv[pool], random_state=seed)
        except ValueError:  # more classes than held-out rows: a plain seeded shuffle
            keep, hold = train_test_split(pool, test_size=n_pool_hold, random_state=seed)
        if rare_to_hold:
            hold = np.concatenate([hold, rare_idx])
        else:
            keep = np.concatenate([keep, rare_idx])
    else:  # (almost) every class is a singleton: stratification means nothing here
        keep, hold = train_test_split(idx, test_size=n_hold, random_state=seed)
    return np.sort(keep), np.sort(hold)


def duplicate_groups(texts: list[str]) -> list[list[int]]:
    """Row positions of every exact-duplicate text (groups of 2+ rows with the very same string)."""
    groups: dict[str, list[int]] = {}
    for i, t in enumerate(texts):
        groups.setdefault(t, []).append(i)
    return [g for g in groups.values() if len(g) > 1]


def keep_duplicates_together(texts: list[str], y: np.ndarray, keep: np.ndarray, hold: np.ndarray
                             ) -> tuple[np.ndarray, np.ndarray]:
    """Move every exact-duplicate group wholly to the side holding most of it (ties: `keep`), so no text is
    on both sides (a duplicate across train and test inflates test scores).

    Each row moved is swapped with a non-duplicated row of the same stratification key from the other side
    when there is one, so both sides keep their size and class shares. A group never leaves its class
    without a `keep` row. Returns the new sorted (keep, hold).
    """
    groups = duplicate_groups(texts)
    if not groups:
        return keep, hold
    held = np.zeros(len(texts), dtype=bool)
    held[hold] = True
    keys = strat_keys(y)
    in_group = np.zeros(len(texts), dtype=bool)
    for g in groups:
        in_group[g] = True
    # Non-duplicated rows per (side, key): the swap partners. Popped from the end: deterministic.
    singles: dict[tuple[bool, int], list[int]] = {}
    for i in np.flatnonzero(~in_group):
        singles.setdefault((bool(held[i]), int(keys[i])), []).append(int(i))
    kept_per_key = np.bincount(keys[~held], minlength=int(keys.max()) + 1)
    for g in groups:
        sides = held[g]
        if sides.all() or not sides.any():
            continue
        to_hold = bool(sides.sum() * 2 > len(g))
        key = int(keys[g[0]])
        if to_hold and kept_per_key[key] <= int((~sides).sum()):
            to_hold = False  # the group holds its class's only kept rows: keep them for training
        for i in g:
            if held[i] == to_hold:
                continue
            held[i] = to_hold
            kept_per_key[keys[i]] += -1 if to_hold else 1
            partners = singles.get((to_hold, int(keys[i])))
            if partners:
                j = partners.pop()
                held[j] = not to_hold
                kept_per_key[keys[j]] += 1 if to_hold else -1
    return np.flatnonzero(~held), np.flatnonzero(held)


def carve(split: Split, frac: float, seed: int) -> tuple[Split, Split]:
    """(rest, held) where held is a stratified `frac` share of `split`; exact duplicate texts all land on
    one side (see keep_duplicates_together)."""
    keep, hold = stratified_split(split.y, n_hold(len(split), frac), seed)
    keep, hold = keep_duplicates_together(split.texts, split.y, keep, hold)
    return split.subset(keep), split.subset(hold)


def subsample(split: Split, n: int, seed: int) -> Split:
    """At most n rows of `split`, stratified and seeded (a class's only row is always kept)."""
    if len(split) <= n:
        return split
    _, hold = stratified_split(split.y, n, seed, rare_to_hold=True)
    return split.subset(hold)


def apply_max_train(ds: TextDataset, max_train: int | None, seed: int = 0) -> TextDataset:
    """A copy of `ds` whose train split is a stratified, seeded sample of at most `max_train` rows.

    Validation and test are never touched. None keeps every row. The copy's meta records
    `rows_before_max_train` (train / validation rows before sampling), `max_train` when given, and `rows`
    (final rows per split). Raises DataError for max_train < 2 (a classifier needs two rows).
    """
    meta = dict(ds.meta)
    meta.setdefault("rows_before_max_train", {"train": len(ds.train), "validation": len(ds.validation)})
    train = ds.train
    if max_train is not None:
        if max_train < 2:
            raise DataError(f"max_train must be at least 2, got {max_train}")
        train = subsample(ds.train, max_train, seed)
        meta["max_train"] = max_train
    meta["rows"] = {"train": len(train), "validation": len(ds.validation), "test": len(ds.test)}
    return dataclasses.replace(ds, train=train, meta=meta)
