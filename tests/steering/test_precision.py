"""float32 linear algebra for float32 input (covariance="shared"), and its float64 fallback."""

import numpy as np
import pytest

from fairfast.steering import GaussianSteering
from fairfast.steering._gaussian import SINGLE_RCOND, _rcond, cholesky
from model_file_checks import assert_same_state, save_load


def _data(n=20_000, d=40, seed=0, scales=(0.5, 2.0)):
    rng = np.random.default_rng(seed)
    a, y = rng.integers(0, 2, n), rng.integers(0, 3, n)
    X = rng.standard_normal((n, d)) * rng.uniform(*scales, (2, d))[a] + rng.normal(size=(2, 3, d))[a, y]
    return X, y, a


@pytest.mark.parametrize("coupling", ["whitened", "ot"])
@pytest.mark.parametrize("reference", [0, "auto"])
def test_float32_fit_agrees_with_float64(coupling, reference):
    X, y, a = _data()
    kw = dict(covariance="shared", coupling=coupling, reference=reference)
    f64 = GaussianSteering(**kw).fit(X, y, sensitive_features=a)
    f32 = GaussianSteering(**kw).fit(X.astype(np.float32), y, sensitive_features=a)
    assert f32.linear_.dtype == f32.covariances_.dtype == f32.target_covariances_.dtype == np.float32
    assert f64.linear_.dtype == np.float64 and f32.offset_.dtype == f32.means_.dtype == np.float64
    assert f32.reference_ == f64.reference_
    assert f32.kl_ == pytest.approx(f64.kl_, rel=1e-4)
    np.testing.assert_allclose(f32.target_means_, f64.target_means_, rtol=1e-4, atol=1e-4)
    scale = np.abs(f64.linear_).max()
    np.testing.assert_allclose(f32.linear_, f64.linear_, atol=2e-4 * scale)
    out32 = f32.transform(X.astype(np.float32), y, sensitive_features=a)
    out64 = f64.transform(X, y, sensitive_features=a)
    assert out32.dtype == np.float32
    np.testing.assert_allclose(out32, out64, atol=1e-3 * np.abs(out64).max())


def test_ill_conditioned_covariance_falls_back_to_float64():
    rng = np.random.default_rng(1)
    B = rng.normal(size=(30, 30))
    good = B @ B.T + 30 * np.eye(30)
    assert cholesky(good, single=True).dtype == np.float32
    bad = good + 1e6 * np.outer(B[0], B[0])  # condition number ~1e6
    L = cholesky(bad, single=True)
    assert L.dtype == np.float64
    assert _rcond(bad, L) < SINGLE_RCOND
    np.testing.assert_allclose(L @ L.T, bad, rtol=1e-12, atol=1e-8)
    with pytest.raises(ValueError, match="must be positive definite"):
        cholesky(-good, "the thing", single=True)


def test_float32_state_round_trips_and_mixed_dtypes_are_refused(tmp_path):
    X, y, a = _data(n=3000, d=5)
    model = GaussianSteering(covariance="shared", coupling="whitened").fit(X.astype(np.float32), y,
                                                                          sensitive_features=a)
    back, _ = save_load(model, tmp_path)
    assert back.linear_.dtype == np.float32
    assert_same_state(model, back)
    Xf = X.astype(np.float32)
    for yy in (y, None):
        one = model.transform(Xf, yy, sensitive_features=a)
        two = back.transform(Xf, yy, sensitive_features=a)
        assert one.tobytes() == two.tobytes()
    meta, arrays = model._get_state()
    with pytest.raises(ValueError, match="must all be float64 or all float32"):
        GaussianSteering._from_state(meta, dict(arrays, linear=arrays["linear"].astype(np.float64)))
    meta["params"]["covariance"] = "full"
    arrays["pooled"] = np.zeros_like(arrays["pooled"])
    with pytest.raises(ValueError, match="float32 maps come only from covariance='shared'"):
        GaussianSteering._from_state(meta, arrays)


def test_shared_fit_stores_one_matrix_per_group():
    X, y, a = _data(n=3000, d=6)
    st = GaussianSteering(covariance="shared", coupling="whitened").fit(X, y, sensitive_features=a)
    for arr in (st.covariances_, st.target_covariances_, st.linear_):
        assert arr.shape == (2, 3, 6, 6) and arr.strides[1] == 0  # a view repeating the group's matrix
    np.testing.assert_array_equal(st.linear_[st.identity_[:, 0]][0, 0], np.eye(6))
