"""Group metrics at the edges of the number range (issue: hardening, items 1, 4, 5):
the calibration bin count is capped with a clear error, and weights or scores whose
sums overflow give the correct finite metrics."""

import subprocess
import sys

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from fairfast import _core
from fairfast.metrics import GroupReport, demographic_parity_difference, group_metrics
from fairfast.metrics._group_metrics import MAX_N_BINS

Y, P, S, G = [0, 1, 1, 0], [0, 1, 0, 1], [0.1, 0.9, 0.4, 0.6], [0, 0, 1, 1]


@pytest.mark.parametrize("n_bins", [0, -1, MAX_N_BINS + 1, 10**8, 10**9, 1431655765, 2**40])
def test_n_bins_out_of_range_is_a_value_error_naming_it(n_bins):
    with pytest.raises(ValueError, match=rf"n_bins must lie in \[1, {MAX_N_BINS}\], got {n_bins}"):
        group_metrics(Y, P, scores=S, sensitive_features=G, n_bins=n_bins)
    with pytest.raises(ValueError, match="n_bins must lie in"):
        GroupReport(Y, P, scores=S, sensitive_features=G, n_bins=n_bins)


@pytest.mark.parametrize("n_bins", [1.5, "10", True, None])
def test_n_bins_of_another_type_is_a_type_error(n_bins):
    with pytest.raises(TypeError, match="n_bins must be an int"):
        group_metrics(Y, P, scores=S, sensitive_features=G, n_bins=n_bins)


def test_largest_n_bins_works_and_matches_a_brute_force_ece():
    scores = np.array(S)
    got = group_metrics(Y, P, scores=scores, sensitive_features=G, n_bins=MAX_N_BINS,
                        metrics=["calibration_error"])["calibration_error"]
    # with bins this narrow every row has its own bin: the ECE is mean |y - s| per group
    want = [np.mean(np.abs(np.array(Y[:2]) - scores[:2])), np.mean(np.abs(np.array(Y[2:]) - scores[2:]))]
    np.testing.assert_allclose(got.to_numpy(), want, rtol=1e-12)


def test_kernel_rechecks_n_bins_and_table_sizes_without_crashing(tmp_path):
    # In a subprocess: before the cap, n_bins = 1431655765 overflowed 7 + 3 n_bins (SIGSEGV).
    code = """
import numpy as np
from fairfast import _core
codes = np.array([0, 0, 1, 1], dtype=np.int32)
y = np.array([0, 1, 1, 0], dtype=np.uint8)
s = np.array([0.1, 0.9, 0.4, 0.6])
for n_bins in (1431655765, 10**8, 10**9, 2**40, -1):
    try:
        _core.metrics.group_sums(codes, 2, y, y, s, None, n_bins)
    except (ValueError, TypeError) as e:
        print(type(e).__name__, e)
    else:
        raise SystemExit("accepted n_bins=%d" % n_bins)
try:
    _core.metrics.index_bootstrap(codes, 2, y, y, s, None, 10, 2**62, 0)
except ValueError as e:
    print("ValueError", e)
"""
    # away from the checkout: python -c puts the working directory first on sys.path
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, cwd=tmp_path)
    assert r.returncode == 0, r.stderr[-2000:]
    lines = r.stdout.splitlines()
    assert len(lines) == 6 and all(line.startswith(("ValueError", "TypeError")) for line in lines), lines
    assert "n_bins must lie in [0, 10000]" in r.stdout and "2**62 bytes" in r.stdout


def test_audit_bins_out_of_range_is_a_clear_cli_error(tmp_path):
    csv = tmp_path / "a.csv"
    csv.write_text("label,score,g\n0,0.1,a\n1,0.9,a\n1,0.4,b\n0,0.6,b\n")
    r = subprocess.run([sys.executable, "-m", "fairfast", "audit", str(csv), "--sensitive", "g", "--label", "label",
                        "--score", "score", "--threshold", "0.5", "--bins", "1431655765", "-q", "--no-plots"],
                       capture_output=True, text=True, timeout=120, cwd=tmp_path)
    assert r.returncode != 0
    assert "--bins must lie in [1, 10000], got 1431655765" in r.stderr
    assert "Traceback" not in r.stderr


def test_issue_example_weights_of_1e308():
    got = group_metrics(Y, P, sensitive_features=G, sample_weight=[1e308] * 4)
    want = group_metrics(Y, P, sensitive_features=G, sample_weight=[1.0] * 4)
    assert np.isfinite(got.to_numpy(dtype=float)).all()
    pd_testing = pytest.importorskip("pandas.testing")
    pd_testing.assert_frame_equal(got, want)
    assert demographic_parity_difference(Y, P, sensitive_features=G, sample_weight=[1e308] * 4) == 0.0


@settings(max_examples=15, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 1), st.integers(0, 1), st.integers(0, 2), st.integers(1, 9),
                          st.floats(0, 1)), min_size=1, max_size=30),
       st.sampled_from([2.0**1000, 2.0**1023, 1e308]))
def test_huge_weights_give_the_metrics_of_the_small_ones(rows, big):
    y, p, g, w, s = (np.array(c) for c in zip(*rows))
    w = w.astype(np.float64)
    small = GroupReport(y, p, sensitive_features=g, scores=s, sample_weight=w, n_bins=5, min_group_size=0)
    huge = GroupReport(y, p, sensitive_features=g, scores=s, sample_weight=w / 9.0 * big, n_bins=5,
                       min_group_size=0)
    got, want = huge.by_group.to_numpy(dtype=float), small.by_group.to_numpy(dtype=float)
    assert np.isfinite(got).all()
    np.testing.assert_allclose(got, want, rtol=1e-13, atol=1e-15)
    reps = huge.bootstrap(n_replicates=20, random_state=0).replicates
    assert all(np.isfinite(v).all() for v in reps.values())


def test_mean_score_of_huge_scores_is_finite():
    got = group_metrics(scores=[1e308] * 4, sensitive_features=G, metrics=["mean_score"])["mean_score"]
    np.testing.assert_array_equal(got.to_numpy(), [1e308, 1e308])
    mixed = np.array([1.5e308, 1.2e308, -0.1e308, 0.05e308])  # replicate means differ by < 1.797e308
    got = group_metrics(scores=mixed, sensitive_features=G, sample_weight=[1.0, 3.0, 1.0, 1.0],
                        metrics=["mean_score"])["mean_score"]
    np.testing.assert_allclose(got.to_numpy(), [(1.5e308 / 4 + 3 * (1.2e308 / 4)), -0.025e308], rtol=1e-14)
    report = GroupReport(scores=mixed, sensitive_features=G, metrics=["mean_score"], min_group_size=0)
    np.testing.assert_allclose(report.overall["mean_score"], 1.5e308 / 4 + 1.2e308 / 4 - 0.1e308 / 4 + 0.05e308 / 4,
                               rtol=1e-14)
    reps = report.bootstrap(n_replicates=30, random_state=0).replicates["mean_score"]
    assert np.isfinite(reps).all() and (np.abs(reps) <= 1.5e308).all()


@settings(max_examples=25, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 2), st.floats(-1e3, 1e3)), min_size=1, max_size=20),
       st.sampled_from([990, 1000, 1013]))  # |s| * 2**k stays below the largest double
def test_mean_score_is_homogeneous_up_to_the_largest_double(rows, k):
    g, s = (np.array(c) for c in zip(*rows))
    want = group_metrics(scores=s, sensitive_features=g, metrics=["mean_score"])["mean_score"].to_numpy()
    got = group_metrics(scores=np.ldexp(s, k), sensitive_features=g, metrics=["mean_score"])["mean_score"].to_numpy()
    assert np.isfinite(got).all()
    np.testing.assert_allclose(got, np.ldexp(want, k), rtol=1e-12, atol=np.ldexp(1e-12, k))


def test_direct_kernel_call_keeps_its_argument_checks():
    codes = np.zeros(3, dtype=np.int32)
    with pytest.raises(ValueError, match="n_bins must lie in"):
        _core.metrics.group_sums(codes, 1, None, None, None, None, MAX_N_BINS + 1)
