"""TF-IDF features + logistic regression: the fast, exactly explainable baseline.

Features: word n-grams and/or character n-grams inside word boundaries (`char_wb`), each with its own
`TfidfVectorizer`, stacked side by side. Classifier: multi-class L2 is one multinomial `LogisticRegression`
(saga); multi-class L1 is one-vs-rest binary LRs (liblinear: saga needs 10-50x longer for L1 and scored
lower on AG News), probabilities normalised to sum to 1; two classes and multi-label use binary LRs
(liblinear; one per label, a label with a single class in train gets a constant probability).

Because the model is linear, the score of class c is exactly `intercept_c + sum_j coef_cj * x_j`, so
`contributions` splits it over the words of the text without sampling (no SHAP needed).

Saved format (no pickle): config.json, per vectorizer `vectorizer_<name>.vocabulary.json` (term -> column)
and `vectorizer_<name>.idf.npy`, and `linear.npz` (coef, intercept, classes, constant).

This module is the classifier (inference, explanations, save/load); settings, grid search and `fit` live in
core/models/tfidf_fit.py and are re-exported from here on first use (`tfidf.fit`, `tfidf.PARAMS`), so loading a
saved model never imports the training code.
"""
from __future__ import annotations

import json
import re
from bisect import bisect_left, bisect_right
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import scipy.sparse as sp
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression

from .. import thresholds
from ..base import WORD_PATTERN, TextClassifier, simple_tokenize
from ..errors import ArtifactError
from . import training_attributes

KIND = "tfidf"
TITLE = "TF-IDF + logistic regression"
DESCRIPTION = ("Word and character n-gram TF-IDF features with a linear classifier: trains in seconds on a CPU, "
               "strong baseline, every prediction splits exactly into per-word contributions.")

FORMAT = "tfidf-lr"
FORMAT_VERSION = 1

# Only these TfidfVectorizer settings are saved / accepted on load (JSON-safe, no callables, no file input).
_VEC_KEYS = ("analyzer", "ngram_range", "lowercase", "token_pattern", "strip_accents", "norm", "use_idf",
             "smooth_idf", "sublinear_tf", "binary", "min_df", "max_df", "max_features")
_WS = re.compile(r"\S+")
_DISPLAY = WORD_PATTERN  # the units of core.base.simple_tokenize


#: names defined by the training module core/models/tfidf_fit.py, imported from it on first use
__getattr__ = training_attributes(__name__, ".tfidf_fit", {"PARAMS", "fit", "check_params", "make_vectorizers",
                                                          "search"})


class TfidfFormatError(ArtifactError, ValueError):
    """A saved TF-IDF model folder is missing a file, truncated or inconsistent (also a ValueError, as before)."""


# ----------------------------------------------------------------------------------------------------------
# the classifier (inference, explanations, persistence)


class TfidfClassifier(TextClassifier):
    """Stacked TF-IDF vectorizers + logistic regression.

    Multi-class: `coef_` (r, d), `intercept_` (r,), `classes_` (r,) label indices present in train
    (r = 1 with two classes: the binary LR scores classes_[1]); `ovr` = one binary LR per class (L1) whose
    probabilities are normalised, else a multinomial (softmax) LR. Multi-label: `coef_` (k, d), `intercept_` (k,),
    `constant_` (k,) = fixed probability of labels that had one class in train (NaN for fitted labels).
    """

    kind = KIND
    capabilities = frozenset({"tokens", "contributions"})

    def __init__(self, labels: Sequence[str], multilabel: bool, vectorizers: list[tuple[str, TfidfVectorizer]],
                 coef: np.ndarray, intercept: np.ndarray, classes: np.ndarray | None = None,
                 constant: np.ndarray | None = None, config: dict[str, Any] | None = None,
                 threshold: float = 0.5, ovr: bool = False) -> None:
        self.labels = [str(x) for x in labels]
        self.multilabel = bool(multilabel)
        self.ovr = bool(ovr) and not self.multilabel
        self.vectorizers = vectorizers
        self.coef_ = np.asarray(coef, dtype=np.float64)
        self.intercept_ = np.asarray(intercept, dtype=np.float64)
        k = len(self.labels)
        self.classes_ = np.arange(k) if classes is None else np.asarray(classes, dtype=np.int64)
        self.constant_ = np.full(k, np.nan) if constant is None else np.asarray(constant, dtype=np.float64)
        self.config = dict(config or {})
        self.threshold = threshold
        self._offsets = np.cumsum([0] + [len(v.vocabulary_) for _, v in vectorizers])
        self._names: list[str] | None = None
        self._validate()
        self._build_estimators()

    # -- construction -------------------------------------------------------------------------------------
    def _validate(self) -> None:
        k, d = len(self.labels), int(self._offsets[-1])
        if self.coef_.ndim != 2 or self.coef_.shape[1] != d:
            raise TfidfFormatError(f"coef has shape {self.coef_.shape}, expected (rows, {d}) for {d} features")
        if self.intercept_.shape != (self.coef_.shape[0],):
            raise TfidfFormatError(f"intercept has shape {self.intercept_.shape}, expected ({self.coef_.shape[0]},)")
        if not (np.isfinite(self.coef_).all() and np.isfinite(self.intercept_).all()):
            raise TfidfFormatError("weights contain NaN or infinite values")
        if self.multilabel:
            if self.coef_.shape[0] != k or self.constant_.shape != (k,):
                raise TfidfFormatError(f"multi-label weights must have {k} rows (one per label)")
        else:
            c = self.classes_
            if c.ndim != 1 or len(c) < 2 or len(np.unique(c)) != len(c) or c.min() < 0 or c.max() >= k:
                raise TfidfFormatError(f"classes {c.tolist()} are not distinct label indices of {k} labels")
            expected = 1 if len(c) == 2 and not self.ovr else len(c)
            if self.coef_.shape[0] != expected:
                raise TfidfFormatError(f"{len(c)} classes need {expected} weight rows, found {self.coef_.shape[0]}")

    def _build_estimators(self) -> None:
        """sklearn LogisticRegression objects from the stored arrays (the same path after fit and after load,
        so a loaded model gives bit-identical probabilities)."""
        d = self.coef_.shape[1]

        def lr(coef: np.ndarray, intercept: np.ndarray, classes: np.ndarray) -> LogisticRegression:
            m = LogisticRegression()
            m.coef_, m.intercept_, m.classes_, m.n_features_in_ = coef, intercept, classes, d
            return m

        if self.multilabel:
            self._estimators = [None if np.isfinite(self.constant_[j]) else
                                lr(self.coef_[j:j + 1], self.intercept_[j:j + 1], np.array([0, 1]))
                                for j in range(len(self.labels))]
        elif self.ovr:
            self._estimators = [lr(self.coef_[j:j + 1], self.intercept_[j:j + 1], np.array([0, 1]))
                                for j in range(len(self.classes_))]
        else:
            self._estimators = [lr(self.coef_, self.intercept_, self.classes_)]

    # -- inference ----------------------------------------------------------------------------------------
    def transform(self, texts: Sequence[str]) -> sp.csr_matrix:
        """(n, d) sparse TF-IDF features, vectorizers side by side in `vectorizers` order."""
        texts = [str(t) for t in texts]
        return sp.hstack([v.transform(texts) for _, v in self.vectorizers], format="csr")

    def predict_proba(self, texts: Sequence[str]) -> np.ndarray:
        return self.predict_proba_features(self.transform(texts))

    def predict_proba_features(self, X: sp.csr_matrix) -> np.ndarray:
        """(n, k) probabilities from (n, d) features made by `transform`."""
        out = np.zeros((X.shape[0], len(self.labels)), dtype=np.float64)
        if self.multilabel:
            for j, est in enumerate(self._estimators):
                out[:, j] = self.constant_[j] if est is None else est.predict_proba(X)[:, 1]
        elif self.ovr:  # normalised one-vs-rest, as sklearn's OneVsRestClassifier does
            scores = np.stack([est.predict_proba(X)[:, 1] for est in self._estimators], axis=1)
            total = scores.sum(axis=1, keepdims=True)
            out[:, self.classes_] = np.divide(scores, total, out=np.full_like(scores, 1 / scores.shape[1]),
                                              where=total > 0)
        else:
            out[:, self.classes_] = self._estimators[0].predict_proba(X)
        return out

    def n_parameters(self) -> int:
        rows = np.isnan(self.constant_) if self.multilabel else slice(None)
        return int(self.coef_[rows].size + self.intercept_[rows].size)

    @property
    def n_features(self) -> int:
        return int(self._offsets[-1])

    # -- explanations -------------------------------------------------------------------------------------
    def class_weights(self, class_index: int) -> tuple[np.ndarray, float]:
        """(d,) weights and bias whose dot product with the features is the score pushing `class_index`
        (the logit for binary / multi-label, the softmax input for multi-class)."""
        k = len(self.labels)
        if not 0 <= class_index < k:
            raise IndexError(f"class_index {class_index} out of range for {k} labels")
        d = self.coef_.shape[1]
        if self.multilabel:
            if np.isfinite(self.constant_[class_index]):
                return np.zeros(d), 0.0
            return self.coef_[class_index], float(self.intercept_[class_index])
        where = np.flatnonzero(self.classes_ == class_index)
        if not len(where):  # class never seen in train: no weights push it
            return np.zeros(d), 0.0
        if len(self.classes_) == 2 and not self.ovr:  # one binary row scoring classes_[1]; classes_[0] gets the opposite
            sign = 1.0 if where[0] == 1 else -1.0
            return sign * self.coef_[0], sign * float(self.intercept_[0])
        return self.coef_[where[0]], float(self.intercept_[where[0]])

    def contributions_base(self, class_index: int) -> float:
        """The bias of the class score (what an empty text scores)."""
        return self.class_weights(class_index)[1]

    def feature_names(self) -> list[str]:
        """d names "<vectorizer>:<n-gram>", e.g. "word:stock market" or "char: mar" (column order)."""
        if self._names is None:
            names: list[str] = []
            for name, v in self.vectorizers:
                inv = np.empty(len(v.vocabulary_), dtype=object)
                for term, j in v.vocabulary_.items():
                    inv[j] = f"{name}:{term}"
                names.extend(inv.tolist())
            self._names = names
        return self._names

    def top_features(self, class_index: int, n: int = 20, negative: bool = False) -> list[tuple[str, float]]:
        """The n n-grams with the largest weights for the class (most negative if `negative`)."""
        w, _ = self.class_weights(class_index)
        order = np.argsort(w if negative else -w, kind="stable")[:n]
        names = self.feature_names()
        return [(names[j], float(w[j])) for j in order if w[j] != 0]

    def feature_contributions(self, text: str, class_index: int, n: int = 20) -> list[tuple[str, float]]:
        """The n n-grams of `text` with the largest |weight x tf-idf| for the class (raw feature level)."""
        w, _ = self.class_weights(class_index)
        x = self.transform([text])
        values = w[x.indices] * x.data
        order = np.argsort(-np.abs(values), kind="stable")[:n]
        names = self.feature_names()
        return [(names[x.indices[i]], float(values[i])) for i in order]

    def contributions(self, text: str, class_index: int) -> list[tuple[str, float]]:
        """[(token, value)] for every display token of `text` in order (core.base.simple_tokenize units).

        value = share of sum_j coef_cj * x_j over the n-grams touching the token: an n-gram's contribution is
        split evenly over its occurrences in the text and, within one occurrence, evenly over the tokens it
        overlaps (a word pair gives half to each word; a char n-gram to the word containing it).
        The values sum to the class score minus `contributions_base` (exact additivity). [] if the text has
        no known n-gram.
        """
        x = self.transform([text])
        if x.nnz == 0:
            return []
        w, _ = self.class_weights(class_index)
        matches = list(_DISPLAY.finditer(text))
        starts = [m.start() for m in matches]  # sorted, and the tokens do not overlap: bisect finds a span's
        ends = [m.end() for m in matches]  # tokens in O(log n), so a 100,000-character text costs no more per n-gram
        out = [0.0] * len(matches)
        present = dict(zip(x.indices.tolist(), (w[x.indices] * x.data).tolist()))
        unplaced = 0.0
        for (_, vec), offset in zip(self.vectorizers, self._offsets[:-1]):
            for term, spans_list in _occurrences(vec, text).items():
                j = vec.vocabulary_.get(term)
                if j is None or (j + offset) not in present:
                    continue
                value = present.pop(j + offset) / len(spans_list)
                for spans in spans_list:
                    hit = _covered(starts, ends, spans)
                    if hit:
                        share = value / len(hit)
                        for i in hit:
                            out[i] += share
                    else:
                        unplaced += value
        unplaced += sum(present.values())  # n-grams we could not locate (exotic case folding): spread evenly
        spread = unplaced / len(matches) if unplaced and matches else 0.0
        return [(m.group(), float(v + spread)) for m, v in zip(matches, out)]

    def tokenize(self, text: str) -> list[str]:
        return simple_tokenize(text)

    # -- persistence --------------------------------------------------------------------------------------
    def save(self, directory: Path) -> None:
        directory = Path(directory)
        directory.mkdir(parents=True, exist_ok=True)
        vec_meta = []
        for name, v in self.vectorizers:
            p = {key: v.get_params()[key] for key in _VEC_KEYS}
            p["ngram_range"] = list(p["ngram_range"])
            vocab = {str(t): int(j) for t, j in v.vocabulary_.items()}
            (directory / f"vectorizer_{name}.vocabulary.json").write_text(
                json.dumps(vocab, ensure_ascii=False), encoding="utf-8")
            np.save(directory / f"vectorizer_{name}.idf.npy", np.asarray(v.idf_, dtype=np.float64),
                    allow_pickle=False)
            vec_meta.append({"name": name, "params": p, "n_features": len(vocab)})
        np.savez(directory / "linear.npz", coef=self.coef_, intercept=self.intercept_, classes=self.classes_,
                 constant=self.constant_, allow_pickle=False)
        config = {"format": FORMAT, "format_version": FORMAT_VERSION, "labels": self.labels,
                  "multilabel": self.multilabel, "ovr": self.ovr, "threshold": thresholds.as_json(self.threshold), "vectorizers": vec_meta,
                  "n_features": self.n_features, "params": _jsonable(self.config)}
        (directory / "config.json").write_text(json.dumps(config, indent=1, ensure_ascii=False), encoding="utf-8")

    @classmethod
    def load(cls, directory: Path) -> TfidfClassifier:
        directory = Path(directory)
        try:
            return cls._load(directory)
        except TfidfFormatError as e:
            raise TfidfFormatError(f"{directory} could not be loaded: {e}") from e
        except Exception as e:  # truncated zip / npy / json surface as many exception types
            raise TfidfFormatError(f"{directory} could not be loaded: corrupted or incomplete TF-IDF model "
                                   f"({e.__class__.__name__}: {e})") from e

    @classmethod
    def _load(cls, directory: Path) -> TfidfClassifier:
        if not (directory / "config.json").is_file():
            raise TfidfFormatError("config.json is missing (not a saved TF-IDF model)")
        config = json.loads((directory / "config.json").read_text(encoding="utf-8"))
        if config.get("format") != FORMAT:
            raise TfidfFormatError(f"format {config.get('format')!r} is not {FORMAT!r}")
        if int(config.get("format_version", 0)) > FORMAT_VERSION:
            raise TfidfFormatError(f"format_version {config['format_version']} is newer than this code "
                                   f"({FORMAT_VERSION})")
        vectorizers = []
        for meta in config["vectorizers"]:
            name = str(meta["name"])
            if not re.fullmatch(r"\w+", name):
                raise TfidfFormatError(f"bad vectorizer name {name!r}")
            params = {key: meta["params"][key] for key in _VEC_KEYS if key in meta["params"]}
            if params.get("analyzer") not in ("word", "char_wb"):
                raise TfidfFormatError(f"unsupported analyzer {params.get('analyzer')!r}")
            params["ngram_range"] = tuple(int(n) for n in params["ngram_range"])
            vocab = json.loads((directory / f"vectorizer_{name}.vocabulary.json").read_text(encoding="utf-8"))
            idf = np.load(directory / f"vectorizer_{name}.idf.npy", allow_pickle=False)
            _check_vocabulary(name, vocab, idf, int(meta["n_features"]))
            v = TfidfVectorizer(**params)
            v.vocabulary_ = vocab
            v.idf_ = idf
            vectorizers.append((name, v))
        with np.load(directory / "linear.npz", allow_pickle=False) as z:
            arrays = {key: z[key] for key in ("coef", "intercept", "classes", "constant")}
        if sum(len(v.vocabulary_) for _, v in vectorizers) != int(config["n_features"]):
            raise TfidfFormatError("vocabulary sizes do not add up to n_features in config.json")
        return cls(config["labels"], bool(config["multilabel"]), vectorizers, arrays["coef"], arrays["intercept"],
                   arrays["classes"], arrays["constant"], config=config.get("params", {}),
                   threshold=thresholds.from_json(config.get("threshold")), ovr=bool(config.get("ovr", False)))


def _check_vocabulary(name: str, vocab: Any, idf: np.ndarray, n: int) -> None:
    if not isinstance(vocab, dict) or len(vocab) != n:
        raise TfidfFormatError(f"vocabulary of {name!r} should hold {n} terms")
    cols = np.fromiter(vocab.values(), dtype=np.int64, count=len(vocab))
    if n and (cols.min() < 0 or cols.max() >= n or len(np.unique(cols)) != n):
        raise TfidfFormatError(f"vocabulary of {name!r} does not map onto columns 0..{n - 1}")
    if idf.shape != (n,) or idf.dtype.kind != "f" or not np.isfinite(idf).all():
        raise TfidfFormatError(f"idf of {name!r} has shape {idf.shape}, expected ({n},) finite floats")


def _jsonable(obj: Any) -> Any:
    if isinstance(obj, dict):
        return {str(k): _jsonable(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_jsonable(v) for v in obj]
    if isinstance(obj, np.generic):
        return obj.item()
    return obj


def _occurrences(vec: TfidfVectorizer, text: str) -> dict[str, list[list[tuple[int, int]]]]:
    """Every n-gram `vec` extracts from `text` -> one entry per occurrence, each a list of (start, end)
    character ranges of `text` it covers. Mirrors sklearn's word / char_wb analyzers."""
    lo, hi = vec.ngram_range
    found: dict[str, list[list[tuple[int, int]]]] = {}
    if vec.analyzer == "word":
        # the token pattern does not depend on case, so matching the raw text keeps offsets exact
        toks = [(m.group().lower() if vec.lowercase else m.group(), m.span())
                for m in re.finditer(vec.token_pattern, text)]
        for n in range(lo, hi + 1):
            for i in range(len(toks) - n + 1):
                gram = toks[i:i + n]
                found.setdefault(" ".join(t for t, _ in gram), []).append([s for _, s in gram])
    elif vec.analyzer == "char_wb":
        # sklearn pads each whitespace-separated word with one space on both sides
        for m in _WS.finditer(text):
            raw, start = m.group(), m.start()
            word = raw.lower() if vec.lowercase else raw
            same = len(word) == len(raw)

            def span(a: int, b: int, start: int = start, n_chars: int = len(raw), same: bool = same):
                # padded position p maps to word char p - 1; the padding spaces cover nothing
                if not same:
                    return [(start, start + n_chars)]
                return [(start + max(a - 1, 0), start + min(b - 1, n_chars))]

            _char_grams(" " + word + " ", lo, hi, found, span)
    return found


def _covered(starts: list[int], ends: list[int], spans: list[tuple[int, int]]) -> list[int]:
    """Indices of the display tokens (sorted, non-overlapping [starts[i], ends[i]) ranges) that overlap any
    character range (s, e) of `spans`, ascending: those with ends > s and starts < e."""
    if len(spans) == 1:
        s, e = spans[0]
        return list(range(bisect_right(ends, s), bisect_left(starts, e)))
    return sorted({i for s, e in spans for i in range(bisect_right(ends, s), bisect_left(starts, e))})


def _char_grams(w: str, lo: int, hi: int, found: dict, span) -> None:
    """sklearn's char_wb n-gram loop over one padded word (a word shorter than n counts once, whole)."""
    for n in range(lo, hi + 1):
        if len(w) < n:
            found.setdefault(w, []).append(span(0, len(w)))
            break
        for o in range(len(w) - n + 1):
            found.setdefault(w[o:o + n], []).append(span(o, o + n))


CLASSIFIER = TfidfClassifier
