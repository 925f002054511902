"""Streaming subgroup moments: exactness, chunk invariance, merging, dtypes, shrinkage."""

import numpy as np
import pytest
from sklearn.covariance import OAS

from fairfast.steering import SubgroupMoments, shrink_covariance


def _data(seed=0, n=600, d=4, dtype=np.float64):
    rng = np.random.default_rng(seed)
    X = (rng.normal(size=(n, d)) * 3 + 100).astype(dtype)  # far from 0: tests centring
    y = rng.choice(["no", "yes"], n)
    a = rng.integers(0, 3, n)
    return X, y, a


def test_matches_numpy_per_subgroup():
    X, y, a = _data()
    m = SubgroupMoments().update(X, y, sensitive_features=a)
    assert m.classes_ == ["no", "yes"] and m.groups_ == [0, 1, 2]
    for gi, g in enumerate(m.groups_):
        for ci, c in enumerate(m.classes_):
            rows = X[(a == g) & (y == c)]
            assert m.counts_[gi, ci] == len(rows)
            np.testing.assert_allclose(m.means_[gi, ci], rows.mean(axis=0), rtol=1e-13)
            np.testing.assert_allclose(m.scatter_[gi, ci] / (len(rows) - 1), np.cov(rows.T), rtol=1e-10, atol=1e-10)


@pytest.mark.parametrize("chunk", [1, 7, 100, 599])
def test_chunk_size_does_not_matter(chunk):
    X, y, a = _data(1)
    full = SubgroupMoments().update(X, y, sensitive_features=a)
    parts = SubgroupMoments()
    for s in range(0, len(X), chunk):
        parts.update(X[s : s + chunk], y[s : s + chunk], sensitive_features=a[s : s + chunk])
    assert parts.classes_ == full.classes_ and parts.groups_ == full.groups_
    np.testing.assert_array_equal(parts.counts_, full.counts_)
    np.testing.assert_allclose(parts.means_, full.means_, rtol=1e-12)
    np.testing.assert_allclose(parts.scatter_, full.scatter_, rtol=1e-9, atol=1e-8)


def test_merge_of_partitions_with_different_groups():
    X, y, a = _data(2)
    first = a != 2
    m1 = SubgroupMoments().update(X[first], y[first], sensitive_features=a[first])
    m2 = SubgroupMoments().update(X[~first], y[~first], sensitive_features=a[~first])
    merged = m1.merge(m2)
    full = SubgroupMoments().update(X, y, sensitive_features=a)
    np.testing.assert_array_equal(merged.counts_, full.counts_)
    np.testing.assert_allclose(merged.scatter_, full.scatter_, rtol=1e-9, atol=1e-8)
    n, m, s = full.pooled()
    for g in range(3):
        np.testing.assert_allclose(m[g], X[a == g].mean(axis=0), rtol=1e-12)
        np.testing.assert_allclose(s[g] / (n[g] - 1), np.cov(X[a == g].T), rtol=1e-9)


def test_float32_input_is_accurate():
    X, y, a = _data(3, dtype=np.float32)
    m = SubgroupMoments().update(X, y, sensitive_features=a)
    X64 = X.astype(np.float64)
    ref = SubgroupMoments().update(X64, y, sensitive_features=a)
    np.testing.assert_allclose(m.means_, ref.means_, rtol=1e-6)
    np.testing.assert_allclose(m.scatter_, ref.scatter_, rtol=1e-4, atol=1e-2)


def test_pooled_fallback_and_shrinkage():
    X, y, a = _data(4, n=300, d=20)
    m = SubgroupMoments().update(X, y, sensitive_features=a)
    covs, pooled = m.covariances(shrinkage=None, pooled_below=3.0)  # subgroups ~50 rows < 60
    assert pooled.all()
    within = m.scatter_[0].sum(axis=0) / (m.counts_[0].sum() - 2)
    np.testing.assert_allclose(covs[0, 0], within)
    np.testing.assert_allclose(covs[0, 1], within)
    covs2, pooled2 = m.covariances(shrinkage=None, pooled_below=0.0)
    assert not pooled2.any()
    # OAS agrees with scikit-learn's on the biased covariance
    rows = X[(a == 0) & (y == "no")]
    emp = np.cov(rows.T, bias=True)
    np.testing.assert_allclose(shrink_covariance(emp, len(rows), "oas"), OAS().fit(rows).covariance_, rtol=1e-10)
    ridge = shrink_covariance(np.diag([1.0, 3.0]), 5, 0.1)
    np.testing.assert_allclose(ridge, np.diag([1.2, 3.2]))
    with pytest.raises(ValueError, match="shrinkage must be None, 'oas' or a non-negative float"):
        shrink_covariance(emp, 5, "lw")


def test_errors():
    X, y, a = _data()
    m = SubgroupMoments().update(X, y, sensitive_features=a)
    with pytest.raises(ValueError, match="X has 3 features but the moments were started with 4"):
        m.update(X[:, :3], y, sensitive_features=a)
    with pytest.raises(ValueError, match="y must be 1-dimensional with 600 rows"):
        SubgroupMoments().update(X, y[:10], sensitive_features=a)
    with pytest.raises(ValueError, match="sensitive_features has 10 rows"):
        SubgroupMoments().update(X, y, sensitive_features=a[:10])
    with pytest.raises(ValueError, match="no data"):
        SubgroupMoments().covariances()


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_pooled_block_moments_sum_the_class_scatters(dtype):
    from fairfast.steering._moments import _block_moments, _pooled_block_moments

    rng = np.random.default_rng(5)
    G, K, n, d = 3, 2, 3000, 7
    codes = rng.integers(0, G * K, n)
    codes[codes == 5] = 4  # group 2 has one class only
    X = (rng.normal(size=(n, d)) * 3 + 100).astype(dtype)  # a large mean: float32 rounding matters
    counts, means, scatter = _block_moments(X, codes, G * K)
    pcounts, pmeans, pooled = _pooled_block_moments(X, codes, G, K)
    np.testing.assert_array_equal(pcounts, counts)
    np.testing.assert_allclose(pmeans, means, rtol=1e-12, atol=1e-12)
    expected = scatter.reshape(G, K, d, d).sum(axis=1)
    tol = 1e-4 if dtype == np.float32 else 1e-10
    np.testing.assert_allclose(pooled, expected, rtol=tol, atol=tol * np.abs(expected).max())
    # against float64 numpy on the class-centred rows
    for a in range(G):
        rows = [X[codes == a * K + i].astype(np.float64) for i in range(K)]
        centred = np.vstack([r - r.mean(axis=0) for r in rows if len(r)])
        np.testing.assert_allclose(pooled[a], centred.T @ centred, rtol=tol, atol=tol * np.abs(expected).max())
