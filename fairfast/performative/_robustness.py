r"""Misspecification robustness: how far the constraints drift when the response model is wrong.

A policy learned under a response model meets its ex-post constraints only if the model
is right. :func:`perturb_costs` builds a labor market whose investment-cost laws are
affinely perturbed, :math:`c' = a + b\,c`, and :func:`constraint_drift` re-evaluates a
(possibly randomised) policy under perturbed models and reports the change of every
moment and of the risk.
"""

import numbers
from dataclasses import dataclass

import numpy as np

from ._evaluation import PolicyEvaluation, evaluate_policy
from ._labor_market import LaborMarket

__all__ = ["DriftReport", "constraint_drift", "perturb_costs"]


class _AffineLaw:
    """Law of ``shift + scale * C`` for a base law of ``C`` (scale > 0)."""

    def __init__(self, base, scale, shift):
        self.base, self.scale, self.shift = base, float(scale), float(shift)

    def _z(self, x):
        return (np.asarray(x, dtype=np.float64) - self.shift) / self.scale

    def cdf(self, x):
        return self.base.cdf(self._z(x))

    def sf(self, x):
        return self.base.sf(self._z(x))

    def pdf(self, x):
        return self.base.pdf(self._z(x)) / self.scale

    def ppf(self, u):
        return self.shift + self.scale * np.asarray(self.base.ppf(u), dtype=np.float64)

    def mean(self):
        return self.shift + self.scale * float(self.base.mean())

    def __repr__(self):
        return f"{self.shift:+g} + {self.scale:g} * {self.base!r}"


def perturb_costs(model, *, scale=1.0, shift=0.0, groups=None, skills=None):
    r"""A copy of a :class:`LaborMarket` whose cost laws are replaced by ``shift + scale * c``.

    Parameters
    ----------
    model : LaborMarket
    scale : float > 0
    shift : float
    groups, skills : sequence of int, optional
        Which groups / skills to perturb (default all).

    Returns
    -------
    LaborMarket

    Examples
    --------
    >>> from scipy import stats
    >>> from fairfast.performative import LaborMarket, perturb_costs
    >>> m = perturb_costs(LaborMarket([stats.uniform(0, 1), stats.uniform(0, 2)]), scale=1.1, groups=[1])
    >>> float(m.cost_laws[1][0].cdf(1.1))
    0.5
    """
    if not isinstance(model, LaborMarket):
        raise TypeError(f"model must be a LaborMarket, got {type(model).__name__}")
    if isinstance(scale, bool) or not isinstance(scale, numbers.Real) or not scale > 0:
        raise ValueError(f"scale must be a positive real number, got {scale!r}")
    if isinstance(shift, bool) or not isinstance(shift, numbers.Real) or not np.isfinite(shift):
        raise ValueError(f"shift must be a finite real number, got {shift!r}")
    groups = range(model.n_groups) if groups is None else [int(g) for g in groups]
    skills = range(model.n_skills) if skills is None else [int(s) for s in skills]
    for g in groups:
        if not 0 <= g < model.n_groups:
            raise ValueError(f"groups must lie in [0, {model.n_groups}), got {g}")
    for s in skills:
        if not 0 <= s < model.n_skills:
            raise ValueError(f"skills must lie in [0, {model.n_skills}), got {s}")
    laws = [list(row) for row in model.cost_laws]
    for g in groups:
        for s in skills:
            laws[g][s] = _AffineLaw(laws[g][s], scale, shift)
    return LaborMarket(laws, signal_laws=model.signal_laws, shares=model.shares, wage=model.wage,
                       gain=model.gain, penalty=model.penalty)


@dataclass
class DriftReport:
    """Moments and risk of one policy under a nominal model and perturbed models.

    Attributes
    ----------
    nominal : PolicyEvaluation
    perturbed : list of PolicyEvaluation
    drift : ndarray of shape (n_models, n_constraints)
        ``gamma(perturbed) - gamma(nominal)``.
    risk_drift : ndarray of shape (n_models,)
    violation : ndarray of shape (n_models,)
        :math:`\\max_j(\\gamma_j - \\epsilon_j)` under each perturbed model.
    """

    nominal: PolicyEvaluation
    perturbed: list
    drift: np.ndarray
    risk_drift: np.ndarray
    violation: np.ndarray

    @property
    def max_abs_drift(self):
        """Largest absolute moment drift under each perturbed model."""
        return np.abs(self.drift).max(axis=1)


def constraint_drift(policy, model, perturbed_models, constraints, *, n_samples=None, random_state=0):
    """Constraint and risk drift of a policy when the response model is misspecified.

    Parameters
    ----------
    policy : deterministic policy or MixturePolicy
        Typically learned under `model` (e.g. ``ExPostReduction.mixture_``).
    model : response model
        The nominal (assumed) model.
    perturbed_models : sequence of response models
        The "true" models to test against (e.g. from :func:`perturb_costs`).
    constraints : Moment or sequence of Moment
    n_samples : int, optional
        Evaluate on ``n_samples`` sampled units of each model (Monte-Carlo path; every
        model is sampled with the same `random_state`, i.e. common random numbers);
        None uses closed forms.
    random_state : int or numpy generator

    Returns
    -------
    DriftReport

    Examples
    --------
    >>> from scipy import stats
    >>> from fairfast.performative import (BaseRateParity, LaborMarket, ThresholdPolicy,
    ...                                    constraint_drift, perturb_costs)
    >>> m = LaborMarket([stats.uniform(0, 1), stats.uniform(0, 2)])
    >>> rep = constraint_drift(ThresholdPolicy([[1.0], [0.17]]), m,
    ...                        [perturb_costs(m, scale=s, groups=[1]) for s in (0.9, 1.0, 1.1)],
    ...                        BaseRateParity(0.02))
    >>> rep.drift[:, 0].round(4)
    array([-0.0461,  0.    ,  0.0378])
    """
    perturbed_models = list(perturbed_models)
    if not perturbed_models:
        raise ValueError("perturbed_models must be a non-empty sequence of response models")

    def run(m):
        pop = None if n_samples is None else m.sample(n_samples, random_state=random_state)
        return evaluate_policy(m, policy, constraints, pop)

    nominal = run(model)
    perturbed = [run(m) for m in perturbed_models]
    drift = np.stack([p.gamma - nominal.gamma for p in perturbed])
    return DriftReport(nominal=nominal, perturbed=perturbed, drift=drift,
                       risk_drift=np.array([p.risk - nominal.risk for p in perturbed]),
                       violation=np.array([p.violation for p in perturbed]))
