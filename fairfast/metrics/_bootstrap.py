"""Stratified bootstrap of the group metrics (compiled, seeded, thread-count invariant).

Scheme. Replicate ``r`` resamples, independently within every group ``g``, ``n_g`` rows
with replacement from the ``n_g`` rows of ``g`` (a bootstrap stratified by group: group
sizes stay fixed, so every group exists in every replicate). All randomness of
(replicate ``r``, group ``g``) is drawn from a counter-based generator keyed by
``(seed, r, g)`` (``CounterRng`` of ``csrc/fairfast/random.hpp``, stream 16), so a
replicate never depends on the number of threads or on the other replicates.

Two exact implementations of this one scheme:

- *multinomial* (unweighted data without scores): the built-in confusion metrics depend
  on the rows of a group only through its four cell counts, and the cell counts of
  ``n_g`` rows drawn with replacement are ``Multinomial(n_g, cells_g / n_g)``. They are
  drawn by sequential conditional binomials (inversion, or Hormann's exact BTRS
  rejection sampler for large means): ``O(groups x cells)`` per replicate, whatever the
  number of rows.
- *index* (weights or scores present): draw ``j`` of the stream of ``(r, g)`` picks the
  row ``floor(bits_j * n_g / 2**64)`` of the group, and its statistics are accumulated;
  ``O(n)`` per replicate, replicates spread over the threads.

Intervals are percentile intervals of the replicates (NaN replicates ignored).
"""

import math
import numbers

import numpy as np

from .. import _core
from .._base.validation import check_seed
from ._group_metrics import _BASE, _Inputs

__all__ = ["BootstrapResult", "bootstrap_disparity"]


def plain_number(v):
    """A numpy scalar as a plain Python value for JSON (NaN as None)."""
    if isinstance(v, (bool, np.bool_)):
        return bool(v)
    if isinstance(v, (np.integer,)):
        return int(v)
    if isinstance(v, (float, np.floating)):
        v = float(v)
        return None if math.isnan(v) else v
    return v



def check_bootstrap_args(n_replicates, confidence_level):
    if not isinstance(n_replicates, numbers.Integral) or isinstance(n_replicates, bool) or n_replicates < 1:
        raise ValueError(f"n_replicates must be a positive int, got {n_replicates!r}")
    if not isinstance(confidence_level, numbers.Real) or not 0 < confidence_level < 1:
        raise ValueError(f"confidence_level must lie strictly between 0 and 1, got {confidence_level!r}")


def bootstrap_sums(inputs, sums, n_replicates, seed, progress=None):
    """(n_replicates, n_groups, n_stats) group sums of the replicates (observed groups,
    in the order of ``inputs.groups.present``); ``sums = inputs.sums()``.

    ``progress``, if given, is called with the number of replicates finished after each
    chunk; the replicates are then computed in chunks (``first_replicate`` of the
    kernels), with the same result.
    """
    groups = inputs.groups
    k = len(groups.present)
    n_replicates = int(n_replicates)
    chunk = n_replicates if progress is None else max(8, -(-n_replicates // 50))
    if inputs.sample_weight is None and inputs.scores is None:
        cells = np.ascontiguousarray(np.asarray(sums)[:, 2:6]).round().astype(np.int64)
        out = np.zeros((n_replicates, k, _BASE))
        for first in range(0, n_replicates, chunk):
            size = min(chunk, n_replicates - first)
            drawn = _core.metrics.multinomial_bootstrap(cells, size, int(seed), first_replicate=first)
            out[first : first + size, :, 2:6] = drawn
            out[first : first + size, :, 0] = out[first : first + size, :, 1] = drawn.sum(axis=-1)
            if progress is not None:
                progress(size)
        return out
    codes = groups.compact_codes()
    parts = []
    for first in range(0, n_replicates, chunk):
        size = min(chunk, n_replicates - first)
        parts.append(_core.metrics.index_bootstrap(codes, k, inputs.y_true, inputs.y_pred, inputs.kernel_scores,
                                                   inputs.kernel_weight, inputs.n_bins, size, int(seed),
                                                   first_replicate=first))
        if progress is not None:
            progress(size)
    return parts[0] if len(parts) == 1 else np.concatenate(parts)


def percentile_interval(replicates, confidence_level):
    """(low, high) percentile interval over axis 0, NaN replicates ignored."""
    a = (1.0 - confidence_level) / 2.0
    reps = np.asarray(replicates, dtype=np.float64)
    with np.errstate(invalid="ignore"):
        if np.isnan(reps).any():
            import warnings

            with warnings.catch_warnings():
                warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN slices give NaN
                low, high = np.nanquantile(reps, [a, 1.0 - a], axis=0)
        else:
            low, high = np.quantile(reps, [a, 1.0 - a], axis=0)
    return low, high


def bootstrap_disparity(disparity, y_true, y_pred, *, sensitive_features, method="between_groups",
                        sample_weight=None, agg="worst_case", n_replicates=1000, confidence_level=0.95,
                        random_state=None, pos_label=1):
    """A disparity and its stratified-bootstrap percentile interval.

    Parameters
    ----------
    disparity : str
        One of the names in :data:`fairfast.metrics.DISPARITIES`, e.g.
        ``"demographic_parity_difference"`` or ``"equalized_odds_ratio"``.
    y_true, y_pred : array-like of shape (n_samples,)
    sensitive_features : array-like, Series, DataFrame or dict of columns
    method : {"between_groups", "to_overall"}, default="between_groups"
    sample_weight : array-like of shape (n_samples,), optional
    agg : {"worst_case", "mean"}, default="worst_case"
        For the equalized-odds measures.
    n_replicates : int, default=1000
    confidence_level : float, default=0.95
    random_state : int, numpy Generator or None
        Seed of the counter-based generator; the result does not depend on the
        thread count.
    pos_label : scalar, default=1

    Returns
    -------
    estimate : float
        The disparity on the data.
    low, high : float
        Percentile interval of the replicates.
    replicates : ndarray of shape (n_replicates,)

    Notes
    -----
    Resampling is stratified by group (see :mod:`fairfast.metrics._bootstrap`): without
    weights the replicate confusion counts are drawn exactly as multinomials, so the cost
    does not grow with the number of rows.

    Examples
    --------
    >>> import numpy as np
    >>> from fairfast.metrics import bootstrap_disparity
    >>> rng = np.random.default_rng(0)
    >>> g = rng.integers(0, 2, 2000)
    >>> y_pred = rng.random(2000) < np.where(g == 0, 0.3, 0.5)
    >>> est, low, high, reps = bootstrap_disparity("demographic_parity_difference", None, y_pred,
    ...                                            sensitive_features=g, random_state=0)
    >>> bool(low < est < high), reps.shape
    (True, (1000,))
    """
    from ._disparities import _AGGS, _METHODS, DISPARITIES, disparity_from_metrics
    from ._group_metrics import metrics_from_sums
    from .._base.validation import check_choice

    check_choice(disparity, "disparity", tuple(DISPARITIES))
    check_choice(method, "method", _METHODS)
    check_choice(agg, "agg", _AGGS)
    check_bootstrap_args(n_replicates, confidence_level)
    metrics = DISPARITIES[disparity][0]
    needs_y = any(m != "selection_rate" for m in metrics)
    if needs_y and y_true is None:
        raise ValueError(f"{disparity} needs y_true")
    if y_pred is None:
        raise ValueError("y_pred is required")
    inputs = _Inputs(y_true if needs_y else None, y_pred, sensitive_features=sensitive_features,
                     sample_weight=sample_weight, pos_label=pos_label)
    sums = inputs.sums()
    estimate = disparity_from_metrics(disparity, metrics_from_sums(sums, metrics, 0),
                                      metrics_from_sums(sums.sum(axis=0), metrics, 0), method, agg)
    reps = bootstrap_sums(inputs, sums, n_replicates, check_seed(random_state))
    values = disparity_from_metrics(disparity, metrics_from_sums(reps, metrics, 0),
                                    metrics_from_sums(reps.sum(axis=1), metrics, 0), method, agg)
    low, high = percentile_interval(values, confidence_level)
    return float(estimate), float(low), float(high), values


class BootstrapResult:
    """Stratified-bootstrap percentile intervals of a :class:`GroupReport`.

    Attributes
    ----------
    n_replicates : int
    confidence_level : float
    random_state : int
        The seed actually used.
    scheme : {"multinomial", "index"}
        How replicates were drawn (see :func:`fairfast.metrics.bootstrap_disparity`).
    by_group_low, by_group_high : pandas.DataFrame
        Interval ends, shaped like ``GroupReport.by_group`` (built-in metrics only).
    overall : pandas.DataFrame
        Index: metrics; columns ``estimate``, ``low``, ``high``.
    difference, ratio : dict of str to pandas.DataFrame
        For each method ("between_groups", "to_overall"): index metrics; columns
        ``estimate``, ``low``, ``high``.
    disparities : dict of str to pandas.DataFrame
        For each method: index the named disparities of :data:`DISPARITIES` that the
        report's metrics allow; columns ``estimate``, ``low``, ``high``.
    replicates : dict of str to ndarray of shape (n_replicates, n_groups)
        Replicate values of every built-in metric, by group.
    """

    def to_dict(self):
        def frame(df):
            return {str(k): {c: plain_number(v) for c, v in row.items()} for k, row in df.iterrows()}

        return {
            "n_replicates": self.n_replicates,
            "confidence_level": self.confidence_level,
            "random_state": self.random_state,
            "scheme": self.scheme,
            "overall": frame(self.overall),
            "difference": {m: frame(df) for m, df in self.difference.items()},
            "ratio": {m: frame(df) for m, df in self.ratio.items()},
            "disparities": {m: frame(df) for m, df in self.disparities.items()},
        }


def report_bootstrap(report, n_replicates, confidence_level, random_state, agg, progress):
    """The :class:`BootstrapResult` of :meth:`GroupReport.bootstrap`."""
    import pandas as pd

    from .._base.validation import check_choice
    from ._disparities import _AGGS, _METHODS, difference_of, disparity_from_metrics, ratio_of
    from ._group_metrics import metrics_from_sums

    check_bootstrap_args(n_replicates, confidence_level)
    check_choice(agg, "agg", _AGGS)
    seed = check_seed(random_state)
    inputs, display, builtin = report._inputs, report._display, report._builtin
    if progress is True:
        from tqdm import tqdm

        with tqdm(total=int(n_replicates), desc="bootstrap", unit="replicate") as bar:
            reps = bootstrap_sums(inputs, report._sums, n_replicates, seed, progress=bar.update)
    else:
        reps = bootstrap_sums(inputs, report._sums, n_replicates, seed, progress=progress or None)
    values = metrics_from_sums(reps, builtin, inputs.n_bins, report.zero_division, inputs.score_scale)
    overall = metrics_from_sums(reps.sum(axis=1), builtin, inputs.n_bins, report.zero_division, inputs.score_scale)
    est, est_overall = report._values, report._overall_values
    res = BootstrapResult()
    res.n_replicates, res.confidence_level, res.random_state = int(n_replicates), confidence_level, seed
    res.scheme = "multinomial" if inputs.sample_weight is None and inputs.scores is None else "index"
    res.replicates = {display[m]: values[m] for m in builtin}
    cols = [display[m] for m in builtin]
    lows, highs = {}, {}
    for m in builtin:
        lows[display[m]], highs[display[m]] = percentile_interval(values[m], confidence_level)
    res.by_group_low = pd.DataFrame(lows, index=report.by_group.index, columns=cols)
    res.by_group_high = pd.DataFrame(highs, index=report.by_group.index, columns=cols)

    rated = [m for m in builtin if m != "count"]
    names = [display[m] for m in rated]
    res.overall = _interval_table(cols, [est_overall[m] for m in builtin], [overall[m] for m in builtin],
                                  confidence_level)
    res.difference, res.ratio, res.disparities = {}, {}, {}
    dnames = report._available_disparities()
    for method in _METHODS:
        res.difference[method] = _interval_table(
            names, [difference_of(est[m], est_overall[m], method) for m in rated],
            [difference_of(values[m], overall[m], method) for m in rated], confidence_level)
        res.ratio[method] = _interval_table(
            names, [ratio_of(est[m], est_overall[m], method) for m in rated],
            [ratio_of(values[m], overall[m], method) for m in rated], confidence_level)
        res.disparities[method] = _interval_table(
            dnames, [disparity_from_metrics(d, est, est_overall, method, agg) for d in dnames],
            [disparity_from_metrics(d, values, overall, method, agg) for d in dnames], confidence_level)
    return res


def _interval_table(index, estimates, replicates, confidence_level):
    import pandas as pd

    low, high = [], []
    for r in replicates:
        lo, hi = percentile_interval(r, confidence_level)
        low.append(float(lo))
        high.append(float(hi))
    return pd.DataFrame({"estimate": [float(e) for e in estimates], "low": low, "high": high},
                        index=pd.Index(index, dtype=object))
