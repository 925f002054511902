"""Evaluating a (randomised) policy under ex-post constraints: its risk and moments on
the population it creates, and the report of a reduction's feasibility."""

from dataclasses import dataclass, field

import numpy as np

from ._constraints import Constraints, Moment
from ._policy_types import MixturePolicy

__all__ = ["FeasibilityReport", "PolicyEvaluation", "evaluate_policy", "lambda_map"]


def lambda_map(theta, bound):
    r"""Mirror map from log-weights to dual weights, :math:`\lambda = B e^\theta / (1 + \sum_j e^{\theta_j})`.

    The extra slack coordinate has fixed log-weight 0, so :math:`\lambda \ge 0` and
    :math:`\|\lambda\|_1 < B`; :math:`\theta = 0` gives :math:`\lambda_j = B / (J + 1)`.
    Computed in a shifted form that cannot overflow.

    Examples
    --------
    >>> from fairfast.performative import lambda_map
    >>> lambda_map([0.0, 0.0, 0.0], 100.0)
    array([25., 25., 25.])
    """
    theta = np.asarray(theta, dtype=np.float64)
    top = max(0.0, float(theta.max())) if theta.size else 0.0
    e = np.exp(theta - top)
    return bound * e / (np.exp(-top) + e.sum())


@dataclass
class PolicyEvaluation:
    """Risk, moments and worst violation of a (possibly randomised) policy."""

    risk: float
    gamma: np.ndarray
    bound: np.ndarray
    labels: tuple

    @property
    def violation(self):
        """:math:`\\max_j(\\gamma_j - \\epsilon_j)` (non-positive when feasible)."""
        return float(np.max(self.gamma - self.bound))

    @property
    def feasible(self):
        return self.violation <= 0.0


@dataclass
class FeasibilityReport:
    r"""Whether some randomised policy of the class meets every constraint.

    ``min_violation`` is :math:`v^* = \min_{Q} \max_j (\gamma_j(Q) - \epsilon_j)`, found by
    column generation (an LP over the policies found, priced by the oracle). When
    ``v^* > 0`` the constraints are infeasible for the class and ``certificate`` is a
    :math:`\lambda` on the simplex with :math:`\sum_j \lambda_j(\gamma_j(f) - \epsilon_j) \ge v^*`
    for every policy ``f`` the oracle can find.
    """

    feasible: bool
    min_violation: float
    certificate: np.ndarray
    mixture: MixturePolicy
    labels: tuple
    n_rounds: int
    message: str = field(default="")

    def __str__(self):
        return self.message


def _as_constraints(constraints):
    if isinstance(constraints, Moment):
        return constraints if isinstance(constraints, Constraints) else Constraints([constraints])
    return Constraints(constraints)


def evaluate_policy(model, policy, constraints, population=None):
    """Risk and moment values of a deterministic or randomised policy.

    A :class:`MixturePolicy` is evaluated component-wise and averaged with its weights
    (draw-once semantics), so the result is linear in the mixture weights.

    Parameters
    ----------
    model : response model
    policy : deterministic policy or MixturePolicy
    constraints : Moment or sequence of Moment
    population : Population, optional
        Sampled units (Monte-Carlo path); None for closed forms.

    Returns
    -------
    PolicyEvaluation

    Examples
    --------
    >>> from scipy import stats
    >>> from fairfast.performative import (BaseRateParity, LaborMarket, MixturePolicy,
    ...                                    ThresholdPolicy, evaluate_policy)
    >>> m = LaborMarket([stats.uniform(0, 1), stats.uniform(0, 2)])
    >>> ev = evaluate_policy(m, ThresholdPolicy([[0.17], [0.17]]), BaseRateParity(0.01))
    >>> ev.gamma.round(4), ev.feasible
    (array([ 0.4153, -0.4153]), False)
    """
    constraints = _as_constraints(constraints)
    if isinstance(policy, MixturePolicy):
        policies, weights = policy.policies, policy.weights
    else:
        policies, weights = [policy], np.ones(1)
    out = model.outcome(policies, population)
    constraints.bind(out)
    gamma = constraints.gamma(out)
    return PolicyEvaluation(risk=float(weights @ out.risk), gamma=weights @ gamma, bound=constraints.bound(),
                            labels=constraints.labels)
