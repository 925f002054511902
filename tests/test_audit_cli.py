"""The ``fairfast audit`` command, called through its parser and run function."""

import argparse
import io
import json

import numpy as np
import pandas as pd
import pytest

from fairfast.metrics import GroupReport
from fairfast.cli._audit import add_audit_parser, run_audit


def _parse(argv):
    parser = argparse.ArgumentParser(prog="fairfast")
    add_audit_parser(parser.add_subparsers(dest="command"))
    return parser.parse_args(["audit", *argv])


@pytest.fixture
def frame():
    rng = np.random.default_rng(0)
    n = 600
    race = rng.choice(["A", "B", "C"], n)
    sex = rng.choice(["F", "M"], n)
    y = rng.integers(0, 2, n)
    score = np.clip(0.3 * y + 0.7 * rng.random(n), 0, 1)
    return pd.DataFrame({"race": race, "sex": sex, "y": y, "score": score, "w": rng.random(n) + 0.5})


def test_csv_text_json_png_html(tmp_path, frame):
    pytest.importorskip("matplotlib")
    src = tmp_path / "scored.csv"
    frame.to_csv(src, index=False)
    args = _parse([str(src), "--label", "y", "--score", "score", "--threshold", "0.5", "--sensitive", "race,sex",
                   "--bootstrap", "50", "--json", str(tmp_path / "r.json"), "--png", str(tmp_path / "r.png"),
                   "--html", str(tmp_path / "r.html")])
    buf = io.StringIO()
    assert args.func is run_audit and run_audit(args, file=buf) == 0
    text = buf.getvalue()
    assert "demographic_parity_difference" in text and "A & F" in text
    report = json.loads((tmp_path / "r.json").read_text())
    expected = GroupReport(frame["y"], sensitive_features=frame[["race", "sex"]], scores=frame["score"],
                           threshold=0.5)
    assert report["groups"][0] == ["A", "F"]
    np.testing.assert_allclose(report["by_group"]["selection_rate"], expected.by_group["selection_rate"])
    assert report["bootstrap"]["n_replicates"] == 50
    assert (tmp_path / "r.png").stat().st_size > 5000
    assert "data:image/png;base64" in (tmp_path / "r.html").read_text()


def test_parquet_with_predictions_and_weights(tmp_path, frame):
    pytest.importorskip("pyarrow")
    frame["pred"] = (frame["score"] > 0.6).astype(int)
    src = tmp_path / "scored.parquet"
    frame.to_parquet(src)
    args = _parse([str(src), "--label", "y", "--pred", "pred", "--weight", "w", "--sensitive", "race",
                   "--metrics", "selection_rate,tpr", "--json", str(tmp_path / "r.json")])
    run_audit(args, file=io.StringIO())
    report = json.loads((tmp_path / "r.json").read_text())
    expected = GroupReport(frame["y"], frame["pred"], sensitive_features=frame["race"], sample_weight=frame["w"],
                           metrics=["selection_rate", "tpr"])
    np.testing.assert_allclose(report["by_group"]["true_positive_rate"], expected.by_group["true_positive_rate"])


def test_errors_are_clear(tmp_path, frame):
    src = tmp_path / "scored.csv"
    frame.to_csv(src, index=False)
    with pytest.raises(ValueError, match="does not exist"):
        run_audit(_parse([str(tmp_path / "nope.csv"), "--pred", "y", "--sensitive", "race"]))
    with pytest.raises(ValueError,
                       match="--sensitive column 'religion' is not in scored.csv; its columns: race, sex, y, score, w$"):
        run_audit(_parse([str(src), "--pred", "y", "--sensitive", "religion"]))
    with pytest.raises(ValueError, match="give --pred"):
        run_audit(_parse([str(src), "--label", "y", "--sensitive", "race"]))
    with pytest.raises(ValueError, match=r"\.parquet/\.pq or \.csv"):
        run_audit(_parse([str(tmp_path / "x.json") if (tmp_path / "x.json").write_text("{}") else "",
                          "--pred", "y", "--sensitive", "race"]))
