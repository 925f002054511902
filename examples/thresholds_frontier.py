"""Trade-off frontier of GroupThresholds on COMPAS (race, 4 groups): accuracy against
demographic-parity violation over tolerances, with bootstrap bands, beside the points
measured on a separate test split.

A logistic regression is fitted on 40% of the rows; the frontier is computed on its
scores for a 30% validation split (``threshold_frontier``: for each tolerance, the rule
fitted on the validation rows, its fit-data accuracy and violation, and the bootstrap's
expected held-out values with their 2.5-97.5% range for a held-out sample as large as the
test split); the same rules are then measured on the remaining 30% (crosses).

Run: ``python examples/thresholds_frontier.py [--out docs/images/thresholds_frontier.png] [--seed 0]``
"""

import argparse
import os
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from thresholds_vs_oxonfair import load, model, splits  # noqa: E402

from fairfast.postprocessing import GroupThresholds, plot_frontier, threshold_frontier  # noqa: E402

TOLERANCES = [0.0, 0.02, 0.04, 0.06, 0.08, 0.1, 0.14, 0.2]


def frontier(seed=0, n_bootstrap=100):
    X, y, s = load("compas-race")
    tr, va, te = splits(y, s, seed)
    lr = model(X).fit(X.iloc[tr], y[tr])
    pv, pt = lr.predict_proba(X.iloc[va])[:, 1], lr.predict_proba(X.iloc[te])[:, 1]
    fr = threshold_frontier(pv, y[va], sensitive_features=s[va], tolerances=TOLERANCES, n_bootstrap=n_bootstrap,
                            holdout_size=te.size, random_state=seed)
    test = []
    for tol in TOLERANCES:
        gt = GroupThresholds(constraint="demographic_parity", tolerance=tol).fit(pv, y[va], sensitive_features=s[va])
        p = gt.predict_proba(pt, sensitive_features=s[te])[:, 1]
        rates = [p[s[te] == g].mean() for g in np.unique(s[te])]
        test.append((max(rates) - min(rates), float(np.mean(p * y[te] + (1 - p) * (1 - y[te])))))
    fr["test_violation"], fr["test_accuracy"] = zip(*test)
    return fr


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", default=os.path.join("docs", "images", "thresholds_frontier.png"))
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fr = frontier(args.seed)
    fig, ax = plt.subplots(figsize=(7, 4.6), dpi=130)
    plot_frontier(fr, ax, label="expected held-out (bootstrap mean)")
    ax.plot(fr["test_violation"], fr["test_accuracy"], "x", color="C3", ms=7, label="measured on the test split")
    ax.legend(fontsize=8, loc="lower right")
    ax.set_title("COMPAS, race (4 groups): demographic parity, tolerance labelled", fontsize=10)
    fig.tight_layout()
    fig.savefig(args.out)
    cols = ["tolerance", "fit_utility", "fit_violation", "violation_mean", "violation_low", "violation_high",
            "utility_mean", "test_violation", "test_accuracy"]
    print(fr[cols].round(4).to_string(index=False))


if __name__ == "__main__":
    main()
