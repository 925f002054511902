"""Small slice of examples/thresholds_vs_oxonfair.py (the full run: 20 seeds, minutes per
OxonFair fit at 5 groups) and of examples/thresholds_frontier.py."""

import importlib.util
from pathlib import Path

import numpy as np
import pytest

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


def _module(name):
    spec = importlib.util.spec_from_file_location(name, EXAMPLES / f"{name}.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def test_comparison_slice_with_oxonfair():
    pytest.importorskip("oxonfair")
    cmp = _module("thresholds_vs_oxonfair")
    methods = ["oxonfair", "fairfast", "fairfast_exact", "fairfast_matched", "frontier"]
    res = cmp.run(1, ["adult-sex"], methods, cache=None, log=lambda *_: None, grid=(0.0, 0.02, 0.1),
                  points=4)
    df, front = res
    assert len(df) == 3 * 4 and set(df["method"]) == set(methods) - {"frontier"}
    assert (df["accuracy"] > 0.7).all() and (df["violation"] >= 0).all()
    wide = df.set_index(["constraint", "method"])
    for c in cmp.CONSTRAINTS:  # matched: OxonFair's fit-data violation as the tolerance, so no worse on the fit rows
        ox, ff = wide.loc[(c, "oxonfair")], wide.loc[(c, "fairfast_matched")]
        assert ff["fit_violation"] <= ox["fit_violation"] + 1e-9
        assert ff["fit_accuracy"] >= ox["fit_accuracy"] - 1e-9
        pts = front[(front["constraint"] == c) & (front["method"] == "oxonfair")]
        # OxonFair's chosen rule is one point of its frontier
        assert np.isclose(pts["accuracy"], ox["accuracy"]).any() and (pts["fit_violation"] >= 0).all()
    assert set(front["method"]) == {"oxonfair", "fairfast_grid", "fairfast_matched"}
    assert (front.loc[front["method"] == "fairfast_grid", "fit_violation"]
            <= front.loc[front["method"] == "fairfast_grid", "tolerance"] + 1e-9).all()
    rep = _module("thresholds_vs_oxonfair_report")
    table = rep.paired(df, "fairfast")
    assert list(table.index.get_level_values("constraint")) == list(cmp.CONSTRAINTS)
    along = rep.along_frontier(front)
    assert along["fit: points less accurate"].str.startswith("0 of").all()
    text = rep.report(res, md=True)
    assert "same fit-data violation" in text and "Test-split frontier" in text and "| adult-sex |" in text
    assert "Verdict" in text and "noise floor" in text and "frontier area" in text


def test_timing_mode_pairs_each_oxonfair_fit_with_fairfast_fits(tmp_path):
    pytest.importorskip("oxonfair")
    cmp = _module("thresholds_vs_oxonfair")
    path = tmp_path / "timing.csv"
    rows = cmp.timing([0], ["adult-sex"], str(path), repeats=2, log=lambda *_: None)
    assert list(rows.columns) == cmp.TIMING_COLUMNS and len(rows) == len(cmp.CONSTRAINTS)
    assert (rows[["oxonfair_s", "fairfast_first_s", "fairfast_median_s"]] > 0).all().all()
    table = _module("thresholds_vs_oxonfair_report").timing_table(rows, md=True)
    assert "| adult-sex | demographic_parity | 2 | 1 |" in table and "ratio_min" in table
    more = cmp.timing([1], ["adult-sex"], str(path), repeats=1, log=lambda *_: None)  # appended
    assert len(more) == 2 * len(cmp.CONSTRAINTS)
    assert cmp.timing_path("results/x.csv") == "results/x_timing.csv"


def test_frontier_area_matches_a_dense_grid():
    rep = _module("thresholds_vs_oxonfair_report")
    rng = np.random.default_rng(0)
    for _ in range(50):
        n = int(rng.integers(1, 8))
        v, a = rng.uniform(0, 0.3, n), rng.uniform(0.5, 0.9, n)
        vmax, aref, vmin = 0.2, 0.6, float(rng.choice([0.0, 0.05]))
        u = np.linspace(vmin, vmax, 200001)[:-1] + (vmax - vmin) / 400000  # midpoints
        best = np.array([a[v <= x].max() if (v <= x).any() else aref for x in u[::100]])
        dense = np.mean(np.maximum(best - aref, 0))
        assert abs(rep.area(v, a, vmax, aref, vmin) - dense) < 2e-3


def test_noise_floor_of_two_equal_groups():
    rep = _module("thresholds_vs_oxonfair_report")
    # two groups of n at rate p: E|X/n - Y/n| ~ sqrt(2 p (1-p) / n) * sqrt(2 / pi)
    n, p = 400, 0.3
    assert rep.noise_floor([n, n], p) == pytest.approx(np.sqrt(2 * p * (1 - p) / n) * np.sqrt(2 / np.pi), rel=0.05)


def test_comparison_cache_resumes(tmp_path):
    cmp = _module("thresholds_vs_oxonfair")
    cache = tmp_path / "rows.csv"
    first = cmp.run(1, ["compas-race"], ["fairfast_exact"], cache=str(cache), log=lambda *_: None).rows
    calls = []
    again = cmp.run(1, ["compas-race"], ["fairfast_exact"], cache=str(cache), log=calls.append).rows
    assert not calls  # nothing refitted
    np.testing.assert_allclose(again.sort_values("constraint")["accuracy"].to_numpy(),
                               first.sort_values("constraint")["accuracy"].to_numpy())


def test_comparison_cache_keeps_the_last_frontier(tmp_path):
    cmp = _module("thresholds_vs_oxonfair")
    cache = str(tmp_path / "rows.csv")
    base = {"dataset": "compas-race", "constraint": "demographic_parity", "seed": 0, "method": "oxonfair",
            "tolerance": np.nan, "fit_accuracy": 0.6, "fit_violation": 0.0, "violation": 0.0}
    cmp._append(cmp.frontier_path(cache), [{**base, "accuracy": a} for a in (0.1, 0.2, 0.3)], cmp.FRONTIER_COLUMNS)
    cmp._append(cmp.frontier_path(cache), [{**base, "accuracy": a} for a in (0.4, 0.5)], cmp.FRONTIER_COLUMNS)
    front = cmp.run(1, ["compas-race"], ["oxonfair"], cache=cache, fit=False).frontier
    assert sorted(front["accuracy"]) == [0.4, 0.5]  # a refit replaces the points of its key


def test_frontier_example_slice():
    fr = _module("thresholds_frontier")
    out = fr.frontier(seed=1, n_bootstrap=5)
    assert len(out) == len(fr.TOLERANCES)
    assert (out["fit_violation"] <= out["tolerance"] + 1e-9).all()
    assert out["test_accuracy"].between(0.55, 0.8).all()


def test_docs_show_the_stored_comparison():
    """docs/thresholds.md shows what ``--cached --seeds 20 --markdown`` prints from the
    stored rows (examples/results/), between its two markers."""
    cmp = _module("thresholds_vs_oxonfair")
    res = cmp.run(20, list(cmp.DATASETS), list(cmp.METHODS), cmp.DEFAULT_CACHE, fit=False)
    printed = cmp.full_report(res, cmp.DEFAULT_CACHE, md=True)
    doc = (EXAMPLES.parent / "docs" / "thresholds.md").read_text()
    start, end = "<!-- thresholds_vs_oxonfair --cached: start -->", "<!-- thresholds_vs_oxonfair --cached: end -->"
    assert start in doc and end in doc
    shown = doc.split(start)[1].split(end)[0]
    assert [line.rstrip() for line in shown.strip().splitlines()] == \
        [line.rstrip() for line in printed.strip().splitlines()]
