r"""Population response models: how the population reacts to a deployed policy.

A response model maps a deployed deterministic policy ``f`` and a population to the
ex-post population (``respond``) and summarises the ex-post group laws ``D(f, g)`` as an
:class:`~fairfast.performative.Outcome` (``outcome``), either in closed form (CDFs) or
by Monte Carlo over sampled units. This module holds the protocol and the checks the
models share; the models are :mod:`._labor_market` and :mod:`._linear_response`.
"""

import numbers
from typing import Protocol, runtime_checkable

import numpy as np

__all__ = ["ResponseModel"]


@runtime_checkable
class ResponseModel(Protocol):
    """What the reduction needs from a population response model.

    ``respond(policy, population)`` returns the ex-post population (each pre-policy
    unit's response to the deployed policy); ``outcome(policies, population=None)``
    returns the batched ex-post :class:`Outcome` of a list of deterministic policies,
    from closed forms when `population` is None and from the sampled units otherwise.
    """

    def respond(self, policy, population): ...

    def outcome(self, policies, population=None): ...


def _check_law(law, name):
    for attr in ("cdf", "ppf"):
        if not callable(getattr(law, attr, None)):
            raise TypeError(f"{name} must be a distribution with cdf and ppf methods "
                            f"(e.g. a frozen scipy.stats law), got {type(law).__name__}")
    return law


def _check_shares(shares, n_groups):
    if shares is None:
        return np.full(n_groups, 1.0 / n_groups)
    s = np.asarray(shares, dtype=np.float64)
    if s.shape != (n_groups,) or (s < 0).any() or not np.isclose(s.sum(), 1.0):
        raise ValueError(f"shares must be {n_groups} non-negative numbers summing to 1, got {shares!r}")
    return s


def _check_positive(value, name):
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or not value > 0:
        raise ValueError(f"{name} must be a positive real number, got {value!r}")
    return float(value)


def _group_sizes(n, shares):
    """Deterministic proportional allocation of `n` units to groups (largest remainder)."""
    raw = n * shares
    sizes = np.floor(raw).astype(np.int64)
    rest = n - sizes.sum()
    sizes[np.argsort(raw - sizes, kind="stable")[::-1][:rest]] += 1
    return sizes
