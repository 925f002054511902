"""Response models: closed forms (spec cases 1-3, 8, 9) and the Monte-Carlo path."""

import numpy as np
import pytest
from scipy import integrate, optimize, stats

from fairfast.performative import (
    LaborMarket,
    LinearGaussianResponse,
    LinearPolicy,
    Population,
    ThresholdPolicy,
)

SYMMETRIC = (stats.norm(-1, 1), stats.norm(1, 1))


def _blind(t, n_groups=2, n_skills=1):
    return ThresholdPolicy(np.full((n_groups, n_skills), t))


# -- spec case 1: incentive closed form -------------------------------------------------
def test_incentive_closed_form_symmetric_signals():
    m = LaborMarket([stats.uniform()], signal_laws=SYMMETRIC)
    t = np.linspace(-3, 3, 61)
    beta = m.incentives(t[:, None, None])[:, 0, 0]
    np.testing.assert_allclose(beta, stats.norm.cdf(1 - t) - stats.norm.cdf(-1 - t), rtol=0, atol=1e-15)
    res = optimize.minimize_scalar(lambda x: -m.incentives([[x]])[0, 0], bounds=(-2, 2), method="bounded",
                                   options={"xatol": 1e-10})
    assert abs(res.x) < 1e-5
    assert round(-res.fun, 6) == 0.682689


# -- spec case 2: impossibility with one skill ---------------------------------------------
def test_one_skill_impossibility_and_group_specific_fix():
    m = LaborMarket([stats.uniform(0, 1), stats.uniform(0, 2)], signal_laws=SYMMETRIC)
    t = np.linspace(-2, 3, 101)
    out = m.outcome([_blind(x) for x in t])
    pi = out.base_rate
    np.testing.assert_allclose(pi[:, 1], pi[:, 0] / 2, atol=1e-15)
    assert (pi[:, 0] > pi[:, 1]).any()
    # group-specific thresholds t_1 = 0, t_0 = 1.385675 equalise the qualification rates
    t0 = optimize.brentq(lambda x: m.incentives([[x]])[0, 0] - 0.682689492137086 / 2, 0.5, 3, xtol=1e-12)
    assert round(t0, 6) == 1.385675
    fixed = m.outcome([ThresholdPolicy([[t0], [0.0]])]).base_rate[0]
    np.testing.assert_allclose(fixed, [0.341345, 0.341345], atol=1e-6)
    mirror = optimize.brentq(lambda x: m.incentives([[x]])[0, 0] - 0.682689492137086 / 2, -3, -0.5, xtol=1e-12)
    np.testing.assert_allclose(m.outcome([ThresholdPolicy([[mirror], [0.0]])]).base_rate[0], fixed, atol=1e-9)


# -- spec case 3: defaults of the labor-market code -------------------------------------------
def test_default_signal_laws_incentive_peak():
    t, beta = LaborMarket([stats.uniform()]).incentive_peak()
    assert abs(t - 0.17) < 1e-3
    assert round(beta, 5) == 0.83054
    # the default laws are N(-1, 1) and N(1, 0.5^2)
    m = LaborMarket([stats.uniform()])
    assert m.incentives([[t]])[0, 0] == pytest.approx(stats.norm.cdf(t, -1, 1) - stats.norm.cdf(t, 1, 0.5))


def test_outcome_closed_form_one_skill_matches_formulas():
    laws = [stats.beta(3, 8), stats.norm(0.5, 0.15)]
    m = LaborMarket(laws, shares=[0.3, 0.7], gain=0.7, penalty=0.4)
    t = np.array([[0.3], [-0.2]])
    out = m.outcome([ThresholdPolicy(t)])
    f0, f1 = stats.norm(-1, 1).sf(t[:, 0]), stats.norm(1, 0.5).sf(t[:, 0])  # hiring probabilities
    beta = f1 - f0
    pi = np.array([laws[0].cdf(beta[0]), laws[1].cdf(beta[1])])
    np.testing.assert_allclose(out.base_rate[0], pi)
    np.testing.assert_allclose(out.acceptance_rate[0], pi * f1 + (1 - pi) * f0)
    np.testing.assert_allclose(out.true_positive_rate[0], f1)
    u = 0.7 * pi * f1 - 0.4 * (1 - pi) * f0
    np.testing.assert_allclose(out.risk[0], -(0.3 * u[0] + 0.7 * u[1]))


# -- spec case 8: multi-skill symmetry -------------------------------------------------------
SWAPPED = [[stats.uniform(0, 1), stats.uniform(0, 2)], [stats.uniform(0, 2), stats.uniform(0, 1)]]


@pytest.mark.parametrize("t", [-0.5, 0.17, 0.6])
def test_multiskill_symmetric_policy_equalises_qualification(t):
    m = LaborMarket(SWAPPED)
    policy = _blind(t, n_skills=2)
    out = m.outcome([policy])
    pi = out.base_rate[0]
    assert pi[0] == pytest.approx(pi[1], abs=1e-12)
    # closed form: invest iff min_s c_s < Delta (equal incentives)
    delta = m.incentives(policy.thresholds)[0, 0]
    assert pi[0] == pytest.approx(1 - (1 - min(delta, 1)) * (1 - delta / 2), abs=1e-12)
    # skill shares against adaptive quadrature
    share0 = integrate.quad(lambda c: stats.uniform(0, 2).sf(c), 0, delta)[0]
    assert out.mean_response[0, 0, 0] == pytest.approx(share0 - (1 - share0), abs=1e-6)
    # and equal (f, Y) laws: DP, TPR and PPV agree
    for rate in ("acceptance_rate", "true_positive_rate", "positive_predictive_value"):
        r = out.rate(rate)[0]
        assert r[0] == pytest.approx(r[1], abs=1e-12)
    # Monte Carlo agrees within 3 standard errors
    n = 200_000
    mc = m.outcome([policy], m.sample(n, random_state=3)).base_rate[0]
    se = np.sqrt(pi * (1 - pi) / (n / 2))
    assert (np.abs(mc - pi) < 3 * se).all()


def test_multiskill_quadrature_asymmetric_against_quad():
    laws = [[stats.beta(3, 3), stats.uniform(0, 2)], [stats.beta(4, 3), stats.beta(3, 8)]]
    m = LaborMarket(laws)
    policy = ThresholdPolicy([[0.1, 0.6], [0.4, -0.2]])
    out = m.outcome([policy])
    delta = m.incentives(policy.thresholds)
    for g in range(2):
        shares = []
        for s in range(2):
            k = 1 - s
            val = integrate.quad(lambda c: laws[g][s].pdf(c) * laws[g][k].sf(c - delta[g, s] + delta[g, k]),
                                 -1, delta[g, s], limit=200)[0]
            shares.append(val)
        exact = 1 - np.prod([laws[g][s].sf(delta[g, s]) for s in range(2)])
        assert out.base_rate[0, g] == pytest.approx(exact, abs=1e-12)
        assert sum(shares) == pytest.approx(exact, abs=1e-7)
        np.testing.assert_allclose(out.mean_response[0, g], np.array(shares) * 1 + (1 - np.array(shares)) * -1,
                                   atol=2e-5)


# -- Monte-Carlo path --------------------------------------------------------------------------
@pytest.mark.parametrize("laws", [[stats.uniform(0, 1), stats.uniform(0, 2)], SWAPPED])
def test_kernel_matches_numpy_response(laws):
    m = LaborMarket(laws)
    pop = m.sample(5000, random_state=11)
    S = m.n_skills
    policies = [ThresholdPolicy(np.full((2, S), 0.17)), ThresholdPolicy(np.array([[0.5] * S, [-0.3] * S])),
                ThresholdPolicy(np.array([[np.inf] * S, [0.0] * S]))]
    fused = m.outcome(policies, pop)
    for i, p in enumerate(policies):
        post = m.respond(p, pop)
        ref = m.summarize(post, p.decide(post))
        for field in ("qualified", "hired", "hired_qualified", "mean_response", "loss"):
            np.testing.assert_allclose(getattr(fused, field)[i], getattr(ref, field)[0], rtol=1e-12, atol=1e-12)


def test_monte_carlo_agrees_with_closed_form():
    m = LaborMarket([stats.beta(3, 8), stats.norm(0.5, 0.15)])
    n = 400_000
    pop = m.sample(n, random_state=5)
    policies = [_blind(t) for t in (-0.5, 0.17, 0.8)]
    exact, mc = m.outcome(policies), m.outcome(policies, pop)
    for field in ("qualified", "hired", "hired_qualified"):
        p = getattr(exact, field)
        se = np.sqrt(p * (1 - p) / (n / 2))
        assert (np.abs(getattr(mc, field) - p) < 4 * se + 1e-12).all(), field


# -- spec case 4: the escape invariant ---------------------------------------------------------
def test_identical_groups_gaps_shrink_like_root_n():
    law = stats.beta(3, 3)
    m = LaborMarket([law, law])
    policies = [_blind(t) for t in (-0.3, 0.17, 0.9)]
    assert np.all(np.abs(np.diff(m.outcome(policies).acceptance_rate, axis=1)) == 0)
    worst = {}
    for n in (10_000, 1_000_000):
        out = m.outcome(policies, m.sample(n, random_state=n))
        gaps = [np.abs(out.rate(r)[:, 0] - out.rate(r)[:, 1]).max()
                for r in ("acceptance_rate", "true_positive_rate", "positive_predictive_value")]
        worst[n] = max(gaps)
        assert worst[n] < 5 * np.sqrt(2 * 0.25 / (n / 2)) / 0.3  # rates over events of mass >= 0.3
    assert worst[1_000_000] < worst[10_000]


# -- spec case 9 (model part) ------------------------------------------------------------------
def test_linear_gaussian_equalizing_policy_and_singular_case():
    m = LinearGaussianResponse(means=[[0.0, 2.0, 1.0], [1.0, 0.0, -1.0]], effects=[[2.0, 0.5, 1.0], [1.0, 1.5, 3.0]],
                               covariance=np.diag([1.0, 2.0, 0.5]))
    theta = m.equalizing_policy()
    np.testing.assert_allclose(theta.theta, np.linalg.solve(np.diag([-1.0, 1.0, 2.0]), [-1.0, 2.0, 2.0]))
    out = m.outcome([theta])
    np.testing.assert_allclose(out.mean_response[0, 0], out.mean_response[0, 1], atol=1e-12)
    pop = m.sample(100_000, random_state=0)
    post = m.respond(theta, pop)
    mc = m.outcome([theta], pop).mean_response[0]
    for g in range(2):
        np.testing.assert_allclose(post.x[pop.group == g].mean(axis=0), mc[g], atol=1e-12)
    np.testing.assert_allclose(mc[0], mc[1], atol=0.05)
    same = LinearGaussianResponse(means=[[0.0], [1.0]], effects=[[1.0], [1.0]])
    with pytest.raises(ValueError, match="singular"):
        same.equalizing_policy()
    gaps = same.outcome([LinearPolicy([x]) for x in np.linspace(-5, 5, 11)]).mean_response[:, :, 0]
    np.testing.assert_allclose(gaps[:, 0] - gaps[:, 1], -1.0)


# -- validation ------------------------------------------------------------------------------------
def test_errors_name_the_argument():
    with pytest.raises(TypeError, match="cost_laws"):
        LaborMarket([object()])
    with pytest.raises(ValueError, match="same number of skills"):
        LaborMarket([[stats.uniform()], [stats.uniform(), stats.uniform()]])
    with pytest.raises(ValueError, match="shares"):
        LaborMarket([stats.uniform(), stats.uniform()], shares=[0.2, 0.2])
    with pytest.raises(ValueError, match="wage"):
        LaborMarket([stats.uniform()], wage=0)
    m = LaborMarket([stats.uniform(), stats.uniform()])
    with pytest.raises(ValueError, match="shape"):
        m.outcome([ThresholdPolicy([[0.0, 1.0], [0.0, 1.0]])])
    with pytest.raises(ValueError, match="n_samples"):
        m.sample(0)
    with pytest.raises(TypeError, match="population"):
        m.outcome([_blind(0.0)], population=np.zeros(3))
    with pytest.raises(ValueError, match="no unit of group"):
        m.outcome([_blind(0.0)], Population(np.zeros(4, dtype=np.int32), 2, cost=np.zeros((4, 1)),
                                            signal0=np.zeros((4, 1)), signal1=np.zeros((4, 1))))
    with pytest.raises(ValueError, match="group codes"):
        Population(np.array([0, 2], dtype=np.int32), 2)
