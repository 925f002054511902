"""GroupThresholds: spec cases 5-6 (cherry_picking.md), exactness against brute force,
monotonicity (cherry-picking statistics), fairlearn agreement, API."""

import warnings

import numpy as np
import pytest
from sklearn.base import BaseEstimator

from fairfast.metrics import cherry_picking_statistics
from fairfast.postprocessing import GroupThresholds
from fairfast.postprocessing._thresholds import (
    InfeasibleConstraintError,
    InfeasibleConstraintWarning,
)

RATE_CONSTRAINTS = ["demographic_parity", "equal_opportunity", "false_positive_rate_parity"]


def _two_groups(n, seed=0, hi_b=0.5):
    rng = np.random.default_rng(seed)
    a = rng.integers(0, 2, n)
    p = np.where(a == 0, rng.uniform(0, 1, n), rng.uniform(0, hi_b, n))
    y = (rng.uniform(size=n) < p).astype(np.int64)
    return p, y, a


# ----------------------------------------------------------------- brute force
def _polyline(s, y):
    """Breakpoint selections, positives, and block sizes of one group (decreasing score)."""
    order = np.argsort(-s, kind="stable")
    ss, yy = s[order], y[order]
    starts = np.flatnonzero(np.r_[True, ss[1:] != ss[:-1]])
    sel = np.r_[0.0, np.cumsum(np.add.reduceat(np.ones_like(ss), starts))]
    pos = np.r_[0.0, np.cumsum(np.add.reduceat(yy.astype(float), starts))]
    return sel, pos


def _fine_positions(sel, pos, steps):
    """(selected, positives) at positions k + j / steps along the polyline."""
    f = np.linspace(0, 1, steps, endpoint=False)
    s_ = (sel[:-1, None] + f * np.diff(sel)[:, None]).ravel()
    p_ = (pos[:-1, None] + f * np.diff(pos)[:, None]).ravel()
    return np.r_[s_, sel[-1]], np.r_[p_, pos[-1]]


def _metric(kind, sel, pos, n, npos):
    if kind == "demographic_parity":
        return sel / n
    if kind == "equal_opportunity":
        return pos / npos
    if kind == "false_positive_rate_parity":
        return (sel - pos) / (n - npos)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(sel > 0, pos / np.where(sel > 0, sel, 1), np.nan)


def _brute_best(s, y, a, kind, tol, steps=40):
    """Best accuracy over pairs of fine polyline positions whose metrics differ by <= tol."""
    total = s.size
    out = []
    for g in (0, 1):
        sel, pos = _polyline(s[a == g], y[a == g])
        sf, pf = _fine_positions(sel, pos, steps)
        n, npos = sel[-1], pos[-1]
        m = _metric(kind, sf, pf, n, npos)
        u = (pf - (sf - pf)) / total  # accuracy gain over rejecting everyone
        ok = ~np.isnan(m)
        out.append((m[ok], u[ok]))
    (m0, u0), (m1, u1) = out
    feas = np.abs(m0[:, None] - m1[None, :]) <= tol + 1e-12
    tot = np.where(feas, u0[:, None] + u1[None, :], -np.inf)
    base = (y == 0).sum() / total
    return base + tot.max()


@pytest.mark.parametrize("kind", RATE_CONSTRAINTS + ["predictive_parity"])
@pytest.mark.parametrize("tol", [0.0, 0.05])
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_no_worse_than_brute_force_on_fine_positions(kind, tol, seed):
    rng = np.random.default_rng(seed)
    n = 60
    a = rng.integers(0, 2, n)
    s = np.round(rng.uniform(size=n) * (1 + a) / 2, 2)  # ties included
    y = (rng.uniform(size=n) < s).astype(int)
    brute = _brute_best(s, y, a, kind, tol)
    if kind == "predictive_parity" and not np.isfinite(brute):
        pytest.skip("no pair reaches predictive parity on this draw")
    gt = GroupThresholds(constraint=kind, tolerance=tol, infeasible="warn")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", InfeasibleConstraintWarning)
        gt.fit(s, y, sensitive_features=a)
    assert gt.utility_ >= brute - 1e-12
    if gt.tolerance_ == tol:
        assert gt.violation_ <= tol + 1e-9
    # expected accuracy of the fitted rule recomputed from predict_proba
    p1 = gt.predict_proba(s, sensitive_features=a)[:, 1]
    acc = np.mean(p1 * y + (1 - p1) * (1 - y))
    assert acc == pytest.approx(gt.utility_, abs=1e-12)


@pytest.mark.parametrize("kind", RATE_CONSTRAINTS)
def test_rate_constraints_exact_against_dense_scan(kind):
    """Continuous scores: the optimum over a common rate equals a dense scan of rates."""
    s, y, a = _two_groups(3000, seed=3)
    gt = GroupThresholds(constraint=kind).fit(s, y, sensitive_features=a)
    assert gt.violation_ < 1e-12
    # dense scan: for each common value, interpolate each group's (metric -> gain) polyline
    total = s.size
    grid = np.linspace(0, 1, 200001)
    acc = np.full(grid.size, (y == 0).sum() / total)
    for g in (0, 1):
        sel, pos = _polyline(s[a == g], y[a == g])
        m = _metric(kind, sel, pos, sel[-1], pos[-1])
        u = (2 * pos - sel) / total
        # metric is non-decreasing; for flat stretches keep the best gain (upper envelope)
        acc += np.interp(grid, m, u)
    assert gt.utility_ >= acc.max() - 1e-12
    assert gt.utility_ <= acc.max() + 2.0 / total  # a dense grid is close to the optimum


# --------------------------------------------------------------- spec case 5
def test_spec_case5_closed_form_demographic_parity():
    """A: p ~ U(0,1), B: p ~ U(0,1/2), expected accuracy: r* = 1/3, t = 2/3, 1/3."""
    p, _, a = _two_groups(1_000_000, seed=5)
    gt = GroupThresholds().fit(p, p, sensitive_features=a)  # soft labels: expected accuracy
    rates = gt.operating_points_["selection_rate"].to_numpy()
    assert np.abs(rates - 1 / 3).max() < 0.01
    assert abs(gt.thresholds_[0, 0] - 2 / 3) < 0.01
    assert abs(gt.thresholds_[1, 0] - 1 / 3) < 0.01
    sub = slice(0, 200_000)
    d = gt.predict_proba(p[sub], sensitive_features=a[sub])[:, 1]
    cp = cherry_picking_statistics(p[sub], d, sensitive_features=a[sub]).by_group
    assert (cp["cherry_picking_index"] == 0).all()
    assert (cp["excess_selections"] == 0).all()


def test_spec_case5_hard_labels_close():
    p, y, a = _two_groups(1_000_000, seed=6)
    gt = GroupThresholds().fit(p, y, sensitive_features=a)
    assert abs(gt.thresholds_[0, 0] - 2 / 3) < 0.02
    assert abs(gt.thresholds_[1, 0] - 1 / 3) < 0.02


# --------------------------------------------------------------- spec case 6
def _forced_pp(n, seed=0):
    rng = np.random.default_rng(seed)
    a = rng.integers(0, 2, n)
    p = np.where(a == 0, rng.uniform(0.6, 1.0, n), rng.uniform(0.0, 0.7, n))
    return p, a


def test_spec_case6_forced_predictive_parity_raises_naming_groups():
    p, a = _forced_pp(20_000)
    labels = np.where(a == 0, "A", "B")
    gt = GroupThresholds(constraint="predictive_parity")
    with pytest.raises(InfeasibleConstraintError, match=r"group 'A' reaches \[0\.8.*group 'B' only \[0\.3"):
        gt.fit(p, p, sensitive_features=labels)


def test_spec_case6_brute_force_confirms_both_claims():
    """Top thresholds: PPV ranges disjoint. A bottom threshold in A with a top one in B
    is PP-feasible and has CPI_A = 1 (what GroupThresholds refuses to do)."""
    p, a = _forced_pp(4000, seed=1)
    pa, pb = np.sort(p[a == 0])[::-1], np.sort(p[a == 1])[::-1]
    top_a = np.cumsum(pa) / np.arange(1, pa.size + 1)
    top_b = np.cumsum(pb) / np.arange(1, pb.size + 1)
    assert top_a.min() > top_b.max()  # claim (i): no pair of top thresholds is PP-feasible
    bot_a = np.cumsum(pa[::-1]) / np.arange(1, pa.size + 1)  # bottom-k sets of A
    c = 0.65
    ka = int(np.argmin(np.abs(bot_a - c))) + 1
    kb = int(np.argmin(np.abs(top_b - c))) + 1
    assert abs(bot_a[ka - 1] - top_b[kb - 1]) < 0.01  # claim (ii): feasible with a bottom threshold
    d = np.zeros(p.size)
    ia, ib = np.flatnonzero(a == 0), np.flatnonzero(a == 1)
    d[ia[np.argsort(p[ia])[:ka]]] = 1
    d[ib[np.argsort(-p[ib])[:kb]]] = 1
    cp = cherry_picking_statistics(p, d, sensitive_features=a).by_group
    assert cp.loc[0, "cherry_picking_index"] == 1.0
    assert cp.loc[1, "cherry_picking_index"] == 0.0


def test_spec_case6_warn_fits_smallest_spread_monotone_rule():
    p, a = _forced_pp(20_000)
    gt = GroupThresholds(constraint="predictive_parity", infeasible="warn")
    with pytest.warns(InfeasibleConstraintWarning, match="disjoint"):
        gt.fit(p, p, sensitive_features=a)
    ppv = gt.operating_points_["positive_predictive_value"]
    assert gt.tolerance_ == pytest.approx(ppv.max() - ppv.min(), abs=1e-9)
    assert gt.tolerance_ > 0.09
    d = gt.predict_proba(p, sensitive_features=a)[:, 1]
    cp = cherry_picking_statistics(p, d, sensitive_features=a).by_group
    assert (cp["excess_selections"] == 0).all()


def test_predictive_parity_feasible_case_monotone():
    p, y, a = _two_groups(5000, seed=7, hi_b=0.9)
    gt = GroupThresholds(constraint="predictive_parity", tolerance=0.01).fit(p, y, sensitive_features=a)
    assert gt.violation_ <= 0.01 + 1e-12
    d = gt.predict_proba(p, sensitive_features=a)[:, 1]
    cp = cherry_picking_statistics(p, d, sensitive_features=a).by_group
    assert (cp["cherry_picking_index"] == 0).all()


# ----------------------------------------------------------- monotonicity
@pytest.mark.parametrize("kind", RATE_CONSTRAINTS)
@pytest.mark.parametrize("objective", ["accuracy", "balanced_accuracy", "cost"])
def test_rules_never_cherry_pick(kind, objective):
    s, y, a = _two_groups(4000, seed=8)
    cost = [[0.0, 1.0], [3.0, 0.0]] if objective == "cost" else None
    gt = GroupThresholds(constraint=kind, objective=objective, cost_matrix=cost).fit(s, y, sensitive_features=a)
    d = gt.predict_proba(s, sensitive_features=a)[:, 1]
    cp = cherry_picking_statistics(s, d, sensitive_features=a).by_group
    assert (cp["cherry_picking_index"] == 0).all()
    hard = gt.predict(s, sensitive_features=a)
    cp = cherry_picking_statistics(s, hard, sensitive_features=a).by_group
    assert (cp["cherry_picking_index"] == 0).all()
    assert (gt.n_components_ == 1).all()


def test_tie_blocks_randomised_only_at_the_boundary():
    rng = np.random.default_rng(9)
    a = rng.integers(0, 2, 3000)
    s = rng.integers(0, 6, 3000) / 5.0  # heavy ties
    y = (rng.uniform(size=3000) < s * (0.5 + 0.5 * a)).astype(int)
    gt = GroupThresholds().fit(s, y, sensitive_features=a)
    assert gt.violation_ < 1e-12  # exact rates need a split tie block
    d = gt.predict_proba(s, sensitive_features=a)[:, 1]
    for g in (0, 1):
        dg, sg = d[a == g], s[a == g]
        frac = np.unique(dg[(dg > 0) & (dg < 1)])
        assert frac.size <= 1  # one boundary block per group
        if frac.size:
            assert np.unique(sg[dg == frac[0]]).size == 1
    cp = cherry_picking_statistics(s, d, sensitive_features=a).by_group
    assert (cp["excess_selections"] == 0).all() and (cp["merit_regret"].abs() < 1e-9).all()


# -------------------------------------------------------- equalized odds
def test_equalized_odds_matches_or_beats_fairlearn_on_fit_data():
    fl = pytest.importorskip("fairlearn.postprocessing")
    s, y, a = _two_groups(4000, seed=10)
    gt = GroupThresholds(constraint="equalized_odds", mode="mixing").fit(s, y, sensitive_features=a)
    assert gt.violation_ < 1e-9
    assert gt.n_components_.max() <= 3
    to = fl.ThresholdOptimizer(estimator=_Identity(), constraints="equalized_odds", prefit=True,
                               predict_method="predict")
    to.fit(s[:, None], y, sensitive_features=a)
    pmf = to._pmf_predict(s[:, None], sensitive_features=a)[:, 1]
    acc_fl = np.mean(pmf * y + (1 - pmf) * (1 - y))
    assert gt.utility_ >= acc_fl - 1e-9
    # acceptance probability is non-decreasing in the score within each group
    d = gt.predict_proba(s, sensitive_features=a)[:, 1]
    for g in (0, 1):
        o = np.argsort(s[a == g])
        assert (np.diff(d[a == g][o]) >= -1e-12).all()


def test_equalized_odds_tolerance_lp():
    s, y, a = _two_groups(3000, seed=11)
    exact = GroupThresholds(constraint="equalized_odds", mode="mixing").fit(s, y, sensitive_features=a)
    loose = GroupThresholds(constraint="equalized_odds", mode="mixing", tolerance=0.05).fit(s, y, sensitive_features=a)
    assert loose.violation_ <= 0.05 + 1e-9
    assert loose.utility_ >= exact.utility_ - 1e-12


class _Identity(BaseEstimator):
    """A fitted 'model' whose prediction is its single feature."""

    def fit(self, X, y):
        return self

    def predict(self, X):
        return np.asarray(X)[:, 0]

    def __sklearn_is_fitted__(self):
        return True


@pytest.mark.parametrize("kind", [0, 1, 2])
@pytest.mark.parametrize("seed", range(4))
def test_merge_walk_equals_grid_search(kind, seed):
    """The tolerance-0 merge walk (sweep_rates) and the grid search agree exactly."""
    from fairfast._core import thresholds as kern
    from fairfast.postprocessing._thresholds_curves import build_curves, pack

    rng = np.random.default_rng(seed)
    n, G = 3000, 3
    codes = rng.integers(0, G, n).astype(np.int32)
    s = rng.integers(0, 40, n) / 40.0 if seed % 2 else rng.uniform(size=n)
    y = (rng.uniform(size=n) < s).astype(float)
    curves, packed = build_curves(s, y, codes, G)
    sel, pos, bp = packed
    gp, gn = 1.0 / n, -1.0 / n
    total, k, q, value = kern.sweep_rates(sel, pos, bp, kind, gp, gn)
    num = [sel, pos, sel - pos][kind]
    den = np.concatenate([np.full(c.selected.size, [c.n, c.n_positive, c.n_negative][kind]) for c in curves])
    grid = np.unique(num / den)
    flags = np.full(num.size, 3, np.uint8)
    flags[bp[1:] - 1] = 1
    lo, hi, total2, k2, q2, value2, bound, _ = kern.search_windows(
        num, den, gp * pos + gn * (sel - pos), flags, bp, grid, np.ones(grid.size, np.uint8), 0.0, np.inf)
    assert bound >= total2  # an upper bound over window starts between grid values too
    assert total == pytest.approx(total2, abs=1e-15)
    np.testing.assert_allclose(value, value2, atol=1e-15)
    sel2, pos2, bp2 = pack(curves)
    np.testing.assert_array_equal(sel2, sel)
    np.testing.assert_array_equal(bp2, bp)


@pytest.mark.parametrize("kind", RATE_CONSTRAINTS)
def test_weighted_soft_labels_exact_rates(kind):
    """Float weights and soft labels (running sums with rounding) still give equal rates."""
    rng = np.random.default_rng(12)
    n = 5000
    a = rng.integers(0, 3, n)
    s = rng.uniform(size=n)
    y = np.clip(s + rng.normal(scale=0.1, size=n), 0, 1)
    w = rng.uniform(0.1, 3.0, n)
    gt = GroupThresholds(constraint=kind).fit(s, y, sensitive_features=a, sample_weight=w)
    assert gt.violation_ < 1e-9
    d = gt.predict_proba(s, sensitive_features=a)[:, 1]
    sel = [np.sum(w[a == g] * d[a == g]) / np.sum(w[a == g]) for g in range(3)]
    if kind == "demographic_parity":
        assert max(sel) - min(sel) < 1e-9
