"""``fairfast audit`` as a user runs it: through a subprocess, on a Parquet/CSV file."""

import io
import json
import re
import subprocess
import sys
import tempfile
import textwrap

import numpy as np
import pandas as pd
import pytest

# Runs the CLI with matplotlib impossible to import, as on the README's plain install.
_NO_MATPLOTLIB = textwrap.dedent("""
    import sys
    class _Block:
        def find_spec(self, name, path=None, target=None):
            if name == "matplotlib" or name.startswith("matplotlib."):
                raise ModuleNotFoundError(f"No module named {name!r}")
    sys.meta_path.insert(0, _Block())
    from fairfast.cli import main
    sys.exit(main(sys.argv[1:]))
""")

# Runs the CLI and presses Ctrl-C during the bootstrap, once a few chunks have run.
_INTERRUPT = textwrap.dedent("""
    import sys
    import fairfast.metrics._bootstrap as b
    original = b.bootstrap_sums
    def interrupted(inputs, sums, n, seed, progress=None):
        calls = []
        def tick(k):
            calls.append(k)
            progress(k)
            if len(calls) == 3:
                raise KeyboardInterrupt
        return original(inputs, sums, n, seed, progress=tick)
    b.bootstrap_sums = interrupted
    from fairfast.cli import main
    sys.exit(main(sys.argv[1:]))
""")


def run(*argv, wrapper=None):
    """The finished process; stdout and stderr decoded without newline translation, so that
    a progress bar's carriage returns stay visible."""
    code = wrapper or "import sys; from fairfast.cli import main; sys.exit(main(sys.argv[1:]))"
    # cwd away from the checkout: "python -c" puts the working directory first on sys.path, and
    # the source tree's fairfast has no compiled core when the package is installed normally.
    res = subprocess.run([sys.executable, "-c", code, "audit", *map(str, argv)], capture_output=True, timeout=300,
                         cwd=tempfile.gettempdir())
    res.stdout, res.stderr = res.stdout.decode(), res.stderr.decode()
    return res


@pytest.fixture(scope="module")
def scored(tmp_path_factory):
    """A COMPAS-like scored file: groups of 2 rows, as Asian & Female in COMPAS."""
    d = tmp_path_factory.mktemp("audit")
    rng = np.random.default_rng(0)
    n = 1500
    race = rng.choice(["A", "B", "C"], n).astype(object)
    sex = rng.choice(["F", "M"], n).astype(object)
    y = rng.integers(0, 2, n)
    score = np.clip(0.3 * y + 0.7 * rng.random(n), 0, 1)
    race[:2], sex[:2], y[:2], score[:2] = "D", "F", 1, 0.99
    race[2:4], sex[2:4], y[2:4], score[2:4] = "E", "F", 0, 0.01
    frame = pd.DataFrame({"race": race, "sex": sex, "y": y, "score": score})
    frame.to_parquet(d / "scored.parquet")
    frame.to_csv(d / "scored.csv", index=False)
    return d, frame


def test_plots_without_matplotlib_fail_before_any_work(scored):
    d, _ = scored
    for flags in (["--png", d / "r.png"], ["--html", d / "r.html"]):
        res = run(d / "scored.parquet", "--label", "y", "--score", "score", "--threshold", "0.5", "--sensitive",
                  "race", "--bootstrap", "100", "--json", d / "nope.json", *flags, wrapper=_NO_MATPLOTLIB)
        assert res.returncode == 2, res.stderr
        assert "pip install 'fairfast[plot]'" in res.stderr and "Traceback" not in res.stderr
        assert res.stderr.startswith(f"fairfast audit: error: {flags[0]} draw") and res.stdout == ""
        assert not (d / "nope.json").exists()  # nothing ran: no bootstrap, no output
    assert "--no-plots" in res.stderr
    res = run(d / "scored.parquet", "--label", "y", "--score", "score", "--threshold", "0.5", "--sensitive", "race",
              "--html", d / "tables.html", "--no-plots", "--json", d / "r.json", wrapper=_NO_MATPLOTLIB)
    assert res.returncode == 0, res.stderr
    page = (d / "tables.html").read_text()
    assert "<img" not in page and "Metrics by group" in page
    assert json.loads((d / "r.json").read_text())["groups"] == ["A", "B", "C", "D", "E"]


def test_small_groups_are_marked_in_every_output(scored):
    pytest.importorskip("matplotlib")
    d, _ = scored
    res = run(d / "scored.parquet", "--label", "y", "--score", "score", "--threshold", "0.5", "--sensitive",
              "race,sex", "--bootstrap", "200", "--json", d / "s.json", "--html", d / "s.html", "--quiet")
    assert res.returncode == 0, res.stderr
    assert re.search(r"warning: groups with fewer than --min-group-size 30 rows: D & F \(2 rows\), E & F \(2 rows\)",
                     res.stderr.replace("\n  ", " "))
    lines = res.stdout.splitlines()
    dp = next(line for line in lines if line.strip().startswith("demographic_parity_difference"))
    assert re.fullmatch(r"\s+demographic_parity_difference\s+1\.000 \[1\.000, 1\.000\]\s+\* 0\.\d{3}", dp), dp
    assert any(line.startswith("D & F *") for line in lines)
    report = json.loads((d / "s.json").read_text())
    assert report["small_groups"] == [["D", "F"], ["E", "F"]]
    assert "demographic_parity_difference" in report["disparities_set_by_small_groups"]["between_groups"]
    pytest.importorskip("lxml")
    tables = pd.read_html(io.StringIO((d / "s.html").read_text()))
    disp = next(t for t in tables if "set by small groups" in t.columns).set_index("disparity")
    assert disp.loc["demographic_parity_difference", "set by small groups"] == "yes"

    merged = run(d / "scored.parquet", "--label", "y", "--pred", "y", "--sensitive", "race,sex", "--small-groups",
                 "merge", "--min-group-size", "3", "--other-label", "rest")
    assert merged.returncode == 0 and "warning" not in merged.stderr
    assert "rest pools the groups with fewer than 3 rows: D & F, E & F" in merged.stdout
    refused = run(d / "scored.parquet", "--pred", "y", "--sensitive", "race", "--small-groups", "error")
    assert refused.returncode == 2
    assert "--sensitive has 2 group(s) with fewer than --min-group-size 30 rows: D (2 rows), E (2 rows)" in \
        refused.stderr


@pytest.mark.parametrize("name", ["scored.parquet", "scored.csv"])
def test_a_misspelled_column_lists_the_real_ones(scored, name):
    d, frame = scored
    res = run(d / name, "--label", "y", "--score", "scroe", "--threshold", "0.5", "--sensitive", "race")
    assert res.returncode == 2
    assert res.stderr == (f"fairfast audit: error: --score column 'scroe' is not in {name} "
                          f"(did you mean 'score'?); its columns: race, sex, y, score\n")
    assert "__" not in res.stderr and res.stdout == ""


@pytest.mark.parametrize("argv, message", [
    (["--bins", "0"], "--bins must be >= 1, got 0"),
    (["--confidence", "1.5"], "--confidence must be strictly between 0 and 1, got 1.5"),
    (["--bootstrap", "-3"], "--bootstrap must be >= 0, got -3"),
    (["--min-group-size", "-1"], "--min-group-size must be >= 0, got -1"),
    (["--metrics", "tpr,speed"], "--metrics: unknown metric 'speed'"),
    (["--metrics", "calibration_error", "--label", ""], "--metrics: calibration_error needs --label"),
    (["--pred", "y"], "give --pred or --threshold, not both"),
    (["--json", "{d}/scored.parquet"], "--json would overwrite the input file"),
    (["--json", "{d}/no/such/r.json"], "--json: directory"),
    (["--score", "race"], "--score column 'race' must hold real numbers"),
    (["--weight", "race"], "--weight column 'race'"),
])
def test_errors_name_the_flags(scored, argv, message, capsys):
    from fairfast.cli import main  # in-process: the same main() as the console script, run cheaply

    d, _ = scored
    base = ["--label", "y", "--score", "score", "--threshold", "0.5", "--sensitive", "race", "--quiet"]
    assert main(["audit", str(d / "scored.parquet"), *base, *[a.format(d=d) for a in argv]]) == 2
    err = capsys.readouterr().err
    assert err.startswith("fairfast audit: error: ") and message in err, err
    for python_name in ("y_true", "y_pred", "sample_weight", "sensitive_features", "n_bins", "confidence_level",
                        "n_replicates", "min_group_size", "pos_label", "Traceback"):
        assert python_name not in err


def test_progress_on_stderr_quiet_and_interrupted(scored):
    d, _ = scored
    args = [d / "scored.csv", "--label", "y", "--score", "score", "--threshold", "0.5", "--sensitive", "race",
            "--min-group-size", "0", "--bootstrap", "400", "--json", d / "p.json"]
    res = run(*args)
    assert res.returncode == 0
    assert re.search(r"reading scored\.csv: 100%", res.stderr) and re.search(r"bootstrap: 100%.*400/400", res.stderr)
    assert "wrote " in res.stderr and "replicate/s" not in res.stdout and "\r" not in res.stdout
    quiet = run(*args, "--quiet")
    assert quiet.returncode == 0 and quiet.stderr == "" and quiet.stdout == res.stdout
    (d / "p.json").unlink()
    stopped = run(*args, wrapper=_INTERRUPT)
    assert stopped.returncode == 130
    # the message starts on a line of its own: nothing of the progress bar before it
    before = stopped.stderr.split("fairfast audit: interrupted")[0]
    assert re.split(r"[\r\n]", before)[-1].strip() == "", repr(stopped.stderr)
    assert stopped.stderr.rstrip().endswith("fairfast audit: interrupted")
    assert not (d / "p.json").exists() and stopped.stdout == ""


def test_score_without_threshold_explains_and_html_report(scored):
    pytest.importorskip("matplotlib")
    pytest.importorskip("lxml")
    d, frame = scored
    res = run(d / "scored.parquet", "--label", "y", "--score", "score", "--sensitive", "race", "--min-group-size",
              "2", "--html", d / "scores.html", "--quiet")
    assert res.returncode == 0, res.stderr
    assert "No predicted labels" in res.stdout and "--threshold T" in res.stdout
    assert max(len(line) for line in res.stdout.splitlines()) <= 100
    page = (d / "scores.html").read_text()
    assert "data:image/png;base64," in page and "No predicted labels" in page
    tables = pd.read_html(io.StringIO(page))
    auc = next(t for t in tables if "AUC" in t.columns).set_index("group")
    from sklearn.metrics import roc_auc_score

    m = frame["race"] == "A"
    assert auc.loc["A", "AUC"].startswith(f"{roc_auc_score(frame.y[m], frame.score[m]):.3f} [")
    ks = next(t for t in tables if "between" in t.columns).set_index("disparity")
    assert ks.loc["ks_unfairness", "value"] == 1.0  # D (0.99) against E (0.01)
