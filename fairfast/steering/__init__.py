"""Optimal steering of feature/representation distributions to ideal distributions.

Gaussian (and log-normal) models of each (label, group) subgroup are moved to the
KL-nearest *ideal* distribution -- one on which the Bayes-optimal classifier is
exactly fair for every cost -- with per-subgroup affine maps (Sharma, Deshpande,
Bhattacharyya and Shah, "Optimal steering to achieve exact fairness", NeurIPS 2025).

- :class:`GaussianSteering`: the estimator (fit moments, solve the program, map rows);
  :func:`deployment_views` gives the inputs of its deployment modes (preprocessing,
  label-free, soft) and :func:`oracle_transform` the evaluation-only oracle.
- :func:`affirmative_action`, :func:`all_subgroups` (``d = 1``), :func:`all_subgroups_gaussian`
  (any ``d``): the KL projections.
- :func:`check_ideal`, :func:`bayes_fairness_gaps`: ideality conditions and exact gaps.
- :class:`SubgroupMoments`: streaming, mergeable subgroup moments.
- Baselines in the same API: :class:`MeanMatching`, :class:`MeanCovarianceMatching`
  (MiMiC), :class:`LEACE` (concept erasure).
"""

from ._all_subgroups import all_subgroups, all_subgroups_gaussian
from ._baselines import LEACE, MeanCovarianceMatching, MeanMatching
from ._estimator import GaussianSteering
from ._gaussian import bures_map, gaussian_kl, sqrtm_psd
from ._ideal import bayes_fairness_gaps, check_ideal
from ._modes import DEPLOYMENT_MODES, DeploymentView, deployment_views, oracle_transform
from ._moments import SubgroupMoments, shrink_covariance
from ._programs import affirmative_action, pinsker_bounds, prior_kl, reweighting_weights

__all__ = [
    "DEPLOYMENT_MODES",
    "DeploymentView",
    "GaussianSteering",
    "LEACE",
    "MeanCovarianceMatching",
    "MeanMatching",
    "SubgroupMoments",
    "affirmative_action",
    "all_subgroups",
    "all_subgroups_gaussian",
    "bayes_fairness_gaps",
    "bures_map",
    "check_ideal",
    "deployment_views",
    "gaussian_kl",
    "oracle_transform",
    "pinsker_bounds",
    "prior_kl",
    "reweighting_weights",
    "shrink_covariance",
    "sqrtm_psd",
]
