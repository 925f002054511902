"""GroupThresholds against OxonFair's FairPredictor on Adult and COMPAS, held out.

For each data set, sensitive attribute and seed: a stratified 40/30/30 split; one
logistic regression fitted on the first part; both post-processors fitted on its scores
on the validation part (objective accuracy); both measured on the test part: accuracy
and the constraint's violation (the largest difference between groups, as OxonFair's
``max_diff`` metrics measure it). fairfast is measured with its expected decisions
(``predict_proba``), OxonFair with its decisions (its rules are deterministic). Fit times
exclude the score model.

Data: Adult by ``sex`` (2 groups) and by ``race`` (5 groups); COMPAS (arrest label) by
``race`` with the two smallest groups (Asian, 31 rows; Native American, 11 rows) merged
into "Other" (4 groups: OxonFair's search grows exponentially with the number of groups).

Methods (``--methods``):

- ``oxonfair``: ``FairPredictor(None, val).fit(accuracy, metric.max_diff, 0.02)``; the
  row also records the rule's accuracy and violation on the validation rows it was
  fitted on, and every point of OxonFair's frontier (its own thresholds) is measured on
  both splits (``*_frontier.csv`` beside the cache);
- ``fairfast``: ``GroupThresholds(constraint, tolerance=0.02)`` (equalized odds in its
  monotone mode, the rules OxonFair fits: one threshold per group);
- ``fairfast_matched``: the same with ``tolerance`` = the violation OxonFair's rule
  reached on the validation rows (the same point of the trade-off on the fit data);
- ``fairfast_exact``: ``tolerance=0``;
- ``fairfast_holdout``: the noise-aware mode, ``tolerance=0.02, tolerance_on="holdout"``;
- ``frontier``: fairfast's frontier, measured on both splits: one rule per tolerance of a
  fixed grid (``FRONTIER_TOLERANCES``) and one per fit-data violation of OxonFair's
  frontier points (needs the ``oxonfair`` frontier);
- ``error_parity`` (with ``--error-parity-python``): error-parity's
  ``RelaxedThresholdOptimizer(constraint, tolerance=0.02)`` (randomised mixing, L-inf
  norm), run in its own environment (it pins numpy < 2):
  ``python -m venv /tmp/ep && /tmp/ep/bin/pip install error-parity``, then
  ``--methods error_parity,fairfast_mixing --error-parity-python /tmp/ep/bin/python``;
  compared with ``fairfast_mixing`` (``mode="mixing"``, the same class of rules) on
  equalized odds, by the same measure (fairfast with expected decisions, error-parity with
  its randomised decisions).

OxonFair fits take minutes at 5 groups, so every finished row is appended to ``--cache``
(a CSV; the frontier points to ``<cache>_frontier.csv``) and reused on the next run: the
full comparison is one command that resumes (seeds without an OxonFair row first). The
tables are in ``thresholds_vs_oxonfair_report.py``.

Run: ``python examples/thresholds_vs_oxonfair.py --seeds 20 --markdown``
(``--cache PATH``, ``--methods oxonfair,fairfast``, ``--datasets adult-sex``, ``--cached``).
The fit times of that run mix machine loads (OxonFair's rows and fairfast's may come from
different runs); ``--timing 0,1,2 --datasets adult-race`` measures speed at the same load:
per seed and constraint, OxonFair's fit and then fairfast's default fit in the same
process (first call, and median of five more), into ``<cache>_timing.csv``.
"""

import argparse
import functools
import os
import sys
import time
import warnings
from typing import NamedTuple

import numpy as np
import pandas as pd
from sklearn.model_selection import train_test_split

TOLERANCE = 0.02
DATASETS = ("adult-sex", "adult-race", "compas-race")
CONSTRAINTS = ("demographic_parity", "equal_opportunity", "equalized_odds")
METHODS = ("oxonfair", "fairfast", "fairfast_matched", "fairfast_exact", "fairfast_holdout", "frontier",
           "error_parity", "fairfast_mixing")
DEFAULT_METHODS = ("oxonfair", "fairfast", "fairfast_matched", "fairfast_exact", "fairfast_holdout", "frontier")
NEEDS_OXONFAIR = ("fairfast_matched", "frontier")  # fitted after OxonFair, from its fit-data violations
DEFAULT_CACHE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "results", "thresholds_vs_oxonfair.csv")
KEY = ["dataset", "constraint", "seed", "method"]
COLUMNS = KEY + ["groups", "accuracy", "violation", "seconds", "fit_accuracy", "fit_violation"]
# frontier points: method oxonfair (its frontier), fairfast_grid (FRONTIER_TOLERANCES) or
# fairfast_matched (tolerance = the fit violation of one OxonFair frontier point); batch: one
# number per fit (the rows of the last batch of a key are its points)
FRONTIER_COLUMNS = KEY + ["tolerance", "fit_accuracy", "fit_violation", "accuracy", "violation", "batch"]
FRONTIER_TOLERANCES = tuple(np.round(np.r_[np.arange(0, 0.1, 0.005), np.arange(0.1, 0.3001, 0.01)], 4))


class Results(NamedTuple):
    rows: pd.DataFrame  # one row per (dataset, constraint, seed, method)
    frontier: pd.DataFrame  # one row per frontier point (FRONTIER_COLUMNS)


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


@functools.lru_cache(maxsize=None)
def _sibling(name):
    """A sibling example module, loaded from its file (the score model and t-intervals
    of ``thresholds_vs_fairlearn``, the tables of ``thresholds_vs_oxonfair_report``);
    imported lazily because this file also runs as error-parity's child in an environment
    without fairfast."""
    import importlib.util

    spec = importlib.util.spec_from_file_location(name, os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                                                     f"{name}.py"))
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def model(X):
    return _sibling("thresholds_vs_fairlearn").model(X)


def splits(y, s, seed):
    strata = np.char.add(s.astype(str), y.astype(str))
    idx = np.arange(y.size)
    tr, rest = train_test_split(idx, test_size=0.6, random_state=seed, stratify=strata)
    va, te = train_test_split(rest, test_size=0.5, random_state=seed, stratify=strata[rest])
    return tr, va, te


def violation(p, y, s, constraint):
    """Largest difference between groups of the selection rate, the TPR, or max(TPR, FPR) differences."""
    _, g = np.unique(s, return_inverse=True)

    def spread(mask):
        rates = np.bincount(g[mask], p[mask], minlength=g.max() + 1) / np.bincount(g[mask], minlength=g.max() + 1)
        return rates.max() - rates.min()

    if constraint == "demographic_parity":
        return spread(np.ones(y.size, dtype=bool))
    tpr = spread(y == 1)
    return tpr if constraint == "equal_opportunity" else max(tpr, spread(y == 0))


def accuracy(p, y):
    return float(np.mean(p * y + (1 - p) * (1 - y)))


class Split(NamedTuple):
    """Scores, labels and groups (integer codes, in the order of the sorted labels) of the validation
    (fit) and test rows of one seed."""
    pv: np.ndarray
    yv: np.ndarray
    sv: np.ndarray
    pt: np.ndarray
    yt: np.ndarray
    st: np.ndarray

    def measure(self, decide, constraint):
        """fit_accuracy, fit_violation, accuracy, violation of ``decide(scores, groups)``."""
        fv, ft = decide(self.pv, self.sv), decide(self.pt, self.st)
        return {"fit_accuracy": accuracy(fv, self.yv), "fit_violation": violation(fv, self.yv, self.sv, constraint),
                "accuracy": accuracy(ft, self.yt), "violation": violation(ft, self.yt, self.st, constraint)}


def split_scores(X, y, s, seed):
    """The :class:`Split` of one seed: the score model fitted on its training part, its
    scores on the validation and test parts, groups as integer codes."""
    tr, va, te = splits(y, s, seed)
    lr = model(X).fit(X.iloc[tr], y[tr])
    codes = np.unique(s, return_inverse=True)[1]
    return Split(lr.predict_proba(X.iloc[va])[:, 1], y[va], codes[va], lr.predict_proba(X.iloc[te])[:, 1], y[te],
                 codes[te])


def full_report(res, cache, md=False):
    """The tables of ``res`` and, when ``cache`` has timing rows beside it, the timing table."""
    rep = _sibling("thresholds_vs_oxonfair_report")
    rows = _read(timing_path(cache), TIMING_COLUMNS)
    return rep.report(res, md) + ("\n" + rep.timing_table(rows, md) if len(rows) else "")


def fit_oxonfair(data, constraint, tol):
    """(measures of the fitted rule, seconds, measures of every point of OxonFair's frontier)."""
    import oxonfair
    from oxonfair import group_metrics as gm

    metric = {"demographic_parity": gm.pos_pred_rate.max_diff, "equal_opportunity": gm.true_pos_rate.max_diff,
              "equalized_odds": gm.equalized_odds_max}[constraint]
    t0 = time.perf_counter()
    fp = oxonfair.FairPredictor(None, {"data": np.column_stack([1 - data.pv, data.pv]), "target": data.yv,
                                       "groups": data.sv})
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        fp.fit(gm.accuracy, metric, tol)
    seconds = time.perf_counter() - t0

    def decide(p, s):
        return np.asarray(fp.predict({"data": np.column_stack([1 - p, p]), "target": np.zeros(p.size), "groups": s}),
                          dtype=float)

    chosen = data.measure(decide, constraint)
    fitted, weights = fp.offset, fp.frontier_thresholds()
    front = []
    for i in range(np.shape(weights)[-1]):  # its frontier: the rules fit() chooses from, one per column
        fp.set_threshold(weights.T[i].T)
        front.append({"tolerance": np.nan, **data.measure(decide, constraint)})
    fp.set_threshold(fitted)
    return chosen, seconds, front


def fit_error_parity(data, constraint, tol, seed, python):
    """error-parity in its own interpreter: scores in, decisions and seconds out (npz files)."""
    import subprocess
    import tempfile

    with tempfile.TemporaryDirectory() as d:
        src, dst = os.path.join(d, "in.npz"), os.path.join(d, "out.npz")
        np.savez(src, pv=data.pv, yv=data.yv, sv=data.sv, pt=data.pt, st=data.st,
                 constraint=constraint, tol=tol, seed=seed)
        subprocess.run([python, os.path.abspath(__file__), "--error-parity-child", src, dst], check=True)
        out = np.load(dst)
        p = out["pred"].astype(float)
        return {"accuracy": accuracy(p, data.yt), "violation": violation(p, data.yt, data.st, constraint)}, \
            float(out["seconds"])


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


def fit_fairfast(data, constraint, tolerance, seed, **kw):
    """(measures of GroupThresholds fitted on the validation rows, seconds)."""
    from fairfast.postprocessing import GroupThresholds

    gt = GroupThresholds(constraint=constraint, tolerance=float(tolerance), random_state=seed, **kw)
    t0 = time.perf_counter()
    gt.fit(data.pv, data.yv, sensitive_features=data.sv)
    seconds = time.perf_counter() - t0
    return data.measure(lambda p, s: gt.predict_proba(p, sensitive_features=s)[:, 1], constraint), seconds


FAIRFAST_KW = {"fairfast": {}, "fairfast_exact": {}, "fairfast_holdout": {"tolerance_on": "holdout"},
               "fairfast_mixing": {"mode": "mixing"}, "fairfast_matched": {}}


def fairfast_frontier(data, constraint, seed, oxonfair_points, grid=FRONTIER_TOLERANCES, points=None):
    """fairfast's rules on the tolerance grid and at the fit violations of OxonFair's frontier points
    (``points``: at most this many of them, evenly spaced)."""
    matched = np.unique(oxonfair_points["fit_violation"].to_numpy(float))
    if points is not None and matched.size > points:
        matched = matched[np.linspace(0, matched.size - 1, points).round().astype(int)]
    out = []
    for method, tols in (("fairfast_grid", grid), ("fairfast_matched", matched)):
        for tol in tols:
            out.append({"method": method, "tolerance": float(tol), **fit_fairfast(data, constraint, tol, seed)[0]})
    return out


TIMING_COLUMNS = ["dataset", "constraint", "seed", "groups", "oxonfair_s", "fairfast_first_s", "fairfast_median_s"]


def timing(seeds, datasets, path, repeats=5, tol=TOLERANCE, log=print):
    """Fit speed at the same machine load: per seed and constraint, OxonFair's fit (once)
    and then, in the same process, fairfast's default fit (``GroupThresholds(constraint,
    tolerance)``; its first call and the median of ``repeats`` more); rows appended to
    ``path``. Returns every row of ``path``."""
    for ds in datasets:
        X, y, s = load(ds)
        for seed in seeds:
            data = split_scores(X, y, s, seed)
            for constraint in CONSTRAINTS:
                _, ox, _ = fit_oxonfair(data, constraint, tol)
                times = [fit_fairfast(data, constraint, tol, seed)[1] for _ in range(repeats + 1)]
                row = {"dataset": ds, "constraint": constraint, "seed": seed, "groups": len(np.unique(data.sv)),
                       "oxonfair_s": ox, "fairfast_first_s": times[0], "fairfast_median_s": float(np.median(times[1:]))}
                log(f"{ds} {constraint} seed={seed} timing: OxonFair {ox:.3g}s, fairfast first {times[0]:.3g}s, "
                    f"median {row['fairfast_median_s']:.3g}s: {ox / row['fairfast_median_s']:.0f}x")
                _append(path, [row], TIMING_COLUMNS)
    return _read(path, TIMING_COLUMNS)


def timing_path(cache):
    return None if not cache else os.path.splitext(cache)[0] + "_timing.csv"


def _read(path, columns):
    if path and os.path.exists(path):
        return pd.read_csv(path)
    return pd.DataFrame(columns=columns)


def _append(path, rows, columns):
    if "batch" in columns:
        batch = time.time_ns()
        for r in rows:
            r["batch"] = batch
    if path and rows:
        os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
        pd.DataFrame(rows).reindex(columns=columns).to_csv(path, mode="a", header=not os.path.exists(path), index=False)


def frontier_path(cache):
    return None if not cache else os.path.splitext(cache)[0] + "_frontier.csv"


def run(seeds, datasets, methods, cache, tol=TOLERANCE, log=print, error_parity_python=None, fit=True,
        grid=FRONTIER_TOLERANCES, points=None):
    """Rows and frontier points, reusing and extending ``cache`` (``fit=False``: the cached ones only;
    ``grid``, ``points``: fairfast's frontier, see :func:`fairfast_frontier`)."""
    done, front_done = _read(cache, COLUMNS), _read(frontier_path(cache), FRONTIER_COLUMNS)
    ox_fit = {}  # (dataset, constraint, seed) -> OxonFair's fit-data violation
    for r in done[(done["method"] == "oxonfair") & done["fit_violation"].notna()].itertuples():
        ox_fit[(r.dataset, r.constraint, str(r.seed))] = float(r.fit_violation)
    fronts = {k: g for k, g in front_done.groupby(KEY)} if len(front_done) else {}
    fronts = {(k[0], k[1], str(k[2]), k[3]): g for k, g in fronts.items()}
    have = set(map(tuple, done[KEY].astype(str).to_numpy())) if len(done) else set()
    rows, front_rows = [], []

    def complete(ds, c, seed, m):
        if m == "oxonfair":  # refitted if it lacks its fit-data measures or, when wanted, its frontier
            return (ds, c, seed) in ox_fit and ("frontier" not in methods or (ds, c, seed, "oxonfair") in fronts)
        if m == "frontier":
            return (ds, c, seed, "fairfast_grid") in fronts
        return (ds, c, seed, m) in have

    for ds in datasets if fit else ():
        X, y, s = load(ds)
        fresh = lambda sd: any((ds, c, str(sd), "oxonfair") in have for c in CONSTRAINTS)  # noqa: E731
        for seed in sorted(range(seeds), key=fresh):  # seeds OxonFair has not seen first
            todo = [(c, m) for c in CONSTRAINTS for m in methods if not complete(ds, c, str(seed), m)
                    and (c == "equalized_odds" or m not in ("error_parity", "fairfast_mixing"))]
            todo.sort(key=lambda cm: cm[1] in NEEDS_OXONFAIR)  # after OxonFair
            if not todo:
                continue
            data = split_scores(X, y, s, seed)
            for constraint, method in todo:
                key = (ds, constraint, str(seed))
                base = {"dataset": ds, "constraint": constraint, "seed": seed}
                if method in NEEDS_OXONFAIR and (key not in ox_fit or (method == "frontier" and key + ("oxonfair",)
                                                                         not in fronts)):
                    log(f"{ds} {constraint} seed={seed} {method}: skipped (no OxonFair fit measures to match)")
                    continue
                if method == "frontier":
                    new = [{**base, **p} for p in fairfast_frontier(data, constraint, seed, fronts[key + ("oxonfair",)],
                                                                         grid, points)]
                    front_rows += new
                    _append(frontier_path(cache), new, FRONTIER_COLUMNS)
                    fronts[key + ("fairfast_grid",)] = pd.DataFrame(new)
                    log(f"{ds} {constraint} seed={seed} frontier: {len(new)} fairfast rules")
                    continue
                if method == "oxonfair":
                    meas, sec, front = fit_oxonfair(data, constraint, tol)
                    new = [{**base, "method": "oxonfair", **p} for p in front]
                    front_rows += new
                    _append(frontier_path(cache), new, FRONTIER_COLUMNS)
                    fronts[key + ("oxonfair",)] = pd.DataFrame(new)
                    ox_fit[key] = meas["fit_violation"]
                elif method == "error_parity":
                    meas, sec = fit_error_parity(data, constraint, tol, seed, error_parity_python)
                else:
                    t = {"fairfast_exact": 0.0, "fairfast_matched": ox_fit.get(key)}.get(method, tol)
                    meas, sec = fit_fairfast(data, constraint, t, seed, **FAIRFAST_KW[method])
                row = {**base, "method": method, "groups": len(np.unique(data.sv)), **meas, "seconds": sec}
                rows.append(row)
                log(f"{ds} {constraint} seed={seed} {method}: acc={row['accuracy']:.4f} "
                    f"viol={row['violation']:.4f} {sec:.3g}s")
                _append(cache, [row], COLUMNS)
    return Results(_merge(done, rows, KEY, datasets, methods, seeds),
                   _merge(front_done, front_rows, None, datasets, None, seeds))


def _merge(old, new, key, datasets, methods, seeds):
    new = pd.DataFrame(new)
    out = pd.concat([old, new], ignore_index=True) if len(old) else new
    if not len(out):
        return out
    keep = out["dataset"].isin(datasets) & (out["seed"].astype(int) < seeds)
    if methods is not None:
        keep &= out["method"].isin(methods)
    out = out[keep]
    if "batch" in out:  # frontier points: a refit replaces all points of its key (the last batch)
        last = out.groupby(KEY)["batch"].transform("max")
        return out[out["batch"] == last].reset_index(drop=True)
    return out.drop_duplicates(key, keep="last").reset_index(drop=True)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seeds", type=int, default=20)
    ap.add_argument("--datasets", default=",".join(DATASETS))
    ap.add_argument("--methods", help=f"default: {','.join(DEFAULT_METHODS)} (with --cached: every method)")
    ap.add_argument("--error-parity-python", help="interpreter of an environment with error-parity installed")
    ap.add_argument("--error-parity-child", nargs=2, help=argparse.SUPPRESS)
    ap.add_argument("--cache", default=DEFAULT_CACHE, help="CSV of finished rows (read and appended); '' for none")
    ap.add_argument("--markdown", action="store_true")
    ap.add_argument("--cached", action="store_true", help="report the cached rows only (fit nothing)")
    ap.add_argument("--plot", help="also draw the test-split frontiers into this image file")
    ap.add_argument("--timing", metavar="SEEDS", help="measure fit speed at equal load on these seeds (e.g. 0,1,2), "
                    "appended to <cache>_timing.csv, and report it")
    args = ap.parse_args()
    if args.error_parity_child:
        return _error_parity_child(*args.error_parity_child)
    datasets = [d for d in args.datasets.split(",") if d]
    methods = [m for m in (args.methods or ",".join(METHODS if args.cached else DEFAULT_METHODS)).split(",") if m]
    bad = sorted(set(datasets) - set(DATASETS)) + sorted(set(methods) - set(METHODS))
    if bad or args.seeds < 1:
        ap.error(f"unknown datasets/methods {bad} or --seeds < 1; datasets: {DATASETS}, methods: {METHODS}")
    if "error_parity" in methods and not args.error_parity_python and not args.cached:
        ap.error("--methods error_parity needs --error-parity-python (error-parity pins numpy < 2: its own venv)")
    rep = _sibling("thresholds_vs_oxonfair_report")
    log = lambda m: print(m, file=sys.stderr, flush=True)  # noqa: E731
    if args.timing:
        rows = timing([int(v) for v in args.timing.split(",")], datasets, timing_path(args.cache or DEFAULT_CACHE),
                      log=log)
        print(rep.timing_table(rows, args.markdown))
        return None
    res = run(args.seeds, datasets, methods, args.cache or None, error_parity_python=args.error_parity_python,
              fit=not args.cached, log=log)
    print(full_report(res, args.cache or DEFAULT_CACHE, args.markdown))
    if args.plot and len(res.frontier):
        rep.plot(res.frontier, args.plot)


if __name__ == "__main__":
    main()
