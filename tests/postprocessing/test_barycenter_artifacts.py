"""Model files written by an earlier fairfast (tests/artifacts/, see
make_barycenter_models.py there) still load, and transform exactly as they did."""

from pathlib import Path

import numpy as np
import pytest

import fairfast
from fairfast.postprocessing import WassersteinBarycenter

ARTIFACTS = Path(__file__).resolve().parents[1] / "artifacts"
NAMES = ["single", "multitask", "intersectional", "sequential", "conditional", "float32_weighted"]


@pytest.fixture(scope="module")
def expected():
    with np.load(ARTIFACTS / "barycenter_expected.npz", allow_pickle=False) as f:
        return dict(f)


@pytest.mark.parametrize("name", NAMES)
def test_old_model_files_load_and_transform_bit_for_bit(expected, name):
    model = fairfast.load(ARTIFACTS / f"barycenter_{name}.ffm")
    assert isinstance(model, WassersteinBarycenter)
    z, sf, out = expected[f"{name}.z"], expected[f"{name}.sf"], expected[f"{name}.out"]
    got = model.transform(z, sensitive_features=sf, row_offset=17)
    assert got.dtype == out.dtype and got.shape == out.shape
    np.testing.assert_array_equal(got, out)
    # and chunked, from its own model file again
    again = fairfast.load(ARTIFACTS / f"barycenter_{name}.ffm")
    parts = [again.transform(z[a : a + 150], sensitive_features=sf[a : a + 150], row_offset=17 + a)
             for a in range(0, len(z), 150)]
    np.testing.assert_array_equal(np.concatenate(parts), out)


def test_the_artifacts_cover_every_stage_layout():
    models = {name: fairfast.load(ARTIFACTS / f"barycenter_{name}.ffm") for name in NAMES}
    assert models["multitask"].n_tasks_ == 3
    assert models["intersectional"].merged_groups_ and models["intersectional"].groups_[-1] == "<other>"
    assert [len(m.stages_) for m in (models["sequential"], models["conditional"])] == [2, 2]
    assert models["conditional"].stages_[0].n_strata_columns == 1
    assert models["float32_weighted"].sorted_scores_.dtype == np.float32


def test_refitting_gives_the_stored_arrays():
    """The model files hold what the current fit computes: the same tables, tie keys and
    weights bit for bit, and the same sorted values. Only the arrangement of -0.0 and
    +0.0 inside a run of zeros may differ: the fit now sorts in the IEEE total order
    (-0.0 first, whatever the thread count), where np.sort left it unspecified."""
    import importlib.util

    import json

    spec = importlib.util.spec_from_file_location("make_barycenter_models", ARTIFACTS / "make_barycenter_models.py")
    maker = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(maker)
    for name, model, (z, sf), fit_kwargs in maker.models():
        stored = fairfast.load(ARTIFACTS / f"barycenter_{name}.ffm")
        meta_a, new = _without_grouping(*model.fit(z, sensitive_features=sf, **fit_kwargs)._get_state())
        meta_b, old = _without_grouping(*stored._get_state())
        assert json.dumps(meta_a, sort_keys=True) == json.dumps(meta_b, sort_keys=True), name
        assert new.keys() == old.keys(), name
        for key in new:
            assert new[key].dtype == old[key].dtype, f"{name} {key}"
            if key.endswith(".values"):
                np.testing.assert_array_equal(new[key], old[key], err_msg=f"{name} {key}")
                assert _zero_runs_sign_ordered(new[key]), f"{name} {key}"
            else:
                assert new[key].tobytes() == np.ascontiguousarray(old[key]).tobytes(), f"{name} {key}"


def _without_grouping(meta, arrays):
    """The state without the grouping (names, categories, group keys): the stored files
    were written before groupings were saved (their loaded grouping is rebuilt from the
    labels, with unnamed columns, so it differs from a new fit's by construction)."""
    meta = {k: v for k, v in meta.items() if k != "grouping"}
    meta["stages"] = [{k: v for k, v in st.items() if k != "index"} for st in meta["stages"]]
    return meta, {k: v for k, v in arrays.items() if ".group_" not in k}


def _zero_runs_sign_ordered(values):
    """In every row, each run of zeros holds its -0.0 before its +0.0."""
    for row in np.atleast_2d(values):
        neg = np.signbit(row) & (row == 0)
        pos = ~np.signbit(row) & (row == 0)
        # a +0.0 followed by a -0.0 would break the order
        if (pos[:-1] & neg[1:]).any():
            return False
    return True
