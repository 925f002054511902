"""GroupReport and the bootstrap: agreement with fairlearn, determinism, schemes, output."""

import json

import numpy as np
import pandas as pd
import pytest
from scipy import stats

import fairfast
from fairfast import _core
from fairfast import metrics as fm

fl = pytest.importorskip("fairlearn.metrics")


def _data(seed, n=500, weighted=False):
    rng = np.random.default_rng(seed)
    a = rng.choice(np.array(["p", "q", "r"]), n, p=[0.5, 0.3, 0.2])
    y = (rng.random(n) < np.where(a == "p", 0.3, 0.5)).astype(int)
    s = np.clip(0.5 * y + 0.5 * rng.random(n), 0, 1)
    p = (s > 0.5).astype(int)
    w = rng.random(n) + 0.5 if weighted else None
    return y, p, a, s, w


@pytest.mark.parametrize("weighted", [False, True])
def test_report_matches_fairlearn_metricframe(weighted):
    y, p, a, s, w = _data(0, weighted=weighted)
    names = {"selection_rate": fl.selection_rate, "true_positive_rate": fl.true_positive_rate,
             "false_positive_rate": fl.false_positive_rate}
    mf = fl.MetricFrame(metrics=names, y_true=y, y_pred=p, sensitive_features=a,
                        sample_params={k: {"sample_weight": w} for k in names})
    r = fm.GroupReport(y, p, sensitive_features=a, sample_weight=w, metrics=list(names))
    pd.testing.assert_frame_equal(r.by_group, mf.by_group.astype(float), check_names=False, atol=1e-12)
    pd.testing.assert_series_equal(r.overall, mf.overall.astype(float), check_names=False, atol=1e-12)
    for method in ("between_groups", "to_overall"):
        pd.testing.assert_series_equal(r.difference(method), mf.difference(method=method), check_names=False,
                                       atol=1e-12)
        pd.testing.assert_series_equal(r.ratio(method), mf.ratio(method=method), check_names=False, atol=1e-12)
    pd.testing.assert_series_equal(r.group_min(), mf.group_min(), check_names=False)
    pd.testing.assert_series_equal(r.group_max(), mf.group_max(), check_names=False)
    assert r.disparities()["equalized_odds_difference"] == pytest.approx(
        fl.equalized_odds_difference(y, p, sensitive_features=a, sample_weight=w))


def test_custom_callable_in_report():
    from sklearn.metrics import recall_score

    y, p, a, _, _ = _data(1)
    r = fm.GroupReport(y, p, sensitive_features=a, metrics={"tpr": "tpr", "recall": recall_score})
    np.testing.assert_allclose(r.by_group["tpr"], r.by_group["recall"].astype(float))
    assert r.overall["recall"] == pytest.approx(recall_score(y, p))


@pytest.mark.parametrize("scores", [False, True])
def test_bootstrap_is_thread_invariant_and_seeded(scores):
    y, p, a, s, w = _data(2, n=20_000)
    kw = {"scores": s} if scores else {}
    reps = 200 if scores else 1000  # enough work for a second thread in both schemes
    with fairfast.thread_limit(1):
        one = fm.GroupReport(y, p, sensitive_features=a, **kw).bootstrap(reps, random_state=7)
    with fairfast.thread_limit(2):
        two = fm.GroupReport(y, p, sensitive_features=a, **kw).bootstrap(reps, random_state=7)
    other = fm.GroupReport(y, p, sensitive_features=a, **kw).bootstrap(reps, random_state=8)
    assert one.scheme == ("index" if scores else "multinomial")
    for k in one.replicates:
        np.testing.assert_array_equal(one.replicates[k], two.replicates[k])
    assert not np.array_equal(one.replicates["selection_rate"], other.replicates["selection_rate"])


def test_multinomial_and_index_schemes_agree_in_distribution():
    y, p, a, s, _ = _data(3, n=3000)
    r = fm.GroupReport(y, p, sensitive_features=a, metrics=["selection_rate", "tpr"])
    sums = r._sums
    inputs = r._inputs
    from fairfast.metrics._bootstrap import bootstrap_sums

    multi = bootstrap_sums(inputs, sums, 4000, 11)
    codes = inputs.groups.compact_codes()
    index = _core.metrics.index_bootstrap(codes, len(inputs.groups.present), inputs.y_true, inputs.y_pred, None,
                                          None, 0, 4000, 11)
    # group sizes are fixed by stratification in both schemes
    np.testing.assert_array_equal(multi[..., 0], np.broadcast_to(sums[:, 0], multi[..., 0].shape))
    np.testing.assert_array_equal(index[..., 0], np.broadcast_to(sums[:, 0], index[..., 0].shape))
    for g in range(3):
        for cell in range(2, 6):
            # same mean and variance as Multinomial(n_g, cells / n_g)
            n_g = sums[g, 0]
            q = sums[g, cell] / n_g
            for draws in (multi[:, g, cell], index[:, g, cell]):
                assert draws.mean() == pytest.approx(n_g * q, abs=5 * np.sqrt(n_g * q * (1 - q) / 4000) + 1e-9)
                assert draws.var() == pytest.approx(n_g * q * (1 - q), rel=0.12, abs=1e-9)
            ks = stats.ks_2samp(multi[:, g, cell], index[:, g, cell])
            assert ks.pvalue > 1e-3


@pytest.mark.parametrize("n,p", [(7, 0.3), (50, 0.1), (1000, 0.5), (10**6, 0.37), (10**5, 0.9999)])
def test_binomial_sampler_matches_scipy(n, p):
    # a multinomial over the two cells of one stratum of n rows is Binomial(n, q)
    counts = np.array([[int(round(n * p)), n - int(round(n * p))]], dtype=np.int64)
    q = counts[0, 0] / n
    draws = _core.metrics.multinomial_bootstrap(counts, 20_000, 3)[:, 0, 0]
    assert draws.min() >= 0 and draws.max() <= n
    lo, hi = stats.binom.ppf([0.001, 0.999], n, q)
    edges = np.unique(np.r_[-0.5, np.arange(lo, hi + 1) + 0.5, n + 0.5])
    if len(edges) > 60:
        edges = np.unique(np.r_[-0.5, stats.binom.ppf(np.linspace(0.01, 0.99, 40), n, q) + 0.5, n + 0.5])
    observed, _ = np.histogram(draws, edges)
    expected = np.diff(stats.binom.cdf(edges, n, q)) * draws.size
    keep = expected > 5
    chi2 = ((observed[keep] - expected[keep]) ** 2 / expected[keep]).sum()
    assert stats.chi2.sf(chi2, keep.sum() - 1) > 1e-4


def test_bootstrap_disparity_interval_and_errors():
    y, p, a, _, _ = _data(4, n=4000)
    est, low, high, reps = fm.bootstrap_disparity("equalized_odds_difference", y, p, sensitive_features=a,
                                                  n_replicates=500, random_state=0)
    assert est == pytest.approx(fl.equalized_odds_difference(y, p, sensitive_features=a))
    assert low <= est <= high and reps.shape == (500,)
    assert np.quantile(reps, 0.025) == pytest.approx(low)
    with pytest.raises(ValueError, match="disparity must be one of"):
        fm.bootstrap_disparity("parity", y, p, sensitive_features=a)
    with pytest.raises(ValueError, match="n_replicates must be a positive int"):
        fm.bootstrap_disparity("demographic_parity_ratio", y, p, sensitive_features=a, n_replicates=0)
    with pytest.raises(ValueError, match="confidence_level"):
        fm.bootstrap_disparity("demographic_parity_ratio", y, p, sensitive_features=a, confidence_level=1.5)


def test_bootstrap_coverage_of_a_known_rate():
    # A single group: the 90% interval of the selection rate covers the truth about 90% of the time.
    rng = np.random.default_rng(5)
    hits = 0
    for rep in range(200):
        p = (rng.random(400) < 0.3).astype(int)
        r = fm.GroupReport(None, p, sensitive_features=np.zeros(400, dtype=int), metrics=["selection_rate"])
        b = r.bootstrap(300, confidence_level=0.9, random_state=rep)
        hits += b.by_group_low.iloc[0, 0] <= 0.3 <= b.by_group_high.iloc[0, 0]
    assert 0.83 <= hits / 200 <= 0.96


def test_output_text_json_and_weighted_bootstrap():
    y, p, a, s, w = _data(6, weighted=True)
    r = fm.GroupReport(y, p, sensitive_features={"grp": a}, scores=s, sample_weight=w)
    b = r.bootstrap(100, random_state=1)
    assert b.scheme == "index"
    assert (b.by_group_low.drop(columns="count") <= r.by_group.drop(columns="count") + 1e-12).all().all()
    d = json.loads(r.to_json())
    assert d["groups"] == ["p", "q", "r"] and d["sensitive_features"] == ["grp"]
    assert d["by_group"]["accuracy"][0] == pytest.approx(r.by_group["accuracy"].iloc[0])
    assert d["bootstrap"]["disparities"]["between_groups"]["demographic_parity_difference"]["low"] is not None
    text = r.to_text()
    assert "demographic_parity_difference" in text and "(overall)" in text and "[" in text


def test_plots(tmp_path):
    pytest.importorskip("matplotlib")
    y, p, a, s, _ = _data(7)
    before = fm.GroupReport(y, p, sensitive_features=a, scores=s)
    before.bootstrap(50, random_state=0)
    after = fm.GroupReport(y, (s > 0.6).astype(int), sensitive_features=a)
    fig = before.plot_bars(["selection_rate", "accuracy"])
    assert len(fig.axes) == 2
    assert len(before.plot_score_cdfs().axes[0].lines) == 3
    fig = before.plot_comparison(after, "selection_rate")
    fig.savefig(tmp_path / "cmp.png")
    assert (tmp_path / "cmp.png").stat().st_size > 1000
    assert "data:image/png;base64" in before.to_html()
    with pytest.raises(ValueError, match="needs scores"):
        after.plot_score_cdfs()


def test_by_feature_marginalises_intersections():
    y, p, a, s, w = _data(8, weighted=True)
    b = np.random.default_rng(0).integers(0, 3, len(y))
    r = fm.GroupReport(y, p, sensitive_features={"a": a, "b": b}, scores=s, sample_weight=w, min_group_size=20)
    for name, col in (("a", a), ("b", b)):
        direct = fm.GroupReport(y, p, sensitive_features={name: col}, scores=s, sample_weight=w).by_group
        pd.testing.assert_frame_equal(r.by_feature(name), direct, atol=1e-12, check_index_type=False)
    with pytest.raises(ValueError, match="name must be one of the sensitive columns"):
        r.by_feature("c")
