"""GroupThresholds against OxonFair's FairPredictor on Adult and COMPAS, held out.

For each data set, sensitive attribute and seed: a stratified 40/30/30 split; one
logistic regression fitted on the first part; both post-processors fitted on its scores
on the validation part (objective accuracy, the same constraint and tolerance); both
measured on the test part: accuracy and the constraint's violation (the largest
difference between groups, as OxonFair's ``max_diff`` metrics measure it). fairfast is
measured with its expected decisions (``predict_proba``), OxonFair with its decisions
(its rules are deterministic). Fit times exclude the score model.

Data: Adult by ``sex`` (2 groups) and by ``race`` (5 groups); COMPAS (arrest label) by
``race`` with the two smallest groups (Asian, 31 rows; Native American, 11 rows) merged
into "Other" (4 groups: OxonFair's search grows exponentially with the number of groups).

Methods (``--methods``):

- ``oxonfair``: ``FairPredictor(None, val).fit(accuracy, metric.max_diff, tol)``;
- ``fairfast``: ``GroupThresholds(constraint, tolerance=tol)`` (equalized odds in its
  monotone mode, the rules OxonFair fits: one threshold per group);
- ``fairfast_exact``: the same with ``tolerance=0``;
- ``fairfast_holdout``: the noise-aware mode, ``tolerance=tol, tolerance_on="holdout"``;
- ``error_parity`` (with ``--error-parity-python``): error-parity's
  ``RelaxedThresholdOptimizer(constraint, tolerance=tol)`` (randomised mixing, L-inf
  norm), run in its own environment (it pins numpy < 2):
  ``python -m venv /tmp/ep && /tmp/ep/bin/pip install error-parity``, then
  ``--methods error_parity,fairfast_mixing --error-parity-python /tmp/ep/bin/python``;
  compared with ``fairfast_mixing`` (``mode="mixing"``, the same class of rules) on
  equalized odds, by the same measure (fairfast with expected decisions, error-parity with
  its randomised decisions).

OxonFair fits take minutes at 5 groups, so every finished row is appended to ``--cache``
(a CSV) and reused on the next run: the full comparison is one command that resumes.

Run: ``python examples/thresholds_vs_oxonfair.py --seeds 20 --markdown``
(``--cache PATH``, ``--methods oxonfair,fairfast``, ``--datasets adult-sex``).
"""

import argparse
import os
import time
import warnings

import numpy as np
import pandas as pd
from sklearn.model_selection import train_test_split

TOLERANCE = 0.02
DATASETS = ("adult-sex", "adult-race", "compas-race")
CONSTRAINTS = ("demographic_parity", "equal_opportunity", "equalized_odds")
METHODS = ("oxonfair", "fairfast", "fairfast_exact", "fairfast_holdout", "error_parity", "fairfast_mixing")
DEFAULT_METHODS = ("oxonfair", "fairfast", "fairfast_exact", "fairfast_holdout")
DEFAULT_CACHE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "results", "thresholds_vs_oxonfair.csv")
KEY = ["dataset", "constraint", "seed", "method"]
COLUMNS = KEY + ["groups", "accuracy", "violation", "seconds", "fit_accuracy", "fit_violation"]


def load(name):
    """(X, y, groups) of one data set and sensitive attribute."""
    from fairfast.datasets import load_adult, load_compas

    if name.startswith("adult"):
        b = load_adult()
        s = b.sensitive[name.split("-")[1]].astype(str).to_numpy()
    else:
        b = load_compas()
        s = b.sensitive["race"].astype(str).replace({"Asian": "Other", "Native American": "Other"}).to_numpy()
    return b.data, np.asarray(b.target).astype(int), s


def _fairlearn_example():
    """The sibling example (shared helpers: the score model, t-intervals); imported lazily
    because this file also runs as error-parity's child in an environment without fairfast."""
    import importlib.util

    spec = importlib.util.spec_from_file_location(
        "thresholds_vs_fairlearn", os.path.join(os.path.dirname(os.path.abspath(__file__)), "thresholds_vs_fairlearn.py"))
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def model(X):
    return _fairlearn_example().model(X)


def splits(y, s, seed):
    strata = np.char.add(s.astype(str), y.astype(str))
    idx = np.arange(y.size)
    tr, rest = train_test_split(idx, test_size=0.6, random_state=seed, stratify=strata)
    va, te = train_test_split(rest, test_size=0.5, random_state=seed, stratify=strata[rest])
    return tr, va, te


def violation(p, y, s, constraint):
    """Largest difference between groups of the selection rate, the TPR, or max(TPR, FPR) differences."""
    groups = np.unique(s)

    def spread(mask):
        vals = [p[(s == g) & mask].mean() for g in groups]
        return max(vals) - min(vals)

    if constraint == "demographic_parity":
        return spread(np.ones(y.size, dtype=bool))
    tpr = spread(y == 1)
    return tpr if constraint == "equal_opportunity" else max(tpr, spread(y == 0))


def accuracy(p, y):
    return float(np.mean(p * y + (1 - p) * (1 - y)))


def fit_oxonfair(pv, yv, sv, pt, st, constraint, tol):
    import oxonfair
    from oxonfair import group_metrics as gm

    metric = {"demographic_parity": gm.pos_pred_rate.max_diff, "equal_opportunity": gm.true_pos_rate.max_diff,
              "equalized_odds": gm.equalized_odds_max}[constraint]
    t0 = time.perf_counter()
    fp = oxonfair.FairPredictor(None, {"data": np.column_stack([1 - pv, pv]), "target": yv, "groups": sv})
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        fp.fit(gm.accuracy, metric, tol)
    seconds = time.perf_counter() - t0
    def predict(p, s):
        return np.asarray(fp.predict({"data": np.column_stack([1 - p, p]), "target": np.zeros(p.size), "groups": s}),
                          dtype=float)

    fit_pred = predict(pv, sv)  # does OxonFair meet the constraint on the rows it was fitted on?
    fit = {"fit_accuracy": accuracy(fit_pred, yv), "fit_violation": violation(fit_pred, yv, sv, constraint)}
    return predict(pt, st), seconds, fit


def fit_error_parity(pv, yv, sv, pt, st, constraint, tol, seed, python):
    """error-parity in its own interpreter: scores in, decisions and seconds out (npz files)."""
    import subprocess
    import tempfile

    with tempfile.TemporaryDirectory() as d:
        src, dst = os.path.join(d, "in.npz"), os.path.join(d, "out.npz")
        np.savez(src, pv=pv, yv=yv, sv=sv.astype(str), pt=pt, st=st.astype(str), constraint=constraint, tol=tol,
                 seed=seed)
        subprocess.run([python, os.path.abspath(__file__), "--error-parity-child", src, dst], check=True)
        out = np.load(dst)
        return out["pred"].astype(float), float(out["seconds"])


def _error_parity_child(src, dst):
    from error_parity import RelaxedThresholdOptimizer

    a = np.load(src)
    pv, pt = a["pv"], a["pt"]
    labels, sv = np.unique(a["sv"], return_inverse=True)  # error-parity takes integer groups
    st = np.searchsorted(labels, a["st"])
    t0 = time.perf_counter()
    rto = RelaxedThresholdOptimizer(predictor=lambda x: x, constraint=str(a["constraint"]), tolerance=float(a["tol"]),
                                    seed=int(a["seed"]))
    rto.fit(pv, a["yv"], group=sv, y_scores=pv)
    seconds = time.perf_counter() - t0
    np.savez(dst, pred=np.asarray(rto.predict(pt, group=st), dtype=float), seconds=seconds)


def fit_fairfast(pv, yv, sv, pt, st, constraint, method, tol, seed):
    from fairfast.postprocessing import GroupThresholds

    kw = {"tolerance": 0.0 if method == "fairfast_exact" else tol, "random_state": seed}
    if method == "fairfast_holdout":
        kw["tolerance_on"] = "holdout"
    if method == "fairfast_mixing":
        kw["mode"] = "mixing"
    gt = GroupThresholds(constraint=constraint, **kw)
    t0 = time.perf_counter()
    gt.fit(pv, yv, sensitive_features=sv)
    seconds = time.perf_counter() - t0
    return gt.predict_proba(pt, sensitive_features=st)[:, 1], seconds


def run(seeds, datasets, methods, cache, tol=TOLERANCE, log=print, error_parity_python=None, fit=True):
    """Rows (one per dataset, constraint, seed, method), reusing and extending ``cache``
    (``fit=False``: the cached rows only)."""
    done = pd.read_csv(cache) if cache and os.path.exists(cache) else pd.DataFrame(columns=KEY)
    have = set(map(tuple, done[KEY].astype(str).to_numpy())) if len(done) else set()
    rows = []
    for ds in datasets if fit else ():
        X, y, s = load(ds)
        for seed in range(seeds):
            todo = [(c, m) for c in CONSTRAINTS for m in methods if (ds, c, str(seed), m) not in have
                    and (c == "equalized_odds" or m not in ("error_parity", "fairfast_mixing"))]
            if not todo:
                continue
            tr, va, te = splits(y, s, seed)
            lr = model(X).fit(X.iloc[tr], y[tr])
            pv, pt = lr.predict_proba(X.iloc[va])[:, 1], lr.predict_proba(X.iloc[te])[:, 1]
            yv, yt, sv, st = y[va], y[te], s[va], s[te]
            for constraint, method in todo:
                fit = {}
                if method == "oxonfair":
                    p, sec, fit = fit_oxonfair(pv, yv, sv, pt, st, constraint, tol)
                elif method == "error_parity":
                    p, sec = fit_error_parity(pv, yv, sv, pt, st, constraint, tol, seed, error_parity_python)
                else:
                    p, sec = fit_fairfast(pv, yv, sv, pt, st, constraint, method, tol, seed)
                row = {"dataset": ds, "constraint": constraint, "seed": seed, "method": method,
                       "groups": len(np.unique(sv)), "accuracy": accuracy(p, yt),
                       "violation": violation(p, yt, st, constraint), "seconds": sec, **fit}
                rows.append(row)
                log(f"{ds} {constraint} seed={seed} {method}: acc={row['accuracy']:.4f} "
                    f"viol={row['violation']:.4f} {sec:.3g}s")
                if cache:
                    os.makedirs(os.path.dirname(os.path.abspath(cache)), exist_ok=True)
                    pd.DataFrame([row]).reindex(columns=COLUMNS).to_csv(cache, mode="a", header=not os.path.exists(cache),
                                                                        index=False)
    new = pd.DataFrame(rows)
    out = pd.concat([done, new], ignore_index=True) if len(done) else new
    out = out[out["dataset"].isin(datasets) & out["method"].isin(methods) & (out["seed"].astype(int) < seeds)]
    return out.drop_duplicates(KEY, keep="last").reset_index(drop=True)


def t_interval(d, level=0.95):
    return _fairlearn_example().t_interval(d, level)


def fmt_ci(m, lo, hi):
    return f"{m:+.4f} [{lo:+.4f}, {hi:+.4f}]"


def paired(df, ours, theirs="oxonfair"):
    """Per (dataset, constraint): means of both methods and the paired differences ours - theirs (95% t)."""
    if not {ours, theirs} <= set(df["method"]):
        return pd.DataFrame()
    wide = df.pivot_table(index=["dataset", "constraint", "seed"], columns="method", values=["accuracy", "violation"])
    out = {}
    for key, g in wide.groupby(level=[0, 1]):
        g = g.dropna(subset=[("accuracy", ours), ("accuracy", theirs)])
        if not len(g):
            continue
        da = g[("accuracy", ours)] - g[("accuracy", theirs)]
        dv = g[("violation", ours)] - g[("violation", theirs)]
        out[key] = {"seeds": len(g),
                    f"violation_{ours}": g[("violation", ours)].mean(), f"violation_{theirs}": g[("violation", theirs)].mean(),
                    "d_violation [95%]": fmt_ci(*t_interval(dv)),
                    f"accuracy_{ours}": g[("accuracy", ours)].mean(), f"accuracy_{theirs}": g[("accuracy", theirs)].mean(),
                    "d_accuracy [95%]": fmt_ci(*t_interval(da))}
    out = pd.DataFrame.from_dict(out, orient="index")
    out.index.names = ["dataset", "constraint"]
    return out


def modes(df, methods=("fairfast_exact", "fairfast", "fairfast_holdout")):
    """Held-out violation and accuracy of fairfast's modes: mean [95% t-interval] over seeds."""
    out = {}
    for (ds, c, m), g in df[df["method"].isin(methods)].groupby(["dataset", "constraint", "method"]):
        out[(ds, c, m)] = {"seeds": len(g), "violation [95%]": "{:.4f} [{:.4f}, {:.4f}]".format(*t_interval(g["violation"])),
                           "accuracy [95%]": "{:.4f} [{:.4f}, {:.4f}]".format(*t_interval(g["accuracy"]))}
    if not out:
        return pd.DataFrame()
    out = pd.DataFrame.from_dict(out, orient="index")
    out.index.names = ["dataset", "constraint", "method"]
    return out


def speed(df):
    """Median fit seconds per method and data set, and the ratio OxonFair / fairfast."""
    med = df.pivot_table(index="dataset", columns="method", values="seconds", aggfunc="median")
    groups = df.groupby("dataset")["groups"].first()
    out = pd.DataFrame({"groups": groups})
    for m in med.columns:
        out[f"{m}_s"] = med[m]
    if "oxonfair" in med and "fairfast" in med:
        out["ratio"] = med["oxonfair"] / med["fairfast"]
    return out


def markdown(df):
    flat = df.reset_index()
    fmt = lambda v: f"{v:.4g}" if isinstance(v, float) else str(v)  # noqa: E731
    lines = ["| " + " | ".join(map(str, flat.columns)) + " |", "|" + " --- |" * flat.shape[1]]
    lines += ["| " + " | ".join(fmt(v) for v in row) + " |" for row in flat.itertuples(index=False)]
    return "\n".join(lines)


def oxonfair_fit(df, tol=TOLERANCE):
    if "fit_violation" not in df or not df["fit_violation"].notna().any():
        return pd.DataFrame()
    ox = df[(df["method"] == "oxonfair") & df["fit_violation"].notna()]
    g = ox.groupby(["dataset", "constraint"])
    return pd.DataFrame({"seeds": g.size(), "fit_accuracy": g["fit_accuracy"].mean(),
                         "fit_violation": g["fit_violation"].mean(),
                         "over_tolerance": g["fit_violation"].apply(lambda v: int((v > tol + 1e-9).sum()))})


def report(df, md=False, tol=TOLERANCE):
    tables = [("Held-out, fairfast (tolerance %.2f) - OxonFair (same tolerance): paired differences" % TOLERANCE,
               paired(df, "fairfast")),
              ("Held-out, equalized odds by mixing: fairfast (mode='mixing') - error-parity (same tolerance)",
               paired(df, "fairfast_mixing", "error_parity")),
              ("Held-out, fairfast modes (exact: tolerance 0; holdout: the noise-aware mode)", modes(df)),
              ("OxonFair on its own fit data (fairfast meets the tolerance there by construction): mean "
               "accuracy and violation, seeds where the violation exceeds the tolerance", oxonfair_fit(df, tol)),
              ("Fit seconds (median over seeds and constraints)", speed(df))]
    parts = []
    for title, table in tables:
        if len(table):
            body = markdown(table) if md else table.to_string()
            parts.append(f"{title}:\n\n{body}\n")
    return "\n".join(parts)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seeds", type=int, default=20)
    ap.add_argument("--datasets", default=",".join(DATASETS))
    ap.add_argument("--methods", default=",".join(DEFAULT_METHODS))
    ap.add_argument("--error-parity-python", help="interpreter of an environment with error-parity installed")
    ap.add_argument("--error-parity-child", nargs=2, help=argparse.SUPPRESS)
    ap.add_argument("--cache", default=DEFAULT_CACHE, help="CSV of finished rows (read and appended); '' for none")
    ap.add_argument("--markdown", action="store_true")
    ap.add_argument("--cached", action="store_true", help="report the cached rows only (fit nothing)")
    args = ap.parse_args()
    if args.error_parity_child:
        return _error_parity_child(*args.error_parity_child)
    datasets = [d for d in args.datasets.split(",") if d]
    methods = [m for m in args.methods.split(",") if m]
    bad = sorted(set(datasets) - set(DATASETS)) + sorted(set(methods) - set(METHODS))
    if bad or args.seeds < 1:
        ap.error(f"unknown datasets/methods {bad} or --seeds < 1; datasets: {DATASETS}, methods: {METHODS}")
    if "error_parity" in methods and not args.error_parity_python and not args.cached:
        ap.error("--methods error_parity needs --error-parity-python (error-parity pins numpy < 2: its own venv)")
    df = run(args.seeds, datasets, methods, args.cache or None, error_parity_python=args.error_parity_python,
             fit=not args.cached)
    print(report(df, args.markdown))


if __name__ == "__main__":
    main()
