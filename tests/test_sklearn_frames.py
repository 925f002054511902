"""DataFrames in and out (set_output, feature names) and the scikit-learn API of every estimator."""

import pickle

import numpy as np
import pandas as pd
import pytest
import sklearn
from sklearn.base import clone
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from fairfast.dafh import DAFHClassifier, PooledClassifier, TrivialPartitionClassifier
from fairfast.postprocessing import GroupThresholds, WassersteinBarycenter
from fairfast.steering import LEACE, GaussianSteering, MeanCovarianceMatching, MeanMatching

pl = pytest.importorskip("polars")

RNG = np.random.default_rng(0)
N = 400
GROUPS = RNG.integers(0, 2, N)
LABELS = RNG.integers(0, 2, N)
FEATURES = RNG.normal(size=(N, 3)) + np.outer(GROUPS + LABELS, [1.0, 0.5, 0.25])
INDEX = pd.Index([f"row{i}" for i in range(N)], name="id")
NAMES = ["f0", "f1", "f2"]

TRANSFORMERS = {
    "barycenter": lambda: WassersteinBarycenter(random_state=0),
    "steering": GaussianSteering,
    "mean_matching": MeanMatching,
    "mimic": MeanCovarianceMatching,
    "leace": LEACE,
}


def _frame(kind, values=FEATURES, names=NAMES):
    if kind == "pandas":
        return pd.DataFrame(values, columns=names, index=INDEX)
    return pl.DataFrame(values, schema=names, orient="row")


def _fit(est, X):
    return est.fit(X, LABELS, sensitive_features=GROUPS)


@pytest.mark.parametrize("name", sorted(TRANSFORMERS))
@pytest.mark.parametrize("container", ["pandas", "polars"])
@pytest.mark.parametrize("how", ["set_output", "config_context"])
def test_transformers_keep_index_and_column_names(name, container, how):
    X = _frame(container)
    plain = _fit(TRANSFORMERS[name](), FEATURES).transform(FEATURES, sensitive_features=GROUPS)
    est = TRANSFORMERS[name]()
    if how == "set_output":
        est.set_output(transform=container)
        context = sklearn.config_context()
    else:
        context = sklearn.config_context(transform_output=container)
    with context:
        out = _fit(est, X).transform(X, sensitive_features=GROUPS)
        fitted_out = est.fit_transform(X, LABELS, sensitive_features=GROUPS)
    for result in (out, fitted_out):
        assert type(result) is type(X)
        assert list(result.columns) == NAMES
        if container == "pandas":
            assert result.index.equals(INDEX)
    np.testing.assert_allclose(np.asarray(out), plain, rtol=1e-12)
    assert list(est.feature_names_in_) == NAMES
    assert list(est.get_feature_names_out()) == NAMES


@pytest.mark.parametrize("container", ["pandas", "polars"])
def test_barycenter_keeps_a_score_series(container):
    z = FEATURES[:, 0]
    scores = pd.Series(z, index=INDEX, name="score") if container == "pandas" else pl.Series("score", z)
    fair = WassersteinBarycenter(random_state=0).set_output(transform=container)
    out = fair.fit(scores, sensitive_features=GROUPS).transform(scores, sensitive_features=GROUPS)
    assert type(out) is type(scores) and out.name == "score"
    if container == "pandas":
        assert out.index.equals(INDEX)
    np.testing.assert_array_equal(np.asarray(out), WassersteinBarycenter(random_state=0).fit(
        z, sensitive_features=GROUPS).transform(z, sensitive_features=GROUPS))
    unnamed = fair.transform(z, sensitive_features=GROUPS)  # a 1-D array: the model's column name
    assert unnamed.name == "x0"
    buffer = np.empty(N)
    assert fair.transform(z, sensitive_features=GROUPS, out=buffer) is buffer  # out= stays an array


def test_unnamed_input_gets_x_names_and_a_default_index():
    est = MeanMatching().set_output(transform="pandas")
    out = est.fit(FEATURES, sensitive_features=GROUPS).transform(FEATURES, sensitive_features=GROUPS)
    assert list(out.columns) == ["x0", "x1", "x2"] and isinstance(out.index, pd.RangeIndex)
    assert not hasattr(est, "feature_names_in_")
    assert list(est.get_feature_names_out(["a", "b", "c"])) == ["a", "b", "c"]
    with pytest.raises(ValueError, match="input_features"):
        est.get_feature_names_out(["a", "b"])


def test_pipeline_set_output_reaches_fairfast_steps():
    X = _frame("pandas")
    with sklearn.config_context(enable_metadata_routing=True):
        pipe = make_pipeline(StandardScaler(), MeanMatching()).set_output(transform="pandas")
        out = pipe.fit(X, sensitive_features=GROUPS).transform(X, sensitive_features=GROUPS)
    assert list(out.columns) == NAMES and out.index.equals(INDEX)


def _classifiers():
    X = _frame("pandas")
    scores = pd.Series(FEATURES[:, 0] / 4 + 0.5, index=INDEX, name="score").clip(0, 1)
    return {
        "thresholds_on_scores": (GroupThresholds(random_state=0), scores, {"sensitive_features": GROUPS}),
        "thresholds_with_model": (GroupThresholds(LogisticRegression(), random_state=0), X,
                                  {"sensitive_features": GROUPS}),
        "dafh": (DAFHClassifier(n_groups=2, max_epochs=3, random_state=0), X, {}),
        "pooled": (PooledClassifier(), X, {}),
        "trivial": (TrivialPartitionClassifier(), X, {"sensitive_features": GROUPS}),
    }


@pytest.mark.parametrize("name", sorted(_classifiers()))
@pytest.mark.parametrize("container", ["pandas", "polars"])
def test_predictions_keep_the_index_when_asked(name, container):
    est, X, kw = _classifiers()[name]
    est.fit(X, LABELS, **kw)
    plain = est.predict(X, **kw), est.predict_proba(X, **kw)
    assert isinstance(plain[0], np.ndarray) and isinstance(plain[1], np.ndarray)
    est.set_output(predict=container)
    pred, proba = est.predict(X, **kw), est.predict_proba(X, **kw)
    series, frame = (pd.Series, pd.DataFrame) if container == "pandas" else (pl.Series, pl.DataFrame)
    assert isinstance(pred, series) and pred.name == "prediction"
    assert isinstance(proba, frame) and list(proba.columns) == ["0", "1"]
    if container == "pandas":
        assert pred.index.equals(INDEX) and proba.index.equals(INDEX)
    np.testing.assert_array_equal(np.asarray(pred), plain[0])
    np.testing.assert_array_equal(np.asarray(proba), plain[1])
    if hasattr(est, "decision_function"):
        assert est.decision_function(X, **kw).name == "decision"


def test_string_labels_are_the_predicted_classes():
    y = np.where(LABELS == 1, "yes", "no")
    est = GroupThresholds(LogisticRegression(), random_state=0).fit(FEATURES, y, sensitive_features=GROUPS)
    assert list(est.classes_) == ["no", "yes"]
    assert set(est.predict(FEATURES, sensitive_features=GROUPS)) <= {"no", "yes"}
    assert 0.5 < est.score(FEATURES, y, sensitive_features=GROUPS) <= 1.0


def test_set_output_arguments():
    with pytest.raises(ValueError, match="transform must be one of 'default', 'pandas', 'polars'"):
        MeanMatching().set_output(transform="numpy")
    with pytest.raises(ValueError, match="MeanMatching has no predict output to configure"):
        MeanMatching().set_output(predict="pandas")
    with pytest.raises(ValueError, match="GroupThresholds has no transform output to configure"):
        GroupThresholds().set_output(transform="pandas")
    est = MeanMatching().set_output(transform="polars")
    assert est.set_output() is est and est._sklearn_output_config == {"transform": "polars"}
    assert clone(est)._sklearn_output_config == {"transform": "polars"}
    assert pickle.loads(pickle.dumps(est))._sklearn_output_config == {"transform": "polars"}


def test_feature_names_are_checked_like_scikit_learn():
    X = _frame("pandas")
    est = GaussianSteering().fit(X, LABELS, sensitive_features=GROUPS)
    with pytest.raises(ValueError, match="The feature names should match those that were passed during fit"):
        est.transform(X[["f1", "f0", "f2"]], sensitive_features=GROUPS)
    with pytest.warns(UserWarning, match="X does not have valid feature names"):
        est.transform(FEATURES, sensitive_features=GROUPS)
    unnamed = GaussianSteering().fit(FEATURES, LABELS, sensitive_features=GROUPS)
    with pytest.raises(ValueError, match="X has 2 features, but GaussianSteering is expecting 3 features as input"):
        unnamed.transform(FEATURES[:, :2], sensitive_features=GROUPS)


@pytest.mark.parametrize("name", sorted(TRANSFORMERS))
def test_model_files_keep_feature_names(name, tmp_path):
    import fairfast

    est = _fit(TRANSFORMERS[name](), _frame("pandas"))
    est.save(tmp_path / "model.ffm")
    back = fairfast.load(tmp_path / "model.ffm")
    assert list(back.feature_names_in_) == NAMES
    meta, arrays = est._get_state()
    assert meta["feature_names_in"] == NAMES
    older = type(est)._from_state({k: v for k, v in meta.items() if k != "feature_names_in"}, dict(arrays))
    assert not hasattr(older, "feature_names_in_")  # files written before names were saved
    with pytest.raises(ValueError, match="model state is inconsistent: feature_names_in"):
        type(est)._from_state({**meta, "feature_names_in": ["a"]}, dict(arrays))


def test_thresholds_model_files_keep_their_labels(tmp_path):
    import fairfast

    scores = FEATURES[:, 0] / 4 + 0.5
    y = np.where(LABELS == 1, "yes", "no")
    est = GroupThresholds(random_state=0).fit(np.clip(scores, 0, 1), y, sensitive_features=GROUPS)
    est.save(tmp_path / "rule.ffm")
    back = fairfast.load(tmp_path / "rule.ffm")
    assert list(back.classes_) == ["no", "yes"]
    np.testing.assert_array_equal(back.predict(scores, sensitive_features=GROUPS),
                                  est.predict(scores, sensitive_features=GROUPS))
    meta, arrays = est._get_state()
    with pytest.raises(ValueError, match="classes must be two sorted labels"):
        GroupThresholds._from_state({**meta, "classes": ["yes", "no"]}, dict(arrays))


# -- targeted API tests for every estimator (the checks run most of them on their own data) --

ALL = {
    "barycenter": (lambda: WassersteinBarycenter(random_state=0), "epsilon", 0.5),
    "thresholds_on_scores": (lambda: GroupThresholds(random_state=0), "tolerance", 0.1),
    "thresholds_with_model": (lambda: GroupThresholds(LogisticRegression(), random_state=0), "estimator__C", 0.5),
    "steering": (GaussianSteering, "shrinkage", None),
    "mean_matching": (MeanMatching, "reference", 1),
    "mimic": (MeanCovarianceMatching, "shrinkage", None),
    "leace": (LEACE, "svd_tol", 0.1),
    "dafh": (lambda: DAFHClassifier(n_groups=2, max_epochs=3, random_state=0), "lam", 0.5),
    "trivial": (TrivialPartitionClassifier, "C", 0.5),
}


def _data(name, frame=False):
    if name == "thresholds_on_scores":
        z = np.clip(FEATURES[:, 0] / 4 + 0.5, 0, 1)
        return (pd.DataFrame({"score": z}, index=INDEX) if frame else z), 1
    return (_frame("pandas") if frame else FEATURES), 3


def _output(est, X):
    kw = {} if isinstance(est, DAFHClassifier) else {"sensitive_features": GROUPS}
    return np.asarray(est.transform(X, **kw) if hasattr(est, "transform") else est.predict_proba(X, **kw))


@pytest.mark.parametrize("name", sorted(ALL))
def test_clone_params_pickle_and_feature_counts(name):
    make, param, value = ALL[name]
    est = make()
    params = est.get_params()
    assert clone(est).get_params().keys() == params.keys()
    est.set_params(**{param: value})
    assert est.get_params()[param] == value
    X, n_features = _data(name)
    kw = {} if isinstance(est, DAFHClassifier) else {"sensitive_features": GROUPS}
    est.fit(X, LABELS, **kw)
    assert est.n_features_in_ == n_features and not hasattr(est, "feature_names_in_")
    back = pickle.loads(pickle.dumps(est))
    np.testing.assert_array_equal(_output(back, X), _output(est, X))
    fresh = clone(est)
    assert not hasattr(fresh, "n_features_in_") and fresh.get_params()[param] == value
    named, _ = _data(name, frame=True)
    est.fit(named, LABELS, **kw)
    assert list(est.feature_names_in_) == list(named.columns)
    np.testing.assert_array_equal(_output(est, named), _output(clone(est).fit(named, LABELS, **kw), named))
