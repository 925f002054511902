"""Reproduce the DAFH comparison on Adult, COMPAS (arrest, violent) and German credit.

For every dataset and seed: a stratified 70/15/15 split; the training and validation
parts (85%) are given to every method (DAFH holds out its own 15% for model
selection, so it selects on the same amount of data the split reserves); the test
part (15%) is scored. Methods: the pooled logistic regression, the trivial partition
(one logistic regression per sensitive-attribute value -- the only method that sees
the attribute), k-means partitions with K = 2, 3, 4 and DAFH with K = 2, 3, 4, all
with default settings.

Reported on the test rows (mean and standard deviation over the seeds), computed by
:func:`fairfast.metrics.without_harm_report` with the pooled model as ``h_0``:
fairness without harm by the individual (headline), pairwise and group-level
estimators (share of rows in groups satisfying Def. 1, and the probability over 1000
bootstrap replicates, resampled within each assigned group, that every group
satisfies it), the smallest one-sided exact McNemar p-value of any group's model
against another model or the pooled one, accuracy, the largest group share on the
training rows (a share above 90% is a collapse) and the demographic-parity and
equal-opportunity gaps (largest difference of positive rate / true-positive rate)
across the true sensitive groups.

Usage::

    python examples/dafh_reproduction.py                 # all datasets, 5 seeds
    python examples/dafh_reproduction.py --datasets german --seeds 2
    python examples/dafh_reproduction.py --output results.md
"""

import argparse
import sys
import time

import numpy as np
import pandas as pd
from sklearn.model_selection import train_test_split

from fairfast import datasets
from fairfast.dafh import DAFHClassifier, KMeansPartitionClassifier, PooledClassifier, TrivialPartitionClassifier
from fairfast.metrics import without_harm_report

DATASETS = {
    # name: (loader, kwargs, sensitive column, description of A)
    "adult": (datasets.load_adult, {}, "sex", "sex"),
    "compas_arrest": (datasets.load_compas, {"label": "arrest"}, "race", "race (Black / White / other)"),
    "compas_violent": (datasets.load_compas, {"label": "violent"}, "race", "race (Black / White / other)"),
    "german": (datasets.load_german, {}, "sex", "sex"),
}

METHODS = ["pooled", "trivial", "kmeans2", "kmeans3", "kmeans4", "dafh2", "dafh3", "dafh4"]


def load(name):
    """One-hot features without the sensitive attributes, 0/1 target, sensitive groups."""
    loader, kwargs, column, _ = DATASETS[name]
    bunch = loader(drop_sensitive=True, **kwargs)
    X = pd.get_dummies(bunch.data, dtype=float).to_numpy(dtype=np.float64)
    y = np.asarray(bunch.target, dtype=np.int64)
    a = bunch.sensitive[column].astype(str).to_numpy()
    if column == "race":
        a = np.where(np.isin(a, ["African-American", "Caucasian"]), a, "other")
    return X, y, a


def parity_gaps(y, yhat, a):
    """Largest between-group difference of positive rate and of true-positive rate."""
    rates, tprs = [], []
    for g in np.unique(a):
        rows = a == g
        rates.append(yhat[rows].mean())
        pos = rows & (y == 1)
        if pos.any():
            tprs.append(yhat[pos].mean())
    return max(rates) - min(rates), (max(tprs) - min(tprs)) if tprs else float("nan")


def make(method, seed, selection="individual"):
    if method == "pooled":
        return PooledClassifier()
    if method == "trivial":
        return TrivialPartitionClassifier()
    if method.startswith("kmeans"):
        return KMeansPartitionClassifier(int(method[-1]), random_state=seed)
    return DAFHClassifier(int(method[-1]), validation_fraction=0.15 / 0.85, selection=selection, random_state=seed)


def run_one(name, method, seed, X, y, a, n_bootstrap=1000, selection="individual"):
    idx = np.arange(y.shape[0])
    fit_idx, test_idx = train_test_split(idx, test_size=0.15, stratify=y, random_state=seed)
    clf = make(method, seed, selection)
    start = time.perf_counter()
    if method == "trivial":
        clf.fit(X[fit_idx], y[fit_idx], sensitive_features=a[fit_idx])
        groups = clf.assign_groups(X[test_idx], sensitive_features=a[test_idx])
    else:
        clf.fit(X[fit_idx], y[fit_idx])
        groups = clf.assign_groups(X[test_idx])
    seconds = time.perf_counter() - start
    yt = y[test_idx]
    preds = clf.predict_each(X[test_idx])
    yhat = preds[np.arange(yt.shape[0]), groups + 1]
    report = without_harm_report(
        yt, preds[:, 1:], groups, pooled_predictions=preds[:, 0], n_replicates=n_bootstrap, random_state=seed
    )
    dp, eo = parity_gaps(yt, yhat, a[test_idx])
    train_shares = clf.group_sizes_ / clf.group_sizes_.sum()
    mcnemar = np.concatenate([report.mcnemar_envy[~np.isnan(report.mcnemar_envy)], report.mcnemar_rationality])
    return {
        "dataset": name,
        "method": method,
        "seed": seed,
        "fwh_individual": report.individual,
        "fwh_pairwise": report.pairwise,
        "fwh_group_share": report.group_share,
        "fwh_group_bootstrap": report.bootstrap_probability,
        "min_mcnemar_p": float(mcnemar.min()),
        "accuracy": float(np.mean(yhat == yt)),
        "max_group_share": float(train_shares.max()),
        "group_shares": "/".join(f"{100 * s:.0f}" for s in np.sort(train_shares)[::-1]),
        "dp_gap": dp,
        "eo_gap": eo,
        "fit_seconds": seconds,
        "epochs": getattr(clf, "n_epochs_", 0),
    }


def table(results):
    df = pd.DataFrame(results)
    cols = ["fwh_individual", "fwh_pairwise", "fwh_group_share", "fwh_group_bootstrap", "accuracy", "dp_gap", "eo_gap",
            "min_mcnemar_p"]
    lines = []
    for name, part in df.groupby("dataset", sort=False):
        lines.append(f"\n### {name} ({part.seed.nunique()} seeds, test split)\n")
        lines.append(
            "| method | FwH indiv. % | FwH pairwise % | FwH group share % | FwH group boot. % | accuracy % "
            "| group shares % (seed 0) | max share % | DP gap | EO gap | min McNemar p | fit s |"
        )
        lines.append("|---|---|---|---|---|---|---|---|---|---|---|---|")
        for method, m in part.groupby("method", sort=False):
            cells = [method]
            for c in cols:
                scale = 100 if c.startswith("fwh") or c == "accuracy" else 1
                digits = 2 if scale == 100 else 3
                cells.append(f"{scale * m[c].mean():.{digits}f} ± {scale * m[c].std(ddof=0):.{digits}f}")
            cells.insert(6, m.group_shares.iloc[0])
            cells.insert(7, f"{100 * m.max_group_share.max():.1f}")
            cells.append(f"{m.fit_seconds.mean():.1f}")
            lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--datasets", nargs="+", default=list(DATASETS), choices=list(DATASETS))
    parser.add_argument("--methods", nargs="+", default=METHODS, choices=METHODS)
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument("--bootstrap", type=int, default=1000)
    parser.add_argument("--selection", default="individual", choices=["individual", "pairwise", "group"],
                        help="DAFH model-selection estimator (default: individual)")
    parser.add_argument("--output", default=None, help="also write the markdown table here")
    parser.add_argument("--csv", default=None, help="write the per-seed results here")
    args = parser.parse_args(argv)

    results = []
    for name in args.datasets:
        X, y, a = load(name)
        for method in args.methods:
            for seed in range(args.seeds):
                r = run_one(name, method, seed, X, y, a, n_bootstrap=args.bootstrap, selection=args.selection)
                results.append(r)
                print(
                    f"{name:15s} {method:8s} seed={seed} fwh={r['fwh_individual']:.4f} acc={r['accuracy']:.4f} "
                    f"shares={r['group_shares']} epochs={r['epochs']} {r['fit_seconds']:.1f}s",
                    file=sys.stderr,
                    flush=True,
                )
    text = table(results)
    print(text)
    if args.output:
        with open(args.output, "w") as f:
            f.write(text + "\n")
    if args.csv:
        pd.DataFrame(results).to_csv(args.csv, index=False)


if __name__ == "__main__":
    main()
