"""benchmarks/thread_scaling.py: every workload at each thread count, against a baseline
interpreter, in one run (tiny sizes here; the figures themselves are never asserted)."""

import importlib.util
import json
import sys
from pathlib import Path

import pytest

SCRIPT = Path(__file__).resolve().parents[2] / "benchmarks" / "thread_scaling.py"


def _load():
    spec = importlib.util.spec_from_file_location("thread_scaling", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_every_workload_at_every_count_with_a_baseline(tmp_path, capsys):
    ts = _load()
    out = tmp_path / "s.json"
    # This interpreter stands in for the older build: the same bits, a finite ratio.
    status = ts.main(["--threads", "1,2,3", "--rounds", "2", "--n", "3000", "--large", "--n-large", "5000",
                      "--baseline-python", sys.executable, "--json", str(out)])
    text = capsys.readouterr().out
    assert status == 0
    doc = json.loads(out.read_text())
    assert doc["machine"]["cpu_model"] and doc["machine"]["thread_counts"] == [1, 2, 3]
    names = list(ts.WORKLOADS + ts.LARGE_WORKLOADS)
    assert [r["workload"] for r in doc["rows"]] == names
    for row in doc["rows"]:
        assert row["identical_across_threads"], row["workload"]
        assert [int(t) for t in row["threads"]] == [1, 2, 3]
        assert {int(t): v for t, v in row["threads"].items()} == {1: 1, 2: 2, 3: 3}
        if row["workload"] in ts.FLOORS:
            assert "baseline" not in row
        else:
            assert row["identical_to_baseline"] and row["vs_baseline_median"] > 0
    got = sorted((r["workload"], r["build"], r["requested_threads"], len(r["times"])) for r in doc["records"])
    expected = [(w, "this", t, 2) for w in names for t in (1, 2, 3)]
    expected += [(w, "baseline", 1, 2) for w in names if w not in ts.FLOORS]
    assert got == sorted(expected)
    header = next(line for line in text.splitlines() if line.startswith("workload"))
    assert header.split() == ["workload", "1t", "min/median", "2t", "min/median", "3t", "min/median", "x2", "x3",
                              "base", "1t", "min/median", "1t/base", "same", "=base"]
    w1 = next(r for r in doc["records"] if r["workload"] == "w1")
    assert 0 < w1["value"] < 10
    data = ts.make_data("read_group_metrics", 3000, 0)  # the floor sums the columns it reads
    got = ts.prepare_call("read_group_metrics", data)(3)
    assert got.tolist() == [int(data[k].sum()) for k in ("y", "p", "race", "sex")]


def test_an_unknown_workload_is_refused():
    ts = _load()
    with pytest.raises(ValueError, match="unknown workload 'nonsense'"):
        ts.measure(["nonsense"], [1], rounds=1, n=100, n_large=100)
