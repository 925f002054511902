"""Performative policy learning with long-term (ex-post) group fairness.

The population reacts to a deployed policy (e.g. workers invest in skills when hiring
rewards them); fairness is judged on the population the policy creates.

- Response models: :class:`LaborMarket` (Coate--Loury, one or several skills),
  :class:`LinearGaussianResponse`; closed-form and Monte-Carlo (compiled) paths.
- Policies and classes: :class:`ThresholdPolicy`, :class:`LinearPolicy`,
  :class:`MixturePolicy`; :class:`GroupSpecificThresholds`, :class:`GroupBlindThresholds`,
  :class:`SkillThresholds`, :class:`LinearPolicies`, :class:`FinitePolicies`.
- Ex-post constraints as moment inequalities: :class:`BaseRateParity`,
  :class:`DemographicParity`, :class:`TruePositiveRateParity`,
  :class:`MeanResponseParity`, :class:`GroupMoment`, :class:`CustomMoment`.
- :class:`ExPostReduction`: exponentiated-gradient reduction with a best-response
  oracle; :func:`evaluate_policy`, :func:`constraint_drift`, :func:`perturb_costs`.
"""

from ._constraints import (
    BaseRateParity,
    Constraints,
    CustomMoment,
    DemographicParity,
    GroupMoment,
    MeanResponseParity,
    Moment,
    TruePositiveRateParity,
)
from ._outcome import Outcome, Population
from ._policies import FinitePolicies, GroupBlindThresholds, GroupSpecificThresholds, LinearPolicies, SkillThresholds
from ._policy_types import LinearPolicy, MixturePolicy, ThresholdPolicy
from ._evaluation import FeasibilityReport, PolicyEvaluation, evaluate_policy, lambda_map
from ._reduction import ExPostReduction
from ._robustness import DriftReport, constraint_drift, perturb_costs
from ._labor_market import LaborMarket
from ._linear_response import LinearGaussianResponse
from ._response import ResponseModel

__all__ = [
    "BaseRateParity",
    "Constraints",
    "CustomMoment",
    "DemographicParity",
    "DriftReport",
    "ExPostReduction",
    "FeasibilityReport",
    "FinitePolicies",
    "GroupBlindThresholds",
    "GroupMoment",
    "GroupSpecificThresholds",
    "LaborMarket",
    "LinearGaussianResponse",
    "LinearPolicies",
    "LinearPolicy",
    "MeanResponseParity",
    "MixturePolicy",
    "Moment",
    "Outcome",
    "PolicyEvaluation",
    "Population",
    "ResponseModel",
    "SkillThresholds",
    "ThresholdPolicy",
    "TruePositiveRateParity",
    "constraint_drift",
    "evaluate_policy",
    "lambda_map",
    "perturb_costs",
]
