"""Text Classification Lab: train, compress, measure and explain text classifiers.

Public API (imported lazily where it pulls heavy dependencies):
    load_dataset, TextDataset, describe       (core.data)
    TextClassifier, Attention                 (core.base)
    train.run                                 (core.train)
    artifacts.load_model / list_artifacts     (core.artifacts)
    evaluate.evaluate                         (core.evaluate)
"""
import os

# oneDNN caches one primitive (with its re-laid-out weights) per input shape, up to 1,024 by default; text batches
# come in hundreds of shapes (rows x length), so a MiniLM run grew by ~0.4 GB at 2,000 rows and to 4.7 GB over a
# full AG News run while its pre-flight measured 1.6 GB. A small cache keeps memory flat at no measured speed cost
# (BENCHMARKS.md, session 4). Set before torch creates its first primitive; an explicit setting wins.
os.environ.setdefault("ONEDNN_PRIMITIVE_CACHE_CAPACITY", "8")

from .base import Attention, TextClassifier  # noqa: E402

__all__ = ["Attention", "TextClassifier"]
__version__ = "0.1.0"
