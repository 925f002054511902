"""Fairness that holds on new data: the bootstrap estimate of a rule's held-out violation
and utility, and the noise-aware fit (``tolerance_on="holdout"``); the trade-off
frontier over tolerances is in :mod:`._thresholds_frontier`.

The bootstrap follows the plug-in principle: the fit data stand for the population.
Each replicate refits the rule on a resample of the fit rows (drawn within each group,
so every group keeps its size) and measures it, with expected decisions, on an
*independent* resample of ``holdout_size`` rows (groups in their fit proportions): the
spread of those measurements is the sampling spread of the held-out violation a user
would see on a new sample of that size, including the noise of fitting on a finite
sample.
"""

import numpy as np
from sklearn.base import clone

from ._thresholds_metrics import Spec
from ._thresholds_solvers import InfeasibleConstraintError
from ._thresholds_summary import violation

__all__ = ["fit_with_holdout", "holdout_estimate", "SCALES"]

#: Fractions of the requested tolerances tried by ``tolerance_on="holdout"`` (largest kept).
SCALES = tuple(np.linspace(0.0, 1.0, 9))
_DEFAULT_REPLICATES = 30


def _resample_counts(codes, starts, order, sizes, draws, rng, n):
    """Row counts of one resample: ``draws[g]`` rows drawn with replacement within group g."""
    G = sizes.size
    grp = np.repeat(np.arange(G), draws)
    idx = starts[grp] + np.minimum((rng.random(grp.size) * sizes[grp]).astype(np.int64), sizes[grp] - 1)
    return np.bincount(order[idx], minlength=n)


def _scaled(specs, s):
    return [Spec(x.rate, x.form, x.value * s) if x.form == "difference" else x for x in specs]


def holdout_estimate(est, specs, scores, y, w, codes, replicates, holdout_size, rng):
    """Mean and 2.5-97.5% range of the held-out violation and utility over bootstrap replicates.

    ``replicates``: list of (fit counts, test counts); a replicate whose refit is
    impossible (a group without positives for a TPR, an infeasible constraint) is skipped
    and counted in ``failed``.
    """
    viols, utils, failed = [], [], 0
    rep = clone(est).set_params(tolerance_on="fit", n_bootstrap=0)
    rep.groups_, rep.seed_, rep.classes_, rep.estimator_ = est.groups_, est.seed_, est.classes_, None
    rep._skip_bound = True  # a replicate needs its rule, not the certificate of a non-exhaustive search
    plain = bool((w == 1).all() and np.all((y == 0) | (y == 1)))
    for fit_counts, test_counts in replicates:
        if plain:  # repeat the drawn rows: unweighted 0/1 labels take the compiled curve path
            idx = np.repeat(np.arange(codes.size), fit_counts)
            fit = (scores[idx], y[idx], None, codes[idx])
        else:
            m = fit_counts > 0
            fit = (scores[m], y[m], w[m] * fit_counts[m], codes[m])
        try:
            _, objective = rep._fit_arrays(specs, *fit, store=False)
        except (InfeasibleConstraintError, ValueError):
            failed += 1
            continue
        p = rep._apply(scores, codes)
        tw = w * test_counts
        G = len(est.groups_)
        tp = np.bincount(codes, tw * p * y, G)
        fp = np.bincount(codes, tw * p * (1 - y), G)
        P = np.bincount(codes, tw * y, G)
        N = np.bincount(codes, tw * (1 - y), G)
        viols.append(violation(specs, tp, fp, P, N))
        utils.append(objective.value({"tp": tp.sum(), "fp": fp.sum(), "fn": (P - tp).sum(), "tn": (N - fp).sum()}))
    v, u = np.asarray(viols, dtype=float), np.asarray(utils, dtype=float)
    v = v[~np.isnan(v)]

    def band(a):
        if not a.size:
            return np.nan, np.nan, np.nan
        return float(a.mean()), float(np.percentile(a, 2.5)), float(np.percentile(a, 97.5))

    vm, vl, vh = band(v)
    um, ul, uh = band(u)
    return {"violation_mean": vm, "violation_low": vl, "violation_high": vh, "utility_mean": um,
            "utility_low": ul, "utility_high": uh, "replicates": int(v.size), "failed": int(failed),
            "holdout_size": int(holdout_size)}


def _draw(codes, w, G, B, holdout_size, rng):
    n = codes.size
    order = np.argsort(codes, kind="stable")
    sizes = np.bincount(codes, minlength=G)
    starts = np.r_[0, np.cumsum(sizes)[:-1]]
    test_draws = np.maximum(1, np.round(sizes * holdout_size / n)).astype(np.int64)
    return [(_resample_counts(codes, starts, order, sizes, sizes, rng, n),
             _resample_counts(codes, starts, order, sizes, test_draws, rng, n)) for _ in range(B)]


def fit_with_holdout(est, specs, scores, y, w, codes):
    """Fit ``est`` on validated arrays; with bootstrap replicates set ``holdout_``, and with
    ``tolerance_on="holdout"`` choose the largest fraction of the tolerances whose
    estimated mean held-out violation stays within them."""
    holdout = est.tolerance_on == "holdout"
    B = est.n_bootstrap if est.n_bootstrap is not None else (_DEFAULT_REPLICATES if holdout else 0)
    size = est.holdout_size or codes.size
    if holdout:
        targets = [s.value for s in specs if s.form == "difference"]
        if not targets:
            raise ValueError("tolerance_on='holdout' needs a difference constraint: the tolerance it keeps on "
                             "held-out data")
        if B < 2:
            raise ValueError(f"tolerance_on='holdout' needs n_bootstrap >= 2 replicates, got {B}")
    if B == 0:
        est._fit_arrays(specs, scores, y, w, codes)
        est.holdout_ = None
        return
    rng = np.random.default_rng(est.seed_)
    reps = _draw(codes, w, len(est.groups_), B, size, rng)
    wb = np.ones(codes.size) if w is None else w  # replicates carry their counts as weights
    if not holdout:
        est._fit_arrays(specs, scores, y, w, codes)
        est.holdout_ = {**holdout_estimate(est, specs, scores, y, wb, codes, reps, size, rng), "fit_scale": 1.0}
        return
    target = min(targets)
    chosen, estimate = 0.0, None
    for s in SCALES:
        est_s = holdout_estimate(est, _scaled(specs, s), scores, y, wb, codes, reps, size, rng)
        if estimate is None or (est_s["violation_mean"] <= target):
            chosen, estimate = s, est_s
        if not est_s["violation_mean"] <= target or target == 0:
            break
    est._fit_arrays(_scaled(specs, chosen), scores, y, w, codes)
    est.holdout_ = {**estimate, "fit_scale": float(chosen)}
