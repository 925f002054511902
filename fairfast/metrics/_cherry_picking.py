"""Cherry-picking statistics of a selection rule (Favier & Calders, arXiv 2406.16606).

A rule cherry-picks inside a group when it accepts weaker members of the group while
rejecting stronger ones, "weaker" and "stronger" being measured by a reference score
``s`` (e.g. a calibrated, fairness-unconstrained model): the statistics are relative to
that score.
"""

import numpy as np

from .. import _core
from .._base.validation import as_float_array
from ._group_metrics import _Groups

__all__ = ["CherryPickingResult", "cherry_picking_statistics"]

_COLUMNS = ["count", "accepted", "rejected", "discordant_mass", "cherry_picking_index", "excess_selections",
            "excess_rate", "merit_regret"]


class CherryPickingResult:
    """Per-group and pooled cherry-picking statistics.

    Attributes
    ----------
    by_group : pandas.DataFrame
        Columns ``count``, ``accepted`` (A), ``rejected`` (R), ``discordant_mass`` (D),
        ``cherry_picking_index`` (D / (A R)), ``excess_selections`` (E),
        ``excess_rate`` (E / A) and ``merit_regret``.
    pooled : pandas.Series
        ``cherry_picking_index`` = sum D / sum A R (pairs inside groups only),
        ``excess_selections`` = sum E, ``excess_rate`` = sum E / sum A,
        ``merit_regret`` = sum of the group regrets.
    worst_group : label
        The group with the largest index (first one on ties).
    worst : float
        Its index.
    """

    def to_dict(self):
        groups = [list(g) if isinstance(g, tuple) else g for g in self.by_group.index]
        return {
            "groups": groups,
            "by_group": {c: [float(v) for v in self.by_group[c]] for c in self.by_group.columns},
            "pooled": {k: float(v) for k, v in self.pooled.items()},
            "worst_group": list(self.worst_group) if isinstance(self.worst_group, tuple) else self.worst_group,
            "worst": float(self.worst),
        }

    def __repr__(self):
        return (f"CherryPickingResult(pooled_index={self.pooled['cherry_picking_index']:.4g}, "
                f"worst_group={self.worst_group!r}, worst={self.worst:.4g})")


def cherry_picking_statistics(reference_scores, decisions, *, sensitive_features=None):
    r"""Cherry-picking index, excess selections and merit regret of a selection rule.

    For each group :math:`a` with reference scores :math:`s_i` and acceptance
    probabilities :math:`d_i \in [0, 1]` (0/1 for a deterministic rule), let
    :math:`A = \sum_i d_i` and :math:`R = \sum_i (1 - d_i)`.

    - Discordant mass: :math:`D = \sum_{i, j} d_i (1 - d_j) [s_j > s_i]
      + \frac12 \sum_{i \ne j} d_i (1 - d_j) [s_j = s_i]`: accepted-rejected pairs in
      which the rejected member has the higher reference score, ties counting one half.
    - Cherry-picking index :math:`CPI = D / (A R)` in [0, 1] (0 when :math:`AR = 0`). For
      0/1 decisions it is :math:`1 - \mathrm{AUC}` of the score separating accepted from
      rejected members (Mann-Whitney, ties 1/2): 0 for a threshold rule
      :math:`d = [s \ge t]`, 1 for a reversed one, about 1/2 for random decisions.
      :math:`D` only has :math:`i \ne j` terms, so it is multilinear in :math:`d`:
      for soft decisions it is the expected discordant mass of independent
      Bernoulli(:math:`d_i`) draws.
    - Excess selections :math:`E`: the least acceptance mass that must move (swaps, for
      0/1 decisions) to turn the rule into a threshold rule with the same total
      :math:`A`. With :math:`t` the score of the :math:`\lceil A \rceil`-th best member,
      :math:`E = \max(\sum_i d_i [s_i < t], \sum_i (1 - d_i) [s_i > t])`.
    - Merit regret :math:`\Delta U`: the sum of the top-:math:`A` scores (the top
      :math:`\lfloor A \rfloor` plus a fraction of the next) minus :math:`\sum_i d_i s_i`
      -- positives lost against a same-size threshold pick when :math:`s` is a
      calibrated probability.

    One sort by (group, score) and one linear pass: :math:`O(n \log n)`.

    Parameters
    ----------
    reference_scores : array-like of shape (n_samples,)
        The merit of each member (finite).
    decisions : array-like of shape (n_samples,)
        0/1 (or bool) decisions, or acceptance probabilities in [0, 1].
    sensitive_features : array-like, Series, DataFrame or dict of columns, optional
        Groups (several columns: intersections). Default: one group of all rows.

    Returns
    -------
    CherryPickingResult

    Notes
    -----
    Two choices where the specification (``cherry_picking.md`` section 5) was
    ambiguous, both checked against brute force in the tests:

    - Ties count one half (AUC convention). A threshold rule that splits its boundary
      tie block (randomising at the threshold) therefore gets
      :math:`CPI = \frac12 A_b R_b / (AR) > 0` for the :math:`A_b` accepted and
      :math:`R_b` rejected members of that block, while its :math:`E` and
      :math:`\Delta U` are exactly 0.
    - The specification's count "accepted members strictly below the
      :math:`m`-th largest score" is not the minimal number of swaps when rejected
      members sit strictly above a tied boundary block (scores 2, 1, 1 with decisions
      0, 1, 1 need one swap, but no accepted member lies below 1); :math:`E` above is
      the exact minimum, and equals the specification's count whenever the two agree
      on what a swap is.

    References
    ----------
    .. [1] Favier, M. and Calders, T., "Cherry on the cake: fairness is NOT an
       optimization problem", arXiv:2406.16606.

    Examples
    --------
    >>> from fairfast.metrics import cherry_picking_statistics
    >>> res = cherry_picking_statistics([0.9, 0.8, 0.3, 0.2], [0, 1, 1, 0])
    >>> res.by_group[["discordant_mass", "cherry_picking_index", "excess_selections"]]
           discordant_mass  cherry_picking_index  excess_selections
    group
    all                2.0                   0.5                1.0
    >>> round(float(res.by_group["merit_regret"].iloc[0]), 6)
    0.6
    """
    import pandas as pd

    s = as_float_array(reference_scores, "reference_scores", allow_2d_column=True, min_rows=1)
    n = s.shape[0]
    d = np.asarray(decisions.to_numpy() if hasattr(decisions, "to_numpy") else decisions)
    if d.ndim == 2 and d.shape[1] == 1:
        d = d[:, 0]
    if d.ndim != 1 or d.shape[0] != n:
        raise ValueError(f"decisions must be one-dimensional with {n} entries (one per reference score), "
                         f"got shape {d.shape}")
    if d.dtype == bool:
        d = d.astype(np.float64)
    d = as_float_array(d, "decisions", dtype=np.float64)
    if d.size and (d.min() < 0 or d.max() > 1):
        raise ValueError("decisions must be 0/1 or acceptance probabilities in [0, 1]")
    if s.dtype not in (np.float32, np.float64):
        s = s.astype(np.float64)
    if sensitive_features is None:
        groups = _Groups({"group": np.zeros(n, dtype=np.int32)}, n)
        groups._column_labels = [["all"]]
    else:
        groups = _Groups(sensitive_features, n)
    out = _core.metrics.cherry_picking(np.ascontiguousarray(s), np.ascontiguousarray(d), groups.codes,
                                       groups.n_codes)
    groups.set_counts(out[:, 0])
    out = out[groups.present]
    count, acc, rej, disc, exc, regret = out.T
    ar = acc * rej
    cpi = np.divide(disc, ar, out=np.zeros_like(disc), where=ar > 0)
    rate = np.divide(exc, acc, out=np.zeros_like(exc), where=acc > 0)
    res = CherryPickingResult()
    res.by_group = pd.DataFrame(
        {"count": count.astype(np.int64), "accepted": acc, "rejected": rej, "discordant_mass": disc,
         "cherry_picking_index": cpi, "excess_selections": exc, "excess_rate": rate, "merit_regret": regret},
        index=groups.index(), columns=_COLUMNS)
    total_ar = ar.sum()
    res.pooled = pd.Series({
        "cherry_picking_index": disc.sum() / total_ar if total_ar > 0 else 0.0,
        "excess_selections": exc.sum(),
        "excess_rate": exc.sum() / acc.sum() if acc.sum() > 0 else 0.0,
        "merit_regret": regret.sum(),
    }, name="pooled")
    k = int(np.argmax(cpi))
    res.worst_group = res.by_group.index[k]
    res.worst = float(cpi[k])
    return res
