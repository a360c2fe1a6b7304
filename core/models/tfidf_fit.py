"""Training of the TF-IDF family: settings (PARAMS), the optional grid search and `fit`.

Kept apart from core/models/tfidf.py (the classifier: inference, explanations, save/load) so loading a saved
model never imports the training code. See that module's docstring for the model itself.
"""
from __future__ import annotations

import time
import warnings
from typing import Any

import numpy as np
import scipy.sparse as sp
from sklearn.exceptions import ConvergenceWarning
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression

from ..data import Split, TextDataset
from ..errors import DataError
from ..params import Param, ParamError, resolve
from ..progress import ProgressCallback, null_progress
from .tfidf import CLASSIFIER, DESCRIPTION, KIND, TITLE, TfidfClassifier, _jsonable

__all__ = ["KIND", "TITLE", "DESCRIPTION", "PARAMS", "CLASSIFIER", "check_params", "fit", "make_vectorizers", "search"]

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
        raise DataError(f"could not build TF-IDF features: {e}") from e


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
                raise DataError(f"training needs at least two classes, found {len(classes)}")
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
        raise DataError("grid search failed on every candidate (too few rows or classes in the sample?)")
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


