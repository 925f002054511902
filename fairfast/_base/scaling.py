"""Exact rescaling by powers of two, so that sums of huge finite inputs stay finite.

Dividing by a power of two changes no bit of a mantissa (outside the subnormal range),
so the scaled weights, their running sums and every ratio of sums are the unscaled
ones' bits whenever those are finite: weights are scaled only where the sum could
overflow, and the result then is the correct finite ratio instead of ``inf / inf``.
"""

import math

import numpy as np

__all__ = ["SUM_BOUND", "power_of_two_above", "summable_weights"]

#: Sums of weights above this bound are avoided by scaling (the compiled core's
#: ``weight_sum_bound`` in csrc/fairfast/common.hpp).
SUM_BOUND = 2.0**960


def power_of_two_above(x):
    """The exponent ``e`` with ``x <= 2**e`` (``x`` finite and positive)."""
    return math.frexp(x)[1]


def summable_weights(w):
    """`w`, or `w` divided by a power of two bringing its maximum into [0.5, 1) when
    ``n * max(w)`` exceeds :data:`SUM_BOUND` (so no running sum can overflow).

    Only for uses that depend on the weights' ratios (CDFs, quantiles, rates).

    Examples
    --------
    >>> import numpy as np
    >>> from fairfast._base.scaling import summable_weights
    >>> bool(np.isfinite(summable_weights(np.array([1e308, 1e308])).sum()))
    True
    >>> w = np.array([1.0, 2.0])
    >>> summable_weights(w) is w
    True
    """
    if w is None or w.size == 0:
        return w
    top = float(w.max())
    if not top * w.shape[0] > SUM_BOUND:
        return w
    return np.ldexp(w, -power_of_two_above(top))
