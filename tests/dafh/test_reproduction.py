"""examples/dafh_reproduction.py: a light end-to-end run and its constraint statistics."""

import importlib.util
from pathlib import Path

import numpy as np
import pytest

from fairfast.metrics import without_harm_report

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


@pytest.fixture(scope="module")
def reproduction():
    spec = importlib.util.spec_from_file_location("dafh_reproduction", EXAMPLES / "dafh_reproduction.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_constraint_statistics_against_loops(reproduction):
    rng = np.random.default_rng(0)
    n, K = 300, 3
    y = rng.integers(0, 2, n)
    groups = rng.integers(0, K, n)
    preds = np.where(rng.random((n, K + 1)) < 0.7, y[:, None], 1 - y[:, None])
    report = without_harm_report(y, preds[:, 1:], groups, pooled_predictions=preds[:, 0], n_replicates=100,
                                 random_state=0)
    stats = reproduction.constraint_statistics(y, preds, groups, report)
    probs, discordant, net = [], [], []
    for k in range(K):
        rows = np.flatnonzero(groups == k)
        for j in [0] + [j + 1 for j in range(K) if j != k]:
            probs.append(report.bootstrap_rational[k] if j == 0 else report.bootstrap_envy_free[k, j - 1])
            own = [preds[i, k + 1] == y[i] for i in rows]
            other = [preds[i, j] == y[i] for i in rows]
            discordant.append(sum(o != t for o, t in zip(own, other)))
            net.append(sum(o and not t for o, t in zip(own, other)) - sum(t and not o for o, t in zip(own, other)))
    assert stats["weakest_constraint"] == min(probs)
    assert stats["mean_constraint"] == pytest.approx(np.mean(probs))
    assert stats["discordant_rows"] == pytest.approx(np.mean(discordant))
    assert stats["net_rows"] == pytest.approx(np.mean(net))


def test_light_run(reproduction, capsys):
    reproduction.main(["--datasets", "german", "--seeds", "1", "--bootstrap", "20",
                       "--methods", "pooled", "trivial", "tree", "kmeans2", "dafh2"])
    out = capsys.readouterr().out
    for heading in ("### german (1 seeds, test split)", "DAFH against the acceptance bars", "Why the bootstrap"):
        assert heading in out
    for method in ("| pooled |", "| trivial |", "| tree |", "| kmeans2 |", "| dafh2 |"):
        assert method in out


def test_from_csv_prints_the_acceptance_table(reproduction, capsys, tmp_path):
    reproduction.main(["--datasets", "german", "--seeds", "2", "--bootstrap", "20", "--methods", "pooled", "kmeans2",
                       "dafh2", "--csv", str(tmp_path / "r.csv")])
    printed = capsys.readouterr().out
    reproduction.main(["--from-csv", str(tmp_path / "r.csv")])
    again = capsys.readouterr().out
    table = again[again.index("### DAFH against the acceptance bars"):again.index("### Why the bootstrap")]
    assert table in printed
    row = next(line for line in table.splitlines() if line.startswith("| german | dafh2 |"))
    assert row.count("[") == 3  # three paired differences with their 95% intervals


def test_violent_evidence_light():
    spec = importlib.util.spec_from_file_location("dafh_violent_evidence", EXAMPLES / "dafh_violent_evidence.py")
    evidence = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(evidence)
    import pandas as pd

    X, y, *_ = evidence.load("german")
    df = pd.DataFrame(evidence.run_seed(X, y, 0) + evidence.run_seed(X, y, 1))
    assert set(df.scorer) == set(evidence.SCORERS)
    assert ((df.auc > 0) & (df.auc < 1)).all()
    text = evidence.tables(df)
    assert "Ranking against deciding" in text and "| kmeans2 | top 1% |" in text
