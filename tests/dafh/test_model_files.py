"""Model files of DAFHClassifier: bit-for-bit round trips, refused states, pickling."""

import copy
import pickle

import numpy as np
import pandas as pd
import pytest
from sklearn.exceptions import NotFittedError

import fairfast
from fairfast.dafh import DAFHClassifier
from fairfast.io import read_model, registered_estimators
from model_file_checks import assert_same_state, rewrite_model_file, save_load

# tiny data, a small group classifier and a few epochs: every fit takes milliseconds
# (the Numba kernels are compiled with cache=True, so only a cold cache compiles)
_SMALL = {"hidden_layer_sizes": (4,), "max_epochs": 6, "min_epochs": 1, "batch_size": 32, "random_state": 0}


def _data(n=160, d=3, seed=0, dtype=np.float64):
    rng = np.random.default_rng(seed)
    c = rng.integers(0, 2, n)
    X = np.column_stack([rng.normal(4.0 * c - 2.0, 1.0), rng.normal(0.0, 1.0, (n, d - 1))])
    X[:, -1] = rng.integers(0, 2, n)  # an indicator column, kept unstandardised
    y = np.where(c == 0, X[:, 1] > 0, X[:, 1] < 0).astype(int)
    return X.astype(dtype), y


def _labels(y, kind):
    if kind == "int":
        return y
    if kind == "str":
        return np.array(["no", "yes"])[y]
    if kind == "object":  # pandas strings: classes_ of object dtype
        return pd.Series(np.array(["deny", "grant"])[y])
    if kind == "bool":
        return y == 1
    return np.array([-1.0, 2.0])[y]  # float (integral values: scikit-learn calls others continuous)


def _bitwise(a, b):
    assert a.dtype == b.dtype and a.shape == b.shape
    if a.dtype == object:  # pointers: compare the labels and their types
        assert a.tolist() == b.tolist() and [type(v) for v in a.tolist()] == [type(v) for v in b.tolist()]
    else:
        assert a.tobytes() == b.tobytes()


def _same_predictions(a, b, X):
    for method in ("predict_proba", "predict", "decision_function", "predict_each", "assign_groups",
                   "group_probabilities"):
        _bitwise(getattr(a, method)(X), getattr(b, method)(X))


# -- round trips -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "params, kind, dtype",
    [
        ({}, "int", np.float64),
        ({}, "str", np.float32),
        ({"dtype": "float32", "hidden_layer_sizes": (5, 3)}, "object", np.float64),
        ({"dtype": "float32", "n_groups": 3, "group_prior": np.array([0.5, 0.3, 0.2])}, "bool", np.float32),
        ({"hidden_layer_sizes": (), "early_stopping": False, "selection": "group"}, "float", np.float64),
        ({"hidden_layer_sizes": 3, "max_epochs": 0}, "str", np.float64),
    ],
)
def test_round_trip_is_bit_for_bit(tmp_path, params, kind, dtype):
    X, y = _data(dtype=dtype)
    labels = _labels(y, kind)
    model = DAFHClassifier(**{**_SMALL, **params}).fit(X, labels)
    back, _ = save_load(model, tmp_path)
    assert type(back) is DAFHClassifier
    expected = model.get_params()
    if "group_prior" in params:  # written as a list of floats, read back as a tuple
        np.testing.assert_array_equal(back.group_prior, expected.pop("group_prior"))
        assert isinstance(back.get_params().pop("group_prior"), tuple)
    assert {k: v for k, v in back.get_params().items() if k in expected} == expected
    _bitwise(back.classes_, model.classes_)
    assert back.n_features_in_ == model.n_features_in_ and not hasattr(back, "feature_names_in_")
    assert back.history_.keys() == model.history_.keys()
    for key, values in model.history_.items():
        if key in ("val_fwh", "val_accuracy", "val_objective"):  # NaN without early stopping
            np.testing.assert_array_equal(back.history_[key], values)
        else:
            assert back.history_[key] == values, key
    assert (back.best_epoch_, back.n_epochs_) == (model.best_epoch_, model.n_epochs_)
    assert back.pooled_intercept_ == model.pooled_intercept_
    for name in ("coef_", "intercept_", "pooled_coef_", "mean_", "scale_", "group_sizes_"):
        _bitwise(getattr(back, name), getattr(model, name))
    assert_same_state(model, back)
    _same_predictions(back, model, X)
    _same_predictions(back, model, X.astype(np.float32 if dtype == np.float64 else np.float64))
    assert back.score(X, labels) == model.score(X, labels)


def test_feature_names_round_trip(tmp_path):
    X, y = _data(seed=1)
    frame = pd.DataFrame(X, columns=["age", "income", "member"])
    model = DAFHClassifier(**_SMALL).fit(frame, y)
    back, _ = save_load(model, tmp_path)
    _bitwise(back.feature_names_in_, model.feature_names_in_)
    _same_predictions(back, model, frame)
    with pytest.raises(ValueError, match="feature names"):  # checked as for the saved model
        back.predict(frame.rename(columns={"age": "years"}))


def test_generator_random_state_is_written_as_none(tmp_path):
    X, y = _data(seed=2)
    model = DAFHClassifier(**{**_SMALL, "random_state": np.random.default_rng(3)}).fit(X, y)
    back, _ = save_load(model, tmp_path)
    assert back.random_state is None
    _same_predictions(back, model, X)
    model.set_params(random_state=np.int64(7))
    assert save_load(model, tmp_path)[0].random_state == 7


def test_parameters_changed_after_fit_do_not_change_the_saved_model(tmp_path):
    # prediction uses the fitted architecture and dtype, so the file keeps them apart from the parameters
    X, y = _data(seed=8)
    model = DAFHClassifier(**_SMALL).fit(X, y)
    model.set_params(n_groups=5, hidden_layer_sizes=(7, 7), dtype="float32")
    back, _ = save_load(model, tmp_path)
    assert back.get_params() == model.get_params()
    assert back._beta.dtype == np.float64 and back.coef_.shape == (2, 3)
    _same_predictions(back, model, X)


def test_load_returns_the_class_and_registry_lists_it(tmp_path):
    assert "DAFHClassifier" in registered_estimators()
    X, y = _data(seed=4)
    model = DAFHClassifier(**_SMALL).fit(X, y)
    path = tmp_path / "dafh.ffm"
    fairfast.io.save(model, path, metadata={"columns": ["a", "b", "c"]})
    back, info = read_model(path)
    assert type(back) is DAFHClassifier and type(fairfast.load(path)) is DAFHClassifier
    assert info["estimator"] == "DAFHClassifier" and info["metadata"] == {"columns": ["a", "b", "c"]}
    # saving the same model twice gives the same bytes
    model.save(path)
    model.save(tmp_path / "again.ffm")
    assert (tmp_path / "again.ffm").read_bytes() == path.read_bytes()


def test_unfitted_model_cannot_be_saved(tmp_path):
    with pytest.raises(NotFittedError):
        DAFHClassifier().save(tmp_path / "m.ffm")
    assert not (tmp_path / "m.ffm").exists()


# -- refused states --------------------------------------------------------------------------


@pytest.fixture(scope="module")
def fitted():
    X, y = _data(seed=6)
    return DAFHClassifier(**{**_SMALL, "n_groups": 3}).fit(pd.DataFrame(X, columns=["a", "b", "c"]),
                                                            np.array(["no", "yes"])[y])


@pytest.mark.parametrize("key", DAFHClassifier._STATE_ARRAYS)
def test_tampered_array_shape_is_refused(tmp_path, fitted, key):
    path = tmp_path / "m.ffm"
    fitted.save(path)
    rewrite_model_file(path, array=(key, lambda a: a[..., :-1]))
    with pytest.raises(ValueError, match=rf"not a valid fairfast model file: model state is inconsistent: {key} "
                                         r"should be (float64|int64) of shape"):
        fairfast.load(path)


@pytest.mark.parametrize(
    "key, change, message",
    [
        ("theta", lambda a: a.astype(np.float32), r"theta should be float64 of shape"),
        ("beta", lambda a: np.where(a == a.max(), np.inf, a), "beta has non-finite values"),
        ("mean", lambda a: a * np.nan, "mean has non-finite values"),
        ("scale", lambda a: -a, "scale must be positive"),
        ("group_sizes", lambda a: a - a.max() - 1, "group_sizes must be non-negative"),
        ("group_sizes", lambda a: a.astype(np.int32), "group_sizes should be int64 of shape"),
        ("history.epoch", lambda a: a[::-1], r"history.epoch must count 1, 2, \.\.\., n_epochs"),
        ("history.group_shares", lambda a: a * 2 + 0.5, r"history.group_shares must lie in \[0, 1\]"),
        ("history.val_fwh", lambda a: a + 1.5, r"history.val_fwh must lie in \[0, 1\] or be NaN"),
        ("history.val_accuracy", lambda a: np.full_like(a, np.inf), "history.val_accuracy has non-finite values"),
        ("history.val_objective", lambda a: np.full_like(a, -np.inf), "history.val_objective has non-finite values"),
        ("history.val_objective", lambda a: a.astype(np.float32), "history.val_objective should be float64"),
    ],
)
def test_tampered_array_values_are_refused(tmp_path, fitted, key, change, message):
    path = tmp_path / "m.ffm"
    fitted.save(path)
    rewrite_model_file(path, array=(key, change))
    with pytest.raises(ValueError, match=message):
        fairfast.load(path)


@pytest.mark.parametrize(
    "change, message",
    [
        (lambda m: m.update(n_features_in=4), "layer_sizes starts with 3 but n_features_in is 4"),
        (lambda m: m["layer_sizes"].__setitem__(0, 4), "layer_sizes starts with 4 but n_features_in is 3"),
        (lambda m: m["layer_sizes"].__setitem__(-1, 2),
         r"theta should be float64 of shape \(26,\), got float64 of shape \(31,\)"),
        (lambda m: m["layer_sizes"].insert(1, 2), r"theta should be float64 of shape"),
        (lambda m: m["layer_sizes"].__setitem__(1, 0), r"layer_sizes entries must be an integer in \[1, "),
        (lambda m: m.update(layer_sizes=[3]), "layer_sizes must list at least 2 widths"),
        (lambda m: m.update(dtype="float32"), r"theta should be float32 of shape"),
        (lambda m: m.update(dtype="float16"), "file: model state is inconsistent: dtype must be 'float32' or 'f"),
        (lambda m: m.update(n_epochs=m["n_epochs"] + 1), "history.epoch should be int64 of shape"),
        (lambda m: m.update(best_epoch=m["n_epochs"] + 1), r"best_epoch must be an integer in \[0, "),
        (lambda m: m.update(pooled_intercept="0.5"), "pooled_intercept must be a finite number"),
        (lambda m: m["classes"].reverse(), "classes must be sorted, as fit stores them"),
        (lambda m: m.update(classes=["no", "no"]), "classes has repeated labels"),
        (lambda m: m.update(classes=["a", "b", "c"]), "classes must hold exactly 2 labels, got 3"),
        (lambda m: m.update(classes=["no", 1]), r"classes \['no', 1\] do not fit classes_dtype '<U3'"),
        (lambda m: m.update(classes_dtype="<U2"), r"classes \['no', 'yes'\] do not fit classes_dtype '<U2'"),
        (lambda m: m.update(classes_dtype="<M8[s]"), "classes_dtype must name a bool, integer, float, str or obj"),
        (lambda m: m.update(classes_dtype="not a dtype"), "classes_dtype must name a bool, integer"),
        (lambda m: m.update(feature_names_in=["a", "b"]), "feature_names_in must be None or n_features_in=3 str"),
        (lambda m: m["params"].update(n_groups=0), "n_groups must be an integer >= 1"),
        (lambda m: m["params"].update(dtype="float16"), "file: model state is inconsistent: dtype must be 'float32' or 'float64'"),
        (lambda m: m["params"].update(lamda=1.0), r"params of DAFHClassifier has unknown \['lamda'\]"),
        (lambda m: m["params"].update(seed=0), r"has unknown \['seed'\]"),
        (lambda m: m.pop("layer_sizes"), "incomplete or malformed: KeyError"),
    ],
)
def test_inconsistent_meta_is_refused(tmp_path, fitted, change, message):
    path = tmp_path / "m.ffm"
    fitted.save(path)
    rewrite_model_file(path, meta=change)
    with pytest.raises(ValueError, match=message):
        fairfast.load(path)


def test_unknown_and_missing_arrays_are_refused(fitted):
    meta, arrays = fitted._get_state()
    with pytest.raises(ValueError, match=r"arrays \['theta'\] are missing and \[\] unexpected"):
        DAFHClassifier._from_state(meta, {k: v for k, v in arrays.items() if k != "theta"})
    with pytest.raises(ValueError, match=r"arrays \[\] are missing and \['extra'\] unexpected"):
        DAFHClassifier._from_state(meta, dict(arrays, extra=np.zeros(2)))
    with pytest.raises(ValueError, match="history.val_fwh should be float64 of shape"):
        DAFHClassifier._from_state(meta, {**arrays, "history.val_fwh": arrays["history.val_fwh"].tolist()})


# -- pickling ---------------------------------------------------------------------------------


def test_pickle_round_trips_fitted_and_loaded_models(tmp_path, fitted):
    X = pd.DataFrame(_data(seed=7)[0], columns=["a", "b", "c"])
    loaded, _ = save_load(fitted, tmp_path)
    for again in (pickle.loads(pickle.dumps(fitted)), pickle.loads(pickle.dumps(loaded)), copy.deepcopy(loaded)):
        assert type(again) is DAFHClassifier
        _same_predictions(again, fitted, X)
        assert_same_state(fitted, again)
