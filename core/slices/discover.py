"""Slice discovery: cluster a model's errors, rank the clusters by error-rate lift with a significance test, and
describe each by its most distinctive words.

1. Space: the model's sentence vectors when it declares `embed` (space "embed"), else TF-IDF of the evaluated
   texts ("tfidf"); vectors are L2-normalised (cosine geometry).
2. Pool: in TF-IDF space every row. Embedding a whole test set with a neural encoder costs minutes on a small
   CPU, so in embedding space the pool is every error (at most pool/2, a seeded sample beyond) plus a seeded
   sample of correct rows filling up to `pool` rows; embeddings are cached on disk (core.explain.embedding_cache).
   Sampling the correct rows (a case-control design) leaves the test below valid: an odds ratio does not depend
   on the sampling rate of one outcome; error rates are re-weighted to the whole set.
3. KMeans (k ~ sqrt(errors / 2), 2..15, seeded) on the errors' vectors; every pool row joins its nearest
   centroid, so a cluster is a region of the space and its error rate can be compared with the rest.
4. Per cluster: errors, correct rows, estimated error rate and lift over the whole set, one-sided Fisher exact
   test (more errors inside than outside), Holm-adjusted over the clusters; significant = adjusted p < alpha
   and lift > 1.
5. Words: class-based TF-IDF (as in BERTopic) of each cluster's errors against the other clusters and the
   correct rows: the words frequent in the cluster's errors and rare elsewhere (words in more than a fifth of
   the pool's texts are left out).
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from ..progress import ProgressCallback, null_progress
from .bootstrap import row_stats
from .inputs import EvalSet, atomic_save, cache_path, eval_set

DISCOVERY_VERSION = 1
POOL_CAP = 600
MAX_CLUSTERS = 15
N_WORDS = 8
SPACES = ("auto", "embed", "tfidf")
_WORD = r"(?u)\b[^\W\d_]{2,}\b"


@dataclass
class Discovery:
    """clusters: one row per cluster, ranked (cluster, n_pool, errors, correct, est_n, error_rate, lift,
    p_value, p_adjusted, significant, words, top_confusion); members: cluster -> row indices of the evaluated
    rows (errors first); space, pooled (True: correct rows were sampled), notes."""

    clusters: pd.DataFrame
    members: dict[int, list[int]]
    space: str
    pooled: bool
    notes: list[str] = field(default_factory=list)


def _space(es: EvalSet, space: str) -> str:
    if space not in SPACES:
        from ..errors import ParamError

        raise ParamError(f"space must be one of {SPACES}, got {space!r}")
    if space == "auto":
        return "embed" if "embed" in es.info.capabilities else "tfidf"
    return space


def pool_rows(wrong: np.ndarray, pool: int, seed: int) -> np.ndarray:
    """Sorted row indices: the errors (at most pool // 2, seeded sample) and a seeded sample of correct rows."""
    rng = np.random.default_rng(seed)
    err, ok = np.flatnonzero(wrong), np.flatnonzero(~wrong)
    if len(err) > pool // 2:
        err = rng.choice(err, pool // 2, replace=False)
    if len(ok) > pool - len(err):
        ok = rng.choice(ok, pool - len(err), replace=False)
    return np.sort(np.concatenate([err, ok]))


def _vectors(es: EvalSet, space: str, idx: np.ndarray, progress: ProgressCallback) -> np.ndarray:
    """(m, d) L2-normalised vectors of rows `idx` (dense for embeddings, sparse CSR for TF-IDF)."""
    from sklearn.preprocessing import normalize

    texts = es.preds.texts
    if space == "embed":
        from ..explain.embedding_cache import embed_rows

        emb = embed_rows(es.model, idx, preds=es.preds, progress=progress, rows=es.stamp if es.evaluation else "")
        return normalize(np.asarray(emb, np.float64))
    from sklearn.feature_extraction.text import TfidfVectorizer

    vec = TfidfVectorizer(token_pattern=_WORD, sublinear_tf=True, min_df=2 if len(idx) >= 50 else 1,
                          max_df=0.5 if len(idx) >= 50 else 1.0, max_features=50_000)
    return normalize(vec.fit_transform([texts[i] for i in idx]))


def holm(p: np.ndarray) -> np.ndarray:
    """Holm-Bonferroni adjusted p-values (same order as `p`)."""
    m = len(p)
    order = np.argsort(p)
    adj = np.minimum(1.0, np.maximum.accumulate((m - np.arange(m)) * p[order]))
    out = np.empty(m)
    out[order] = adj
    return out


def distinctive_words(texts: list[str], groups: np.ndarray, n_groups: int, top: int = N_WORDS) -> list[list[str]]:
    """Class-based TF-IDF: per group 0..n_groups-1 (group -1 = the rest), its `top` words (seen at least twice in
    the group) by tf(word, group) * log(1 + mean words per group / frequency of the word in all groups)."""
    from scipy import sparse
    from sklearn.feature_extraction.text import CountVectorizer

    try:  # words in more than a fifth of the texts (the, of, and...) describe nothing
        x = CountVectorizer(token_pattern=_WORD, lowercase=True, max_features=50_000,
                            max_df=0.2 if len(texts) >= 50 else 1.0).fit(texts)
    except ValueError:  # no word at all
        return [[] for _ in range(n_groups)]
    vocab = x.get_feature_names_out()
    counts = x.transform(texts)
    g = np.where(groups < 0, n_groups, groups)
    member = sparse.csr_matrix((np.ones(len(g)), (g, np.arange(len(g)))), shape=(n_groups + 1, len(g)))
    per = np.asarray((member @ counts).todense(), np.float64)
    tf = per / np.maximum(per.sum(axis=1, keepdims=True), 1)
    idf = np.log1p(per.sum(axis=1).mean() / np.maximum(per.sum(axis=0), 1))
    score = tf * idf
    out = []
    for c in range(n_groups):
        ok = per[c] >= 2
        best = np.argsort(-np.where(ok, score[c], -np.inf))[:top]
        out.append([str(vocab[j]) for j in best if ok[j]])
    return out


def _top_confusion(es: EvalSet, rows: np.ndarray) -> str:
    p = es.preds
    if p.multilabel or not len(rows):
        return ""
    pairs = pd.Series([f"{p.labels[int(p.y_true[i])]} → {p.labels[int(p.y_pred[i])]}" for i in rows])
    top = pairs.value_counts()
    return f"{top.index[0]} ({int(top.iloc[0])})"


def discover_in(es: EvalSet, *, space: str = "auto", pool: int = POOL_CAP, k: int | None = None, seed: int = 0,
                alpha: float = 0.05, progress: ProgressCallback = null_progress) -> Discovery:
    """Discovery on the rows of `es` (see the module doc), without the cache."""
    from scipy.stats import fisher_exact
    from sklearn.cluster import KMeans
    from sklearn.preprocessing import normalize

    space = _space(es, space)
    wrong = row_stats(es.preds)[:, 0] == 0
    n, n_err = len(wrong), int(wrong.sum())
    if n_err < 3:
        return Discovery(pd.DataFrame(), {}, space, False, [f"only {n_err} errors: nothing to cluster"])
    idx = pool_rows(wrong, pool, seed) if space == "embed" else np.arange(n)
    pooled = len(idx) < n
    progress(0, 3, f"Discovery: vectors of {len(idx):,} texts ({space})…")
    x = _vectors(es, space, idx, progress)
    w = wrong[idx]
    e_pool, c_pool = int(w.sum()), int((~w).sum())
    n_clusters = int(k or np.clip(round(np.sqrt(e_pool / 2)), 2, MAX_CLUSTERS))
    n_clusters = max(1, min(n_clusters, e_pool))
    progress(1, 3, f"Discovery: clustering {e_pool:,} errors into {n_clusters}…")
    km = KMeans(n_clusters=n_clusters, n_init=4, random_state=seed).fit(x[np.flatnonzero(w)])
    centres = normalize(km.cluster_centers_)
    assign = np.asarray(x @ centres.T).argmax(axis=1)
    w_err = n_err / e_pool
    w_ok = (n - n_err) / max(c_pool, 1)
    base = n_err / n
    rows, members = [], {}
    for c in range(n_clusters):
        inside = assign == c
        e, ok = int((inside & w).sum()), int((inside & ~w).sum())
        p = fisher_exact([[e, ok], [e_pool - e, c_pool - ok]], alternative="greater")[1]
        est_e, est_ok = e * w_err, ok * w_ok
        rate = est_e / max(est_e + est_ok, 1e-12)
        order = np.flatnonzero(inside)
        order = order[np.argsort(~w[order], kind="stable")]  # errors first
        members[c] = [int(i) for i in idx[order]]
        rows.append({"cluster": c, "n_pool": int(inside.sum()), "errors": e, "correct": ok,
                     "est_n": round(est_e + est_ok), "error_rate": rate, "lift": rate / base, "p_value": p,
                     "top_confusion": _top_confusion(es, idx[inside & w])})
    df = pd.DataFrame(rows)
    df["p_adjusted"] = holm(df["p_value"].to_numpy())
    df["significant"] = (df["p_adjusted"] < alpha) & (df["lift"] > 1)
    progress(2, 3, "Discovery: describing clusters…")
    groups = np.where(w, assign, -1)
    df["words"] = [", ".join(ws) for ws in distinctive_words([es.preds.texts[i] for i in idx], groups, n_clusters)]
    df = df.sort_values(["significant", "lift"], ascending=[False, False], kind="stable").reset_index(drop=True)
    progress(3, 3, "Discovery done")
    notes = [f"embedding space: {len(idx):,} of {n:,} rows (every error up to {pool // 2:,}, a sample of correct "
             "rows); error rates re-weighted to the whole set"] if pooled else []
    return Discovery(df, members, space, pooled, notes)


def discover(model: str, dataset: str | None = None, *, space: str = "auto", pool: int = POOL_CAP,
             k: int | None = None, seed: int = 0, alpha: float = 0.05,
             progress: ProgressCallback = null_progress) -> Discovery:
    """discover_in on `model`'s rows (inputs.eval_set), cached on disk."""
    es = eval_set(model, dataset, progress)
    path = cache_path(es, "discover", DISCOVERY_VERSION, _space(es, space), pool, k, seed, alpha).with_suffix(".json")
    try:
        raw = json.loads(path.read_text("utf-8"))
        return Discovery(pd.DataFrame(raw["clusters"], columns=raw["columns"]),
                         {int(c): m for c, m in raw["members"].items()}, raw["space"], raw["pooled"], raw["notes"])
    except (OSError, ValueError, KeyError):
        pass
    d = discover_in(es, space=space, pool=pool, k=k, seed=seed, alpha=alpha, progress=progress)
    payload = {"clusters": d.clusters.to_dict("records"), "columns": list(d.clusters.columns),
               "members": {str(c): m for c, m in d.members.items()}, "space": d.space, "pooled": d.pooled,
               "notes": d.notes}
    atomic_save(path, lambda tmp: tmp.write_text(json.dumps(payload, default=str), "utf-8"))
    return d


def cluster_texts(es: EvalSet, d: Discovery, cluster: int) -> pd.DataFrame:
    """The rows of one cluster: row, text, true, predicted, error (errors first)."""
    p = es.preds
    rows = d.members.get(int(cluster), [])
    y_pred = p.y_pred
    names = (lambda r: ", ".join(p.labels[j] for j in np.flatnonzero(r)) or "(none)") if p.multilabel else \
        (lambda v: p.labels[int(v)])
    wrong = row_stats(p)[:, 0] == 0
    return pd.DataFrame({"row": rows, "text": [p.texts[i] for i in rows],
                         "true": [names(p.y_true[i]) for i in rows], "predicted": [names(y_pred[i]) for i in rows],
                         "error": [bool(wrong[i]) for i in rows]})
