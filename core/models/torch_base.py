"""Shared helpers for torch families: device, batched length-sorted inference, safetensors save/load, and a
`TorchTextClassifier` base for networks trained from scratch with a `core.tokenization` tokenizer.

A network used with `TorchTextClassifier` is an nn.Module built as `NET(**net_config)` with
    forward(input_ids, attention_mask) -> logits (B, k)
    pool(input_ids, attention_mask)    -> pooled sentence vector (B, d)
    embedding                          the token nn.Embedding (gradient attributions hook onto it)
`torch_gradient_target` builds the integrated-gradients hooks (core.base.GradientTarget) of any torch network;
both this base and the pretrained-encoder family use it.
Folder layout written by `save`: config.json (kind, labels, multilabel, threshold, net config, extra),
model.safetensors (weights), tokenizer/ (json). `load` needs nothing else.
"""
from __future__ import annotations

import json
import math
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import torch

from .. import thresholds
from ..base import GradientTarget, TextClassifier
from ..errors import ArtifactError
from ..params import Param
from ..tokenization import CLS_ID, ScratchTokenizer, load_tokenizer

Encode = Callable[[list[str]], dict[str, torch.Tensor]]

#: tokens (rows x padded length) per inference forward pass; no gradients are kept, so 8x the training budget
INFER_MAX_TOKENS = 16384


def device() -> torch.device:
    """cuda when available, else cpu."""
    return torch.device("cuda" if torch.cuda.is_available() else "cpu")


@torch.inference_mode()
def batched_outputs(fn: Callable[..., torch.Tensor], encode: Encode, texts: Sequence[str], batch_size: int = 64,
                    device: torch.device | str = "cpu",
                    on_batch: Callable[[int, int], None] | None = None,
                    max_tokens: int = INFER_MAX_TOKENS) -> np.ndarray:
    """Stack `fn(**encode(batch))` (B, d) over `texts` in batches sorted by length (less padding), returned in
    the original order as float32 (n, d). A batch over `max_tokens` (rows x padded length) runs in pieces
    (core.models.token_budget), so memory does not grow with text length; autocast follows core.precision."""
    from ..precision import autocast
    from .token_budget import take, token_pieces

    texts = list(texts)
    order = np.argsort([len(t) for t in texts], kind="stable")
    chunks = []
    n_batches = math.ceil(len(texts) / batch_size)
    for b in range(n_batches):
        rows = order[b * batch_size:(b + 1) * batch_size]
        inputs = {k: v.to(device) for k, v in encode([texts[i] for i in rows]).items()}
        pieces = token_pieces(inputs, max_tokens)
        outs = np.empty((len(rows), 0), dtype=np.float32)
        for j, (piece, width) in enumerate(pieces):
            with autocast():  # bf16 on CPUs that have it (core.precision), else a no-op
                out = fn(**(inputs if len(pieces) == 1 else take(inputs, piece, width)))
            out = (out.logits if hasattr(out, "logits") else out).float().cpu().numpy()
            if j == 0:
                outs = np.empty((len(rows), out.shape[1]), dtype=np.float32)
            outs[piece.numpy()] = out
        chunks.append(outs)
        if on_batch is not None:
            on_batch(b + 1, n_batches)
    if not chunks:
        return np.zeros((0, 0), dtype=np.float32)
    result = np.empty((len(texts), chunks[0].shape[1]), dtype=np.float32)
    result[order] = np.concatenate(chunks)
    return result


def predict_logits(model: torch.nn.Module, encode: Encode, texts: Sequence[str], batch_size: int = 64,
                   device: torch.device | str | None = None,
                   on_batch: Callable[[int, int], None] | None = None) -> np.ndarray:
    """(n, k) float32 logits of `model` in eval mode (the previous train/eval mode is restored)."""
    if device is None:
        device = next(model.parameters()).device
    was_training = model.training
    model.eval()
    try:
        return batched_outputs(model, encode, texts, batch_size, device, on_batch)
    finally:
        model.train(was_training)


def logits_to_proba(logits: np.ndarray, multilabel: bool) -> np.ndarray:
    """Sigmoid (multi-label) or row softmax, float32."""
    logits = np.asarray(logits, dtype=np.float64)
    if multilabel:
        return (1.0 / (1.0 + np.exp(-logits))).astype(np.float32)
    e = np.exp(logits - logits.max(axis=1, keepdims=True))
    return (e / e.sum(axis=1, keepdims=True)).astype(np.float32)


def save_weights(model: torch.nn.Module, path: Path) -> None:
    """Weights as safetensors (shared tensors handled by safetensors.torch.save_model)."""
    from safetensors.torch import save_model

    save_model(model, str(path))


def load_weights(model: torch.nn.Module, path: Path) -> None:
    """Fill `model` from a safetensors file written by `save_weights` (strict)."""
    from safetensors.torch import load_model

    load_model(model, str(path), strict=True, device="cpu")


def torch_gradient_target(net: torch.nn.Module, encode: Encode, embedding: torch.nn.Module,
                          tokens: Callable[[str], list[str]], tokenizer: Any) -> GradientTarget:
    """Integrated-gradients hooks of a torch classifier network.

    net(input_ids=, attention_mask=, **extra) -> logits (B, k) (or an output with `.logits`); `encode([text])` ->
    batch with input_ids / attention_mask (1, T) and any extra inputs (token_type_ids, penalty_mask), which are
    repeated over the IG batch; `tokens(text)` -> the display tokens of the T positions (padded with "<pad>" /
    cut to T). Baseline: the tokenizer's pad id (else 0), with its special ids ([CLS], [SEP], <cls>) kept.
    """
    extra: dict[str, Any] = {}

    def encode_one(text: str) -> tuple[torch.Tensor, torch.Tensor, list[str]]:
        batch = dict(encode([text]))
        ids, mask = batch.pop("input_ids"), batch.pop("attention_mask")
        extra.clear()
        extra.update(batch)
        toks = list(tokens(text))[: ids.shape[1]]
        return ids, mask, toks + ["<pad>"] * (ids.shape[1] - len(toks))

    def forward(ids: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        kwargs = {k: v.expand(ids.shape[0], *v.shape[1:]) if torch.is_tensor(v) else v for k, v in extra.items()}
        out = net(input_ids=ids, attention_mask=mask, **kwargs)
        return out.logits if hasattr(out, "logits") else out

    pad = getattr(tokenizer, "pad_token_id", None)
    special = [getattr(tokenizer, a, None) for a in ("cls_token_id", "sep_token_id", "bos_token_id", "eos_token_id")]
    if isinstance(tokenizer, ScratchTokenizer):  # <cls> (present when the tokenizer adds it)
        special.append(CLS_ID)
    return GradientTarget(forward, embedding, encode_one, baseline_id=int(pad) if pad is not None else 0,
                          keep_ids=tuple(int(i) for i in special if i is not None))


def tokenizer_params(max_length_limit: int, auto: bool = False) -> list[Param]:
    """Settings of the `core.tokenization` tokenizer a from-scratch family trains (RNN, scratch transformer).
    `auto`: families with pretrained starts default to tokenizer=auto (core.models.embedding_init.tokenizer_kind)."""
    kind = (Param("tokenizer", "auto", "auto = the vocabulary the pretrained start fits (word for navec word "
                  "vectors, else byte-pair encoding), or bpe / word", choices=("auto", "bpe", "word")) if auto else
            Param("tokenizer", "bpe", "byte-pair encoding or word vocabulary", choices=("bpe", "word")))
    return [
        kind,
        Param("min_freq", 2, "minimum count of a word (word tokenizer) or of a merge (BPE) in the training split",
              min=1, advanced=True),
        Param("max_vocab", 30000, "word tokenizer: maximum vocabulary size", min=100, max=1_000_000, advanced=True),
        Param("bpe_vocab_size", 8000, "BPE tokenizer: vocabulary size", min=100, max=200_000, advanced=True),
        Param("lowercase", True, "lower-case the text before tokenising", advanced=True),
        Param("max_length", 0, "truncate texts to this many tokens (0 = 95th percentile of the training split)",
              min=0, max=max_length_limit),
    ]


class TorchTextClassifier(TextClassifier):
    """A from-scratch torch network + scratch tokenizer. Subclasses set `kind`, `NET` and `capabilities`."""

    NET: ClassVar[type[torch.nn.Module]]
    batch_size: int = 64

    def __init__(self, net: torch.nn.Module, tokenizer: ScratchTokenizer, labels: list[str], multilabel: bool,
                 net_config: dict[str, Any], extra: dict[str, Any] | None = None) -> None:
        self.net = net.to(device()).eval()
        self.tokenizer = tokenizer
        self.labels = list(labels)
        self.multilabel = bool(multilabel)
        self.net_config = dict(net_config)
        self.extra = dict(extra or {})

    # -- inference ------------------------------------------------------------------------------
    def encode(self, texts: Sequence[str]) -> dict[str, torch.Tensor]:
        """Padded model inputs (input_ids, attention_mask) on the CPU."""
        return self.tokenizer.encode(list(texts))

    def embedding_layer(self) -> torch.nn.Embedding:
        """The token embedding (for gradient x input / integrated gradients)."""
        return self.net.embedding

    def gradient_target(self) -> GradientTarget:
        """Integrated-gradients hooks over the token embedding; tokens are the tokenizer's units."""
        return torch_gradient_target(self.net, self.encode, self.embedding_layer(), self.tokenizer.tokens,
                                     self.tokenizer)

    def predict_logits(self, texts: Sequence[str]) -> np.ndarray:
        return predict_logits(self.net, self.encode, list(texts), self.batch_size)

    def predict_proba(self, texts: Sequence[str]) -> np.ndarray:
        if len(texts) == 0:
            return np.zeros((0, len(self.labels)), dtype=np.float32)
        return logits_to_proba(self.predict_logits(texts), self.multilabel)

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        """(n, d) pooled vector that feeds the classification head."""
        self.net.eval()
        return batched_outputs(self.net.pool, self.encode, list(texts), self.batch_size, next(self.net.parameters()).device)

    def tokenize(self, text: str) -> list[str]:
        return self.tokenizer.tokens(text)

    def n_parameters(self) -> int:
        return int(sum(p.numel() for p in self.net.parameters()))

    # -- persistence ----------------------------------------------------------------------------
    def save(self, directory: Path) -> None:
        directory = Path(directory)
        directory.mkdir(parents=True, exist_ok=True)
        config = {"kind": self.kind, "labels": self.labels, "multilabel": self.multilabel,
                  "threshold": thresholds.as_json(self.threshold), "net": self.net_config, "extra": self.extra}
        (directory / "config.json").write_text(json.dumps(config, indent=1, ensure_ascii=False))
        save_weights(self.net, directory / "model.safetensors")
        self.tokenizer.save(directory / "tokenizer")

    @classmethod
    def load(cls, directory: Path) -> TorchTextClassifier:
        directory = Path(directory)
        config = json.loads((directory / "config.json").read_text())
        if config.get("kind") != cls.kind:
            raise ArtifactError(f"{directory} holds a {config.get('kind')!r} model, not {cls.kind!r}")
        net = cls.NET(**config["net"])
        load_weights(net, directory / "model.safetensors")
        model = cls(net, load_tokenizer(directory / "tokenizer"), config["labels"], config["multilabel"],
                    config["net"], config.get("extra"))
        model.threshold = thresholds.from_json(config.get("threshold"))
        return model
