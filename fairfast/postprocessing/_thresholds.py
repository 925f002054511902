"""Group-threshold post-processing of classifier scores: the estimator (parameters, fit,
predict). Curves, solvers, summary, plotting and model files live in the sibling
``_thresholds_*`` modules."""

import numbers

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin, MetaEstimatorMixin, clone
from sklearn.exceptions import NotFittedError
from sklearn.utils import get_tags
from sklearn.utils.validation import check_is_fitted

from .._base.frames import check_feature_names
from .._base.grouping import Grouping
from .._base.routing import require_sensitive_features
from .._base.serving import Output, Serving, ServingMixin
from .._base.validation import as_float_array, check_choice, check_row_offset, check_sample_weight, check_seed
from .._base.state import ModelFileMixin
from . import _thresholds_state as _state
from ._thresholds_curves import build_curves
from ._thresholds_metrics import NAMED_CONSTRAINTS, parse_constraints, parse_objective
from ._thresholds_search import check_groups, set_rule, solve
from ._thresholds_sklearn import ThresholdsSklearnMixin, binary_target
from ._thresholds_solvers import InfeasibleConstraintError, InfeasibleConstraintWarning
from ._thresholds_summary import summarise

__all__ = ["GroupThresholds", "InfeasibleConstraintError", "InfeasibleConstraintWarning", "RANDOM_STREAM"]

#: Stream number of the counter-based generator used by :meth:`GroupThresholds.predict`
#: (fixed forever: predictions of a saved model must not change across releases).
RANDOM_STREAM = 7

_PREDICT_METHODS = ("auto", "predict_proba", "decision_function", "predict")


def _check_real(value, name, low=0.0):
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or not np.isfinite(float(value)) or value < low:
        raise ValueError(f"{name} must be a finite real number >= {low:g}, got {value!r}")


class GroupThresholds(ThresholdsSklearnMixin, ServingMixin, ModelFileMixin, MetaEstimatorMixin, ClassifierMixin,
                      BaseEstimator):
    r"""Per-group thresholds on a score, optimal under group-fairness constraints.

    Each group :math:`a` gets a *monotone* rule: accept every member whose score is
    above the group's threshold :math:`t_a`, reject every member below it, and accept a
    member whose score equals :math:`t_a` with probability :math:`q_a` (randomisation
    only inside the boundary tie block, so exact rates are reachable with discrete
    scores). A monotone rule never accepts a member while rejecting a better-scored
    member of the same group: it does not cherry-pick (Favier and Calders). Among these
    rules the thresholds maximise an objective on the fit data subject to constraints
    built from per-group confusion counts (see ``docs/thresholds.md``):

    - a named constraint (``"demographic_parity"``, ``"equal_opportunity"``,
      ``"false_positive_rate_parity"``, ``"equalized_odds"``, ``"predictive_parity"``,
      ``"negative_predictive_value_parity"``, ``"accuracy_parity"``, ...) whose
      metric may differ across groups by at most ``tolerance``; or
    - a list of ``(metric, form, value)``: ``metric`` a name (selection rate, TPR, FPR,
      TNR, FNR, PPV, NPV, accuracy, balanced accuracy, F1, with aliases such as
      ``"recall"``) or ``{"numerator": {...}, "denominator": {...}}`` over the counts
      ``tp, fp, fn, tn``; ``form`` one of ``"difference"`` (largest minus smallest group
      value <= value), ``"ratio"`` (smallest / largest >= value, e.g. 0.8), ``"minimum"``
      (every group >= value, "levelling up") and ``"maximum"`` (every group <= value).
      At most two metrics may be coupled across groups.

    **Search.** One coupled metric: exact over every breakpoint and tie fraction for
    rates (a compiled window search over the groups' paths; per-group bounds cut the
    paths); for ratio metrics (PPV, NPV, F1) exact over the grid of breakpoint values
    with a certified bound on what lies between them (``optimality_gap_``). Two coupled
    rates (equalized odds): ``mode="monotone"`` searches boxes of monotone rules, exactly
    while the arrangement's vertices are few (small data), else a global pass over the
    boxes touching a path point and local refinement, with the
    mixing optimum as a bound; ``mode="mixing"`` is Hardt et al.'s randomised mixing of
    thresholds (a linear programme over ROC hulls), which *does* accept members between
    the mixed thresholds at random: its cherry-picking statistics are in
    ``cherry_picking_``.

    Parameters
    ----------
    estimator : estimator object or None, default=None
        Scores come from ``estimator`` (``predict_method``); ``None`` means ``X`` *is*
        the score (one column).
    constraint : str or list of (metric, form, value), default="demographic_parity"
        See above.
    objective : str or dict, default="accuracy"
        ``"accuracy"``, ``"balanced_accuracy"`` (:math:`(TPR + TNR) / 2` over all rows),
        ``"cost"`` (minus the mean cost of ``cost_matrix``), ``"f1"``, ``"precision"``, a
        dict of count weights ``{"tp": .., "fp": .., "fn": .., "tn": ..}`` (utility per
        row), or ``{"numerator": {...}, "denominator": {...}}`` (a ratio of two such sums,
        maximised exactly by Dinkelbach's iteration).
    cost_matrix : array-like of shape (2, 2), optional
        ``[[TN, FP], [FN, TP]]`` costs (rows true, columns predicted), with
        ``objective="cost"``.
    tolerance : float >= 0, default=0.0
        For a named constraint: the largest allowed difference of its metric(s) between
        groups (0: exact parity on the fit data).
    mode : {"monotone", "mixing"}, default="monotone"
        ``"mixing"``: Hardt's randomised mixing, for equalized odds only.
    tolerance_on : {"fit", "holdout"}, default="fit"
        ``"holdout"`` (noise-aware): the difference values bound the *expected held-out*
        violation, estimated by the bootstrap; the fit tolerances are shrunk (largest of
        0, 1/8, ..., 1 times the values) until the estimate is within them.
    n_bootstrap : int or None, default=None
        Bootstrap replicates for ``holdout_`` (and ``tolerance_on="holdout"``); None:
        30 with ``tolerance_on="holdout"``, else 0 (no estimate).
    holdout_size : int or None, default=None
        Rows of the held-out sample the estimate is for (default: the fit rows).
    infeasible : {"raise", "warn"}, default="raise"
        When no monotone rule meets a coupled constraint: raise
        :class:`InfeasibleConstraintError` naming the groups, or warn
        (:class:`InfeasibleConstraintWarning`) and fit with the smallest reachable
        tolerance (``tolerance_``).
    prefit : bool, default=False
        Use ``estimator`` as fitted; otherwise a clone is fitted into ``estimator_``.
    predict_method : {"auto", "predict_proba", "decision_function", "predict"}, default="auto"
        Estimator method giving the score (``predict_proba`` uses the second column).
    random_state : int, RandomState, Generator or None, default=None
        Seed of the boundary randomisation in :meth:`predict` and of the bootstrap.

    Attributes
    ----------
    estimator_ : estimator or None
    groups_ : list
        Group labels (tuples for intersections of several sensitive columns).
    thresholds_, tie_fractions_, mixture_weights_ : ndarray of shape (n_groups, n_mix)
        Group ``a`` accepts score ``s`` with probability
        :math:`\sum_c w_{ac}\,([s > t_{ac}] + q_{ac}[s = t_{ac}])` (``n_mix`` is 1
        except in mixing mode, at most 3).
    n_components_ : ndarray of int64, shape (n_groups,)
    operating_points_ : pandas.DataFrame
        Per group on the fit data: rates, PPV, NPV, accuracy and the group's utility.
    constraints_ : pandas.DataFrame
        Per constraint: metric, form, required value, value on the fit data, met.
    utility_, violation_, tolerance_ : float
        Objective on the fit data; largest difference between groups of a coupled
        metric; tolerance used (larger than asked only after an infeasibility warning).
    optimality_gap_ : float
        Certified bound on how much utility a better rule of the searched class could
        add (0 where the search is exact).
    solver_ : str
        ``"sweep"``, ``"window"``, ``"boxes"`` (exact), ``"boxes-local"`` (not exhaustive, bounded by mixing) or ``"mixing"``.
    cherry_picking_ : dict
        Pooled and worst-group cherry-picking index and excess selections of the
        fitted rule on the fit data (:func:`fairfast.metrics.cherry_picking_statistics`).
    holdout_ : dict or None
        Bootstrap estimate of the held-out violation and utility: mean and 2.5-97.5%
        range (``None`` without bootstrap).
    seed_ : int
    classes_ : ndarray
        ``[0, 1]`` for 0/1 labels or probabilities, else the two labels seen at fit.

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
    >>> lev = GroupThresholds(constraint=[("selection_rate", "ratio", 0.8), ("recall", "minimum", 0.6)])
    >>> ops = lev.fit(p, y, sensitive_features=a).operating_points_
    >>> bool(ops["true_positive_rate"].min() >= 0.6)
    True
    >>> pred = gt.predict(p, sensitive_features=a, random_state=0)
    >>> pred.shape, sorted(np.unique(pred).tolist())
    ((4000,), [0, 1])
    """

    def __init__(self, estimator=None, *, constraint="demographic_parity", objective="accuracy", cost_matrix=None,
                 tolerance=0.0, mode="monotone", tolerance_on="fit", n_bootstrap=None, holdout_size=None,
                 infeasible="raise", prefit=False, predict_method="auto", random_state=None):
        self.estimator = estimator
        self.constraint = constraint
        self.objective = objective
        self.cost_matrix = cost_matrix
        self.tolerance = tolerance
        self.mode = mode
        self.tolerance_on = tolerance_on
        self.n_bootstrap = n_bootstrap
        self.holdout_size = holdout_size
        self.infeasible = infeasible
        self.prefit = prefit
        self.predict_method = predict_method
        self.random_state = random_state

    # ----------------------------------------------------------------- checks
    def _check_params(self):
        _check_real(self.tolerance, "tolerance")
        check_choice(self.mode, "mode", ("monotone", "mixing"))
        check_choice(self.tolerance_on, "tolerance_on", ("fit", "holdout"))
        check_choice(self.infeasible, "infeasible", ("raise", "warn"))
        check_choice(self.predict_method, "predict_method", _PREDICT_METHODS)
        for name in ("n_bootstrap", "holdout_size"):
            v = getattr(self, name)
            if v is not None and (isinstance(v, bool) or not isinstance(v, numbers.Integral) or not 0 <= v < 2**31):
                raise ValueError(f"{name} must be None or an integer in [0, 2**31), got {v!r}")
        specs = parse_constraints(self.constraint, self.tolerance)
        if not isinstance(self.constraint, str) and self.tolerance != 0:
            raise ValueError("tolerance applies to named constraints; a list of constraints carries its own values")
        parse_objective(self.objective, self.cost_matrix, 1.0, 1.0)  # the parameters alone
        return specs

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
            No monotone rule meets a coupled constraint and ``infeasible="raise"``.
        ValueError
            Bad parameters or inputs, a group on which a constrained metric is undefined
            (no positives for a TPR, no negatives for an FPR), or a search larger than
            its documented limit.
        """
        specs = self._check_params()
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
            self.estimator_ = clone(self.estimator).fit(X, y, **self._estimator_fit_params(sample_weight, fit_params))
        self._record_feature_names(X)
        scores = self._scores(X)
        n = scores.shape[0]
        if yy.shape[0] != n:
            raise ValueError(f"y has {yy.shape[0]} rows but X has {n}")
        w = check_sample_weight(sample_weight, n)
        self.grouping_, codes = Grouping.fit(sensitive_features, n, what="the scores have")
        self.groups_ = self.grouping_.labels
        self.n_features_in_ = 1 if self.estimator is None else getattr(self.estimator_, "n_features_in_", 1)
        self.seed_ = check_seed(self.random_state)
        self.classes_ = classes
        from ._thresholds_noise import fit_with_holdout

        fit_with_holdout(self, specs, scores, yy, w, np.ascontiguousarray(codes, dtype=np.int32))
        return self

    def _fit_arrays(self, specs, scores, y, w, codes, store=True):
        """Curves, search and rule for validated arrays (bootstrap replicates call this too)."""
        G = len(self.groups_)
        curves, packed = build_curves(scores, y, codes, G, w)
        check_groups(self.groups_, curves, specs)
        P = sum(c.n_positive for c in curves)
        N = sum(c.n - c.n_positive for c in curves)
        objective = parse_objective(self.objective, self.cost_matrix, P, N)
        comps, sol, specs_used = solve(self, curves, packed, specs, objective)
        set_rule(self, curves, comps)
        self.tolerance_ = max((s.value for s in specs_used if s.form == "difference"), default=float(self.tolerance))
        self.constraint_ = _state.constraint_name(self.constraint)
        self.solver_ = sol.method
        self.optimality_gap_ = sol.gap
        self._specs = specs_used
        if store:
            summarise(self, curves, objective, specs_used, scores, codes, w)
        return curves, objective

    # ---------------------------------------------------------------- predict
    def _codes(self, sensitive_features, n):
        return self.grouping_.encode(sensitive_features, n, what="the scores have")

    # ---------------------------------------------------------------- serving
    _serving = Serving(
        inputs="scores", sensitive=True, fit_labels="required", labels="none", sample_weight=True,
        outputs=(Output("decision", False, "int", "0/1 decisions (randomised only where the rule randomises)"),
                 Output("probability", False, "float", "probability of a positive decision")),
    )

    def _serve(self, X, sensitive_features, y, row_offset):
        scores = self._scores(X)  # (n, 1) scores, or features for the score model
        codes = self._codes(sensitive_features, scores.shape[0])
        return {"decision": self._apply(scores, codes, decide=True, seed=self.seed_, row_offset=row_offset),
                "probability": self._apply(scores, codes)}

    def _serving_inputs(self):
        return "scores" if self.estimator is None else "features"

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
        return self._predicted(np.column_stack([1.0 - p, p]), X)

    def predict(self, X, *, sensitive_features=None, random_state=None, row_offset=0):
        """Decisions 0/1; randomised only where the rule randomises.

        Parameters
        ----------
        X : array-like
            Features (or scores when ``estimator`` is None).
        sensitive_features : array-like, Series, DataFrame or dict of columns
            Groups, as at fit; unseen groups raise.
        random_state : int, RandomState, Generator or None, default=None
            Seed of the counter-based uniforms; None uses ``seed_`` (fixed at fit).
        row_offset : int, default=0
            Global index of the first row: predicting a chunk starting at row ``r`` with
            ``row_offset=r`` reproduces the decisions of one call on all rows (row ``i``
            is accepted iff the uniform of (seed, stream 7, ``row_offset + i``) is below
            its acceptance probability).

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
        codes = self._codes(sensitive_features, scores.shape[0])
        decisions = self._apply(scores, codes, decide=True, seed=seed, row_offset=row_offset)
        return self._predicted(self._labels(decisions), X)

    def predict_proba_inferred(self, X, *, group_proba):
        """Acceptance probability when the group is unknown: each group's rule weighted by a
        group classifier's membership probabilities (see :mod:`fairfast.postprocessing`'s
        :func:`misassignment_cost`).

        Parameters
        ----------
        X : array-like
            Features (or scores when ``estimator`` is None).
        group_proba : array-like of shape (n, n_groups) or DataFrame
            Membership probabilities; DataFrame columns are matched to ``groups_`` by
            label, array columns follow ``groups_``.

        Returns
        -------
        ndarray of shape (n, 2)
        """
        from ._thresholds_inferred import inferred_proba

        check_is_fitted(self, "thresholds_")
        p = inferred_proba(self, self._scores(X), group_proba)
        return self._predicted(np.column_stack([1.0 - p, p]), X)

    def predict_inferred(self, X, *, group_proba, random_state=None, row_offset=0):
        """Decisions (labels of ``classes_``) from :meth:`predict_proba_inferred` (same
        counter-based uniforms as :meth:`predict`: chunked calls with ``row_offset`` equal one call)."""
        from ._thresholds_inferred import decide

        check_is_fitted(self, "thresholds_")
        row_offset = check_row_offset(row_offset)
        seed = self.seed_ if random_state is None else check_seed(random_state)
        p = np.asarray(self.predict_proba_inferred(X, group_proba=group_proba))[:, 1]
        return self._predicted(self._labels(decide(p, seed, RANDOM_STREAM, row_offset)), X)

    # ------------------------------------------------------------------- plot
    def plot(self, curve="roc", ax=None):
        """Each group's fit-data curve with its chosen operating point.

        Parameters
        ----------
        curve : {"roc", "selection"}, default="roc"
            ``"roc"``: FPR against TPR; ``"selection"``: selection rate against PPV.
        ax : matplotlib Axes, optional

        Returns
        -------
        matplotlib Axes
        """
        from ._thresholds_plot import plot_rule

        check_is_fitted(self, "thresholds_")
        return plot_rule(self, curve, ax)

    # ------------------------------------------------------------ model files
    def save(self, path):
        """Save the fitted rule to a model file (JSON + .npy in a zip, never pickle).

        Only a rule fitted on scores (``estimator=None``) can be saved: a model file
        never holds a scikit-learn estimator. Load it with :func:`fairfast.load`.
        """
        super().save(path)

    def _get_state(self):
        """The fitted rule as JSON-able metadata and a dict of arrays (see
        :mod:`fairfast.postprocessing._thresholds_state`)."""
        check_is_fitted(self, "thresholds_")
        return _state.get_state(self)

    @classmethod
    def _from_state(cls, meta, arrays):
        """Rebuild a fitted estimator from :meth:`_get_state` output (both layouts);
        inconsistent input raises ValueError."""
        return _state.from_state(cls, meta, arrays)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.requires_fit = True
        tags.non_deterministic = False
        tags.classifier_tags.multi_class = False
        if self.estimator is not None:  # the score model reads X
            tags.input_tags.sparse = get_tags(self.estimator).input_tags.sparse
        return tags


CONSTRAINTS = tuple(NAMED_CONSTRAINTS)
