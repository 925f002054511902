"""GroupReport: metrics by group, overall, disparities, small groups, bootstrap intervals,
score audits; its text, JSON, HTML and plots live in ``_report_output`` and
``_report_plots``."""

import json
import numbers
import warnings

import numpy as np

from .._base.grouping import SmallGroupWarning
from .._base.validation import check_choice
from ._bootstrap import BootstrapResult, check_bootstrap_args
from ._disparities import _AGGS, _METHODS, DISPARITIES, difference_of, disparity_from_metrics, ratio_of
from ._group_metrics import _ROWS, _Inputs, check_zero_division, custom_by_group, metrics_from_sums, resolve_metrics
from ._score_audit import same_value

__all__ = ["BootstrapResult", "GroupReport", "SmallGroupWarning"]

_SMALL_GROUP_POLICIES = ("warn", "merge", "error")


def group_name(g):
    """Display name of a group label (intersections joined by ' & ')."""
    return " & ".join(str(x) for x in g) if isinstance(g, tuple) else str(g)


class GroupReport:
    """Metrics by group, overall and their disparities: fairfast's ``MetricFrame``.

    All built-in metrics (see :func:`group_metrics`) come from one compiled pass over
    the data; user callables are evaluated group by group. Groups are the observed
    values (or intersections) of the sensitive features; a rate with an empty
    denominator is ``zero_division``.

    Small groups. A group with fewer than ``min_group_size`` rows has rates so noisy
    that it can set every disparity on its own (two rows give rates of 0 or 1, and a
    disparity of 1). ``small_groups`` says what to do with them: ``"warn"`` (default)
    keeps them, emits a :class:`SmallGroupWarning` and marks, in every output, the
    disparities they set (those that change when the small groups are left out, see
    :meth:`set_by_small_groups`); ``"merge"`` pools them into one group labelled
    ``other_label`` (a warning remains if the pooled group is still small);
    ``"error"`` raises ``ValueError``.

    Parameters
    ----------
    y_true, y_pred : array-like of shape (n_samples,), optional
        True and predicted labels; positives equal ``pos_label``. ``y_pred`` may be
        derived from ``scores`` with ``threshold``.
    sensitive_features : array-like, Series, DataFrame or dict of columns
    scores : array-like of shape (n_samples,), optional
        For ``mean_score``, the calibration error (probabilities), the per-group AUC
        (with ``y_true``), the score-distribution disparities and the CDF plots.
    sample_weight : array-like of shape (n_samples,), optional
    metrics : str, callable, list or dict, optional
        As in :func:`group_metrics`; default every built-in metric the inputs allow.
    pos_label : scalar, default=1
    threshold : float, optional
    n_bins : int, default=10
    zero_division : float, default=0.0
    min_group_size : int, default=30
        Groups with fewer rows (unweighted) are small; 0 turns the check off.
    small_groups : {"warn", "merge", "error"}, default="warn"
    other_label : str, default="<other>"
        Label of the pooled group (``small_groups="merge"``); in every column when
        there are several sensitive columns.

    Attributes
    ----------
    by_group : pandas.DataFrame
        One row per group, one column per metric.
    overall : pandas.Series
        Every metric on all rows.
    group_sizes : pandas.Series
        Rows per group.
    small_groups : pandas.Index
        The groups with fewer than ``min_group_size`` rows (after any merge).
    merged_groups : list
        The original labels pooled into ``other_label`` (``small_groups="merge"``).
    bootstrap_ : BootstrapResult or None
        Set by :meth:`bootstrap`.

    Examples
    --------
    >>> from fairfast.metrics import GroupReport
    >>> r = GroupReport([1, 0, 1, 0, 1, 1], [1, 0, 0, 0, 1, 1],
    ...                 sensitive_features=["a", "a", "a", "b", "b", "b"],
    ...                 metrics=["selection_rate", "tpr", "accuracy"], min_group_size=0)
    >>> r.by_group.round(3)
                         selection_rate  true_positive_rate  accuracy
    sensitive_feature_0
    a                             0.333                 0.5     0.667
    b                             0.667                 1.0     1.000
    >>> r.difference()["selection_rate"].round(3)
    np.float64(0.333)
    >>> r.disparities()["demographic_parity_ratio"]
    np.float64(0.5)
    """

    def __init__(self, y_true=None, y_pred=None, *, sensitive_features, scores=None, sample_weight=None,
                 metrics=None, pos_label=1, threshold=None, n_bins=10, zero_division=0.0, min_group_size=30,
                 small_groups="warn", other_label="<other>"):
        import pandas as pd

        if isinstance(min_group_size, bool) or not isinstance(min_group_size, numbers.Integral) or min_group_size < 0:
            raise ValueError(f"min_group_size must be an int >= 0, got {min_group_size!r}")
        check_choice(small_groups, "small_groups", _SMALL_GROUP_POLICIES)
        if not isinstance(other_label, str) or not other_label:
            raise TypeError(f"other_label must be a non-empty str, got {other_label!r}")
        self.min_group_size, self.small_groups_policy, self.other_label = int(min_group_size), small_groups, other_label
        kwargs = dict(scores=scores, sample_weight=sample_weight, pos_label=pos_label, threshold=threshold,
                      n_bins=n_bins)
        self._inputs = _Inputs(y_true, y_pred, sensitive_features=sensitive_features, **kwargs)
        self.zero_division = check_zero_division(zero_division)
        self._builtin, custom, self._display = resolve_metrics(metrics, self._inputs)
        self._sums = self._inputs.sums()
        self.merged_groups = []
        small = self._sums[:, _ROWS] < self.min_group_size
        if small.any() and small_groups == "error":
            raise ValueError(f"sensitive_features has {int(small.sum())} group(s) with fewer than min_group_size="
                             f"{self.min_group_size} rows: {self._describe(small)}; merge them (small_groups='merge'),"
                             f" lower min_group_size, or recode the groups")
        if small.any() and small_groups == "merge":
            merged = self._merged_features(small)
            self._inputs = _Inputs(y_true, y_pred, sensitive_features=merged, **kwargs)
            self._sums = self._inputs.sums()
            small = self._sums[:, _ROWS] < self.min_group_size
        self._small = small
        scale = self._inputs.score_scale
        self._values = metrics_from_sums(self._sums, self._builtin, self._inputs.n_bins, zero_division, scale)
        self._overall_values = metrics_from_sums(self._sums.sum(axis=0), self._builtin, self._inputs.n_bins,
                                                 zero_division, scale)
        index = self._inputs.groups.index()
        self.group_sizes = pd.Series(self._sums[:, _ROWS].astype(np.int64), index=index, name="rows")
        self.small_groups = index[small]
        data, overall = {}, {}
        for name in self._builtin:
            col = self._display[name]
            data[col] = self._values[name].astype(np.int64) if name == "count" else self._values[name]
            overall[col] = self._overall_values[name]
        if custom:
            codes = self._inputs.groups.compact_codes()
            for name, (vals, tot) in custom_by_group(custom, self._inputs, codes, len(index)).items():
                data[name] = vals
                overall[name] = tot
        self.by_group = pd.DataFrame(data, index=index, columns=list(data))
        self.overall = pd.Series(overall, dtype=object if custom else np.float64, name="overall")
        if not custom:
            self.overall = self.overall.astype(np.float64)
        self.bootstrap_ = None
        if small.any():
            fix = ("the pooled group is still small; lower min_group_size or recode the groups" if self.merged_groups
                   else "pool them with small_groups='merge', refuse them with small_groups='error', or lower "
                        "min_group_size")
            warnings.warn(f"{int(small.sum())} group(s) have fewer than min_group_size={self.min_group_size} rows: "
                          f"{self._describe(small)}; disparities they set are marked in the report ({fix})",
                          SmallGroupWarning, stacklevel=2)

    def _describe(self, small, limit=6):
        index = self._inputs.groups.index()
        rows = self._sums[:, _ROWS]
        shown = [f"{self.display_name(index[k])} ({int(rows[k])} rows)" for k in np.flatnonzero(small)]
        return ", ".join(shown[:limit]) + (f" and {len(shown) - limit} more" if len(shown) > limit else "")

    def display_name(self, g):
        """The name of group label ``g`` in reports: ``"a & b"`` for an intersection, the
        ``other_label`` alone for the merged small groups."""
        if isinstance(g, tuple) and self.merged_groups and all(x == self.other_label for x in g):
            return self.other_label
        return group_name(g)

    def _merged_features(self, small):
        """The sensitive columns with the rows of the small groups relabelled."""
        groups = self._inputs.groups
        index = groups.index()
        codes = groups.compact_codes()
        multi = len(groups.names) > 1
        kept = index[~small]
        if (self.other_label in kept) if not multi else (tuple([self.other_label] * len(groups.names)) in kept):
            raise ValueError(f"other_label={self.other_label!r} is already a group; choose another other_label")
        self.merged_groups = list(index[small])
        row_small = small[codes]
        columns = {}
        for j, name in enumerate(groups.names):
            level = np.asarray(index.get_level_values(j) if multi else index, dtype=object)
            col = level[codes]
            col[row_small] = self.other_label
            columns[name] = col
        return columns

    # -- aggregates -------------------------------------------------------------------

    def by_feature(self, name):
        """Built-in metrics by the values of one sensitive column, marginalising the
        intersections (from the same one-pass sums: no new pass over the data).

        Parameters
        ----------
        name : str
            One of the sensitive column names (``by_group.index.names``).

        Returns
        -------
        pandas.DataFrame

        Examples
        --------
        >>> from fairfast.metrics import GroupReport
        >>> r = GroupReport([1, 0, 1, 0], [1, 0, 0, 0],
        ...                 sensitive_features={"sex": ["f", "f", "m", "m"], "age": [1, 2, 1, 2]},
        ...                 metrics=["count", "selection_rate"], min_group_size=0)
        >>> r.by_feature("age")
             count  selection_rate
        age
        1        2             0.5
        2        2             0.0
        """
        import pandas as pd

        names = list(self.by_group.index.names)
        if name not in names:
            raise ValueError(f"name must be one of the sensitive columns {names}, got {name!r}")
        keys = self.by_group.index.get_level_values(name) if len(names) > 1 else self.by_group.index
        codes, uniques = pd.factorize(keys, sort=True)
        sums = np.zeros((len(uniques), self._sums.shape[1]))
        np.add.at(sums, codes, self._sums)
        values = metrics_from_sums(sums, self._builtin, self._inputs.n_bins, self.zero_division,
                                   self._inputs.score_scale)
        data = {self._display[m]: (values[m].astype(np.int64) if m == "count" else values[m]) for m in self._builtin}
        return pd.DataFrame(data, index=pd.Index(uniques, name=name), columns=list(data))

    def _numeric(self):
        cols = [c for c in self.by_group.columns if c != "count"]
        return self.by_group[cols].apply(lambda c: c.map(lambda v: v if np.isscalar(v) else np.nan)).astype(float)

    def group_min(self):
        """Smallest group value of every metric (``count`` excluded), NaN skipped."""
        return self._numeric().min()

    def group_max(self):
        """Largest group value of every metric (``count`` excluded), NaN skipped."""
        return self._numeric().max()

    def difference(self, method="between_groups"):
        """Largest minus smallest group value (``between_groups``) or largest absolute
        gap to the overall value (``to_overall``), per metric, as fairlearn."""
        import pandas as pd

        check_choice(method, "method", _METHODS)
        num = self._numeric()
        overall = self.overall[num.columns].astype(float).to_numpy()
        return pd.Series(difference_of(num.to_numpy().T, overall, method), index=num.columns, name="difference")

    def ratio(self, method="between_groups"):
        """Smallest over largest group value (``between_groups``) or smallest
        ``min(m_g / m, m / m_g)`` (``to_overall``), per metric, as fairlearn."""
        import pandas as pd

        check_choice(method, "method", _METHODS)
        num = self._numeric()
        overall = self.overall[num.columns].astype(float).to_numpy()
        return pd.Series(ratio_of(num.to_numpy().T, overall, method), index=num.columns, name="ratio")

    def _available_disparities(self):
        return [d for d, (ms, _) in DISPARITIES.items() if all(m in self._builtin for m in ms)]

    def disparities(self, method="between_groups", agg="worst_case", include_small_groups=True):
        """The named disparities of :data:`DISPARITIES` that the report's metrics allow.

        ``include_small_groups=False`` leaves the groups of :attr:`small_groups` out
        (NaN when no other group remains); the overall values still cover all rows.
        """
        import pandas as pd

        check_choice(method, "method", _METHODS)
        check_choice(agg, "agg", _AGGS)
        names = self._available_disparities()
        values, keep = self._values, ~self._small
        if not include_small_groups:
            values = {m: v[keep] for m, v in values.items()}
        vals = [float(disparity_from_metrics(d, values, self._overall_values, method, agg))
                if include_small_groups or keep.any() else np.nan for d in names]
        return pd.Series(vals, index=names, name="disparity", dtype=float)

    def set_by_small_groups(self, method="between_groups", agg="worst_case"):
        """Which disparities the small groups set: True where leaving the groups of
        :attr:`small_groups` out changes the value (always False without small groups).

        Examples
        --------
        >>> import warnings
        >>> from fairfast.metrics import GroupReport
        >>> with warnings.catch_warnings():
        ...     warnings.simplefilter("ignore")
        ...     r = GroupReport(None, [1, 0] * 10 + [1, 1, 1, 0] * 5 + [1, 1],
        ...                     sensitive_features=["a"] * 20 + ["b"] * 20 + ["c"] * 2, min_group_size=5)
        >>> list(r.small_groups), bool(r.set_by_small_groups()["demographic_parity_difference"])
        (['c'], True)
        >>> r.disparities()["demographic_parity_difference"], r.disparities(include_small_groups=False).iloc[0]
        (np.float64(0.5), np.float64(0.25))
        """
        import pandas as pd

        full = self.disparities(method, agg).to_numpy()
        without = self.disparities(method, agg, include_small_groups=False).to_numpy()
        flags = self._small.any() & ~same_value(full, without)
        return pd.Series(flags, index=self._available_disparities(), name="set_by_small_groups", dtype=bool)

    # -- score audits -------------------------------------------------------------------

    def auc_by_group(self, confidence_level=0.95):
        """AUC of the scores within every group and on all rows, with DeLong intervals
        (NaN without a positive or a negative; intervals NaN with sample weights).

        Returns
        -------
        pandas.DataFrame
            Index: the groups, then ``"(overall)"``; columns ``auc``, ``low``, ``high``.
        """
        from ._score_audit import report_auc

        check_bootstrap_args(1, confidence_level)
        return report_auc(self, confidence_level)

    def score_distances(self, metric="ks"):
        """Pairwise distances between the groups' score distributions (``"ks"``,
        ``"w1"`` or ``"w2"``; see :func:`fairfast.metrics.pairwise_group_distances`),
        as a DataFrame indexed by the group names."""
        from ._score_audit import report_distances

        return report_distances(self, metric)

    def score_disparities(self):
        """KS and Wasserstein-1 unfairness of the scores (:func:`fairfast.metrics.unfairness`:
        the largest distance between two groups' score distributions) and the pair that
        sets each; ``set_by_small_group`` and ``without_small_groups`` as for the
        disparities.

        Returns
        -------
        pandas.DataFrame
            Index ``ks_unfairness``, ``w1_unfairness``; columns ``value``, ``group_a``,
            ``group_b``, ``set_by_small_group``, ``without_small_groups``.
        """
        from ._score_audit import report_score_disparities

        return report_score_disparities(self)

    # -- bootstrap ----------------------------------------------------------------------

    def bootstrap(self, n_replicates=1000, confidence_level=0.95, random_state=None, agg="worst_case",
                  progress=False):
        """Stratified-bootstrap percentile intervals of every built-in metric (by group
        and overall), of its difference and ratio, and of the named disparities.

        Resampling is stratified by group and keyed by ``(seed, replicate, group)`` on a
        counter-based generator, so results do not depend on the thread count; see
        :func:`fairfast.metrics.bootstrap_disparity` for the scheme.

        Parameters
        ----------
        n_replicates : int, default=1000
        confidence_level : float, default=0.95
        random_state : int, numpy Generator or None
        agg : {"worst_case", "mean"}, default="worst_case"
        progress : bool or callable, default=False
            True shows a progress bar (tqdm) on stderr; a callable is called with the
            number of replicates finished after each chunk. Replicates are computed in
            chunks then, with the same result.

        Returns
        -------
        BootstrapResult
            Also stored as ``self.bootstrap_``.
        """
        from ._bootstrap import report_bootstrap

        self.bootstrap_ = report_bootstrap(self, n_replicates, confidence_level, random_state, agg, progress)
        return self.bootstrap_

    # -- output -------------------------------------------------------------------------

    def to_dict(self):
        """Plain-Python summary (JSON-serialisable): groups and their sizes, small groups,
        metrics by group, overall, differences, ratios, disparities (with the ones set
        by small groups), score audits and, if computed, bootstrap intervals."""
        from ._report_output import report_dict

        return report_dict(self)

    def to_json(self, path=None, indent=2):
        """:meth:`to_dict` as JSON text; written to ``path`` if given (atomically: a
        temporary file in the same directory, renamed on success)."""
        from .._base.atomic import write_text_atomic

        text = json.dumps(self.to_dict(), indent=indent, default=str)
        if path is not None:
            write_text_atomic(path, text + "\n")
        return text

    def to_text(self, digits=3, width=100):
        """A readable text report that fits ``width`` columns: metrics by group and
        overall (wrapped by metric), disparities with bootstrap intervals when
        :meth:`bootstrap` has run, small-group marks and, with scores, the AUC by group
        and the score-distribution disparities."""
        from ._report_output import report_text

        return report_text(self, digits, width)

    def to_html(self, path=None, *, title="Fairness report", plots=True, details=None):
        """A standalone HTML page: tables (metrics by group with intervals, disparities,
        score audits), notes and, with ``plots``, the figures as inline PNG images
        (needs matplotlib). Written atomically to ``path`` if given.

        ``details`` is an optional dict of extra lines for the header table (e.g. the
        input file and the options of ``fairfast audit``).
        """
        from ._report_html import report_html
        from .._base.atomic import write_text_atomic

        text = report_html(self, title, plots, details or {})
        if path is not None:
            write_text_atomic(path, text)
        return text

    def __str__(self):
        return self.to_text()

    def __repr__(self):
        return f"GroupReport(groups={len(self.by_group)}, metrics={list(self.by_group.columns)})"

    # -- plots --------------------------------------------------------------------------

    def plot_bars(self, metrics=None, *, ax=None, title=None):
        """Bar chart of each metric by group, with bootstrap intervals when computed and
        a dashed line at the overall value; small groups are hatched. Needs matplotlib.

        Parameters
        ----------
        metrics : list of str, optional
            Columns of ``by_group`` (default: all but ``count``, at most 6).
        ax : matplotlib Axes or array of Axes, optional
            One Axes per metric; a new Figure is made when omitted.
        title : str, optional

        Returns
        -------
        matplotlib.figure.Figure
        """
        from ._report_plots import plot_bars

        return plot_bars([self], ["report"], metrics, ax, title)

    def plot_comparison(self, other, metrics=None, *, labels=("before", "after"), ax=None, title=None):
        """Side-by-side bars of this report and ``other`` (e.g. before and after a
        post-processing) for each metric by group, with intervals when bootstrapped.

        Returns
        -------
        matplotlib.figure.Figure
        """
        from ._report_plots import plot_bars

        if not isinstance(other, GroupReport):
            raise TypeError(f"other must be a GroupReport, got {type(other).__name__}")
        return plot_bars([self, other], list(labels), metrics, ax, title)

    def plot_score_cdfs(self, *, ax=None, title=None, label_scores="score"):
        """Weighted empirical CDF of the scores in every group (one colour per group,
        the legend outside the panel). Needs ``scores``.

        Returns
        -------
        matplotlib.figure.Figure
        """
        from ._report_plots import plot_score_cdfs

        return plot_score_cdfs(self, ax, title, label_scores)

    def plot_summary(self, metrics=None, *, title=None):
        """One figure: bars of up to five metrics by group (with intervals when
        bootstrapped) and, when the report has scores, the score CDFs by group.

        Returns
        -------
        matplotlib.figure.Figure
        """
        from ._report_plots import plot_summary

        return plot_summary(self, metrics, title)
