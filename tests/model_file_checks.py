"""Checks shared by the model-file tests of every estimator family."""

import json

import numpy as np

import fairfast


def save_load(model, tmp_path):
    """Save `model` with its ``save`` method and read it back: (loaded model, path)."""
    path = tmp_path / "m.ffm"
    model.save(path)
    return fairfast.load(path), path


def assert_same_state(a, b):
    """The two fitted estimators have equal metadata and bit-identical state arrays."""
    meta_a, arr_a = a._get_state()
    meta_b, arr_b = b._get_state()
    assert json.dumps(meta_a, sort_keys=True) == json.dumps(meta_b, sort_keys=True)
    assert arr_a.keys() == arr_b.keys()
    for key in arr_a:
        assert arr_a[key].dtype == arr_b[key].dtype, key
        assert arr_a[key].shape == arr_b[key].shape, key
        assert np.ascontiguousarray(arr_a[key]).tobytes() == np.ascontiguousarray(arr_b[key]).tobytes(), key
