"""Cherry-picking statistics against O(n^2) brute force (cherry_picking.md, test cases 1-4, 7)."""

import itertools

import numpy as np
import pandas as pd
import pytest
from scipy.optimize import linprog
from scipy.stats import rankdata

from fairfast.metrics import cherry_picking_statistics


def _pair_matrix(s):
    """M[i, j] = [s_j > s_i] + 1/2 [s_j = s_i] for i != j, 0 on the diagonal."""
    s = np.asarray(s, float)
    m = (s[None, :] > s[:, None]) + 0.5 * (s[None, :] == s[:, None])
    np.fill_diagonal(m, 0.0)
    return m


def brute(s, d, exact_e=True):
    """D, A, R, E (minimal moved mass over all threshold fills), regret, for one group."""
    s = np.asarray(s, float)
    d = np.asarray(d, float)
    n = len(s)
    D = float(d @ _pair_matrix(s) @ (1 - d))
    A, R = d.sum(), (1 - d).sum()
    order = np.argsort(-s, kind="stable")
    whole = int(np.floor(A + 1e-9))
    frac = A - whole
    top = s[order[:whole]].sum() + (frac * s[order[whole]] if whole < n and frac > 1e-12 else 0.0)
    regret = max(top - (d * s).sum(), 0.0)
    # E: least positive discrepancy sum max(0, d - d*) over monotone d* with the same total:
    # d* = 1 above t, 0 below, any split of the remaining mass inside the block at t.
    E = np.nan
    if A > 0 and exact_e:
        t = s[order[int(np.ceil(A - 1e-9)) - 1]]
        above, below, tie = s > t, s < t, s == t
        need = A - above.sum()
        # inside the block at t: minimise sum e_i, e_i >= d_i - x_i, sum x = need, 0 <= x, e <= 1
        dt = d[tie]
        k = len(dt)
        lp = linprog(np.r_[np.zeros(k), np.ones(k)],
                     A_ub=np.hstack([-np.eye(k), -np.eye(k)]), b_ub=-dt,
                     A_eq=np.r_[np.ones(k), np.zeros(k)][None, :], b_eq=[need],
                     bounds=[(0, 1)] * (2 * k), method="highs")
        assert lp.success
        best = lp.fun
        E = d[below].sum() + best
    return D, A, R, E, regret


def brute_min_swaps(s, d):
    """Binary d: the least number of accepted members to exchange for a top-A set."""
    s = np.asarray(s, float)
    m = int(d.sum())
    best = m
    for S in itertools.combinations(range(len(s)), m):
        inside = np.zeros(len(s), bool)
        inside[list(S)] = True
        if m and len(S) < len(s) and s[inside].min() < s[~inside].max():
            continue  # not a threshold set
        best = min(best, int((d.astype(bool) & ~inside).sum()))
    return best


def test_hand_example():
    res = cherry_picking_statistics([0.9, 0.8, 0.3, 0.2], [0, 1, 1, 0])
    row = res.by_group.iloc[0]
    assert row["discordant_mass"] == 2 and row["cherry_picking_index"] == 0.5
    assert row["excess_selections"] == 1 and row["merit_regret"] == pytest.approx(0.6)
    # rejected member above a tied boundary block: one swap needed
    row = cherry_picking_statistics([2.0, 1.0, 1.0], [0, 1, 1]).by_group.iloc[0]
    assert row["excess_selections"] == 1 and row["merit_regret"] == 1


def test_random_small_cases_against_brute_force():
    rng = np.random.default_rng(0)
    for case in range(1000):
        n = int(rng.integers(1, 31))
        s = rng.integers(0, 6, n).astype(float)
        g = rng.integers(0, 3, n)
        soft = case % 4 == 0
        d = rng.random(n).round(2) if soft else rng.integers(0, 2, n).astype(float)
        res = cherry_picking_statistics(s, d, sensitive_features=g)
        for label, row in res.by_group.iterrows():
            m = g == label
            small = m.sum() <= 10
            D, A, R, E, regret = brute(s[m], d[m], exact_e=case % 8 == 0 or (not soft and not small and case % 10 == 1))
            assert row["discordant_mass"] == pytest.approx(D, abs=1e-9)
            assert row["accepted"] == pytest.approx(A) and row["rejected"] == pytest.approx(R)
            assert row["cherry_picking_index"] == pytest.approx(D / (A * R) if A * R > 0 else 0.0, abs=1e-12)
            if not np.isnan(E):
                assert row["excess_selections"] == pytest.approx(E, abs=1e-9)
            assert row["merit_regret"] == pytest.approx(regret, abs=1e-9)
            if not soft and 0 < A < m.sum():
                ranks = rankdata(s[m])  # Mann-Whitney AUC, ties 1/2
                n1 = d[m].sum()
                auc = (ranks[d[m] == 1].sum() - n1 * (n1 + 1) / 2) / (n1 * (m.sum() - n1))
                assert row["cherry_picking_index"] == pytest.approx(1 - auc, abs=1e-12)
            if not soft and small:
                assert row["excess_selections"] == brute_min_swaps(s[m], d[m])


def test_threshold_rules_are_zero_and_reversed_rules_one():
    rng = np.random.default_rng(1)
    for _ in range(50):
        n = 200
        s = rng.integers(0, 20, n).astype(float)  # heavy ties
        g = rng.integers(0, 4, n)
        t = rng.integers(0, 20, 4)
        d = (s >= t[g]).astype(float)
        res = cherry_picking_statistics(s, d, sensitive_features=g)
        assert (res.by_group[["cherry_picking_index", "excess_selections", "merit_regret"]] == 0).all().all()
        rev = cherry_picking_statistics(s, (s < t[g]).astype(float), sensitive_features=g)
        both = (rev.by_group["accepted"] > 0) & (rev.by_group["rejected"] > 0)
        assert (rev.by_group.loc[both, "cherry_picking_index"] == 1).all()


def test_split_tie_block_at_the_threshold():
    # Randomising inside the boundary block: E = regret = 0, CPI = A_b R_b / (2 A R).
    s = np.array([3.0, 2, 2, 2, 1])
    d = np.array([1.0, 1, 0, 0, 0])
    row = cherry_picking_statistics(s, d).by_group.iloc[0]
    assert row["excess_selections"] == 0 and row["merit_regret"] == 0
    assert row["cherry_picking_index"] == pytest.approx(0.5 * 1 * 2 / (2 * 3))


def test_random_decisions_about_one_half_and_pooled_worst():
    rng = np.random.default_rng(2)
    s = rng.random(20000)
    g = np.repeat([0, 1], 10000)
    d = np.where(g == 0, rng.random(20000) < 0.4, s > 0.5).astype(float)
    res = cherry_picking_statistics(s, d, sensitive_features=g)
    assert res.by_group.loc[0, "cherry_picking_index"] == pytest.approx(0.5, abs=0.02)
    assert res.by_group.loc[1, "cherry_picking_index"] == 0
    assert res.worst_group == 0
    by = res.by_group
    assert res.pooled["cherry_picking_index"] == pytest.approx(
        by["discordant_mass"].sum() / (by["accepted"] * by["rejected"]).sum())


def test_invariances():
    rng = np.random.default_rng(3)
    n = 300
    s = rng.integers(0, 10, n).astype(float)
    d = rng.random(n)
    g = rng.choice(np.array(["a", "b", "c"]), n)
    base = cherry_picking_statistics(s, d, sensitive_features=g).by_group
    # strictly increasing transform: everything but the regret (which is in score units)
    mono = cherry_picking_statistics(np.exp(s / 3), d, sensitive_features=g).by_group
    cols = ["discordant_mass", "cherry_picking_index", "excess_selections"]
    pd.testing.assert_frame_equal(base[cols], mono[cols], atol=1e-9)
    perm = rng.permutation(n)
    pd.testing.assert_frame_equal(base, cherry_picking_statistics(s[perm], d[perm], sensitive_features=g[perm])
                                  .by_group, atol=1e-9)
    relabel = {"a": "z", "b": "y", "c": "x"}
    other = cherry_picking_statistics(s, d, sensitive_features=np.vectorize(relabel.get)(g)).by_group
    for k, v in relabel.items():
        pd.testing.assert_series_equal(base.loc[k], other.loc[v], check_names=False, atol=1e-9)
    for k in "abc":
        alone = cherry_picking_statistics(s[g == k], d[g == k]).by_group.iloc[0]
        pd.testing.assert_series_equal(base.loc[k], alone, check_names=False, atol=1e-9)


def test_soft_decisions_are_the_mean_of_bernoulli_draws():
    rng = np.random.default_rng(4)
    n = 25
    s = rng.integers(0, 4, n).astype(float)
    d = rng.random(n)
    soft = cherry_picking_statistics(s, d).by_group.iloc[0]["discordant_mass"]
    draws = (rng.random((20000, n)) < d).astype(float)
    per_draw = np.einsum("ki,ij,kj->k", draws, _pair_matrix(s), 1 - draws)
    assert per_draw.mean() == pytest.approx(soft, abs=5 * per_draw.std() / np.sqrt(draws.shape[0]))
    binary = (d > 0.5).astype(float)
    assert cherry_picking_statistics(s, binary).by_group.iloc[0]["discordant_mass"] == pytest.approx(
        brute(s, binary)[0])


def test_errors():
    with pytest.raises(ValueError, match="decisions must be 0/1 or acceptance probabilities"):
        cherry_picking_statistics([1.0, 2.0], [0, 2])
    with pytest.raises(ValueError, match="decisions must be one-dimensional with 2"):
        cherry_picking_statistics([1.0, 2.0], [0, 1, 1])
    with pytest.raises(ValueError, match="reference_scores must be finite"):
        cherry_picking_statistics([1.0, np.nan], [0, 1])


from hypothesis import given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402


@settings(max_examples=150, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 6), st.booleans()), min_size=2, max_size=40))
def test_symmetries_hypothesis(rows):
    s = np.array([r[0] for r in rows], dtype=float)
    d = np.array([r[1] for r in rows], dtype=float)
    if d.sum() in (0, len(d)):
        assert cherry_picking_statistics(s, d).by_group["cherry_picking_index"].iloc[0] == 0
        return
    cpi = cherry_picking_statistics(s, d).by_group["cherry_picking_index"].iloc[0]
    assert 0 <= cpi <= 1
    # swapping accepted and rejected, or reversing the score, mirrors the index
    assert cherry_picking_statistics(s, 1 - d).by_group["cherry_picking_index"].iloc[0] == pytest.approx(1 - cpi)
    assert cherry_picking_statistics(-s, d).by_group["cherry_picking_index"].iloc[0] == pytest.approx(1 - cpi)
    # a threshold rule on the same scores never has excess selections or regret
    t = np.sort(s)[len(s) // 2]
    row = cherry_picking_statistics(s, (s >= t).astype(float)).by_group.iloc[0]
    assert row["excess_selections"] == 0 and row["merit_regret"] == 0
