"""GroupThresholds against fairlearn's ThresholdOptimizer on Adult and COMPAS.

For each dataset and seed: a stratified 70/30 split, one logistic regression fitted on
the training part, then both post-processors fitted on the same training rows (the
regression is prefit) for demographic parity, equal opportunity (TPR parity) and
equalized odds, objective accuracy. Both are evaluated with their *expected* decisions
(``predict_proba`` / ``_pmf_predict``), so the comparison carries no randomisation
noise: accuracy, and the constraint's violation (largest difference between groups of
the selection rate, the TPR, or max of the TPR and FPR differences), on the held-out 30%
and on the fit data (the 70% both were fitted on).

Adult: sensitive feature ``sex``. COMPAS (arrest label): ``race``, African-American
versus Caucasian rows (the ProPublica analysis).

Summaries per (dataset, constraint), over all seeds: the paired mean difference
fairfast minus fairlearn of held-out violation and accuracy with a 95% Student-t
interval over seeds (the seeds' differences are independent draws given the dataset,
so this interval is for the mean over random splits *of this dataset*), the share of
seeds where fairfast's violation is at most fairlearn's and its accuracy at least
fairlearn's minus 0.005, and the fit-data accuracy and violation of both.

Run: ``python examples/thresholds_vs_fairlearn.py [--seeds 5] [--show-seeds 5] [--markdown] [--csv rows.csv]``.
"""

import argparse
import time

import numpy as np
import pandas as pd
from scipy import stats
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
ACCURACY_SLACK = 0.005  # the acceptance criterion: accuracy >= fairlearn's - 0.005
TIE = 1e-12  # violations closer than this count as equal


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


def accuracy(p, y):
    return float(np.mean(p * y + (1 - p) * (1 - y)))


def run(seeds):
    from fairlearn.postprocessing import ThresholdOptimizer

    rows = []
    for ds in ("adult", "compas"):
        X, y, s = load(ds)
        for seed in range(seeds):
            idx_tr, idx_te = train_test_split(np.arange(y.size), test_size=0.3, random_state=seed,
                                              stratify=np.char.add(s.astype(str), y.astype(str)))
            Xtr, Xte = X.iloc[idx_tr], X.iloc[idx_te]
            ytr, yte, str_, ste = y[idx_tr], y[idx_te], s[idx_tr], s[idx_te]
            lr = model(X).fit(Xtr, ytr)
            for cname, theirs in CONSTRAINTS.items():
                t0 = time.perf_counter()
                # fairlearn mixes thresholds for equalized odds: compare with the same class of rules
                mode = "mixing" if cname == "equalized_odds" else "monotone"
                gt = GroupThresholds(lr, constraint=cname, prefit=True, mode=mode, random_state=seed)
                gt.fit(Xtr, ytr, sensitive_features=str_)
                p_ff = gt.predict_proba(Xte, sensitive_features=ste)[:, 1]
                t_ff = time.perf_counter() - t0
                t0 = time.perf_counter()
                to = ThresholdOptimizer(estimator=lr, constraints=theirs, objective="accuracy_score", prefit=True,
                                        predict_method="predict_proba")
                to.fit(Xtr, ytr, sensitive_features=str_)
                p_fl = to._pmf_predict(Xte, sensitive_features=ste)[:, 1]
                t_fl = time.perf_counter() - t0
                fit_ff = gt.predict_proba(Xtr, sensitive_features=str_)[:, 1]
                fit_fl = to._pmf_predict(Xtr, sensitive_features=str_)[:, 1]
                for impl, p, pf, t in (("fairfast", p_ff, fit_ff, t_ff), ("fairlearn", p_fl, fit_fl, t_fl)):
                    rows.append({
                        "dataset": ds, "constraint": cname, "seed": seed, "impl": impl,
                        "accuracy": accuracy(p, yte),
                        "violation": float(violation(p, yte, ste, cname)),
                        "fit_accuracy": accuracy(pf, ytr),
                        "fit_violation": float(violation(pf, ytr, str_, cname)),
                        "seconds": t,
                    })
    return pd.DataFrame(rows)


def per_seed(df):
    """One row per (dataset, constraint, seed): both methods' metrics and the differences."""
    wide = df.pivot_table(index=["dataset", "constraint", "seed"], columns="impl",
                          values=["accuracy", "violation", "fit_accuracy", "fit_violation"])
    wide.columns = [f"{a}_{b}" for a, b in wide.columns]
    wide["d_accuracy"] = wide["accuracy_fairfast"] - wide["accuracy_fairlearn"]
    wide["d_violation"] = wide["violation_fairfast"] - wide["violation_fairlearn"]
    wide["d_fit_accuracy"] = wide["fit_accuracy_fairfast"] - wide["fit_accuracy_fairlearn"]
    return wide


def t_interval(d, level=0.95):
    """Mean of the paired differences ``d`` and its Student-t interval (nan for one seed)."""
    d = np.asarray(d, dtype=float)
    m = float(d.mean())
    if d.size < 2:
        return m, np.nan, np.nan
    half = stats.t.ppf(0.5 + level / 2, d.size - 1) * d.std(ddof=1) / np.sqrt(d.size)
    return m, m - half, m + half


def paired(wide):
    """Held-out summary per (dataset, constraint): means, paired differences with 95% t-intervals, shares."""
    out = {}
    for key, g in wide.groupby(level=[0, 1]):
        n = len(g)
        da, da_lo, da_hi = t_interval(g["d_accuracy"])
        dv, dv_lo, dv_hi = t_interval(g["d_violation"])
        out[key] = {
            "seeds": n,
            "violation_fairfast": g["violation_fairfast"].mean(),
            "violation_fairlearn": g["violation_fairlearn"].mean(),
            "d_violation": dv, "d_violation_ci95": f"[{dv_lo:+.4f}, {dv_hi:+.4f}]",
            "viol_le": f"{int((g['d_violation'] <= TIE).sum())}/{n}",
            "accuracy_fairfast": g["accuracy_fairfast"].mean(),
            "accuracy_fairlearn": g["accuracy_fairlearn"].mean(),
            "d_accuracy": da, "d_accuracy_ci95": f"[{da_lo:+.4f}, {da_hi:+.4f}]",
            "acc_ok": f"{int((g['d_accuracy'] >= -ACCURACY_SLACK).sum())}/{n}",
        }
    out = pd.DataFrame.from_dict(out, orient="index")
    out.index.names = ["dataset", "constraint"]
    return out


def fit_summary(wide):
    """Fit-data summary: largest violations, mean accuracies, the paired accuracy difference (mean, smallest)
    and the seeds where fairfast's fit accuracy is at least fairlearn's (fit_acc_ge)."""
    g = wide.groupby(level=[0, 1])
    ge = (wide["d_fit_accuracy"] >= 0).groupby(level=[0, 1])
    return pd.DataFrame({
        "max_fit_violation_fairfast": g["fit_violation_fairfast"].max(),
        "max_fit_violation_fairlearn": g["fit_violation_fairlearn"].max(),
        "fit_accuracy_fairfast": g["fit_accuracy_fairfast"].mean(),
        "fit_accuracy_fairlearn": g["fit_accuracy_fairlearn"].mean(),
        "d_fit_accuracy": g["d_fit_accuracy"].mean(),
        "min_d_fit_accuracy": g["d_fit_accuracy"].min(),
        "fit_acc_ge": ge.sum().astype(int).astype(str) + "/" + ge.size().astype(str),
    })


def _cell(v, column):
    if isinstance(v, float):
        return f"{v:.2e}" if "fit_violation" in column else f"{v:.4f}"  # fit violations are ~1e-16
    return str(v)


def markdown(df):
    """A DataFrame as a markdown table (index columns first), without extra packages."""
    flat = df.reset_index()
    cells = [[_cell(v, c) for v, c in zip(row, flat.columns)] for row in flat.itertuples(index=False)]
    lines = ["| " + " | ".join(map(str, flat.columns)) + " |", "|" + " --- |" * flat.shape[1]]
    lines += ["| " + " | ".join(r) + " |" for r in cells]
    return "\n".join(lines)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seeds", type=int, default=5, help="number of seeds (splits), 0..seeds-1 (default 5)")
    ap.add_argument("--show-seeds", type=int, default=5, help="seeds listed in the per-seed table (default 5)")
    ap.add_argument("--markdown", action="store_true", help="print markdown tables")
    ap.add_argument("--csv", help="also write one row per (dataset, constraint, seed, method) to this file")
    args = ap.parse_args()
    if args.seeds < 1:
        ap.error(f"--seeds must be a positive integer, got {args.seeds}")
    df = run(args.seeds)
    if args.csv:
        df.to_csv(args.csv, index=False)
    wide = per_seed(df)
    shown = wide[wide.index.get_level_values("seed") < args.show_seeds]
    cols = ["accuracy_fairfast", "accuracy_fairlearn", "violation_fairfast", "violation_fairlearn",
            "d_accuracy", "d_violation"]
    tables = [
        (f"Per seed (held-out, expected decisions), seeds 0-{min(args.show_seeds, args.seeds) - 1}:", shown[cols]),
        (f"Held-out, {args.seeds} seeds: means, paired differences fairfast - fairlearn with 95% t-intervals "
         f"over seeds, seeds with fairfast's violation <= fairlearn's (viol_le) and accuracy >= fairlearn's - "
         f"{ACCURACY_SLACK} (acc_ok):", paired(wide)),
        (f"Fit data (the rows both were fitted on), {args.seeds} seeds:", fit_summary(wide)),
        ("Mean seconds per fit + held-out prediction:",
         df.groupby(["dataset", "impl"])["seconds"].mean().unstack()),
    ]
    for title, table in tables:
        print(title + "\n")
        if args.markdown:
            print(markdown(table) + "\n")
        else:
            table = table.copy()
            for c in table.columns:  # fit violations (~1e-16) keep their digits
                if "fit_violation" not in c and table[c].dtype.kind == "f":
                    table[c] = table[c].round(4)
            with pd.option_context("display.width", 250, "display.max_columns", 30):
                print(table.to_string() + "\n")


if __name__ == "__main__":
    main()
