"""Fitted fairfast models on Dask (``pip install "dask[dataframe]" distributed``).

- :func:`transform`: serve any fitted model on a ``dask.dataframe`` (columns by name)
  or a ``dask.array``; each partition uses its global row offset, so results equal the
  in-memory call whatever the partitioning.
- :func:`fit`: fit any model kind exactly (collect the columns), or a barycenter from
  mergeable per-partition quantile summaries with a per-group CDF error below
  ``1 / n_quantiles``.

Dask is imported when these functions run, not when this module is imported.
"""

from ._fit import fit, summarize_partition
from ._transform import transform

__all__ = ["fit", "summarize_partition", "transform"]
