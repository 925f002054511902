"""The fitted summary of :class:`GroupThresholds`: operating points, constraint report,
utility, violation, cherry-picking statistics and the curves kept for plotting."""

import numpy as np

from ._thresholds_metrics import COUPLING, RATES

__all__ = ["summarise", "rule_counts", "group_counts", "POINT_KEYS", "CURVE_KEYS"]

POINT_KEYS = ("selection_rate", "true_positive_rate", "false_positive_rate", "positive_predictive_value",
              "negative_predictive_value", "accuracy", "utility")
CURVE_KEYS = ("selection_rate", "true_positive_rate", "false_positive_rate", "positive_predictive_value")
_PLOT_POINTS = 2000


def _mass(c, k, q):
    """Accepted weight and accepted positives at block k, tie fraction q."""
    k = min(int(k), c.selected.size - 1)
    sel, pos = c.selected[k], c.positives[k]
    if q > 0 and k + 1 < c.selected.size:
        sel = sel + q * (c.selected[k + 1] - sel)
        pos = pos + q * (c.positives[k + 1] - pos)
    return float(sel), float(pos)


def rule_counts(curves, comps):
    """Summed expected confusion counts of solver components on the fit data."""
    tp = fp = P = N = 0.0
    for c, parts in zip(curves, comps):
        for k, q, w in parts:
            s_, p_ = _mass(c, k, q)
            tp += w * p_
            fp += w * (s_ - p_)
        P += c.n_positive
        N += c.n - c.n_positive
    return {"tp": tp, "fp": fp, "fn": P - tp, "tn": N - fp}


def _position_mass(c, t, q):
    """Accepted weight and accepted positive weight of the rule (t, q) on curve c."""
    v = c.scores  # decreasing
    above = int(np.searchsorted(-v, -t, side="left"))  # blocks with score > t
    sel, pos = c.selected[above], c.positives[above]
    if above < v.size and v[above] == t and q > 0:
        sel += q * (c.selected[above + 1] - c.selected[above])
        pos += q * (c.positives[above + 1] - c.positives[above])
    return sel, pos


def group_counts(est, curves):
    """Per group: expected accepted weight and accepted positives of the fitted rule."""
    sel = np.zeros(len(curves))
    pos = np.zeros(len(curves))
    for g, c in enumerate(curves):
        for t, q, w in zip(est.thresholds_[g], est.tie_fractions_[g], est.mixture_weights_[g]):
            if w > 0:
                s_, p_ = _position_mass(c, t, q)
                sel[g] += w * s_
                pos[g] += w * p_
    return sel, pos


def _spec_value(spec, values):
    v = values[~np.isnan(values)]
    if not v.size:
        return np.nan
    if spec.form == "difference":
        return float(v.max() - v.min())
    if spec.form == "ratio":
        return float(v.min() / v.max()) if v.max() > 0 else 1.0
    return float(v.min() if spec.form == "minimum" else v.max())


def _met(spec, achieved):
    if np.isnan(achieved):
        return False
    slack = 1e-9
    if spec.form in ("difference", "maximum"):
        return achieved <= spec.value + slack
    return achieved >= spec.value - slack


def violation(specs, tp, fp, P, N):
    """Largest difference between groups of a coupled metric (NaN if undefined)."""
    spreads = [_spec_value(type(s)(s.rate, "difference", 0.0), s.rate.value(tp, fp, P, N))
               for s in specs if s.form in COUPLING]
    if not spreads:
        return 0.0
    return max(spreads) if not any(np.isnan(spreads)) else np.nan


def summarise(est, curves, objective, specs, scores, codes, w):
    """Set operating_points_, constraints_, utility_, violation_, cherry_picking_, curves_."""
    import pandas as pd

    sel, pos = group_counts(est, curves)
    n = np.array([c.n for c in curves])
    P = np.array([c.n_positive for c in curves])
    N = n - P
    fp = sel - pos
    index = pd.Index(list(est.groups_), name="group", tupleize_cols=False)
    cols = {key: RATES[key].value(pos, fp, P, N) for key in POINT_KEYS[:-1]}
    lin = objective.weights if not objective.fractional else objective.weights
    scale = n.sum() if objective.normalise and not objective.fractional else 1.0
    cols["utility"] = (lin.get("tp", 0) * pos + lin.get("fp", 0) * fp + lin.get("fn", 0) * (P - pos)
                       + lin.get("tn", 0) * (N - fp)) / scale
    est.operating_points_ = pd.DataFrame(cols, index=index, columns=list(POINT_KEYS))
    counts = {"tp": pos.sum(), "fp": fp.sum(), "fn": (P - pos).sum(), "tn": (N - fp).sum()}
    est.utility_ = float(objective.value(counts))
    est.violation_ = violation(specs, pos, fp, P, N)
    rows = []
    for s in specs:
        achieved = _spec_value(s, s.rate.value(pos, fp, P, N))
        rows.append({"metric": s.rate.name, "form": s.form, "value": s.value, "achieved": achieved,
                     "met": _met(s, achieved)})
    est.constraints_ = pd.DataFrame(rows, columns=["metric", "form", "value", "achieved", "met"])
    est.cherry_picking_ = _cherry_picking(est, scores, codes)
    _store_curves(est, curves)


def _cherry_picking(est, scores, codes):
    from ..metrics import cherry_picking_statistics

    p = est._apply(scores, codes)
    res = cherry_picking_statistics(scores, p, sensitive_features=codes)
    worst = res.by_group.index[int(np.argmax(res.by_group["cherry_picking_index"].to_numpy()))]
    return {"index": float(res.pooled["cherry_picking_index"]), "worst_index": float(res.worst),
            "worst_group": est.groups_[int(worst)], "excess_selections": float(res.pooled["excess_selections"]),
            "merit_regret": float(res.pooled["merit_regret"])}


def _store_curves(est, curves):
    """Downsampled fit-data curves for :meth:`GroupThresholds.plot`."""
    out = {}
    for lab, c in zip(est.groups_, curves):
        k = np.unique(np.linspace(0, c.selected.size - 1, min(c.selected.size, _PLOT_POINTS)).astype(np.int64))
        sel, pos = c.selected[k], c.positives[k]
        with np.errstate(invalid="ignore", divide="ignore"):
            out[lab] = {
                "selection_rate": sel / c.n,
                "true_positive_rate": pos / c.n_positive if c.n_positive > 0 else np.full(k.size, np.nan),
                "false_positive_rate": (sel - pos) / c.n_negative if c.n_negative > 0 else np.full(k.size, np.nan),
                "positive_predictive_value": np.where(sel > 0, pos / np.where(sel > 0, sel, 1), np.nan),
            }
    est.curves_ = out
