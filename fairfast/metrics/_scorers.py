r"""Scorers for model selection under fairness (``scoring=`` of ``GridSearchCV`` & co).

A :class:`FairnessScorer` calls the estimator with the held-out fold's
``sensitive_features`` (routed to it by scikit-learn's metadata routing, which must be
enabled: ``sklearn.set_config(enable_metadata_routing=True)``) and combines a utility
and an unfairness measure into one number, greater is better:

.. math::

    \text{score} = \text{utility} - \text{weight} \cdot \max(0,\ \text{unfairness} - \text{bound})

``bound=0`` gives the weighted sum (utility minus weight times unfairness); a bound and
a large weight, a utility that pays for every excess over the bound.
:func:`select_within_bound` picks, after a multi-metric search, the candidate with the
best mean utility among those whose mean unfairness keeps the bound.
"""

import inspect
import numbers

import numpy as np
from sklearn.utils.metadata_routing import UNCHANGED

from .._base.routing import missing_sensitive_features
from ._disparities import DISPARITIES
from ._distributional import unfairness as _score_distance

__all__ = ["FairnessScorer", "make_fairness_scorer", "select_within_bound"]

_DECISION_UTILITIES = ("accuracy", "balanced_accuracy", "f1", "precision", "recall")
_SCORE_UTILITIES = ("roc_auc", "average_precision", "neg_log_loss", "neg_brier_score", "r2",
                    "neg_mean_squared_error", "neg_mean_absolute_error")
_DISTANCES = ("ks", "w1", "w2")


def _utility_value(name, y_true, pred, sample_weight, pos_label):
    from sklearn import metrics as m

    w = {"sample_weight": sample_weight}
    if callable(name):
        return float(name(y_true, pred, **w) if sample_weight is not None else name(y_true, pred))
    if name == "accuracy":
        return m.accuracy_score(y_true, pred, **w)
    if name == "balanced_accuracy":
        return m.balanced_accuracy_score(y_true, pred, **w)
    if name in ("f1", "precision", "recall"):
        f = {"f1": m.f1_score, "precision": m.precision_score, "recall": m.recall_score}[name]
        return f(y_true, pred, pos_label=pos_label, zero_division=0.0, **w)
    positive = np.asarray(y_true) == pos_label
    if name == "roc_auc":
        return m.roc_auc_score(positive, pred, **w)
    if name == "average_precision":
        return m.average_precision_score(positive, pred, **w)
    if name == "neg_log_loss":
        return -m.log_loss(positive, pred, labels=[False, True], **w)
    if name == "neg_brier_score":
        return -m.brier_score_loss(positive, pred, **w)
    if name == "r2":
        return m.r2_score(y_true, pred, **w)
    f = m.mean_squared_error if name == "neg_mean_squared_error" else m.mean_absolute_error
    return -f(y_true, pred, **w)


def _consumes(estimator, method):
    """Whether to pass ``sensitive_features`` to `estimator.method`: its metadata request
    asks for it (also through a Pipeline), or the method takes a ``sensitive_features``
    argument that no ``set_*_request(sensitive_features=False)`` turned down."""
    alias = None
    try:
        from sklearn.utils.metadata_routing import MetadataRequest, get_routing_for_object

        routing = get_routing_for_object(estimator)
        if routing.consumes(method, ["sensitive_features"]):
            return True
        if isinstance(routing, MetadataRequest):
            alias = getattr(routing, method).requests.get("sensitive_features")
    except (AttributeError, TypeError, ValueError):  # an object without routing
        pass
    try:
        return alias is not False and "sensitive_features" in inspect.signature(getattr(estimator, method)).parameters
    except (TypeError, ValueError):
        return False


def _call(estimator, method, X, sensitive_features):
    fn = getattr(estimator, method)
    out = fn(X, sensitive_features=sensitive_features) if _consumes(estimator, method) else fn(X)
    return np.asarray(out)


def _one_column(values, where):
    if values.ndim == 2 and values.shape[1] == 1:
        values = values[:, 0]
    if values.ndim != 1:
        raise ValueError(f"{where} gave an output of shape {values.shape}; the scorer needs one score per row")
    return values


class FairnessScorer:
    """``scorer(estimator, X, y, *, sensitive_features, sample_weight=None)``; see
    :func:`make_fairness_scorer` (which builds it and documents the parameters).

    Under metadata routing it requests ``sensitive_features`` by default and
    ``sample_weight`` on request (``set_score_request(sample_weight=True)``), as
    scikit-learn's scorers do.
    """

    def __init__(self, utility="accuracy", unfairness="demographic_parity_difference", *, bound=0.0, weight=1.0,
                 threshold=0.5, method="between_groups", pos_label=1):
        if utility is None and unfairness is None:
            raise ValueError("give a utility, an unfairness measure or both")
        if not (utility is None or callable(utility) or utility in _DECISION_UTILITIES + _SCORE_UTILITIES):
            raise ValueError(f"utility must be None, a callable (y_true, y_pred) or one of "
                             f"{', '.join(_DECISION_UTILITIES + _SCORE_UTILITIES)}; got {utility!r}")
        if not (unfairness is None or unfairness in DISPARITIES or unfairness in _DISTANCES):
            raise ValueError(f"unfairness must be None, one of fairfast.metrics.DISPARITIES "
                             f"({', '.join(DISPARITIES)}) or a score distance ({', '.join(_DISTANCES)}); "
                             f"got {unfairness!r}")
        for name, value in (("bound", bound), ("weight", weight), ("threshold", threshold)):
            if isinstance(value, bool) or not isinstance(value, numbers.Real) or not np.isfinite(value):
                raise ValueError(f"{name} must be a finite real number, got {value!r}")
        if bound < 0 or weight < 0:
            raise ValueError(f"bound and weight must be >= 0, got bound={bound!r} and weight={weight!r}")
        if method not in ("between_groups", "to_overall"):
            raise ValueError(f"method must be 'between_groups' or 'to_overall', got {method!r}")
        self.utility, self.unfairness = utility, unfairness
        self.bound, self.weight, self.threshold = float(bound), float(weight), float(threshold)
        self.method, self.pos_label = method, pos_label
        self._requests = {"sensitive_features": True, "sample_weight": None}

    def __repr__(self):
        utility = getattr(self.utility, "__name__", self.utility) if callable(self.utility) else repr(self.utility)
        return (f"make_fairness_scorer(utility={utility}, unfairness={self.unfairness!r}, bound={self.bound!r}, "
                f"weight={self.weight!r})")

    # -- metadata routing (scikit-learn's MetadataRequest, built from _requests) --------

    def set_score_request(self, *, sensitive_features=UNCHANGED, sample_weight=UNCHANGED):
        """Set what the scorer requests under metadata routing: True, False, None (error
        if passed) or an alias, as scikit-learn's ``set_score_request``. Returns self."""
        for name, value in (("sensitive_features", sensitive_features), ("sample_weight", sample_weight)):
            if value is not UNCHANGED:
                self._requests[name] = value
        return self

    def get_metadata_routing(self):
        """The scorer's requests, for scikit-learn's routers."""
        from sklearn.utils.metadata_routing import MetadataRequest

        request = MetadataRequest(owner=self)
        for name, alias in self._requests.items():
            request.score.add_request(param=name, alias=alias)
        return request

    def _accept_sample_weight(self):  # asked by scikit-learn's multi-metric scorer without routing
        return True

    # -- scoring ------------------------------------------------------------------------

    def _decisions(self, estimator, X, sensitive_features):
        if hasattr(estimator, "predict"):
            return _one_column(_call(estimator, "predict", X, sensitive_features), "predict")
        return (self._scores(estimator, X, sensitive_features) >= self.threshold).astype(np.int64)

    def _scores(self, estimator, X, sensitive_features):
        for method in ("predict_proba", "decision_function", "transform", "predict"):
            if not hasattr(estimator, method):
                continue
            out = _call(estimator, method, X, sensitive_features)
            if method == "predict_proba":
                classes = list(getattr(estimator, "classes_", [0, 1]))
                out = out[:, classes.index(self.pos_label) if self.pos_label in classes else -1]
            return _one_column(out, method).astype(np.float64)
        raise ValueError(f"{type(estimator).__name__} has none of predict_proba, decision_function, transform "
                         "or predict")

    def __call__(self, estimator, X, y_true, *, sensitive_features=None, sample_weight=None):
        if sensitive_features is None:
            raise ValueError(missing_sensitive_features("FairnessScorer", "__call__"))
        y_true = np.asarray(y_true)
        needs_scores = self.utility in _SCORE_UTILITIES or self.unfairness in _DISTANCES
        needs_decisions = (self.utility is not None and self.utility not in _SCORE_UTILITIES) \
            or self.unfairness in DISPARITIES
        scores = self._scores(estimator, X, sensitive_features) if needs_scores else None
        decisions = self._decisions(estimator, X, sensitive_features) if needs_decisions else None
        value = 0.0
        if self.utility is not None:
            pred = scores if self.utility in _SCORE_UTILITIES else decisions
            value = float(_utility_value(self.utility, y_true, pred, sample_weight, self.pos_label))
        if self.unfairness is not None:
            gap = self.measure(y_true, decisions, scores, sensitive_features, sample_weight)
            value -= self.weight * max(0.0, gap - self.bound)
        return value

    def measure(self, y_true, decisions, scores, sensitive_features, sample_weight=None):
        """The unfairness of `decisions` (disparities) or `scores` (distances), >= 0."""
        if self.unfairness in _DISTANCES:
            return _score_distance(scores, sensitive_features=sensitive_features, metric=self.unfairness,
                                   sample_weight=sample_weight)
        from . import _disparities

        value = getattr(_disparities, self.unfairness)(
            y_true, decisions, sensitive_features=sensitive_features, method=self.method,
            sample_weight=sample_weight, pos_label=self.pos_label)
        return 1.0 - value if DISPARITIES[self.unfairness][1] == "ratio" else value


def make_fairness_scorer(utility="accuracy", unfairness="demographic_parity_difference", *, bound=0.0, weight=1.0,
                         threshold=0.5, method="between_groups", pos_label=1):
    r"""A scorer combining a utility and an unfairness measure, for ``scoring=``.

    The score of a fitted estimator on held-out rows ``X, y`` with their
    ``sensitive_features`` is

    .. math::

        \text{utility} - \text{weight} \cdot \max(0,\ \text{unfairness} - \text{bound}),

    greater is better. The estimator's methods are called with the sensitive features
    when they take them (their metadata request, or their signature), so fairfast's
    post-processors and plain scikit-learn models are scored alike. Inside
    ``GridSearchCV``, ``cross_validate`` or ``cross_val_score`` the held-out fold's
    sensitive features reach the scorer through metadata routing:
    ``sklearn.set_config(enable_metadata_routing=True)``, then
    ``search.fit(X, y, sensitive_features=A)`` (or ``params={"sensitive_features": A}``).

    Parameters
    ----------
    utility : str, callable or None, default="accuracy"
        On decisions (``predict``, or ``transform(X) >= threshold`` for estimators
        without ``predict``): "accuracy", "balanced_accuracy", "f1", "precision",
        "recall" or a callable ``(y_true, y_pred[, sample_weight])``. On scores
        (``predict_proba`` of ``pos_label``, ``decision_function``, ``transform`` or a
        regressor's ``predict``): "roc_auc", "average_precision", "neg_log_loss",
        "neg_brier_score", "r2", "neg_mean_squared_error", "neg_mean_absolute_error".
        None: the score is minus the (weighted excess) unfairness alone.
    unfairness : str or None, default="demographic_parity_difference"
        A name of :data:`fairfast.metrics.DISPARITIES` on the decisions (a difference,
        or one minus a ratio), or a distance between the groups' score distributions
        ("ks", "w1", "w2", :func:`fairfast.metrics.unfairness`). None: the utility alone.
    bound : float >= 0, default=0.0
        Unfairness allowed without penalty (0: the weighted sum).
    weight : float >= 0, default=1.0
        Price of one unit of unfairness above the bound, in units of utility.
    threshold : float, default=0.5
        Decision threshold on the scores of estimators without ``predict`` (the
        barycenter); labels are then 0/1.
    method : {"between_groups", "to_overall"}, default="between_groups"
        How disparities compare groups (see :mod:`fairfast.metrics`).
    pos_label : scalar, default=1

    Returns
    -------
    FairnessScorer

    Examples
    --------
    >>> import numpy as np
    >>> from fairfast.metrics import make_fairness_scorer
    >>> from fairfast.postprocessing import GroupThresholds
    >>> rng = np.random.default_rng(0)
    >>> a = rng.integers(0, 2, 2000)
    >>> p = np.where(a == 0, rng.uniform(0, 1, 2000), rng.uniform(0, 0.6, 2000))
    >>> y = (rng.uniform(size=2000) < p).astype(int)
    >>> rule = GroupThresholds(random_state=0).fit(p, y, sensitive_features=a)
    >>> accuracy = make_fairness_scorer("accuracy", None)
    >>> penalised = make_fairness_scorer("accuracy", "demographic_parity_difference", weight=2.0)
    >>> round(accuracy(rule, p, y, sensitive_features=a), 4) >= round(penalised(rule, p, y, sensitive_features=a), 4)
    True
    """
    return FairnessScorer(utility, unfairness, bound=bound, weight=weight, threshold=threshold, method=method,
                          pos_label=pos_label)


def select_within_bound(bound, *, utility="utility", unfairness="unfairness"):
    """A ``refit=`` callable for a multi-metric search: best mean utility within a bound.

    Use it with ``scoring={utility: make_fairness_scorer(<utility>, None),
    unfairness: make_fairness_scorer(None, <measure>)}`` (the second scores minus the
    unfairness, as scikit-learn's scorers are "greater is better"). Among the
    candidates whose mean held-out unfairness is at most `bound`, it picks the one
    with the highest mean utility (the first on ties); when none keeps the bound, the
    least unfair one.

    Parameters
    ----------
    bound : float >= 0
    utility, unfairness : str
        Keys of the two scorers in ``scoring``.

    Returns
    -------
    callable
        ``cv_results_ -> best_index_``.

    Examples
    --------
    >>> import numpy as np
    >>> from fairfast.metrics import select_within_bound
    >>> cv_results = {"mean_test_utility": np.array([0.80, 0.82, 0.85]),
    ...               "mean_test_unfairness": -np.array([0.01, 0.04, 0.09])}
    >>> select_within_bound(0.05)(cv_results)  # the most accurate within the bound
    1
    >>> select_within_bound(0.001)(cv_results)  # none keeps it: the least unfair
    0
    """
    if isinstance(bound, bool) or not isinstance(bound, numbers.Real) or not bound >= 0:
        raise ValueError(f"bound must be a real number >= 0, got {bound!r}")

    def best_index(cv_results):
        try:
            gain = np.asarray(cv_results[f"mean_test_{utility}"], dtype=np.float64)
            gap = -np.asarray(cv_results[f"mean_test_{unfairness}"], dtype=np.float64)
        except KeyError as exc:
            raise ValueError(f"select_within_bound needs the scorers {utility!r} and {unfairness!r} in scoring; "
                             f"cv_results_ has no {exc.args[0]!r}") from None
        keep = np.flatnonzero(gap <= bound + 1e-12)
        if keep.size == 0:
            return int(np.nanargmin(gap))
        return int(keep[np.nanargmax(gain[keep])])

    best_index.__name__ = f"select_within_bound({bound!r})"
    return best_index
