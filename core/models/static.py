"""Static-embedding student (the model2vec / "potion" idea): one vector per vocabulary token + a tiny head.

Inference needs only the teacher's fast tokenizer (the `tokenizers` package, no transformers, no torch) and numpy:
    ids   = tokenizer(text) without special tokens, at most `max_tokens` of them
    embed = mean over ids of E[id]                (n, d) float32; an empty text embeds to zeros
    proba = softmax / sigmoid(head(embed))          head: standardise, then ReLU MLP layers (0 = linear)
E (V, d) holds the distilled, PCA-reduced and frequency-weighted token vectors (core/models/static_fit.py); special
tokens' rows are zero and they are never looked up. With a linear head the score of a text is a sum over its
tokens, so the model also declares exact "contributions".

Folder written by `save` (nothing pickled):
    static.safetensors   embeddings (int8 + per-row scales `embeddings::scale`, or float16 / float32), head tensors
    tokenizer.json       the teacher's fast tokenizer
    static.json          {"format", "kind", labels, multilabel, threshold, max_tokens, storage, head layers, ...}
The stored int8 / float16 rows are decoded to float32 at load; `fit` trains the head on the decoded rows, so the
model returned by `fit` and the one `load` returns predict identically.
"""
from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from .. import thresholds
from ..base import TextClassifier
from . import read_config

KIND = "static"
TITLE = "Static-embedding student"
DESCRIPTION = ("One distilled vector per tokenizer token (PCA-reduced, frequency-weighted) averaged over a text, "
               "and a small head trained on a teacher's probabilities; runs on numpy alone.")
PARAMS: list = []  # built by compression (core.compress method "static"), not trained from the Train page
FORMAT = 1
STORAGES = ("int8", "float16", "float32")


def encode_rows(e: np.ndarray, storage: str) -> dict[str, np.ndarray]:
    """Tensors storing `e` (V, d) float32: int8 per-row symmetric (q, scale) or a float cast."""
    if storage == "int8":
        scale = (np.abs(e).max(axis=1) / 127.0).astype(np.float32)
        safe = np.where(scale > 0, scale, 1.0).astype(np.float32)
        q = np.clip(np.rint(e / safe[:, None]), -127, 127).astype(np.int8)
        return {"embeddings": q, "embeddings::scale": scale}
    return {"embeddings": e.astype(np.float16 if storage == "float16" else np.float32)}


def decode_rows(tensors: dict[str, np.ndarray]) -> np.ndarray:
    """Inverse of `encode_rows`: (V, d) float32."""
    e = tensors["embeddings"]
    if "embeddings::scale" in tensors:
        return e.astype(np.float32) * tensors["embeddings::scale"].astype(np.float32)[:, None]
    return e.astype(np.float32)


class StaticClassifier(TextClassifier):
    """Token-vector table + numpy MLP head (see module docstring)."""

    kind = KIND
    runtime = "numpy"

    def __init__(self, tokenizer_json: str, stored: dict[str, np.ndarray], head: list[tuple[np.ndarray, np.ndarray]],
                 mu: np.ndarray, sigma: np.ndarray, meta: dict[str, Any]) -> None:
        """`stored`: the token table as written (`encode_rows`); decoded once here to float32 (V, d)."""
        from tokenizers import Tokenizer

        self.tokenizer_json = tokenizer_json
        self.tokenizer = Tokenizer.from_str(tokenizer_json)
        self.tokenizer.no_truncation()
        self.tokenizer.no_padding()
        self.stored = dict(stored)
        self.embeddings = np.ascontiguousarray(decode_rows(self.stored))
        self.head = [(np.asarray(w, np.float32), np.asarray(b, np.float32)) for w, b in head]
        self.mu, self.sigma = np.asarray(mu, np.float32), np.asarray(sigma, np.float32)
        self.meta = dict(meta)
        self.labels = list(meta["labels"])
        self.multilabel = bool(meta["multilabel"])
        self.threshold = thresholds.from_json(meta.get("threshold"))
        self.max_tokens = int(meta.get("max_tokens", 512))

    @property
    def capabilities(self) -> frozenset[str]:  # type: ignore[override]
        return frozenset({"embed", "tokens", "contributions"} if len(self.head) == 1 else {"embed", "tokens"})

    # ------------------------------------------------------------------ tokens and vectors
    def token_ids(self, texts: Sequence[str]) -> list[np.ndarray]:
        """Token ids of each text (no special tokens), at most `max_tokens` each."""
        texts = [t if isinstance(t, str) else str(t) for t in texts]
        encs = self.tokenizer.encode_batch(texts, add_special_tokens=False)
        return [np.asarray(e.ids[:self.max_tokens], dtype=np.int64) for e in encs]

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        """(n, d) float32 mean of the texts' token vectors (zeros for a text without tokens)."""
        ids = self.token_ids(texts)
        d = self.embeddings.shape[1]
        out = np.zeros((len(ids), d), np.float32)
        lengths = np.array([len(i) for i in ids])
        keep = np.flatnonzero(lengths)
        if len(keep):
            flat = np.concatenate([ids[i] for i in keep])
            starts = np.concatenate([[0], np.cumsum(lengths[keep])[:-1]])
            out[keep] = np.add.reduceat(self.embeddings[flat], starts, axis=0) / lengths[keep, None]
        return out

    # ------------------------------------------------------------------ head
    def logits_from_embeddings(self, x: np.ndarray) -> np.ndarray:
        """(n, d) embeddings -> (n, k) logits through the standardisation and the MLP."""
        h = (np.asarray(x, np.float32) - self.mu) / self.sigma
        for i, (w, b) in enumerate(self.head):
            h = h @ w.T + b
            if i < len(self.head) - 1:
                h = np.maximum(h, 0.0)
        return h

    def proba_from_logits(self, z: np.ndarray) -> np.ndarray:
        if self.multilabel:
            return (1.0 / (1.0 + np.exp(-z))).astype(np.float32)
        z = z - z.max(axis=1, keepdims=True)
        e = np.exp(z)
        return (e / e.sum(axis=1, keepdims=True)).astype(np.float32)

    def predict_proba(self, texts: Sequence[str], batch_size: int = 4096) -> np.ndarray:
        texts = list(texts)
        if not texts:
            return np.zeros((0, len(self.labels)), np.float32)
        parts = [self.proba_from_logits(self.logits_from_embeddings(self.embed(texts[s:s + batch_size])))
                 for s in range(0, len(texts), batch_size)]
        return np.concatenate(parts)

    # ------------------------------------------------------------------ explanations
    def tokenize(self, text: str) -> list[str]:
        """The text's tokenizer pieces (what the model averages), without special tokens."""
        enc = self.tokenizer.encode(text if isinstance(text, str) else str(text), add_special_tokens=False)
        return list(enc.tokens[:self.max_tokens])

    def contributions(self, text: str, class_index: int) -> list[tuple[str, float]]:
        """Linear head: logit_c = b'_c + sum_t (w'_c . E[t]) / n with w' = w / sigma, b' = b - w' . mu."""
        self._declaring_contributions()
        w, _ = self.head[0]
        wc = w[class_index] / self.sigma
        ids = self.token_ids([text])[0]
        if not len(ids):
            return []
        vals = (self.embeddings[ids] @ wc) / len(ids)
        return list(zip(self.tokenize(text), [float(v) for v in vals]))

    def contributions_base(self, class_index: int) -> float:
        self._declaring_contributions()
        w, b = self.head[0]
        return float(b[class_index] - (w[class_index] / self.sigma) @ self.mu)

    def _declaring_contributions(self) -> None:
        if "contributions" not in self.capabilities:
            raise self._missing("contributions", "contributions (the head is an MLP)")

    # ------------------------------------------------------------------ bookkeeping
    def n_parameters(self) -> int:
        return int(self.embeddings.size + sum(w.size + b.size for w, b in self.head))

    def describe(self) -> str:
        m = self.meta
        head = "linear head" if len(self.head) == 1 else f"MLP head ({len(self.head) - 1} hidden layer(s))"
        return (f"static token vectors ({self.embeddings.shape[0]} tokens x {self.embeddings.shape[1]} dims, "
                f"{m.get('storage', 'float32')}) + {head}")

    def save(self, directory: Path) -> None:
        from safetensors.numpy import save_file

        directory = Path(directory)
        directory.mkdir(parents=True, exist_ok=True)
        tensors = dict(self.stored)
        tensors.update({"head.mu": self.mu, "head.sigma": self.sigma})
        for i, (w, b) in enumerate(self.head):
            tensors[f"head.{i}.weight"], tensors[f"head.{i}.bias"] = w, b
        save_file({k: np.ascontiguousarray(v) for k, v in tensors.items()}, str(directory / "static.safetensors"))
        (directory / "tokenizer.json").write_text(self.tokenizer_json, encoding="utf-8")
        (directory / "static.json").write_text(json.dumps({**self.meta, "format": FORMAT, "kind": KIND,
                                                           "head_layers": len(self.head)}, indent=2))

    @classmethod
    def load(cls, directory: Path) -> StaticClassifier:
        from safetensors.numpy import load_file

        directory = Path(directory)
        meta = read_config(directory / "static.json", FORMAT)
        t = load_file(str(directory / "static.safetensors"))
        head = [(t[f"head.{i}.weight"], t[f"head.{i}.bias"]) for i in range(int(meta["head_layers"]))]
        tokenizer_json = (directory / "tokenizer.json").read_text(encoding="utf-8")
        stored = {k: v for k, v in t.items() if k.startswith("embeddings")}
        return cls(tokenizer_json, stored, head, t["head.mu"], t["head.sigma"], meta)


CLASSIFIER = StaticClassifier
