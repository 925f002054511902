"""One-dimensional optimal transport on empirical distributions.

Empirical CDFs and quantile functions (``"step"``: right-continuous ECDF and its
generalised inverse, exact on sample points; ``"linear"``: interpolated, as EquiPy and
``numpy.quantile``'s default), the tie-exact randomised CDF, Wasserstein-p and
Kolmogorov-Smirnov distances, monotone transport maps and 1-D barycenters. Every
function accepts sample weights; float32 inputs are computed in float32 storage.
"""

from ._distances import ks_distance, wasserstein_distance
from ._empirical import EmpiricalDistribution, ecdf, quantile, randomized_cdf
from ._maps import barycenter_quantiles, monotone_map

__all__ = [
    "EmpiricalDistribution",
    "barycenter_quantiles",
    "ecdf",
    "ks_distance",
    "monotone_map",
    "quantile",
    "randomized_cdf",
    "wasserstein_distance",
]
