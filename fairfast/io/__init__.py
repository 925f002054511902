"""Batch jobs: the registry of loadable model kinds, model files, streamed Parquet/CSV.

- :func:`save` / :func:`load` / :func:`read_model`: fitted estimators as small, safe
  files (JSON metadata and ``.npy`` arrays in a zip; no pickle, so loading never runs
  code). The format is documented in ``docs/model_format.md``; :func:`register_estimator`
  admits more estimator classes.
- :func:`transform_file` / :func:`fit_file`: any model kind served or fitted over
  Parquet and CSV inputs in batches with bounded memory, written atomically (the
  ``fairfast transform`` and ``fairfast fit`` commands), through the serving contract
  every model declares (``model.serving_spec()``, ``model.serve``).

pyarrow is imported only by the streaming functions.
"""

from .._base.model_file import FORMAT_NAME, FORMAT_VERSION
from ._registry import load, read_model, register_estimator, registered_estimators, save
from ._streaming import TransformSummary, fit_file, transform_file

__all__ = [
    "FORMAT_NAME",
    "FORMAT_VERSION",
    "TransformSummary",
    "fit_file",
    "load",
    "read_model",
    "register_estimator",
    "registered_estimators",
    "save",
    "transform_file",
]
