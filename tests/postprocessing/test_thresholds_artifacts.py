"""GroupThresholds model files written by earlier releases still load and predict the same."""

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import fairfast

ART = Path(__file__).resolve().parents[1] / "artifacts" / "thresholds"
CASES = ["dp_int_groups", "eo_tol_balanced", "eqodds_mixture", "pp_cost_intersections"]


@pytest.fixture(scope="module")
def inputs():
    data = np.load(ART / "inputs.npz")
    expected = json.loads((ART / "expected.json").read_text())
    return data, expected


@pytest.mark.parametrize("name", CASES)
def test_old_model_files_load_and_predict_the_same(inputs, name):
    data, expected = inputs
    s, a = data["scores"], data["groups"]
    sf = pd.DataFrame({"grp": a, "sex": data["sex"]}) if name == "pp_cost_intersections" else a
    gt = fairfast.load(ART / f"{name}.ffm")
    ref = expected[name]
    np.testing.assert_array_equal(gt.predict_proba(s, sensitive_features=sf)[:, 1], ref["proba"])
    np.testing.assert_array_equal(gt.predict(s, sensitive_features=sf), ref["pred"])
    np.testing.assert_array_equal(gt.predict(s, sensitive_features=sf, random_state=9, row_offset=100),
                                  ref["pred_seed9_offset100"])
