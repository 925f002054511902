"""The base layer: what every estimator may import.

Thread configuration, input validation, the grouping component for sensitive
features, sorting helpers, the model-file format and fitted-state helpers, atomic
file output and the serving contract. Nothing here imports an estimator, metrics,
io, dask, the CLI or the benchmarks.
"""
