"""Fixtures shared by the barycenter's tests."""

import numpy as np
import pytest

from fairfast.postprocessing import WassersteinBarycenter


@pytest.fixture(scope="module")
def data():
    """600 scores in 3 groups, rounded to one decimal: plenty of ties."""
    rng = np.random.default_rng(0)
    s = rng.integers(0, 3, 600)
    z = np.round(rng.normal(s, 1.0), 1)
    return z, s


@pytest.fixture(scope="module")
def fitted(data):
    """A barycenter fitted on ``data`` (epsilon 0.2)."""
    z, s = data
    return WassersteinBarycenter(epsilon=0.2, random_state=11).fit(z, sensitive_features=s)
