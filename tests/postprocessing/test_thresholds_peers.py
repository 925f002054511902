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
    df = cmp.run(1, ["adult-sex"], ["oxonfair", "fairfast", "fairfast_exact"], cache=None, log=lambda *_: None)
    assert len(df) == 3 * 3 and set(df["method"]) == {"oxonfair", "fairfast", "fairfast_exact"}
    assert (df["accuracy"] > 0.7).all() and (df["violation"] >= 0).all()
    table = cmp.paired(df, "fairfast")
    assert list(table.index.get_level_values("constraint")) == list(cmp.CONSTRAINTS)
    text = cmp.report(df, md=True)
    assert "paired differences" in text and "| adult-sex |" in text


def test_comparison_cache_resumes(tmp_path):
    cmp = _module("thresholds_vs_oxonfair")
    cache = tmp_path / "rows.csv"
    first = cmp.run(1, ["compas-race"], ["fairfast_exact"], cache=str(cache), log=lambda *_: None)
    calls = []
    again = cmp.run(1, ["compas-race"], ["fairfast_exact"], cache=str(cache), log=calls.append)
    assert not calls  # nothing refitted
    np.testing.assert_allclose(again.sort_values("constraint")["accuracy"].to_numpy(),
                               first.sort_values("constraint")["accuracy"].to_numpy())


def test_frontier_example_slice():
    fr = _module("thresholds_frontier")
    out = fr.frontier(seed=1, n_bootstrap=5)
    assert len(out) == len(fr.TOLERANCES)
    assert (out["fit_violation"] <= out["tolerance"] + 1e-9).all()
    assert out["test_accuracy"].between(0.55, 0.8).all()
