"""Fairness-without-harm statistics as DAFH uses them (spec dafh.md cases 8 and 9).

The statistics live in :mod:`fairfast.metrics`; these tests pin the semantics DAFH
relies on: ``predict_each`` columns (pooled first) fed to the metrics functions.
"""

import itertools

import numpy as np
import pytest
from scipy.stats import binom

from fairfast.dafh._common import selection_key
from fairfast.metrics import mcnemar_pvalue, probability_without_harm, without_harm_report


def test_hand_case_individual():
    # Case 8: sample 4 is served by h_2, which errs, while h_1 is right.
    y = np.array([1, 0, 1, 0])
    each = np.column_stack([[1, 1, 1, 1], [1, 0, 0, 0], [0, 0, 1, 1]])  # h_0, h_1, h_2
    groups = np.array([1, 1, 2, 2]) - 1
    assert probability_without_harm(y, each[:, 1:], groups, pooled_predictions=each[:, 0]) == 0.75
    assert selection_key(y, each, groups) == (0.75, 0.75)


@pytest.mark.parametrize("seed", range(3))
def test_individual_estimator_matches_loop(seed):
    rng = np.random.default_rng(seed)
    n, K = 80, 3
    y = rng.integers(0, 2, n)
    each = rng.integers(0, 2, (n, K + 1))
    groups = rng.integers(0, K, n)
    loss = each != y[:, None]
    expected = np.mean([all(loss[i, groups[i] + 1] <= loss[i, j] for j in range(K + 1)) for i in range(n)])
    assert selection_key(y, each, groups)[0] == pytest.approx(expected)


@pytest.mark.parametrize("seed", range(3))
def test_mcnemar_is_exact_binomial(seed):
    # Case 9: p = binom.cdf(c, b + c, 1/2), c = own right / other wrong, b = the reverse.
    rng = np.random.default_rng(seed)
    n, K = 120, 2
    y = rng.integers(0, 2, n)
    each = rng.integers(0, 2, (n, K + 1))
    groups = rng.integers(0, K, n)
    report = without_harm_report(y, each[:, 1:], groups, pooled_predictions=each[:, 0], n_replicates=0)
    right = each == y[:, None]
    for k, j in itertools.product(range(K), range(K + 1)):
        if j == k + 1:
            continue
        rows = groups == k
        own, other = right[rows, k + 1], right[rows, j]
        b = int(np.sum(~own & other))
        c = int(np.sum(own & ~other))
        expected = binom.cdf(c, b + c, 0.5)
        assert mcnemar_pvalue(own, other) == pytest.approx(expected)
        got = report.mcnemar_rationality[k] if j == 0 else report.mcnemar_envy[k, j - 1]
        assert got == pytest.approx(expected)
