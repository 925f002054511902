"""GroupThresholds against fairlearn's ThresholdOptimizer on Adult and COMPAS.

For each dataset and seed: a stratified 70/30 split, one logistic regression fitted on
the training part, then both post-processors fitted on the same training rows (the
regression is prefit) for demographic parity, equal opportunity (TPR parity) and
equalized odds, objective accuracy. Both are evaluated on the held-out 30% with their
*expected* decisions (``predict_proba`` / ``_pmf_predict``), so the comparison carries
no randomisation noise: accuracy, and the constraint's violation (largest difference
between groups of the selection rate, the TPR, or max of the TPR and FPR differences).

Adult: sensitive feature ``sex``. COMPAS (arrest label): ``race``, African-American
versus Caucasian rows (the ProPublica analysis).

Run: ``python examples/thresholds_vs_fairlearn.py [--seeds 5] [--markdown]``.
"""

import argparse
import time

import numpy as np
import pandas as pd
from sklearn.compose import ColumnTransformer
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import train_test_split
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler

from fairfast.datasets import load_adult, load_compas
from fairfast.postprocessing import GroupThresholds

# our name -> fairlearn's name
CONSTRAINTS = {
    "demographic_parity": "demographic_parity",
    "equal_opportunity": "true_positive_rate_parity",
    "equalized_odds": "equalized_odds",
}


def load(name):
    if name == "adult":
        b = load_adult()
        X, y, s = b.data, np.asarray(b.target), b.sensitive["sex"].astype(str).to_numpy()
    else:
        b = load_compas()
        race = b.sensitive["race"].astype(str)
        keep = race.isin(["African-American", "Caucasian"]).to_numpy()
        X, y, s = b.data[keep].reset_index(drop=True), np.asarray(b.target)[keep], race[keep].to_numpy()
    return X, y.astype(int), s


def model(X):
    cat = [c for c in X.columns if not pd.api.types.is_numeric_dtype(X[c])]
    num = [c for c in X.columns if c not in cat]
    pre = ColumnTransformer([("num", StandardScaler(), num),
                             ("cat", OneHotEncoder(handle_unknown="ignore"), cat)])
    return make_pipeline(pre, LogisticRegression(max_iter=2000))


def violation(p, y, s, constraint):
    groups = np.unique(s)

    def spread(mask_fn):
        vals = [p[(s == g) & mask_fn].mean() for g in groups]
        return max(vals) - min(vals)

    every = np.ones(y.size, dtype=bool)
    if constraint == "demographic_parity":
        return spread(every)
    tpr = spread(y == 1)
    if constraint == "equal_opportunity":
        return tpr
    return max(tpr, spread(y == 0))


def run(seeds):
    from fairlearn.postprocessing import ThresholdOptimizer

    rows = []
    for ds in ("adult", "compas"):
        X, y, s = load(ds)
        for seed in range(seeds):
            idx_tr, idx_te = train_test_split(np.arange(y.size), test_size=0.3, random_state=seed,
                                              stratify=np.char.add(s.astype(str), y.astype(str)))
            Xtr, Xte = X.iloc[idx_tr], X.iloc[idx_te]
            lr = model(X).fit(Xtr, y[idx_tr])
            for cname, theirs in CONSTRAINTS.items():
                t0 = time.perf_counter()
                gt = GroupThresholds(lr, constraint=cname, prefit=True, random_state=seed)
                gt.fit(Xtr, y[idx_tr], sensitive_features=s[idx_tr])
                p_ff = gt.predict_proba(Xte, sensitive_features=s[idx_te])[:, 1]
                t_ff = time.perf_counter() - t0
                t0 = time.perf_counter()
                to = ThresholdOptimizer(estimator=lr, constraints=theirs, objective="accuracy_score", prefit=True,
                                        predict_method="predict_proba")
                to.fit(Xtr, y[idx_tr], sensitive_features=s[idx_tr])
                p_fl = to._pmf_predict(Xte, sensitive_features=s[idx_te])[:, 1]
                t_fl = time.perf_counter() - t0
                yte, ste = y[idx_te], s[idx_te]
                for impl, p, t in (("fairfast", p_ff, t_ff), ("fairlearn", p_fl, t_fl)):
                    rows.append({
                        "dataset": ds, "constraint": cname, "seed": seed, "impl": impl,
                        "accuracy": float(np.mean(p * yte + (1 - p) * (1 - yte))),
                        "violation": float(violation(p, yte, ste, cname)),
                        "seconds": t,
                    })
                rows[-2]["train_violation"] = float(gt.violation_)
    return pd.DataFrame(rows)


def summarise(df):
    wide = df.pivot_table(index=["dataset", "constraint", "seed"], columns="impl",
                          values=["accuracy", "violation"])
    wide.columns = [f"{a}_{b}" for a, b in wide.columns]
    wide["d_accuracy"] = wide["accuracy_fairfast"] - wide["accuracy_fairlearn"]
    wide["d_violation"] = wide["violation_fairfast"] - wide["violation_fairlearn"]
    mean = wide.groupby(level=[0, 1]).mean()
    mean["seeds_viol_le"] = (wide["d_violation"] <= 1e-12).groupby(level=[0, 1]).sum()
    mean["seeds_acc_ok"] = (wide["d_accuracy"] >= -0.005).groupby(level=[0, 1]).sum()
    return wide, mean


def markdown(df):
    """A DataFrame as a markdown table (index columns first), without extra packages."""
    flat = df.reset_index()
    cells = [[f"{v:.4f}" if isinstance(v, float) else str(v) for v in row] for row in flat.itertuples(index=False)]
    lines = ["| " + " | ".join(map(str, flat.columns)) + " |", "|" + " --- |" * flat.shape[1]]
    lines += ["| " + " | ".join(r) + " |" for r in cells]
    return "\n".join(lines)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seeds", type=int, default=5)
    ap.add_argument("--markdown", action="store_true", help="print markdown tables")
    args = ap.parse_args()
    df = run(args.seeds)
    wide, mean = summarise(df)
    cols = ["accuracy_fairfast", "accuracy_fairlearn", "violation_fairfast", "violation_fairlearn"]
    if args.markdown:
        print("Per seed (held-out, expected decisions):\n")
        print(markdown(wide[cols + ["d_accuracy", "d_violation"]]))
        print("\nMean over seeds (seeds_*: seeds meeting each criterion):\n")
        print(markdown(mean[cols + ["d_accuracy", "d_violation", "seeds_viol_le", "seeds_acc_ok"]]))
        t = df.groupby(["dataset", "impl"])["seconds"].mean().unstack()
        print("\nMean seconds per fit + held-out prediction:\n")
        print(markdown(t))
        tv = df.loc[df["impl"] == "fairfast", "train_violation"].max()
        print(f"\nLargest fairfast violation on the fit data: {tv:.2e}")
    else:
        with pd.option_context("display.width", 200, "display.max_columns", 20):
            print(wide[cols + ["d_accuracy", "d_violation"]].round(4))
            print(mean[cols + ["d_accuracy", "d_violation", "seeds_viol_le", "seeds_acc_ok"]].round(4))


if __name__ == "__main__":
    main()
