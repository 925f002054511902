"""Optimal steering of feature/representation distributions to ideal distributions.

Gaussian (and log-normal) models of each (label, group) subgroup are moved to the
KL-nearest *ideal* distribution -- one on which the Bayes-optimal classifier is
exactly fair for every cost -- with per-subgroup affine maps (Sharma, Deshpande,
Bhattacharyya and Shah, "Optimal steering to achieve exact fairness", NeurIPS 2025).

- :class:`GaussianSteering`: the estimator (fit moments, solve the program, map rows).
- :func:`affirmative_action`, :func:`all_subgroups`: the KL projections.
- :func:`check_ideal`, :func:`bayes_fairness_gaps`: ideality conditions and exact gaps.
- :class:`SubgroupMoments`: streaming, mergeable subgroup moments.
- Baselines in the same API: :class:`MeanMatching`, :class:`MeanCovarianceMatching`
  (MiMiC), :class:`LEACE` (concept erasure).
"""

from ._baselines import LEACE, MeanCovarianceMatching, MeanMatching
from ._estimator import GaussianSteering
from ._gaussian import bures_map, gaussian_kl, sqrtm_psd
from ._ideal import bayes_fairness_gaps, check_ideal
from ._moments import SubgroupMoments, shrink_covariance
from ._programs import affirmative_action, all_subgroups, pinsker_bounds, prior_kl, reweighting_weights

__all__ = [
    "GaussianSteering",
    "LEACE",
    "MeanCovarianceMatching",
    "MeanMatching",
    "SubgroupMoments",
    "affirmative_action",
    "all_subgroups",
    "bayes_fairness_gaps",
    "bures_map",
    "check_ideal",
    "gaussian_kl",
    "pinsker_bounds",
    "prior_kl",
    "reweighting_weights",
    "shrink_covariance",
    "sqrtm_psd",
]
