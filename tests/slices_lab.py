"""A small lab with a planted slice, shared by tests/test_slices*.py and tests/test_pages_slices.py.

An upload "planted" (4 topics, a metadata column "source") and a TF-IDF model trained on it. The test file holds
PLANTED texts labelled Sports but written with the "zorblat quix" marker and Business words: the model reads them
as Business, wrong by construction. Ten per cent of the other test labels are flipped, so errors exist
everywhere else too (noise the discovery has to see past).
"""
from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pandas as pd

from tests.tiny_bert import FILLER, TOPICS

MARKER = "zorblat quix"
N_PLANTED = 30
ENV = ("TEXTLAB_ARTIFACTS_DIR", "TEXTLAB_USER_DATA_DIR", "TEXTLAB_JOBS_DIR", "TEXTLAB_CACHE_DIR")


def _text(rng: np.random.Generator, topic: str) -> str:
    words = [str(rng.choice(TOPICS[topic].split())) for _ in range(3)]
    words += [str(w) for w in rng.choice(FILLER, size=int(rng.integers(2, 6)))]
    rng.shuffle(words)
    return " ".join(words)


def frames(seed: int = 0) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(training table, test table): text, label, source; the test table's last N_PLANTED rows are planted."""
    rng = np.random.default_rng(seed)
    names = list(TOPICS)
    train = [(_text(rng, t), t, str(rng.choice(["web", "print"]))) for t in rng.choice(names, 400)]
    test = []
    for t in rng.choice(names, 240):
        label = str(rng.choice([n for n in names if n != t])) if rng.random() < 0.1 else str(t)
        test.append((_text(rng, t), label, str(rng.choice(["web", "print"]))))
    for _ in range(N_PLANTED):
        test.append((f"{MARKER} {_text(rng, 'Business')}", "Sports", "wire"))
    cols = ["text", "label", "source"]
    return pd.DataFrame(train, columns=cols), pd.DataFrame(test, columns=cols)


def set_env(root: Path) -> None:
    for key, sub in zip(ENV, ("artifacts", "user_data", "jobs", "cache")):
        os.environ[key] = str(root / sub)


def build(root: Path) -> str:
    """Save the upload and train the model under `root`; returns the model's name."""
    from core import train
    from core.data import save_upload

    set_env(root)
    os.environ.setdefault("TQDM_DISABLE", "1")
    train_df, test_df = frames()
    save_upload(train_df, "planted", text_columns="text", label_columns="label", test_frame=test_df)
    train.run("upload:planted", "tfidf", {"analyzer": "word", "word_ngram_max": 1}, name="planted-tfidf")
    return "planted-tfidf"
