"""Tokenizers for models trained from scratch: a word-level vocabulary and byte-pair encoding (HF `tokenizers`).

Both share one small interface (`ScratchTokenizer`):
    ids(texts) -> list[list[int]]          truncated to `max_length` (with a leading <cls> when `add_cls`)
    encode(texts) -> {"input_ids": (B, T) long, "attention_mask": (B, T) long}   padded to the longest row
    tokens(text) -> list[str]              display units aligned 1:1 with ids(text) (original casing)
    save(folder) / load_tokenizer(folder)  json only
Special ids are fixed: <pad>=0, <unk>=1, <cls>=2. `max_length` defaults to the 95th percentile of the training
token counts, rounded up to a multiple of 8 and capped at 256 (`choose_max_length`).
"""
from __future__ import annotations

import heapq
import json
import re
from collections import Counter, defaultdict
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np
import torch

PAD, UNK, CLS = "<pad>", "<unk>", "<cls>"
SPECIALS = [PAD, UNK, CLS]
PAD_ID, UNK_ID, CLS_ID = 0, 1, 2

_WORD = re.compile(r"\w+|[^\w\s]", re.UNICODE)
CONFIG_FILE = "tokenizer_config.json"


def choose_max_length(lengths: Sequence[int], coverage: float = 0.95, multiple: int = 8, cap: int = 256) -> int:
    """Smallest multiple of `multiple` covering `coverage` of the lengths, within [multiple, cap]."""
    if len(lengths) == 0:
        return min(64, cap)
    q = float(np.percentile(np.asarray(lengths), coverage * 100))
    return int(min(cap, max(multiple, multiple * int(np.ceil(q / multiple)))))


PREFIX = "##"


def train_bpe(word_counts: dict[str, int], vocab_size: int, min_freq: int = 2) -> tuple[list[str], list[tuple[str, str]]]:
    """Deterministic byte-pair-encoding training (Sennrich et al.) on word counts -> (vocab, merges).

    Continuation symbols carry the "##" prefix, matching `tokenizers.models.BPE(continuing_subword_prefix="##")`,
    which then does the (fast) encoding. Written here rather than using `tokenizers.trainers.BpeTrainer`
    because that trainer breaks ties between equally frequent pairs in hash order, so two runs on the same
    texts give different vocabularies; here ties go to the lexicographically smallest pair.
    """
    words = sorted(word_counts)
    freq = [word_counts[w] for w in words]
    syms = [[w[0]] + [PREFIX + c for c in w[1:]] for w in words]
    vocab = SPECIALS + sorted({s for sy in syms for s in sy} - set(SPECIALS))
    known = set(vocab)
    pair_count: dict[tuple[str, str], int] = defaultdict(int)
    where: dict[tuple[str, str], set[int]] = defaultdict(set)
    for i, sy in enumerate(syms):
        for p in zip(sy, sy[1:]):
            pair_count[p] += freq[i]
            where[p].add(i)
    heap = [(-c, p) for p, c in pair_count.items()]
    heapq.heapify(heap)
    merges: list[tuple[str, str]] = []
    while len(vocab) < vocab_size and heap:
        neg, pair = heapq.heappop(heap)
        if pair_count.get(pair, 0) != -neg:
            continue  # stale entry: the current count was pushed separately
        if -neg < max(1, min_freq):
            break
        a, b = pair
        new = a + b[len(PREFIX):]
        merges.append(pair)
        if new not in known:
            known.add(new)
            vocab.append(new)
        changed = set()
        for i in sorted(where.pop(pair, ())):
            sy = syms[i]
            old = list(zip(sy, sy[1:]))
            if pair not in old:
                continue
            for p in old:
                pair_count[p] -= freq[i]
                changed.add(p)
            out, j = [], 0
            while j < len(sy):
                if j + 1 < len(sy) and sy[j] == a and sy[j + 1] == b:
                    out.append(new)
                    j += 2
                else:
                    out.append(sy[j])
                    j += 1
            syms[i] = out
            for p in zip(out, out[1:]):
                pair_count[p] += freq[i]
                where[p].add(i)
                changed.add(p)
        for p in changed:
            c = pair_count[p]
            if c > 0:
                heapq.heappush(heap, (-c, p))
            else:
                pair_count.pop(p, None)
    return vocab, merges


def pad_batch(ids: list[list[int]]) -> dict[str, torch.Tensor]:
    """Right-pad with <pad>=0 to the longest row; attention_mask marks real tokens (every row keeps ≥ 1 token)."""
    ids = [row if row else [UNK_ID] for row in ids]
    width = max((len(r) for r in ids), default=1)
    out = torch.zeros((len(ids), width), dtype=torch.long)
    mask = torch.zeros((len(ids), width), dtype=torch.long)
    for i, row in enumerate(ids):
        out[i, :len(row)] = torch.as_tensor(row, dtype=torch.long)
        mask[i, :len(row)] = 1
    return {"input_ids": out, "attention_mask": mask}


class ScratchTokenizer:
    """Common part of the word and BPE tokenizers."""

    kind = ""

    def __init__(self, lowercase: bool = True, add_cls: bool = False, max_length: int = 0) -> None:
        self.lowercase = lowercase
        self.add_cls = add_cls
        self.max_length = max_length

    # subclasses implement _raw_ids / _raw_tokens without <cls> and truncation
    def _raw_ids(self, texts: list[str]) -> list[list[int]]:
        raise NotImplementedError

    def _raw_tokens(self, text: str) -> list[str]:
        raise NotImplementedError

    @property
    def vocab_size(self) -> int:
        raise NotImplementedError

    def _limit(self) -> int:
        return (self.max_length or 10**9) - int(self.add_cls)

    def ids(self, texts: Sequence[str]) -> list[list[int]]:
        lim = self._limit()
        head = [CLS_ID] if self.add_cls else []
        return [head + r[:lim] for r in self._raw_ids(list(texts))]

    def encode(self, texts: Sequence[str]) -> dict[str, torch.Tensor]:
        return pad_batch(self.ids(texts))

    __call__ = encode

    def cached(self, texts: Sequence[str]) -> Callable[[list[str]], dict[str, torch.Tensor]]:
        """An `encode` that tokenises `texts` once up front (training re-reads them every epoch); texts not
        seen here are tokenised on the fly."""
        texts = list(dict.fromkeys(texts))
        table = dict(zip(texts, self.ids(texts)))

        def encode(batch: list[str]) -> dict[str, torch.Tensor]:
            missing = [t for t in batch if t not in table]
            extra = dict(zip(missing, self.ids(missing))) if missing else {}
            return pad_batch([table[t] if t in table else extra[t] for t in batch])

        return encode

    def tokens(self, text: str) -> list[str]:
        toks = self._raw_tokens(text)[:self._limit()]
        toks = toks or [UNK]  # pad_batch keeps one <unk> for empty texts
        return ([CLS] if self.add_cls else []) + toks

    def lengths(self, texts: Sequence[str]) -> list[int]:
        """Token counts without truncation (plus <cls>)."""
        return [len(r) + int(self.add_cls) for r in self._raw_ids(list(texts))]

    def fit_max_length(self, texts: Sequence[str], sample: int = 5000, seed: int = 0) -> int:
        """Set max_length from the length percentiles of (a sample of) `texts`; returns it."""
        texts = list(texts)
        if len(texts) > sample:
            rng = np.random.default_rng(seed)
            texts = [texts[i] for i in rng.choice(len(texts), sample, replace=False)]
        self.max_length = choose_max_length(self.lengths(texts))
        return self.max_length

    def _config(self) -> dict:
        return {"kind": self.kind, "lowercase": self.lowercase, "add_cls": self.add_cls,
                "max_length": self.max_length}

    def save(self, folder: Path) -> None:
        folder = Path(folder)
        folder.mkdir(parents=True, exist_ok=True)
        (folder / CONFIG_FILE).write_text(json.dumps(self._config(), indent=1))


class WordTokenizer(ScratchTokenizer):
    """Words and punctuation marks (regex `\\w+|[^\\w\\s]`); words rarer than `min_freq` map to <unk>."""

    kind = "word"

    def __init__(self, vocab: list[str], lowercase: bool = True, add_cls: bool = False, max_length: int = 0) -> None:
        super().__init__(lowercase, add_cls, max_length)
        if vocab[:3] != SPECIALS:
            raise ValueError(f"vocabulary must start with {SPECIALS}")
        self.vocab = list(vocab)
        self.index = {w: i for i, w in enumerate(self.vocab)}

    @classmethod
    def fit(cls, texts: Sequence[str], min_freq: int = 2, max_size: int = 30000, lowercase: bool = True,
            add_cls: bool = False) -> WordTokenizer:
        counts: Counter[str] = Counter()
        for t in texts:
            counts.update(_WORD.findall(t.lower() if lowercase else t))
        # most frequent first; ties broken alphabetically so the vocabulary is deterministic
        words = sorted((w for w, c in counts.items() if c >= min_freq), key=lambda w: (-counts[w], w))
        words = words[:max(0, max_size - len(SPECIALS))]
        return cls(SPECIALS + words, lowercase, add_cls)

    @property
    def vocab_size(self) -> int:
        return len(self.vocab)

    def _raw_ids(self, texts: list[str]) -> list[list[int]]:
        get = self.index.get
        low = self.lowercase
        return [[get(w, UNK_ID) for w in _WORD.findall(t.lower() if low else t)] for t in texts]

    def _raw_tokens(self, text: str) -> list[str]:
        return _WORD.findall(text)

    def save(self, folder: Path) -> None:
        super().save(folder)
        (Path(folder) / "vocab.json").write_text(json.dumps(self.vocab, ensure_ascii=False))

    @classmethod
    def _load(cls, folder: Path, config: dict) -> WordTokenizer:
        vocab = json.loads((folder / "vocab.json").read_text())
        return cls(vocab, config["lowercase"], config["add_cls"], config["max_length"])


_SURROGATE = re.compile("[\ud800-\udfff]")


def _encodable(text: str) -> str:
    """`text` with lone surrogates replaced by U+FFFD, one character for one, so offsets still match: the Rust
    tokenizers library rejects strings that are not valid Unicode, Python strings need not be."""
    return _SURROGATE.sub("\ufffd", text)


class BPETokenizer(ScratchTokenizer):
    """Byte-pair encoding trained with HF `tokenizers` on whitespace/punctuation pre-tokens; continuation
    pieces carry the "##" prefix, so `tokens()` reads like WordPiece ("classif", "##ication")."""

    kind = "bpe"

    def __init__(self, tokenizer, lowercase: bool = True, add_cls: bool = False, max_length: int = 0) -> None:
        super().__init__(lowercase, add_cls, max_length)
        self.tok = tokenizer

    @classmethod
    def fit(cls, texts: Sequence[str], vocab_size: int = 8000, min_freq: int = 2, lowercase: bool = True,
            add_cls: bool = False) -> BPETokenizer:
        from tokenizers import Tokenizer, models, normalizers, pre_tokenizers

        norms = [normalizers.NFKC()] + ([normalizers.Lowercase()] if lowercase else [])
        normalizer = normalizers.Sequence(norms)
        pre = pre_tokenizers.Whitespace()
        counts: Counter[str] = Counter()
        for t in texts:
            counts.update(w for w, _ in pre.pre_tokenize_str(normalizer.normalize_str(t)))
        vocab, merges = train_bpe(counts, vocab_size, min_freq)
        tok = Tokenizer(models.BPE(vocab={w: i for i, w in enumerate(vocab)}, merges=merges, unk_token=UNK,
                                   continuing_subword_prefix=PREFIX))
        tok.normalizer = normalizer
        tok.pre_tokenizer = pre
        return cls(tok, lowercase, add_cls)

    @property
    def vocab_size(self) -> int:
        return self.tok.get_vocab_size()

    def _raw_ids(self, texts: list[str]) -> list[list[int]]:
        return [e.ids for e in self.tok.encode_batch([_encodable(t) for t in texts], add_special_tokens=False)]

    def _raw_tokens(self, text: str) -> list[str]:
        enc = self.tok.encode(_encodable(text), add_special_tokens=False)
        out = []
        for piece, (s, e) in zip(enc.tokens, enc.offsets):
            # show the original casing; keep the "##" marker of continuation pieces
            out.append(("##" if piece.startswith("##") else "") + text[s:e] if e > s else piece)
        return out

    def save(self, folder: Path) -> None:
        super().save(folder)
        self.tok.save(str(Path(folder) / "tokenizer.json"))

    @classmethod
    def _load(cls, folder: Path, config: dict) -> BPETokenizer:
        from tokenizers import Tokenizer

        tok = Tokenizer.from_file(str(folder / "tokenizer.json"))
        return cls(tok, config["lowercase"], config["add_cls"], config["max_length"])


def build_tokenizer(kind: str, texts: Sequence[str], *, min_freq: int = 2, max_size: int = 30000,
                    vocab_size: int = 8000, lowercase: bool = True, add_cls: bool = False,
                    max_length: int = 0) -> ScratchTokenizer:
    """Train a "word" or "bpe" tokenizer on `texts`; max_length=0 picks it from the length percentiles."""
    if kind == "word":
        tok: ScratchTokenizer = WordTokenizer.fit(texts, min_freq, max_size, lowercase, add_cls)
    elif kind == "bpe":
        tok = BPETokenizer.fit(texts, vocab_size, min_freq, lowercase, add_cls)
    else:
        raise ValueError(f"tokenizer must be 'word' or 'bpe', got {kind!r}")
    if max_length:
        tok.max_length = int(max_length)
    else:
        tok.fit_max_length(texts)
    return tok


def load_tokenizer(folder: Path) -> ScratchTokenizer:
    """Read a tokenizer written by `save`."""
    folder = Path(folder)
    config = json.loads((folder / CONFIG_FILE).read_text())
    kinds = {"word": WordTokenizer, "bpe": BPETokenizer}
    if config.get("kind") not in kinds:
        raise ValueError(f"unknown tokenizer kind {config.get('kind')!r} in {folder}")
    return kinds[config["kind"]]._load(folder, config)
