"""WassersteinBarycenter as an API: scikit-learn conventions, input containers and every
error path (the compiled stage's own checks are in test_barycenter_stage.py)."""

import copy
import pickle

import numpy as np
import pandas as pd
import pytest
from sklearn.base import clone
from sklearn.exceptions import NotFittedError

from fairfast.postprocessing import WassersteinBarycenter


# data and fitted: tests/postprocessing/conftest.py


# --------------------------------------------------------------------------- sklearn API


def test_get_set_params_and_clone(fitted):
    params = fitted.get_params()
    assert params == {
        "epsilon": 0.2,
        "group_weights": None,
        "interpolation": "step",
        "jitter": 0.0,
        "merge_small_groups": False,
        "min_group_size": 2,
        "random_state": 11,
        "small_group_size": 30,
        "strategy": "intersectional",
    }
    fresh = clone(fitted)
    assert fresh.get_params() == params
    assert not hasattr(fresh, "barycenter_table_")
    other = clone(fitted).set_params(epsilon=0.5, interpolation="linear")
    assert other.epsilon == 0.5 and other.interpolation == "linear"
    assert fitted.epsilon == 0.2


def test_fit_returns_self_and_fitted_attributes(data):
    z, s = data
    model = WassersteinBarycenter(random_state=0)
    assert model.fit(z, sensitive_features=s) is model
    n, k = len(z), 3
    assert model.groups_ == [0, 1, 2]
    np.testing.assert_array_equal(model.group_counts_, np.bincount(s))
    assert model.group_counts_.dtype == np.int64
    np.testing.assert_allclose(model.group_weights_, np.bincount(s) / n, rtol=1e-15)
    assert model.seed_ == 0 and model.n_features_in_ == 1
    assert model.sorted_scores_.shape == (n,) and model.tie_keys_.dtype == np.uint64
    np.testing.assert_array_equal(model.group_offsets_, np.concatenate([[0], np.cumsum(np.bincount(s))]))
    assert model.barycenter_table_.shape == (n + k,)
    for g in range(k):
        a, b = model.group_offsets_[g], model.group_offsets_[g + 1]
        np.testing.assert_array_equal(model.sorted_scores_[a:b], np.sort(z[s == g]))


@pytest.mark.parametrize("roundtrip", ["pickle", "deepcopy", "copy"])
def test_pickle_and_copies_transform_bitwise_equal(fitted, data, roundtrip):
    z, s = data
    if roundtrip == "pickle":
        state = fitted.__getstate__()
        assert "_index" not in state  # rebuilt on demand, not part of the model
        other = pickle.loads(pickle.dumps(fitted))
    else:
        other = getattr(copy, roundtrip)(fitted)
    t = np.concatenate([z, np.linspace(-5, 7, 101)])
    c = np.concatenate([s, np.arange(101) % 3])
    np.testing.assert_array_equal(
        other.transform(t, sensitive_features=c, row_offset=3), fitted.transform(t, sensitive_features=c, row_offset=3)
    )
    assert other.get_params() == fitted.get_params()


def test_not_fitted_raises():
    with pytest.raises(NotFittedError, match="not fitted yet"):
        WassersteinBarycenter().transform([0.0], sensitive_features=[0])


def test_y_is_ignored_and_fit_transform_equals_fit_then_transform(data):
    z, s = data
    a = WassersteinBarycenter(random_state=4).fit(z, y=np.ones(len(z)), sensitive_features=s)
    b = WassersteinBarycenter(random_state=4).fit_transform(z, sensitive_features=s)
    np.testing.assert_array_equal(a.transform(z, sensitive_features=s), b)


# --------------------------------------------------------------------------- inputs


def test_score_and_label_containers(constructor, data):
    z, s = data
    labels = np.array(["f", "m", "x"])[s]
    expected = WassersteinBarycenter(random_state=2).fit_transform(z, sensitive_features=s)
    model = WassersteinBarycenter(random_state=2).fit(constructor(z), sensitive_features=constructor(labels))
    assert model.groups_ == ["f", "m", "x"]
    out = model.transform(constructor(z), sensitive_features=constructor(labels))
    assert isinstance(out, np.ndarray)
    np.testing.assert_array_equal(out, expected)


@pytest.mark.parametrize(
    "make_labels, groups",
    [
        (lambda s: s.astype(np.int8), [0, 1, 2]),
        (lambda s: s.astype(np.uint64) + 10, [10, 11, 12]),
        (lambda s: s * 2 - 3, [-3, -1, 1]),
        (lambda s: np.array(["a", "b", "c"], dtype=object)[s], ["a", "b", "c"]),
        (lambda s: pd.Categorical.from_codes(s, categories=["g0", "g1", "g2"]), ["g0", "g1", "g2"]),
        (lambda s: pd.Series(np.array([0.5, 1.5, 2.5])[s]), [0.5, 1.5, 2.5]),
    ],
    ids=["int8", "uint64", "negative", "object", "categorical", "float-series"],
)
def test_label_types_give_the_same_result(data, make_labels, groups):
    z, s = data
    expected = WassersteinBarycenter(random_state=2).fit_transform(z, sensitive_features=s)
    labels = make_labels(s)
    model = WassersteinBarycenter(random_state=2).fit(z, sensitive_features=labels)
    assert model.groups_ == groups
    np.testing.assert_array_equal(model.transform(z, sensitive_features=labels), expected)


def test_boolean_labels(data):
    z, s = data
    b = s > 0
    expected = WassersteinBarycenter(random_state=1).fit_transform(z, sensitive_features=b.astype(int))
    model = WassersteinBarycenter(random_state=1).fit(z, sensitive_features=b)
    assert model.groups_ == [False, True]
    np.testing.assert_array_equal(model.transform(z, sensitive_features=b), expected)
    np.testing.assert_array_equal(model.transform(z, sensitive_features=pd.Series(b)), expected)


@pytest.mark.parametrize("frame", ["pandas", "polars", "numpy-2d"])
def test_two_sensitive_columns_are_intersected(data, frame):
    z, _ = data
    rng = np.random.default_rng(3)
    sex = rng.choice(np.array(["f", "m"]), len(z))
    race = rng.choice(np.array(["p", "q", "r"]), len(z))
    joint = np.searchsorted(np.unique(np.char.add(sex, race)), np.char.add(sex, race))
    expected = WassersteinBarycenter(random_state=5).fit_transform(z, sensitive_features=joint)
    if frame == "pandas":
        sf = pd.DataFrame({"sex": sex, "race": race})
    elif frame == "polars":
        pl = pytest.importorskip("polars")
        sf = pl.DataFrame({"sex": sex, "race": race})
    else:
        sf = np.column_stack([sex, race])
    model = WassersteinBarycenter(random_state=5).fit(z, sensitive_features=sf)
    assert model.groups_ == [(a, b) for a in ("f", "m") for b in ("p", "q", "r")]
    np.testing.assert_array_equal(model.transform(z, sensitive_features=sf), expected)
    with pytest.raises(ValueError, match=r"sensitive_features (has 1 column\(s\) but was fitted on 2|does not have "
                                         r"the columns seen at fit: missing column\(s\) \['race'\])"):
        model.transform(z, sensitive_features=pd.Series(sex, name="sex") if frame != "numpy-2d" else sex)


def test_integer_and_bool_scores_become_float64():
    s = [0, 0, 1, 1]
    model = WassersteinBarycenter(random_state=0, small_group_size=1)
    out = model.fit_transform(np.array([1, 2, 3, 4]), sensitive_features=s)
    assert out.dtype == np.float64
    np.testing.assert_array_equal(out, [2.0, 3.0, 2.0, 3.0])
    out = model.fit_transform([True, False, True, True], sensitive_features=s)
    assert out.dtype == np.float64 and set(out) <= {0.5, 1.0}


def test_transform_subset_of_groups_and_unseen_order(fitted, data):
    z, s = data
    only = fitted.transform(z[s == 2], sensitive_features=s[s == 2])
    full = fitted.transform(z, sensitive_features=s)
    # rows keep their global index only through row_offset; in-range, non-tied
    # queries do not depend on it
    t = np.array([0.05, 1.05, 2.05])
    np.testing.assert_array_equal(
        fitted.transform(t, sensitive_features=[2, 2, 2]), fitted.transform(t, sensitive_features=[2, 2, 2], row_offset=9)
    )
    assert only.shape == (np.sum(s == 2),) and full.shape == z.shape


# --------------------------------------------------------------------------- errors


def test_unseen_group_raises(fitted):
    with pytest.raises(ValueError, match=r"sensitive_features has labels not seen at fit time: 7 \(first at row 1\)"):
        fitted.transform([0.0, 1.0], sensitive_features=[0, 7])
    with pytest.raises(TypeError, match=r"sensitive_features holds <U1 values but was fitted on int labels"):
        fitted.transform([0.0], sensitive_features=["a"])


def test_small_groups_raise_at_fit():
    with pytest.raises(ValueError, match=r"1 group\(s\) with fewer than min_group_size=2 rows: 'b' \(1 rows\)"):
        WassersteinBarycenter().fit([0.0, 1.0, 2.0], sensitive_features=["a", "a", "b"])
    with pytest.raises(ValueError, match=r"2 group\(s\) with fewer than min_group_size=3 rows: 'a' \(2 rows\), 'b'"):
        WassersteinBarycenter(min_group_size=3).fit([0.0, 1.0, 2.0, 3.0], sensitive_features=["a", "a", "b", "b"])
    # a group of one row is accepted when asked for
    out = WassersteinBarycenter(min_group_size=1, small_group_size=1, random_state=0).fit_transform(
        [0.0, 1.0, 5.0], sensitive_features=["a", "a", "b"]
    )
    assert np.all(np.isfinite(out))


def test_empty_inputs_and_zero_weight_groups_raise():
    with pytest.raises(ValueError, match="scores must have at least 1 rows, got 0"):
        WassersteinBarycenter().fit([], sensitive_features=[])
    with pytest.raises(ValueError, match=r"sample_weight gives zero total weight to groups \['b'\]"):
        WassersteinBarycenter(small_group_size=1).fit(
            [0.0, 1.0, 2.0, 3.0], sensitive_features=["a", "a", "b", "b"], sample_weight=[1, 1, 0, 0]
        )
    with pytest.raises(ValueError, match="sample_weight must be non-negative"):
        WassersteinBarycenter().fit([0.0, 1.0], sensitive_features=[0, 0], sample_weight=[1, -1])
    with pytest.raises(ValueError, match="sample_weight has 1 rows but the data has 2"):
        WassersteinBarycenter().fit([0.0, 1.0], sensitive_features=[0, 0], sample_weight=[1])
    with pytest.raises(ValueError, match="sensitive_features has a missing value .* at row 1"):
        WassersteinBarycenter().fit([0.0, 1.0, 2.0], sensitive_features=["a", None, "a"])


@pytest.mark.parametrize("bad, shown", [(np.nan, "nan"), (np.inf, "inf"), (-np.inf, "-inf")])
def test_non_finite_scores_raise_with_position(fitted, bad, shown):
    z = np.array([0.0, 1.0, 2.0, bad, 3.0])
    s = [0, 1, 2, 0, 1]
    with pytest.raises(ValueError, match=rf"scores must be finite; found .*{shown}.* at position 3"):
        WassersteinBarycenter().fit(z, sensitive_features=s)
    with pytest.raises(ValueError, match=rf"scores must be finite; found .*{shown}.* at position 3"):
        fitted.transform(z, sensitive_features=s)
    with pytest.raises(ValueError, match=rf"scores must be finite; found .*{shown}.* at position 3"):
        fitted.transform(z.astype(np.float32), sensitive_features=s)


def test_length_mismatch_names_sensitive_features(fitted):
    with pytest.raises(ValueError, match="sensitive_features has 3 rows but the scores have 2"):
        WassersteinBarycenter().fit([0.0, 1.0], sensitive_features=[0, 0, 1])
    with pytest.raises(ValueError, match="sensitive_features has 1 rows but the scores have 2"):
        fitted.transform([0.0, 1.0], sensitive_features=[0])


def test_bad_score_shapes_and_types(fitted):
    with pytest.raises(ValueError, match=r"scores must be 1-D \(one task\) or 2-D \(n_samples, n_tasks\), got shape \(2, 2, 1\)"):
        WassersteinBarycenter().fit(np.zeros((2, 2, 1)), sensitive_features=[0, 1])
    with pytest.raises(ValueError, match=r"scores has 2 task column\(s\) but the model was fitted on 1"):
        fitted.transform(np.zeros((2, 2)), sensitive_features=[0, 1])
    with pytest.raises(TypeError, match="scores must hold real numbers"):
        fitted.transform(["a", "b"], sensitive_features=[0, 1])
    with pytest.raises(TypeError, match="scores must hold real numbers, got complex"):
        fitted.transform(np.array([1j]), sensitive_features=[0])


@pytest.mark.parametrize(
    "params, error, match",
    [
        ({"epsilon": -0.1}, ValueError, r"epsilon must lie in \[0, 1\], got -0.1"),
        ({"epsilon": 1.5}, ValueError, r"epsilon must lie in \[0, 1\], got 1.5"),
        ({"epsilon": np.nan}, ValueError, r"epsilon must lie in \[0, 1\]"),
        ({"epsilon": "0.5"}, TypeError, r"epsilon must be a real number in \[0, 1\], got str"),
        ({"epsilon": True}, TypeError, r"epsilon must be a real number in \[0, 1\], got bool"),
        ({"interpolation": "cubic"}, ValueError, "interpolation must be one of 'step', 'linear'; got 'cubic'"),
        ({"interpolation": None}, ValueError, "interpolation must be one of 'step', 'linear'; got None"),
        ({"jitter": -1e-3}, ValueError, r"jitter must be finite and >= 0, got -0.001"),
        ({"jitter": np.inf}, ValueError, r"jitter must be finite and >= 0, got inf"),
        ({"jitter": np.nan}, ValueError, r"jitter must be finite and >= 0, got nan"),
        ({"jitter": "1e-3"}, TypeError, "jitter must be a non-negative real number, got str"),
        ({"min_group_size": 0}, ValueError, "min_group_size must be an int >= 1, got 0"),
        ({"min_group_size": 2.0}, ValueError, "min_group_size must be an int >= 1, got 2.0"),
        ({"random_state": -1}, ValueError, "random_state must be non-negative, got -1"),
        ({"random_state": "x"}, TypeError, "random_state must be None, an int or a numpy random generator"),
        ({"group_weights": [1.0, 2.0]}, ValueError, "group_weights has 2 entries but the calibration data has 3"),
        ({"group_weights": [1.0, -1.0, 1.0]}, ValueError, "group_weights must be finite, non-negative"),
        ({"group_weights": [0.0, 0.0, 0.0]}, ValueError, "group_weights must be finite, non-negative and not all"),
        ({"group_weights": {0: 1.0, 1: 1.0}}, ValueError, r"group_weights has no weight for groups \[2\]"),
        (
            {"group_weights": {0: 1, 1: 1, 2: 1, 9: 1}},
            ValueError,
            r"group_weights names groups absent from the calibration data: \[9\]",
        ),
    ],
)
def test_bad_parameters_raise_at_fit(data, params, error, match):
    z, s = data
    with pytest.raises(error, match=match):
        WassersteinBarycenter(**params).fit(z, sensitive_features=s)


def test_parameters_are_rechecked_at_transform(data):
    z, s = data
    model = WassersteinBarycenter(random_state=0).fit(z, sensitive_features=s)
    model.set_params(epsilon=2.0)
    with pytest.raises(ValueError, match=r"epsilon must lie in \[0, 1\], got 2.0"):
        model.transform(z, sensitive_features=s)


@pytest.mark.parametrize(
    "offset, error, match",
    [
        (-1, ValueError, "row_offset must be a non-negative int below 2\\*\\*63, got -1"),
        (1.0, TypeError, "row_offset must be a non-negative int, got float"),
        (True, TypeError, "row_offset must be a non-negative int, got bool"),
        ("3", TypeError, "row_offset must be a non-negative int, got str"),
    ],
)
def test_bad_row_offset_raises(fitted, offset, error, match):
    with pytest.raises(error, match=match):
        fitted.transform([0.0], sensitive_features=[0], row_offset=offset)


def test_row_offset_beyond_64_bits_names_row_offset(fitted):
    with pytest.raises((ValueError, OverflowError), match="row_offset"):
        fitted.transform([0.0], sensitive_features=[0], row_offset=2**64)


def test_bad_out_raises(fitted):
    z = np.array([0.0, 1.0, 2.0])
    c = [0, 1, 2]
    with pytest.raises(ValueError, match="out must be a writeable C-contiguous float64 ndarray with 3 elements"):
        fitted.transform(z, sensitive_features=c, out=np.empty(3, dtype=np.float32))
    with pytest.raises(ValueError, match="out must be a writeable C-contiguous float64 ndarray with 3 elements"):
        fitted.transform(z, sensitive_features=c, out=np.empty(4))
    with pytest.raises(ValueError, match="out must be a writeable C-contiguous float64 ndarray with 3 elements"):
        fitted.transform(z, sensitive_features=c, out=[0.0, 0.0, 0.0])
    with pytest.raises(ValueError, match="out must be a writeable C-contiguous float64 ndarray"):
        fitted.transform(z, sensitive_features=c, out=np.empty(6)[::2])
    readonly = np.empty(3)
    readonly.flags.writeable = False
    with pytest.raises(ValueError, match="out must be a writeable C-contiguous float64 ndarray"):
        fitted.transform(z, sensitive_features=c, out=readonly)
