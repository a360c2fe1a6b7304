"""Initialise a from-scratch model's embedding matrix from a pretrained encoder's input embeddings.

Each vocabulary entry of our own tokenizer (word or BPE piece) gets the mean of the encoder's word-piece
embeddings of that string: the classic "start from pretrained word vectors" trick, with the MiniLM package
that ships offline standing in for GloVe. On small training sets it helps recurrent models most (rare words
start near related words instead of at random).
"""
from __future__ import annotations

from collections.abc import Callable, Sequence

import torch

from ..errors import ParamError
from ..tokenization import PREFIX, SPECIALS, ScratchTokenizer, WordTokenizer


def vocabulary(tok: ScratchTokenizer) -> list[str]:
    """Token strings in id order (len == tok.vocab_size)."""
    if hasattr(tok, "vocab"):
        return list(tok.vocab)
    by_id = sorted(tok.tok.get_vocab().items(), key=lambda kv: kv[1])
    return [w for w, _ in by_id]


def pretrained_embeddings(tok: ScratchTokenizer, backbone: str) -> tuple[torch.Tensor, torch.Tensor]:
    """(vocab_size, d) float32 matrix for `tok` from `backbone`'s input embeddings, scaled to unit std, and the
    (vocab_size,) bool mask of covered rows (entries the encoder only knows as [UNK] stay random)."""
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
    return out, covered


def _minilm(tok: ScratchTokenizer) -> tuple[torch.Tensor, torch.Tensor]:
    return pretrained_embeddings(tok, "minilm-l6")


def _navec(tok: ScratchTokenizer) -> tuple[torch.Tensor, torch.Tensor]:
    from .embedding_navec import navec_embeddings

    return navec_embeddings(tok)


#: init_embeddings choice -> (description shown to users, builder(tok) -> (matrix (V, d), covered rows (V,) bool))
SOURCES: dict[str, tuple[str, Callable[[ScratchTokenizer], tuple[torch.Tensor, torch.Tensor]]]] = {
    "minilm-l6": ("MiniLM word pieces", _minilm),
    "navec": ("navec Russian word vectors", _navec),
}
#: what `auto` picks per detected language (core.language); any other language -> no pretrained start
AUTO: dict[str | None, str] = {"en": "minilm-l6", "ru": "navec"}
CHOICES = ("auto", "none", *SOURCES)
#: the scratch tokenizer `tokenizer=auto` builds for each source (any other -> "bpe"). navec holds whole words, so
#: a BPE piece only finds a vector when it happens to be a whole word: 40% of RuSentiment's 8,000-piece BPE
#: vocabulary vs 84% of its word vocabulary; the default GRU on RuSentiment's test file went from 0.6928 / 0.6416
#: to 0.6958 / 0.6505 weighted / macro F1 (validation macro F1 0.619 -> 0.631; a BiGRU with concat pooling on
#: words: 0.7068 / 0.6623). MiniLM looks every string up in its own word pieces, which covers BPE pieces.
TOKENIZER: dict[str, str] = {"navec": "word"}


def _navec_words() -> list[str]:
    from .embedding_navec import navec_words

    return navec_words()


#: sources made of whole words, -> their word list: `extend_vocabulary` adds those to a word vocabulary
WORDS: dict[str, Callable[[], list[str]]] = {"navec": _navec_words}


def extend_vocabulary(tok: ScratchTokenizer, source: str) -> ScratchTokenizer:
    """A word tokenizer whose vocabulary is `tok`'s (training words first, ids unchanged) followed by every word of
    the pretrained `source` it lacks, beyond max_vocab: words unseen in training (or rarer than min_freq) then map
    to their pretrained vector instead of <unk>. Only words the word tokenizer can produce are added (navec's
    "a-gps" is two tokens). navec: +~230k rows (x 300 floats = ~280 MB more in the artifact)."""
    if source not in WORDS:
        raise ParamError(f"pretrained_vocab needs whole-word vectors ({', '.join(WORDS)}), not {source!r}")
    if not isinstance(tok, WordTokenizer):
        raise ParamError("pretrained_vocab needs tokenizer=word (or auto with navec)")
    from ..tokenization import _WORD

    known = set(tok.vocab)
    extra = [w for w in WORDS[source]() if w not in known and _WORD.fullmatch(w)]
    return WordTokenizer(tok.vocab + extra, tok.lowercase, tok.add_cls, tok.max_length)


def auto_source(texts: Sequence[str]) -> tuple[str, dict]:
    """The source `auto` picks for these training texts ("none" if no supported language) and the detection."""
    from ..language import detect_language

    det = detect_language(texts)
    return AUTO.get(det.language, "none"), det.as_dict()


def resolve_source(choice: str, texts: Sequence[str]) -> tuple[str, dict | None]:
    """(source, detection) for an init_embeddings `choice`: `auto` detects the texts' language, others are kept."""
    return auto_source(texts) if choice == "auto" else (choice, None)


def tokenizer_kind(setting: str, source: str) -> str:
    """The tokenizer a from-scratch model builds: `setting` ("word" / "bpe"), or for "auto" the one that fits
    the pretrained `source` best (TOKENIZER; "bpe" without a pretrained start, as before auto existed)."""
    return TOKENIZER.get(source, "bpe") if setting == "auto" else setting


def describe(choice: str, source: str, language: str | None) -> str:
    """One line for pages: "auto → English, MiniLM word pieces", "navec Russian word vectors", "none"."""
    from ..language import NAMES

    what = SOURCES[source][0] if source in SOURCES else "random start"
    return f"auto → {NAMES.get(language, language)}, {what}" if choice == "auto" else what


def initial_embeddings(choice: str, tok: ScratchTokenizer, texts: Sequence[str],
                       resolved: tuple[str, dict | None] | None = None) -> tuple[torch.Tensor | None, dict]:
    """Resolve `choice` (CHOICES) for a tokenizer built on `texts` (or take `resolve_source`'s answer): the (vocab,
    d) matrix (None for none) and the record stored in the manifest: {choice, source, language, detection,
    tokenizer, coverage, dim, description}."""
    matrix, _, record = pretrained_start(choice, tok, texts, resolved)
    return matrix, record


def pretrained_start(choice: str, tok: ScratchTokenizer, texts: Sequence[str],
                     resolved: tuple[str, dict | None] | None = None
                     ) -> tuple[torch.Tensor | None, torch.Tensor | None, dict]:
    """`initial_embeddings` plus the (vocab,) bool mask of the rows that got a pretrained vector (None for none):
    freeze_embeddings=pretrained keeps exactly those rows fixed."""
    source, det = resolved or resolve_source(choice, texts)
    record = {"choice": choice, "source": source, "language": det["language"] if det else None, "detection": det,
              "tokenizer": tok.kind}
    matrix = covered = None
    if source in SOURCES:
        matrix, covered = SOURCES[source][1](tok)
        record.update(coverage=round(float(covered.float().mean()), 4), dim=int(matrix.shape[1]))
    record["description"] = describe(choice, source, record["language"])
    return matrix, covered, record
