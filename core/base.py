"""The one interface every model family implements, and the records its capability methods return.

Pages, explainers, metrics and the benchmark only ever talk to a `TextClassifier`, so every page
works for every family; a page draws a panel only when `capabilities` declares it.

The contract: every capability is a set of methods declared here. A family that declares a capability in
`capabilities` implements its methods; the default implementations raise `CapabilityError`, so calling an
undeclared capability fails the same way on every family.

    capability      methods (shapes)
    "embed"         embed(texts) -> (n, d) float
    "attention"     attention(text) -> Attention (self: (layers, heads, T, T); pooling: (T,))
    "gradients"     gradient_target() -> GradientTarget (what integrated gradients hooks onto)
    "tokens"        tokenize(text) -> list[str] (the units explanations are shown on)
    "contributions" contributions(text, class_index) -> [(token, value)], contributions_base(class_index) -> float
    "chunks"        chunk_proba(text) -> ([(start_char, end_char)] per window, (n_chunks, k) float probabilities)
"""
from __future__ import annotations

import abc
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

import numpy as np

from .errors import CapabilityError  # noqa: F401 - re-exported: callers import it from here

#: Capabilities a model may declare (see the module docstring for the methods of each).
CAPABILITIES = frozenset({"embed", "attention", "gradients", "tokens", "contributions", "chunks"})

#: Display words: runs of word characters joined by inner apostrophes (contractions and possessives stay one
#: word: "isn't", "John's", "l'été"), or one punctuation mark. Explanations are aligned on these units
#: (core.explain.attribution.WORD_RE is this pattern). Model vocabularies keep their own tokenizers.
WORD_PATTERN = re.compile(r"\w+(?:['’]\w+)*|[^\w\s]", re.UNICODE)


def simple_tokenize(text: str) -> list[str]:
    """Words (contractions kept whole) and single punctuation marks; the default unit explanations are shown on."""
    return WORD_PATTERN.findall(text)


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


@dataclass
class GradientTarget:
    """What integrated gradients (core.explain.gradients) needs from a torch model.

    forward:     (input_ids LongTensor (B, T), attention_mask LongTensor (B, T)) -> logits (B, k); a pure,
                 differentiable function of its inputs (model in eval mode, no dropout)
    embedding:   the torch.nn.Module producing token embeddings (before positions); IG integrates along its output
    encode:      text -> (input_ids (1, T), attention_mask (1, T), tokens: list[str] of length T); word pieces
                 ("##x") are merged into words by the explainer
    baseline_id: token id filling the baseline (the pad id is the usual choice)
    keep_ids:    ids left unchanged in the baseline, e.g. (cls_id, sep_id) for BERT
    """

    forward: Callable[[Any, Any], Any]
    embedding: Any
    encode: Callable[[str], tuple[Any, Any, list[str]]]
    baseline_id: int = 0
    keep_ids: tuple[int, ...] = ()


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

    # -- capabilities: a family overrides the methods of each capability it declares -----------------------
    def _missing(self, capability: str, what: str) -> CapabilityError:
        return CapabilityError(f"{self.kind or type(self).__name__} models do not provide {what} "
                               f"(no {capability!r} capability)")

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        """"embed": (n, d) float sentence embeddings (d fixed per model)."""
        raise self._missing("embed", "embeddings")

    def attention(self, text: str) -> Attention:
        """"attention": attention of one text; `weights` (layers, heads, T, T) for kind "self" or (T,) for
        kind "pooling", with T == len(tokens) and every row summing to 1."""
        raise self._missing("attention", "attention")

    def gradient_target(self) -> GradientTarget:
        """"gradients": the hooks integrated gradients attributes through (see `GradientTarget`)."""
        raise self._missing("gradients", "gradients")

    def tokenize(self, text: str) -> list[str]:
        """"tokens": the units explanations are shown on (words; word pieces merged), in text order."""
        raise self._missing("tokens", "tokens")

    def contributions(self, text: str, class_index: int) -> list[tuple[str, float]]:
        """"contributions": exact [(token, value)] for every token of `text` in order; the values add up to the
        class score minus `contributions_base(class_index)`."""
        raise self._missing("contributions", "contributions")

    def contributions_base(self, class_index: int) -> float:
        """"contributions": the part of the class score no token carries (what an empty text scores)."""
        raise self._missing("contributions", "contributions")

    def chunk_proba(self, text: str) -> tuple[list[tuple[int, int]], np.ndarray]:
        """"chunks": the text read as overlapping windows -> ([(start_char, end_char)] of each window,
        (n_chunks, k) float probabilities of each window on its own)."""
        raise self._missing("chunks", "per-window probabilities")

    # -- bookkeeping --------------------------------------------------------------------------------------
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
