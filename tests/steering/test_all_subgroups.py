"""The all-subgroups program in any dimension, against a generic optimiser on small d."""

import numpy as np
import pytest
from scipy import optimize

from fairfast.steering import (
    GaussianSteering,
    affirmative_action,
    all_subgroups,
    all_subgroups_gaussian,
    bayes_fairness_gaps,
    gaussian_kl,
)


def _spd(rng, d):
    A = rng.normal(size=(d, d))
    return A @ A.T + 0.5 * np.eye(d)


def _problem(seed, G, K, d):
    rng = np.random.default_rng(seed)
    mu = rng.normal(size=(G, K, d)) * 1.5
    S = np.stack([[_spd(rng, d) for _ in range(K)] for _ in range(G)])
    w = rng.uniform(0.2, 1, (G, K))
    return mu, S, w / w.sum()


def _kl(m1, S1, m2, S2):
    """KL(N(m1, S1) || N(m2, S2)) over stacks, the textbook formula with dense numpy."""
    d = m1.shape[-1]
    P2 = np.linalg.inv(S2)
    r = m2 - m1
    return 0.5 * (np.einsum("...ij,...ji->...", P2, S1) + np.einsum("...i,...ij,...j->...", r, P2, r) - d
                  + np.linalg.slogdet(S2)[1] - np.linalg.slogdet(S1)[1])


def _objective(mu, S, w):
    """The all-subgroups objective of the raw variables: reference targets (means,
    Cholesky factors) and one affine map (M_a, b_a) per other group."""
    G, K, d = mu.shape
    tri = np.tril_indices(d)
    nt = len(tri[0])

    def f(th):
        m = th[: K * d].reshape(K, d)
        L = np.zeros((K, d, d))
        L[:, tri[0], tri[1]] = th[K * d: K * d + K * nt].reshape(K, nt)
        rest = th[K * d + K * nt:].reshape(G - 1, d * d + d)
        M = np.concatenate([np.eye(d)[None], rest[:, : d * d].reshape(G - 1, d, d)])
        b = np.concatenate([np.zeros((1, d)), rest[:, d * d:]])
        if (np.abs(np.linalg.det(M)) < 1e-8).any() or (np.abs(np.prod(np.diagonal(L, axis1=1, axis2=2), axis=1))
                                                       < 1e-6).any():
            return 1e6
        Sig = L @ np.swapaxes(L, 1, 2)
        tm = np.einsum("aij,kj->aki", M, m) + b[:, None]
        tS = np.einsum("aij,kjl,aml->akim", M, Sig, M)
        return float((w * _kl(tm, tS, mu, S)).sum())

    def pack(m, Sig, M, b):
        L = np.linalg.cholesky(Sig)
        return np.concatenate([m.ravel(), L[:, tri[0], tri[1]].ravel()]
                              + [np.concatenate([M[a].ravel(), b[a]]) for a in range(1, G)])

    return f, pack


def _bfgs(f, th0):
    return optimize.minimize(f, th0, method="BFGS", options=dict(gtol=1e-11, maxiter=20000))


@pytest.mark.parametrize("seed, G, K, d", [(0, 2, 2, 2), (1, 2, 3, 2), (2, 3, 2, 2)])
def test_matches_a_generic_optimiser_on_small_d(seed, G, K, d):
    mu, S, w = _problem(seed, G, K, d)
    res = all_subgroups_gaussian(mu, S, w)
    f, pack = _objective(mu, S, w)
    # ours is a minimum of the raw objective: BFGS on every variable started there finds no descent
    ours = pack(res["means"][0], res["covs"][0], res["scales"], res["shifts"])
    assert f(ours) == pytest.approx(res["kl"], rel=1e-9)
    assert _bfgs(f, ours).fun >= res["kl"] - 1e-9
    # and no better than the best of random starts of the generic optimiser
    rng = np.random.default_rng(seed)
    generic = min(_bfgs(f, pack(mu[0], S[0], np.stack([np.eye(d)] + [rng.normal(size=(d, d)) + rng.choice(
        [-2.0, 2.0]) * np.eye(d) for _ in range(G - 1)]), rng.normal(size=(G, d)))).fun for _ in range(6))
    assert res["kl"] <= generic + 1e-8
    # the reported value is the objective of the returned targets
    val = sum(w[a, i] * gaussian_kl(res["means"][a, i], res["covs"][a, i], mu[a, i], S[a, i])
              for a in range(G) for i in range(K))
    assert val == pytest.approx(res["kl"], rel=1e-9)
    assert (w * res["subgroup_kl"]).sum() == pytest.approx(res["kl"], rel=1e-9)
    # every group's targets are one affine image of the reference group's
    for a in range(G):
        np.testing.assert_allclose(res["means"][a], res["means"][0] @ res["scales"][a].T + res["shifts"][a],
                                   atol=1e-8)
        np.testing.assert_allclose(res["covs"][a], np.einsum("jk,ikl,ml->ijm", res["scales"][a], res["covs"][0],
                                                             res["scales"][a]), atol=1e-8)


def test_never_worse_than_the_affirmative_programs_and_frame_free():
    mu, S, w = _problem(3, 2, 3, 3)
    res = all_subgroups_gaussian(mu, S, w)
    for r in range(2):  # an affirmative solution is a feasible point of the all-subgroups program
        a = 1 - r
        aff = affirmative_action(mu[r], S[r], mu[a], S[a], w[a] / w[a].sum())
        assert res["kl"] <= w[a].sum() * aff["kl"] + 1e-10
    other = all_subgroups_gaussian(mu, S, w, reference=1)
    assert other["kl"] == pytest.approx(res["kl"], rel=1e-7)
    np.testing.assert_allclose(other["means"], res["means"], atol=1e-5)


def test_agrees_with_the_univariate_program():
    rng = np.random.default_rng(4)
    for _ in range(3):
        mu, sd, w = rng.normal(size=(2, 2)) * 2, rng.uniform(0.5, 2, (2, 2)), rng.uniform(0.1, 1, (2, 2))
        one = all_subgroups(mu, sd, w)
        many = all_subgroups_gaussian(mu[..., None], (sd**2)[..., None, None], w)
        assert many["kl"] == pytest.approx(one["kl"], rel=1e-9, abs=1e-12)
        np.testing.assert_allclose(many["means"][..., 0], one["means"], atol=1e-6)


def test_estimator_program_in_d_greater_than_one():
    rng = np.random.default_rng(5)
    n, d = 6000, 2
    a, y = rng.integers(0, 2, n), rng.integers(0, 2, n)
    X = rng.normal(size=(2, 2, d))[a, y] * 2 + rng.normal(size=(n, d)) * np.array([[1.0], [1.6]])[a]
    allsub = GaussianSteering(program="all_subgroups", shrinkage=None).fit(X, y, sensitive_features=a)
    aff = GaussianSteering(reference="auto", shrinkage=None).fit(X, y, sensitive_features=a)
    assert allsub.reference_ is None and not allsub.identity_.any()
    assert allsub.feature_kl_ <= aff.feature_kl_ + 1e-10
    Xs = allsub.transform(X, y, sensitive_features=a)
    for g in range(2):
        for i in range(2):
            np.testing.assert_allclose(Xs[(a == g) & (y == i)].mean(0), allsub.target_means_[g, i], atol=1e-9)
    gaps = bayes_fairness_gaps(allsub.target_means_, allsub.target_covariances_, np.full((2, 2), 0.25),
                               [0.3, 0.5, 0.7], n_samples=100_000, random_state=0)
    assert gaps["dp_gap"].max() < 0.012 and gaps["eodds_gap"].max() < 0.012


def test_input_checks():
    mu, S, w = _problem(6, 2, 2, 2)
    with pytest.raises(ValueError, match="means, covariances and weights must have shapes"):
        all_subgroups_gaussian(mu, S[0], w)
    with pytest.raises(ValueError, match="at least 2 groups"):
        all_subgroups_gaussian(mu[:1], S[:1], w[:1])
    with pytest.raises(ValueError, match="reference must be a group index"):
        all_subgroups_gaussian(mu, S, w, reference=2)
    with pytest.raises(ValueError, match="weights must be non-negative"):
        all_subgroups_gaussian(mu, S, -w)
