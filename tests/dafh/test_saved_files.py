"""Model files written by an earlier release of DAFHClassifier still load and predict the same.

``tests/artifacts/dafh/`` holds files written before the objective and the model state
changed (commit b1593c8), with the predictions that code made on ``inputs.npy``.
"""

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import fairfast
from fairfast.dafh import DAFHClassifier

ARTIFACTS = Path(__file__).resolve().parent.parent / "artifacts" / "dafh"


@pytest.mark.parametrize("name", ["v1_float64_k2", "v1_float32_k3_names"])
def test_earlier_model_files_load_and_predict_the_same(name):
    X = np.load(ARTIFACTS / "inputs.npy")
    if "names" in name:
        X = pd.DataFrame(X, columns=["a", "b", "c"])
    model = fairfast.load(ARTIFACTS / f"{name}.ffm")
    assert type(model) is DAFHClassifier
    expected = np.load(ARTIFACTS / f"{name}_expected.npz")
    for method in ("predict_proba", "group_probabilities", "assign_groups", "decision_function"):
        got = getattr(model, method)(X)
        assert got.dtype == expected[method].dtype and got.tobytes() == expected[method].tobytes(), method
    np.testing.assert_array_equal(np.asarray(model.predict(X)).astype(str), expected["predict"])
    # those files predate envy_weight (their models were trained with the full envy
    # term) and the validation objective in the history (read as NaN)
    assert model.envy_weight == 1.0
    assert len(model.history_["val_objective"]) == model.n_epochs_
    assert np.isnan(model.history_["val_objective"]).all()
    meta, arrays = model._get_state()
    assert meta["params"]["envy_weight"] == 1.0
    # saved again, the file has the current layout and loads the same
    again = DAFHClassifier._from_state(meta, arrays)
    assert again.predict_proba(X).tobytes() == expected["predict_proba"].tobytes()
