"""Embedding maps: shapes, stratified cap, disk cache (second call never recomputes), shared PCA."""
from __future__ import annotations

import numpy as np
import pytest

from core.explain import projection as P


@pytest.fixture(autouse=True)
def _isolated(tmp_path, monkeypatch):
    monkeypatch.setenv("TEXTLAB_ARTIFACTS_DIR", str(tmp_path / "artifacts"))
    monkeypatch.setenv("TEXTLAB_CACHE_DIR", str(tmp_path / "cache"))


def blobs(n=240, d=24, k=3, seed=0):
    rng = np.random.default_rng(seed)
    y = rng.integers(0, k, n)
    centres = rng.normal(0, 6, (k, d))
    return (centres[y] + rng.normal(0, 1, (n, d))).astype(np.float32), y


@pytest.mark.parametrize("method", ["pca", "tsne"])
def test_shapes_and_cache(method, tmp_path, monkeypatch):
    x, y = blobs()
    first = P.project(x, method, strata=y, artifact="run/../x", params={"perplexity": 20, "max_iter": 250} if method == "tsne" else None)
    assert first.coords.shape == (240, 2) and first.coords.dtype == np.float32
    assert not first.from_cache and not first.capped and first.n_total == 240
    files = list((tmp_path / "cache" / "projections").glob("*.npz"))
    assert len(files) == 1 and files[0].name.startswith("run_.._x_" + method)  # name sanitised, stays inside

    def boom(*args, **kwargs):
        raise AssertionError("recomputed instead of reading the cache")

    monkeypatch.setattr(P, "_compute", boom)
    second = P.project(x, method, strata=y, artifact="run/../x", params={"perplexity": 20, "max_iter": 250} if method == "tsne" else None)
    assert second.from_cache
    np.testing.assert_array_equal(second.coords, first.coords)
    # different data -> a different cache entry (a re-trained artifact with the same name is not stale)
    with pytest.raises(AssertionError, match="recomputed"):
        P.project(x + 1, method, strata=y, artifact="run/../x")


def test_tsne_separates_clusters():
    x, y = blobs()
    coords = P.project(x, "tsne", cache=False, params={"max_iter": 300}).coords
    centres = np.stack([coords[y == c].mean(0) for c in range(3)])
    spread = np.mean([coords[y == c].std(0).mean() for c in range(3)])
    gaps = [np.linalg.norm(centres[i] - centres[j]) for i in range(3) for j in range(i + 1, 3)]
    assert min(gaps) > 2 * spread


def test_stratified_cap():
    y = np.array([0] * 900 + [1] * 90 + [2] * 10)
    idx = P.stratified_sample(len(y), cap=100, strata=y, seed=0)
    assert len(idx) == 100 and len(set(idx)) == 100 and (np.diff(idx) > 0).all()
    counts = np.bincount(y[idx], minlength=3)
    assert counts.tolist() == [90, 9, 1]
    np.testing.assert_array_equal(idx, P.stratified_sample(len(y), cap=100, strata=y, seed=0))
    assert len(P.stratified_sample(50, cap=100)) == 50
    x = np.random.default_rng(0).normal(size=(1000, 8))
    proj = P.project(x, "pca", strata=y, cap=100)
    assert proj.capped and proj.coords.shape == (100, 2) and proj.n_total == 1000
    ml = (np.random.default_rng(1).random((1000, 4)) < 0.3).astype(int)
    assert len(P.stratified_sample(1000, cap=50, strata=ml)) == 50


def test_tiny_inputs_and_errors():
    assert P.project(np.zeros((1, 5)), "tsne", cache=False).coords.shape == (1, 2)
    assert P.project(np.random.default_rng(0).normal(size=(2, 1)), "pca", cache=False).coords.shape == (2, 2)
    with pytest.raises(ValueError):
        P.project(np.zeros((10, 3)), "mds")


def test_umap_missing_gives_clear_error(monkeypatch):
    import builtins

    real_import = builtins.__import__

    def no_umap(name, *args, **kwargs):
        if name == "umap":
            raise ImportError("no umap")
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_umap)
    with pytest.raises(RuntimeError, match="umap-learn"):
        P.project(np.random.default_rng(0).normal(size=(20, 4)), "umap", cache=False)


@pytest.mark.slow  # umap-learn compiles its numba kernels on first use (tens of seconds on a busy box)
def test_umap_shape():
    x, y = blobs(n=150)
    assert P.project(x, "umap", strata=y).coords.shape == (150, 2)


def test_shared_pca_joint_and_procrustes():
    rng = np.random.default_rng(0)
    x, y = blobs(n=200, d=16)
    student_same = x + rng.normal(0, 0.1, x.shape)          # e.g. a quantised copy: same coordinates
    pred_a = y.copy()
    pred_b = y.copy()
    pred_b[:7] = (pred_b[:7] + 1) % 3
    joint = P.shared_pca(x, student_same, pred_a=pred_a, pred_b=pred_b)
    assert joint.mode == "joint" and joint.coords_a.shape == (200, 2) == joint.coords_b.shape
    assert joint.differ.sum() == 7 and joint.disparity < 0.05
    # a distilled student with another width: a random linear map of the same geometry
    w = rng.normal(size=(16, 8))
    student = x @ w
    pro = P.shared_pca(x, student, pred_a=pred_a, pred_b=pred_b)
    assert pro.mode == "procrustes" and pro.coords_b.shape == (200, 2)
    assert np.isfinite(pro.disparity) and 0 <= pro.disparity < 1
    # aligned: each text's two points are closer than random pairs
    d_pair = np.linalg.norm(pro.coords_a - pro.coords_b, axis=1).mean()
    d_rand = np.linalg.norm(pro.coords_a - pro.coords_b[rng.permutation(200)], axis=1).mean()
    assert d_pair < 0.6 * d_rand
    with pytest.raises(ValueError):
        P.shared_pca(x, student, mode="joint")
    with pytest.raises(ValueError):
        P.shared_pca(x, student[:10])
