"""Empirical distributions: CDF, quantile function and the randomised CDF."""

import numpy as np

from .. import _core
from .._base.sorting import sorted_with_weights
from .._base.validation import (
    as_float_array,
    check_choice,
    check_row_offset,
    check_sample_weight,
    check_seed,
)

__all__ = ["EmpiricalDistribution", "ecdf", "quantile", "randomized_cdf"]

_MODES = {"step": 0, "linear": 1}


class EmpiricalDistribution:
    r"""A weighted empirical distribution, sorted once and queried many times.

    With weights :math:`w_i` on values :math:`x_i` and :math:`W = \sum_i w_i`:

    - ``"step"``: :math:`F(t) = W^{-1}\sum_i w_i 1\{x_i \le t\}` (right-continuous) and
      :math:`Q(q) = \inf\{y : F(y) \ge q\}` (the generalised inverse, so
      :math:`Q(F(x_i)) = x_i` on every sample point; :math:`Q(0)` is the minimum);
    - ``"linear"``: the piecewise-linear interpolation through the sorted values placed
      at positions :math:`p_i = W^{-1}_{-}\sum_{j<i} w_j` with
      :math:`W_{-} = W - w_{(n)}`, i.e. :math:`p_i = i/(n-1)` for unit weights, which is
      ``numpy.quantile(..., method="linear")`` and EquiPy's quantile function.

    Parameters
    ----------
    sample : array-like of shape (n,)
        Finite real values; float32 stays float32.
    sample_weight : array-like of shape (n,), optional
        Non-negative weights with a positive sum; unit weights by default.

    Attributes
    ----------
    sorted_ : ndarray of shape (n,)
        The sample, sorted (with weights, stably: tied values keep their input order).
    cumulative_weight_ : ndarray of shape (n,) or None
        Running sums of the sorted weights; None for unit weights. Weights so large
        that their sum could overflow (``n * max(w) > 2**960``) are first divided by a
        power of two, which leaves the CDF and the quantiles unchanged.

    Examples
    --------
    >>> from fairfast.transport import EmpiricalDistribution
    >>> d = EmpiricalDistribution([3.0, 1.0, 2.0, 2.0])
    >>> d.cdf([0.5, 2.0, 3.0])
    array([0.  , 0.75, 1.  ])
    >>> d.quantile([0.0, 0.5, 0.75, 1.0])
    array([1., 2., 2., 3.])
    """

    def __init__(self, sample, sample_weight=None):
        x = as_float_array(sample, "sample", min_rows=1)
        w = check_sample_weight(sample_weight, x.shape[0])
        self.sorted_, self.cumulative_weight_ = sorted_with_weights(x, w)

    @property
    def n_samples(self):
        return self.sorted_.shape[0]

    def _queries(self, x, name):
        return as_float_array(np.atleast_1d(x), name, dtype=self.sorted_.dtype, ndim=max(np.ndim(x), 1)).reshape(-1)

    def cdf(self, x, *, interpolation="step"):
        """Evaluate the CDF at `x` (any shape; the result has the same shape)."""
        mode = _MODES[check_choice(interpolation, "interpolation", tuple(_MODES))]
        shape = np.shape(x)
        q = self._queries(x, "x")
        out = _core.transport.ecdf(self.sorted_, self.cumulative_weight_, q, mode)
        return out.reshape(shape)

    def quantile(self, q, *, interpolation="step"):
        """Evaluate the quantile function at levels `q` in [0, 1]."""
        mode = _MODES[check_choice(interpolation, "interpolation", tuple(_MODES))]
        shape = np.shape(q)
        levels = as_float_array(np.atleast_1d(q), "q", dtype=np.float64, ndim=max(np.ndim(q), 1)).reshape(-1)
        if levels.size and (levels.min() < 0.0 or levels.max() > 1.0):
            raise ValueError("q must lie in [0, 1]")
        out = _core.transport.quantile(self.sorted_, self.cumulative_weight_, levels, mode)
        return out.reshape(shape)

    def randomized_cdf(self, x, *, random_state=None, row_offset=0):
        r"""The tie-exact randomised CDF :math:`F(t^-) + V\,(F(t) - F(t^-))`.

        :math:`V \sim U[0, 1)` is drawn for query ``i`` by a counter-based generator
        keyed by ``(random_state, row_offset + i)``, so evaluating in chunks with
        matching offsets gives the same result as one call. For ``t`` drawn from this
        distribution the output is exactly uniform on [0, 1], ties or not.
        """
        seed = check_seed(random_state)
        offset = check_row_offset(row_offset)
        shape = np.shape(x)
        q = self._queries(x, "x")
        out = _core.transport.randomized_cdf(self.sorted_, self.cumulative_weight_, q, seed, offset)
        return out.reshape(shape)


def ecdf(sample, x, *, sample_weight=None, interpolation="step"):
    """Empirical CDF of `sample` evaluated at `x`.

    See :class:`EmpiricalDistribution` for the conventions.

    Examples
    --------
    >>> from fairfast.transport import ecdf
    >>> ecdf([1, 2, 2, 3], [2, 2.5])
    array([0.75, 0.75])
    >>> ecdf([1, 2, 3], [1.5], interpolation="linear")
    array([0.25])
    """
    return EmpiricalDistribution(sample, sample_weight).cdf(x, interpolation=interpolation)


def quantile(sample, q, *, sample_weight=None, interpolation="step"):
    """Empirical quantile function of `sample` at levels `q`.

    Examples
    --------
    >>> from fairfast.transport import quantile
    >>> quantile([1, 2, 3, 4], [0.25, 0.5, 0.6])
    array([1., 2., 3.])
    >>> quantile([1, 2, 3, 4], [0.5], interpolation="linear")
    array([2.5])
    """
    return EmpiricalDistribution(sample, sample_weight).quantile(q, interpolation=interpolation)


def randomized_cdf(sample, x, *, sample_weight=None, random_state=None, row_offset=0):
    """Tie-exact randomised CDF of `sample` at `x`; see
    :meth:`EmpiricalDistribution.randomized_cdf`.

    Examples
    --------
    >>> from fairfast.transport import randomized_cdf
    >>> u = randomized_cdf([0, 0, 1, 1], [0, 1, 2], random_state=0)
    >>> bool(0 <= u[0] <= 0.5 and 0.5 <= u[1] <= 1 and u[2] == 1)
    True
    """
    d = EmpiricalDistribution(sample, sample_weight)
    return d.randomized_cdf(x, random_state=random_state, row_offset=row_offset)
