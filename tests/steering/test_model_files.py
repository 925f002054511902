"""Model files of the steering estimators: bit-for-bit round trips, refused states, pickling."""

import copy
import pickle

import numpy as np
import pandas as pd
import pytest
from sklearn.exceptions import NotFittedError

import fairfast
from fairfast.io import read_model, registered_estimators
from fairfast.steering import LEACE, GaussianSteering, MeanCovarianceMatching, MeanMatching
from model_file_checks import assert_same_state, rewrite_model_file, save_load

_BASELINES = (MeanMatching, MeanCovarianceMatching, LEACE)


def _data(kind, n=900, d=3, G=3, K=3, seed=0, dtype=np.float64, positive=False):
    """Features, labels and sensitive features whose group labels are of `kind`."""
    rng = np.random.default_rng(seed)
    a = rng.integers(0, G, n)
    y = rng.integers(0, K, n)
    X = rng.normal(size=(n, d)) + 0.8 * a[:, None] + 0.5 * y[:, None] * (1 + a[:, None])
    if positive:
        X = np.exp(X / 2)
    if kind == "int":
        sf = a
    elif kind == "str":
        sf = np.array(["north", "south", "east", "west"], dtype=object)[a]
    elif kind == "bool":
        sf = a % 2 == 1
    else:  # intersections of two columns -> tuple labels
        sf = pd.DataFrame({"sex": np.where(a % 2 == 1, "F", "M"), "age": a // 2})
    return X.astype(dtype), y, sf


def _bitwise(a, b):
    assert a.dtype == b.dtype and a.shape == b.shape
    assert a.tobytes() == b.tobytes()


# -- round trips -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "params, kind, dtype",
    [
        ({}, "int", np.float64),
        ({"unlabeled": "soft", "reference": "south"}, "str", np.float32),
        ({"family": "lognormal", "covariance": "shared", "coupling": "whitened"}, "tuple", np.float64),
        ({"family": "lognormal", "unlabeled": "soft", "direction": "reverse"}, "bool", np.float32),
        ({"covariance": "shared", "coupling": "whitened", "reference": ("F", 0), "shrinkage": 0.1}, "tuple",
         np.float32),
        ({"program": "all_subgroups", "unlabeled": "soft"}, "str", np.float64),
    ],
)
def test_gaussian_steering_round_trip_is_bit_for_bit(tmp_path, params, kind, dtype):
    d = 1 if params.get("program") == "all_subgroups" else 3
    X, y, sf = _data(kind, d=d, dtype=dtype, positive=params.get("family") == "lognormal")
    y = np.array(["high", "low", "mid"])[y] if kind == "str" else y  # string classes too
    model = GaussianSteering(**params).fit(X, y, sensitive_features=sf)
    back, _ = save_load(model, tmp_path)
    assert type(back) is GaussianSteering
    assert back.get_params() == model.get_params()
    assert back.groups_ == model.groups_ and back.classes_ == model.classes_
    assert [type(g) for g in back.groups_] == [type(g) for g in model.groups_]
    assert [type(c) for c in back.classes_] == [type(c) for c in model.classes_]
    assert back.reference_ == model.reference_ and back.guarantees_ == model.guarantees_
    assert back.kl_ == model.kl_ and back.feature_kl_ == model.feature_kl_
    assert back._derived_maps == {}  # the label-free maps are recomputed on first use
    assert_same_state(model, back)
    # label-aware maps, and the label-free map of the fitted `unlabeled` mode
    _bitwise(back.transform(X, y, sensitive_features=sf), model.transform(X, y, sensitive_features=sf))
    _bitwise(back.transform(X, sensitive_features=sf), model.transform(X, sensitive_features=sf))
    assert back.transform(X[:5], y[:5], sensitive_features=sf[:5]).dtype == dtype
    _bitwise(back.sample_weights(y, sensitive_features=sf), model.sample_weights(y, sensitive_features=sf))


@pytest.mark.parametrize("unlabeled", ["mixture", "soft"])
def test_gaussian_steering_both_unlabeled_modes(tmp_path, unlabeled):
    X, y, sf = _data("int", seed=1, dtype=np.float32)
    model = GaussianSteering(unlabeled=unlabeled, covariance="shared").fit(X, y, sensitive_features=sf)
    back, _ = save_load(model, tmp_path)
    _bitwise(back.transform(X, sensitive_features=sf), model.transform(X, sensitive_features=sf))
    # the same model with the other mode set after loading still matches its twin
    other = "soft" if unlabeled == "mixture" else "mixture"
    back.set_params(unlabeled=other)
    model.set_params(unlabeled=other)
    _bitwise(back.transform(X, sensitive_features=sf), model.transform(X, sensitive_features=sf))


@pytest.mark.parametrize("cls", _BASELINES)
@pytest.mark.parametrize("kind, dtype", [("int", np.float64), ("str", np.float32), ("tuple", np.float64),
                                         ("bool", np.float32)])
def test_baselines_round_trip_is_bit_for_bit(tmp_path, cls, kind, dtype):
    X, _, sf = _data(kind, d=4, dtype=dtype, seed=2)
    model = cls().fit(X, sensitive_features=sf)
    back, _ = save_load(model, tmp_path)
    assert type(back) is cls and back.get_params() == model.get_params()
    assert back.groups_ == model.groups_ and [type(g) for g in back.groups_] == [type(g) for g in model.groups_]
    assert getattr(back, "reference_", None) == getattr(model, "reference_", None)
    assert_same_state(model, back)
    _bitwise(back.transform(X, sensitive_features=sf), model.transform(X, sensitive_features=sf))
    if cls is not LEACE:
        assert back.linear_.shape == model.linear_.shape
        np.testing.assert_array_equal(back.linear_, model.linear_)


@pytest.mark.parametrize("params", [{"reference": ("M", 1)}, {"reference": ("F", 0), "shrinkage": None},
                                    {"reference": ("M", 0), "shrinkage": 0.25}])
def test_baselines_with_parameters_round_trip(tmp_path, params):
    X, _, sf = _data("tuple", d=2, seed=3)
    cls = MeanMatching if set(params) == {"reference"} else MeanCovarianceMatching
    model = cls(**params).fit(X, sensitive_features=sf)
    back, _ = save_load(model, tmp_path)
    assert back.get_params() == model.get_params() and back.reference_ == params["reference"]
    _bitwise(back.transform(X, sensitive_features=sf), model.transform(X, sensitive_features=sf))
    for svd_tol in (1e-3, 1e6):  # the second erases nothing: rank 0, arrays of shape (d, 0) and (0, d)
        leace = LEACE(shrinkage="oas", svd_tol=svd_tol).fit(X, sensitive_features=sf)
        back, _ = save_load(leace, tmp_path)
        assert back.get_params() == leace.get_params() and back.proj_left_.shape == leace.proj_left_.shape
        _bitwise(back.transform(X), leace.transform(X))
    assert back.proj_left_.shape == (2, 0)


def test_load_returns_the_right_class_and_registry_lists_them(tmp_path):
    assert {"GaussianSteering", "MeanMatching", "MeanCovarianceMatching", "LEACE"} <= set(registered_estimators())
    X, y, sf = _data("int", n=300, d=2)
    for model in (GaussianSteering(covariance="shared").fit(X, y, sensitive_features=sf),
                  *(cls().fit(X, sensitive_features=sf) for cls in _BASELINES)):
        path = tmp_path / f"{type(model).__name__}.ffm"
        fairfast.io.save(model, path, metadata={"columns": ["x0", "x1"]})
        back, info = read_model(path)
        assert type(back) is type(model)
        assert info["estimator"] == type(model).__name__ and info["metadata"] == {"columns": ["x0", "x1"]}
        assert type(fairfast.load(path)) is type(model)


def test_unfitted_estimators_cannot_be_saved(tmp_path):
    for cls in (GaussianSteering, *_BASELINES):
        with pytest.raises(NotFittedError):
            cls().save(tmp_path / "m.ffm")
    assert not (tmp_path / "m.ffm").exists()


# -- refused states --------------------------------------------------------------------------


@pytest.fixture(scope="module")
def fitted_models():
    X, y, sf = _data("tuple", n=600, d=3, seed=4)
    return [GaussianSteering(covariance="shared").fit(X, y, sensitive_features=sf),
            *(cls().fit(X, sensitive_features=sf) for cls in _BASELINES)]


@pytest.mark.parametrize("index", range(4))
def test_tampered_array_shape_is_refused(tmp_path, fitted_models, index):
    model = fitted_models[index]
    path = tmp_path / "m.ffm"
    model.save(path)
    key = max(model._get_state()[1], key=lambda k: model._get_state()[1][k].size)
    rewrite_model_file(path, array=(key, lambda a: a[..., :-1]))
    with pytest.raises(ValueError, match=rf"not a valid fairfast model file: model state is inconsistent: {key} "
                                         r"should be float64 of shape"):
        fairfast.load(path)


def test_tampered_array_values_are_refused(tmp_path, fitted_models):
    steer, mm, mcm, leace = fitted_models
    path = tmp_path / "m.ffm"
    cases = [
        (steer, "means", lambda a: a + 0.5, "offset does not match the means"),
        (steer, "offset", lambda a: a + 0.5, "reference group.s maps must be the identity"),
        (steer, "identity", lambda a: ~a, "identity must flag exactly the reference group"),
        (steer, "priors", lambda a: a * 2, "priors must be positive and sum to 1"),
        (steer, "covariances", lambda a: a * np.array([1.0, 1.0, -1.0]), "covariances must have a positive diag"),
        (steer, "target_covariances", lambda a: a + np.triu(np.ones(a.shape[-2:]), 1),
         "target_covariances must be symmetric"),
        (steer, "subgroup_kl", lambda a: a + 0.1, "kl is .* but the priors and subgroup_kl give"),
        (steer, "linear", lambda a: np.where(np.isfinite(a), a, 0) * np.nan, "linear has non-finite values"),
        (steer, "pooled", lambda a: a.astype(np.int64), "pooled should be bool of shape"),
        (mm, "offset", lambda a: a + 1.0, "reference group's offset must be zero"),
        (mcm, "linear", lambda a: a * 1.01, "reference group's linear map must be the identity"),
        (mcm, "means", lambda a: a + 0.1, "offset does not match the means"),
        (leace, "proj_left", lambda a: a * 2.0, "proj_right @ proj_left must be the identity"),
    ]
    for model, key, change, message in cases:
        model.save(path)
        rewrite_model_file(path, array=(key, change))
        with pytest.raises(ValueError, match=message):
            fairfast.load(path)


def test_inconsistent_meta_is_refused(tmp_path, fitted_models):
    steer, mm, mcm, leace = fitted_models
    path = tmp_path / "m.ffm"
    cases = [
        (steer, lambda m: m["groups"].pop(), "the grouping's groups are not the estimator's groups"),
        (steer, lambda m: (m["groups"].pop(), m.pop("grouping")), "priors should be float64 of shape"),
        (steer, lambda m: m["classes"].reverse(), "classes must be sorted"),
        (steer, lambda m: m.update(classes=[0, 0, 1]), "classes has repeated labels"),
        (steer, lambda m: m.update(reference_index=(m["reference_index"] + 1) % 3), "identity must flag"),
        (steer, lambda m: m.update(reference_index=None), "needs a reference_index"),
        (steer, lambda m: m.update(kl=m["kl"] * 2), "kl is .* but the priors"),
        (steer, lambda m: m.update(n_features_in=4), "means should be float64 of shape"),
        (steer, lambda m: m["params"].update(program="all_subgroups"), "program='all_subgroups' has no reference group"),
        (steer, lambda m: m["params"].update(family="gamma"), "family must be one of"),
        (steer, lambda m: m["params"].update(familly="normal"), r"params of GaussianSteering has unknown \['familly'\]"),
        (steer, lambda m: m["params"].update(reference=m["groups"][(m["reference_index"] + 1) % 3]),
         "reference_index does not point at the reference"),
        (steer, lambda m: m.update(groups_are_tuples=False), "is not a string or number"),
        (steer, lambda m: m.update(groups=[[*g, 0] for g in m["groups"]][:2] + [m["groups"][2]]),
         "is not an intersection of the same columns"),
        (steer, lambda m: m.pop("kl"), "incomplete or malformed: KeyError"),
        (mm, lambda m: m.update(reference_index=3), r"reference_index must be an integer in \[0, 3\)"),
        (mm, lambda m: m.update(groups=m["groups"][:1]), "groups has 1 labels, at least 2 needed"),
        (mcm, lambda m: m["params"].update(shrinkage=-1.0), "shrinkage must be None, 'oas' or a non-negative"),
        (leace, lambda m: m.update(rank=m["rank"] + 1), "proj_left should be float64 of shape"),
        (leace, lambda m: m["params"].update(svd_tol=0), "svd_tol must be a positive number"),
    ]
    for model, change, message in cases:
        model.save(path)
        rewrite_model_file(path, meta=change)
        with pytest.raises(ValueError, match=message):
            fairfast.load(path)


def test_unknown_and_missing_arrays_are_refused(fitted_models):
    steer = fitted_models[0]
    meta, arrays = steer._get_state()
    with pytest.raises(ValueError, match=r"arrays \['linear'\] are missing and \[\] unexpected"):
        GaussianSteering._from_state(meta, {k: v for k, v in arrays.items() if k != "linear"})
    with pytest.raises(ValueError, match=r"arrays \[\] are missing and \['extra'\] unexpected"):
        GaussianSteering._from_state(meta, dict(arrays, extra=np.zeros(2)))


# -- pickling ---------------------------------------------------------------------------------


def test_pickle_round_trips_fitted_and_loaded_models(tmp_path, fitted_models):
    X, y, sf = _data("tuple", n=600, d=3, seed=4)
    for model in fitted_models:
        kwargs = {"sensitive_features": sf}
        expected = model.transform(X, **kwargs)
        loaded, _ = save_load(model, tmp_path)
        for again in (pickle.loads(pickle.dumps(model)), pickle.loads(pickle.dumps(loaded)), copy.deepcopy(loaded)):
            assert type(again) is type(model)
            _bitwise(again.transform(X, **kwargs), expected)
            assert_same_state(model, again)
    steer = fitted_models[0]
    loaded, _ = save_load(steer, tmp_path)
    loaded.transform(X, sensitive_features=sf)  # fills the label-free cache, which pickles along
    again = pickle.loads(pickle.dumps(loaded))
    _bitwise(again.transform(X, y, sensitive_features=sf), steer.transform(X, y, sensitive_features=sf))
    _bitwise(again.transform(X, sensitive_features=sf), steer.transform(X, sensitive_features=sf))
