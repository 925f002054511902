"""The ``fairfast`` command line: demo, fit, transform, audit registration, errors."""

import re
import subprocess
import sys

import numpy as np
import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq
import pytest

from fairfast.cli import main
from fairfast.io import load, read_model
from fairfast.postprocessing import WassersteinBarycenter


@pytest.fixture
def files(tmp_path):
    rng = np.random.default_rng(0)
    n = 2000
    s = rng.integers(0, 2, n).astype(np.int32)
    sex = np.array(["F", "M"], dtype=object)[rng.integers(0, 2, n)]
    z = rng.normal(size=n) + s
    table = pa.table({"id": np.arange(n), "p": z, "g": s, "sex": sex})
    pq.write_table(table.slice(0, 1000), tmp_path / "calib.parquet")
    pq.write_table(table, tmp_path / "score.parquet")
    pacsv.write_csv(table, tmp_path / "score.csv")
    return tmp_path, z, s, sex


def test_fit_then_transform_parquet(files, capsys):
    d, z, s, _ = files
    assert main(["fit", "--data", str(d / "calib.parquet"), "--scores", "p", "--sensitive", "g",
                 "--param", "epsilon=0.2", "--param", "interpolation=linear", "--random-state", "4",
                 "--out", str(d / "m.ffm")]) == 0
    model, info = read_model(d / "m.ffm")
    assert info["metadata"]["columns"] == {"inputs": ["p"], "input_kind": "scores", "scores": ["p"],
                                           "sensitive": ["g"], "labels": None}
    direct = WassersteinBarycenter(epsilon=0.2, interpolation="linear", random_state=4).fit(
        z[:1000], sensitive_features={"g": s[:1000]}
    )
    np.testing.assert_array_equal(model.transform(z, sensitive_features=s), direct.transform(z, sensitive_features=s))
    assert main(["transform", "--model", str(d / "m.ffm"), "--data", str(d / "score.parquet"),
                 "--out", str(d / "out.parquet"), "--batch-size", "333"]) == 0
    out = pq.read_table(d / "out.parquet")
    assert out.column_names == ["id", "p", "g", "sex", "p_fair"]
    np.testing.assert_array_equal(out["p_fair"].to_numpy(), direct.transform(z, sensitive_features=s))
    err = capsys.readouterr().err  # not a terminal and no --progress: the summary lines only
    assert err == (f"fitted WassersteinBarycenter on {d / 'calib.parquet'} (2 groups); wrote {d / 'm.ffm'}\n"
                   f"read 2,000 rows, wrote 2,000 to {d / 'out.parquet'}\n")


def test_transform_csv_in_place_with_progress_and_two_sensitive_columns(files, capsys):
    d, z, s, sex = files
    assert main(["fit", "--data", str(d / "calib.parquet"), "--scores", "p", "--sensitive", "g, sex",
                 "--out", str(d / "m.ffm"), "--progress"]) == 0
    assert "fitted WassersteinBarycenter on" in capsys.readouterr().err
    assert main(["transform", "--model", str(d / "m.ffm"), "--data", str(d / "score.csv"),
                 "--out", str(d / "out.csv"), "--in-place", "--progress", "--batch-size", "100"]) == 0
    err = capsys.readouterr().err
    assert "rows/s" in err and "read 2,000 rows, wrote 2,000 to" in err
    import pandas as pd

    model = load(d / "m.ffm")
    expected = model.transform(z, sensitive_features=pd.DataFrame({"g": s, "sex": sex}))
    out = pacsv.read_csv(d / "out.csv")
    assert out.column_names == ["id", "p", "g", "sex"]
    np.testing.assert_array_equal(out["p"].to_numpy(), expected)


def test_transform_column_overrides_and_suffix(files):
    d, z, s, _ = files
    model = WassersteinBarycenter(random_state=0).fit(z, sensitive_features=s)
    from fairfast.io import save

    save(model, d / "m.ffm")  # no recorded columns
    assert main(["transform", "--model", str(d / "m.ffm"), "--data", str(d / "score.parquet"),
                 "--out", str(d / "o.parquet"), "--scores", "p", "--sensitive", "g", "--suffix", "_dp"]) == 0
    np.testing.assert_array_equal(pq.read_table(d / "o.parquet")["p_dp"].to_numpy(),
                                  model.transform(z, sensitive_features=s))


@pytest.mark.parametrize(
    "argv, message",
    [
        (["fit", "--data", "{d}/calib.parquet", "--scores", "p", "--sensitive", "race", "--out", "{d}/m.ffm"],
         "has no column 'race'"),
        (["fit", "--data", "{d}/calib.txt", "--scores", "p", "--sensitive", "g", "--out", "{d}/m.ffm"],
         "unsupported file type '.txt'"),
        (["fit", "--data", "{d}/calib.parquet", "--scores", "p,", "--sensitive", "g", "--out", "{d}/m.ffm"],
         "--scores must be comma-separated column names"),
        (["transform", "--model", "{d}/calib.parquet", "--data", "{d}/score.parquet", "--out", "{d}/o.parquet"],
         "not a valid fairfast model file"),
        (["transform", "--model", "{d}/none.ffm", "--data", "{d}/score.parquet", "--out", "{d}/o.parquet"],
         "cannot read model file .*none.ffm': no such file"),
        (["transform", "--model", "{d}/m.ffm", "--data", "{d}/missing.parquet", "--out", "{d}/o.parquet"],
         "missing.parquet' does not exist"),
    ],
)
def test_errors_exit_2_with_a_message(files, capsys, argv, message):
    d = files[0]
    main(["fit", "--data", str(d / "calib.parquet"), "--scores", "p", "--sensitive", "g", "--out", str(d / "m.ffm")])
    capsys.readouterr()
    assert main([a.format(d=d) for a in argv]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"fairfast {argv[0]}: error: ")
    import re

    assert re.search(message, err), err
    assert not (d / "o.parquet").exists()


def test_argument_parsing_errors(files, capsys):
    d = files[0]
    with pytest.raises(SystemExit) as info:
        main(["transform", "--model", "m", "--data", "x", "--out", "y", "--batch-size", "0"])
    assert info.value.code == 2
    assert "expected a positive integer" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main(["transform", "--model", "m", "--data", "x", "--out", "y", "--suffix", "_f", "--in-place"])
    assert "not allowed with argument" in capsys.readouterr().err
    assert main(["fit", "--data", str(d / "calib.parquet"), "--scores", "p", "--sensitive", "g", "--out",
                 str(d / "m.ffm"), "--param", "interpolation=cubic"]) == 2
    assert "interpolation must be one of 'step', 'linear'; got 'cubic'" in capsys.readouterr().err
    assert main(["fit", "--data", str(d / "calib.parquet"), "--scores", "p", "--sensitive", "g", "--out",
                 str(d / "m.ffm"), "--param", "epsilom=0.1"]) == 2
    assert "--param epsilom is not a parameter of WassersteinBarycenter" in capsys.readouterr().err


def test_interrupted_transform_exits_130_without_output(files, capsys, monkeypatch):
    d = files[0]
    main(["fit", "--data", str(d / "calib.parquet"), "--scores", "p", "--sensitive", "g", "--out", str(d / "m.ffm")])
    calls = []

    def interrupt(self, *args, **kwargs):
        calls.append(1)
        if len(calls) == 2:
            raise KeyboardInterrupt
        return original(self, *args, **kwargs)

    original = WassersteinBarycenter.transform
    monkeypatch.setattr(WassersteinBarycenter, "transform", interrupt)
    assert main(["transform", "--model", str(d / "m.ffm"), "--data", str(d / "score.parquet"),
                 "--out", str(d / "o.parquet"), "--batch-size", "500"]) == 130
    assert "interrupted" in capsys.readouterr().err
    assert not (d / "o.parquet").exists()
    assert not [p for p in d.iterdir() if p.name.startswith(".")]


def test_help_lists_every_command(capsys):
    with pytest.raises(SystemExit):
        main(["--help"])
    out = capsys.readouterr().out
    for command in ("demo", "fit", "transform", "audit"):
        assert command in out
    assert main([]) == 2


def test_audit_command_is_registered(files, capsys):
    d = files[0]
    code = main(["audit", str(d / "score.parquet"), "--score", "p", "--threshold", "0.5", "--sensitive", "sex"])
    assert code == 0
    assert "sex" in capsys.readouterr().out


def test_console_entry_point_runs_as_a_module(files):
    d = files[0]
    # From the data directory, so that the installed package is imported rather than a
    # source checkout that happens to be the working directory.
    result = subprocess.run(
        [sys.executable, "-m", "fairfast.cli", "transform", "--model", str(d / "nope.ffm"), "--data",
         str(d / "score.parquet"), "--out", str(d / "o.parquet")],
        capture_output=True, text=True, timeout=120, cwd=d,
    )
    assert result.returncode == 2
    assert "fairfast transform: error: cannot read model file" in result.stderr and "nope.ffm" in result.stderr


def test_demo(capsys):
    # the README's first command
    assert main(["demo"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("fairfast demo: Wasserstein-barycenter post-processing on UCI Adult")
    lines = out.splitlines()
    assert max(len(line) for line in lines) <= 100
    flat = " ".join(out.split())
    assert "held-out test rows" in flat and "transform() as it would be deployed" in flat
    # group counts of the test rows, summing to the test size
    n_test = int(re.search(r"on the ([\d,]+) held-out", flat).group(1).replace(",", ""))
    for col in ("sex", "race"):
        counts = re.search(rf"by {col} \(test rows: (.*?)\)", flat).group(1)
        assert sum(int(c.replace(",", "")) for c in re.findall(r" ([\d,]+)(?:,|$)", counts)) == n_test
    # equal opportunity and equalized odds beside demographic parity, each with a 95% interval
    interval = r"\d\.\d{3} \[\d\.\d{3}, \d\.\d{3}\]"
    for measure in ("demographic parity difference", "equal opportunity difference", "equalized odds difference"):
        rows = [line for line in lines if line.strip().startswith(measure)]
        assert len(rows) == 2 and all(len(re.findall(interval, r)) == 2 for r in rows), rows
    assert re.search(rf"AUC\s+{interval}\s+{interval}", out)
    # every measure is defined
    for name in ("AUC:", "KS unfairness:", "noise level:", "demographic parity:", "equal opportunity:",
                 "equalized odds:", "[low, high]:"):
        assert f"    {name}" in out


def test_demo_numbers_are_held_out_and_consistent():
    from fairfast._demo import demo_results

    r = demo_results(sensitive=("sex",))
    before, after = r["before"]["by"]["sex"], r["after"]["by"]["sex"]
    assert sum(before["count"].values()) == r["n_test"]
    assert after["ks"] < r["noise_level"]["sex"] < before["ks"]
    est, low, high = after["disparities"]["demographic_parity_difference"]
    assert low <= est <= high < before["disparities"]["demographic_parity_difference"][1]
    rates = before["positive_rate"]
    assert before["disparities"]["demographic_parity_difference"][0] == pytest.approx(
        abs(rates["Female"][0] - rates["Male"][0]))
