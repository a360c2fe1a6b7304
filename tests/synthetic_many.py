"""Synthetic data for many classes and long texts (issue 12), shared by tests/test_pages_many.py (AppTest),
tests/test_browser_many.py (Chromium) and scripts/measure_long_and_many.py.

- `many_classes()`: 80 classes of 6 own words each; class 7 uses class 3's words (a planted confusion);
- `long_text(n)`: n characters in paragraphs, with a contraction and a possessive;
- `build_lab(root)`: that dataset saved as upload "many80" and a word-unigram TF-IDF "many-tfidf" on it, in lab
  folder `root` (the TEXTLAB_* folders of tests/browser_utils.lab_env).
"""
from __future__ import annotations

import os
from pathlib import Path

import numpy as np

K = 80
LABELS = [f"class_{i:02d}" for i in range(K)]
MODEL = "many-tfidf"


def many_classes(seed: int = 0):
    """80 classes of 6 own words each; class 7 uses class 3's words (the planted confusion)."""
    from core.data import Split, TextDataset

    rng = np.random.default_rng(seed)
    vocab = {c: [f"w{c}x{j}" for j in range(6)] for c in range(K)}
    vocab[7] = vocab[3]
    filler = ["the", "a", "of", "report", "about", "today"]

    def split(n_per_class: int) -> Split:
        texts, ys = [], []
        for c in range(K):
            for _ in range(n_per_class):
                words = list(rng.choice(vocab[c], 5)) + list(rng.choice(filler, 3))
                if rng.random() < 0.15:  # a little noise: scattered errors elsewhere
                    words += list(rng.choice(vocab[int(rng.integers(K))], 4))
                rng.shuffle(words)
                texts.append(" ".join(words))
                ys.append(c)
        return Split(texts, np.asarray(ys, dtype=np.int64))

    return TextDataset(name="many80", labels=list(LABELS), train=split(12), validation=split(3), test=split(8))


def long_text(n: int = 25_000) -> str:
    """`n` characters (~25,000 by default) in paragraphs of ~470 characters, each ending "Paragraph {i}.", with
    a contraction and a possessive."""
    para = ("The committee isn't sure the bank's plan will work. Markets rallied on Tuesday after the report, "
            "and analysts said the outlook for trade remains uncertain. ")
    paragraphs = [para * 3 + f"Paragraph {i}." for i in range(int(n / (len(para) * 3 + 14)) + 1)]
    return "\n\n".join(paragraphs)[:n]


def build_lab(root: Path) -> dict:
    """`many_classes()` as upload "many80" and a word-unigram TF-IDF `MODEL` on it, written under lab folder
    `root` (os.environ is restored afterwards). Returns {"dataset": its name, "pairs": the model's confused
    pairs [(true, predicted, count)] as Errors lists them, most confused first}."""
    from tests.browser_utils import lab_env
    from tests.envtools import restored_env

    env = lab_env(root)
    with restored_env([*env, "TQDM_DISABLE"]):
        os.environ.update(env)
        os.environ.setdefault("TQDM_DISABLE", "1")
        from core import artifacts, train
        from core.confusion import confused_pairs
        from core.data import save_upload
        from core.evaluate import confusion_counts

        dataset = save_upload(many_classes(), "many80")
        train.run(dataset, "tfidf", {"analyzer": "word", "word_ngram_max": 1}, name=MODEL)
        preds = artifacts.load_predictions(MODEL)
        counts = confusion_counts(preds.y_true.astype(int), preds.y_pred, len(preds.labels))
        rows = confused_pairs(counts, list(preds.labels))
    return {"dataset": dataset, "pairs": [(r["true_label"], r["predicted_label"], int(r["count"])) for r in rows]}
