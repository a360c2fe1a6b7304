"""A tiny keyword-topic dataset with planted label noise, for the data-map / relabel-queue / corrections tests.

`noisy_dataset()` -> (TextDataset, flipped training positions): every `every`-th training row's label is moved to
the next class, so a working data map puts those rows in hard-to-learn and the relabel queue ranks them first.
`FAST_RNN` trains a small GRU in a few seconds on one thread.
"""
from __future__ import annotations

import random

import numpy as np

from core.data import Split, TextDataset

TOPICS = {
    "sport": "ball goal team match win score player coach league".split(),
    "tech": "computer chip software code data cpu app server robot".split(),
    "money": "market stock bank money profit trade price shares deal".split(),
}
FILLER = "the a of and to in on for with today".split()
FAST_RNN = {"embed_dim": 16, "hidden_dim": 16, "epochs": 6, "batch_size": 16, "lr": 0.02, "dropout": 0.1,
            "min_freq": 1, "patience": 0, "tokenizer": "word", "aggregation": "max", "evals_per_epoch": 2,
            "grad_stats_every": 1000}


def _split(n: int, seed: int) -> Split:
    rng = random.Random(seed)
    labels = list(TOPICS)
    texts, y, seen = [], [], set()
    while len(texts) < n:
        k = len(texts) % 3
        words = [rng.choice(TOPICS[labels[k]]) for _ in range(rng.randint(3, 5))]
        words += [rng.choice(FILLER) for _ in range(rng.randint(2, 6))]
        rng.shuffle(words)
        text = " ".join(words)
        if text in seen:  # unique texts: exact duplicates are planted separately where a test needs them
            continue
        seen.add(text)
        texts.append(text)
        y.append(k)
    return Split(texts, np.array(y))


def noisy_dataset(n_train: int = 240, every: int = 12, name: str = "noisy") -> tuple[TextDataset, np.ndarray]:
    train = _split(n_train, 0)
    flipped = np.arange(0, n_train, every)
    train.y[flipped] = (train.y[flipped] + 1) % len(TOPICS)
    ds = TextDataset(name, list(TOPICS), train, _split(60, 1), _split(60, 2))
    return ds, flipped
