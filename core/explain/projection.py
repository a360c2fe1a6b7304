"""Embedding maps: (n, d) sentence embeddings -> (m, 2) with PCA, t-SNE or UMAP, and a shared PCA space
for two models (teacher and student) over the same texts.

Large sets are capped (default 3,000 rows) by a seeded sample stratified on the labels, and the result
says so (`Projection.capped`, `.indices`). Results are cached on disk as .npz (no pickle) under
core.config.cache_dir()/projections, keyed on (artifact name, method, rows, params, seed) plus a
fingerprint of the sampled embeddings, so a re-trained artifact with the same name never gets a stale map.
"""
from __future__ import annotations

import hashlib
import json
import re
import time
import warnings
from dataclasses import dataclass, field

import numpy as np

from ..atomic import atomic_write
from ..errors import CapabilityError  # a missing optional package: the user can install it

METHODS = ("pca", "tsne", "umap")
DEFAULT_CAP = 3000
#: t-SNE iterations: 500 (not sklearn's 1,000) keeps 3,000 points near the 30 s budget on 2 cores; the layout
#: is settled by then for maps of this size (pass params={"max_iter": 1000} for the full schedule)
TSNE_ITER = 500
#: UMAP epochs: 200 (umap-learn's choice for large sets; it uses 500 below 10,000 points) saves ~60% of the layout time
UMAP_EPOCHS = 200


@dataclass
class Projection:
    """A 2-D map of (a sample of) the embeddings.

    coords:  (m, 2) float32; row j is input row indices[j].
    indices: (m,) int64 rows of the input that were projected (sorted).
    n_total: rows before capping; capped: m < n_total.
    """

    coords: np.ndarray
    indices: np.ndarray
    method: str
    n_total: int
    capped: bool
    from_cache: bool
    seconds: float
    params: dict = field(default_factory=dict)


def stratified_sample(n: int, cap: int = DEFAULT_CAP, strata=None, seed: int = 0) -> np.ndarray:
    """Sorted indices of at most `cap` of n rows; with `strata` (n,) each stratum keeps its share
    (largest-remainder rounding, at least one row per stratum while the cap allows)."""
    if n <= cap:
        return np.arange(n)
    rng = np.random.default_rng(seed)
    if strata is None:
        return np.sort(rng.choice(n, size=cap, replace=False))
    strata = np.asarray(strata)
    if strata.ndim > 1:  # multi-label: stratify on the first positive label (or -1 for none)
        strata = np.where(strata.any(axis=1), strata.argmax(axis=1), -1)
    values, counts = np.unique(strata, return_counts=True)
    exact = counts * cap / n
    quota = np.floor(exact).astype(int)
    if cap >= len(values):
        quota = np.maximum(quota, 1)
    for i in np.argsort(-(exact - np.floor(exact)), kind="stable"):
        if quota.sum() >= cap:
            break
        if quota[i] < counts[i]:
            quota[i] += 1
    while quota.sum() > cap:  # the at-least-one rule may overshoot; take back from the largest
        quota[np.argmax(quota)] -= 1
    picked = [rng.choice(np.nonzero(strata == v)[0], size=q, replace=False) for v, q in zip(values, quota) if q]
    return np.sort(np.concatenate(picked))


def _safe(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", name)[:80] or "anon"


def cache_path(artifact: str | None, method: str, x: np.ndarray, params: dict, seed: int):
    """Where the projection of `x` would be cached."""
    from ..config import cache_dir

    # the defaults are part of the key so changing one never serves a map computed under the old one
    key = {"method": method, "params": params, "seed": seed, "defaults": {"tsne_iter": TSNE_ITER, "umap_epochs": UMAP_EPOCHS, "pca50": True}}
    h = hashlib.sha256(json.dumps(key, sort_keys=True).encode())
    h.update(np.ascontiguousarray(x, dtype=np.float32).tobytes())
    folder = cache_dir() / "projections"
    folder.mkdir(parents=True, exist_ok=True)
    return folder / f"{_safe(artifact or 'anon')}_{method}_{len(x)}_{h.hexdigest()[:16]}.npz"


def _compute(x: np.ndarray, method: str, params: dict, seed: int) -> np.ndarray:
    """(m, d) -> (m, 2) float32, no caching."""
    m = len(x)
    if m < 3 or method == "pca":
        from sklearn.decomposition import PCA

        if m < 2:
            return np.zeros((m, 2), dtype=np.float32)
        out = PCA(n_components=min(2, x.shape[1], m), random_state=seed).fit_transform(x)
        return np.pad(out, ((0, 0), (0, 2 - out.shape[1]))).astype(np.float32)
    if method == "tsne":
        from sklearn.decomposition import PCA
        from sklearn.manifold import TSNE

        # PCA to 50 dims first (the usual recipe): same neighbourhoods, several times faster on 384-d
        if x.shape[1] > 50 and m > 50:
            x = PCA(n_components=50, random_state=seed).fit_transform(x)
        perplexity = min(float(params.get("perplexity", 30.0)), max(1.0, (m - 1) / 3))
        tsne = TSNE(n_components=2, perplexity=perplexity, init="pca", learning_rate="auto",
                    max_iter=int(params.get("max_iter", TSNE_ITER)), random_state=seed)
        return tsne.fit_transform(x).astype(np.float32)
    if method == "umap":
        try:
            import umap
        except ImportError as e:  # optional dependency
            raise CapabilityError("UMAP maps need the umap-learn package (pip install umap-learn); "
                               "PCA and t-SNE work without it") from e
        metric = params.get("metric", "cosine")
        if m < 4096:
            # below 4,096 rows umap-learn computes all pairwise distances through sklearn with a numba callable,
            # one Python call per pair (~90 s for 3,000 points); sklearn's vectorised distances take 0.1 s
            from sklearn.metrics import pairwise_distances

            x = pairwise_distances(x, metric=metric).astype(np.float32)
            np.fill_diagonal(x, 0.0)
            metric = "precomputed"
        reducer = umap.UMAP(n_components=2, n_neighbors=min(int(params.get("n_neighbors", 15)), m - 1),
                            min_dist=float(params.get("min_dist", 0.1)), metric=metric,
                            n_epochs=int(params.get("n_epochs", UMAP_EPOCHS)), random_state=seed, n_jobs=1)
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", message=".*precomputed metric.*")  # no inverse_transform: fine
            return np.asarray(reducer.fit_transform(x), dtype=np.float32)
    raise ValueError(f"method must be one of {METHODS}, got {method!r}")


def project(embeddings: np.ndarray, method: str = "pca", *, strata=None, cap: int = DEFAULT_CAP, seed: int = 0,
            artifact: str | None = None, params: dict | None = None, cache: bool = True) -> Projection:
    """Project (n, d) embeddings to 2-D.

    strata:   labels to stratify the capped sample on (n,) or (n, k) for multi-label.
    artifact: name used in the cache file name (the cache key also fingerprints the data).
    params:   method options: t-SNE perplexity / max_iter (default TSNE_ITER); UMAP n_neighbors / min_dist /
              metric (default cosine) / n_epochs (default UMAP_EPOCHS).
    """
    if method not in METHODS:
        raise ValueError(f"method must be one of {METHODS}, got {method!r}")
    x = np.asarray(embeddings, dtype=np.float32)
    if x.ndim != 2:
        raise ValueError(f"expected (n, d) embeddings, got shape {x.shape}")
    params = dict(params or {})
    idx = stratified_sample(len(x), cap, strata, seed)
    xs = x[idx]
    t0 = time.perf_counter()
    path = cache_path(artifact, method, xs, params, seed) if cache else None
    if path is not None and path.exists():
        try:
            with np.load(path, allow_pickle=False) as z:
                if np.array_equal(z["indices"], idx):
                    return Projection(z["coords"], idx, method, len(x), len(idx) < len(x), True,
                                      time.perf_counter() - t0, params)
        except (OSError, KeyError, ValueError):
            pass  # unreadable cache: recompute and overwrite
    coords = _compute(xs, method, params, seed)
    if path is not None:
        atomic_write(path, lambda tmp: np.savez(tmp, coords=coords, indices=idx))
    return Projection(coords, idx, method, len(x), len(idx) < len(x), False, time.perf_counter() - t0, params)


def _standardise(x: np.ndarray) -> np.ndarray:
    x = np.asarray(x, dtype=np.float64)
    sd = x.std(axis=0)
    return (x - x.mean(axis=0)) / np.where(sd > 0, sd, 1.0)


@dataclass
class SharedProjection:
    """Two models' embeddings of the same texts in one 2-D space.

    coords_a / coords_b: (m, 2); indices: rows used; differ: (m,) bool, predictions differ (if given);
    mode: "joint" or "procrustes"; disparity: residual of the Procrustes fit in [0, 1] (0 = same shape).
    """

    coords_a: np.ndarray
    coords_b: np.ndarray
    indices: np.ndarray
    differ: np.ndarray | None
    mode: str
    disparity: float


def shared_pca(emb_a: np.ndarray, emb_b: np.ndarray, *, pred_a=None, pred_b=None, mode: str = "auto",
               cap: int = DEFAULT_CAP, strata=None, seed: int = 0) -> SharedProjection:
    """Draw model A (e.g. the teacher) and model B (the student) in one 2-D space; row i of both is text i.

    Each model's embeddings are standardised per dimension first (scales differ between models).
    mode "joint" (default when both have the same dimension, e.g. a quantised or pruned copy whose
    coordinates mean the same thing): one PCA fitted on both stacked, both projected with it.
    mode "procrustes" (default when dimensions differ, e.g. a distilled student): each model gets its
    own 2-D PCA, then B's map is rotated/reflected and scaled onto A's (orthogonal Procrustes over the
    paired texts); `disparity` says how different the two shapes remain. Joint PCA of unrelated
    coordinate systems would be meaningless, so pass mode="procrustes" for same-size but separately
    trained models.
    """
    from scipy.linalg import orthogonal_procrustes
    from sklearn.decomposition import PCA

    a, b = np.asarray(emb_a), np.asarray(emb_b)
    if len(a) != len(b):
        raise ValueError(f"both models must embed the same texts: {len(a)} vs {len(b)} rows")
    if mode == "auto":
        mode = "joint" if a.shape[1] == b.shape[1] else "procrustes"
    if mode not in ("joint", "procrustes"):
        raise ValueError("mode must be 'auto', 'joint' or 'procrustes'")
    if mode == "joint" and a.shape[1] != b.shape[1]:
        raise ValueError("joint PCA needs embeddings of the same dimension; use mode='procrustes'")
    idx = stratified_sample(len(a), cap, strata, seed)
    za, zb = _standardise(a[idx]), _standardise(b[idx])
    if mode == "joint":
        pca = PCA(n_components=2, random_state=seed).fit(np.vstack([za, zb]))
        ca, cb = pca.transform(za), pca.transform(zb)
        disparity = float(np.sum((ca - cb) ** 2) / max(np.sum((ca - ca.mean(0)) ** 2), 1e-12))
    else:
        ca = PCA(n_components=2, random_state=seed).fit_transform(za)
        pb = PCA(n_components=2, random_state=seed).fit_transform(zb)
        mu_a, mu_b = ca.mean(axis=0), pb.mean(axis=0)
        rot, s = orthogonal_procrustes(pb - mu_b, ca - mu_a)
        scale = s / max(np.sum((pb - mu_b) ** 2), 1e-12)  # least-squares scale for the rotated map
        cb = scale * (pb - mu_b) @ rot + mu_a
        disparity = float(np.sum((ca - cb) ** 2) / max(np.sum((ca - mu_a) ** 2), 1e-12))
    differ = None
    if pred_a is not None and pred_b is not None:
        pa, pb_ = np.asarray(pred_a)[idx], np.asarray(pred_b)[idx]
        differ = (pa != pb_).reshape(len(idx), -1).any(axis=1)
    return SharedProjection(ca.astype(np.float32), cb.astype(np.float32), idx, differ, mode, disparity)
