"""ExPostReduction: spec cases 5 (EG vs LP), 6 (lambda map), 7 (oracle), 9 (feasibility)."""

import numpy as np
import pytest
from scipy import stats
from scipy.optimize import linprog

from fairfast.performative import (
    BaseRateParity,
    CustomMoment,
    DemographicParity,
    ExPostReduction,
    FinitePolicies,
    GroupBlindThresholds,
    GroupSpecificThresholds,
    LaborMarket,
    LinearGaussianResponse,
    LinearPolicies,
    MeanResponseParity,
    MixturePolicy,
    SkillThresholds,
    ThresholdPolicy,
    TruePositiveRateParity,
    evaluate_policy,
    lambda_map,
)
from fairfast.performative._constraints import Constraints

MARKET = LaborMarket([stats.uniform(0, 1), stats.uniform(0, 2)])


def _finite_class(n=200, seed=0):
    rng = np.random.default_rng(seed)
    t = rng.uniform(-2.5, 2.5, size=(n, 2))
    t[:5, 0] = np.inf  # a few policies that hire nobody from group 0
    return FinitePolicies([ThresholdPolicy(row[:, None]) for row in t])


def _lp_optimum(model, F, constraints):
    out = model.outcome(F.policies)
    c = Constraints(constraints).bind(out)
    G = c.gamma(out)
    res = linprog(out.risk, A_ub=G.T, b_ub=c.bound(), A_eq=np.ones((1, len(F.policies))), b_eq=[1.0],
                  method="highs")
    assert res.status == 0
    return res.fun


# -- spec case 5 -------------------------------------------------------------------------------
@pytest.mark.parametrize("constraints", [[BaseRateParity(0.02)], [DemographicParity(0.05)],
                                         [BaseRateParity(0.05), TruePositiveRateParity(0.02)]])
@pytest.mark.parametrize("eps", [0.01, 0.1])
def test_eg_against_linear_program(constraints, eps):
    F = _finite_class()
    red = ExPostReduction(MARKET, F, constraints, eps=eps).fit()
    lp = _lp_optimum(MARKET, F, constraints)
    nu = red.best_gap_
    B = 1 / eps
    ev = evaluate_policy(MARKET, red.mixture_, constraints)
    assert ev.risk == pytest.approx(red.risk_, abs=1e-12)
    assert red.risk_ <= lp + 2 * nu + 1e-9
    assert ev.violation <= (1 + 2 * nu) / B + 1e-9
    # the LP-polished mixture over the found policies is feasible and no better than the LP over all of F
    polished = evaluate_policy(MARKET, red.lp_mixture_, constraints)
    assert polished.violation <= 1e-9
    assert polished.risk >= lp - 1e-9
    if nu <= 1e-6:
        assert polished.risk == pytest.approx(lp, abs=1e-5)


def test_duality_gap_reaches_tolerance_and_history_is_consistent():
    red = ExPostReduction(MARKET, GroupSpecificThresholds(n_grid=41), [BaseRateParity(0.02)], max_iter=50).fit()
    assert red.best_gap_ <= red.nu_
    h = red.history_
    T = red.last_iter_ + 1
    assert h["lambda"].shape == (T, 2) and h["gamma"].shape == (T, 2) and h["gap"].shape == (T,)
    assert (h["lambda"].sum(axis=1) < 100).all()
    assert red.n_oracle_calls_ >= T


def test_unconstrained_problem_returns_the_risk_minimiser():
    F = _finite_class(50)
    red = ExPostReduction(MARKET, F, [BaseRateParity(1.0)]).fit()
    risks = MARKET.outcome(F.policies).risk
    assert red.risk_ == pytest.approx(risks.min(), abs=1e-12)
    assert red.deterministic_policy_ == F.policies[int(np.argmin(risks))]


# -- spec case 6 ---------------------------------------------------------------------------------
def test_lambda_map():
    rng = np.random.default_rng(0)
    for J in (1, 2, 7):
        for B in (1.0, 100.0):
            assert np.allclose(lambda_map(np.zeros(J), B), B / (J + 1))
            for scale in (1.0, 50.0, 1000.0):
                lam = lambda_map(rng.normal(scale=scale, size=J), B)
                assert np.isfinite(lam).all() and (lam >= 0).all()
                assert lam.sum() <= B * (1 + 1e-15)  # < B in exact arithmetic (slack weight > 0)
                if scale == 1.0:
                    assert lam.sum() < B
    theta = np.array([0.3, -1.2, 2.0])
    np.testing.assert_allclose(lambda_map(theta, 7.0), 7.0 * np.exp(theta) / (1 + np.exp(theta).sum()))
    assert lambda_map([800.0], 2.0)[0] == pytest.approx(2.0)


# -- spec case 7 ---------------------------------------------------------------------------------
@pytest.mark.parametrize("cls", [GroupSpecificThresholds, GroupBlindThresholds])
def test_grid_oracle_equals_brute_force(cls):
    rng = np.random.default_rng(1)
    grid = np.append(np.linspace(-2, 2, 17), np.inf)
    F = cls(grid, refine=0)
    cands = F.candidates(MARKET)
    c = Constraints([BaseRateParity(0.01), TruePositiveRateParity(0.01)])
    out = MARKET.outcome(cands)
    c.bind(out)
    G = c.gamma(out)
    for _ in range(5):
        lam = rng.exponential(size=G.shape[1]) * rng.choice([0.1, 10.0])
        policy, value, _ = F.best_response(MARKET, lambda o: o.risk + c.gamma(o) @ lam)
        brute = out.risk + G @ lam
        assert value == pytest.approx(brute.min(), abs=1e-12)
        assert policy == cands[int(np.argmin(brute))]
        refined, rvalue, _ = cls(grid, refine=2).best_response(MARKET, lambda o: o.risk + c.gamma(o) @ lam)
        assert rvalue <= brute.min() + 1e-15


def test_skill_thresholds_oracle_equals_brute_force():
    market = LaborMarket([[stats.uniform(0, 1), stats.uniform(0, 3)], [stats.uniform(0, 2), stats.uniform(0, 1)]])
    grid = np.linspace(-1.5, 1.5, 7)
    F = SkillThresholds(grid, refine=0)
    cands = F.candidates(market)
    assert len(cands) == 49 and all(p.is_group_blind for p in cands)
    out = market.outcome(cands)
    policy, value, _ = F.best_response(market, lambda o: o.risk + 3 * np.abs(np.diff(o.base_rate, axis=-1))[..., 0])
    brute = out.risk + 3 * np.abs(np.diff(out.base_rate, axis=-1))[..., 0]
    assert value == pytest.approx(brute.min(), abs=1e-12)
    assert policy == cands[int(np.argmin(brute))]


def test_risk_and_moments_are_linear_in_the_mixture():
    F = _finite_class(6)
    c = [BaseRateParity(0.01), TruePositiveRateParity(0.01)]
    w = np.array([0.1, 0.2, 0.3, 0.15, 0.05, 0.2])
    evs = [evaluate_policy(MARKET, p, c) for p in F.policies]
    mix = evaluate_policy(MARKET, MixturePolicy(F.policies, w), c)
    assert mix.risk == pytest.approx(sum(wi * e.risk for wi, e in zip(w, evs)), abs=1e-14)
    np.testing.assert_allclose(mix.gamma, sum(wi * e.gamma for wi, e in zip(w, evs)), atol=1e-14)


# -- spec case 9 ---------------------------------------------------------------------------------
def test_linear_gaussian_feasible_and_infeasible():
    model = LinearGaussianResponse(means=[[0.0, 1.0], [1.0, 0.0]], effects=[[2.0, 1.0], [1.0, 2.0]])
    grid = np.linspace(-3, 3, 25)
    red = ExPostReduction(model, LinearPolicies([grid, grid]), MeanResponseParity(0.01)).fit()
    assert red.feasible_
    assert red.feasibility_.min_violation <= 0
    det = red.evaluate(red.deterministic_policy_)
    assert det.feasible
    np.testing.assert_allclose(red.deterministic_policy_.theta, model.equalizing_policy().theta, atol=0.02)
    same = LinearGaussianResponse(means=[[0.0, 1.0], [1.0, 0.0]], effects=[[1.0, 2.0], [1.0, 2.0]])
    bad = ExPostReduction(same, LinearPolicies([grid, grid]), MeanResponseParity(0.01)).fit()
    assert not bad.feasible_
    assert bad.deterministic_policy_ is None
    assert bad.feasibility_.min_violation == pytest.approx(1.0 - 0.01, abs=1e-9)
    assert "infeasible" in str(bad.feasibility_)
    cert = bad.feasibility_.certificate
    assert cert.sum() == pytest.approx(1.0) and (cert >= 0).all()


def test_group_blind_one_skill_parity_needs_shutting_hiring_down():
    # pi_1 = pi_0 / 2 under any shared threshold: parity within eps forces pi_0 <= 2 eps
    red = ExPostReduction(MARKET, GroupBlindThresholds(n_grid=41), BaseRateParity(0.02)).fit()
    det = MARKET.outcome([red.deterministic_policy_]).base_rate[0]
    assert det[0] <= 0.04 + 1e-9
    free = MARKET.outcome([red.unconstrained_policy_]).base_rate[0]
    assert free[0] > 0.5
    # without the near-shut-down thresholds no shared policy (nor mixture) is fair
    grid = np.linspace(-2, 1.5, 15)
    strict = ExPostReduction(MARKET, GroupBlindThresholds(grid), BaseRateParity(0.02)).fit()
    assert not strict.feasible_
    gaps = np.diff(MARKET.outcome([ThresholdPolicy([[t], [t]]) for t in grid]).base_rate, axis=1)
    assert strict.feasibility_.min_violation == pytest.approx(np.abs(gaps).min() - 0.02, abs=1e-9)


def test_custom_moment_and_errors():
    floor = CustomMoment(lambda o: 0.3 - o.base_rate[..., 1:2], bound=[0.0], labels=["pi_1 >= 0.3"])
    red = ExPostReduction(MARKET, GroupSpecificThresholds(n_grid=31), [floor]).fit()
    assert red.gamma_[0] <= (1 + 2 * red.best_gap_) / 100 + 1e-9
    with pytest.raises(ValueError, match="eps"):
        ExPostReduction(MARKET, GroupSpecificThresholds(), [floor], eps=0).fit()
    with pytest.raises(ValueError, match="max_iter"):
        ExPostReduction(MARKET, GroupSpecificThresholds(), [floor], max_iter=0).fit()
    with pytest.raises(TypeError, match="policy_class"):
        ExPostReduction(MARKET, object(), [floor]).fit()
    with pytest.raises(TypeError, match="Moment"):
        ExPostReduction(MARKET, GroupSpecificThresholds(), [object()]).fit()
