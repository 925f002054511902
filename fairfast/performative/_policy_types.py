r"""Deterministic and randomised policies.

A deterministic policy is a parameter array read by a response model:
:class:`ThresholdPolicy` (thresholds per group and skill, labor market) or
:class:`LinearPolicy` (coefficients, linear-Gaussian model). :class:`MixturePolicy` is
a randomised policy: one deterministic policy is drawn and deployed (draw-once
semantics), so risk and moments are linear in the mixture weights.
"""

import numpy as np

from .._base.validation import check_seed

__all__ = ["LinearPolicy", "MixturePolicy", "ThresholdPolicy"]


class ThresholdPolicy:
    """Hire iff some skill signal reaches the group's threshold for that skill.

    Parameters
    ----------
    thresholds : array of shape (n_groups, n_skills)
        ``+inf`` never hires on that skill; ``-inf`` always hires.

    Examples
    --------
    >>> from fairfast.performative import ThresholdPolicy
    >>> ThresholdPolicy([[0.2], [0.2]]).is_group_blind
    True
    """

    def __init__(self, thresholds):
        t = np.array(thresholds, dtype=np.float64)
        if t.ndim == 1:
            t = t[:, None]
        if t.ndim != 2 or np.isnan(t).any():
            raise ValueError(f"thresholds must be a NaN-free array of shape (n_groups, n_skills), got shape {t.shape}")
        t.setflags(write=False)
        self.thresholds = t

    @property
    def params(self):
        return self.thresholds

    @property
    def is_group_blind(self):
        return bool((self.thresholds == self.thresholds[0]).all())

    def decide(self, population):
        """0/1 decisions on an ex-post population (needs field ``signal``)."""
        t = self.thresholds[population.group]
        return (population.signal >= t).any(axis=1).astype(np.float64)

    def __eq__(self, other):
        return isinstance(other, ThresholdPolicy) and np.array_equal(self.thresholds, other.thresholds)

    def __hash__(self):
        return hash(self.thresholds.tobytes())

    def __repr__(self):
        return f"ThresholdPolicy({self.thresholds.tolist()})"


class LinearPolicy:
    """Policy coefficients ``theta`` of a linear response model.

    Examples
    --------
    >>> from fairfast.performative import LinearPolicy
    >>> LinearPolicy([1.0, -1.0])
    LinearPolicy([1.0, -1.0])
    """

    def __init__(self, theta):
        t = np.array(theta, dtype=np.float64).ravel()
        if not np.isfinite(t).all():
            raise ValueError("theta must be finite")
        t.setflags(write=False)
        self.theta = t

    @property
    def params(self):
        return self.theta

    def __eq__(self, other):
        return isinstance(other, LinearPolicy) and np.array_equal(self.theta, other.theta)

    def __hash__(self):
        return hash(self.theta.tobytes())

    def __repr__(self):
        return f"LinearPolicy({self.theta.tolist()})"


def _policy_params(policy, kind):
    if isinstance(policy, kind):
        return policy.params
    if isinstance(policy, (ThresholdPolicy, LinearPolicy, MixturePolicy)):
        raise TypeError(f"this response model takes {kind.__name__} (mixtures are evaluated component-wise), "
                        f"got {type(policy).__name__}")
    return np.asarray(policy, dtype=np.float64)


class MixturePolicy:
    """Randomised policy: deploy ``policies[k]`` with probability ``weights[k]``.

    Parameters
    ----------
    policies : sequence of deterministic policies
    weights : array of non-negative numbers summing to 1

    Examples
    --------
    >>> from fairfast.performative import MixturePolicy, ThresholdPolicy
    >>> q = MixturePolicy([ThresholdPolicy([[0.0]]), ThresholdPolicy([[1.0]])], [0.25, 0.75])
    >>> q.draw(random_state=0) in q.policies
    True
    """

    def __init__(self, policies, weights):
        policies = list(policies)
        w = np.asarray(weights, dtype=np.float64)
        if w.shape != (len(policies),) or len(policies) == 0:
            raise ValueError(f"weights must have one entry per policy ({len(policies)}), got shape {w.shape}")
        if (w < 0).any() or not np.isclose(w.sum(), 1.0, atol=1e-9):
            raise ValueError(f"weights must be non-negative and sum to 1, got sum {w.sum()!r}")
        keep = w > 0
        self.policies = [p for p, k in zip(policies, keep) if k]
        self.weights = w[keep] / w[keep].sum()

    def draw(self, random_state=None):
        """Draw the one deterministic policy to deploy."""
        rng = np.random.default_rng(check_seed(random_state))
        return self.policies[int(rng.choice(len(self.policies), p=self.weights))]

    def __repr__(self):
        return f"MixturePolicy(n_policies={len(self.policies)})"
