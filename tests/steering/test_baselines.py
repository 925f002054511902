"""Baselines: LEACE (T7) and MiMiC mean+covariance matching (T8), mean matching."""

import numpy as np
import pytest
from sklearn.linear_model import LogisticRegression

from fairfast.steering import LEACE, MeanCovarianceMatching, MeanMatching


def _data(n=4000, d=6, G=2, seed=0, dtype=np.float64):
    rng = np.random.default_rng(seed)
    a = rng.integers(0, G, n)
    B = rng.normal(size=(d, d))
    X = rng.normal(size=(n, d)) @ B.T + rng.normal(size=(G, d))[a] * 2
    return X.astype(dtype), a


@pytest.mark.parametrize("G", [2, 3])
def test_t7_leace_linear_guardedness(G):
    X, a = _data(G=G)
    er = LEACE().fit(X, sensitive_features=a)
    Xe = er.transform(X)
    Z = np.eye(G)[a]
    cross = (Xe - Xe.mean(0)).T @ (Z - Z.mean(0)) / (len(X) - 1)
    before = (X - X.mean(0)).T @ (Z - Z.mean(0)) / (len(X) - 1)
    assert np.abs(cross).max() < 1e-6 * np.abs(before).max()
    for g in range(1, G):  # class-conditional means coincide
        np.testing.assert_allclose(Xe[a == g].mean(0), Xe[a == 0].mean(0), atol=1e-8)
    # a linear probe is at chance (majority rate) after erasure, far above it before
    major = np.bincount(a).max() / len(a)
    probe = LogisticRegression(max_iter=2000)
    assert probe.fit(X, a).score(X, a) > major + 0.2
    assert probe.fit(Xe, a).score(Xe, a) < major + 0.02


def test_leace_idempotent_and_minimal_in_whitened_norm():
    X, a = _data(seed=1)
    er = LEACE().fit(X, sensitive_features=a)
    Xe = er.transform(X)
    np.testing.assert_allclose(er.transform(Xe), Xe, atol=1e-9)
    P = er.projection_
    np.testing.assert_allclose(P @ P, P, atol=1e-10)
    # minimal E||W(r(X) - X)||^2 among erasers: compare with the orthogonal projection
    # onto the complement of Cov(X, Z), which also zeroes the cross-covariance
    S = np.cov(X.T)
    lam, V = np.linalg.eigh(S)
    W = (V / np.sqrt(lam)) @ V.T
    z = (a - a.mean())[:, None]
    sxz = (X - X.mean(0)).T @ z / (len(X) - 1)
    q = sxz / np.linalg.norm(sxz)
    Xo = X - (X - X.mean(0)) @ q @ q.T
    assert np.abs((Xo - Xo.mean(0)).T @ z).max() < 1e-8 * len(X)
    cost = lambda Y: np.mean(np.sum(((Y - X) @ W.T) ** 2, axis=1))  # noqa: E731
    assert cost(Xe) < cost(Xo)
    # and among random oblique erasers I - u v^T with v^T sxz = 1, u = sxz-direction
    rng = np.random.default_rng(0)
    for _ in range(20):
        v = rng.normal(size=(X.shape[1], 1))
        v /= (v.T @ sxz).item()
        Xr = X - (X - X.mean(0)) @ v @ sxz.T
        assert np.abs((Xr - Xr.mean(0)).T @ z).max() < 1e-6 * len(X)
        assert cost(Xe) <= cost(Xr) + 1e-12


def test_leace_matches_concept_erasure_package():
    torch = pytest.importorskip("torch")
    ce = pytest.importorskip("concept_erasure")
    X, a = _data(n=3000, d=8, G=3, seed=2)
    Z = np.eye(3)[a]
    fitter = ce.LeaceFitter.fit(torch.from_numpy(X), torch.from_numpy(Z), shrinkage=False, constrain_cov_trace=False)
    theirs = fitter.eraser(torch.from_numpy(X)).numpy()
    ours = LEACE(shrinkage=None).fit(X, sensitive_features=a).transform(X)
    np.testing.assert_allclose(ours, theirs, atol=1e-8)


def test_t8_mimic_moves_group_moments_onto_the_target():
    X, a = _data(G=3, seed=3)
    mm = MeanCovarianceMatching(reference=1, shrinkage=None).fit(X, sensitive_features=a)
    Xs = mm.transform(X, sensitive_features=a)
    for g in range(3):
        np.testing.assert_allclose(Xs[a == g].mean(0), X[a == 1].mean(0), atol=1e-9)
        np.testing.assert_allclose(np.cov(Xs[a == g].T), np.cov(X[a == 1].T), atol=1e-8)
    # with shrinkage the moved covariance equals the regularised target
    mm = MeanCovarianceMatching(reference=1, shrinkage=0.1).fit(X, sensitive_features=a)
    Xs = mm.transform(X, sensitive_features=a)
    A = mm.linear_[0]
    np.testing.assert_allclose(A @ mm.covariances_[0] @ A.T, mm.covariances_[1], atol=1e-8)
    np.testing.assert_allclose(A, A.T, atol=1e-10)  # OT map: symmetric PD
    assert np.linalg.eigvalsh(A).min() > 0


def test_mean_matching_and_dtypes():
    X, a = _data(seed=4, dtype=np.float32)
    out = MeanMatching(reference=0).fit_transform(X, sensitive_features=a)
    assert out.dtype == np.float32
    np.testing.assert_allclose(out[a == 1].mean(0), X[a == 0].mean(0), atol=1e-4)
    mm = MeanMatching().fit(X, sensitive_features=a)
    assert mm.reference_ == int(np.argmax(np.bincount(a)))
    assert LEACE().fit(X, sensitive_features=a).transform(X).dtype == np.float32
    assert MeanCovarianceMatching().fit(X, sensitive_features=a).transform(X, sensitive_features=a).dtype == np.float32
    with pytest.raises(ValueError, match="reference must be None"):
        MeanMatching(reference="nope").fit(X, sensitive_features=a)
    with pytest.raises(ValueError, match="svd_tol must be a positive number"):
        LEACE(svd_tol=0).fit(X, sensitive_features=a)
    with pytest.raises(ValueError, match="at least 2 groups"):
        LEACE().fit(X, sensitive_features=np.zeros(len(X)))
