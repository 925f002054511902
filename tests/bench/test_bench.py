"""``fairfast bench``: workloads, measurements and the command (tiny sizes, fast)."""

import dataclasses
import importlib.util
import json
import sys
from pathlib import Path

import numpy as np
import pytest

from fairfast.bench import (
    KERNELS,
    DisagreementError,
    MemoryProbe,
    check_agreement,
    implementations,
    make_workload,
    measure,
    workload_from_arrays,
)
from fairfast.bench import _implementations, _references
from fairfast.cli._bench import main

LINUX_HWM = Path("/proc/self/clear_refs").exists()
FAST = ["--repeat", "2", "--budget", "0.2", "--in-process"]


def _replace(monkeypatch, kernel, name, **changes):
    impl = _implementations._REGISTRY[kernel][name]
    monkeypatch.setitem(_implementations._REGISTRY[kernel], name, dataclasses.replace(impl, **changes))


# -- workloads ------------------------------------------------------------------------------


@pytest.mark.parametrize("kernel", KERNELS)
def test_every_implementation_agrees_on_synthetic_data(kernel):
    data = make_workload(kernel, 600, n_groups=3, seed=4)
    for name, impl in implementations(kernel).items():
        if not impl.available() or name == "equipy":  # EquiPy's Python loop is slow to import and run
            continue
        info = check_agreement(kernel, name, data, impl.prepare(data)())
        assert info["reference"] in ("numpy", "fairfast", "input")


def test_wrong_results_raise():
    data = make_workload("w2", 300)
    good = implementations("w2")["fairfast"].prepare(data)()
    with pytest.raises(DisagreementError, match="w2: fairfast gives"):
        check_agreement("w2", "fairfast", data, good * (1 + 1e-6))
    data = make_workload("barycenter", 300)
    out = implementations("barycenter")["numpy"].prepare(data)()
    out[7] += 1e-3
    with pytest.raises(DisagreementError, match="differ on 1 of 300 checked rows; first at row 7"):
        check_agreement("barycenter", "numpy", data, out)


def test_user_arrays_with_ties_skip_only_tied_rows():
    rng = np.random.default_rng(0)
    z = np.round(rng.random(2000), 2)  # 101 distinct values: many ties
    z[:50] = rng.random(50) + 2.0  # and some untied ones
    g = rng.choice([3, 9, 12], size=2000)
    for kernel in KERNELS:
        data = workload_from_arrays(kernel, z, g, 1500, n_calib=1000)
        assert data["rows"] == 1500
        out = implementations(kernel)["fairfast"].prepare(data)()
        info = check_agreement(kernel, "fairfast", data, out)
        if kernel.startswith("barycenter"):
            assert 0 < info["rows_checked"] < 1500 and info["tied_rows_skipped"] > 0
            assert info["rows_checked"] + info["tied_rows_skipped"] == 1500
    data = workload_from_arrays("ks", z, g, 1500)
    largest = np.bincount(np.unique(g[:1500], return_inverse=True)[1]).argmax()
    assert data["u"].size == np.sum(g[:1500] == np.unique(g)[largest])
    assert data["u"].size + data["v"].size == 1500


def test_user_arrays_errors():
    z = np.linspace(0, 1, 10)
    with pytest.raises(ValueError, match="single group"):
        workload_from_arrays("w1", z, np.zeros(10, dtype=int), 10)
    with pytest.raises(ValueError, match="between 2 and the number of rows"):
        workload_from_arrays("w1", z, np.arange(10) % 2, 11)
    with pytest.raises(ValueError, match="absent from the first 4"):
        workload_from_arrays("barycenter_transform", z, np.r_[np.zeros(4), np.ones(6)], 10, n_calib=4)
    with pytest.raises(ValueError, match="kernel must be one of"):
        make_workload("w3", 10)


def test_benchmark_suite_uses_the_same_definitions():
    path = Path(__file__).resolve().parents[2] / "benchmarks" / "workloads.py"
    spec = importlib.util.spec_from_file_location("bench_workloads_under_test", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    assert module.implementations is implementations
    assert module.make_workload is make_workload
    assert module.check_agreement is check_agreement


# -- measurements ---------------------------------------------------------------------------


@pytest.mark.skipif(not LINUX_HWM, reason="needs /proc/self/clear_refs")
def test_memory_probe_sees_a_known_allocation(monkeypatch):
    size = 3_000_000  # 22.9 MiB, touched

    def prepare(data):
        u, v = data["u"], data["v"]
        return lambda: (np.full(size, 1.5), _references.numpy_wasserstein(u, v))[1]

    _replace(monkeypatch, "w1", "numpy", prepare=prepare)
    rec = measure("w1", "numpy", make_workload("w1", 100), repeat=2, budget=1.0)
    assert rec["memory_method"] == "vmhwm-reset"
    expected = size * 8 / 2**20
    assert 0.9 * expected <= rec["peak_mib"] < expected + 8  # a few pages may already be resident
    probe = MemoryProbe()
    probe.start()
    assert probe.stop() < 4 * 2**20


def test_measure_record_and_budget():
    data = make_workload("ks", 2000)
    rec = measure("ks", "numpy", data, repeat=4, budget=10.0)
    assert rec["status"] == "ok" and rec["rounds"] == 4 and len(rec["times"]) == 4 and not rec["cold"]
    assert rec["median_s"] == pytest.approx(np.median(rec["times"]))
    assert rec["rows_per_s"] == pytest.approx(4000 / rec["median_s"])
    # a call slower than the budget is timed once, cold
    rec = measure("ks", "numpy", data, repeat=4, budget=1e-9)
    assert rec["rounds"] == 1 and rec["cold"]


# -- the command ----------------------------------------------------------------------------


def test_table_json_and_plot(tmp_path, capsys):
    pytest.importorskip("matplotlib")
    out_json, out_png = tmp_path / "b.json", tmp_path / "b.png"
    status = main(["bench", "--sizes", "300,3000", "--threads", "1", "--json", str(out_json), "--plot", str(out_png),
                   *FAST])
    text = capsys.readouterr().out
    assert status == 0
    header = next(line for line in text.splitlines() if line.startswith("kernel"))
    assert header.split() == ["kernel", "impl", "n", "median", "rows/s", "peak", "MiB", "time/ff", "check"]
    for kernel in ("w1", "w2", "ks", "barycenter", "transform"):
        for impl in ("fairfast", "numpy"):
            assert any(line.split()[:3] == [kernel, impl, "3000"] for line in text.splitlines()), (kernel, impl)
    assert "scipy" not in text.split("median:")[0]  # peers only with --peers
    report = json.loads(out_json.read_text())
    assert report["schema"] == "fairfast-bench/1"
    assert {"fairfast", "python", "numpy", "cpu_count", "fairfast_threads", "openmp", "loadavg_start"} <= set(
        report["machine"])
    assert report["machine"]["fairfast_threads"] == 1
    assert report["config"]["sizes"] == [300, 3000] and report["config"]["source"]["type"] == "synthetic"
    assert len(report["results"]) == 5 * 2 * 2
    for r in report["results"]:
        assert r["status"] == "ok" and r["threads"] == 1
        assert r["rows_per_s"] == pytest.approx(r["rows"] / r["median_s"])
        assert r["rows"] == (r["n"] if r["kernel"] == "transform" else 2 * r["n"])
        if r["impl"] == "fairfast":
            assert r["ratio_vs_fairfast"] == 1.0
        if LINUX_HWM:
            assert r["peak_mib"] >= 0 and r["memory_method"] == "vmhwm-reset"
    assert out_png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and out_png.stat().st_size > 10_000


def test_thread_scaling_reports_every_count(tmp_path, capsys):
    out_json = tmp_path / "s.json"
    status = main(["bench", "--kernels", "ks,barycenter", "--sizes", "3000", "--threads", "1,2,3", "--in-process",
                   "--json", str(out_json), *FAST])
    text = capsys.readouterr().out
    assert status == 0
    header = next(line for line in text.splitlines() if line.startswith("kernel"))
    assert header.split() == ["kernel", "impl", "threads", "n", "median", "rows/s", "peak", "MiB", "time/ff",
                              "speed-up", "check"]
    assert "fairfast threads 1,2,3" in text
    report = json.loads(out_json.read_text())
    assert report["config"]["threads"] == report["machine"]["thread_counts"] == [1, 2, 3]
    assert report["machine"]["cpu_model"]
    got = sorted((r["kernel"], r["impl"], r["requested_threads"], r["threads"]) for r in report["results"])
    assert got == sorted([(k, "fairfast", t, t) for k in ("ks", "barycenter") for t in (1, 2, 3)]
                         + [(k, "numpy", 1, 1) for k in ("ks", "barycenter")])
    for r in report["results"]:
        assert r["status"] == "ok"
        if r["impl"] == "fairfast":
            assert r["speedup"] == pytest.approx(1.0 / r["ratio_vs_fairfast"])
            if r["requested_threads"] == 1:
                assert r["speedup"] == 1.0


def test_isolated_measurement_in_a_fresh_process(tmp_path, capsys):
    out_json = tmp_path / "b.json"
    n = 100_000
    status = main(["bench", "--kernels", "w1", "--sizes", str(n), "--repeat", "1", "--budget", "1",
                   "--json", str(out_json)])
    assert status == 0
    report = json.loads(out_json.read_text())
    assert report["config"]["isolated"] is True
    by_impl = {r["impl"]: r for r in report["results"]}
    assert set(by_impl) == {"fairfast", "numpy"}
    if LINUX_HWM:
        # any exact W1 needs sorted copies of both samples: at least 8 bytes per row of one
        assert by_impl["fairfast"]["peak_mib"] >= 8 * n / 2**20
        assert by_impl["numpy"]["peak_mib"] >= 16 * n / 2**20
    assert "w1" in capsys.readouterr().out


def test_disagreement_and_errors_are_reported(tmp_path, capsys, monkeypatch):
    def wrong(data):
        return lambda: _references.numpy_ks(data["u"], data["v"]) + 0.125

    def broken(data):
        def call():
            raise RuntimeError("boom")
        return call

    _replace(monkeypatch, "ks", "numpy", prepare=wrong)
    _replace(monkeypatch, "w1", "numpy", prepare=broken)
    status = main(["bench", "--kernels", "ks,w1", "--sizes", "1000", "--json", str(tmp_path / "b.json"), *FAST])
    text = capsys.readouterr().out
    assert status == 1
    line = next(x for x in text.splitlines() if x.split()[:2] == ["ks", "numpy"])
    assert line.endswith("FAILED")
    assert "DISAGREEMENT ks numpy n=1e3: ks: numpy gives" in text
    assert "ERROR w1 numpy n=1e3: RuntimeError: boom" in text
    results = {(r["kernel"], r["impl"]): r for r in json.loads((tmp_path / "b.json").read_text())["results"]}
    assert results["ks", "numpy"]["status"] == "disagree" and "error" in results["ks", "numpy"]["check"]
    assert results["ks", "numpy"]["median_s"] > 0  # still timed
    assert results["w1", "numpy"]["status"] == "error"
    assert results["ks", "fairfast"]["status"] == "ok"


def test_absent_and_slow_peers_are_named(capsys, monkeypatch):
    _replace(monkeypatch, "w2", "pot", requires=("fairfast_no_such_module",))
    _replace(monkeypatch, "w2", "numpy", slow_above=500)
    status = main(["bench", "--kernels", "w2", "--sizes", "1000", "--peers", *FAST])
    text = capsys.readouterr().out
    assert status == 0
    assert "not installed: pot (needs fairfast_no_such_module)" in text
    assert "skipped w2 numpy n=1e3: numpy above n=5e+02 takes minutes; add --slow-peers" in text
    main(["bench", "--kernels", "w2", "--sizes", "1000", "--peers", "--slow-peers", *FAST])
    assert "skipped" not in capsys.readouterr().out


def _parquet(tmp_path, n=3000):
    pa = pytest.importorskip("pyarrow")
    import pyarrow.parquet as pq

    rng = np.random.default_rng(1)
    sex = rng.choice(["F", "M"], n)
    race = rng.choice(["a", "b", "c"], n, p=[0.5, 0.3, 0.2])
    score = np.round(rng.random(n) + 0.2 * (sex == "M"), 3).astype(np.float32)  # ties
    path = tmp_path / "scored.parquet"
    pq.write_table(pa.table({"p": score, "sex": sex, "race": race, "other": np.arange(n)}), path)
    return path


def test_parquet_input(tmp_path, capsys):
    path = _parquet(tmp_path)
    out_json = tmp_path / "b.json"
    status = main(["bench", "--data", str(path), "--scores", "p", "--sensitive", "sex,race", "--sizes", "1e3,1e4",
                   "--kernels", "ks,barycenter,transform", "--json", str(out_json), *FAST])
    text = capsys.readouterr().out
    assert status == 0, text
    assert "scored.parquet (scores 'p', groups from sex, race; 3000 rows)" in text
    assert "note: sizes capped by the file's 3000 rows: 1000, 3000" in text
    report = json.loads(out_json.read_text())
    src = report["config"]["source"]
    assert src["type"] == "parquet" and src["rows_in_file"] == 3000 and src["groups_in_rows_read"] == 6
    assert report["config"]["sizes"] == [1000, 3000]
    for r in report["results"]:
        assert r["status"] == "ok" and r["rows"] == r["n"]
        if r["kernel"] == "barycenter":
            assert r["n_groups"] == 6
            if r["impl"] == "fairfast":
                assert r["check"]["tied_rows_skipped"] > 0
        if r["kernel"] == "transform":
            assert r["n_calib"] == 3000


@pytest.mark.parametrize(
    "argv, message",
    [
        (["--kernels", "w1,w3"], "argument --kernels: unknown kernel 'w3'"),
        (["--sizes", "1e4,abc"], "argument --sizes: expected integer sizes >= 2"),
        (["--sizes", "1e-3"], "argument --sizes: expected integer sizes >= 2"),
        (["--sizes", "1e4,,1e5"], "argument --sizes: expected comma-separated sizes"),
        (["--groups", "1"], "argument --groups: expected an integer >= 2"),
        (["--threads", "0"], "argument --threads: expected a positive integer"),
        (["--threads", "1,x"], "argument --threads: expected a positive integer or a comma-separated list"),
        (["--repeat", "x"], "argument --repeat: expected a positive integer"),
        (["--budget", "-1"], "argument --budget: expected a positive number of seconds"),
    ],
)
def test_bad_options_are_parse_errors(argv, message, capsys):
    with pytest.raises(SystemExit) as exc:
        main(["bench", *argv])
    assert exc.value.code == 2
    assert message in capsys.readouterr().err


@pytest.mark.parametrize(
    "argv, message",
    [
        (["--scores", "p"], "--scores needs --data"),
        (["--data", "{parquet}"], "--data needs --scores COL and --sensitive COL"),
        (["--data", "{parquet}", "--scores", "p", "--sensitive", "sex", "--groups", "3"],
         "--groups applies to synthetic"),
        (["--data", "{tmp}/none.parquet", "--scores", "p", "--sensitive", "sex"], "does not exist"),
        (["--data", "{tmp}/x.csv", "--scores", "p", "--sensitive", "sex"], "--data must be a Parquet file"),
        (["--data", "{parquet}", "--scores", "q", "--sensitive", "sex"], "--scores names column(s) ['q'] not in"),
        (["--data", "{parquet}", "--scores", "p", "--sensitive", "sex,age"], "--sensitive names column(s) ['age']"),
        (["--data", "{parquet}", "--scores", "sex", "--sensitive", "race"], "--scores column 'sex' must be numeric"),
        (["--plot", "{tmp}/b.jpg"], "--plot must be a .png file path"),
        (["--json", "{tmp}/missing/b.json"], "--json: directory"),
    ],
)
def test_bad_option_values_are_named(tmp_path, argv, message, capsys):
    path = _parquet(tmp_path, n=200)
    argv = [a.format(parquet=path, tmp=tmp_path) for a in argv]
    assert main(["bench", "--kernels", "w1", "--sizes", "100", *argv, *FAST]) == 2
    captured = capsys.readouterr()
    assert message in captured.err and captured.out == ""


def test_plot_without_matplotlib_fails_before_running(tmp_path, capsys, monkeypatch):
    monkeypatch.setitem(sys.modules, "matplotlib", None)  # import matplotlib -> ImportError
    assert main(["bench", "--plot", str(tmp_path / "b.png")]) == 2
    captured = capsys.readouterr()
    assert "--plot needs matplotlib" in captured.err and captured.out == ""


def test_isolated_failures_are_reported(capsys):
    # a measurement process that cannot finish in time is abandoned and reported, not fatal
    status = main(["bench", "--kernels", "ks", "--sizes", "1000", "--timeout", "0.001"])
    text = capsys.readouterr().out
    assert status == 1
    assert "ERROR ks fairfast n=1e3: timed out after 0.001 s" in text
    assert "ERROR ks numpy n=1e3: timed out after 0.001 s" in text


def test_unusable_result_is_an_error_not_a_disagreement(monkeypatch):
    _replace(monkeypatch, "ks", "numpy", prepare=lambda data: (lambda: "not a number"))
    rec = measure("ks", "numpy", make_workload("ks", 100), repeat=1, budget=1.0)
    assert rec["status"] == "error" and rec["error"].startswith("the result could not be checked: ")
    assert rec["rounds"] == 1
