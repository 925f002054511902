"""Misspecification robustness: constraint drift under perturbed cost laws."""

import numpy as np
import pytest
from scipy import stats

from fairfast.performative import (
    BaseRateParity,
    ExPostReduction,
    GroupSpecificThresholds,
    LaborMarket,
    ThresholdPolicy,
    TruePositiveRateParity,
    constraint_drift,
    perturb_costs,
)

MARKET = LaborMarket([stats.uniform(0, 1), stats.uniform(0, 2)])


def test_drift_matches_closed_form_for_uniform_costs():
    t0, t1 = 1.0, 0.17
    policy = ThresholdPolicy([[t0], [t1]])
    beta = MARKET.incentives(policy.thresholds)[:, 0]
    scales = np.array([0.8, 0.95, 1.0, 1.05, 1.25])
    rep = constraint_drift(policy, MARKET, [perturb_costs(MARKET, scale=s, groups=[1]) for s in scales],
                           [BaseRateParity(0.02), TruePositiveRateParity(0.02)])
    # group 1 costs U[0, 2s]: pi_1 = beta_1 / (2 s); group 0 untouched; TPR depends on signals only
    expected = -(beta[1] / (2 * scales) - beta[1] / 2)
    np.testing.assert_allclose(rep.drift[:, 0], expected, atol=1e-12)
    np.testing.assert_allclose(rep.drift[:, 1], -expected, atol=1e-12)
    np.testing.assert_allclose(rep.drift[:, 2:], 0, atol=1e-12)
    assert rep.drift[2].tolist() == [0.0] * 4
    assert (np.diff(rep.drift[:, 0]) > 0).all()
    np.testing.assert_allclose(rep.violation, [p.violation for p in rep.perturbed])


def test_shift_perturbation_and_monte_carlo_agree():
    policy = ThresholdPolicy([[0.6], [0.0]])
    models = [perturb_costs(MARKET, shift=d) for d in (-0.1, 0.1)]
    exact = constraint_drift(policy, MARKET, models, BaseRateParity(0.02))
    mc = constraint_drift(policy, MARKET, models, BaseRateParity(0.02), n_samples=200_000, random_state=4)
    # common random numbers: the Monte-Carlo drift is much closer than one standard error of a level
    np.testing.assert_allclose(mc.drift, exact.drift, atol=3e-3)
    assert (np.abs(exact.drift[:, 0]) > 0.01).all()


def test_learned_policy_drifts_out_of_tolerance():
    red = ExPostReduction(MARKET, GroupSpecificThresholds(n_grid=31), BaseRateParity(0.02)).fit()
    rep = constraint_drift(red.mixture_, MARKET,
                           [perturb_costs(MARKET, scale=s, groups=[1]) for s in (0.9, 1.1)], BaseRateParity(0.02))
    assert rep.nominal.violation <= (1 + 2 * red.best_gap_) / 100 + 1e-9
    assert rep.max_abs_drift.min() > 0.005


def test_errors():
    with pytest.raises(TypeError, match="LaborMarket"):
        perturb_costs(object())
    with pytest.raises(ValueError, match="scale"):
        perturb_costs(MARKET, scale=0)
    with pytest.raises(ValueError, match="groups"):
        perturb_costs(MARKET, groups=[2])
    with pytest.raises(ValueError, match="perturbed_models"):
        constraint_drift(ThresholdPolicy([[0.0], [0.0]]), MARKET, [], BaseRateParity())
