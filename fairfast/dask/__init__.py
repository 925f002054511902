"""Fitted fairfast models on Dask (``pip install "dask[dataframe]" distributed``).

- :func:`transform`: apply a fitted model to a ``dask.dataframe`` (columns by name) or
  a ``dask.array``; each partition uses its global row offset, so results equal the
  in-memory transform whatever the partitioning.
- :func:`fit`: fit exactly (collect the columns) or from mergeable per-partition quantile
  summaries with a per-group CDF error below ``1 / n_quantiles``.

Dask is imported when these functions run, not when this module is imported.
"""

from ._dask import fit, summarize_partition, transform

__all__ = ["fit", "summarize_partition", "transform"]
