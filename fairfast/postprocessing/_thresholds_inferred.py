"""Groups missing at prediction time: a fitted :class:`GroupThresholds` applied through a
group classifier's predicted membership (OxonFair's "inferred groups"), and what the
misassignment costs, measured on rows whose true group is known."""

import numpy as np

__all__ = ["inferred_proba", "decide", "misassignment_cost"]


def _membership(est, group_proba, n):
    """(n, n_groups) membership probabilities in the order of ``groups_``."""
    G = len(est.groups_)
    if hasattr(group_proba, "columns"):
        cols = list(group_proba.columns)
        missing = [g for g in est.groups_ if g not in cols]
        if missing:
            raise ValueError(f"group_proba has no column for the fitted groups {missing[:5]!r}; its columns are "
                             f"{cols[:10]!r} (name them by group label, or pass an array in groups_ order)")
        group_proba = group_proba[list(est.groups_)].to_numpy()
    m = np.asarray(group_proba, dtype=np.float64)
    if m.ndim != 2 or m.shape != (n, G):
        raise ValueError(f"group_proba must have shape (n_rows, n_groups) = ({n}, {G}), got {m.shape}")
    if not np.isfinite(m).all() or (m < 0).any() or not np.allclose(m.sum(axis=1), 1.0, atol=1e-6):
        raise ValueError("group_proba must hold finite probabilities >= 0 that sum to 1 in every row")
    return m


def inferred_proba(est, scores, group_proba):
    """Acceptance probability sum_g P(g | x) p_g(s): each group's rule, weighted."""
    n = scores.shape[0]
    m = _membership(est, group_proba, n)
    p = np.zeros(n)
    for g in range(m.shape[1]):
        p += m[:, g] * est._apply(scores, np.full(n, g, dtype=np.int32))
    return p


def decide(p, seed, stream, row_offset):
    """0/1 decisions: 1 where the counter-based uniform of (seed, stream, row) is below p."""
    from .._core import thresholds as _kern

    # each row its own one-threshold "group" at t = q = p: apply_rules then accepts the row
    # with probability p, from the same counter-based uniform predict() uses
    n = p.size
    scores = np.ascontiguousarray(p, dtype=np.float64)
    t = scores.reshape(-1, 1).copy()
    q = scores.reshape(-1, 1).copy()
    w = np.ones((n, 1))
    codes = np.arange(n, dtype=np.int32)
    return _kern.apply_rules(scores, codes, t, q, w, True, seed, stream, row_offset) if n else np.zeros(0, np.int64)


def misassignment_cost(thresholds, X, y, *, sensitive_features, group_proba, sample_weight=None):
    """What applying a fitted rule through predicted groups costs, on rows with known groups.

    Parameters
    ----------
    thresholds : fitted GroupThresholds
    X : array-like
        Features (or scores when the rule was fitted on scores).
    y : array-like of shape (n,)
        Labels 0/1.
    sensitive_features : array-like
        The true groups of these rows.
    group_proba : array-like of shape (n, n_groups) or DataFrame
        A group classifier's membership probabilities for these rows.
    sample_weight : array-like, optional

    Returns
    -------
    pandas.DataFrame
        Rows ``true groups``, ``inferred (soft)`` (each group's rule weighted by the
        membership probabilities) and ``inferred (argmax)``; columns the utility
        (objective), accuracy, the violation of each coupled constraint's metric
        measured on the *true* groups, and ``group_accuracy`` (share of rows whose
        most likely group is the true one; 1 for the true-group row).
    """
    import pandas as pd

    from .._base.validation import as_float_array, check_sample_weight
    from ._thresholds_metrics import parse_objective
    from ._thresholds_summary import violation

    est = thresholds
    scores = est._scores(X)
    n = scores.shape[0]
    yy = as_float_array(y, "y", dtype=np.float64, allow_2d_column=True)
    if yy.shape[0] != n:
        raise ValueError(f"y has {yy.shape[0]} rows but X has {n}")
    w = check_sample_weight(sample_weight, n)
    w = np.ones(n) if w is None else w
    codes = np.asarray(est._codes(sensitive_features, n), dtype=np.int32)
    m = _membership(est, group_proba, n)
    hard = np.argmax(m, axis=1).astype(np.int32)
    G = len(est.groups_)
    P = np.bincount(codes, w * yy, G)
    N = np.bincount(codes, w * (1 - yy), G)
    objective = parse_objective(est.objective, est.cost_matrix, P.sum(), N.sum())
    rows = {}
    for name, p, acc_g in (("true groups", est._apply(scores, codes), 1.0),
                           ("inferred (soft)", inferred_proba(est, scores, m), float(np.average(hard == codes, weights=w))),
                           ("inferred (argmax)", est._apply(scores, hard), float(np.average(hard == codes, weights=w)))):
        tp = np.bincount(codes, w * p * yy, G)
        fp = np.bincount(codes, w * p * (1 - yy), G)
        counts = {"tp": tp.sum(), "fp": fp.sum(), "fn": (P - tp).sum(), "tn": (N - fp).sum()}
        rows[name] = {"utility": objective.value(counts),
                      "accuracy": (counts["tp"] + counts["tn"]) / (P.sum() + N.sum()),
                      "violation": violation(est._specs, tp, fp, P, N), "group_accuracy": acc_g}
    out = pd.DataFrame.from_dict(rows, orient="index")
    out.index.name = "groups used"
    return out
