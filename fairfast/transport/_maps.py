"""Monotone transport maps and 1-D Wasserstein barycenters."""

import numpy as np

from .._base.validation import as_float_array, check_sample_weight
from ._empirical import EmpiricalDistribution

__all__ = ["barycenter_quantiles", "monotone_map"]


def monotone_map(source, target, x=None, *, source_weights=None, target_weights=None, interpolation="step"):
    r"""The monotone (optimal for any convex cost) transport map from `source` to `target`.

    :math:`T(x) = Q_{target}(F_{source}(x))`, evaluated at `x` (the source sample by
    default). With ``"step"`` and equal unweighted sample sizes this sends the k-th
    smallest source point to the k-th smallest target point.

    Examples
    --------
    >>> from fairfast.transport import monotone_map
    >>> monotone_map([3.0, 1.0, 2.0], [10.0, 30.0, 20.0])
    array([30., 10., 20.])
    """
    src = EmpiricalDistribution(source, source_weights)
    tgt = EmpiricalDistribution(target, target_weights)
    pts = source if x is None else x
    return tgt.quantile(np.clip(src.cdf(pts, interpolation=interpolation), 0.0, 1.0), interpolation=interpolation)


def barycenter_quantiles(samples, q, *, weights=None, sample_weights=None, interpolation="step"):
    r"""Quantile function of the Wasserstein barycenter of K 1-D distributions.

    In one dimension the barycenter with weights :math:`\lambda_k` (for any
    :math:`W_p`, :math:`p > 1`, and in particular :math:`W_2`) has quantile function
    :math:`\bar Q(q) = \sum_k \lambda_k Q_k(q)`.

    Parameters
    ----------
    samples : sequence of K array-likes
    q : array-like
        Levels in [0, 1].
    weights : array-like of shape (K,), optional
        Barycentric weights (non-negative, normalised); by default proportional to the
        samples' total weights (their sizes, without sample weights).
    sample_weights : sequence of K array-likes or None, optional
    interpolation : {"step", "linear"}

    Examples
    --------
    >>> from fairfast.transport import barycenter_quantiles
    >>> barycenter_quantiles([[0.0, 1.0], [2.0, 3.0]], [0.5, 1.0])
    array([1., 2.])
    """
    samples = list(samples)
    if not samples:
        raise ValueError("samples must hold at least one sample")
    if sample_weights is None:
        sample_weights = [None] * len(samples)
    if len(sample_weights) != len(samples):
        raise ValueError(f"sample_weights has {len(sample_weights)} entries but samples has {len(samples)}")
    dists = [EmpiricalDistribution(s, w) for s, w in zip(samples, sample_weights)]
    if weights is None:
        mass = np.array(
            [d.n_samples if d.cumulative_weight_ is None else d.cumulative_weight_[-1] for d in dists], dtype=float
        )
    else:
        mass = as_float_array(weights, "weights", dtype=np.float64)
        if mass.shape[0] != len(samples):
            raise ValueError(f"weights has {mass.shape[0]} entries but samples has {len(samples)}")
        check_sample_weight(mass, len(samples), "weights")
    lam = mass / mass.sum()
    return sum(lam[k] * d.quantile(q, interpolation=interpolation) for k, d in enumerate(dists))
