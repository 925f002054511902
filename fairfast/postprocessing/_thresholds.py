"""Group-threshold post-processing of classifier scores that never cherry-picks."""

import numbers
import warnings

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin, MetaEstimatorMixin, clone
from sklearn.exceptions import NotFittedError
from sklearn.utils import get_tags
from sklearn.utils.validation import check_is_fitted

from .._base.grouping import Grouping, grouping_from_state, grouping_state
from .._base.serving import Output, Serving, ServingMixin
from .._base.validation import as_float_array, check_choice, check_row_offset, check_sample_weight, check_seed
from .._base.state import ModelFileMixin
from ._thresholds_curves import build_curves, pack
from ._thresholds_sklearn import ThresholdsSklearnMixin, binary_target, classes_from_json, classes_to_json
from .._base.frames import check_feature_names, feature_names_from_state, feature_names_state
from .._base.routing import require_sensitive_features

__all__ = [
    "GroupThresholds",
    "InfeasibleConstraintError",
    "InfeasibleConstraintWarning",
    "RANDOM_STREAM",
]

#: Stream number of the counter-based generator used by :meth:`GroupThresholds.predict`
#: (fixed forever: predictions of a saved model must not change across releases).
RANDOM_STREAM = 7

_ALIASES = {
    "demographic_parity": "demographic_parity",
    "selection_rate_parity": "demographic_parity",
    "equal_opportunity": "true_positive_rate_parity",
    "true_positive_rate_parity": "true_positive_rate_parity",
    "false_positive_rate_parity": "false_positive_rate_parity",
    "equalized_odds": "equalized_odds",
    "predictive_parity": "predictive_parity",
}
CONSTRAINTS = tuple(_ALIASES)
OBJECTIVES = ("accuracy", "balanced_accuracy", "cost")
_PREDICT_METHODS = ("auto", "predict_proba", "decision_function", "predict")
_METRIC_NAMES = {
    "demographic_parity": "selection_rate",
    "true_positive_rate_parity": "true_positive_rate",
    "false_positive_rate_parity": "false_positive_rate",
    "predictive_parity": "positive_predictive_value",
}
_PLOT_POINTS = 2000
_RATE_KIND = {"demographic_parity": 0, "true_positive_rate_parity": 1, "false_positive_rate_parity": 2}


class InfeasibleConstraintError(ValueError):
    """No within-group monotone threshold rule meets the constraint within the tolerance."""


class InfeasibleConstraintWarning(UserWarning):
    """The constraint was relaxed to the smallest violation a monotone rule can reach."""


def _fmt(label):
    return repr(label)


class GroupThresholds(ThresholdsSklearnMixin, ServingMixin, ModelFileMixin, MetaEstimatorMixin, ClassifierMixin,
                      BaseEstimator):
    r"""Per-group thresholds on a score, optimal under a group-fairness constraint.

    Each group :math:`a` gets a *monotone* rule: accept every member whose score is
    above the group's threshold :math:`t_a`, reject every member below it, and accept a
    member whose score equals :math:`t_a` with probability :math:`q_a` (randomisation
    only inside the boundary tie block, so exact rates are reachable with discrete
    scores). Among these rules the thresholds maximise a utility (accuracy, balanced
    accuracy or minus an expected cost) on the fit data subject to a constraint whose
    spread across groups is at most ``tolerance``. A monotone rule never accepts a
    member while rejecting a better-scored member of the same group, so it does not
    cherry-pick (Favier and Calders' sense; its cherry-picking index, excess
    selections and merit regret in :func:`fairfast.metrics.cherry_picking_statistics`
    are 0 when the boundary has no ties).

    **Exact search.** Every group's monotone rules form a polyline through its
    breakpoints (accept the :math:`k` best distinct scores, :math:`k = 0..B_a`), with
    the tie fraction moving linearly between them. Rates (selection rate, TPR, FPR) and
    utility are linear along a segment, and the positive predictive value is a ratio of
    linear functions, so both are monotone on a segment: the best rule whose metric lies
    in a window :math:`[c, c + \text{tolerance}]` is at a breakpoint inside the window or
    where the polyline crosses a window end. The compiled search evaluates each group's
    utility envelope on the sorted grid of all breakpoint metric values (and these
    values shifted by :math:`\pm` ``tolerance``), slides the window over it and keeps
    the best total (with ``tolerance=0`` and a rate constraint, one merge walk over the
    groups' breakpoint rates does the same without building the grid). For the rate
    constraints the summed utility is piecewise linear in the window position with
    kinks only at grid values, so the result is the exact optimum over monotone rules
    (no grid of rates as in fairlearn). Cost: one sort per group plus
    :math:`O(B \log B)`.

    **Equalized odds** (equal TPR *and* FPR) is different: two groups' ROC polylines
    generally meet only at (0, 0), (1, 1) and a few crossings, so threshold rules alone
    give poor accuracy. As Hardt et al. (2016), each group may *mix* threshold rules:
    the reachable (FPR, TPR) points are the convex hull of its ROC breakpoints. The
    common operating point (or, with a tolerance, the per-group points within
    ``tolerance / 2`` of a common centre in both rates) maximising utility is the linear
    programme

    .. math::

        \max_{\lambda \ge 0, F, T} \sum_a \sum_{j \in H_a} \lambda_{aj} U_{aj}
        \quad\text{s.t.}\quad \sum_j \lambda_{aj} = 1,\;
        \Big|\sum_j \lambda_{aj} x_{aj} - F\Big| \le \tfrac{\text{tol}}{2},\;
        \Big|\sum_j \lambda_{aj} y_{aj} - T\Big| \le \tfrac{\text{tol}}{2},

    over the hull vertices :math:`H_a` (FPR :math:`x`, TPR :math:`y`, utility
    :math:`U` of each breakpoint), solved with HiGHS (``scipy.optimize.linprog``).
    Each group's point is then written as a mixture of at most three thresholds (a
    basic solution of a three-row LP that keeps the point and minimises
    :math:`\sum_j \mu_j |S_j - S_P|`, :math:`S` the accepted mass). The acceptance probability of a mixture is a
    non-decreasing step function of the score -- monotone in expectation -- but
    members between the mixed thresholds are accepted at random, which the
    cherry-picking statistics count (their soft-decision index is positive inside that
    band). This is the price of exact equalized odds; the fitted ``n_components_``
    shows which groups mix.

    **Infeasible constraints.** Along a monotone polyline a group's positive
    predictive value only covers the interval between its smallest and largest value
    at the breakpoints (it tends to the base rate as everyone is accepted). When these
    intervals of two groups are further apart than ``tolerance``, no monotone rule meets
    predictive parity; meeting it would need a rule that rejects better-scored members
    of a group while accepting worse ones. ``infeasible="raise"`` (default) raises
    :class:`InfeasibleConstraintError` naming the groups and their ranges;
    ``"warn"`` warns (:class:`InfeasibleConstraintWarning`) and fits the best monotone
    rule with the smallest reachable spread (stored in ``tolerance_``). The rate
    constraints and equalized odds are always feasible (everyone rejected).

    Parameters
    ----------
    estimator : estimator object or None, default=None
        Scores come from ``estimator`` (``predict_method``); ``None`` means ``X`` *is*
        the score (one column).
    constraint : str, default="demographic_parity"
        ``"demographic_parity"`` (alias ``"selection_rate_parity"``): equal selection
        rates; ``"equal_opportunity"`` (alias ``"true_positive_rate_parity"``): equal
        TPR; ``"false_positive_rate_parity"``; ``"equalized_odds"``: equal TPR and FPR;
        ``"predictive_parity"``: equal positive predictive value (PPV).
    objective : {"accuracy", "balanced_accuracy", "cost"}, default="accuracy"
        Utility maximised on the fit data: accuracy; balanced accuracy
        :math:`(\mathrm{TPR} + \mathrm{TNR}) / 2` over all rows; or minus the
        mean cost of ``cost_matrix``.
    cost_matrix : array-like of shape (2, 2), optional
        ``cost_matrix[i][j]`` is the cost of predicting ``j`` for a member whose label is
        ``i`` (rows true, columns predicted: ``[[TN, FP], [FN, TP]]``). Required with
        ``objective="cost"``.
    tolerance : float >= 0, default=0.0
        Largest allowed difference between the groups' constraint metrics (for
        equalized odds: in TPR and in FPR). 0 is exact parity on the fit data.
    infeasible : {"raise", "warn"}, default="raise"
        What to do when no monotone rule meets the constraint (see above).
    prefit : bool, default=False
        Use ``estimator`` as fitted; otherwise a clone is fitted on ``(X, y)`` into
        ``estimator_``.
    predict_method : {"auto", "predict_proba", "decision_function", "predict"}, default="auto"
        Estimator method giving the score; ``"auto"`` tries them in this order
        (``predict_proba`` uses the second column).
    random_state : int, RandomState, Generator or None, default=None
        Seed of the boundary randomisation in :meth:`predict` (None draws one at fit,
        stored in ``seed_``).

    Attributes
    ----------
    estimator_ : estimator or None
        The fitted score model (None when ``X`` holds scores).
    groups_ : list
        Group labels (tuples for intersections of several sensitive columns).
    thresholds_, tie_fractions_, mixture_weights_ : ndarray of shape (n_groups, n_mix)
        Group ``a``'s acceptance probability of score ``s`` is
        :math:`\sum_c w_{ac}\,([s > t_{ac}] + q_{ac}[s = t_{ac}])` with ``t``,
        ``q``, ``w`` these arrays (``n_mix`` is 1 except for equalized odds, at most 3).
    n_components_ : ndarray of int64, shape (n_groups,)
        Thresholds mixed in each group (1: a plain threshold rule).
    operating_points_ : pandas.DataFrame
        Per group on the fit data: selection rate, TPR, FPR, PPV (NaN if nothing is
        selected) and the group's share of the utility.
    utility_ : float
        Objective value of the fitted rule on the fit data (expected over the
        randomisation).
    violation_ : float
        Spread of the constraint metric across groups on the fit data (for equalized
        odds the larger of the TPR and FPR spreads).
    tolerance_ : float
        Tolerance used (larger than ``tolerance`` only after an infeasibility warning).
    seed_ : int
        Seed of :meth:`predict`'s randomisation.
    classes_ : ndarray
        ``[0, 1]`` for 0/1 labels or probabilities, else the two labels seen at fit.

    Notes
    -----
    Decisions recorded against the specification (``cherry_picking.md``):

    - Algorithm 2 rounds :math:`k_a = \mathrm{round}(r n_a)` on a grid of rates; here
      the search is exact over every breakpoint and the tie fraction makes equal rates
      exact, so the closed-form case (rates 1/3, thresholds 2/3 and 1/3) is recovered
      up to sampling error, not grid error.
    - Utility with soft labels: ``y`` may hold probabilities (expected labels), the
      "expected accuracy" variant of Algorithm 2; the empirical PPV ranges are then
      those of the specification's forced predictive-parity example.
    - Predictive parity is undefined for a group that selects nobody; such a rule does
      not count as meeting it (each group must select some mass). Its search is exact
      over the grid of breakpoint PPVs shifted by :math:`0, \pm` ``tolerance``; the
      utility along a segment is a monotone function of the PPV, so a finer common
      value can gain at most one boundary block per group.
    - Randomisation: ``predict`` accepts row ``i`` iff :math:`u_i < p_i` with
      :math:`u_i` the counter-based uniform of ``(seed, stream 7, row_offset + i)``
      (:data:`RANDOM_STREAM`), so chunked or multi-threaded predictions equal one call.

    References
    ----------
    M. Hardt, E. Price, N. Srebro. "Equality of opportunity in supervised learning".
    NeurIPS 2016.

    M. Favier, T. Calders. "Cherry on the cake: fairness is NOT an optimization
    problem". arXiv:2406.16606.

    Examples
    --------
    >>> import numpy as np
    >>> from fairfast.postprocessing import GroupThresholds
    >>> rng = np.random.default_rng(0)
    >>> a = rng.integers(0, 2, 4000)
    >>> p = np.where(a == 0, rng.uniform(0, 1, 4000), rng.uniform(0, 0.5, 4000))
    >>> y = (rng.uniform(size=4000) < p).astype(int)
    >>> gt = GroupThresholds(constraint="demographic_parity").fit(p, y, sensitive_features=a)
    >>> gt.operating_points_["selection_rate"].round(6).tolist()  # equal rates
    [0.332183, 0.332183]
    >>> float(gt.violation_) < 1e-12
    True
    >>> pred = gt.predict(p, sensitive_features=a, random_state=0)
    >>> pred.shape, sorted(np.unique(pred).tolist())
    ((4000,), [0, 1])
    """

    _serving = Serving(
        inputs="scores", sensitive=True, fit_labels="required", labels="none", sample_weight=True,
        outputs=(Output("decision", False, "int", "0/1 decisions (randomised only at a group's boundary tie)"),
                 Output("probability", False, "float", "probability of a positive decision")),
    )

    def __init__(
        self,
        estimator=None,
        *,
        constraint="demographic_parity",
        objective="accuracy",
        cost_matrix=None,
        tolerance=0.0,
        infeasible="raise",
        prefit=False,
        predict_method="auto",
        random_state=None,
    ):
        self.estimator = estimator
        self.constraint = constraint
        self.objective = objective
        self.cost_matrix = cost_matrix
        self.tolerance = tolerance
        self.infeasible = infeasible
        self.prefit = prefit
        self.predict_method = predict_method
        self.random_state = random_state

    # ----------------------------------------------------------------- checks
    def _check_params(self):
        check_choice(self.constraint, "constraint", CONSTRAINTS)
        check_choice(self.objective, "objective", OBJECTIVES)
        check_choice(self.infeasible, "infeasible", ("raise", "warn"))
        check_choice(self.predict_method, "predict_method", _PREDICT_METHODS)
        tol = self.tolerance
        if isinstance(tol, bool) or not isinstance(tol, numbers.Real) or not np.isfinite(tol) or tol < 0:
            raise ValueError(f"tolerance must be a finite real number >= 0, got {tol!r}")
        cost = None
        if self.objective == "cost":
            if self.cost_matrix is None:
                raise ValueError("objective='cost' needs cost_matrix, a 2x2 array [[TN, FP], [FN, TP]] of costs")
            cost = np.asarray(self.cost_matrix, dtype=float)
            if cost.shape != (2, 2) or not np.isfinite(cost).all():
                raise ValueError(f"cost_matrix must be a finite 2x2 array [[TN, FP], [FN, TP]], got shape {cost.shape}")
        elif self.cost_matrix is not None:
            raise ValueError(f"cost_matrix is only used with objective='cost', got objective={self.objective!r}")
        return _ALIASES[self.constraint], float(tol), cost

    def _scores(self, X):
        if self.estimator is None:
            check_feature_names(self, X, reset=False, count=False)
            return as_float_array(X, "X", dtype=np.float64, allow_2d_column=True, min_rows=1)
        est = self.estimator_
        methods = ("predict_proba", "decision_function", "predict") if self.predict_method == "auto" else (
            self.predict_method,)
        for name in methods:
            if hasattr(est, name):
                out = np.asarray(getattr(est, name)(X))
                if name == "predict_proba":
                    if out.ndim != 2 or out.shape[1] != 2:
                        raise ValueError(f"estimator.predict_proba must return 2 columns, got shape {out.shape}")
                    out = out[:, 1]
                return as_float_array(out, f"estimator.{name}(X)", dtype=np.float64, allow_2d_column=True)
        raise ValueError(f"estimator has none of the methods {', '.join(methods)} (predict_method="
                         f"{self.predict_method!r})")

    # -------------------------------------------------------------------- fit
    def fit(self, X, y, *, sensitive_features=None, sample_weight=None, **fit_params):
        """Fit the score model (unless ``prefit``) and choose the group thresholds.

        Parameters
        ----------
        X : array-like
            Features for ``estimator``, or the scores (shape (n,) or (n, 1)) when
            ``estimator`` is None.
        y : array-like of shape (n,)
            Labels 0/1, or probabilities in [0, 1] (expected labels), or any two labels
            (the larger in sorted order is the positive class).
        sensitive_features : array-like, Series, DataFrame or dict of columns
            Group of each row (several columns: intersections).
        sample_weight : array-like of shape (n,), optional
            Row weights in every count (not passed to the estimator).
        **fit_params
            Passed to ``estimator.fit`` when it is fitted here (under metadata routing:
            the fit metadata the estimator requests).

        Returns
        -------
        self

        Raises
        ------
        InfeasibleConstraintError
            Predictive parity with disjoint achievable ranges and ``infeasible="raise"``.
        ValueError
            Bad parameters or inputs, or a group without positives (TPR constraints) or
            negatives (FPR constraints).
        """
        kind, tol, cost = self._check_params()
        sensitive_features = require_sensitive_features(sensitive_features, self, "fit")
        yy, classes = binary_target(y)  # before fitting a score model on them
        if self.estimator is None:
            self.estimator_ = None
        elif self.prefit:
            try:
                check_is_fitted(self.estimator)
            except NotFittedError:
                raise ValueError("prefit=True but estimator is not fitted; fit it first or pass prefit=False") from None
            self.estimator_ = self.estimator
        else:
            params = self._estimator_fit_params(sample_weight, fit_params)
            self.estimator_ = clone(self.estimator).fit(X, y, **params)
        self._record_feature_names(X)
        scores = self._scores(X)
        n = scores.shape[0]
        if yy.shape[0] != n:
            raise ValueError(f"y has {yy.shape[0]} rows but X has {n}")
        w = check_sample_weight(sample_weight, n)
        self.grouping_, codes = Grouping.fit(sensitive_features, n, what="the scores have")
        labels = self.groups_ = self.grouping_.labels
        self.n_features_in_ = 1 if self.estimator is None else getattr(self.estimator_, "n_features_in_", 1)
        self.seed_ = check_seed(self.random_state)
        self.classes_ = classes
        curves, packed = build_curves(scores, yy, codes, len(labels), w)
        self._check_groups(curves, kind)
        gp, gn, const = self._gains(curves, cost)
        tol_used = tol
        if kind == "equalized_odds":
            comps = self._fit_equalized_odds(curves, gp, gn, tol)
        else:
            comps, tol_used, _ = self._fit_window(curves, packed, kind, gp, gn, tol)
        self._set_rule(curves, comps)
        self.tolerance_ = tol_used
        self.constraint_ = kind
        self._summarise(curves, gp, gn, const, kind)
        self._store_curves(curves)
        return self

    def _check_groups(self, curves, kind):
        for lab, c in zip(self.groups_, curves):
            if not c.n > 0:
                raise ValueError(f"group {_fmt(lab)} has zero total sample_weight")
            if kind in ("true_positive_rate_parity", "equalized_odds") and not c.n_positive > 0:
                raise ValueError(f"group {_fmt(lab)} has no positive labels, so its true positive rate is undefined")
            if kind in ("false_positive_rate_parity", "equalized_odds") and not c.n_negative > 0:
                raise ValueError(f"group {_fmt(lab)} has no negative labels, so its false positive rate is undefined")

    def _gains(self, curves, cost):
        """Utility = const + sum over accepted mass of gp (positives) and gn (negatives)."""
        total = sum(c.n for c in curves)
        pos = sum(c.n_positive for c in curves)
        neg = total - pos
        if self.objective == "accuracy":
            return 1.0 / total, -1.0 / total, neg / total
        if self.objective == "balanced_accuracy":
            if not (pos > 0 and neg > 0):
                raise ValueError("objective='balanced_accuracy' needs both positive and negative labels in y")
            return 0.5 / pos, -0.5 / neg, 0.5
        gp = (cost[1, 0] - cost[1, 1]) / total  # a positive accepted: FN cost saved, TP cost paid
        gn = (cost[0, 0] - cost[0, 1]) / total  # a negative accepted: TN cost saved, FP cost paid
        return gp, gn, -(pos * cost[1, 0] + neg * cost[0, 0]) / total

    @staticmethod
    def _metric(c, kind):
        if kind == "demographic_parity":
            return c.selected, np.full(c.selected.size, c.n)
        if kind == "true_positive_rate_parity":
            return c.positives, np.full(c.selected.size, c.n_positive)
        if kind == "false_positive_rate_parity":
            return c.false_positives, np.full(c.selected.size, c.n_negative)
        return c.positives, c.selected  # predictive parity

    def _fit_window(self, curves, packed, kind, gp, gn, tol):
        from .._core import thresholds as _kern

        if tol == 0 and kind in _RATE_KIND:  # exact merge walk, no grid materialised
            sel, pos, bp = packed if packed is not None else pack(curves)
            total, k, q, value = _kern.sweep_rates(sel, pos, bp, _RATE_KIND[kind], float(gp), float(gn))
            return [[(int(k[g]), float(q[g]), 1.0)] for g in range(len(curves))], tol, True

        nums, dens, gains, ranges = [], [], [], []
        for c in curves:
            num, den = self._metric(c, kind)
            nums.append(np.ascontiguousarray(num, dtype=np.float64))
            dens.append(np.ascontiguousarray(den, dtype=np.float64))
            gains.append(gp * c.positives + gn * c.false_positives)
            if kind == "predictive_parity":
                ok = den > 0  # PPV is undefined while nothing is selected
                m = num[ok] / den[ok]
                ranges.append((float(m.min()), float(m.max()), m))
            else:
                m = num / den  # non-decreasing
                ranges.append((0.0, 1.0, m))
        feasible = True
        if kind == "predictive_parity":
            gap = max(r[0] for r in ranges) - min(r[1] for r in ranges)
            if gap > tol:
                feasible = False
                msg = self._infeasible_message(ranges, tol, gap)
                if self.infeasible == "raise":
                    raise InfeasibleConstraintError(msg)
                warnings.warn(msg, InfeasibleConstraintWarning, stacklevel=3)
                tol = float(np.nextafter(gap, np.inf))
        grid = self._grid([r[2] for r in ranges], tol, monotone=kind != "predictive_parity")
        offsets = np.zeros(len(curves) + 1, dtype=np.int64)
        offsets[1:] = np.cumsum([c.selected.size for c in curves])
        lo, hi, total, k, q, value = _kern.search_windows(
            np.concatenate(nums), np.concatenate(dens), np.concatenate(gains), offsets, grid, tol)
        if lo < 0:  # cannot happen after the range check; keep the kernel's verdict authoritative
            raise InfeasibleConstraintError(self._infeasible_message(ranges, tol, np.inf))
        comps = [[(int(k[g]), float(q[g]), 1.0)] for g in range(len(curves))]
        return comps, tol, feasible

    @staticmethod
    def _grid(values, tol, monotone):
        parts = list(values)
        if tol > 0:
            parts = parts + [v - tol for v in values] + [v + tol for v in values]
        allv = np.concatenate(parts)
        # monotone curves are sorted runs: a stable (merge) sort is linear in them
        allv = np.sort(allv, kind="stable" if monotone else "quicksort")
        keep = np.empty(allv.size, dtype=bool)
        keep[0] = True
        np.not_equal(allv[1:], allv[:-1], out=keep[1:])
        return np.ascontiguousarray(allv[keep])

    def _infeasible_message(self, ranges, tol, gap):
        los = [r[0] for r in ranges]
        his = [r[1] for r in ranges]
        pairs = [(a, b) for a in range(len(ranges)) for b in range(len(ranges)) if los[a] - his[b] > tol]
        desc = "; ".join(
            f"group {_fmt(self.groups_[a])} reaches [{los[a]:.4g}, {his[a]:.4g}] but group "
            f"{_fmt(self.groups_[b])} only [{los[b]:.4g}, {his[b]:.4g}]" for a, b in pairs[:6])
        return (f"constraint={self.constraint!r} cannot be met within tolerance={tol:g} by monotone "
                f"(non-cherry-picking) group thresholds: the achievable positive predictive value ranges are "
                f"disjoint ({desc}; gap {gap:.4g}). Meeting it would need rejecting better-scored members of a "
                f"group while accepting worse ones. Raise tolerance to at least {gap:.4g}, or pass "
                f"infeasible='warn' to fit the monotone rule with the smallest reachable spread.")

    def _fit_equalized_odds(self, curves, gp, gn, tol):
        from scipy.optimize import linprog

        from .._core import thresholds as _kern

        xs = [np.ascontiguousarray(c.false_positives / c.n_negative) for c in curves]
        ys = [np.ascontiguousarray(c.positives / c.n_positive) for c in curves]
        us = [gp * c.positives + gn * c.false_positives for c in curves]
        offsets = np.zeros(len(curves) + 1, dtype=np.int64)
        offsets[1:] = np.cumsum([x.size for x in xs])
        verts, voff = _kern.convex_hulls(np.concatenate(xs), np.concatenate(ys), offsets)
        hulls = [verts[voff[g]:voff[g + 1]] for g in range(len(curves))]
        nv = sum(h.size for h in hulls)
        G = len(curves)
        n_var = nv + 2  # lambdas, then the common centre (F, T)
        c_obj = np.zeros(n_var)
        a_eq = np.zeros((G, n_var))
        rows_x = np.zeros((G, n_var))
        rows_y = np.zeros((G, n_var))
        pos = 0
        for g, h in enumerate(hulls):
            sl = slice(pos, pos + h.size)
            c_obj[sl] = -us[g][h]
            a_eq[g, sl] = 1.0
            rows_x[g, sl] = xs[g][h]
            rows_y[g, sl] = ys[g][h]
            pos += h.size
        rows_x[:, nv] = -1.0
        rows_y[:, nv + 1] = -1.0
        b_one = np.ones(G)
        bounds = [(0, None)] * nv + [(0, 1), (0, 1)]
        if tol == 0:
            res = linprog(c_obj, A_eq=np.vstack([a_eq, rows_x, rows_y]),
                          b_eq=np.concatenate([b_one, np.zeros(2 * G)]), bounds=bounds, method="highs")
        else:
            a_ub = np.vstack([rows_x, -rows_x, rows_y, -rows_y])
            res = linprog(c_obj, A_ub=a_ub, b_ub=np.full(4 * G, tol / 2), A_eq=a_eq, b_eq=b_one, bounds=bounds,
                          method="highs")
        if res.status != 0:
            raise RuntimeError(f"the equalized-odds linear programme failed: {res.message}")
        comps = []
        pos = 0
        for g, h in enumerate(hulls):
            lam = res.x[pos:pos + h.size]
            pos += h.size
            comps.append(self._decompose(h, xs[g][h], ys[g][h], curves[g].selected[h], lam))
        return comps

    @staticmethod
    def _decompose(h, x, y, sel, lam):
        r"""The group's point as a mixture of at most three hull vertices.

        Every mixture reaching the point has the same utility (utility is linear in
        (FPR, TPR)); among them we take the one whose components' accepted masses
        :math:`S_j` are closest to the point's own :math:`S_P`, minimising
        :math:`\sum_j \mu_j |S_j - S_P|` -- a linear proxy for staying close to a
        single threshold. A basic solution of this three-row LP has at most three
        components.
        """
        from scipy.optimize import linprog

        px, py, ps = float(lam @ x), float(lam @ y), float(lam @ sel)
        cost = np.abs(sel - ps) / max(float(sel.max()), 1.0)
        res = linprog(cost, A_eq=np.vstack([np.ones_like(x), x, y]), b_eq=[1.0, px, py], bounds=(0, None),
                      method="highs-ds")
        mu = res.x if res.status == 0 else lam
        mu = np.where(mu > 1e-12, mu, 0.0)
        keep = np.flatnonzero(mu)
        mu = mu[keep] / mu[keep].sum()
        return [(int(h[j]), 0.0, float(m)) for j, m in zip(keep, mu)]

    def _set_rule(self, curves, comps):
        n_mix = max(len(c) for c in comps)
        G = len(curves)
        t = np.full((G, n_mix), np.inf)
        q = np.zeros((G, n_mix))
        w = np.zeros((G, n_mix))
        for g, (c, parts) in enumerate(zip(curves, comps)):
            for j, (k, frac, weight) in enumerate(parts):
                t[g, j], q[g, j] = c.threshold(k, frac)
                w[g, j] = weight
        self.thresholds_, self.tie_fractions_, self.mixture_weights_ = t, q, w
        self.n_components_ = np.array([len(p) for p in comps], dtype=np.int64)

    def _position_mass(self, c, t, q):
        """Accepted weight and accepted positive weight of the rule (t, q) on curve c."""
        v = c.scores  # decreasing
        above = int(np.searchsorted(-v, -t, side="left"))  # blocks with score > t
        sel, pos = c.selected[above], c.positives[above]
        if above < v.size and v[above] == t and q > 0:
            sel += q * (c.selected[above + 1] - c.selected[above])
            pos += q * (c.positives[above + 1] - c.positives[above])
        return sel, pos

    def _summarise(self, curves, gp, gn, const, kind):
        import pandas as pd

        rows, utility = [], const
        for g, c in enumerate(curves):
            sel = pos = 0.0
            for t, q, w in zip(self.thresholds_[g], self.tie_fractions_[g], self.mixture_weights_[g]):
                if w > 0:
                    s_, p_ = self._position_mass(c, t, q)
                    sel += w * s_
                    pos += w * p_
            fp = sel - pos
            u = gp * pos + gn * fp
            utility += u
            rows.append({
                "selection_rate": sel / c.n,
                "true_positive_rate": pos / c.n_positive if c.n_positive > 0 else np.nan,
                "false_positive_rate": fp / c.n_negative if c.n_negative > 0 else np.nan,
                "positive_predictive_value": pos / sel if sel > 0 else np.nan,
                "utility": u,
            })
        index = pd.Index(list(self.groups_), name="group", tupleize_cols=False)
        self.operating_points_ = pd.DataFrame(rows, index=index)
        self.utility_ = float(utility)
        op = self.operating_points_
        if kind == "equalized_odds":
            cols = ["true_positive_rate", "false_positive_rate"]
        else:
            cols = [_METRIC_NAMES[kind]]
        spreads = [float(op[col].max() - op[col].min()) for col in cols]
        self.violation_ = max(spreads) if not any(np.isnan(spreads)) else np.nan

    def _store_curves(self, curves):
        """Downsampled fit-data curves for :meth:`plot`."""
        out = {}
        for lab, c in zip(self.groups_, curves):
            k = np.unique(np.linspace(0, c.selected.size - 1, min(c.selected.size, _PLOT_POINTS)).astype(np.int64))
            sel, pos = c.selected[k], c.positives[k]
            with np.errstate(invalid="ignore", divide="ignore"):
                out[lab] = {
                    "selection_rate": sel / c.n,
                    "true_positive_rate": pos / c.n_positive if c.n_positive > 0 else np.full(k.size, np.nan),
                    "false_positive_rate": (sel - pos) / c.n_negative if c.n_negative > 0 else np.full(k.size, np.nan),
                    "positive_predictive_value": np.where(sel > 0, pos / np.where(sel > 0, sel, 1), np.nan),
                }
        self.curves_ = out

    # ---------------------------------------------------------------- predict
    def _codes(self, sensitive_features, n):
        return self.grouping_.encode(sensitive_features, n, what="the scores have")

    def _apply(self, scores, codes, decide=False, seed=0, row_offset=0):
        from .._core import thresholds as _kern

        return _kern.apply_rules(scores, np.ascontiguousarray(codes, dtype=np.int32), self.thresholds_,
                                 self.tie_fractions_, self.mixture_weights_, decide, seed, RANDOM_STREAM, row_offset)

    def predict_proba(self, X, *, sensitive_features=None):
        """Probability of a positive decision (expected over the randomisation).

        Parameters
        ----------
        X : array-like
            Features (or scores when ``estimator`` is None).
        sensitive_features : array-like, Series, DataFrame or dict of columns
            Groups, as at fit; unseen groups raise.

        Returns
        -------
        ndarray of shape (n, 2), or the ``set_output(predict=...)`` container
            Columns: probability of ``classes_[0]`` and of ``classes_[1]``.
        """
        check_is_fitted(self, "thresholds_")
        sensitive_features = require_sensitive_features(sensitive_features, self, "predict_proba")
        scores = self._scores(X)
        p = self._apply(scores, self._codes(sensitive_features, scores.shape[0]))
        out = np.empty((p.size, 2))
        np.subtract(1.0, p, out=out[:, 0])
        out[:, 1] = p
        return self._predicted(out, X)

    def predict(self, X, *, sensitive_features=None, random_state=None, row_offset=0):
        """Decisions 0/1; randomised only where the rule randomises.

        Parameters
        ----------
        X : array-like
            Features (or scores when ``estimator`` is None).
        sensitive_features : array-like, Series, DataFrame or dict of columns
            Groups, as at fit; unseen groups raise.
        random_state : int, RandomState, Generator or None, default=None
            Seed of the counter-based uniforms; None uses ``seed_`` (fixed at fit), so
            repeated calls agree.
        row_offset : int, default=0
            Global index of the first row: predicting a chunk starting at row ``r`` with
            ``row_offset=r`` reproduces the decisions of one call on all rows.

        Returns
        -------
        ndarray of shape (n,), or the ``set_output(predict=...)`` container
            Labels of ``classes_`` (int64 0/1 for 0/1 labels).
        """
        check_is_fitted(self, "thresholds_")
        sensitive_features = require_sensitive_features(sensitive_features, self, "predict")
        row_offset = check_row_offset(row_offset)
        seed = self.seed_ if random_state is None else check_seed(random_state)
        scores = self._scores(X)
        n = scores.shape[0]
        decisions = self._apply(scores, self._codes(sensitive_features, n), decide=True, seed=seed,
                                row_offset=row_offset)
        return self._predicted(self._labels(decisions), X)

    # ---------------------------------------------------------------- serving
    def _serve(self, X, sensitive_features, y, row_offset):
        scores = self._scores(X)  # (n, 1) scores, or features for the score model
        codes = self._codes(sensitive_features, scores.shape[0])
        return {"decision": self._apply(scores, codes, decide=True, seed=self.seed_, row_offset=row_offset),
                "probability": self._apply(scores, codes)}

    def _serving_inputs(self):
        return "scores" if self.estimator is None else "features"

    # ------------------------------------------------------------------- plot
    def plot(self, curve="roc", ax=None):
        """Each group's fit-data curve with its chosen operating point.

        Parameters
        ----------
        curve : {"roc", "selection"}, default="roc"
            ``"roc"``: FPR against TPR; ``"selection"``: selection rate against PPV.
        ax : matplotlib Axes, optional
            Drawn into a new figure when omitted.

        Returns
        -------
        matplotlib Axes
        """
        check_is_fitted(self, "thresholds_")
        check_choice(curve, "curve", ("roc", "selection"))
        import matplotlib.pyplot as plt

        if ax is None:
            _, ax = plt.subplots()
        xk, yk = (("false_positive_rate", "true_positive_rate") if curve == "roc"
                  else ("selection_rate", "positive_predictive_value"))
        for lab in self.groups_:
            line, = ax.plot(self.curves_[lab][xk], self.curves_[lab][yk], label=str(lab), lw=1)
            i = self.groups_.index(lab)
            ax.plot(self.operating_points_[xk].iloc[i], self.operating_points_[yk].iloc[i], "o",
                    color=line.get_color(), ms=7)
        ax.set_xlabel(xk.replace("_", " "))
        ax.set_ylabel(yk.replace("_", " "))
        ax.set_title(f"{self.constraint}: chosen operating points")
        ax.legend(title="group")
        return ax

    # ------------------------------------------------------------ model files
    _CURVE_KEYS = ("selection_rate", "true_positive_rate", "false_positive_rate", "positive_predictive_value")
    _POINT_KEYS = ("selection_rate", "true_positive_rate", "false_positive_rate", "positive_predictive_value",
                   "utility")

    def save(self, path):
        """Save the fitted rule to a model file (JSON + .npy in a zip, never pickle).

        Load it with :func:`fairfast.load`; see :func:`fairfast.io.save` for the format.
        Only a rule fitted on scores (``estimator=None``) can be saved: a model file
        never holds a scikit-learn estimator.
        """
        super().save(path)

    def _get_state(self):
        """The fitted rule as JSON-able metadata and a dict of arrays (no pickle).

        Only models fitted on scores (``estimator=None``) can be written: a model file
        never holds a scikit-learn estimator.

        Returns
        -------
        meta : dict
            ``params``, ``seed``, ``groups`` (lists for intersections, with
            ``groups_are_tuples``), ``constraint``, ``tolerance``, ``utility``,
            ``violation``, ``classes`` (the two labels; absent in older files: 0/1).
        arrays : dict of str to ndarray
            ``thresholds``, ``tie_fractions``, ``mixture_weights`` (n_groups, n_mix),
            ``n_components``, ``operating_points`` (n_groups, 5) and the plotted curves
            (``curve.<metric>`` concatenated, ``curve_offsets``).
        """
        check_is_fitted(self, "thresholds_")
        if self.estimator is not None:
            raise ValueError("only a GroupThresholds fitted on scores (estimator=None) can be written to a model "
                             "file: model files never hold a scikit-learn estimator; fit it on the estimator's "
                             "scores instead")
        params = self.get_params()
        params.pop("estimator")
        if params["cost_matrix"] is not None:
            params["cost_matrix"] = np.asarray(params["cost_matrix"], dtype=float).tolist()
        if not isinstance(params["random_state"], (numbers.Integral, type(None))):
            params["random_state"] = None  # a generator: seed holds what was drawn
        elif params["random_state"] is not None:
            params["random_state"] = int(params["random_state"])
        params["tolerance"] = float(params["tolerance"])
        multi = bool(self.groups_) and isinstance(self.groups_[0], tuple)
        meta = {
            "params": params,
            "seed": int(self.seed_),
            "groups": [list(g) if isinstance(g, tuple) else g for g in self.groups_],
            "groups_are_tuples": multi,
            "constraint": self.constraint_,
            "tolerance": float(self.tolerance_),
            "utility": float(self.utility_),
            "violation": None if np.isnan(self.violation_) else float(self.violation_),
            "classes": classes_to_json(self.classes_),
            "feature_names_in": feature_names_state(self),
        }
        meta["grouping"], grouping_arrays = grouping_state(self.grouping_)
        op = self.operating_points_
        arrays = {
            "thresholds": self.thresholds_,
            "tie_fractions": self.tie_fractions_,
            "mixture_weights": self.mixture_weights_,
            "n_components": self.n_components_,
            "operating_points": np.ascontiguousarray(op[list(self._POINT_KEYS)].to_numpy(dtype=np.float64)),
        }
        sizes = [self.curves_[g]["selection_rate"].size for g in self.groups_]
        arrays["curve_offsets"] = np.concatenate([[0], np.cumsum(sizes)]).astype(np.int64)
        for key in self._CURVE_KEYS:
            arrays[f"curve.{key}"] = np.concatenate([self.curves_[g][key] for g in self.groups_])
        arrays.update(grouping_arrays)
        return meta, arrays

    @classmethod
    def _from_state(cls, meta, arrays):
        """Rebuild a fitted estimator from :meth:`_get_state` output; inconsistent input raises ValueError."""
        import pandas as pd

        try:
            est = cls(**meta["params"])
            kind, _, _ = est._check_params()
            tuples = bool(meta["groups_are_tuples"])
            groups = [tuple(g) if tuples else g for g in meta["groups"]]
            t = np.asarray(arrays["thresholds"], dtype=np.float64)
            q = np.asarray(arrays["tie_fractions"], dtype=np.float64)
            w = np.asarray(arrays["mixture_weights"], dtype=np.float64)
            ncomp = np.asarray(arrays["n_components"])
            points = np.asarray(arrays["operating_points"], dtype=np.float64)
            offsets = np.asarray(arrays["curve_offsets"])
            curves = [np.asarray(arrays[f"curve.{k}"], dtype=np.float64) for k in cls._CURVE_KEYS]
            seed = int(meta["seed"])
            constraint = meta["constraint"]
            tolerance, utility = float(meta["tolerance"]), float(meta["utility"])
            violation = np.nan if meta["violation"] is None else float(meta["violation"])
        except (KeyError, TypeError) as exc:
            raise ValueError(f"model state is incomplete or malformed: {exc!r}") from None
        G = len(groups)
        if G < 1 or t.ndim != 2 or t.shape[0] != G or t.shape[1] < 1 or q.shape != t.shape or w.shape != t.shape:
            raise ValueError("model state is inconsistent: thresholds, tie_fractions and mixture_weights must have "
                             "shape (n_groups, n_mix)")
        if np.isnan(t).any() or not ((q >= 0) & (q <= 1)).all() or not (w >= 0).all() or \
                not (np.abs(w.sum(axis=1) - 1) <= 1e-9).all():
            raise ValueError("model state is inconsistent: thresholds must not be NaN, tie fractions must lie in "
                             "[0, 1] and each group's mixture weights must be >= 0 and sum to 1")
        if ncomp.shape != (G,) or points.shape != (G, len(cls._POINT_KEYS)):
            raise ValueError("model state is inconsistent: n_components or operating_points has the wrong shape")
        if offsets.shape != (G + 1,) or offsets[0] != 0 or (np.diff(offsets) < 0).any() or \
                any(c.shape != (int(offsets[-1]),) for c in curves):
            raise ValueError("model state is inconsistent: curve arrays do not match curve_offsets")
        if constraint != kind or not 0 <= seed < 2**64:
            raise ValueError("model state is inconsistent: constraint or seed does not match the parameters")
        est.estimator_ = None
        est.grouping_ = grouping_from_state(meta, arrays, groups)
        est.groups_ = groups
        est.n_features_in_ = 1
        est.seed_ = seed
        est.classes_ = classes_from_json(meta)
        est.thresholds_ = np.ascontiguousarray(t)
        est.tie_fractions_ = np.ascontiguousarray(q)
        est.mixture_weights_ = np.ascontiguousarray(w)
        est.n_components_ = ncomp.astype(np.int64)
        est.constraint_ = constraint
        est.tolerance_ = tolerance
        est.utility_ = utility
        est.violation_ = violation
        index = pd.Index(list(groups), name="group", tupleize_cols=False)
        est.operating_points_ = pd.DataFrame(points, index=index, columns=list(cls._POINT_KEYS))
        est.curves_ = {
            g: {k: c[offsets[i]:offsets[i + 1]].copy() for k, c in zip(cls._CURVE_KEYS, curves)}
            for i, g in enumerate(groups)
        }
        return feature_names_from_state(est, meta.get("feature_names_in"))

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.requires_fit = True
        tags.non_deterministic = False
        tags.classifier_tags.multi_class = False
        if self.estimator is not None:  # the score model reads X
            tags.input_tags.sparse = get_tags(self.estimator).input_tags.sparse
        return tags

