"""Fairness-without-harm statistics (spec dafh.md section 5; cases 8 and 9)."""

import itertools

import numpy as np
import pytest
from scipy.stats import binom

from fairfast.dafh import _harm


def random_case(seed, n=60, K=3):
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 2, n)
    preds = rng.integers(0, 2, (n, K + 1))
    groups = rng.integers(0, K, n)
    return y, preds, groups


def test_hand_case_individual():
    # Case 8: sample 4 is served by h_2, which errs, while h_1 is right.
    y = [1, 0, 1, 0]
    h0, h1, h2 = [1, 1, 1, 1], [1, 0, 0, 0], [0, 0, 1, 1]
    preds = np.column_stack([h0, h1, h2])
    groups = np.array([1, 1, 2, 2]) - 1
    assert _harm.fwh_individual(y, preds, groups) == 0.75


@pytest.mark.parametrize("seed", range(4))
def test_estimators_match_loops(seed):
    y, preds, groups = random_case(seed)
    n, m = preds.shape
    K = m - 1
    loss = (preds != y[:, None]).astype(int)
    ind = np.mean([all(loss[i, groups[i] + 1] <= loss[i, j] for j in range(m)) for i in range(n)])
    pair = sum(
        (loss[i, groups[i] + 1] <= loss[i, j]) and (loss[i, groups[i] + 1] <= loss[i, 0])
        for i in range(n)
        for j in range(1, m)
    ) / (n * K)
    assert _harm.fwh_individual(y, preds, groups) == pytest.approx(ind)
    assert _harm.fwh_pairwise(y, preds, groups) == pytest.approx(pair)
    risk, sizes = _harm.group_risk_matrix(y, preds, groups)
    for k in range(K):
        rows = groups == k
        assert sizes[k] == rows.sum()
        np.testing.assert_allclose(risk[k], loss[rows].mean(axis=0))
    ok = [all(risk[k, k + 1] <= risk[k, j] for j in range(m)) for k in range(K)]
    share, prob = _harm.fwh_group(y, preds, groups, n_bootstrap=200, random_state=0)
    assert share == pytest.approx(sum(sizes[k] for k in range(K) if ok[k]) / n)
    assert 0.0 <= prob <= 1.0


def test_identical_models_are_fair_without_harm():
    y, preds, groups = random_case(5)
    same = np.repeat(preds[:, :1], preds.shape[1], axis=1)
    assert _harm.fwh_individual(y, same, groups) == 1.0
    assert _harm.fwh_pairwise(y, same, groups) == 1.0
    assert _harm.fwh_group(y, same, groups, n_bootstrap=50, random_state=0) == (1.0, 1.0)


def test_bootstrap_probability_separates_clear_cases():
    rng = np.random.default_rng(0)
    n = 400
    y = rng.integers(0, 2, n)
    groups = rng.integers(0, 2, n)
    good = y.copy()
    noisy = np.where(rng.random(n) < 0.3, 1 - y, y)
    # each group's own model is perfect, the others are noisy: Def. 1 holds everywhere
    preds = np.column_stack([noisy, np.where(groups == 0, good, noisy), np.where(groups == 1, good, noisy)])
    assert _harm.fwh_group(y, preds, groups, n_bootstrap=300, random_state=1) == (1.0, 1.0)
    # swap the models: every group envies the other one
    swapped = preds[:, [0, 2, 1]]
    share, prob = _harm.fwh_group(y, swapped, groups, n_bootstrap=300, random_state=1)
    assert share == 0.0 and prob == 0.0


def test_bootstrap_matches_row_resampling():
    # The cell-multinomial bootstrap equals resampling rows, in distribution.
    y, preds, groups = random_case(9, n=40, K=2)
    preds[:, 1] = np.where(np.random.default_rng(0).random(40) < 0.8, y, preds[:, 1])
    _, prob = _harm.fwh_group(y, preds, groups, n_bootstrap=4000, random_state=0)
    rng = np.random.default_rng(1)
    hits = 0
    B = 4000
    for _ in range(B):
        idx = rng.integers(0, 40, 40)
        risk, sizes = _harm.group_risk_matrix(y[idx], preds[idx], groups[idx])
        ok = all(sizes[k] == 0 or np.all(risk[k, k + 1] <= risk[k] + 1e-12) for k in range(2))
        hits += ok
    assert prob == pytest.approx(hits / B, abs=0.03)


@pytest.mark.parametrize("seed", range(3))
def test_mcnemar_is_exact_binomial(seed):
    # Case 9: p = binom.cdf(c, b + c, 1/2), c = own right / other wrong, b = the reverse.
    y, preds, groups = random_case(seed, n=80, K=2)
    p = _harm.mcnemar_pvalues(y, preds, groups)
    loss = preds != y[:, None]
    for k, j in itertools.product(range(2), range(3)):
        if j == k + 1:
            assert np.isnan(p[k, j])
            continue
        rows = groups == k
        own, other = loss[rows, k + 1], loss[rows, j]
        b = int(np.sum(own & ~other))
        c = int(np.sum(~own & other))
        assert p[k, j] == pytest.approx(binom.cdf(c, b + c, 0.5))


def test_mcnemar_flags_a_worse_own_model():
    y = np.array([1] * 30)
    own = np.array([0] * 20 + [1] * 10)  # wrong on 20 rows
    other = np.ones(30, dtype=int)  # always right
    preds = np.column_stack([other, own])
    p = _harm.mcnemar_pvalues(y, preds, np.zeros(30, dtype=int))
    assert p[0, 0] == pytest.approx(0.5**20)


def test_bad_shapes_are_rejected():
    with pytest.raises(ValueError, match="predictions must have shape"):
        _harm.fwh_individual([0, 1], [0, 1], [0, 0])
    with pytest.raises(ValueError, match="groups has 3 rows"):
        _harm.fwh_individual([0, 1], [[0, 1], [1, 1]], [0, 0, 0])
    with pytest.raises(ValueError, match="groups must be integers in"):
        _harm.fwh_individual([0, 1], [[0, 1], [1, 1]], [0, 1])
