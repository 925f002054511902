"""The trade-off frontier of :class:`GroupThresholds`: utility against violation over
tolerances, with bootstrap bands of the held-out values (see :mod:`._thresholds_noise`)."""

import numpy as np

from ._thresholds import GroupThresholds

__all__ = ["threshold_frontier"]


def threshold_frontier(scores, y, *, sensitive_features, constraint="demographic_parity", tolerances=None,
                       n_bootstrap=50, holdout_size=None, random_state=0, sample_weight=None, **params):
    """Utility against violation over tolerances, with bootstrap bands on held-out data.

    Parameters
    ----------
    scores, y : array-like of shape (n,)
        Scores and labels of the fit data.
    sensitive_features : array-like
        Groups.
    constraint : str, default="demographic_parity"
        A named constraint of :class:`GroupThresholds`.
    tolerances : sequence of float, optional
        Default: 0 to 0.2 in 11 steps.
    n_bootstrap : int, default=50
        Replicates per tolerance (the bands are their 2.5-97.5% range).
    holdout_size : int, optional
        Rows of the held-out sample the bands are for (default: the fit rows).
    random_state : int, default=0
    sample_weight : array-like, optional
    **params
        Other :class:`GroupThresholds` parameters (``objective``, ``mode``, ...).

    Returns
    -------
    pandas.DataFrame
        One row per tolerance: ``fit_utility``, ``fit_violation`` and the held-out
        ``violation_mean/low/high`` and ``utility_mean/low/high``.

    Examples
    --------
    >>> import numpy as np
    >>> from fairfast.postprocessing import threshold_frontier
    >>> rng = np.random.default_rng(0)
    >>> a = rng.integers(0, 2, 2000)
    >>> p = np.where(a == 0, rng.uniform(0, 1, 2000), rng.uniform(0, 0.5, 2000))
    >>> y = (rng.uniform(size=2000) < p).astype(int)
    >>> fr = threshold_frontier(p, y, sensitive_features=a, tolerances=[0, 0.1, 0.2], n_bootstrap=20)
    >>> bool(fr["fit_utility"].is_monotonic_increasing)
    True
    >>> list(fr.columns[:3])
    ['tolerance', 'fit_utility', 'fit_violation']
    """
    import pandas as pd

    tolerances = np.linspace(0.0, 0.2, 11) if tolerances is None else np.asarray(tolerances, dtype=float)
    rows = []
    for tol in tolerances:
        gt = GroupThresholds(constraint=constraint, tolerance=float(tol), n_bootstrap=n_bootstrap,
                             holdout_size=holdout_size, random_state=random_state, **params)
        gt.fit(scores, y, sensitive_features=sensitive_features, sample_weight=sample_weight)
        h = gt.holdout_
        rows.append({"tolerance": float(tol), "fit_utility": gt.utility_, "fit_violation": gt.violation_,
                     **{k: h[k] for k in ("violation_mean", "violation_low", "violation_high", "utility_mean",
                                          "utility_low", "utility_high", "replicates")}})
    return pd.DataFrame(rows)
