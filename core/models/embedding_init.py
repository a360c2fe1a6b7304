"""Initialise a from-scratch model's embedding matrix from a pretrained encoder's input embeddings.

Each vocabulary entry of our own tokenizer (word or BPE piece) gets the mean of the encoder's word-piece
embeddings of that string: the classic "start from pretrained word vectors" trick, with the MiniLM package
that ships offline standing in for GloVe. On small training sets it helps recurrent models most (rare words
start near related words instead of at random).
"""
from __future__ import annotations

import torch

from ..tokenization import PREFIX, SPECIALS, ScratchTokenizer


def vocabulary(tok: ScratchTokenizer) -> list[str]:
    """Token strings in id order (len == tok.vocab_size)."""
    if hasattr(tok, "vocab"):
        return list(tok.vocab)
    by_id = sorted(tok.tok.get_vocab().items(), key=lambda kv: kv[1])
    return [w for w, _ in by_id]


def pretrained_embeddings(tok: ScratchTokenizer, backbone: str) -> tuple[torch.Tensor, float]:
    """(vocab_size, d) float32 matrix for `tok` from `backbone`'s input embeddings, scaled to unit std, and the
    share of the vocabulary that was covered (entries the encoder only knows as [UNK] stay random)."""
    from ..backbones import load_encoder, load_tokenizer

    hf_tok = load_tokenizer(backbone)
    weight = load_encoder(backbone).get_input_embeddings().weight.detach().float()
    words = vocabulary(tok)
    # continuation pieces ("##ing") are looked up without their marker: the encoder has its own "##" pieces
    strings = [w[len(PREFIX):] if w.startswith(PREFIX) else w for w in words]
    ids = hf_tok(strings, add_special_tokens=False)["input_ids"]
    unk = hf_tok.unk_token_id
    gen = torch.Generator().manual_seed(0)
    out = torch.randn(len(words), weight.shape[1], generator=gen)
    covered = torch.zeros(len(words), dtype=torch.bool)
    for i, (word, pieces) in enumerate(zip(words, ids)):
        pieces = [p for p in pieces if p != unk]
        if word in SPECIALS or not pieces:
            continue
        out[i] = weight[pieces].mean(0)
        covered[i] = True
    if covered.any():
        # the encoder's vectors are small (std ~0.05); rescale them to the random rows' unit std
        out[covered] = out[covered] / out[covered].std().clamp_min(1e-8)
    out[0] = 0.0  # padding row
    return out, float(covered.float().mean())
