"""Steering programs: spec test cases T1-T3, T6 (program level), reverse direction, signs."""

import numpy as np
import pytest
from scipy import optimize

from fairfast.steering import affirmative_action, all_subgroups, bayes_fairness_gaps, gaussian_kl, pinsker_bounds
from fairfast.steering import prior_kl, reweighting_weights


def _kl1(m1, s1, m2, s2):
    return np.log(s2 / s1) + (s1**2 + (m1 - m2) ** 2) / (2 * s2**2) - 0.5


def _objective_1d(g, b, mu_r, sd_r, mu_a, sd_a, w, direction="forward"):
    tm, ts = g * mu_r + b, abs(g) * sd_r
    if direction == "forward":
        return float(np.sum(w * _kl1(tm, ts, mu_a, sd_a)))
    return float(np.sum(w * _kl1(mu_a, sd_a, tm, ts)))


def _numeric_1d(mu_r, sd_r, mu_a, sd_a, w, direction="forward"):
    best = None
    for g0 in (1.0, -1.0):
        res = optimize.minimize(
            lambda t: _objective_1d(t[0], t[1], mu_r, sd_r, mu_a, sd_a, w, direction) if t[0] != 0 else np.inf,
            [g0, 0.0], method="Nelder-Mead", options=dict(xatol=1e-12, fatol=1e-15, maxiter=20000),
        )
        if best is None or res.fun < best.fun:
            best = res
    return best


def test_t1_fixed_point():
    res = affirmative_action([0.0, 2.0], [1.0, 1.0], [1.0, 5.0], [4.0, 4.0], [0.5, 0.5])
    assert res["scale"][0, 0] == pytest.approx(2.0, abs=1e-12)
    assert res["shift"][0] == pytest.approx(1.0, abs=1e-12)
    assert res["kl"] == pytest.approx(0.0, abs=1e-12)


def test_t2_known_answer_and_bayes_rates():
    res = affirmative_action([0.0, 2.0], [1.0, 1.0], [0.0, 1.0], [1.0, 1.0], [0.5, 0.5])
    g, b = res["scale"][0, 0], res["shift"][0]
    assert g == pytest.approx(0.8430703, abs=1e-7)
    assert b == pytest.approx(-0.3430703, abs=1e-7)
    np.testing.assert_allclose(res["means"][:, 0], [-0.3430703, 1.3430703], atol=1e-7)
    np.testing.assert_allclose(np.sqrt(res["covs"][:, 0, 0]), [0.8430703, 0.8430703], atol=1e-7)
    assert res["kl"] == pytest.approx(0.0849373, abs=1e-7)
    costs = [0.2, 0.5, 0.8]
    before = bayes_fairness_gaps([[0.0, 1.0], [0.0, 2.0]], np.ones((2, 2)), np.full((2, 2), 0.25), costs)
    np.testing.assert_allclose(before["tpr"][0], [0.9704, 0.6915, 0.1877], atol=1e-4)  # spec: .6914 (rounding)
    np.testing.assert_allclose(before["fpr"][0], [0.8123, 0.3085, 0.0296], atol=1e-4)
    np.testing.assert_allclose(before["tpr"][1], [0.9548, 0.8413, 0.6205], atol=1e-4)
    np.testing.assert_allclose(before["fpr"][1], [0.3795, 0.1586, 0.0452], atol=1e-4)
    after = bayes_fairness_gaps(
        np.stack([res["means"][:, 0], [0.0, 2.0]]), np.stack([res["covs"][:, 0, 0], [1.0, 1.0]]),
        np.full((2, 2), 0.25), costs,
    )
    np.testing.assert_allclose(after["tpr"][0], after["tpr"][1], atol=1e-12)
    np.testing.assert_allclose(after["fpr"][0], after["fpr"][1], atol=1e-12)
    assert after["dp_gap"].max() < 1e-12 and after["eodds_gap"].max() < 1e-12


@pytest.mark.parametrize("K", [2, 3])
@pytest.mark.parametrize("direction", ["forward", "reverse"])
@pytest.mark.parametrize("seed", range(3))
def test_t3_univariate_closed_form_matches_optimizer(K, direction, seed):
    rng = np.random.default_rng(seed)
    mu_r, mu_a = rng.normal(size=K) * 2, rng.normal(size=K) * 2
    sd_r, sd_a = rng.uniform(0.5, 2, K), rng.uniform(0.5, 2, K)
    w = rng.uniform(0.1, 1, K)
    res = affirmative_action(mu_r, sd_r**2, mu_a, sd_a**2, w, direction=direction)
    num = _numeric_1d(mu_r, sd_r, mu_a, sd_a, w, direction)
    assert res["kl"] == pytest.approx(num.fun, abs=1e-9)
    assert res["scale"][0, 0] == pytest.approx(num.x[0], abs=1e-5)
    assert res["shift"][0] == pytest.approx(num.x[1], abs=1e-5)
    assert res["kl"] == pytest.approx(
        _objective_1d(res["scale"][0, 0], res["shift"][0], mu_r, sd_r, mu_a, sd_a, w, direction), abs=1e-12
    )


def test_reflection_beats_the_positive_root_when_classes_swap_order():
    # B < 0: the class order is reversed in group a; the global optimum is a reflection
    mu_r, sd_r, mu_a, sd_a, w = np.array([0.0, 2.0]), np.ones(2), np.array([1.0, -1.0]), np.ones(2), np.full(2, 0.5)
    res = affirmative_action(mu_r, sd_r**2, mu_a, sd_a**2, w)
    g = res["scale"][0, 0]
    assert g < 0
    a_i = w / sd_a**2
    d_r = mu_r - a_i @ mu_r / a_i.sum()
    d_a = mu_a - a_i @ mu_a / a_i.sum()
    A, B, W = a_i @ (sd_r**2 + d_r**2), a_i @ (d_r * d_a), w.sum()
    g_spec = (B + np.sqrt(B * B + 4 * A * W)) / (2 * A)  # the spec's (orientation-preserving) root
    b_spec = a_i @ mu_a / a_i.sum() - g_spec * a_i @ mu_r / a_i.sum()
    assert res["kl"] < _objective_1d(g_spec, b_spec, mu_r, sd_r, mu_a, sd_a, w) - 0.1
    # the reflected target is still ideal: exact gaps are zero (but G1 as written fails)
    gaps = bayes_fairness_gaps(np.stack([res["means"][:, 0], mu_r]), np.stack([res["covs"][:, 0, 0], sd_r**2]),
                               np.full((2, 2), 0.25))
    assert gaps["dp_gap"].max() < 1e-12 and gaps["eodds_gap"].max() < 1e-12


def _spd(rng, d):
    A = rng.normal(size=(d, d))
    return A @ A.T + 0.5 * np.eye(d)


def _objective_md(M, b, mu_r, S_r, mu_a, S_a, w):
    return sum(w[i] * gaussian_kl(M @ mu_r[i] + b, M @ S_r[i] @ M.T, mu_a[i], S_a[i]) for i in range(len(w)))


@pytest.mark.parametrize("direction", ["forward", "reverse"])
@pytest.mark.parametrize("seed", range(3))
def test_t3_shared_covariance_closed_form_matches_optimizer(direction, seed):
    rng = np.random.default_rng(seed)
    d, K = 3, 3
    mu_r, mu_a = rng.normal(size=(K, d)), rng.normal(size=(K, d)) * 2
    S_r, S_a, w = _spd(rng, d), _spd(rng, d), rng.uniform(0.2, 1, K)
    cf = affirmative_action(mu_r, S_r, mu_a, S_a, w, direction=direction)
    assert cf["method"] == "closed_form"
    num = affirmative_action(mu_r, S_r, mu_a, S_a, w, direction=direction, method="numeric")
    assert cf["kl"] == pytest.approx(num["kl"], rel=1e-8, abs=1e-10)
    np.testing.assert_allclose(cf["means"], num["means"], atol=1e-6)
    np.testing.assert_allclose(cf["covs"], num["covs"], atol=1e-6)
    # the explicit numeric map reproduces its reported objective
    if direction == "forward":
        val = _objective_md(num["scale"], num["shift"], mu_r, np.broadcast_to(S_r, (K, d, d)), mu_a,
                            np.broadcast_to(S_a, (K, d, d)), w)
        assert val == pytest.approx(num["kl"], rel=1e-10)
    # no random invertible map does better
    for _ in range(20):
        M = rng.normal(size=(d, d))
        b = rng.normal(size=d)
        assert _objective_md(M, b, mu_r, np.broadcast_to(S_r, (K, d, d)), mu_a, np.broadcast_to(S_a, (K, d, d)),
                             w) >= cf["kl"] - 1e-12 or direction == "reverse"


def test_t3_heteroscedastic_numeric_is_a_stationary_minimum():
    rng = np.random.default_rng(7)
    d, K = 2, 3
    mu_r, mu_a = rng.normal(size=(K, d)), rng.normal(size=(K, d))
    S_r = np.stack([_spd(rng, d) for _ in range(K)])
    S_a = np.stack([_spd(rng, d) for _ in range(K)])
    w = rng.uniform(0.2, 1, K)
    res = affirmative_action(mu_r, S_r, mu_a, S_a, w)
    assert res["method"] == "numeric"
    theta = np.concatenate([res["scale"].ravel(), res["shift"]])

    def f(t):
        M = t[: d * d].reshape(d, d)
        if abs(np.linalg.det(M)) < 1e-9:
            return 1e6
        return _objective_md(M, t[d * d :], mu_r, S_r, mu_a, S_a, w)

    assert f(theta) == pytest.approx(res["kl"], rel=1e-10)
    best = min(
        optimize.minimize(f, np.concatenate([(s * np.eye(d)).ravel(), np.zeros(d)]), method="BFGS").fun
        for s in (1.0, -1.0)
    )
    assert res["kl"] <= best + 1e-7


def test_t3_all_subgroups_profile_matches_full_optimization():
    rng = np.random.default_rng(3)
    for _ in range(3):
        mu = rng.normal(size=(2, 2)) * 2
        sd = rng.uniform(0.5, 2, (2, 2))
        w = rng.uniform(0.1, 1, (2, 2))
        res = all_subgroups(mu, sd, w)

        def f(t):
            m, s, g, b = t[:2], np.exp(t[2:4]), t[4], t[5]
            if g == 0:
                return np.inf
            tm = np.stack([m, g * m + b])
            ts = np.stack([s, abs(g) * s])
            return float((w * _kl1(tm, ts, mu, sd)).sum())

        best = min(
            (optimize.minimize(f, np.concatenate([mu[0], np.log(sd[0]), [g0, 0.0]]), method="Nelder-Mead",
                               options=dict(xatol=1e-12, fatol=1e-15, maxiter=40000, maxfev=40000))
             for g0 in (1.0, -1.0, 0.5, 2.0)),
            key=lambda r: r.fun,
        )
        assert res["kl"] == pytest.approx(best.fun, abs=1e-8)
        assert res["kl"] == pytest.approx(float((w * _kl1(res["means"], res["sds"], mu, sd)).sum()), abs=1e-12)
        # the all-subgroups optimum is never worse than the affirmative one (which is a feasible point)
        aff = affirmative_action(mu[0], sd[0] ** 2, mu[1], sd[1] ** 2, w[1])
        assert res["kl"] <= aff["kl"] + 1e-12


def test_all_subgroups_three_groups_descends_below_affirmative():
    rng = np.random.default_rng(5)
    mu, sd, w = rng.normal(size=(3, 2)), rng.uniform(0.5, 2, (3, 2)), np.full((3, 2), 1 / 6)
    res = all_subgroups(mu, sd, w)
    aff = sum(affirmative_action(mu[0], sd[0] ** 2, mu[a], sd[a] ** 2, w[a])["kl"] for a in (1, 2))
    assert res["kl"] <= aff + 1e-12
    # targets are affine images of the reference targets
    for a in range(3):
        np.testing.assert_allclose(res["means"][a], res["scales"][a] * res["means"][0] + res["shifts"][a])
        np.testing.assert_allclose(res["sds"][a], abs(res["scales"][a]) * res["sds"][0])


def test_t6_lognormal_program_in_log_space():
    # log-normal subgroups exp(N(mu, s^2)): the program is solved on log x
    rng = np.random.default_rng(0)
    from fairfast.steering import GaussianSteering

    n = 40000
    a = rng.integers(0, 2, n)
    y = rng.integers(0, 2, n)
    mus = np.array([[0.0, 2.0], [0.0, 1.0]])
    Z = mus[a, y] + rng.normal(size=n)
    st_log = GaussianSteering(family="lognormal", reference=0, shrinkage=None).fit(
        np.exp(Z)[:, None], y, sensitive_features=a)
    st_lin = GaussianSteering(reference=0, shrinkage=None).fit(Z[:, None], y, sensitive_features=a)
    np.testing.assert_allclose(st_log.target_means_, st_lin.target_means_, rtol=1e-10, atol=1e-12)
    expected = affirmative_action(st_lin.means_[0, :, 0], st_lin.covariances_[0, :, 0, 0],
                                  st_lin.means_[1, :, 0], st_lin.covariances_[1, :, 0, 0],
                                  st_lin.priors_.sum(axis=0))
    np.testing.assert_allclose(st_log.target_means_[1, :, 0], expected["means"][:, 0], atol=1e-10)
    # close to the population answer of T2 (g* = 0.843, b* = -0.343)
    g = np.sqrt(st_log.target_covariances_[1, 0, 0, 0] / st_log.covariances_[0, 0, 0, 0])
    assert g == pytest.approx(0.8430703, abs=0.03)
    Xs = st_log.transform(np.exp(Z)[:, None], y, sensitive_features=a)
    np.testing.assert_allclose(np.log(Xs), st_lin.transform(Z[:, None], y, sensitive_features=a), atol=1e-10)
    assert (Xs > 0).all()


def test_prior_weights_and_bounds():
    rng = np.random.default_rng(0)
    y, a = rng.integers(0, 2, 1000), rng.integers(0, 3, 1000)
    w = reweighting_weights(y, a, 2, 3)
    for g in range(3):  # equal base rates after reweighting
        rate = w[(a == g) & (y == 1)].sum() / w[a == g].sum()
        assert rate == pytest.approx(np.mean(y), abs=1e-12)
    q = np.histogram2d(a, y, bins=[3, 2])[0] / 1000
    assert prior_kl(q) > 0
    b = pinsker_bounds(0.02)
    assert b["eo_gap"] == pytest.approx(2 * b["error_gap"])
    with pytest.raises(ValueError, match="kl must be non-negative"):
        pinsker_bounds(-1)


def test_argument_errors():
    with pytest.raises(ValueError, match="direction must be one of"):
        affirmative_action([0, 1], [1, 1], [0, 1], [1, 1], [1, 1], direction="both")
    with pytest.raises(ValueError, match="weights must have one entry per class"):
        affirmative_action([0, 1], [1, 1], [0, 1], [1, 1], [1, 1, 1])
    with pytest.raises(ValueError, match="ref_means and means"):
        affirmative_action([0, 1], [1, 1], [0, 1, 2], [1, 1, 1], [1, 1])
    with pytest.raises(ValueError, match="needs d = 1 or one covariance"):
        rng = np.random.default_rng(0)
        S = np.stack([_spd(rng, 2) for _ in range(2)])
        affirmative_action(np.zeros((2, 2)), S, np.ones((2, 2)), S, [1, 1], method="closed_form")
    with pytest.raises(ValueError, match="at least 2 groups"):
        all_subgroups([[0.0, 1.0]], [[1.0, 1.0]], [[1.0, 1.0]])
