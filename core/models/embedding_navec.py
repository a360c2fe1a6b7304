"""Russian word vectors for from-scratch models: the navec news embeddings shipped inside the pip package
`natasha` (250k words x 300 dimensions, quantised, ~26 MB; read with `navec.Navec.load`). No download.

Mapping of our tokenizer's vocabulary: an entry that is a whole navec word once lower-cased (a word of the word
tokenizer, or a BPE piece that is a whole word) gets that word's vector; continuation pieces ("##ого") and
word-start pieces without a whole-word match stay random — a mean over every navec word containing a piece
would mostly blur unrelated words together. Covered rows are rescaled to unit std like the MiniLM path.
"""
from __future__ import annotations

from functools import lru_cache
from pathlib import Path

import torch

from ..errors import CapabilityError
from ..tokenization import PREFIX, SPECIALS, ScratchTokenizer

NAVEC_FILE = "navec_news_v1_1B_250K_300d_100q.tar"
DIM = 300


def navec_path() -> Path:
    """The navec file inside the installed natasha package (CapabilityError when natasha is missing)."""
    try:
        import natasha
    except ImportError as e:
        raise CapabilityError("Russian word vectors need the pip package natasha (see requirements.txt)") from e
    return Path(natasha.__file__).parent / "data" / "emb" / NAVEC_FILE


@lru_cache(maxsize=1)
def load_navec():
    """The navec model (cached for the process: ~0.5 s and ~30 MB)."""
    from navec import Navec

    return Navec.load(str(navec_path()))


def navec_words() -> list[str]:
    """navec's whole words (lower-case, navec's alphabetical order) without its own <unk> / <pad> entries."""
    return [w for w in load_navec().vocab.words if not (w.startswith("<") and w.endswith(">"))]


def navec_embeddings(tok: ScratchTokenizer) -> tuple[torch.Tensor, torch.Tensor]:
    """(vocab_size, 300) float32 matrix for `tok` (covered rows scaled to unit std, the rest random, padding 0)
    and the (vocab_size,) bool mask of the rows covered by whole navec words."""
    from .embedding_init import vocabulary

    nv = load_navec()
    words = vocabulary(tok)
    gen = torch.Generator().manual_seed(0)
    out = torch.randn(len(words), DIM, generator=gen)
    covered = torch.zeros(len(words), dtype=torch.bool)
    for i, word in enumerate(words):
        key = word.lower()
        if word in SPECIALS or word.startswith(PREFIX) or key not in nv:
            continue
        out[i] = torch.from_numpy(nv[key].astype("float32"))
        covered[i] = True
    if covered.any():
        out[covered] = out[covered] / out[covered].std().clamp_min(1e-8)
    out[0] = 0.0  # padding row
    return out, covered
