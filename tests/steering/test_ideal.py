"""Ideality checker (T5) and exact / Monte Carlo fairness gaps."""

import numpy as np
import pytest

from fairfast.steering import bayes_fairness_gaps, check_ideal


def _spd(rng, d):
    A = rng.normal(size=(d, d))
    return A @ A.T + 0.5 * np.eye(d)


def _affine_images(rng, d, K, G):
    """Group 0 random; group a = M_a (group 0) + b_a with M_a symmetric PD (no rotation)."""
    mu0 = rng.normal(size=(K, d)) * 2
    S0 = np.stack([_spd(rng, d) for _ in range(K)])
    means, covs = [mu0], [S0]
    for _ in range(1, G):
        B = rng.normal(size=(d, d))
        M = B @ B.T + np.eye(d)
        b = rng.normal(size=d)
        means.append(mu0 @ M.T + b)
        covs.append(np.einsum("jk,ikl,ml->ijm", M, S0, M))
    return np.stack(means), np.stack(covs)


@pytest.mark.parametrize("seed", range(3))
def test_t5_univariate_affine_images_are_ideal_with_zero_exact_gaps(seed):
    rng = np.random.default_rng(seed)
    means, covs = _affine_images(rng, 1, 2, 3)
    cond = np.array([0.3, 0.7])
    priors = np.array([0.2, 0.5, 0.3])[:, None] * cond[None, :]
    r = check_ideal(means[..., 0], covs[..., 0, 0], priors)
    assert r["ideal"] and r["G1"] and r["G2"] and r["G3"]
    gaps = bayes_fairness_gaps(means[..., 0], covs[..., 0, 0], priors, np.linspace(0.01, 0.99, 99))
    assert gaps["dp_gap"].max() < 1e-10
    assert gaps["eo_gap"].max() < 1e-10
    assert gaps["eodds_gap"].max() < 1e-10


def _commuting_images(rng, d, K, G):
    """Group a = M_a (group 0) + b_a with M_a sharing the eigenvectors of every S_i0."""
    V = np.linalg.qr(rng.normal(size=(d, d)))[0]
    mu0 = rng.normal(size=(K, d)) * 2
    S0 = np.stack([(V * rng.uniform(0.5, 3, d)) @ V.T for _ in range(K)])
    means, covs = [mu0], [S0]
    for _ in range(1, G):
        M = (V * rng.uniform(0.5, 2, d)) @ V.T
        means.append(mu0 @ M.T + rng.normal(size=d))
        covs.append(np.einsum("jk,ikl,ml->ijm", M, S0, M))
    return np.stack(means), np.stack(covs)


def test_t5_multivariate_images_monte_carlo():
    rng = np.random.default_rng(1)
    priors = np.full((2, 2), 0.25)
    costs = [0.2, 0.5, 0.8]
    # (a) maps M = S_ia'^{1/2} S_ia^{-1/2} (commuting with the covariances): G1-G3 hold
    means, covs = _commuting_images(rng, 3, 2, 2)
    assert check_ideal(means, covs, priors)["ideal"]
    gaps = bayes_fairness_gaps(means, covs, priors, costs, n_samples=100_000, random_state=0)
    # sampling error of a difference of two proportions with 1e5 draws each: sd <= 0.0023
    assert gaps["dp_gap"].max() < 0.012 and gaps["eodds_gap"].max() < 0.012
    # (b) a generic affine image (M with a rotation part) is ideal -- zero gaps -- but
    # fails G1/G2 as written: the conditions are sufficient, not necessary, in d > 1
    means_b, covs_b = _affine_images(rng, 3, 2, 2)
    r = check_ideal(means_b, covs_b, priors)
    assert not (r["G1"] and r["G2"])
    gaps_b = bayes_fairness_gaps(means_b, covs_b, priors, costs, n_samples=100_000, random_state=0)
    assert gaps_b["dp_gap"].max() < 0.012 and gaps_b["eodds_gap"].max() < 0.012
    # (c) a non-ideal perturbation is detected by the checker and by the gaps
    means2 = means.copy()
    means2[1, 1] += 1.5
    assert not check_ideal(means2, covs, priors)["G1"]
    gaps2 = bayes_fairness_gaps(means2, covs, priors, costs, n_samples=100_000, random_state=0)
    assert gaps2["eo_gap"].max() > 0.05


def test_monte_carlo_agrees_with_exact_in_1d():
    means = [[0.0, 1.0], [0.5, 2.5]]
    var = [[1.0, 2.0], [0.5, 1.5]]
    priors = [[0.3, 0.2], [0.25, 0.25]]
    ex = bayes_fairness_gaps(means, var, priors, [0.3, 0.6], method="exact")
    mc = bayes_fairness_gaps(means, var, priors, [0.3, 0.6], method="monte_carlo", n_samples=400_000,
                             random_state=1)
    np.testing.assert_allclose(mc["tpr"], ex["tpr"], atol=5e-3)
    np.testing.assert_allclose(mc["fpr"], ex["fpr"], atol=5e-3)
    np.testing.assert_allclose(mc["error"], ex["error"], atol=5e-3)


def test_exact_rates_unequal_variances_match_brute_force_integration():
    # quadratic decision region: compare with a fine grid integration
    m0, m1, v0, v1 = 0.0, 1.0, 4.0, 0.5
    q = [[0.4, 0.6], [0.5, 0.5]]
    r = bayes_fairness_gaps([[m0, m1], [0.0, 1.0]], [[v0, v1], [1.0, 1.0]], q, [0.35], method="exact")
    x = np.linspace(-40, 40, 800_001)
    pdf = lambda m, v: np.exp(-(x - m) ** 2 / (2 * v)) / np.sqrt(2 * np.pi * v)  # noqa: E731
    post = 0.6 * pdf(m1, v1) / (0.6 * pdf(m1, v1) + 0.4 * pdf(m0, v0))
    h = post > 0.35
    dx = x[1] - x[0]
    assert r["tpr"][0, 0] == pytest.approx((pdf(m1, v1) * h).sum() * dx, abs=1e-6)
    assert r["fpr"][0, 0] == pytest.approx((pdf(m0, v0) * h).sum() * dx, abs=1e-6)


def test_g3_violation_and_errors():
    r = check_ideal([[0.0, 1.0], [0.0, 1.0]], np.ones((2, 2)), [[0.25, 0.25], [0.4, 0.1]])
    assert r["G1"] and r["G2"] and not r["G3"] and not r["ideal"]
    assert r["G3_deviation"] == pytest.approx(0.3)
    with pytest.raises(ValueError, match="priors must have shape"):
        check_ideal([[0.0, 1.0], [0.0, 1.0]], np.ones((2, 2)), [0.5, 0.5])
    with pytest.raises(ValueError, match="binary labels"):
        bayes_fairness_gaps(np.zeros((2, 3)), np.ones((2, 3)), np.full((2, 3), 1 / 6))
    with pytest.raises(ValueError, match="costs must lie strictly between 0 and 1"):
        bayes_fairness_gaps(np.zeros((2, 2)), np.ones((2, 2)), np.full((2, 2), 0.25), [0.0])
    with pytest.raises(ValueError, match="method='exact' needs d = 1"):
        bayes_fairness_gaps(np.zeros((2, 2, 2)), np.broadcast_to(np.eye(2), (2, 2, 2, 2)),
                            np.full((2, 2), 0.25), method="exact")
