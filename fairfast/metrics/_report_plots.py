"""Plots of a GroupReport (matplotlib, imported only here and only when drawing)."""

import numpy as np

__all__ = ["group_colors", "plot_bars", "plot_score_cdfs", "plot_summary", "require_matplotlib"]

_REPORT_COLORS = ["#4C72B0", "#DD8452", "#55A868", "#C44E52"]
_LINESTYLES = ["-", "--", ":", "-."]


def require_matplotlib(what="plots"):
    """Import matplotlib or raise ImportError saying what to install."""
    try:
        import matplotlib  # noqa: F401
        from matplotlib.figure import Figure  # noqa: F401
    except ImportError as exc:
        raise ImportError(f"{what} need matplotlib, which is not installed: pip install 'fairfast[plot]' "
                          f"(or pip install matplotlib)") from exc


def group_colors(n):
    """``n`` colours, all distinct up to 20 (tab10 up to 10 groups, tab20 up to 20);
    beyond 20 they repeat, and :func:`plot_score_cdfs` changes the line style."""
    from matplotlib import colormaps

    if n <= 10:
        cmap, k = colormaps["tab10"], 10
    else:
        cmap, k = colormaps["tab20"], 20
    return [cmap(i % k) for i in range(n)]


def _axes(ax, n, n_groups=4):
    """(figure, list of n Axes): the given ones, or a new pyplot-free Figure whose
    panels widen with the number of groups."""
    if ax is not None:
        axes = list(np.ravel(ax))
        if len(axes) < n:
            raise ValueError(f"ax must provide {n} Axes, got {len(axes)}")
        return axes[0].figure, axes
    require_matplotlib()
    from matplotlib.figure import Figure

    cols = min(n, 3 if n_groups <= 6 else 2)
    rows = -(-n // cols)
    fig = Figure(figsize=((4.6 + 0.22 * max(0, n_groups - 6)) * cols, (3.6 + 0.08 * max(0, n_groups - 6)) * rows),
                 layout="constrained")
    axes = [fig.add_subplot(rows, cols, i + 1) for i in range(n)]
    return fig, axes


def plot_bars(reports, labels, metrics, ax, title):
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
    fig, axes = _axes(ax, len(metrics), len(groups))
    x = np.arange(len(groups))
    width = 0.8 / len(reports)
    single = len(reports) == 1
    colors = group_colors(len(groups)) if single else None
    small = {g for r in reports for g in r.small_groups}
    names = [first.display_name(g) + (" *" if g in small else "") for g in groups]
    hatches = ["//" if g in small else None for g in groups]
    for a, m in zip(axes, metrics):
        for j, r in enumerate(reports):
            vals = r.by_group[m].to_numpy(dtype=float)
            err = None
            if r.bootstrap_ is not None and m in r.bootstrap_.by_group_low:
                lo = r.bootstrap_.by_group_low[m].to_numpy(dtype=float)
                hi = r.bootstrap_.by_group_high[m].to_numpy(dtype=float)
                err = np.vstack([np.clip(vals - lo, 0, None), np.clip(hi - vals, 0, None)])
            pos = x + (j - (len(reports) - 1) / 2) * width
            color = colors if single else _REPORT_COLORS[j % len(_REPORT_COLORS)]
            bars = a.bar(pos, vals, width=width * 0.95, yerr=err, capsize=3, color=color, edgecolor="#333333",
                         linewidth=0.4, label=None if single else labels[j])
            for bar, hatch in zip(bars, hatches):
                bar.set_hatch(hatch)
            line = "#555555" if single else _REPORT_COLORS[j % len(_REPORT_COLORS)]
            a.axhline(float(r.overall[m]), color=line, linestyle="--", linewidth=1)
        a.set_xticks(x)
        rotate = len(groups) > 3
        a.set_xticklabels(names, rotation=40 if rotate else 0, ha="right" if rotate else "center",
                          rotation_mode="anchor", fontsize="small" if len(groups) <= 8 else "x-small")
        a.set_title(m.replace("_", " "))
        a.grid(axis="y", alpha=0.3)
        if not single:
            a.legend(fontsize="small")
    if title:
        fig.suptitle(title)
    return fig


def plot_score_cdfs(report, ax, title, label_scores):
    inputs = report._inputs
    if inputs.scores is None:
        raise ValueError("plot_score_cdfs needs scores; pass scores= to GroupReport")
    fig, axes = _axes(ax, 1)
    a = axes[0]
    codes = inputs.groups.compact_codes()
    w = inputs.sample_weight
    groups = list(report.by_group.index)
    colors = group_colors(len(groups))
    small = set(report.small_groups)
    for k, g in enumerate(groups):
        m = codes == k
        s = inputs.scores[m]
        ww = np.ones(s.size) if w is None else w[m]
        order = np.argsort(s, kind="stable")
        cum = np.cumsum(ww[order])
        name = report.display_name(g) + (" *" if g in small else "")
        a.step(np.r_[s[order][0], s[order]], np.r_[0.0, cum / cum[-1]], where="post", label=name,
               color=colors[k], linestyle=_LINESTYLES[(k // 20) % len(_LINESTYLES)], linewidth=1.4)
    a.set_xlabel(label_scores)
    a.set_ylabel("cumulative share of the group")
    a.set_ylim(0, 1.02)
    # outside the panel (to its right), so that it never hides a curve
    a.legend(title=", ".join(str(n) for n in inputs.groups.names), fontsize="small", title_fontsize="small",
             loc="upper left", bbox_to_anchor=(1.02, 1.0), borderaxespad=0.0, frameon=False,
             ncols=1 if len(groups) <= 16 else 2)
    a.set_title(title or "Score distribution by group")
    a.grid(alpha=0.3)
    return fig


def plot_summary(report, metrics, title):
    if metrics is None:
        preferred = ["selection_rate", "true_positive_rate", "false_positive_rate", "positive_predictive_value",
                     "accuracy", "calibration_error", "mean_score"]
        cols = list(report.by_group.columns)
        metrics = [m for m in preferred if m in cols] or [c for c in cols if c != "count"]
        metrics = metrics[:5]
    elif isinstance(metrics, str):
        metrics = [metrics]
    panels = len(metrics) + (report._inputs.scores is not None)
    fig, axes = _axes(None, panels, len(report.by_group))
    plot_bars([report], ["report"], metrics, axes[: len(metrics)], None)
    if report._inputs.scores is not None:
        plot_score_cdfs(report, axes[-1], None, "score")
    if title:
        fig.suptitle(title)
    return fig
