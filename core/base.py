"""The one interface every model family implements, and the `Attention` record it returns.

Pages, explainers, metrics and the benchmark only ever talk to a `TextClassifier`, so every page
works for every family; a page draws a panel only when `capabilities` declares it.
"""
from __future__ import annotations

import abc
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import ClassVar

import numpy as np

from .errors import CapabilityError  # noqa: F401 - re-exported: callers import it from here

#: Capabilities a model may declare.
CAPABILITIES = frozenset({"embed", "attention", "gradients", "tokens", "contributions"})

_WORD = re.compile(r"\w+|[^\w\s]", re.UNICODE)


def simple_tokenize(text: str) -> list[str]:
    """Words and single punctuation marks; the default unit explanations are shown on."""
    return _WORD.findall(text)


@dataclass
class Attention:
    """Attention of one text.

    tokens:  T display tokens (word pieces merged into words when `word_ids` maps them).
    weights: (layers, heads, T, T) self-attention, or (T,) pooling weights (`kind == "pooling"`);
             every row sums to 1.
    kind:    "self" or "pooling".
    pieces:  the raw sub-word tokens when `tokens` were merged from them (else empty).
    """

    tokens: list[str]
    weights: np.ndarray
    kind: str = "self"
    pieces: list[str] = field(default_factory=list)

    @property
    def n_layers(self) -> int:
        return 0 if self.kind == "pooling" else int(self.weights.shape[0])

    @property
    def n_heads(self) -> int:
        return 0 if self.kind == "pooling" else int(self.weights.shape[1])


class TextClassifier(abc.ABC):
    """A trained text classifier.

    Attributes: `labels` (class names, len k), `multilabel` (independent sigmoid outputs),
    `capabilities` (subset of CAPABILITIES). Subclasses set `kind` to their registry key.
    """

    kind: ClassVar[str] = ""
    labels: list[str]
    multilabel: bool = False
    capabilities: frozenset[str] = frozenset()
    #: probability threshold for multi-label predictions
    threshold: float = 0.5

    @abc.abstractmethod
    def predict_proba(self, texts: Sequence[str]) -> np.ndarray:
        """(n, k) float probabilities; rows sum to 1 unless multilabel."""

    def predict(self, texts: Sequence[str]) -> np.ndarray:
        """Label indices (n,), or (n, k) 0/1 matrix if multilabel."""
        proba = self.predict_proba(texts)
        if self.multilabel:
            return (proba >= self.threshold).astype(np.int64)
        return proba.argmax(axis=1)

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        """(n, d) pooled sentence embedding. Needs the "embed" capability."""
        raise CapabilityError(f"{self.kind} models do not provide embeddings")

    def attention(self, text: str) -> Attention:
        """Attention of one text. Needs the "attention" capability."""
        raise CapabilityError(f"{self.kind} models do not provide attention")

    def tokenize(self, text: str) -> list[str]:
        """The units explanations are shown on."""
        return simple_tokenize(text)

    def n_parameters(self) -> int:
        """Number of learned parameters (weights + biases)."""
        return 0

    @abc.abstractmethod
    def save(self, directory: Path) -> None:
        """Write the model into `directory` (created if missing). No pickle."""

    @classmethod
    @abc.abstractmethod
    def load(cls, directory: Path) -> TextClassifier:
        """Read a model written by `save`; never touches the network."""

    def has(self, capability: str) -> bool:
        return capability in self.capabilities
