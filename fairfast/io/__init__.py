"""Model files and streamed batch scoring.

- :func:`save` / :func:`load`: fitted estimators as small, safe files (JSON metadata and
  ``.npy`` arrays in a zip; no pickle, so loading never runs code). The format is
  documented in ``docs/model_format.md``; :func:`register_estimator` admits more
  estimator classes.
- :func:`transform_file` / :func:`fit_file`: Parquet and CSV inputs processed in
  batches with bounded memory, written atomically (the ``fairfast fit`` and
  ``fairfast transform`` commands).

pyarrow is imported only by the streaming functions.
"""

from ._registry import (
    FORMAT_NAME,
    FORMAT_VERSION,
    load,
    read_model,
    register_estimator,
    registered_estimators,
    save,
)
from ._streaming import fit_file, transform_file

__all__ = [
    "FORMAT_NAME",
    "FORMAT_VERSION",
    "fit_file",
    "load",
    "read_model",
    "register_estimator",
    "registered_estimators",
    "save",
    "transform_file",
]
