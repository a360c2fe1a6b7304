"""Text Classification Lab: train, compress, measure and explain text classifiers.

Public API (imported lazily where it pulls heavy dependencies):
    load_dataset, TextDataset, describe       (core.data)
    TextClassifier, Attention                 (core.base)
    train.run                                 (core.train)
    artifacts.load_model / list_artifacts     (core.artifacts)
    evaluate.evaluate                         (core.evaluate)
"""
from .base import Attention, TextClassifier

__all__ = ["Attention", "TextClassifier"]
__version__ = "0.1.0"
