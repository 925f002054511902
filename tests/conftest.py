"""Shared test fixtures.

``tests/`` is put on ``sys.path`` so that test modules can import the slow reference
implementations as ``reference.<family>`` under ``--import-mode=importlib``.
"""

import sys
import warnings
from pathlib import Path

import numpy as np
import pytest

_TESTS = str(Path(__file__).resolve().parent)
if _TESTS not in sys.path:
    sys.path.insert(0, _TESTS)

# When a hypothesis test fails, its pytest plugin imports libcst to suggest a patch, and
# libcst's import raises a DeprecationWarning (mypy_extensions) that filterwarnings=error
# turns into an INTERNALERROR hiding the failing example. Import it once, quietly.
with warnings.catch_warnings():
    warnings.simplefilter("ignore", DeprecationWarning)
    try:
        import hypothesis.extra._patching  # noqa: F401
    except ImportError:
        pass


def _numpy(values):
    return np.asarray(values)


def _list(values):
    return np.asarray(values).tolist()


def _pandas(values):
    import pandas as pd

    return pd.Series(np.asarray(values))


def _polars(values):
    import polars as pl

    return pl.Series(np.asarray(values))


CONSTRUCTORS = {"numpy": _numpy, "list": _list, "pandas": _pandas, "polars": _polars}


@pytest.fixture(params=sorted(CONSTRUCTORS))
def constructor(request):
    """Turns a 1-D numpy array into a numpy array, list, pandas Series or polars Series."""
    if request.param == "polars":
        pytest.importorskip("polars")
    return CONSTRUCTORS[request.param]
