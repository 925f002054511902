"""GroupThresholds: equalized odds in its two modes, the noise-aware fit and held-out
estimate, the frontier, inferred groups, many groups and the new model-file layout."""

import numpy as np
import pandas as pd
import pytest

import fairfast
from fairfast.metrics import cherry_picking_statistics
from fairfast.postprocessing import GroupThresholds, misassignment_cost, plot_frontier, threshold_frontier
from fairfast.postprocessing import _thresholds_solvers as solvers


def _data(n, seed=0, groups=2):
    rng = np.random.default_rng(seed)
    a = rng.integers(0, groups, n)
    p = np.clip(rng.beta(2 + a, 3, n), 1e-6, 1 - 1e-6)
    y = (rng.uniform(size=n) < p).astype(int)
    return p, y, a


# ------------------------------------------------------------ equalized odds
@pytest.mark.parametrize("seed", range(4))
@pytest.mark.parametrize("tol", [0.0, 0.05])
def test_monotone_equalized_odds_never_cherry_picks(seed, tol):
    s, y, a = _data(3000, seed, groups=3)
    gt = GroupThresholds(constraint="equalized_odds", tolerance=tol).fit(s, y, sensitive_features=a)
    assert gt.n_components_.max() == 1
    assert gt.violation_ <= tol + 1e-9
    d = gt.predict_proba(s, sensitive_features=a)[:, 1]
    res = cherry_picking_statistics(s, d, sensitive_features=a)
    assert res.pooled["cherry_picking_index"] == 0.0  # continuous scores: no tie block to split
    assert gt.cherry_picking_["index"] == 0.0 and gt.cherry_picking_["excess_selections"] == 0.0
    mix = GroupThresholds(constraint="equalized_odds", tolerance=tol, mode="mixing").fit(s, y, sensitive_features=a)
    assert mix.utility_ >= gt.utility_ - 1e-12  # mixing searches a larger class
    if gt.solver_ == "boxes-local":  # the gap is measured against the mixing optimum
        assert gt.utility_ + gt.optimality_gap_ == pytest.approx(mix.utility_, abs=1e-9)
    else:
        assert gt.solver_ == "boxes" and gt.optimality_gap_ == 0.0


def test_mixing_mode_reports_its_cherry_picking():
    s, y, a = _data(4000, seed=5)
    gt = GroupThresholds(constraint="equalized_odds", mode="mixing").fit(s, y, sensitive_features=a)
    assert gt.n_components_.max() > 1
    d = gt.predict_proba(s, sensitive_features=a)[:, 1]
    res = cherry_picking_statistics(s, d, sensitive_features=a)
    assert gt.cherry_picking_["index"] == pytest.approx(res.pooled["cherry_picking_index"])
    assert gt.cherry_picking_["index"] > 0.01
    assert gt.cherry_picking_["excess_selections"] == pytest.approx(res.pooled["excess_selections"])
    assert gt.solver_ == "mixing"


def test_coarse_box_search_close_to_exact():
    """Where the exact vertex enumeration runs, the coarse-to-fine search (forced) is no
    better and within its reported gap; the exact optimum is feasible."""
    s, y, a = _data(300, seed=7)
    s = np.round(s, 2)
    exact = GroupThresholds(constraint="equalized_odds", tolerance=0.05).fit(s, y, sensitive_features=a)
    assert exact.solver_ == "boxes" and exact.optimality_gap_ == 0.0
    limit = solvers.BOX_EXACT_LIMIT
    try:
        solvers.BOX_EXACT_LIMIT = 0
        coarse = GroupThresholds(constraint="equalized_odds", tolerance=0.05).fit(s, y, sensitive_features=a)
    finally:
        solvers.BOX_EXACT_LIMIT = limit
    assert coarse.solver_ == "boxes-local"
    assert coarse.utility_ <= exact.utility_ + 1e-12
    assert coarse.utility_ + coarse.optimality_gap_ >= exact.utility_ - 1e-12
    assert exact.utility_ - coarse.utility_ < 0.01


# ----------------------------------------------------------------- noise
def test_holdout_estimate_matches_fresh_samples():
    """The bootstrap's held-out violation of an exact DP rule is close to the violation the
    rule shows on fresh samples from the same population."""
    s, y, a = _data(3000, seed=8)
    gt = GroupThresholds(constraint="demographic_parity", n_bootstrap=40, random_state=0)
    gt.fit(s, y, sensitive_features=a)
    h = gt.holdout_
    assert h["replicates"] == 40 and h["violation_low"] <= h["violation_mean"] <= h["violation_high"]
    fresh = []
    for seed in range(100, 140):
        s2, y2, a2 = _data(3000, seed=seed)
        d = gt.predict_proba(s2, sensitive_features=a2)[:, 1]
        rates = [d[a2 == g].mean() for g in (0, 1)]
        fresh.append(abs(rates[0] - rates[1]))
    fresh = np.array(fresh)
    assert h["violation_low"] <= np.median(fresh) <= h["violation_high"]
    assert 0.5 < h["violation_mean"] / fresh.mean() < 2.0


def test_tolerance_on_holdout_shrinks_the_fit_tolerance():
    s, y, a = _data(1500, seed=9)
    plain = GroupThresholds(constraint="demographic_parity", tolerance=0.03, n_bootstrap=30, random_state=1)
    plain.fit(s, y, sensitive_features=a)
    aware = GroupThresholds(constraint="demographic_parity", tolerance=0.03, tolerance_on="holdout", random_state=1)
    aware.fit(s, y, sensitive_features=a)
    assert aware.holdout_["fit_scale"] < 1.0  # 1500 rows: sampling noise is about the tolerance
    assert aware.tolerance_ == pytest.approx(0.03 * aware.holdout_["fit_scale"])
    assert aware.holdout_["violation_mean"] <= plain.holdout_["violation_mean"] + 1e-12


def test_frontier_and_plot(tmp_path):
    pytest.importorskip("matplotlib")
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    s, y, a = _data(2000, seed=10)
    fr = threshold_frontier(s, y, sensitive_features=a, tolerances=[0.0, 0.05, 0.1], n_bootstrap=10)
    assert list(fr["tolerance"]) == [0.0, 0.05, 0.1]
    assert (fr["fit_violation"] <= fr["tolerance"] + 1e-9).all()
    assert (fr["violation_low"] <= fr["violation_high"]).all()
    ax = plot_frontier(fr)
    assert ax.get_xlabel().startswith("violation")
    plt.close("all")


# -------------------------------------------------------- inferred groups
def test_inferred_groups_one_hot_equals_predict():
    s, y, a = _data(2000, seed=11, groups=3)
    gt = GroupThresholds(constraint="equal_opportunity", random_state=3).fit(s, y, sensitive_features=a)
    onehot = np.eye(3)[a]
    np.testing.assert_array_equal(gt.predict_proba_inferred(s, group_proba=onehot),
                                  gt.predict_proba(s, sensitive_features=a))
    df = pd.DataFrame(onehot[:, ::-1], columns=[2, 1, 0])  # matched by label, not position
    np.testing.assert_array_equal(gt.predict_proba_inferred(s, group_proba=df)[:, 1],
                                  gt.predict_proba(s, sensitive_features=a)[:, 1])
    full = gt.predict_inferred(s, group_proba=onehot)
    parts = [gt.predict_inferred(s[i:i + 300], group_proba=onehot[i:i + 300], row_offset=i)
             for i in range(0, s.size, 300)]
    np.testing.assert_array_equal(np.concatenate(parts), full)
    cost = misassignment_cost(gt, s, y, sensitive_features=a, group_proba=onehot)
    assert cost.loc["inferred (soft)", "utility"] == pytest.approx(cost.loc["true groups", "utility"])


def test_misassignment_cost_reported():
    s, y, a = _data(4000, seed=12)
    gt = GroupThresholds(constraint="demographic_parity").fit(s, y, sensitive_features=a)
    rng = np.random.default_rng(0)
    right = rng.uniform(size=s.size) < 0.8  # an 80%-accurate group classifier
    guess = np.where(right, a, 1 - a)
    proba = np.c_[np.where(guess == 0, 0.8, 0.2), np.where(guess == 0, 0.2, 0.8)]
    cost = misassignment_cost(gt, s, y, sensitive_features=a, group_proba=proba)
    assert cost.loc["inferred (argmax)", "group_accuracy"] == pytest.approx(right.mean())
    assert cost.loc["true groups", "violation"] < 1e-9
    assert cost.loc["inferred (argmax)", "violation"] > 0.01  # misassignment breaks parity
    with pytest.raises(ValueError, match="group_proba must have shape"):
        gt.predict_proba_inferred(s, group_proba=proba[:, :1])
    with pytest.raises(ValueError, match="sum to 1"):
        gt.predict_proba_inferred(s, group_proba=proba * 2)
    with pytest.raises(ValueError, match="no column for the fitted groups"):
        gt.predict_proba_inferred(s, group_proba=pd.DataFrame(proba, columns=["a", "b"]))


# ------------------------------------------------------------- many groups
def _many_groups(G, rows=4, seed=0):
    rng = np.random.default_rng(seed)
    a = np.repeat(np.arange(G), rows)
    s = rng.uniform(size=a.size)
    y = np.tile([1, 0] + [0] * (rows - 2), G)
    y[rng.uniform(size=a.size) < 0.3] = 1
    y[::rows] = 1
    y[1::rows] = 0
    return s, y, a


MANY = [("demographic_parity", {}), ("equal_opportunity", {}), ("false_positive_rate_parity", {}),
        ("equalized_odds", {}), ("equalized_odds", {"mode": "mixing"}), ("predictive_parity", {"tolerance": 1.0}),
        ("negative_predictive_value_parity", {"tolerance": 1.0}), ("accuracy_parity", {"tolerance": 0.5}),
        ([("selection_rate", "ratio", 0.8)], {}), ([("recall", "minimum", 0.5)], {}),
        ("demographic_parity", {"tolerance": 0.1})]


@pytest.mark.parametrize(("constraint", "params"), MANY)
def test_many_small_groups(constraint, params):
    """The light variant of benchmarks/bench_thresholds_scale.py (10,000 groups): 2,000
    groups of 4 rows, every constraint."""
    s, y, a = _many_groups(2000)
    gt = GroupThresholds(constraint=constraint, **params).fit(s, y, sensitive_features=a)
    assert len(gt.groups_) == 2000
    assert bool(gt.constraints_["met"].all())


def test_window_search_refuses_before_work_when_too_large(monkeypatch):
    s, y, a = _many_groups(300, rows=6)
    monkeypatch.setattr(solvers, "WORK_LIMIT", 1000.0)
    with pytest.raises(ValueError, match=r"couples all groups \(\d+ distinct\) .* limit"):
        GroupThresholds(constraint="demographic_parity", tolerance=0.1).fit(s, y, sensitive_features=a)


# ------------------------------------------------------------- model files
@pytest.mark.parametrize(("constraint", "params"), [
    ([("selection_rate", "ratio", 0.8), ("recall", "minimum", 0.5)], {}),
    ("equalized_odds", {"tolerance": 0.05}),
    ("equalized_odds", {"mode": "mixing"}),
    ("accuracy_parity", {"tolerance": 0.02, "n_bootstrap": 5, "objective": "f1"}),
])
def test_layout2_roundtrip(tmp_path, constraint, params):
    s, y, a = _data(1500, seed=13, groups=3)
    gt = GroupThresholds(constraint=constraint, random_state=4, **params).fit(s, y, sensitive_features=a)
    gt.save(tmp_path / "m.ffm")
    back = fairfast.load(tmp_path / "m.ffm")
    np.testing.assert_array_equal(back.predict(s, sensitive_features=a), gt.predict(s, sensitive_features=a))
    pd.testing.assert_frame_equal(back.operating_points_, gt.operating_points_)
    pd.testing.assert_frame_equal(back.constraints_, gt.constraints_)
    assert back.cherry_picking_ == gt.cherry_picking_ and back.holdout_ == gt.holdout_
    assert back.get_params() == gt.get_params()
    assert (back.solver_, back.optimality_gap_, back.utility_) == (gt.solver_, gt.optimality_gap_, gt.utility_)
