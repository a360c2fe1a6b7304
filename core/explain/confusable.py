""""Why A -> B": words over-represented in a confusion cell, their mean attribution, most confused pairs.

All functions take plain arrays (texts, integer labels, a confusion matrix) so they work for any model.
Words are lower-cased `simple_tokenize` words containing at least one letter (numbers and punctuation
are dropped); no stop-word list by default because the log-odds prior already discounts frequent words
and the lab is multilingual.
"""
from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence

import numpy as np
import pandas as pd

from .attribution import WORD_RE, TokenAttribution

COLUMNS = ["word", "score", "count_in_cell", "count_in_reference", "share_in_cell", "share_in_reference"]


def words_of(text: str, stop_words: Iterable[str] | None = None) -> list[str]:
    """Lower-cased words with a letter in them (the unit of every table here)."""
    stop = set(stop_words or ())
    return [w for w in (m.group().lower() for m in WORD_RE.finditer(text))
            if any(c.isalpha() for c in w) and w not in stop]


def _stop(stop_words) -> set[str]:
    if stop_words == "english":
        from sklearn.feature_extraction.text import ENGLISH_STOP_WORDS

        return set(ENGLISH_STOP_WORDS)
    return set(stop_words or ())


def cell_masks(y_true, y_pred, a: int, b: int, reference: str = "a") -> tuple[np.ndarray, np.ndarray]:
    """Boolean masks (cell = true a predicted b, reference = true a predicted a, or true b predicted b
    when `reference="b"`)."""
    y_true, y_pred = np.asarray(y_true), np.asarray(y_pred)
    if y_true.ndim != 1 or y_pred.ndim != 1:
        raise ValueError("confusion cells need single-label y_true / y_pred (1-D); pick one label of a "
                         "multi-label task first")
    if reference not in ("a", "b"):
        raise ValueError("reference must be 'a' (A predicted correctly) or 'b' (B predicted correctly)")
    cell = (y_true == a) & (y_pred == b)
    ref_class = a if reference == "a" else b
    ref = (y_true == ref_class) & (y_pred == ref_class)
    return cell, ref


def log_odds(cell_docs: list[list[str]], ref_docs: list[list[str]], background_docs: list[list[str]],
             prior_strength: float = 500.0) -> pd.Series:
    """Weighted log-odds ratio with an informative Dirichlet prior (Monroe, Colaresi & Quinn 2008) -> z-scores.

    The prior is the background word distribution scaled to `prior_strength` pseudo-counts, which shrinks
    words seen once or twice towards zero instead of letting them top the list.
    """
    yc = Counter(w for d in cell_docs for w in d)
    yr = Counter(w for d in ref_docs for w in d)
    bg = Counter(w for d in background_docs for w in d)
    vocab = sorted(set(yc) | set(yr))
    if not vocab:
        return pd.Series(dtype=float)
    bg_total = sum(bg.values()) or 1
    alpha = np.array([max(bg.get(w, 0), 1) for w in vocab], dtype=float) * prior_strength / bg_total
    a0 = alpha.sum()
    c = np.array([yc.get(w, 0) for w in vocab], dtype=float)
    r = np.array([yr.get(w, 0) for w in vocab], dtype=float)
    nc, nr = c.sum(), r.sum()
    delta = np.log((c + alpha) / (nc + a0 - c - alpha)) - np.log((r + alpha) / (nr + a0 - r - alpha))
    var = 1.0 / (c + alpha) + 1.0 / (r + alpha)
    return pd.Series(delta / np.sqrt(var), index=vocab)


def tfidf_difference(cell_texts: list[str], ref_texts: list[str], background: list[str],
                     stop_words=None) -> pd.Series:
    """Mean TF-IDF weight in the cell minus in the reference (IDF fitted on the background texts)."""
    from sklearn.feature_extraction.text import TfidfVectorizer

    vec = TfidfVectorizer(tokenizer=lambda t: words_of(t, stop_words), token_pattern=None, lowercase=False,
                          sublinear_tf=True)
    vec.fit(background)
    mc = np.asarray(vec.transform(cell_texts).mean(axis=0)).ravel() if cell_texts else 0.0
    mr = np.asarray(vec.transform(ref_texts).mean(axis=0)).ravel() if ref_texts else 0.0
    return pd.Series(mc - mr, index=vec.get_feature_names_out())


def confusable_words(texts: Sequence[str], y_true, y_pred, a: int, b: int, *, reference: str = "a",
                     method: str = "log_odds", top: int = 20, min_count: int = 2, stop_words=None,
                     prior_strength: float = 500.0) -> pd.DataFrame:
    """Words most over-represented in texts of class `a` predicted as `b` ("the cell") against the
    reference (texts of `a` predicted correctly, or of `b` predicted correctly with `reference="b"`).

    method "log_odds" (z-score of the weighted log-odds with a prior from all `texts`) or "tfidf" (mean
    TF-IDF in cell minus reference). Only words in at least `min_count` cell texts are kept.
    Columns: word, score, count_in_cell / count_in_reference (number of texts containing the word),
    share_in_cell / share_in_reference (fraction of texts). `df.attrs` holds n_cell, n_reference, method.
    """
    if method not in ("log_odds", "tfidf"):
        raise ValueError("method must be 'log_odds' or 'tfidf'")
    stop = _stop(stop_words)
    cell, ref = cell_masks(y_true, y_pred, a, b, reference)
    texts = list(texts)
    docs = [words_of(t, stop) for t in texts]
    cell_docs = [d for d, m in zip(docs, cell) if m]
    ref_docs = [d for d, m in zip(docs, ref) if m]
    attrs = {"n_cell": len(cell_docs), "n_reference": len(ref_docs), "method": method, "reference": reference}
    if not cell_docs:
        out = pd.DataFrame(columns=COLUMNS)
        out.attrs.update(attrs)
        return out
    if method == "log_odds":
        scores = log_odds(cell_docs, ref_docs, docs, prior_strength)
    else:
        scores = tfidf_difference([t for t, m in zip(texts, cell) if m], [t for t, m in zip(texts, ref) if m],
                                  texts, stop)
    df_cell = Counter(w for d in cell_docs for w in set(d))
    df_ref = Counter(w for d in ref_docs for w in set(d))
    rows = [(w, float(s), df_cell.get(w, 0), df_ref.get(w, 0)) for w, s in scores.items()
            if df_cell.get(w, 0) >= min_count]
    out = pd.DataFrame(rows, columns=COLUMNS[:4])
    out["share_in_cell"] = out["count_in_cell"] / max(len(cell_docs), 1)
    out["share_in_reference"] = out["count_in_reference"] / max(len(ref_docs), 1)
    out = out.sort_values(["score", "word"], ascending=[False, True]).head(top).reset_index(drop=True)
    out.attrs.update(attrs)
    return out


def mean_attribution(texts: Sequence[str], explain_fn: Callable[[str], TokenAttribution], *, max_texts: int = 30,
                     seed: int = 0, min_count: int = 1) -> pd.DataFrame:
    """Mean attribution per word over a seeded sample of at most `max_texts` texts (e.g. one confusion cell).

    `explain_fn(text) -> TokenAttribution` (SHAP, IG, linear ... of the class of interest). Values are
    mapped onto words first (see `align_to_words`), so every explainer aggregates the same way.
    Columns: word, mean_value, count (occurrences), n_texts; sorted by mean_value, largest first.
    """
    texts = list(texts)
    rng = np.random.default_rng(seed)
    idx = range(len(texts)) if len(texts) <= max_texts else sorted(rng.choice(len(texts), max_texts, replace=False))
    total: dict[str, float] = {}
    count: Counter = Counter()
    in_texts: Counter = Counter()
    for i in idx:
        attr = explain_fn(texts[i]).to_words(texts[i])
        seen = set()
        for w, v in zip(attr.tokens, attr.values):
            w = w.lower()
            if not any(c.isalpha() for c in w):
                continue
            total[w] = total.get(w, 0.0) + float(v)
            count[w] += 1
            seen.add(w)
        in_texts.update(seen)
    rows = [(w, total[w] / count[w], count[w], in_texts[w]) for w in total if count[w] >= min_count]
    out = pd.DataFrame(rows, columns=["word", "mean_value", "count", "n_texts"])
    out = out.sort_values(["mean_value", "word"], ascending=[False, True]).reset_index(drop=True)
    out.attrs["n_texts_explained"] = len(idx)
    return out


def confusable_pairs(confusion, labels: Sequence[str] | None = None, top: int | None = None) -> pd.DataFrame:
    """Off-diagonal cells of a (k, k) count confusion matrix (rows = true, columns = predicted), most
    frequent first.

    Columns: a, b (indices), label_a, label_b, count, rate (count / row total: the share of class a
    predicted as b), pair_count (a->b plus b->a, how confusable the pair is either way).
    """
    m = np.asarray(confusion, dtype=float)
    if m.ndim != 2 or m.shape[0] != m.shape[1]:
        raise ValueError(f"expected a square confusion matrix, got shape {m.shape}")
    k = m.shape[0]
    labels = list(labels) if labels is not None else [str(i) for i in range(k)]
    row = m.sum(axis=1)
    rows = [(a, b, labels[a], labels[b], int(m[a, b]), float(m[a, b] / row[a]) if row[a] else 0.0,
             int(m[a, b] + m[b, a]))
            for a in range(k) for b in range(k) if a != b and m[a, b] > 0]
    out = pd.DataFrame(rows, columns=["a", "b", "label_a", "label_b", "count", "rate", "pair_count"])
    out = out.sort_values(["count", "pair_count", "a", "b"], ascending=[False, False, True, True])
    return (out.head(top) if top else out).reset_index(drop=True)


def aggregate_attributions(texts: Sequence[str], attributions: Mapping[str, TokenAttribution]) -> pd.DataFrame:
    """`mean_attribution` over every text of `texts` whose explanation is already computed (`attributions[text]`):
    word, mean_value, count, n_texts (largest mean first)."""
    return mean_attribution(list(texts), attributions.__getitem__, max_texts=max(len(texts), 1))
