"""The blockwise affine maps behind every steering transform: compiled kernel and wide path."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.linalg import cython_blas

import fairfast
from fairfast._core import steering as kernels
from fairfast.steering import _apply
from fairfast.steering._apply import apply_blocks


def reference(X, codes, linear, offset, identity):
    out = np.einsum("rij,rj->ri", linear[codes].astype(np.float64), X.astype(np.float64)) + offset[codes]
    keep = identity[codes].astype(bool)
    out[keep] = X[keep]
    return out


def problem(seed, n, d, K, dtype):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, d)).astype(dtype)
    codes = rng.integers(0, K, n)
    linear = rng.standard_normal((K, d, d))
    offset = rng.standard_normal((K, d))
    identity = rng.random(K) < 0.3
    return X, codes, linear, offset, identity


@settings(max_examples=40, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), n=st.integers(1, 3000), d=st.integers(1, 40), K=st.integers(1, 7),
       dtype=st.sampled_from([np.float32, np.float64]))
def test_kernel_matches_reference(seed, n, d, K, dtype):
    X, codes, linear, offset, identity = problem(seed, n, d, K, dtype)
    out = apply_blocks(X, codes, K, linear, offset, identity)
    assert out.dtype == X.dtype and out.shape == X.shape
    ref = reference(X, codes, linear.astype(dtype), offset.astype(dtype), identity)
    tol = 1e-4 if dtype == np.float32 else 1e-12
    np.testing.assert_allclose(out, ref, rtol=tol, atol=tol * np.sqrt(d) * 10)
    # identity rows are copied bit for bit
    keep = identity[codes]
    np.testing.assert_array_equal(out[keep], X[keep])


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_wide_path_agrees_with_kernel(monkeypatch, dtype):
    X, codes, linear, offset, identity = problem(1, 5000, 24, 4, dtype)
    fast = apply_blocks(X, codes, 4, linear, offset, identity)
    monkeypatch.setattr(_apply, "KERNEL_MAX_FEATURES", 0)
    wide = apply_blocks(X, codes, 4, linear, offset, identity)
    tol = 1e-5 if dtype == np.float32 else 1e-13
    np.testing.assert_allclose(fast, wide, rtol=tol, atol=tol)


def test_thread_count_does_not_change_the_result():
    X, codes, linear, offset, identity = problem(2, 200_000, 8, 5, np.float64)
    with fairfast.thread_limit(1):
        one = apply_blocks(X, codes, 5, linear, offset, identity)
    with fairfast.thread_limit(2):
        two = apply_blocks(X, codes, 5, linear, offset, identity)
    np.testing.assert_array_equal(one, two)


@pytest.mark.parametrize("wide", [False, True])
@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_non_finite_rows_are_refused_with_their_position(monkeypatch, wide, bad):
    if wide:
        monkeypatch.setattr(_apply, "KERNEL_MAX_FEATURES", 0)
    X, codes, linear, offset, identity = problem(3, 100, 3, 2, np.float64)
    identity[:] = True  # even rows that are only copied are checked
    X[40, 2] = bad
    with pytest.raises(ValueError, match=r"X must be finite; found .* at position 122"):
        apply_blocks(X, codes, 2, linear, offset, identity)


def test_steering_transform_refuses_nan():
    from fairfast.steering import GaussianSteering, MeanMatching

    rng = np.random.default_rng(0)
    X = rng.standard_normal((400, 3))
    a = rng.integers(0, 2, 400)
    y = rng.integers(0, 2, 400)
    Xbad = X.copy()
    Xbad[7, 1] = np.nan
    st_ = GaussianSteering().fit(X, y, sensitive_features=a)
    for call in (lambda: st_.transform(Xbad, y, sensitive_features=a),
                 lambda: st_.transform(Xbad, sensitive_features=a),
                 lambda: MeanMatching().fit(X, sensitive_features=a).transform(Xbad, sensitive_features=a)):
        with pytest.raises(ValueError, match="X must be finite"):
            call()


class TestBindingRechecks:
    """Direct calls of the compiled function raise on bad input instead of crashing."""

    def args(self, dtype=np.float64):
        X, codes, linear, offset, identity = problem(4, 50, 4, 3, dtype)
        return dict(X=X, codes=codes.astype(np.int64), linear=linear.astype(dtype), offset=offset.astype(dtype),
                    identity=identity.astype(np.uint8), out=np.empty_like(X),
                    gemm=cython_blas.__pyx_capi__["dgemm" if dtype == np.float64 else "sgemm"])

    def call(self, **kw):
        a = self.args()
        a.update(kw)
        kernels.apply_affine_blocks(a["X"], a["codes"], a["linear"], a["offset"], a["identity"], a["out"], a["gemm"])

    def test_code_out_of_range(self):
        codes = self.args()["codes"]
        codes[10] = 3
        with pytest.raises(IndexError, match="codes"):
            self.call(codes=codes)
        codes[10] = -1
        with pytest.raises(IndexError, match="codes"):
            self.call(codes=codes)

    def test_shapes(self):
        a = self.args()
        with pytest.raises(ValueError, match="codes"):
            self.call(codes=a["codes"][:-1])
        with pytest.raises(ValueError, match="linear"):
            self.call(linear=a["linear"][:, :3])
        with pytest.raises(ValueError, match="offset"):
            self.call(offset=a["offset"][:2])
        with pytest.raises(ValueError, match="identity"):
            self.call(identity=a["identity"][:2])
        with pytest.raises(ValueError, match="out"):
            self.call(out=a["out"][:-1])

    def test_gemm_of_the_wrong_type(self):
        with pytest.raises(TypeError, match="dgemm"):
            self.call(gemm=cython_blas.__pyx_capi__["sgemm"])
        with pytest.raises(TypeError, match="capsule"):
            self.call(gemm=print)
        with pytest.raises(TypeError, match="dgemm"):
            self.call(gemm=cython_blas.__pyx_capi__["ddot"])

    def test_float32(self):
        a = self.args(np.float32)
        kernels.apply_affine_blocks(a["X"], a["codes"], a["linear"], a["offset"], a["identity"], a["out"], a["gemm"])
        ref = reference(a["X"], a["codes"], a["linear"], a["offset"], a["identity"])
        np.testing.assert_allclose(a["out"], ref, rtol=1e-4, atol=1e-4)


def test_unrecognised_gemm_capsule_falls_back_to_the_wide_path(monkeypatch):
    X, codes, linear, offset, identity = problem(6, 3000, 5, 3, np.float64)
    expected = apply_blocks(X, codes, 3, linear, offset, identity)
    blas = _apply._blas_context()
    wrong = {dt: cython_blas.__pyx_capi__["ddot"] for dt in blas["gemm"]}  # not a gemm
    monkeypatch.setitem(_apply._BLAS, "gemm", wrong)
    monkeypatch.setitem(_apply._BLAS, "usable", True)
    got = apply_blocks(X, codes, 3, linear, offset, identity)
    np.testing.assert_allclose(got, expected, rtol=1e-13, atol=1e-13)
    assert _apply._BLAS["usable"] is False
