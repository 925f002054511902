"""Slow, obvious reference for GroupThresholds: enumerate monotone rules of every group.

Each group's rules are the positions on its breakpoint path (accept the k best
distinct scores) and ``steps`` evenly spaced tie fractions on every segment; every
combination over the groups is checked against the constraints and scored. Written
without fairfast code: counts, metrics and objectives are spelled out here.
"""

import numpy as np

METRICS = {
    "selection_rate": lambda tp, fp, fn, tn: ((tp + fp), (tp + fp + fn + tn)),
    "true_positive_rate": lambda tp, fp, fn, tn: (tp, tp + fn),
    "false_positive_rate": lambda tp, fp, fn, tn: (fp, fp + tn),
    "true_negative_rate": lambda tp, fp, fn, tn: (tn, fp + tn),
    "false_negative_rate": lambda tp, fp, fn, tn: (fn, tp + fn),
    "positive_predictive_value": lambda tp, fp, fn, tn: (tp, tp + fp),
    "negative_predictive_value": lambda tp, fp, fn, tn: (tn, tn + fn),
    "accuracy": lambda tp, fp, fn, tn: (tp + tn, tp + fp + fn + tn),
    "balanced_accuracy": lambda tp, fp, fn, tn: (tp / (tp + fn) + tn / (tn + fp), 2.0 + 0 * tp),
    "f1": lambda tp, fp, fn, tn: (2 * tp, 2 * tp + fp + fn),
}


def objective_value(name, tp, fp, fn, tn, cost=None, weights=None):
    n = tp + fp + fn + tn
    if name == "accuracy":
        return (tp + tn) / n
    if name == "balanced_accuracy":
        return 0.5 * tp / (tp + fn) + 0.5 * tn / (tn + fp)
    if name == "cost":
        return -(cost[0][0] * tn + cost[0][1] * fp + cost[1][0] * fn + cost[1][1] * tp) / n
    if name == "f1":
        return 2 * tp / (2 * tp + fp + fn)
    if name == "precision":
        with np.errstate(invalid="ignore", divide="ignore"):
            return np.where(tp + fp > 0, tp / np.where(tp + fp > 0, tp + fp, 1), np.nan)
    if name == "weights":
        return (weights.get("tp", 0) * tp + weights.get("fp", 0) * fp + weights.get("fn", 0) * fn
                + weights.get("tn", 0) * tn) / n
    raise ValueError(name)


def group_positions(s, y, steps):
    """(tp, fp) at every breakpoint and at ``steps`` fractions of every segment."""
    levels = np.unique(s)[::-1]
    tp = [0.0]
    fp = [0.0]
    for v in levels:
        blk = s == v
        tp.append(tp[-1] + y[blk].sum())
        fp.append(fp[-1] + (1 - y[blk]).sum())
    tp, fp = np.array(tp), np.array(fp)
    f = np.arange(steps) / steps
    tps = np.r_[(tp[:-1, None] + f * np.diff(tp)[:, None]).ravel(), tp[-1]]
    fps = np.r_[(fp[:-1, None] + f * np.diff(fp)[:, None]).ravel(), fp[-1]]
    return tps, fps, tp[-1], fp[-1]


def best(s, y, a, constraints, objective, steps=6, cost=None, weights=None, slack=1e-9):
    """Best objective over all combinations of group positions meeting every constraint
    (``-inf`` if none does). ``constraints``: (metric, form, value)."""
    groups = np.unique(a)
    pos = [group_positions(s[a == g], y[a == g], steps) for g in groups]
    grids = np.meshgrid(*[p[0] for p in pos], indexing="ij")
    fgrids = np.meshgrid(*[p[1] for p in pos], indexing="ij")
    feasible = np.ones(grids[0].shape, dtype=bool)
    for metric, form, value in constraints:
        vals = []
        for tpg, fpg, (_, _, P, N) in zip(grids, fgrids, pos):
            num, den = METRICS[metric](tpg, fpg, P - tpg, N - fpg)
            with np.errstate(invalid="ignore", divide="ignore"):
                vals.append(np.where(den > 0, num / np.where(den > 0, den, 1), np.nan))
        v = np.stack(vals)
        defined = ~np.isnan(v).any(axis=0)
        vmax, vmin = np.nanmax(np.where(defined, v, 0), axis=0), np.nanmin(np.where(defined, v, 0), axis=0)
        if form == "difference":
            ok = vmax - vmin <= value + slack
        elif form == "ratio":
            ok = (vmin >= value * vmax - slack) | (vmax == 0)
        elif form == "minimum":
            ok = vmin >= value - slack
        else:
            ok = vmax <= value + slack
        feasible &= ok & defined
    tp = sum(grids)
    fp = sum(fgrids)
    P = sum(p[2] for p in pos)
    N = sum(p[3] for p in pos)
    obj = objective_value(objective, tp, fp, P - tp, N - fp, cost, weights)
    obj = np.where(feasible & ~np.isnan(obj), obj, -np.inf)
    return float(obj.max())

