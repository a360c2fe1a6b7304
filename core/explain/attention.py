"""Attention views of one text: head average, layer/head selection, rollout, CLS row, word merging.

Input is a `core.base.Attention`: `weights` (layers, heads, T, T) with rows summing to 1 (row i = how
query token i distributes its attention over key tokens), or (T,) pooling weights (`kind="pooling"`,
e.g. an RNN's attention pooling). Nothing here knows which model produced it.
"""
from __future__ import annotations

import numpy as np

from ..base import Attention
from .attribution import SPECIAL_TOKENS

METHODS = ("cls", "rollout", "mean")


def head_average(weights: np.ndarray) -> np.ndarray:
    """(layers, heads, T, T) -> (layers, T, T), the mean over heads (rows still sum to 1)."""
    w = np.asarray(weights, dtype=np.float64)
    if w.ndim != 4:
        raise ValueError(f"expected (layers, heads, T, T) weights, got shape {w.shape}")
    return w.mean(axis=1)


def select(weights: np.ndarray, layer: int | None = None, head: int | None = None) -> np.ndarray:
    """One (T, T) matrix: `layer` (None = mean over layers; negative counts from the end) and
    `head` (None = mean over heads)."""
    w = np.asarray(weights, dtype=np.float64)
    if w.ndim != 4:
        raise ValueError(f"expected (layers, heads, T, T) weights, got shape {w.shape}")
    w = w.mean(axis=1) if head is None else w[:, _check(head, w.shape[1], "head")]
    return w.mean(axis=0) if layer is None else w[_check(layer, w.shape[0], "layer")]


def _check(i: int, n: int, what: str) -> int:
    if not -n <= i < n:
        raise IndexError(f"{what} {i} out of range (model has {n})")
    return i


def rollout(weights: np.ndarray, head: int | None = None, upto: int | None = None,
            residual: float = 0.5) -> np.ndarray:
    """Attention rollout (Abnar & Zuidema 2020) -> (T, T), rows sum to 1.

    Each layer's matrix (head average, or one `head`) becomes residual * I + (1 - residual) * A (the skip
    connection carries the token itself), rows are renormalised, and the layers are multiplied from the
    last down to the first: R = A_L' ... A_1'. Row i of R estimates how much output token i at layer
    `upto` (None = last; inclusive, negative counts from the end) draws on each input token.
    """
    w = np.asarray(weights, dtype=np.float64)
    if w.ndim == 3:  # already (layers, T, T)
        per_layer = w
    else:
        per_layer = head_average(w) if head is None else w[:, _check(head, w.shape[1], "head")]
    n_layers, t, _ = per_layer.shape
    last = n_layers - 1 if upto is None else _check(upto, n_layers, "layer") % n_layers
    eye = np.eye(t)
    result = eye
    for layer in range(last + 1):
        a = residual * eye + (1.0 - residual) * per_layer[layer]
        a = a / a.sum(axis=1, keepdims=True)
        result = a @ result
    return result


def _groups(pieces: list[str]) -> list[list[int]]:
    """Indices of the pieces forming each word: "##x" continues the previous piece; with SentencePiece
    ("▁x") / byte-BPE ("Ġx") markers a piece without the marker continues the previous one."""
    spm = any(p.startswith(("\u2581", "\u0120")) for p in pieces)
    groups: list[list[int]] = []
    for i, p in enumerate(pieces):
        special = p in SPECIAL_TOKENS
        if spm:
            cont = bool(groups) and not special and not p.startswith(("\u2581", "\u0120")) \
                and pieces[i - 1] not in SPECIAL_TOKENS
        else:
            cont = bool(groups) and p.startswith("##") and pieces[i - 1] not in SPECIAL_TOKENS
        if cont:
            groups[-1].append(i)
        else:
            groups.append([i])
    return groups


def _word(pieces: list[str], idx: list[int]) -> str:
    out = ""
    for i in idx:
        p = pieces[i]
        for marker in ("##", "\u2581", "\u0120"):
            if p.startswith(marker) and p != marker:
                p = p[len(marker):]
                break
        out += p
    return out


def merge_words(matrix: np.ndarray, index: list[int] | np.ndarray) -> np.ndarray:
    """Merge piece-level values into words -> float64 array with T replaced by W; `index[t]` (0..W-1) is the
    word of piece t (from `merge_pieces`' marker rules or a tokenizer's word ids).

    A (..., T, T) attention matrix has the columns of a word's pieces summed (attention *to* the word) and its
    rows averaged (attention *from* the word), so rows still sum to 1. Any other (..., T) array (per-token
    scores, pooling weights) is summed per word.
    """
    m = np.asarray(matrix, dtype=np.float64)
    idx = np.asarray(index, dtype=np.int64)
    t = len(idx)
    if m.shape[-1] != t:
        raise ValueError(f"{t} pieces but matrix of shape {m.shape}")
    member = np.zeros((int(idx.max()) + 1 if t else 0, t))  # (W, T): piece t belongs to word index[t]
    member[idx, np.arange(t)] = 1.0
    if m.ndim == 1 or m.shape[-2] != t:
        return m @ member.T
    cols = m @ member.T                                   # (..., T, W)
    return (member / member.sum(axis=1, keepdims=True)) @ cols  # (..., W, W)


def merge_pieces(pieces: list[str], matrix: np.ndarray) -> tuple[list[str], np.ndarray]:
    """Merge word pieces ("##x", "▁x", "Ġx" markers) into words -> (words, merged); see `merge_words` for
    what happens to a (..., T, T) attention matrix and a (T,) score vector."""
    m = np.asarray(matrix, dtype=np.float64)
    groups = _groups(list(pieces))
    if m.ndim > 1 and m.shape[-1] == len(pieces) != m.shape[-2]:
        raise ValueError(f"expected (..., T, T) attention, got shape {m.shape}")
    index = [w for w, g in enumerate(groups) for _ in g]
    return [_word(list(pieces), g) for g in groups], merge_words(m, index)


def _tokens_and_weights(att: Attention) -> tuple[list[str], np.ndarray]:
    """Display tokens and weights on the same axis (merging pieces when only pieces match the weights)."""
    w = np.asarray(att.weights, dtype=np.float64)
    t = w.shape[-1]
    if len(att.tokens) == t:
        return list(att.tokens), w
    if att.pieces and len(att.pieces) == t:
        return merge_pieces(att.pieces, w)
    raise ValueError(f"attention over {t} positions but {len(att.tokens)} tokens / {len(att.pieces)} pieces")


def token_scores(att: Attention, layer: int | None = None, head: int | None = None, method: str = "cls",
                 query: int = 0) -> tuple[list[str], np.ndarray]:
    """Per-token attention scores -> (tokens, scores (T,)).

    method "cls":     row `query` (the [CLS] position by default) of one layer (None = last) and head
                      (None = head average).
    method "rollout": row `query` of the rollout up to `layer` (None = all layers); `head` None = average.
    method "mean":    attention each token receives, averaged over query rows, for `layer` (None = mean
                      over layers) and `head` (None = mean over heads).
    For `kind="pooling"` attention the pooling weights are returned whatever the method.
    Word pieces are merged into words when the Attention carries `pieces`.
    """
    if method not in METHODS:
        raise ValueError(f"method must be one of {METHODS}, got {method!r}")
    tokens, w = _tokens_and_weights(att)
    if att.kind == "pooling":
        return tokens, w.reshape(-1)
    if method == "cls":
        mat = select(w, layer=-1 if layer is None else layer, head=head)
        return tokens, mat[query]
    if method == "rollout":
        return tokens, rollout(w, head=head, upto=layer)[query]
    return tokens, select(w, layer=layer, head=head).mean(axis=0)


def drop_special(tokens: list[str], scores: np.ndarray) -> tuple[list[str], np.ndarray]:
    """Remove [CLS]/[SEP]/<s>/... positions (they soak up attention and say little to a reader)."""
    keep = [i for i, t in enumerate(tokens) if t not in SPECIAL_TOKENS]
    return [tokens[i] for i in keep], np.asarray(scores)[keep]


# ---------------------------------------------------------------------------------------------- display views

def merged(att: Attention) -> tuple[list[str], np.ndarray]:
    """Display tokens and weights on one axis, word pieces ("##x", "▁x") merged into words (rows still sum to 1).

    Unlike `_tokens_and_weights`, tokens that already match the weights still go through `merge_pieces`: a no-op
    for words, it merges the pieces of a from-scratch BPE tokenizer.
    """
    w = np.asarray(att.weights, dtype=np.float64)
    if att.pieces and len(att.pieces) == w.shape[-1] and len(att.tokens) != w.shape[-1]:
        return merge_pieces(att.pieces, w)
    return merge_pieces(list(att.tokens), w)


def attention_matrix(att: Attention, layer: int | None = None, head: int | None = None,
                     rollout_view: bool = False) -> tuple[list[str], np.ndarray]:
    """(words, (W, W) matrix) of self-attention: one layer (None = mean of layers) and head (None = head
    average), or the rollout up to `layer` (None = all layers). Rows = attending word, each sums to 1."""
    tokens, w = merged(att)
    return tokens, (rollout(w, head=head, upto=layer) if rollout_view else select(w, layer=layer, head=head))


def attention_scores(att: Attention, layer: int | None = None, head: int | None = None, method: str = "cls",
                     hide_special: bool = True) -> tuple[list[str], np.ndarray]:
    """(words, (W,) scores) after merging pieces: row 0 ([CLS]) of a layer ("cls"), of the rollout ("rollout"),
    attention received ("mean"); pooling weights for kind="pooling". Special tokens dropped by default (they
    soak up attention)."""
    tokens, w = merged(att)
    tokens, scores = token_scores(Attention(tokens=tokens, weights=w, kind=att.kind), layer=layer, head=head,
                                  method=method)
    return drop_special(tokens, scores) if hide_special else (tokens, scores)


def summary(att: Attention) -> dict[str, tuple[list[str], np.ndarray]]:
    """Per-word attention for agreement scores and case files, special tokens dropped:
    {"pooling weights": ...} for pooling attention, else {"[CLS] attention (last layer)": ..., "rollout": ...}."""
    if att.kind == "pooling":
        return {"pooling weights": attention_scores(att)}
    return {"[CLS] attention (last layer)": attention_scores(att, method="cls"),
            "rollout": attention_scores(att, method="rollout")}
