"""Wasserstein-p and Kolmogorov-Smirnov distances between two weighted samples."""

import math
import numbers

import numpy as np

from .. import _core
from .._base.sorting import _run, sorted_copy, sorted_with_weights
from .._base.validation import as_float_array, check_sample_weight, common_float_dtype

__all__ = ["ks_distance", "wasserstein_distance"]

# Below this W_p^p the powers |u - v|^p may have lost bits to underflow.
_COST_FLOOR = 2.0**-900


def _range_exponent(us, vs):
    """k with max - min of the two sorted samples <= 2**k (None for a single point)."""
    lo, hi = min(float(us[0]), float(vs[0])), max(float(us[-1]), float(vs[-1]))
    half = hi / 2 - lo / 2  # cannot overflow
    return None if half <= 0 else math.frexp(half)[1] + 1


def _root(cost, p):
    return float(cost if p == 1 else cost ** (1.0 / p))


def wasserstein_from_sorted(us, uc, vs, vc, p):
    """W_p from two sorted samples and their running weights (``uc``/``vc`` or None).

    The kernel's cost, rescaled by the samples' range where it over- or underflows
    (:func:`_wasserstein_scaled`); for a large order p even the rescaled gaps' p-th
    powers can all underflow (W_p of [0, 1] and [2, 3] is 2 for every p, but 0.5**1e308
    is 0), and then the answer comes from the largest gap (:func:`_by_largest_gap`).
    """
    result = _wasserstein_scaled(us, uc, vs, vc, p)
    if p > 2 and (result == 0 or not math.isfinite(result)):
        return _by_largest_gap(us, uc, vs, vc, p)
    return result


def _by_largest_gap(us, uc, vs, vc, p):
    """W_p = M (sum_k mass_k (gap_k / M)**p)**(1/p), M the largest gap between the two
    quantile functions on an interval of positive mass: no power overflows and the
    largest term is its interval's mass, so the sum cannot underflow to 0. Float
    breakpoints (a slower path, for the orders the kernel's cost cannot represent)."""
    def levels(values, cumw):
        c = np.arange(1, values.size + 1) / values.size if cumw is None else cumw / cumw[-1]
        c[-1] = 1.0
        return c

    cu, cv = levels(us, uc), levels(vs, vc)
    edges = np.union1d(cu, cv)
    mass = np.diff(edges, prepend=0.0)
    keep = mass > 0
    qu = us[np.minimum(np.searchsorted(cu, edges[keep]), us.size - 1)].astype(np.float64)
    qv = vs[np.minimum(np.searchsorted(cv, edges[keep]), vs.size - 1)].astype(np.float64)
    half_gap = np.abs(qu / 2 - qv / 2)  # halved: cannot overflow
    m = float(half_gap.max())
    if m == 0:
        return 0.0
    r = float(np.sum(mass[keep] * (half_gap / m) ** p))
    try:
        return 2.0 * m * r ** (1.0 / p) if 2.0 * m < math.inf else math.inf
    except OverflowError:
        return math.inf


def _wasserstein_scaled(us, uc, vs, vc, p):
    """W_p by the kernel, the samples rescaled by a power of two when the cost over- or underflows.

    The differences are powered as they are unless the result overflowed (or, for a
    joint range below 1, underflowed); then both samples are divided by the power of
    two above their joint range (exact: the order and every ratio stay), and the
    distance is scaled back, which is finite whenever the answer is.
    """
    cost = _core.transport.wasserstein_pow(us, uc, vs, vc, float(p))
    overflowed = not math.isfinite(cost)
    if not overflowed and (p == 1 or cost >= _COST_FLOOR):
        return _root(cost, p)
    k = _range_exponent(us, vs)
    # Scaling up cannot recover bits below a range of 1; a zero cost is exact unless even
    # the range's p-th power underflows.
    if k is None or (not overflowed and (k >= 0 or (cost == 0 and p * k > -1000))):
        return _root(cost, p)
    scaled = _core.transport.wasserstein_pow(np.ldexp(us, -k).astype(us.dtype, copy=False), uc,
                                             np.ldexp(vs, -k).astype(vs.dtype, copy=False), vc, float(p))
    try:
        return math.ldexp(_root(scaled, p), k)
    except OverflowError:  # the distance itself exceeds the largest double
        return math.inf


def _prepared_pair(u_values, v_values, u_weights, v_weights):
    names = ("u_values", "v_values")
    u = as_float_array(u_values, names[0], min_rows=1, check_finite=False)
    v = as_float_array(v_values, names[1], min_rows=1, check_finite=False)
    dtype = common_float_dtype(u, v)
    u, v = u.astype(dtype, copy=False), v.astype(dtype, copy=False)
    uw = check_sample_weight(u_weights, u.shape[0], "u_weights")
    vw = check_sample_weight(v_weights, v.shape[0], "v_weights")
    if uw is None and vw is None:  # one parallel sort after the other
        out = [(sorted_copy(u), None), (sorted_copy(v), None)]
    else:
        out = [None, None]

        def task(i, x, w):
            out[i] = sorted_with_weights(x, w)

        _run([lambda: task(0, u, uw), lambda: task(1, v, vw)], u.size + v.size)
    for (s, _), raw, name in zip(out, (u, v), names):
        if not (np.isfinite(s[0]) and np.isfinite(s[-1])):  # NaN and inf sort to the ends
            as_float_array(raw, name)  # raises, naming the first bad position
    return out


def wasserstein_distance(u_values, v_values, p=1, u_weights=None, v_weights=None):
    r"""Wasserstein-p distance between two 1-D empirical distributions.

    .. math:: W_p(\mu, \nu) = \Big(\int_0^1 |Q_\mu(t) - Q_\nu(t)|^p \, dt\Big)^{1/p}

    computed exactly by merging the two step quantile functions after one sort of each
    sample (for unit weights the breakpoints :math:`k/n` and :math:`l/m` are compared in
    integer arithmetic). Agrees with ``scipy.stats.wasserstein_distance`` for ``p = 1``
    and with POT's ``ot.wasserstein_1d`` (which returns :math:`W_p^p`) for any ``p``.

    Parameters
    ----------
    u_values, v_values : array-like of shape (n,), (m,)
        The two samples.
    p : float, default=1
        Order, ``p >= 1``.
    u_weights, v_weights : array-like, optional
        Non-negative sample weights (normalised internally); unit weights by default.

    Returns
    -------
    float

    Examples
    --------
    >>> from fairfast.transport import wasserstein_distance
    >>> wasserstein_distance([0, 1, 3], [5, 6, 8])
    5.0
    >>> round(wasserstein_distance([0, 1], [0, 3], p=2), 6)
    1.414214
    """
    if isinstance(p, bool) or not isinstance(p, numbers.Real) or not np.isfinite(p) or p < 1:
        raise ValueError(f"p must be a finite real number >= 1, got {p!r}")
    (us, uc), (vs, vc) = _prepared_pair(u_values, v_values, u_weights, v_weights)
    return wasserstein_from_sorted(us, uc, vs, vc, p)


def ks_distance(u_values, v_values, u_weights=None, v_weights=None):
    r"""Two-sample Kolmogorov-Smirnov statistic :math:`\sup_t |F_u(t) - F_v(t)|`.

    Exact (a merge of the two sorted samples, evaluated after each distinct value);
    equals ``scipy.stats.ks_2samp(u, v).statistic`` for unit weights.

    Examples
    --------
    >>> from fairfast.transport import ks_distance
    >>> ks_distance([1, 2, 3], [1, 2, 3])
    0.0
    >>> ks_distance([0, 1], [2, 3])
    1.0
    """
    (us, uc), (vs, vc) = _prepared_pair(u_values, v_values, u_weights, v_weights)
    return float(_core.transport.ks(us, uc, vs, vc))
