"""Slice discovery: cluster a model's errors, rank the clusters by error-rate lift with a significance test, and
describe each by its most distinctive words.

1. Space: the model's sentence vectors when it declares `embed` (space "embed"), else TF-IDF of the evaluated
   texts ("tfidf"); vectors are L2-normalised (cosine geometry).
2. Pool: in TF-IDF space every row. Embedding a whole test set with a neural encoder costs minutes on a small
   CPU, so in embedding space the pool is every error (at most pool/2, a seeded sample beyond) plus a seeded
   sample of correct rows filling up to `pool` rows; embeddings are cached on disk (core.explain.embedding_cache).
   Sampling the correct rows (a case-control design) leaves the test below valid: an odds ratio does not depend
   on the sampling rate of one outcome; error rates are re-weighted to the whole set.
3. The errors are split in two seeded halves. KMeans (seeded; k by the best cosine silhouette, or given) on the
   first half's vectors. Every other row joins its nearest cluster when it is as close to the centre as 75% of
   the cluster's fitted errors, so a cluster is a region of the space around its errors.
4. Per cluster, counted on the rows the clusters were NOT fitted on (the held-out errors and the correct rows):
   estimated error rate and lift over the whole set, one-sided Fisher exact test (more held-out errors inside
   than outside), Holm-adjusted over the clusters; significant = adjusted p < alpha and lift > 1. (Counting the
   fitted errors too would make every cluster look bad: they were chosen for being errors.)
5. Words: class-based TF-IDF (as in BERTopic) of each cluster's errors against the other clusters and the
   correct rows: the words frequent in the cluster's errors and rare elsewhere (words in more than a fifth of
   the pool's texts are left out).
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from ..atomic import atomic_write_text
from ..progress import ProgressCallback, null_progress
from .bootstrap import row_stats
from .inputs import EvalSet, cache_path, eval_set

DISCOVERY_VERSION = 8
POOL_CAP = 600
MAX_CLUSTERS = 15
#: A correct row joins a cluster when it is at least as close to the centre as this quantile of the cluster's errors.
RADIUS_QUANTILE = 0.25
N_WORDS = 8
#: Dimensions of the TF-IDF space after LSA (truncated SVD).
LSA_DIMS = 100
SPACES = ("auto", "embed", "tfidf")
_WORD = r"(?u)\b[^\W\d_]{2,}\b"


@dataclass
class Discovery:
    """clusters: one row per cluster, ranked (cluster, n_pool, errors, held_out_errors, correct, est_n, error_rate, lift,
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


def _vectors(es: EvalSet, space: str, idx: np.ndarray, progress: ProgressCallback, embed=None) -> np.ndarray:
    """(m, d) dense L2-normalised vectors of rows `idx`: sentence vectors, or TF-IDF reduced by LSA."""
    from sklearn.preprocessing import normalize

    texts = es.preds.texts
    if space == "embed":
        from ..explain.embedding_cache import embed_rows

        emb = embed_rows(es.model, idx, embed=embed, preds=es.preds, progress=progress,
                         rows=es.stamp if es.evaluation else "")
        return normalize(np.asarray(emb, np.float64))
    from sklearn.decomposition import TruncatedSVD
    from sklearn.feature_extraction.text import TfidfVectorizer

    vec = TfidfVectorizer(token_pattern=_WORD, sublinear_tf=True, min_df=2 if len(idx) >= 50 else 1,
                          max_df=0.5 if len(idx) >= 50 else 1.0, max_features=50_000)
    tfidf = vec.fit_transform([texts[i] for i in idx])
    # LSA: words that occur together become one direction, so texts sharing a rare marker cluster together
    dims = min(LSA_DIMS, tfidf.shape[1] - 1, len(idx) - 1)
    if dims < 2:
        return normalize(tfidf.toarray())
    return normalize(TruncatedSVD(n_components=dims, random_state=0).fit_transform(tfidf))


def _cluster(x: np.ndarray, k: int | None, seed: int) -> np.ndarray:
    """(n,) cluster labels of the errors' vectors (rows L2-normalised): agglomerative clustering (average
    linkage, cosine), `k` clusters or the k in [round(sqrt(n) / 2), min(MAX_CLUSTERS, round(sqrt(n)))] (at
    least 2) with the best cosine silhouette. Average linkage keeps a tight group whole (texts sharing a marker
    but varying in their other words) where KMeans cuts it, and leaves stray errors as small clusters; the range
    keeps dense embedding spaces, where the silhouette favours two clusters, from being cut in halves."""
    from sklearn.cluster import AgglomerativeClustering
    from sklearn.metrics import silhouette_score

    n = len(x)

    def fit(c: int) -> np.ndarray:
        if c <= 1 or n < 2:
            return np.zeros(n, np.int64)
        return AgglomerativeClustering(n_clusters=min(c, n), metric="cosine", linkage="average").fit_predict(x)

    if k or n < 4:
        return fit(int(k or 1))
    hi = max(2, min(MAX_CLUSTERS, round(np.sqrt(n)), n - 1))
    best, best_score = fit(2), -2.0
    for c in range(min(max(2, round(np.sqrt(n) / 2)), hi), hi + 1):
        labels = fit(c)
        if len(set(labels)) < 2:
            continue
        score = silhouette_score(x, labels, metric="cosine", random_state=seed)
        if score > best_score:
            best, best_score = labels, score
    return best


def _regions(x, w: np.ndarray, k: int | None, seed: int) -> tuple[np.ndarray, np.ndarray, int]:
    """(fit (m,) bool: the half of the errors the clusters are fitted on, assign (m,) cluster or -1, clusters).

    The errors are split in two seeded halves: KMeans on one half; every other row (the other half's errors and
    the correct rows) joins its nearest cluster when it is at least as close to the centre as the
    RADIUS_QUANTILE of the fitted errors of that cluster, else no cluster. Testing on rows the clusters were not
    fitted on keeps the lift and the p-value honest (clusters fitted on errors contain errors by construction)."""
    from sklearn.preprocessing import normalize

    err = np.flatnonzero(w)
    rng = np.random.default_rng(seed)
    fit = np.zeros(len(w), bool)
    fit[rng.permutation(err)[: (len(err) + 1) // 2]] = True
    fitted = np.flatnonzero(fit)
    labels = _cluster(x[fitted], k, seed)
    n_clusters = int(labels.max()) + 1
    sums = np.vstack([x[fitted[labels == c]].sum(axis=0) for c in range(n_clusters)])
    sims = x @ normalize(sums).T
    nearest = sims.argmax(axis=1)
    assign = np.where(sims[np.arange(len(w)), nearest] >= _radius(x[fitted], labels, sums)[nearest], nearest, -1)
    assign[fitted] = labels
    return fit, assign, n_clusters


def _radius(x: np.ndarray, labels: np.ndarray, sums: np.ndarray) -> np.ndarray:
    """(clusters,) the RADIUS_QUANTILE of the fitted members' similarity to their cluster's centre computed
    WITHOUT them (leave one out): a member pulls the centre towards itself, so its own similarity overstates how
    close a new member of the same group would be (a singleton gets no radius: nothing joins it)."""
    loo = sums[labels] - x
    norm = np.linalg.norm(loo, axis=1)
    sims = np.where(norm > 0, (x * loo).sum(axis=1) / np.where(norm > 0, norm, 1), np.nan)
    out = np.full(len(sums), np.inf)
    for c in range(len(sums)):
        s = sims[(labels == c) & np.isfinite(sims)]
        if len(s):
            out[c] = np.quantile(s, RADIUS_QUANTILE)
    return out


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
                alpha: float = 0.05, progress: ProgressCallback = null_progress, embed=None) -> Discovery:
    """Discovery on the rows of `es` (see the module doc), without the cache. embed: a function embedding a
    batch of texts (default: the loaded model's embed; the dashboard passes one that holds its model lock)."""
    from scipy.stats import fisher_exact

    space = _space(es, space)
    wrong = row_stats(es.preds)[:, 0] == 0
    n, n_err = len(wrong), int(wrong.sum())
    if n_err < 3:
        return Discovery(pd.DataFrame(), {}, space, False, [f"only {n_err} errors: nothing to cluster"])
    idx = pool_rows(wrong, pool, seed) if space == "embed" else np.arange(n)
    pooled = len(idx) < n
    progress(0, 3, f"Discovery: vectors of {len(idx):,} texts ({space})…")
    x = _vectors(es, space, idx, progress, embed)
    w = wrong[idx]
    e_pool, c_pool = int(w.sum()), int((~w).sum())
    progress(1, 3, f"Discovery: clustering {e_pool:,} errors…")
    fit, assign, n_clusters = _regions(x, w, k, seed)
    held = w & ~fit  # the errors the clusters were not fitted on: the test counts only these and the correct rows
    e_held = int(held.sum())
    w_err = n_err / max(e_held, 1)
    w_ok = (n - n_err) / max(c_pool, 1)
    base = n_err / n
    rows, members = [], {}
    for c in range(n_clusters):
        inside = assign == c
        e, ok = int((inside & held).sum()), int((inside & ~w).sum())
        p = fisher_exact([[e, ok], [e_held - e, c_pool - ok]], alternative="greater")[1]
        est_e, est_ok = e * w_err, ok * w_ok
        rate = est_e / max(est_e + est_ok, 1e-12)
        order = np.flatnonzero(inside)
        order = order[np.argsort(~w[order], kind="stable")]  # errors first
        members[c] = [int(i) for i in idx[order]]
        rows.append({"cluster": c, "n_pool": int(inside.sum()), "errors": int((inside & w).sum()),
                     "held_out_errors": e, "correct": ok, "est_n": round(est_e + est_ok), "error_rate": rate,
                     "lift": rate / base, "p_value": p, "top_confusion": _top_confusion(es, idx[inside & w])})
    df = pd.DataFrame(rows)
    df["p_adjusted"] = holm(df["p_value"].to_numpy())
    df["significant"] = (df["p_adjusted"] < alpha) & (df["lift"] > 1)
    progress(2, 3, "Discovery: describing clusters…")
    groups = np.where(w, assign, -1)
    df["words"] = [", ".join(ws) for ws in distinctive_words([es.preds.texts[i] for i in idx], groups, n_clusters)]
    df = df.sort_values(["significant", "lift"], ascending=[False, False], kind="stable").reset_index(drop=True)
    progress(3, 3, "Discovery: done")
    notes = [f"embedding space: {len(idx):,} of {n:,} rows (every error up to {pool // 2:,}, a sample of correct "
             "rows); error rates re-weighted to the whole set"] if pooled else []
    return Discovery(df, members, space, pooled, notes)


def discover(model: str, dataset: str | None = None, *, space: str = "auto", pool: int = POOL_CAP,
             k: int | None = None, seed: int = 0, alpha: float = 0.05,
             progress: ProgressCallback = null_progress, embed=None) -> Discovery:
    """discover_in on `model`'s rows (inputs.eval_set), cached on disk."""
    es = eval_set(model, dataset, progress)
    path = cache_path(es, "discover", DISCOVERY_VERSION, _space(es, space), pool, k, seed, alpha).with_suffix(".json")
    try:
        raw = json.loads(path.read_text("utf-8"))
        return Discovery(pd.DataFrame(raw["clusters"], columns=raw["columns"]),
                         {int(c): m for c, m in raw["members"].items()}, raw["space"], raw["pooled"], raw["notes"])
    except (OSError, ValueError, KeyError):
        pass
    d = discover_in(es, space=space, pool=pool, k=k, seed=seed, alpha=alpha, progress=progress, embed=embed)
    payload = {"clusters": d.clusters.to_dict("records"), "columns": list(d.clusters.columns),
               "members": {str(c): m for c, m in d.members.items()}, "space": d.space, "pooled": d.pooled,
               "notes": d.notes}
    atomic_write_text(path, json.dumps(payload, default=str))
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
