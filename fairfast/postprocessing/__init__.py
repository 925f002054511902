"""Post-processing of model outputs for group fairness.

- :class:`WassersteinBarycenter`: maps each group's scores onto the Wasserstein
  barycenter of the groups' score distributions (strong demographic parity), with
  partial fairness through ``epsilon``.
- :class:`GroupThresholds`: per-group monotone thresholds on a classifier's score,
  optimal under constraints built from per-group confusion counts;
  :func:`threshold_frontier` and :func:`plot_frontier` for the trade-off over
  tolerances; :func:`misassignment_cost` for groups inferred at prediction time.
"""

from .._base.grouping import SmallGroupWarning
from ._barycenter import WassersteinBarycenter
from ._thresholds import GroupThresholds, InfeasibleConstraintError, InfeasibleConstraintWarning
from ._thresholds_inferred import misassignment_cost
from ._thresholds_frontier import threshold_frontier
from ._thresholds_plot import plot_frontier

__all__ = ["GroupThresholds", "InfeasibleConstraintError", "InfeasibleConstraintWarning", "SmallGroupWarning",
           "WassersteinBarycenter", "misassignment_cost", "plot_frontier", "threshold_frontier"]
