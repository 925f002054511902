"""The search of :class:`GroupThresholds`: which solver the constraints call for, and
the rule it returns (see :mod:`._thresholds_solvers` for the solvers themselves)."""

import warnings

import numpy as np

from ._thresholds_curves import breakpoint_paths, bounded_paths, collapse_groups, nudge_ends, pack
from ._thresholds_metrics import COUPLING, RATES, Spec
from ._thresholds_solvers import (
    InfeasibleConstraintError,
    InfeasibleConstraintWarning,
    _ranges,
    smallest_tolerance,
    solve_boxes,
    solve_mixing,
    solve_rate_sweep,
    solve_window,
)
from ._thresholds_summary import rule_counts

__all__ = ["solve", "check_groups", "set_rule"]

_SWEEP_KIND = {"selection_rate": 0, "true_positive_rate": 1, "false_positive_rate": 2}
_DINKELBACH_STEPS = 60


def solve(est, curves, packed, specs, objective):
    if not objective.fractional:
        comps, sol, used = _solve_linear(est, curves, packed, specs, objective.weights, objective.normalise)
        return comps, sol, used
    lam, best = 0.0, None  # Dinkelbach: maximise num - lam * den until lam stops growing
    for _ in range(_DINKELBACH_STEPS):
        weights = {k: objective.weights.get(k, 0.0) - lam * objective.denominator.get(k, 0.0)
                   for k in ("tp", "fp", "fn", "tn")}
        comps, sol, used = _solve_linear(est, curves, packed, specs, weights, False)
        value = objective.value(rule_counts(curves, comps))
        if best is not None and not value > lam + 1e-12 * max(1.0, abs(lam)):
            break
        best, lam = (comps, sol, used), value
    return best

def _solve_linear(est, curves, packed, specs, weights, normalise):
    total_w = sum(c.n for c in curves) if normalise else 1.0
    gp = (weights.get("tp", 0.0) - weights.get("fn", 0.0)) / total_w
    gn = (weights.get("fp", 0.0) - weights.get("tn", 0.0)) / total_w
    coupled = [s for s in specs if s.form in COUPLING]
    bounds = [(s.rate, s.form, s.value) for s in specs if s.form not in COUPLING]
    rates = list(dict.fromkeys(s.rate.name for s in coupled))
    if est.mode == "mixing":
        if sorted(rates) != ["false_positive_rate", "true_positive_rate"] or bounds or any(
                s.form != "difference" for s in coupled) or len({s.value for s in coupled}) != 1:
            raise ValueError("mode='mixing' (Hardt's randomised mixing) is for equalized odds only: TPR and FPR "
                             "differences with one tolerance, no per-group bounds")
        comps, sol = solve_mixing(curves, gp, gn, coupled[0].value)
        return comps, sol, specs
    sel, pos, bp = packed if packed is not None else pack(curves)
    if len(rates) == 1 and not bounds and len(coupled) == 1 and coupled[0].form == "difference" \
            and coupled[0].value == 0 and rates[0] in _SWEEP_KIND:
        comps, sol = solve_rate_sweep(sel, pos, bp, _SWEEP_KIND[rates[0]], gp, gn)
        return comps, sol, specs
    paths = nudge_ends(breakpoint_paths(sel, pos, bp), [s.rate for s in specs])
    paths = bounded_paths(paths, bounds)
    gain = gp * paths.tp + gn * paths.fp
    distinct, dgain, inverse = collapse_groups(paths, gain)
    first = np.unique(inverse, return_index=True)[1]
    labels = [est.groups_[g] for g in first]  # one label per distinct group, for messages
    comps, sol, used = _solve_paths(est, curves, distinct, dgain, labels, coupled, bounds, specs, rates, gp, gn)
    # the rule of a merged group, (block, tie fraction), is the same for each copy
    return [comps[u] for u in inverse], sol, used

def _solve_paths(est, curves, paths, gain, labels, coupled, bounds, specs, rates, gp, gn):
    if len(rates) == 2:
        by = {r: [s for s in coupled if s.rate.name == r] for r in rates}
        if any(s.form != "difference" for s in coupled) or any(by[r][0].rate.direction == 0 for r in rates):
            raise ValueError(f"two coupled metrics ({', '.join(rates)}) are supported as differences of rates "
                             "that move one way as more members are accepted (selection rate, TPR, FPR, TNR, "
                             "FNR)")
        w1, w2 = (min(s.value for s in by[r]) for r in rates)
        def mixing_bound():
            return solve_mixing(curves, gp, gn, w1, bound_only=True)[1].total

        bound_fn = None
        if sorted(rates) == ["false_positive_rate", "true_positive_rate"] and not bounds and w1 == w2 \
                and not getattr(est, "_skip_bound", False):
            bound_fn = mixing_bound
        comps, sol = solve_boxes(paths, by[rates[0]][0].rate, by[rates[1]][0].rate, gain, w1, w2, labels,
                                 est.constraint, bound_fn)
        return comps, sol, specs
    rate = coupled[0].rate if coupled else RATES["selection_rate"]
    tol = min((s.value for s in coupled if s.form == "difference"), default=np.inf)
    ratio = max((s.value for s in coupled if s.form == "ratio"), default=None)
    inv_ratio = np.inf if ratio is None else 1.0 / ratio
    try:
        comps, sol = solve_window(paths, rate, gain, tol, inv_ratio, labels, est.constraint)
        return comps, sol, specs
    except InfeasibleConstraintError as exc:
        if est.infeasible == "raise" or not coupled or ratio is not None:
            raise
        relaxed = float(np.nextafter(smallest_tolerance(_ranges(paths, *paths.metric(rate))), np.inf))
        warnings.warn(str(exc), InfeasibleConstraintWarning, stacklevel=6)
        comps, sol = solve_window(paths, rate, gain, relaxed, inv_ratio, labels, est.constraint)
        used = [Spec(s.rate, s.form, relaxed) if s.form == "difference" else s for s in specs]
        return comps, sol, used


def _undefined_reason(rate):
    d = rate.denominator
    if d and set(d) <= {"tp", "fn"}:
        return "has no positive labels, so its {} is undefined"
    if d and set(d) <= {"fp", "tn"}:
        return "has no negative labels, so its {} is undefined"
    return None


def check_groups(groups, curves, specs):
    for lab, c in zip(groups, curves):
        if not c.n > 0:
            raise ValueError(f"group {lab!r} has zero total sample_weight")
        for s in specs:
            reason = _undefined_reason(s.rate)
            if reason is None:
                continue
            total = c.n_positive if "positive" in reason else c.n - c.n_positive
            if not total > 0:
                raise ValueError(f"group {lab!r} " + reason.format(s.rate.name.replace("_", " ")))


def set_rule(est, curves, comps):
    n_mix = max(len(c) for c in comps)
    G = len(curves)
    t = np.full((G, n_mix), np.inf)
    q = np.zeros((G, n_mix))
    w = np.zeros((G, n_mix))
    for g, (c, parts) in enumerate(zip(curves, comps)):
        for j, (k, frac, weight) in enumerate(parts):
            t[g, j], q[g, j] = c.threshold(k, frac)
            w[g, j] = weight
    est.thresholds_, est.tie_fractions_, est.mixture_weights_ = t, q, w
    est.n_components_ = np.array([len(p) for p in comps], dtype=np.int64)
