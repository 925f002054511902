"""GroupReport: metrics by group, overall, disparities, bootstrap intervals, output, plots."""

import json
import math

import numpy as np

from .._base.validation import check_choice, check_seed
from ._bootstrap import bootstrap_sums, check_bootstrap_args, percentile_interval
from ._disparities import _AGGS, _METHODS, DISPARITIES, difference_of, disparity_from_metrics, ratio_of
from ._group_metrics import _Inputs, custom_by_group, metrics_from_sums, resolve_metrics

__all__ = ["BootstrapResult", "GroupReport"]


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
            return {str(k): {c: _num(v) for c, v in row.items()} for k, row in df.iterrows()}

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


def _num(v):
    if isinstance(v, (np.integer,)):
        return int(v)
    if isinstance(v, (float, np.floating)):
        v = float(v)
        return None if math.isnan(v) else v
    return v


class GroupReport:
    """Metrics by group, overall and their disparities: fairfast's ``MetricFrame``.

    All built-in metrics (see :func:`group_metrics`) come from one compiled pass over
    the data; user callables are evaluated group by group. Groups are the observed
    values (or intersections) of the sensitive features; a rate with an empty
    denominator is ``zero_division``.

    Parameters
    ----------
    y_true, y_pred : array-like of shape (n_samples,), optional
        True and predicted labels; positives equal ``pos_label``. ``y_pred`` may be
        derived from ``scores`` with ``threshold``.
    sensitive_features : array-like, Series, DataFrame or dict of columns
    scores : array-like of shape (n_samples,), optional
        For ``mean_score``, the calibration error (probabilities) and the CDF plots.
    sample_weight : array-like of shape (n_samples,), optional
    metrics : str, callable, list or dict, optional
        As in :func:`group_metrics`; default every built-in metric the inputs allow.
    pos_label : scalar, default=1
    threshold : float, optional
    n_bins : int, default=10
    zero_division : float, default=0.0

    Attributes
    ----------
    by_group : pandas.DataFrame
        One row per group, one column per metric.
    overall : pandas.Series
        Every metric on all rows.
    bootstrap_ : BootstrapResult or None
        Set by :meth:`bootstrap`.

    Examples
    --------
    >>> from fairfast.metrics import GroupReport
    >>> r = GroupReport([1, 0, 1, 0, 1, 1], [1, 0, 0, 0, 1, 1],
    ...                 sensitive_features=["a", "a", "a", "b", "b", "b"],
    ...                 metrics=["selection_rate", "tpr", "accuracy"])
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
                 metrics=None, pos_label=1, threshold=None, n_bins=10, zero_division=0.0):
        import pandas as pd

        self._inputs = _Inputs(y_true, y_pred, sensitive_features=sensitive_features, scores=scores,
                               sample_weight=sample_weight, pos_label=pos_label, threshold=threshold, n_bins=n_bins)
        self.zero_division = zero_division
        self._builtin, custom, self._display = resolve_metrics(metrics, self._inputs)
        self._sums = self._inputs.sums()
        self._values = metrics_from_sums(self._sums, self._builtin, self._inputs.n_bins, zero_division)
        self._overall_values = metrics_from_sums(self._sums.sum(axis=0), self._builtin, self._inputs.n_bins,
                                                 zero_division)
        index = self._inputs.groups.index()
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
        ...                 metrics=["count", "selection_rate"])
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
        values = metrics_from_sums(sums, self._builtin, self._inputs.n_bins, self.zero_division)
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

    def disparities(self, method="between_groups", agg="worst_case"):
        """The named disparities of :data:`DISPARITIES` that the report's metrics allow."""
        import pandas as pd

        check_choice(method, "method", _METHODS)
        check_choice(agg, "agg", _AGGS)
        names = self._available_disparities()
        vals = [float(disparity_from_metrics(d, self._values, self._overall_values, method, agg)) for d in names]
        return pd.Series(vals, index=names, name="disparity", dtype=float)

    # -- bootstrap ----------------------------------------------------------------------

    def bootstrap(self, n_replicates=1000, confidence_level=0.95, random_state=None, agg="worst_case"):
        """Stratified-bootstrap percentile intervals of every built-in metric (by group
        and overall), of its difference and ratio, and of the named disparities.

        Resampling is stratified by group and keyed by ``(seed, replicate, group)`` on a
        counter-based generator, so results do not depend on the thread count; see
        :func:`fairfast.metrics.bootstrap_disparity` for the scheme.

        Returns
        -------
        BootstrapResult
            Also stored as ``self.bootstrap_``.
        """
        import pandas as pd

        check_bootstrap_args(n_replicates, confidence_level)
        check_choice(agg, "agg", _AGGS)
        seed = check_seed(random_state)
        inputs = self._inputs
        reps = bootstrap_sums(inputs, self._sums, n_replicates, seed)
        values = metrics_from_sums(reps, self._builtin, inputs.n_bins, self.zero_division)
        overall = metrics_from_sums(reps.sum(axis=1), self._builtin, inputs.n_bins, self.zero_division)
        res = BootstrapResult()
        res.n_replicates, res.confidence_level, res.random_state = int(n_replicates), confidence_level, seed
        res.scheme = "multinomial" if inputs.sample_weight is None and inputs.scores is None else "index"
        res.replicates = {self._display[m]: values[m] for m in self._builtin}
        cols = [self._display[m] for m in self._builtin]
        lows, highs = {}, {}
        for m in self._builtin:
            lows[self._display[m]], highs[self._display[m]] = percentile_interval(values[m], confidence_level)
        res.by_group_low = pd.DataFrame(lows, index=self.by_group.index, columns=cols)
        res.by_group_high = pd.DataFrame(highs, index=self.by_group.index, columns=cols)

        rated = [m for m in self._builtin if m != "count"]
        names = [self._display[m] for m in rated]
        res.overall = _interval_table(cols, [self._overall_values[m] for m in self._builtin],
                                      [overall[m] for m in self._builtin], confidence_level)
        res.difference, res.ratio, res.disparities = {}, {}, {}
        for method in _METHODS:
            res.difference[method] = _interval_table(
                names, [difference_of(self._values[m], self._overall_values[m], method) for m in rated],
                [difference_of(values[m], overall[m], method) for m in rated], confidence_level)
            res.ratio[method] = _interval_table(
                names, [ratio_of(self._values[m], self._overall_values[m], method) for m in rated],
                [ratio_of(values[m], overall[m], method) for m in rated], confidence_level)
            dnames = self._available_disparities()
            res.disparities[method] = _interval_table(
                dnames,
                [disparity_from_metrics(d, self._values, self._overall_values, method, agg) for d in dnames],
                [disparity_from_metrics(d, values, overall, method, agg) for d in dnames], confidence_level)
        self.bootstrap_ = res
        return res

    # -- output -------------------------------------------------------------------------

    def to_dict(self):
        """Plain-Python summary (JSON-serialisable): groups, metrics by group, overall,
        differences, ratios, disparities and, if computed, bootstrap intervals."""
        groups = [list(g) if isinstance(g, tuple) else g for g in self.by_group.index]
        out = {
            "sensitive_features": list(self._inputs.groups.names),
            "groups": [_num(g) if not isinstance(g, list) else [_num(x) for x in g] for g in groups],
            "by_group": {c: [_num(v) for v in self.by_group[c]] for c in self.by_group.columns},
            "overall": {c: _num(v) for c, v in self.overall.items()},
            "difference": {m: {c: _num(v) for c, v in self.difference(m).items()} for m in _METHODS},
            "ratio": {m: {c: _num(v) for c, v in self.ratio(m).items()} for m in _METHODS},
            "disparities": {m: {c: _num(v) for c, v in self.disparities(m).items()} for m in _METHODS},
        }
        if self.bootstrap_ is not None:
            b = self.bootstrap_
            out["bootstrap"] = b.to_dict()
            out["bootstrap"]["by_group_low"] = {c: [_num(v) for v in b.by_group_low[c]] for c in b.by_group_low}
            out["bootstrap"]["by_group_high"] = {c: [_num(v) for v in b.by_group_high[c]] for c in b.by_group_high}
        return out

    def to_json(self, path=None, indent=2):
        """:meth:`to_dict` as JSON text; written to ``path`` if given."""
        text = json.dumps(self.to_dict(), indent=indent, default=str)
        if path is not None:
            with open(path, "w", encoding="utf-8") as f:
                f.write(text + "\n")
        return text

    def to_text(self, digits=3):
        """A readable text table: metrics by group and overall, then disparities (with
        bootstrap intervals when :meth:`bootstrap` has run)."""
        import pandas as pd

        b = self.bootstrap_
        fmt = f"{{:.{digits}f}}"

        def cell(v, lo=None, hi=None):
            if isinstance(v, (int, np.integer)):
                return str(int(v))
            if not isinstance(v, (float, np.floating)):
                return str(v)
            s = "nan" if np.isnan(v) else fmt.format(v)
            if lo is not None and not (np.isnan(lo) or np.isnan(hi)):
                s += f" [{fmt.format(lo)}, {fmt.format(hi)}]"
            return s

        cols = {}
        for g in self.by_group.index:
            cols[_group_name(g)] = [
                cell(self.by_group.loc[g, c],
                     *((b.by_group_low.loc[g, c], b.by_group_high.loc[g, c]) if b is not None and c in b.by_group_low
                       and c != "count" else (None, None)))
                for c in self.by_group.columns]
        cols["(overall)"] = [
            cell(int(self.overall[c]) if c == "count" else self.overall[c],
                 *((b.overall.loc[c, "low"], b.overall.loc[c, "high"])
                   if b is not None and c in b.overall.index and c != "count" else (None, None)))
            for c in self.by_group.columns]
        table = pd.DataFrame(cols, index=self.by_group.columns)
        if len(cols) > 6:  # many groups: one row per group reads better
            table = table.T
        names = ", ".join(str(n) for n in self._inputs.groups.names)
        lines = [f"Group report: {len(self.by_group)} groups of {names}, {self._inputs.n} rows"]
        if b is not None:
            lines.append(f"[low, high]: {100 * b.confidence_level:g}% stratified bootstrap percentile intervals, "
                         f"{b.n_replicates} replicates")
        lines += ["", table.to_string(), ""]
        disp = self.disparities()
        if len(disp):
            lines.append("Disparities (between groups):")
            width = max(len(d) for d in disp.index)
            for d, v in disp.items():
                lo_hi = (b.disparities["between_groups"].loc[d, "low"], b.disparities["between_groups"].loc[d, "high"]) \
                    if b is not None else (None, None)
                lines.append(f"  {d:<{width}}  {cell(v, *lo_hi)}")
        return "\n".join(lines)

    def __str__(self):
        return self.to_text()

    def __repr__(self):
        return f"GroupReport(groups={len(self.by_group)}, metrics={list(self.by_group.columns)})"

    # -- plots --------------------------------------------------------------------------

    def plot_bars(self, metrics=None, *, ax=None, title=None):
        """Bar chart of each metric by group, with bootstrap intervals when computed and
        a dashed line at the overall value. Needs matplotlib.

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
        return _plot_bars([self], ["report"], metrics, ax, title)

    def plot_comparison(self, other, metrics=None, *, labels=("before", "after"), ax=None, title=None):
        """Side-by-side bars of this report and ``other`` (e.g. before and after a
        post-processing) for each metric by group, with intervals when bootstrapped.

        Returns
        -------
        matplotlib.figure.Figure
        """
        if not isinstance(other, GroupReport):
            raise TypeError(f"other must be a GroupReport, got {type(other).__name__}")
        return _plot_bars([self, other], list(labels), metrics, ax, title)

    def plot_score_cdfs(self, *, ax=None, title=None, label_scores="score"):
        """Weighted empirical CDF of the scores in every group. Needs ``scores``.

        Returns
        -------
        matplotlib.figure.Figure
        """
        inputs = self._inputs
        if inputs.scores is None:
            raise ValueError("plot_score_cdfs needs scores; pass scores= to GroupReport")
        fig, axes = _axes(ax, 1)
        a = axes[0]
        codes = inputs.groups.compact_codes()
        w = inputs.sample_weight
        for k, g in enumerate(self.by_group.index):
            m = codes == k
            s = inputs.scores[m]
            ww = np.ones(s.size) if w is None else w[m]
            order = np.argsort(s, kind="stable")
            cum = np.cumsum(ww[order])
            a.step(np.r_[s[order][0], s[order]], np.r_[0.0, cum / cum[-1]], where="post", label=_group_name(g))
        a.set_xlabel(label_scores)
        a.set_ylabel("cumulative share of the group")
        a.set_ylim(0, 1.02)
        a.legend(title=", ".join(str(n) for n in inputs.groups.names), fontsize="small")
        a.set_title(title or "Score distribution by group")
        a.grid(alpha=0.3)
        return fig

    def plot_summary(self, metrics=None, *, title=None):
        """One figure: bars of up to five metrics by group (with intervals when
        bootstrapped) and, when the report has scores, the score CDFs by group.

        Returns
        -------
        matplotlib.figure.Figure
        """
        if metrics is None:
            preferred = ["selection_rate", "true_positive_rate", "false_positive_rate", "positive_predictive_value",
                         "accuracy", "calibration_error", "mean_score"]
            cols = list(self.by_group.columns)
            metrics = [m for m in preferred if m in cols] or [c for c in cols if c != "count"]
            metrics = metrics[:5]
        elif isinstance(metrics, str):
            metrics = [metrics]
        panels = len(metrics) + (self._inputs.scores is not None)
        fig, axes = _axes(None, panels)
        _plot_bars([self], ["report"], metrics, axes[: len(metrics)], None)
        if self._inputs.scores is not None:
            self.plot_score_cdfs(ax=axes[-1])
        if title:
            fig.suptitle(title)
        return fig

    def to_html(self, *, title="Fairness report", plots=True):
        """A self-contained HTML page: the text table, the disparities and, if matplotlib
        is installed and ``plots``, the plots as embedded PNG images."""
        import base64
        import html
        import io

        parts = [f"<!doctype html><html><head><meta charset='utf-8'><title>{html.escape(title)}</title></head>",
                 f"<body><h1>{html.escape(title)}</h1><pre>{html.escape(self.to_text())}</pre>"]
        if plots:
            for fig in [self.plot_summary()]:
                buf = io.BytesIO()
                fig.savefig(buf, format="png", dpi=100, bbox_inches="tight")
                parts.append("<img alt='plot' src='data:image/png;base64,"
                             + base64.b64encode(buf.getvalue()).decode("ascii") + "'/>")
        parts.append("</body></html>")
        return "\n".join(parts)


def _interval_table(index, estimates, replicates, confidence_level):
    import pandas as pd

    low, high = [], []
    for r in replicates:
        lo, hi = percentile_interval(r, confidence_level)
        low.append(float(lo))
        high.append(float(hi))
    return pd.DataFrame({"estimate": [float(e) for e in estimates], "low": low, "high": high},
                        index=pd.Index(index, dtype=object))


def _group_name(g):
    return " & ".join(str(x) for x in g) if isinstance(g, tuple) else str(g)


def _axes(ax, n):
    """(figure, list of n Axes): the given ones, or a new pyplot-free Figure."""
    if ax is not None:
        axes = list(np.ravel(ax))
        if len(axes) < n:
            raise ValueError(f"ax must provide {n} Axes, got {len(axes)}")
        return axes[0].figure, axes
    try:
        from matplotlib.figure import Figure
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise ImportError("plots need matplotlib: pip install matplotlib (fairfast[plot])") from exc
    cols = min(n, 3)
    rows = -(-n // cols)
    fig = Figure(figsize=(4.2 * cols, 3.4 * rows), layout="constrained")
    axes = [fig.add_subplot(rows, cols, i + 1) for i in range(n)]
    return fig, axes


def _plot_bars(reports, labels, metrics, ax, title):
    first = reports[0]
    if metrics is None:
        metrics = [c for c in first.by_group.columns if c != "count"
                   and all(c in r.by_group.columns for r in reports)][:6]
    elif isinstance(metrics, str):
        metrics = [metrics]
    for m in metrics:
        for r in reports:
            if m not in r.by_group.columns:
                raise ValueError(f"metric {m!r} is not in the report; its metrics are {list(r.by_group.columns)}")
    groups = list(first.by_group.index)
    for r in reports[1:]:
        if list(r.by_group.index) != groups:
            raise ValueError("the reports must have the same groups to be compared")
    fig, axes = _axes(ax, len(metrics))
    x = np.arange(len(groups))
    width = 0.8 / len(reports)
    colors = ["#4C72B0", "#DD8452", "#55A868", "#C44E52"]
    for a, m in zip(axes, metrics):
        for j, r in enumerate(reports):
            vals = r.by_group[m].to_numpy(dtype=float)
            err = None
            if r.bootstrap_ is not None and m in r.bootstrap_.by_group_low:
                lo = r.bootstrap_.by_group_low[m].to_numpy(dtype=float)
                hi = r.bootstrap_.by_group_high[m].to_numpy(dtype=float)
                err = np.vstack([np.clip(vals - lo, 0, None), np.clip(hi - vals, 0, None)])
            pos = x + (j - (len(reports) - 1) / 2) * width
            a.bar(pos, vals, width=width * 0.95, yerr=err, capsize=3, color=colors[j % len(colors)],
                  label=labels[j] if len(reports) > 1 else None)
            a.axhline(float(r.overall[m]), color=colors[j % len(colors)], linestyle="--", linewidth=1)
        a.set_xticks(x)
        a.set_xticklabels([_group_name(g) for g in groups], rotation=30 if len(groups) > 3 else 0, ha="right"
                          if len(groups) > 3 else "center", fontsize="small")
        a.set_title(m.replace("_", " "))
        a.grid(axis="y", alpha=0.3)
        if len(reports) > 1:
            a.legend(fontsize="small")
    if title:
        fig.suptitle(title)
    return fig
