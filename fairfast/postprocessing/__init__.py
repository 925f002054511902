"""Post-processing of model outputs for group fairness.

- :class:`WassersteinBarycenter`: maps each group's scores onto the Wasserstein
  barycenter of the groups' score distributions (strong demographic parity), with
  partial fairness through ``epsilon``.
"""

from .._base.grouping import SmallGroupWarning
from ._barycenter import WassersteinBarycenter
from ._thresholds import GroupThresholds

__all__ = ["GroupThresholds", "SmallGroupWarning", "WassersteinBarycenter"]
