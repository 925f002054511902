"""Fairness without harm of decoupled classifiers (Ustun, Liu & Parkes 2019; DAFH).

Setting: every row ``i`` is assigned to a group ``k(i)`` in ``0..K-1`` and served by that
group's model ``h_k``; a pooled model ``h_0`` was trained on everyone. With the 0-1 loss
``l_i(h) = [h(x_i) != y_i]`` and the group risk ``R_k(h)`` (mean loss of ``h`` over the
rows of group ``k``), the decoupled models are *fair without harm* when for every group
``k``

- rationality: ``R_k(h_k) <= R_k(h_0)``, and
- envy-freeness: ``R_k(h_k) <= R_k(h_j)`` for every ``j != k``.

Inputs everywhere: ``y_true`` (n,), ``predictions`` (n, K) with column ``j`` the labels
predicted by ``h_j`` for every row, ``assignment`` (n,) in ``0..K-1``, and optionally
``pooled_predictions`` (n,) of ``h_0``.
"""

import numbers

import numpy as np

from .. import _core
from .._base.validation import check_choice, check_sample_weight, check_seed

__all__ = [
    "WithoutHarmResult",
    "group_risk_matrix",
    "mcnemar_pvalue",
    "probability_without_harm",
    "without_harm_report",
]

_ESTIMATORS = ("individual", "pairwise", "group", "bootstrap")


def _as_1d(x, name):
    arr = x.to_numpy() if hasattr(x, "to_numpy") else np.asarray(x)
    if arr.ndim == 2 and arr.shape[1] == 1:
        arr = arr[:, 0]
    if arr.ndim != 1:
        raise ValueError(f"{name} must be one-dimensional, got an array of shape {arr.shape}")
    return arr


def _check_labels(labels, name):
    """Labels compared for equality: a missing one (NaN, None) would silently count as wrong."""
    if labels.dtype.kind == "f":
        missing = np.isnan(labels)
    elif labels.dtype == object:
        missing = np.array([v is None or (isinstance(v, float) and v != v) for v in labels.ravel()],
                           dtype=bool).reshape(labels.shape)
    else:
        return
    if missing.any():
        where = np.argwhere(missing)[0].tolist()
        at = where[0] if len(where) == 1 else tuple(where)
        raise ValueError(f"{name} has a missing label (NaN or None) at index {at}: every row needs a label; "
                         f"drop or fill those rows")


def _inputs(y_true, predictions, assignment, pooled_predictions, sample_weight):
    y = _as_1d(y_true, "y_true")
    n = y.shape[0]
    if n == 0:
        raise ValueError("y_true must hold at least one row")
    preds = predictions.to_numpy() if hasattr(predictions, "to_numpy") else np.asarray(predictions)
    if preds.ndim != 2 or preds.shape[0] != n:
        raise ValueError(f"predictions must have shape (n_samples, n_models) = ({n}, K): column j holds the labels "
                         f"predicted by model j for every row; got shape {preds.shape}")
    k = preds.shape[1]
    if k < 1:
        raise ValueError("predictions must have at least one column (one per group model)")
    a = _as_1d(assignment, "assignment")
    if a.shape[0] != n:
        raise ValueError(f"assignment has {a.shape[0]} rows but y_true has {n}")
    if not (np.issubdtype(a.dtype, np.integer) or a.dtype == bool):
        raise TypeError(f"assignment must hold integer group indices in [0, {k}), got dtype {a.dtype}")
    a = a.astype(np.int64)
    if a.min() < 0 or a.max() >= k:
        raise ValueError(f"assignment must hold group indices in [0, {k}) (one per column of predictions); "
                         f"found {int(a.min()) if a.min() < 0 else int(a.max())}")
    _check_labels(y, "y_true")
    _check_labels(preds, "predictions")
    correct = preds == y[:, None]  # (n, K): model j right on row i
    pooled = None
    if pooled_predictions is not None:
        p0 = _as_1d(pooled_predictions, "pooled_predictions")
        if p0.shape[0] != n:
            raise ValueError(f"pooled_predictions has {p0.shape[0]} rows but y_true has {n}")
        _check_labels(p0, "pooled_predictions")
        pooled = p0 == y
    w = check_sample_weight(sample_weight, n)
    return correct, pooled, a, w


def _risks(correct, pooled, a, w, k):
    """(K, K) risk matrix, (K,) pooled risks (or None), (K,) group masses."""
    n = correct.shape[0]
    ww = np.ones(n) if w is None else w
    mass = np.bincount(a, weights=ww, minlength=k)
    wrong = np.stack([np.bincount(a, weights=ww * (~correct[:, j]), minlength=k) for j in range(k)], axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        risk = wrong / mass[:, None]
        pooled_risk = None
        if pooled is not None:
            pooled_risk = np.bincount(a, weights=ww * (~pooled), minlength=k) / mass
    return risk, pooled_risk, mass


def _checks(risk, pooled_risk):
    """(rational (..., K), envy_free (..., K)) from risks of shape (..., K, K)."""
    own = np.diagonal(risk, axis1=-2, axis2=-1)
    with np.errstate(invalid="ignore"):
        envy_free = np.all((own[..., :, None] <= risk) | np.isnan(risk), axis=-1)
        if pooled_risk is None:
            rational = np.ones_like(envy_free)
        else:
            rational = (own <= pooled_risk) | np.isnan(pooled_risk)
    return rational, envy_free


def group_risk_matrix(y_true, predictions, assignment, *, sample_weight=None):
    """Risk of every model on every assigned group.

    Parameters
    ----------
    y_true : array-like of shape (n_samples,)
    predictions : array-like of shape (n_samples, K)
        Column ``j``: the labels model ``h_j`` predicts for every row.
    assignment : array-like of int, shape (n_samples,)
        The group (and so the model) of every row, in ``0..K-1``.
    sample_weight : array-like of shape (n_samples,), optional

    Returns
    -------
    ndarray of shape (K, K)
        ``R[k, j]``: weighted 0-1 error of model ``j`` on the rows of group ``k``
        (a row of NaN for a group without rows). The diagonal holds the assigned models'
        risks.

    Examples
    --------
    >>> from fairfast.metrics import group_risk_matrix
    >>> group_risk_matrix([1, 0, 1, 0], [[1, 0], [0, 0], [0, 1], [0, 1]], [0, 0, 1, 1])
    array([[0. , 0.5],
           [0.5, 0.5]])
    """
    correct, _, a, w = _inputs(y_true, predictions, assignment, None, sample_weight)
    return _risks(correct, None, a, w, correct.shape[1])[0]


def mcnemar_pvalue(own_correct, other_correct):
    """Exact one-sided McNemar test that the own model is worse than the other.

    With ``b`` the rows where the own model errs and the other is right, and ``c`` the
    rows where the own model is right and the other errs, under the null hypothesis of
    equal accuracy ``c ~ Binomial(b + c, 1/2)``; the p-value is ``P(C <= c)``
    (``scipy.stats.binomtest(c, b + c, 0.5, alternative="less")``). A small p-value is
    evidence that the own model is worse on these rows (envy, or irrationality against
    the pooled model). It is 1 when there are no discordant rows. Counts are unweighted.

    Parameters
    ----------
    own_correct, other_correct : array-like of bool, shape (n,)

    Returns
    -------
    float

    Examples
    --------
    >>> from fairfast.metrics import mcnemar_pvalue
    >>> round(mcnemar_pvalue([0, 0, 0, 0, 0, 1], [1, 1, 1, 1, 1, 1]), 4)  # b = 5, c = 0
    0.0312
    """
    from scipy.stats import binomtest

    own = np.asarray(own_correct).astype(bool)
    other = np.asarray(other_correct).astype(bool)
    if own.shape != other.shape or own.ndim != 1:
        raise ValueError(f"own_correct and other_correct must be one-dimensional of equal length, got shapes "
                         f"{own.shape} and {other.shape}")
    b = int(np.sum(~own & other))
    c = int(np.sum(own & ~other))
    if b + c == 0:
        return 1.0
    return float(binomtest(c, b + c, 0.5, alternative="less").pvalue)


class WithoutHarmResult:
    """Fairness-without-harm statistics of decoupled classifiers.

    Attributes
    ----------
    risk_matrix : ndarray of shape (K, K)
        ``R[k, j]``: error of model ``j`` on group ``k``.
    pooled_risk : ndarray of shape (K,) or None
        Error of the pooled model on each group.
    group_sizes : ndarray of shape (K,)
        Rows per group; ``group_mass`` the weighted share of each group.
    accuracy : float
        Weighted accuracy of the assigned models.
    rational, envy_free, fair_without_harm : ndarray of bool, shape (K,)
        Def. 1 per group on the empirical risks (a group without rows passes).
    individual, pairwise, group_share : float
        The estimators (a), (b) and (c) of :func:`probability_without_harm`.
    bootstrap_probability : float or None
        Share of stratified-bootstrap replicates in which every group is fair without
        harm (None when ``n_replicates=0``).
    bootstrap_rational : ndarray of shape (K,) or None
        Per group, the share of those replicates in which it prefers its model to the
        pooled one (None without pooled predictions or replicates).
    bootstrap_envy_free : ndarray of shape (K, K) or None
        ``[k, j]``: the share in which group ``k`` prefers its model to model ``j``
        (NaN on the diagonal). The joint probability is at most the smallest of these.
    mcnemar_envy : ndarray of shape (K, K)
        ``[k, j]``: :func:`mcnemar_pvalue` of model ``k`` against model ``j`` on group
        ``k`` (NaN on the diagonal).
    mcnemar_rationality : ndarray of shape (K,) or None
        Model ``k`` against the pooled model on group ``k``.
    disparities : pandas.Series or None
        Disparities of the assigned predictions across ``sensitive_features`` if given.
    """

    def to_dict(self):
        def arr(x):
            if x is None:
                return None
            x = np.asarray(x)
            return [[None if isinstance(v, float) and np.isnan(v) else v for v in row] for row in x.tolist()] \
                if x.ndim == 2 else [None if isinstance(v, float) and np.isnan(v) else v for v in x.tolist()]

        out = {k: arr(getattr(self, k)) for k in ("risk_matrix", "pooled_risk", "group_sizes", "group_mass",
                                                  "rational", "envy_free", "fair_without_harm", "mcnemar_envy",
                                                  "mcnemar_rationality", "bootstrap_rational",
                                                  "bootstrap_envy_free")}
        out.update({k: getattr(self, k) for k in ("accuracy", "individual", "pairwise", "group_share",
                                                  "bootstrap_probability")})
        if self.disparities is not None:
            out["disparities"] = {k: float(v) for k, v in self.disparities.items()}
        return out

    def __repr__(self):
        return (f"WithoutHarmResult(K={len(self.group_sizes)}, accuracy={self.accuracy:.4g}, "
                f"individual={self.individual:.4g}, group_share={self.group_share:.4g})")


def _individual(correct, pooled, a, w):
    own = correct[np.arange(len(a)), a]
    others_ok = correct.any(axis=1)  # some model (maybe the own) is right
    if pooled is not None:
        others_ok |= pooled
    ok = own | ~others_ok  # own right, or every model wrong (equal loss)
    return float(np.average(ok, weights=w))


def _pairwise(correct, pooled, a, w):
    own = correct[np.arange(len(a)), a]
    k = correct.shape[1]
    vs_j = own[:, None] | ~correct  # l_own <= l_j for each j
    if pooled is not None:
        vs_j &= (own | ~pooled)[:, None]
    return float(np.average(vs_j.sum(axis=1) / k, weights=w))


def _check_replicates(n_replicates, minimum):
    if not isinstance(n_replicates, numbers.Integral) or isinstance(n_replicates, bool) or n_replicates < minimum:
        kind = "a non-negative" if minimum == 0 else "a positive"
        raise ValueError(f"n_replicates must be {kind} int, got {n_replicates!r}")


def _bootstrap_probability(correct, pooled, a, w, k, n_replicates, seed, per_constraint=False):
    """Share of stratified replicates in which every group passes Def. 1.

    With ``per_constraint``, also the share in which each constraint holds: rationality
    per group (K,) and envy-freeness per ordered pair (K, K; NaN diagonal).
    """
    cols = correct if pooled is None else np.column_stack([correct, pooled])
    m = cols.shape[1]
    if w is None and m <= 16:
        # Rows matter only through (group, pattern of correct models): resample the pattern
        # counts of each group as multinomials (exact stratified bootstrap, O(K 2^m)).
        pattern = (cols.astype(np.int64) << np.arange(m)).sum(axis=1)
        counts = np.zeros((k, 1 << m), dtype=np.int64)
        np.add.at(counts, (a, pattern), 1)
        drawn = _core.metrics.multinomial_bootstrap(counts, int(n_replicates), int(seed))  # (B, K, P)
        bits = ((np.arange(1 << m)[:, None] >> np.arange(m)) & 1).astype(np.float64)  # (P, m)
        right = drawn @ bits  # (B, K, m)
        size = drawn.sum(axis=2)[..., None]
        with np.errstate(invalid="ignore", divide="ignore"):
            risk_all = 1.0 - right / size
    else:
        rng = np.random.Generator(np.random.PCG64(seed))
        order = np.argsort(a, kind="stable")
        bounds = np.searchsorted(a[order], np.arange(k + 1))
        ww = np.ones(len(a)) if w is None else w
        risk_all = np.full((n_replicates, k, m), np.nan)
        for g in range(k):
            rows = order[bounds[g] : bounds[g + 1]]
            if rows.size == 0:
                continue
            pick = rows[rng.integers(0, rows.size, size=(n_replicates, rows.size))]
            wp = ww[pick]
            risk_all[:, g, :] = np.einsum("br,brm->bm", wp, ~cols[pick]) / wp.sum(axis=1)[:, None]
    risk = risk_all[..., :k]
    pooled_risk = risk_all[..., k] if pooled is not None else None
    rational, envy_free = _checks(risk, pooled_risk)
    probability = float(np.mean(np.all(rational & envy_free, axis=-1)))
    if not per_constraint:
        return probability
    own = np.diagonal(risk, axis1=-2, axis2=-1)
    with np.errstate(invalid="ignore"):
        pairwise = (own[..., :, None] <= risk) | np.isnan(risk)  # (B, K, K): group g prefers its model to j's
    envy = pairwise.mean(axis=0)
    np.fill_diagonal(envy, np.nan)
    return probability, rational.mean(axis=0), envy


def probability_without_harm(y_true, predictions, assignment, *, pooled_predictions=None, estimator="individual",
                             sample_weight=None, n_replicates=1000, random_state=None):
    """Estimated probability of fairness without harm (DAFH evaluation, spec section 5).

    The estimator used by the DAFH paper was not available; three are offered and the
    result always says which one it is:

    - ``"individual"`` (a, default): share of rows whose assigned model's 0-1 loss is
      no larger than that of every other model, pooled included:
      ``mean_i [l_i(h_k(i)) <= l_i(h_j) for all j in {0..K}]``. It fails only where the
      assigned model errs and some other model is right.
    - ``"pairwise"`` (b): ``1/(nK) sum_i sum_{j=1..K} [l_i(h_k(i)) <= l_i(h_j) and
      l_i(h_k(i)) <= l_i(h_0)]``.
    - ``"group"`` (c): share of rows in groups whose empirical risks satisfy
      rationality and envy-freeness.
    - ``"bootstrap"``: the probability, over ``n_replicates`` bootstrap replicates
      resampled within each assigned group, that every group satisfies them
      (:attr:`WithoutHarmResult.bootstrap_probability` of :func:`without_harm_report`).

    Without ``pooled_predictions`` the conditions on ``h_0`` are dropped.

    Parameters
    ----------
    y_true : array-like of shape (n_samples,)
    predictions : array-like of shape (n_samples, K)
    assignment : array-like of int, shape (n_samples,)
    pooled_predictions : array-like of shape (n_samples,), optional
    estimator : {"individual", "pairwise", "group", "bootstrap"}, default="individual"
    sample_weight : array-like of shape (n_samples,), optional
    n_replicates : int, default=1000
        Replicates of the ``"bootstrap"`` estimator (ignored by the others).
    random_state : int, numpy Generator or None
        Seeds the ``"bootstrap"`` estimator.

    Returns
    -------
    float

    Examples
    --------
    The hand case of the specification: row 4 is served by ``h_2``, which errs, while
    ``h_1`` is right.

    >>> from fairfast.metrics import probability_without_harm
    >>> y = [1, 0, 1, 0]
    >>> h1, h2, h0 = [1, 0, 0, 0], [0, 0, 1, 1], [1, 1, 1, 1]
    >>> preds = list(zip(h1, h2))
    >>> probability_without_harm(y, preds, [0, 0, 1, 1], pooled_predictions=h0)
    0.75
    >>> probability_without_harm(y, preds, [0, 0, 1, 1], pooled_predictions=h0, estimator="group")
    1.0
    """
    check_choice(estimator, "estimator", _ESTIMATORS)
    correct, pooled, a, w = _inputs(y_true, predictions, assignment, pooled_predictions, sample_weight)
    if estimator == "individual":
        return _individual(correct, pooled, a, w)
    if estimator == "pairwise":
        return _pairwise(correct, pooled, a, w)
    k = correct.shape[1]
    if estimator == "bootstrap":
        _check_replicates(n_replicates, minimum=1)
        return _bootstrap_probability(correct, pooled, a, w, k, int(n_replicates), check_seed(random_state))
    risk, pooled_risk, mass = _risks(correct, pooled, a, w, k)
    rational, envy_free = _checks(risk, pooled_risk)
    return float(mass[rational & envy_free].sum() / mass.sum())


def without_harm_report(y_true, predictions, assignment, *, pooled_predictions=None, sample_weight=None,
                        sensitive_features=None, n_replicates=1000, random_state=None):
    """Everything about fairness without harm of decoupled classifiers in one call.

    The K x K group-risk matrix and the pooled risks, rationality and envy-freeness
    per group, the three estimators of :func:`probability_without_harm`, the bootstrap
    probability that every group is fair without harm (``n_replicates`` replicates
    resampled within each assigned group, seeded by ``random_state``; without weights the
    replicates are exact multinomial draws of each group's counts of "which models are
    right" patterns), and exact one-sided McNemar p-values (Ustun et al.) of every
    assigned model against every other model and the pooled model on its group.

    Parameters
    ----------
    y_true : array-like of shape (n_samples,)
    predictions : array-like of shape (n_samples, K)
        Column ``j``: labels predicted by model ``h_j`` (for every row).
    assignment : array-like of int, shape (n_samples,)
    pooled_predictions : array-like of shape (n_samples,), optional
        Labels predicted by the pooled model ``h_0``; without them rationality is not
        checked (reported as True) and McNemar p-values against ``h_0`` are None.
    sample_weight : array-like of shape (n_samples,), optional
        Weights for risks and estimators (McNemar counts are unweighted).
    sensitive_features : array-like, optional
        True sensitive groups: adds the disparities of the assigned predictions.
    n_replicates : int, default=1000
        0 skips the bootstrap.
    random_state : int, numpy Generator or None

    Returns
    -------
    WithoutHarmResult

    Examples
    --------
    >>> from fairfast.metrics import without_harm_report
    >>> y = [1, 0, 1, 0]
    >>> res = without_harm_report(y, [[1, 0], [0, 0], [0, 1], [0, 1]], [0, 0, 1, 1],
    ...                           pooled_predictions=[1, 1, 1, 1], random_state=0)
    >>> res.risk_matrix
    array([[0. , 0.5],
           [0.5, 0.5]])
    >>> res.rational.tolist(), res.envy_free.tolist(), res.individual
    ([True, True], [True, True], 0.75)
    """
    _check_replicates(n_replicates, minimum=0)
    correct, pooled, a, w = _inputs(y_true, predictions, assignment, pooled_predictions, sample_weight)
    n, k = correct.shape
    res = WithoutHarmResult()
    res.risk_matrix, res.pooled_risk, mass = _risks(correct, pooled, a, w, k)
    res.group_sizes = np.bincount(a, minlength=k)
    res.group_mass = mass / mass.sum()
    res.rational, res.envy_free = _checks(res.risk_matrix, res.pooled_risk)
    res.fair_without_harm = res.rational & res.envy_free
    own = correct[np.arange(n), a]
    res.accuracy = float(np.average(own, weights=w))
    res.individual = _individual(correct, pooled, a, w)
    res.pairwise = _pairwise(correct, pooled, a, w)
    res.group_share = float(res.group_mass[res.fair_without_harm].sum())
    res.bootstrap_probability = res.bootstrap_rational = res.bootstrap_envy_free = None
    if n_replicates:
        res.bootstrap_probability, rational, envy = _bootstrap_probability(
            correct, pooled, a, w, k, int(n_replicates), check_seed(random_state), per_constraint=True)
        res.bootstrap_envy_free = envy
        if pooled is not None:
            res.bootstrap_rational = rational
    res.mcnemar_envy = np.full((k, k), np.nan)
    res.mcnemar_rationality = None if pooled is None else np.ones(k)
    for g in range(k):
        rows = a == g
        for j in range(k):
            if j != g:
                res.mcnemar_envy[g, j] = mcnemar_pvalue(correct[rows, g], correct[rows, j])
        if pooled is not None:
            res.mcnemar_rationality[g] = mcnemar_pvalue(correct[rows, g], pooled[rows])
    res.disparities = None
    if sensitive_features is not None:
        from ._report import GroupReport

        preds = predictions.to_numpy() if hasattr(predictions, "to_numpy") else np.asarray(predictions)
        y = _as_1d(y_true, "y_true")
        assigned = preds[np.arange(n), a]
        labels = np.unique(np.r_[y, assigned])
        pos = labels.max() if labels.size else 1
        res.disparities = GroupReport(y, assigned, sensitive_features=sensitive_features, sample_weight=w,
                                      pos_label=pos).disparities()
    return res
