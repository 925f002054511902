"""Fairness measures.

- :func:`unfairness`: the largest distance (KS, W1 or W2) between two groups' score
  distributions.
- :func:`group_metrics` and :class:`GroupReport`: rates, confusion metrics, calibration
  per group (and intersections) in one compiled pass; disparities, bootstrap intervals,
  small groups flagged (:class:`SmallGroupWarning`), merged or refused, AUC by group and
  score-distribution disparities, text/JSON/HTML output and plots.
- Disparities with fairlearn's names: :func:`demographic_parity_difference`,
  :func:`equalized_odds_ratio`, ...; :func:`bootstrap_disparity` for their intervals.
- Multi-class: :class:`MulticlassReport` (per-class TPR by group), :func:`tpr_gap_rms`,
  :func:`tpr_gap_max` (the per-class TPR gap between groups, the Bios measure).
- :func:`cherry_picking_statistics`: within-group cherry-picking of a selection rule.
- Model selection under fairness: :func:`make_fairness_scorer` (a utility minus a
  weighted excess unfairness, for ``scoring=`` with routed sensitive features) and
  :func:`select_within_bound` (``refit=``: best utility within an unfairness bound).
- Fairness without harm of decoupled classifiers: :func:`group_risk_matrix`,
  :func:`without_harm_report`, :func:`probability_without_harm`, :func:`mcnemar_pvalue`.
"""

from ._bootstrap import bootstrap_disparity
from ._cherry_picking import CherryPickingResult, cherry_picking_statistics
from ._disparities import (
    DISPARITIES,
    accuracy_parity_difference,
    accuracy_parity_ratio,
    demographic_parity_difference,
    demographic_parity_ratio,
    equal_opportunity_difference,
    equal_opportunity_ratio,
    equalized_odds_difference,
    equalized_odds_ratio,
    predictive_parity_difference,
    predictive_parity_ratio,
)
from ._distributional import pairwise_group_distances, unfairness
from ._group_metrics import METRICS, group_metrics
from ._multiclass import MulticlassReport, tpr_gap_max, tpr_gap_rms
from ._report import BootstrapResult, GroupReport, SmallGroupWarning
from ._scorers import FairnessScorer, make_fairness_scorer, select_within_bound
from ._without_harm import (
    WithoutHarmResult,
    group_risk_matrix,
    mcnemar_pvalue,
    probability_without_harm,
    without_harm_report,
)

__all__ = [
    "BootstrapResult",
    "CherryPickingResult",
    "DISPARITIES",
    "FairnessScorer",
    "GroupReport",
    "SmallGroupWarning",
    "METRICS",
    "MulticlassReport",
    "accuracy_parity_difference",
    "accuracy_parity_ratio",
    "bootstrap_disparity",
    "cherry_picking_statistics",
    "demographic_parity_difference",
    "demographic_parity_ratio",
    "equal_opportunity_difference",
    "equal_opportunity_ratio",
    "equalized_odds_difference",
    "equalized_odds_ratio",
    "group_metrics",
    "make_fairness_scorer",
    "pairwise_group_distances",
    "predictive_parity_difference",
    "predictive_parity_ratio",
    "select_within_bound",
    "tpr_gap_max",
    "tpr_gap_rms",
    "unfairness",
    "WithoutHarmResult",
    "group_risk_matrix",
    "mcnemar_pvalue",
    "probability_without_harm",
    "without_harm_report",
]
