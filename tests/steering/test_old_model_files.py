"""Model files written by an earlier release still load and transform bit for bit."""

import json
import pathlib

import numpy as np
import pandas as pd
import pytest

import fairfast

HERE = pathlib.Path(__file__).resolve().parents[1] / "artifacts" / "steering"
INDEX = json.loads((HERE / "index.json").read_text())


def _inputs(name, data):
    a = data["a"]
    X = {"gs_lognormal_tuple": data["Xpos"], "gs_all_subgroups": data["x1"]}.get(name, data["X"])
    if name in ("gs_shared_whitened_f32", "mimic"):
        return X.astype(np.float32), np.array(["north", "south", "east"], dtype=object)[a]
    if name == "gs_lognormal_tuple":
        return X, pd.DataFrame({"sex": np.where(a % 2 == 1, "F", "M"), "age": a // 2})
    return X, a


@pytest.mark.parametrize("name", sorted(INDEX))
def test_old_file_loads_and_transforms_as_it_did(name):
    data = np.load(HERE / "inputs_and_outputs.npz", allow_pickle=False)
    model = fairfast.load(HERE / f"{name}.ffm")
    assert type(model).__name__ == INDEX[name]
    X, sf = _inputs(name, data)
    free = model.transform(X, sensitive_features=sf)
    expected = data[name + "__label_free"]
    assert free.dtype == expected.dtype
    if name == "leace":
        # LEACE's transform now works row by row, so that a row's result never depends
        # on its batch (a BLAS product over all rows did): the same values, other rounding
        np.testing.assert_allclose(free, expected, rtol=1e-13, atol=1e-13)
    else:
        assert free.tobytes() == expected.tobytes()
    if name + "__labelled" in data:
        labelled = model.transform(X, data["y"], sensitive_features=sf)
        expected = data[name + "__labelled"]
        assert labelled.dtype == expected.dtype and labelled.tobytes() == expected.tobytes()
