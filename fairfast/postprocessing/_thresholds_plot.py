"""Plots of :class:`GroupThresholds`: the groups' fit-data curves with the chosen
operating points, and the trade-off frontier with its bootstrap bands."""

from .._base.validation import check_choice

__all__ = ["plot_rule", "plot_frontier"]


def _pyplot():
    try:
        import matplotlib.pyplot as plt
    except ImportError:  # pragma: no cover - matplotlib is in the plot extra
        raise ImportError("plotting needs matplotlib: pip install 'fairfast[plot]' (or matplotlib)") from None
    return plt


def plot_rule(est, curve="roc", ax=None):
    """Each group's fit-data curve (``"roc"``: FPR/TPR; ``"selection"``: selection rate/PPV)
    and the fitted rule's operating point on it."""
    check_choice(curve, "curve", ("roc", "selection"))
    plt = _pyplot()
    if ax is None:
        _, ax = plt.subplots()
    xk, yk = (("false_positive_rate", "true_positive_rate") if curve == "roc"
              else ("selection_rate", "positive_predictive_value"))
    for i, lab in enumerate(est.groups_):
        line, = ax.plot(est.curves_[lab][xk], est.curves_[lab][yk], label=str(lab), lw=1)
        ax.plot(est.operating_points_[xk].iloc[i], est.operating_points_[yk].iloc[i], "o",
                color=line.get_color(), ms=7)
    ax.set_xlabel(xk.replace("_", " "))
    ax.set_ylabel(yk.replace("_", " "))
    ax.set_title(f"{est.constraint_}: chosen operating points")
    ax.legend(title="group")
    return ax


def plot_frontier(frontier, ax=None, *, label=None, utility_name="accuracy"):
    """Held-out utility against held-out violation over tolerances, with bootstrap bands.

    Parameters
    ----------
    frontier : pandas.DataFrame
        Output of :func:`threshold_frontier`.
    ax : matplotlib Axes, optional
    label : str, optional
        Legend label of the held-out curve.
    utility_name : str, default="accuracy"
        Axis label of the utility.

    Returns
    -------
    matplotlib Axes
    """
    plt = _pyplot()
    if ax is None:
        _, ax = plt.subplots(figsize=(6.4, 4.4))
    f = frontier.sort_values("tolerance")
    line, = ax.plot(f["violation_mean"], f["utility_mean"], "o-", label=label or "held-out (bootstrap mean)")
    c = line.get_color()
    ax.errorbar(f["violation_mean"], f["utility_mean"],
                xerr=[f["violation_mean"] - f["violation_low"], f["violation_high"] - f["violation_mean"]],
                yerr=[f["utility_mean"] - f["utility_low"], f["utility_high"] - f["utility_mean"]],
                fmt="none", ecolor=c, alpha=0.35, capsize=2, label="2.5-97.5% bootstrap range")
    ax.plot(f["fit_violation"], f["fit_utility"], "s--", color="0.45", ms=4, label="fit data")
    for _, r in f.iterrows():
        ax.annotate(f"{r['tolerance']:g}", (r["violation_mean"], r["utility_mean"]), textcoords="offset points",
                    xytext=(4, -10), fontsize=7, color=c)
    ax.set_xlabel("violation (largest difference between groups)")
    ax.set_ylabel(utility_name)
    ax.legend(fontsize=8, loc="lower right")
    ax.grid(alpha=0.3)
    return ax
