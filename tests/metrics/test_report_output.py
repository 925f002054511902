"""GroupReport output: text within 100 columns, standalone HTML, atomic writes, AUC by group
(against scikit-learn and an O(n^2) DeLong reference), plots, chunked bootstrap."""

import io
import os

import numpy as np
import pandas as pd
import pytest

from fairfast import _core
from fairfast.metrics import GroupReport, unfairness
from fairfast._base.atomic import write_text_atomic
from fairfast.metrics._report_output import NO_PREDICTIONS_NOTE, wrap_table
from fairfast.metrics._score_audit import delong_auc


def _twelve_groups(seed=0, n=4000):
    rng = np.random.default_rng(seed)
    g = rng.integers(0, 12, n)
    names = np.array([f"group number {k:02d} & more" for k in range(12)], dtype=object)
    y = rng.integers(0, 2, n)
    s = np.clip(0.25 * y + 0.05 * g / 12 + 0.7 * rng.random(n), 0, 1)
    return y, s, names[g]


def test_text_fits_100_columns_and_wraps_by_metric():
    y, s, g = _twelve_groups()
    r = GroupReport(y, sensitive_features=g, scores=s, threshold=0.5)
    r.bootstrap(100, random_state=0)
    text = r.to_text()
    assert max(len(line) for line in text.splitlines()) <= 100
    headers = [line for line in text.splitlines() if "selection_rate" in line or "error_rate" in line]
    assert len(headers) == 2  # the metrics are spread over several blocks
    # every block lists every group and the overall row
    rows = [line for line in text.splitlines() if line.startswith("group number 03 & more")]
    assert len(rows) >= 4  # in each block of metrics (at least 3 of them) and in the AUC table
    assert "(overall)" in text and "AUC of the score by group" in text and "ks_unfairness" in text
    assert max(len(line) for line in r.to_text(width=140).splitlines()) <= 140


def test_wrap_table_keeps_rows_aligned():
    lines = wrap_table(["a", "bbb"], [("x", ["1", "22"]), ("long_name", ["3", "4"]), ("z", ["5", "6"])], width=18)
    assert lines == ["      x  long_name", "a     1          3", "bbb  22          4", "",
                     "     z", "a    5", "bbb  6"]


def test_scores_without_a_threshold_explain_what_is_shown():
    y, s, g = _twelve_groups()
    r = GroupReport(y, sensitive_features=g, scores=s)
    text = r.to_text(width=100)
    assert "No predicted labels" in text and "--threshold T" in text
    assert "selection_rate" not in text and "calibration_error" in text and "ks_unfairness" in text
    assert r.to_dict()["notes"] == [NO_PREDICTIONS_NOTE]


def test_html_is_standalone_and_its_tables_parse():
    pytest.importorskip("matplotlib")
    pytest.importorskip("lxml")
    y, s, g = _twelve_groups()
    r = GroupReport(y, sensitive_features=g, scores=s, threshold=0.5, metrics=["count", "selection_rate", "tpr"])
    r.bootstrap(50, random_state=0)
    page = r.to_html(title="T & <x>", details={"input": "scored.parquet"})
    assert page.startswith("<!doctype html>") and "<script" not in page and "http" not in page
    assert "T &amp; &lt;x&gt;" in page and page.count("data:image/png;base64,") == 1
    tables = pd.read_html(io.StringIO(page))
    by_group = next(t for t in tables if "selection rate" in t.columns).set_index("group")
    assert by_group.loc["group number 00 & more", "count"] == r.by_group["count"].iloc[0]
    cell = by_group.loc["group number 00 & more", "selection rate"]
    est, low = r.by_group["selection_rate"].iloc[0], r.bootstrap_.by_group_low["selection_rate"].iloc[0]
    assert cell.startswith(f"{est:.3f} [{low:.3f}, ")
    disp = next(t for t in tables if "between groups low" in t.columns).set_index("disparity")
    assert disp.loc["demographic_parity_difference", "between groups"] == pytest.approx(
        r.disparities()["demographic_parity_difference"], abs=5e-4)
    scores = next(t for t in tables if "between" in t.columns).set_index("disparity")
    assert scores.loc["ks_unfairness", "value"] == pytest.approx(unfairness(s, sensitive_features=g), abs=5e-4)
    auc = next(t for t in tables if "AUC" in t.columns).set_index("group")
    assert auc.loc["(overall)", "AUC"].startswith(f"{delong_auc(y, s)[0]:.3f} [")
    assert "<img" not in r.to_html(plots=False)


def test_writes_are_atomic(tmp_path):
    target = tmp_path / "report.json"
    target.write_text("old")
    with pytest.raises(TypeError):
        write_text_atomic(target, 123)  # fails while writing
    assert target.read_text() == "old" and os.listdir(tmp_path) == ["report.json"]
    r = GroupReport([1, 0, 1, 0], [1, 0, 0, 0], sensitive_features=["a", "a", "b", "b"], min_group_size=0)
    r.to_json(target)
    assert '"groups"' in target.read_text() and os.listdir(tmp_path) == ["report.json"]
    with pytest.raises(FileNotFoundError, match="does not exist"):
        r.to_html(tmp_path / "missing" / "r.html", plots=False)


def _delong_reference(y, s):
    """DeLong's structural components by their O(n^2) definition."""
    pos, neg = s[y == 1], s[y == 0]
    psi = (pos[:, None] > neg[None, :]) + 0.5 * (pos[:, None] == neg[None, :])
    v10, v01 = psi.mean(axis=1), psi.mean(axis=0)
    auc = psi.mean()
    var = v10.var(ddof=1) / pos.size + v01.var(ddof=1) / neg.size
    return auc, var


@pytest.mark.parametrize("seed", range(4))
def test_auc_matches_sklearn_and_the_delong_reference(seed):
    from scipy.stats import norm
    from sklearn.metrics import roc_auc_score

    rng = np.random.default_rng(seed)
    n = 300
    y = rng.integers(0, 2, n)
    s = np.round(rng.normal(y * 0.8, 1.0), 1)  # many ties
    auc, low, high = delong_auc(y, s)
    ref_auc, ref_var = _delong_reference(y, s)
    assert auc == pytest.approx(roc_auc_score(y, s)) and auc == pytest.approx(ref_auc)
    half = norm.ppf(0.975) * np.sqrt(ref_var)
    assert (low, high) == pytest.approx((max(0, ref_auc - half), min(1, ref_auc + half)))
    w = rng.random(n) + 0.2
    wa, wl, wh = delong_auc(y, s, w)
    assert wa == pytest.approx(roc_auc_score(y, s, sample_weight=w)) and np.isnan(wl) and np.isnan(wh)
    assert np.isnan(delong_auc(np.ones(5), s[:5])[0])


def test_auc_by_group_is_the_auc_within_each_group():
    from sklearn.metrics import roc_auc_score

    y, s, g = _twelve_groups(3)
    r = GroupReport(y, sensitive_features=g, scores=s)
    auc = r.auc_by_group()
    for name in ["group number 00 & more", "group number 07 & more"]:
        m = g == name
        assert auc.loc[name, "auc"] == pytest.approx(roc_auc_score(y[m], s[m]))
    assert auc.loc["(overall)", "auc"] == pytest.approx(roc_auc_score(y, s))
    with pytest.raises(ValueError, match="needs y_true and scores"):
        GroupReport(None, y, sensitive_features=g).auc_by_group()


def test_a_group_with_one_class_has_no_auc_and_says_why():
    y = np.array([0, 1, 0, 1, 1, 1])
    s = np.array([0.2, 0.7, 0.4, 0.9, 0.6, 0.8])
    g = np.array(["a", "a", "a", "a", "b", "b"])
    r = GroupReport(y, sensitive_features=g, scores=s, min_group_size=0)
    assert np.isnan(r.auc_by_group().loc["b", "auc"])
    text = r.to_text()
    assert "n/a (one class)" in text and "nan" not in text.split("AUC of the score")[1].split("Score-distribution")[0]
    assert "n/a (one class)" in r.to_html()


def test_score_disparities_are_unfairness_and_its_pair():
    from fairfast.metrics import pairwise_group_distances

    y, s, g = _twelve_groups(4)
    sd = GroupReport(y, sensitive_features=g, scores=s).score_disparities()
    for metric in ("ks", "w1"):
        d, labels = pairwise_group_distances(s, sensitive_features=g, metric=metric)
        a, b = np.unravel_index(np.argmax(d), d.shape)
        row = sd.loc[f"{metric}_unfairness"]
        assert row["value"] == pytest.approx(unfairness(s, sensitive_features=g, metric=metric))
        assert {row["group_a"], row["group_b"]} == {labels[a], labels[b]}


@pytest.mark.parametrize("scores", [False, True])
def test_chunked_bootstrap_with_progress_is_the_same(scores):
    y, s, g = _twelve_groups(5)
    kw = {"scores": s, "threshold": 0.5} if scores else {"y_pred": s > 0.5}
    a = GroupReport(y, sensitive_features=g, **kw)
    b = GroupReport(y, sensitive_features=g, **kw)
    done = []
    a.bootstrap(203, random_state=7)
    b.bootstrap(203, random_state=7, progress=done.append)
    assert sum(done) == 203 and len(done) > 1
    for name, reps in a.bootstrap_.replicates.items():
        np.testing.assert_array_equal(reps, b.bootstrap_.replicates[name])


def test_kernels_first_replicate_continues_the_same_stream():
    counts = np.array([[3, 4, 5, 6], [10, 0, 2, 7]], dtype=np.int64)
    whole = _core.metrics.multinomial_bootstrap(counts, 10, 3)
    parts = [_core.metrics.multinomial_bootstrap(counts, 4, 3),
             _core.metrics.multinomial_bootstrap(counts, 6, 3, first_replicate=4)]
    np.testing.assert_array_equal(whole, np.concatenate(parts))
    with pytest.raises(ValueError, match="first_replicate must be >= 0"):
        _core.metrics.multinomial_bootstrap(counts, 2, 3, first_replicate=-1)


def test_summary_plot_colours_and_legend_outside_the_cdf_panel():
    pytest.importorskip("matplotlib")
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.colors import to_hex

    y, s, g = _twelve_groups(6)
    fig = GroupReport(y, sensitive_features=g, scores=s, threshold=0.5).plot_summary()
    FigureCanvasAgg(fig).draw()
    cdf = fig.axes[-1]
    colours = {to_hex(line.get_color()) for line in cdf.get_lines()}
    assert len(cdf.get_lines()) == 12 and len(colours) == 12
    renderer = fig.canvas.get_renderer()
    legend = cdf.get_legend().get_window_extent(renderer)
    panel = cdf.get_window_extent(renderer)
    assert legend.x0 >= panel.x1  # entirely to the right of the panel
    bars = fig.axes[0]
    assert len({to_hex(p.get_facecolor()) for p in bars.patches}) == 12


def test_bootstrap_progress_bar_on_stderr(capsys):
    y, s, g = _twelve_groups(7)
    GroupReport(y, s > 0.5, sensitive_features=g).bootstrap(120, random_state=0, progress=True)
    captured = capsys.readouterr()
    assert "bootstrap: 100%" in captured.err and "120/120" in captured.err and captured.out == ""
