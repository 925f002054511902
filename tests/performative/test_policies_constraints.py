"""Policies, policy classes and moment constraints."""

import numpy as np
import pytest
from scipy import stats

from fairfast.performative import (
    BaseRateParity,
    Constraints,
    DemographicParity,
    GroupMoment,
    GroupSpecificThresholds,
    LaborMarket,
    MeanResponseParity,
    MixturePolicy,
    Outcome,
    SkillThresholds,
    ThresholdPolicy,
    TruePositiveRateParity,
)


def _outcome():
    return Outcome(shares=[0.2, 0.3, 0.5], loss=np.zeros((2, 3)), qualified=[[0.5, 0.4, 0.0], [0.2, 0.2, 0.2]],
                   hired=[[0.5, 0.3, 0.1], [0.1, 0.1, 0.1]], hired_qualified=[[0.4, 0.2, 0.0], [0.1, 0.1, 0.1]],
                   mean_response=np.arange(18.0).reshape(2, 3, 3))


def test_parity_moments_on_three_groups():
    o = _outcome()
    dp = DemographicParity(0.05).bind(o)
    assert dp.labels == tuple(f"acceptance_rate[{g}-{h}]{s}" for g, h in [(0, 1), (0, 2), (1, 2)] for s in "+-")
    np.testing.assert_allclose(dp.gamma(o)[0], [0.2, -0.2, 0.4, -0.4, 0.2, -0.2])
    tpr = TruePositiveRateParity(0.05).bind(o)
    np.testing.assert_allclose(tpr.gamma(o)[0], [0.3, -0.3, 0.8, -0.8, 0.5, -0.5])  # empty group -> rate 0
    mr = MeanResponseParity(0.1, features=[0, 2]).bind(o)
    assert mr.n_constraints == 12 and mr.gamma(o).shape == (2, 12)
    np.testing.assert_allclose(mr.gamma(o)[0, :2], [-3.0, 3.0])
    c = Constraints([dp, tpr, mr]).bind(o)
    assert c.gamma(o).shape == (2, 24) and c.bound().shape == (24,)


def test_project_lambda_keeps_the_lagrangian_of_pairs():
    o = _outcome()
    br = BaseRateParity(0.01).bind(o)
    lam = np.array([3.0, 1.0, 0.5, 2.0, 0.0, 0.0])
    proj = br.project_lambda(lam)
    np.testing.assert_allclose(proj, [2.0, 0.0, 0.0, 1.5, 0.0, 0.0])
    np.testing.assert_allclose(br.gamma(o) @ proj, br.gamma(o) @ lam)


def test_group_moment_validation():
    with pytest.raises(TypeError, match="quantity"):
        GroupMoment(3)
    with pytest.raises(ValueError, match="tolerance"):
        BaseRateParity(-1)
    with pytest.raises(RuntimeError, match="bind"):
        BaseRateParity().gamma(_outcome())
    with pytest.raises(ValueError, match="two groups"):
        BaseRateParity().bind(1)
    lin = Outcome(shares=[0.5, 0.5], loss=[[0.0, 0.0]], mean_response=[[[0.0], [1.0]]])
    with pytest.raises(ValueError, match="qualified"):
        BaseRateParity().bind(lin)


def test_policies():
    p = ThresholdPolicy([[0.1, 0.2], [0.3, 0.4]])
    assert not p.is_group_blind and p == ThresholdPolicy(p.thresholds.copy()) and hash(p) == hash(ThresholdPolicy(p.thresholds))
    with pytest.raises(ValueError, match="thresholds"):
        ThresholdPolicy([[np.nan]])
    q = MixturePolicy([p, ThresholdPolicy([[0.0, 0.0], [0.0, 0.0]])], [1.0, 0.0])
    assert q.policies == [p] and q.draw(random_state=1) == p
    with pytest.raises(ValueError, match="weights"):
        MixturePolicy([p], [0.5])
    draws = [MixturePolicy([p, "b"], [0.3, 0.7]).draw(random_state=s) for s in range(400)]
    assert 0.2 < sum(d == p for d in draws) / 400 < 0.4


def test_refinement_beats_the_grid_and_caches_evaluations():
    m = LaborMarket([stats.beta(3, 8), stats.beta(3, 3)])
    F = GroupSpecificThresholds(np.linspace(-2, 2, 9))
    objective = lambda o: o.risk + 2 * np.abs(o.base_rate[..., 0] - o.base_rate[..., 1])  # noqa: E731
    coarse = GroupSpecificThresholds(np.linspace(-2, 2, 9), refine=0).best_response(m, objective)[1]
    policy, value, out = F.best_response(m, objective)
    assert value < coarse
    assert objective(m.outcome([policy]))[0] == pytest.approx(value, abs=1e-14)
    n = F.n_evaluations(m)
    F.best_response(m, objective)
    assert F.n_evaluations(m) == n  # second call served from the table


def test_skill_thresholds_group_specific_falls_back_to_coordinate_descent():
    m = LaborMarket([[stats.uniform(0, 1), stats.uniform(0, 3)], [stats.uniform(0, 2), stats.uniform(0, 1)]])
    F = SkillThresholds(np.linspace(-1, 1, 21), group_specific=True, max_combinations=1000)
    policy, value, _ = F.best_response(m, lambda o: o.risk)
    grid_best = SkillThresholds(np.linspace(-1, 1, 21), refine=0).best_response(m, lambda o: o.risk)[1]
    assert value <= grid_best + 1e-12
