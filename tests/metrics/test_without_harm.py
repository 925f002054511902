"""Fairness-without-harm statistics (dafh.md section 5 and test cases 8-9)."""

import numpy as np
import pytest
from scipy import stats

from fairfast import metrics as fm


def _case(seed, n=600, k=3):
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 2, n)
    a = rng.integers(0, k, n)
    # model j is good on group j, poor elsewhere
    acc = np.where(np.arange(k)[None, :] == a[:, None], 0.85, 0.6)
    preds = np.where(rng.random((n, k)) < acc, y[:, None], 1 - y[:, None])
    pooled = np.where(rng.random(n) < 0.7, y, 1 - y)
    return y, preds, a, pooled


def brute(y, preds, a, pooled, w=None):
    n, k = preds.shape
    w = np.ones(n) if w is None else w
    loss = (preds != y[:, None]).astype(float)
    l0 = (pooled != y).astype(float)
    R = np.full((k, k), np.nan)
    R0 = np.full(k, np.nan)
    for g in range(k):
        m = a == g
        if m.any():
            for j in range(k):
                R[g, j] = np.sum(w[m] * loss[m, j]) / w[m].sum()
            R0[g] = np.sum(w[m] * l0[m]) / w[m].sum()
    indiv = np.mean([all(loss[i, a[i]] <= loss[i, j] for j in range(k)) and loss[i, a[i]] <= l0[i]
                     for i in range(n)]) if w is None or np.all(w == 1) else None
    pair = np.mean([np.mean([loss[i, a[i]] <= loss[i, j] and loss[i, a[i]] <= l0[i] for j in range(k)])
                    for i in range(n)])
    return R, R0, indiv, pair


def test_hand_case_from_the_specification():
    y = [1, 0, 1, 0]
    h0, h1, h2 = [1, 1, 1, 1], [1, 0, 0, 0], [0, 0, 1, 1]
    preds = np.column_stack([h1, h2])
    assert fm.probability_without_harm(y, preds, [0, 0, 1, 1], pooled_predictions=h0) == 0.75


@pytest.mark.parametrize("seed", range(3))
def test_against_brute_force(seed):
    y, preds, a, pooled = _case(seed)
    res = fm.without_harm_report(y, preds, a, pooled_predictions=pooled, n_replicates=200, random_state=seed)
    R, R0, indiv, pair = brute(y, preds, a, pooled)
    np.testing.assert_allclose(res.risk_matrix, R)
    np.testing.assert_allclose(fm.group_risk_matrix(y, preds, a), R)
    np.testing.assert_allclose(res.pooled_risk, R0)
    assert res.individual == pytest.approx(indiv)
    assert res.pairwise == pytest.approx(pair)
    rational = np.diag(R) <= R0
    envy_free = np.all(np.diag(R)[:, None] <= R, axis=1)
    np.testing.assert_array_equal(res.rational, rational)
    np.testing.assert_array_equal(res.envy_free, envy_free)
    share = np.mean(np.isin(a, np.flatnonzero(rational & envy_free)))
    assert res.group_share == pytest.approx(share)
    assert fm.probability_without_harm(y, preds, a, pooled_predictions=pooled, estimator="group") == \
        pytest.approx(share)
    assert res.accuracy == pytest.approx(np.mean(preds[np.arange(len(y)), a] == y))


def test_mcnemar_matches_scipy_binomial():
    y, preds, a, pooled = _case(4, n=300)
    res = fm.without_harm_report(y, preds, a, pooled_predictions=pooled, n_replicates=0)
    assert res.bootstrap_probability is None
    for g in range(3):
        m = a == g
        for j in range(3):
            own, other = preds[m, g] == y[m], preds[m, j] == y[m]
            if j == g:
                assert np.isnan(res.mcnemar_envy[g, j])
                continue
            b, c = np.sum(~own & other), np.sum(own & ~other)
            assert res.mcnemar_envy[g, j] == pytest.approx(stats.binom.cdf(c, b + c, 0.5))
        own, other = preds[m, g] == y[m], pooled[m] == y[m]
        b, c = np.sum(~own & other), np.sum(own & ~other)
        assert res.mcnemar_rationality[g] == pytest.approx(stats.binom.cdf(c, b + c, 0.5))
    assert fm.mcnemar_pvalue([1, 1], [1, 1]) == 1.0


def test_bootstrap_probability_behaves():
    # Clearly fair without harm: probability near 1; a clearly envious group: near 0.
    y, preds, a, pooled = _case(5, n=6000)
    good = fm.without_harm_report(y, preds, a, pooled_predictions=pooled, n_replicates=300, random_state=1)
    assert good.fair_without_harm.all() and good.bootstrap_probability > 0.95
    swapped = preds[:, [1, 0, 2]]  # groups 0 and 1 now use each other's models
    bad = fm.without_harm_report(y, swapped, a, pooled_predictions=pooled, n_replicates=300, random_state=1)
    assert not bad.envy_free[:2].any() and bad.bootstrap_probability < 0.05
    # per constraint: the joint probability is at most the weakest one
    for res in (good, bad):
        assert res.bootstrap_rational.shape == (3,) and res.bootstrap_envy_free.shape == (3, 3)
        assert np.isnan(np.diagonal(res.bootstrap_envy_free)).all()
        weakest = min(res.bootstrap_rational.min(), np.nanmin(res.bootstrap_envy_free))
        assert res.bootstrap_probability <= weakest
    assert good.bootstrap_rational.min() > 0.95 and np.nanmin(good.bootstrap_envy_free) > 0.95
    assert bad.bootstrap_envy_free[0, 1] < 0.05 and bad.bootstrap_envy_free[1, 0] < 0.05
    assert bad.bootstrap_envy_free[2, 0] > 0.95
    again = fm.without_harm_report(y, preds, a, pooled_predictions=pooled, n_replicates=300, random_state=1)
    assert again.bootstrap_probability == good.bootstrap_probability
    # the weighted (index) bootstrap agrees with the multinomial one in distribution
    weighted = fm.without_harm_report(y, preds, a, pooled_predictions=pooled, sample_weight=np.ones(len(y)),
                                      n_replicates=300, random_state=1)
    assert weighted.bootstrap_probability > 0.95


def test_near_boundary_bootstrap_probability_is_intermediate():
    rng = np.random.default_rng(6)
    n = 2000
    y = rng.integers(0, 2, n)
    a = np.repeat([0, 1], n // 2)
    same = np.where(rng.random(n) < 0.8, y, 1 - y)
    preds = np.column_stack([same, np.where(rng.random(n) < 0.8, y, 1 - y)])
    res = fm.without_harm_report(y, preds, a, n_replicates=400, random_state=0)
    assert 0.02 < res.bootstrap_probability < 0.98


def test_weights_sensitive_features_and_empty_group():
    y, preds, a, pooled = _case(7, n=400, k=3)
    a[a == 2] = 1  # group 2 has no rows
    w = np.random.default_rng(0).random(400) + 0.1
    res = fm.without_harm_report(y, preds, a, pooled_predictions=pooled, sample_weight=w, n_replicates=50,
                                 random_state=0, sensitive_features=y)
    R, R0, _, _ = brute(y, preds, a, pooled, w)
    np.testing.assert_allclose(res.risk_matrix, R)
    assert np.isnan(res.risk_matrix[2]).all() and res.group_sizes[2] == 0 and res.fair_without_harm[2]
    assert "demographic_parity_difference" in res.disparities.index
    d = res.to_dict()
    assert d["risk_matrix"][2] == [None, None, None]


def test_errors():
    with pytest.raises(ValueError, match=r"predictions must have shape \(n_samples, n_models\)"):
        fm.without_harm_report([0, 1], [0, 1], [0, 0])
    with pytest.raises(ValueError, match=r"assignment must hold group indices in \[0, 2\)"):
        fm.without_harm_report([0, 1], [[0, 1], [1, 1]], [0, 2])
    with pytest.raises(ValueError, match="estimator must be one of"):
        fm.probability_without_harm([0, 1], [[0, 1], [1, 1]], [0, 1], estimator="mean")


@pytest.mark.parametrize("weighted", [False, True])
def test_bootstrap_estimator_is_the_reports_probability(weighted):
    y, preds, a, pooled = _case(8, n=900)
    w = np.random.default_rng(1).random(900) + 0.5 if weighted else None
    report = fm.without_harm_report(y, preds, a, pooled_predictions=pooled, sample_weight=w, n_replicates=120,
                                    random_state=4)
    p = fm.probability_without_harm(y, preds, a, pooled_predictions=pooled, sample_weight=w, estimator="bootstrap",
                                    n_replicates=120, random_state=4)
    assert p == report.bootstrap_probability
    # identical models on every group: every replicate ties, so the probability is 1
    same = np.column_stack([pooled, pooled, pooled])
    assert fm.probability_without_harm(y, same, a, pooled_predictions=pooled, estimator="bootstrap",
                                       n_replicates=50, random_state=0) == 1.0
    no_pooled = fm.without_harm_report(y, preds, a, n_replicates=30, random_state=0)
    assert no_pooled.bootstrap_rational is None and no_pooled.bootstrap_envy_free.shape == (3, 3)
    skipped = fm.without_harm_report(y, preds, a, pooled_predictions=pooled, n_replicates=0)
    assert skipped.bootstrap_probability is None and skipped.bootstrap_rational is None
    with pytest.raises(ValueError, match="n_replicates must be a positive int"):
        fm.probability_without_harm(y, preds, a, estimator="bootstrap", n_replicates=0)
    with pytest.raises(ValueError, match="n_replicates must be a non-negative int"):
        fm.without_harm_report(y, preds, a, n_replicates=-1)
