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
"""
from __future__ import annotations

import json
import re
import time
import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import scipy.sparse as sp
from sklearn.exceptions import ConvergenceWarning
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression

from ..base import TextClassifier, simple_tokenize
from ..data import Split, TextDataset
from ..params import Param, ParamError, resolve
from ..progress import ProgressCallback, null_progress

KIND = "tfidf"
TITLE = "TF-IDF + logistic regression"
DESCRIPTION = ("Word and character n-gram TF-IDF features with a linear classifier: trains in seconds on a CPU, "
               "strong baseline, every prediction splits exactly into per-word contributions.")

FORMAT = "tfidf-lr"
FORMAT_VERSION = 1

PARAMS: list[Param] = [
    Param("analyzer", "word+char", "features: word n-grams, character n-grams inside words (robust to typos "
          "and word forms), or both side by side", choices=("word", "char_wb", "word+char")),
    Param("word_ngram_max", 2, "longest word n-gram (1 = single words, 2 = also word pairs)", min=1, max=3),
    Param("char_ngram_min", 2, "shortest character n-gram (char_wb / word+char)", min=1, max=6),
    Param("char_ngram_max", 5, "longest character n-gram (char_wb / word+char); longer = more features, slower",
          min=1, max=8),
    Param("max_features", 300_000, "keep the most frequent n-grams of each analyzer (0 = no limit)",
          min=0, max=10_000_000),
    Param("min_df", 2, "ignore n-grams seen in fewer training texts than this (2 halves the features of AG News "
          "at the same accuracy)", min=1, max=1000),
    Param("sublinear_tf", True, "use 1 + log(count) instead of the raw count (damps repeated words)"),
    Param("penalty", "l2", "regulariser: l2 (dense weights, usually best) or l1 (sparse weights, feature "
          "selection)", choices=("l2", "l1")),
    Param("C", 5.0, "inverse regularisation strength: larger = fits the training data more closely",
          min=1e-4, max=1e4),
    Param("class_weight", "none", "'balanced' weighs classes inversely to their frequency (imbalanced data)",
          choices=("none", "balanced")),
    Param("search", False, "cross-validated grid search (3-fold, on a sample) over penalty, C and the word "
          "n-gram range before the final fit; the choice and the CV table land in train_info['search']"),
    Param("search_rows", 6000, "rows sampled from train for the grid search (a smaller sample tends to favour "
          "a smaller C than the full training set would)", min=60, max=1_000_000,
          advanced=True),
    Param("search_C", [1.0, 3.0, 10.0, 30.0], "C values tried by the search (comma separated)", type=list,
          advanced=True),
    Param("search_penalty", ["l2", "l1"], "penalties tried by the search", type=list, choices=("l2", "l1"),
          multi=True, advanced=True),
    Param("search_word_ngram_max", [1, 2], "word n-gram lengths tried by the search (ignored for char_wb)",
          type=list, advanced=True),
    Param("max_iter", 1000, "maximum solver iterations", min=10, max=100_000, advanced=True),
    Param("tol", 1e-3, "solver stopping tolerance (1e-4 doubles the fit time of AG News for the same accuracy)",
          min=1e-8, max=1e-1, advanced=True),
]

# Only these TfidfVectorizer settings are saved / accepted on load (JSON-safe, no callables, no file input).
_VEC_KEYS = ("analyzer", "ngram_range", "lowercase", "token_pattern", "strip_accents", "norm", "use_idf",
             "smooth_idf", "sublinear_tf", "binary", "min_df", "max_df", "max_features")
_WS = re.compile(r"\S+")
_DISPLAY = re.compile(r"\w+|[^\w\s]", re.UNICODE)  # the units of core.base.simple_tokenize


class TfidfFormatError(ValueError):
    """A saved TF-IDF model folder is missing a file, truncated or inconsistent."""


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
        starts = np.array([m.start() for m in matches])
        ends = np.array([m.end() for m in matches])
        out = np.zeros(len(matches))
        present = dict(zip(x.indices.tolist(), (w[x.indices] * x.data).tolist()))
        unplaced = 0.0
        for (_, vec), offset in zip(self.vectorizers, self._offsets[:-1]):
            for term, spans_list in _occurrences(vec, text).items():
                j = vec.vocabulary_.get(term)
                if j is None or (j + offset) not in present:
                    continue
                value = present.pop(j + offset) / len(spans_list)
                for spans in spans_list:
                    hit = np.zeros(len(matches), dtype=bool)
                    for s, e in spans:
                        hit |= (starts < e) & (ends > s)
                    if hit.any():
                        out[hit] += value / hit.sum()
                    else:
                        unplaced += value
        unplaced += sum(present.values())  # n-grams we could not locate (exotic case folding): spread evenly
        if unplaced and len(matches):
            out += unplaced / len(matches)
        return [(m.group(), float(v)) for m, v in zip(matches, out)]

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
                  "multilabel": self.multilabel, "ovr": self.ovr, "threshold": self.threshold, "vectorizers": vec_meta,
                  "n_features": self.n_features, "params": _jsonable(self.config)}
        (directory / "config.json").write_text(json.dumps(config, indent=1, ensure_ascii=False), encoding="utf-8")

    @classmethod
    def load(cls, directory: Path) -> TfidfClassifier:
        directory = Path(directory)
        try:
            return cls._load(directory)
        except TfidfFormatError as e:
            raise TfidfFormatError(f"{directory}: {e}") from e
        except Exception as e:  # truncated zip / npy / json surface as many exception types
            raise TfidfFormatError(f"{directory}: corrupted or incomplete TF-IDF model "
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
                   threshold=config.get("threshold", 0.5), ovr=bool(config.get("ovr", False)))


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


def _char_grams(w: str, lo: int, hi: int, found: dict, span) -> None:
    """sklearn's char_wb n-gram loop over one padded word (a word shorter than n counts once, whole)."""
    for n in range(lo, hi + 1):
        if len(w) < n:
            found.setdefault(w, []).append(span(0, len(w)))
            break
        for o in range(len(w) - n + 1):
            found.setdefault(w[o:o + n], []).append(span(o, o + n))


# ----------------------------------------------------------------------------------------------------------
# training


def _check_params(params: dict[str, Any]) -> dict[str, Any]:
    params = resolve(PARAMS, params)
    if params["char_ngram_min"] > params["char_ngram_max"]:
        raise ParamError(f"char_ngram_min ({params['char_ngram_min']}) must be ≤ char_ngram_max "
                         f"({params['char_ngram_max']})")
    try:
        params["search_C"] = [float(c) for c in params["search_C"]]
        params["search_word_ngram_max"] = [int(float(n)) for n in params["search_word_ngram_max"]]
    except (TypeError, ValueError) as e:
        raise ParamError(f"search grid values must be numbers: {e}") from e
    if not params["search_C"] or min(params["search_C"]) <= 0:
        raise ParamError("search_C needs at least one value, all > 0")
    if not params["search_word_ngram_max"] or not all(1 <= n <= 3 for n in params["search_word_ngram_max"]):
        raise ParamError("search_word_ngram_max values must be within 1..3")
    if not params["search_penalty"]:
        raise ParamError("search_penalty needs at least one of l2, l1")
    return params


#: Cross-setting checks, run by core.train.run and the Train page before any work starts.
check_params = _check_params


def make_vectorizers(params: dict[str, Any]) -> list[tuple[str, TfidfVectorizer]]:
    """Unfitted vectorizers for the analyzer setting: [("word", ...)], [("char", ...)] or both."""
    common = {"min_df": params["min_df"], "max_features": params["max_features"] or None,
              "sublinear_tf": params["sublinear_tf"], "dtype": np.float64}
    out = []
    if params["analyzer"] in ("word", "word+char"):
        out.append(("word", TfidfVectorizer(analyzer="word", ngram_range=(1, params["word_ngram_max"]), **common)))
    if params["analyzer"] in ("char_wb", "word+char"):
        out.append(("char", TfidfVectorizer(analyzer="char_wb",
                                            ngram_range=(params["char_ngram_min"], params["char_ngram_max"]),
                                            **common)))
    return out


def _fit_vectorizers(vecs: list[tuple[str, TfidfVectorizer]], texts: list[str]) -> sp.csr_matrix:
    try:
        return sp.hstack([v.fit_transform(texts) for _, v in vecs], format="csr")
    except ValueError as e:  # e.g. "empty vocabulary" / min_df above the number of texts
        raise ValueError(f"could not build TF-IDF features: {e}") from e


def _lr(params: dict[str, Any], binary: bool) -> LogisticRegression:
    # saga fits the multinomial model fast on sparse data (4x lbfgs here); liblinear is the robust binary solver
    return LogisticRegression(
        C=params["C"], l1_ratio=1.0 if params["penalty"] == "l1" else 0.0,
        solver="liblinear" if binary else "saga", max_iter=params["max_iter"], tol=params["tol"],
        class_weight=None if params["class_weight"] == "none" else "balanced", random_state=0)


def _fit_linear(X: sp.csr_matrix, y: np.ndarray, k: int, multilabel: bool, params: dict[str, Any],
                progress: ProgressCallback = null_progress, step: tuple[int, int] = (0, 1)) -> dict[str, Any]:
    """Fit the LR(s); returns the arrays the classifier is built from plus solver diagnostics."""
    warns: list[str] = []
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", ConvergenceWarning)
        if multilabel:
            coef, intercept = np.zeros((k, X.shape[1])), np.zeros(k)
            constant = np.full(k, np.nan)
            n_iter = []
            for j in range(k):
                col = np.asarray(y[:, j])
                if len(np.unique(col)) < 2:  # nothing to learn: the label is always (never) on in train
                    constant[j] = float(col[0]) if len(col) else 0.0
                else:
                    m = _lr(params, binary=True).fit(X, col)
                    coef[j], intercept[j] = m.coef_[0], m.intercept_[0]
                    n_iter.append(int(np.max(m.n_iter_)))
                progress(step[0] + (j + 1) / k, step[1], f"fitting: label {j + 1}/{k}")
            arrays = {"coef": coef, "intercept": intercept, "classes": None, "constant": constant, "ovr": False}
        else:
            classes = np.unique(y)
            if len(classes) < 2:
                raise ValueError(f"training needs at least two classes, found {len(classes)}")
            if len(classes) > 2 and params["penalty"] == "l1":  # one-vs-rest liblinear (see module docstring)
                models = []
                for i, c in enumerate(classes):
                    models.append(_lr(params, binary=True).fit(X, (y == c).astype(np.int64)))
                    progress(step[0] + (i + 1) / len(classes), step[1], f"fitting: class {i + 1}/{len(classes)}")
                coef = np.vstack([m.coef_ for m in models])
                intercept = np.concatenate([m.intercept_ for m in models])
                n_iter = [int(np.max(m.n_iter_)) for m in models]
                ovr = True
            else:
                m = _lr(params, binary=len(classes) == 2).fit(X, y)
                coef, intercept, n_iter, ovr = m.coef_, m.intercept_, [int(np.max(m.n_iter_))], False
            arrays = {"coef": coef, "intercept": intercept, "classes": classes.astype(np.int64), "constant": None,
                      "ovr": ovr}
    warns = sorted({str(w.message).split("\n")[0] for w in caught if issubclass(w.category, ConvergenceWarning)})
    arrays["diagnostics"] = {"n_iter": n_iter, "converged": not warns, "warnings": warns}
    return arrays


def _score(proba: np.ndarray, y: np.ndarray, multilabel: bool) -> float:
    """Accuracy (multi-class) or micro F1 at 0.5 (multi-label): the search's selection score."""
    if multilabel:
        pred = proba >= 0.5
        tp = float((pred & (y == 1)).sum())
        denom = float(pred.sum() + (y == 1).sum())
        return 2 * tp / denom if denom else 1.0
    return float((proba.argmax(axis=1) == y).mean())


def _folds(y: np.ndarray, multilabel: bool, n_splits: int = 3) -> list[tuple[np.ndarray, np.ndarray]]:
    from sklearn.model_selection import KFold, StratifiedKFold

    idx = np.arange(len(y))
    if not multilabel and np.bincount(y).min(initial=n_splits) >= n_splits:
        return list(StratifiedKFold(n_splits, shuffle=True, random_state=0).split(idx, y))
    return list(KFold(n_splits, shuffle=True, random_state=0).split(idx))


def search(split: Split, k: int, multilabel: bool, params: dict[str, Any],
           progress: ProgressCallback = null_progress) -> dict[str, Any]:
    """3-fold cross-validated grid over word n-gram range x penalty x C on at most `search_rows` rows.

    Returns {"chosen": {...}, "scoring", "rows", "folds", "seconds", "table": [{word_ngram_max, penalty, C,
    mean, std, scores, seconds}] sorted best first}. Vectorizers are fitted once per fold and n-gram setting.
    """
    t0 = time.perf_counter()
    rng = np.random.default_rng(0)
    n = min(len(split), params["search_rows"])
    rows = np.sort(rng.permutation(len(split))[:n])
    texts = [split.texts[i] for i in rows]
    y = np.asarray(split.y)[rows]
    grams = params["search_word_ngram_max"] if params["analyzer"] != "char_wb" else [params["word_ngram_max"]]
    grams = sorted(set(grams))
    combos = [(p, c) for p in params["search_penalty"] for c in params["search_C"]]
    folds = _folds(y, multilabel)
    total = len(grams) * len(folds) * (1 + len(combos))
    scores: dict[tuple, list[float]] = {}
    seconds: dict[tuple, float] = {}
    done = 0
    for g in grams:
        for f, (tr, te) in enumerate(folds):
            progress(done, total, f"search: vectorising fold {f + 1}/{len(folds)} (word n-grams ≤ {g})")
            vecs = make_vectorizers({**params, "word_ngram_max": g})
            Xtr = _fit_vectorizers(vecs, [texts[i] for i in tr])
            Xte = sp.hstack([v.transform([texts[i] for i in te]) for _, v in vecs], format="csr")
            done += 1
            for pen, c in combos:
                progress(done, total, f"search: fold {f + 1}/{len(folds)} n-grams ≤ {g} {pen} C={c:g}")
                s0 = time.perf_counter()
                trial = {**params, "penalty": pen, "C": c}
                try:
                    arr = _fit_linear(Xtr, y[tr], k, multilabel, trial)
                    arr.pop("diagnostics")
                    model = TfidfClassifier([str(i) for i in range(k)], multilabel, vecs, **arr)
                    score = _score(model.predict_proba_features(Xte), y[te], multilabel)
                except ValueError:  # e.g. a fold with a single class
                    score = float("nan")
                key = (g, pen, c)
                scores.setdefault(key, []).append(score)
                seconds[key] = seconds.get(key, 0.0) + time.perf_counter() - s0
                done += 1
    table = []
    for (g, pen, c), s in scores.items():
        arr_s = np.asarray(s, dtype=np.float64)
        table.append({"word_ngram_max": g, "penalty": pen, "C": c,
                      "mean": float(np.nanmean(arr_s)) if np.isfinite(arr_s).any() else None,
                      "std": float(np.nanstd(arr_s)) if np.isfinite(arr_s).any() else None,
                      "scores": [None if not np.isfinite(v) else float(v) for v in s],
                      "seconds": round(seconds[(g, pen, c)], 3)})
    # best mean first; ties keep grid order (fewer n-grams, l2, smaller C come first)
    ranked = sorted(range(len(table)), key=lambda i: (-(table[i]["mean"] if table[i]["mean"] is not None
                                                        else -np.inf), i))
    table = [table[i] for i in ranked]
    best = table[0]
    if best["mean"] is None:
        raise ValueError("grid search failed on every candidate (too few rows or classes in the sample?)")
    chosen = {"penalty": best["penalty"], "C": best["C"]}
    if params["analyzer"] != "char_wb":
        chosen["word_ngram_max"] = best["word_ngram_max"]
    progress(total, total, "search: done")
    return {"chosen": chosen, "scoring": "f1_micro" if multilabel else "accuracy", "rows": int(n),
            "folds": len(folds), "seconds": round(time.perf_counter() - t0, 2), "table": table}


def fit(dataset: TextDataset, params: dict[str, Any] | None = None,
        progress: ProgressCallback = null_progress) -> tuple[TfidfClassifier, dict[str, Any]]:
    """Train on `dataset.train` (optionally after a grid search); returns (model, train_info).

    train_info: n_features (per vectorizer too), params (final, after the search), vectorize_seconds,
    fit_seconds, train_seconds, solver diagnostics (n_iter, converged, warnings), validation_accuracy
    (when a validation split exists) and search (when `search` is on).
    """
    params = _check_params(params or {})
    t0 = time.perf_counter()
    k, multilabel = dataset.n_labels, dataset.multilabel
    info: dict[str, Any] = {}
    if params["search"]:
        info["search"] = search(dataset.train, k, multilabel, params, progress)
        params = {**params, **info["search"]["chosen"]}
    total = 3
    progress(0, total, "vectorising: fitting TF-IDF on the training texts")
    t_vec = time.perf_counter()
    vecs = make_vectorizers(params)
    X = _fit_vectorizers(vecs, [str(t) for t in dataset.train.texts])
    t_vec = time.perf_counter() - t_vec
    progress(1, total, f"fitting: logistic regression on {X.shape[0]} x {X.shape[1]} features")
    t1 = time.perf_counter()
    arrays = _fit_linear(X, np.asarray(dataset.train.y), k, multilabel, params, progress, step=(1, total))
    t_fit = time.perf_counter() - t1
    diagnostics = arrays.pop("diagnostics")
    model = TfidfClassifier(dataset.labels, multilabel, vecs, **arrays, config=params)
    info.update({
        "n_features": model.n_features,
        "n_features_per_vectorizer": {name: len(v.vocabulary_) for name, v in vecs},
        "params": _jsonable(params),
        "solver": ("saga (multinomial)" if not (multilabel or model.ovr or len(model.classes_) == 2)
                   else "liblinear (one-vs-rest)" if model.ovr else "liblinear"),
        "vectorize_seconds": round(t_vec, 3),
        "fit_seconds": round(t_fit, 3),
        "train_seconds": round(time.perf_counter() - t0, 3),
        **diagnostics,
    })
    if len(dataset.validation):
        proba = model.predict_proba(dataset.validation.texts)
        key = "validation_f1_micro" if multilabel else "validation_accuracy"
        info[key] = _score(proba, np.asarray(dataset.validation.y), multilabel)
    progress(total, total, "done")
    return model, info


CLASSIFIER = TfidfClassifier
