"""The blockwise affine maps behind every steering transform: the compiled kernel.

Every output element is ``b[j]`` (or ``init[r, j]``) followed by one multiply-add per
input column in increasing order -- fused on the SIMD paths, and on the portable path
wherever the target has a fused multiply-add. These tests check that arithmetic exactly
(against an exact-rational replay of it), its batch invariance, its error bound against
a float64 reference, and the binding's re-checks.
"""

import math
from fractions import Fraction

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import fairfast
from fairfast._core import steering as kernels
from fairfast.steering._apply import AffineMaps, apply_blocks

ISAS = kernels.affine_isas()
FUSED = [isa for isa in ISAS if isa != "generic"]


def problem(seed, n, d, K, dtype, d_out=None):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, d)).astype(dtype)
    codes = rng.integers(0, K, n)
    linear = rng.standard_normal((K, d_out or d, d))
    offset = rng.standard_normal((K, d_out or d))
    identity = rng.random(K) < 0.3 if d_out is None else np.zeros(K, dtype=bool)
    return X, codes, linear, offset, identity


def reference(X, codes, linear, offset, identity, center=None):
    """float64 values of the maps as the kernel sees them (in X's dtype), and the error
    bound of any order of d_in roundings (two per term without a fused multiply-add)."""
    dt = X.dtype
    x = X.astype(np.float64)
    if center is not None:
        x = (X - center.astype(dt)[codes]).astype(np.float64)  # the centred row, rounded as the kernel does
    out = np.empty((X.shape[0], linear.shape[1]))
    scale = np.empty_like(out)
    for c in range(len(linear)):
        rows = codes == c
        A = linear[c].astype(dt).astype(np.float64)
        b = offset[c].astype(dt).astype(np.float64)
        out[rows] = x[rows] @ A.T + b
        scale[rows] = np.abs(x[rows]) @ np.abs(A).T + np.abs(b)
    u = np.finfo(dt).eps / 2
    bound = (2 * X.shape[1] + 2) * u * scale
    keep = identity[codes].astype(bool)
    if keep.any():
        out[keep] = X[keep]
        bound[keep] = 0.0
    return out, bound


def assert_within(out, ref, bound):
    err = np.abs(out.astype(np.float64) - ref)
    assert (err <= bound).all(), f"error {err.max()} above its bound (worst excess {(err - bound).max()})"


@settings(max_examples=40, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), n=st.integers(1, 400), d=st.integers(1, 40), K=st.integers(1, 7),
       dtype=st.sampled_from([np.float32, np.float64]), isa=st.sampled_from(ISAS))
def test_kernel_within_its_error_bound(seed, n, d, K, dtype, isa):
    X, codes, linear, offset, identity = problem(seed, n, d, K, dtype)
    out = AffineMaps(linear, offset, identity, isa=isa).apply(X, codes)
    assert out.dtype == X.dtype and out.shape == X.shape
    ref, bound = reference(X, codes, linear, offset, identity)
    assert_within(out, ref, bound)
    keep = identity[codes]
    np.testing.assert_array_equal(out[keep], X[keep])  # identity rows are copied bit for bit


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("d", [700, 1030, 1100, 2048])
def test_wide_maps_within_their_error_bound(d, dtype):
    X, codes, linear, offset, identity = problem(d, 29, d, 3, dtype)
    ref, bound = reference(X, codes, linear, offset, identity)
    assert_within(apply_blocks(X, codes, 3, linear, offset, identity), ref, bound)


def _round(q, dtype):
    """The float of ``dtype`` nearest the rational ``q``, ties to even (normal range)."""
    if dtype == np.float64 or q == 0:
        return float(q)  # int / int true division rounds correctly
    e = math.frexp(float(q))[1]  # then 2**(e-1) <= |q| < 2**e, checked exactly
    while abs(q) >= Fraction(2) ** e:
        e += 1
    while abs(q) < Fraction(2) ** (e - 1):
        e -= 1
    ulp = Fraction(2) ** (e - 24)
    m = q / ulp
    r = math.floor(m)
    if m - r > Fraction(1, 2) or (m - r == Fraction(1, 2) and r % 2 == 1):
        r += 1
    return float(r * ulp)


def fused_chain(x, A, b, dtype):
    """``acc = b[j]; acc = fma(x[k], A[j, k], acc)`` for k in order, each step rounded once."""
    out = np.empty(A.shape[0])
    for j in range(A.shape[0]):
        acc = Fraction(float(b[j]))
        for k in range(A.shape[1]):
            acc = Fraction(_round(Fraction(float(x[k])) * Fraction(float(A[j, k])) + acc, dtype))
        out[j] = float(acc)
    return out.astype(dtype)


@pytest.mark.skipif(not FUSED, reason="no fused multiply-add path on this CPU")
@pytest.mark.parametrize("isa", FUSED)
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("d", [1, 7, 24])
def test_simd_paths_replay_the_fused_chain_exactly(isa, dtype, d):
    X, codes, linear, offset, _ = problem(d + 1, 8, d, 2, dtype)
    identity = np.zeros(2, dtype=bool)
    out = AffineMaps(linear, offset, identity, isa=isa).apply(X, codes)
    A, b = linear.astype(dtype), offset.astype(dtype)
    expected = np.stack([fused_chain(X[r], A[codes[r]], b[codes[r]], dtype) for r in range(X.shape[0])])
    assert out.tobytes() == expected.tobytes()


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_every_fused_path_gives_the_same_bits(dtype):
    if len(FUSED) < 2:
        pytest.skip("one fused path on this CPU")
    X, codes, linear, offset, identity = problem(5, 300, 77, 3, dtype)
    outs = [AffineMaps(linear, offset, identity, isa=isa).apply(X, codes) for isa in FUSED]
    for other in outs[1:]:
        assert other.tobytes() == outs[0].tobytes()


def _batches(rng, n):
    """Random consecutive batches of rows, many of one row."""
    cuts, lo = [], 0
    while lo < n:
        lo += int(rng.choice([1, 1, 2, 3, 5, 8, 13]))
        cuts.append(min(lo, n))
    return np.split(np.arange(n), cuts[:-1])


@pytest.mark.parametrize("isa", ISAS)
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("d, d_out", [(1, None), (3, None), (8, None), (64, None), (100, None), (700, None),
                                      (1030, None), (1100, None), (2048, None), (300, 2), (2, 300)])
def test_rows_never_depend_on_their_batch(isa, dtype, d, d_out):
    n = 40 if d < 700 else 14
    X, codes, linear, offset, identity = problem(d, n, d, 4, dtype, d_out)
    center = np.random.default_rng(1).standard_normal((4, d)) if d_out else None
    maps = AffineMaps(linear, offset, identity, center=center, isa=isa)
    with fairfast.thread_limit(1):
        full = maps.apply(X, codes)
    rng = np.random.default_rng(d)
    for threads in (1, 2, 3):
        with fairfast.thread_limit(threads):
            parts = [maps.apply(X[b], codes[b]) for b in _batches(rng, n)]
            assert np.concatenate(parts).tobytes() == full.tobytes()
            perm = rng.permutation(n)  # order and company do not matter either
            assert maps.apply(X[perm], codes[perm]).tobytes() == full[perm].tobytes()
            times = 40 if d < 700 else 10  # many rows: several chunks and threads
            big = maps.apply(np.repeat(X, times, axis=0), np.repeat(codes, times))
            assert big.tobytes() == np.repeat(full, times, axis=0).tobytes()


def test_center_and_init():
    X, codes, linear, offset, identity = problem(7, 200, 30, 3, np.float64, d_out=5)
    center = np.random.default_rng(0).standard_normal((3, 30))
    maps = AffineMaps(linear, offset, identity, center=center)
    ref, bound = reference(X, codes, linear, offset, identity, center)
    assert_within(maps.apply(X, codes), ref, bound)
    init = np.random.default_rng(1).standard_normal((200, 5))
    got = maps.apply(X, codes, init=init)
    assert_within(got, ref - offset[codes] + init, bound + (2 * 30 + 2) * 2.0**-53 * np.abs(init))
    inplace = init.copy()
    assert maps.apply(X, codes, out=inplace, init=inplace) is inplace  # init may be out itself
    assert inplace.tobytes() == got.tobytes()


def test_offset_only_and_copy_codes():
    X, codes, _, offset, _ = problem(8, 500, 6, 3, np.float32)
    identity = np.array([False, True, False])
    out = AffineMaps(None, offset, identity).apply(X, codes)
    expected = X + offset.astype(np.float32)[codes]
    expected[identity[codes]] = X[identity[codes]]
    assert out.tobytes() == expected.tobytes()


def test_views_of_one_matrix_are_packed_once():
    A = np.random.default_rng(0).standard_normal((50, 50))
    shared = np.broadcast_to(A, (6, 50, 50))
    maps = AffineMaps(shared, np.zeros((6, 50)))
    distinct = AffineMaps(np.stack([A] * 6), np.zeros((6, 50)))
    assert maps.packed(np.float64).nbytes < distinct.packed(np.float64).nbytes / 4


def test_thread_count_does_not_change_the_result():
    X, codes, linear, offset, identity = problem(2, 200_000, 8, 5, np.float64)
    with fairfast.thread_limit(1):
        one = apply_blocks(X, codes, 5, linear, offset, identity)
    with fairfast.thread_limit(2):
        two = apply_blocks(X, codes, 5, linear, offset, identity)
    assert one.tobytes() == two.tobytes()


@pytest.mark.parametrize("kind", ["affine", "copy", "offset"])
@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_non_finite_rows_are_refused_with_their_position(kind, bad):
    X, codes, linear, offset, identity = problem(3, 100, 3, 2, np.float64)
    identity[:] = kind == "copy"  # even rows that are only copied are checked
    X[40, 2] = bad
    maps = AffineMaps(None if kind == "offset" else linear, offset, identity)
    with pytest.raises(ValueError, match=r"X must be finite; found .* at position 122"):
        maps.apply(X, codes)


def test_steering_transform_refuses_nan():
    from fairfast.steering import LEACE, GaussianSteering, MeanMatching

    rng = np.random.default_rng(0)
    X = rng.standard_normal((400, 3))
    a = rng.integers(0, 2, 400)
    y = rng.integers(0, 2, 400)
    Xbad = X.copy()
    Xbad[7, 1] = np.nan
    st_ = GaussianSteering().fit(X, y, sensitive_features=a)
    for call in (lambda: st_.transform(Xbad, y, sensitive_features=a),
                 lambda: st_.transform(Xbad, sensitive_features=a),
                 lambda: st_.set_params(unlabeled="soft").transform(Xbad, sensitive_features=a),
                 lambda: LEACE().fit(X, sensitive_features=a).transform(Xbad),
                 lambda: MeanMatching().fit(X, sensitive_features=a).transform(Xbad, sensitive_features=a)):
        with pytest.raises(ValueError, match="X must be finite"):
            call()


class TestBindingRechecks:
    """Direct calls of the compiled functions raise on bad input instead of crashing."""

    def maps(self, dtype=np.float64, **kw):
        args = dict(matrices=[np.eye(4)], map_index=np.array([0, -1, -2], dtype=np.int64),
                    offset=np.zeros((3, 4), dtype=dtype), center=None, d_in=4, d_out=4,
                    dtype=np.dtype(dtype).name)
        args.update(kw)
        return kernels.pack_affine_maps(**args)

    def test_packing(self):
        with pytest.raises(ValueError, match="map_index entries"):
            self.maps(map_index=np.array([1], dtype=np.int64), offset=None)
        with pytest.raises(ValueError, match="map_index entries"):
            self.maps(map_index=np.array([-3], dtype=np.int64), offset=None)
        with pytest.raises(ValueError, match="shape"):
            self.maps(matrices=[np.eye(3)])
        with pytest.raises(TypeError, match="float32 or float64"):
            self.maps(matrices=[np.eye(4, dtype=int)])
        with pytest.raises(ValueError, match="offset must have shape"):
            self.maps(offset=np.zeros((2, 4)))
        with pytest.raises(TypeError, match="offset must be a C-contiguous float32"):
            self.maps(offset=np.zeros((3, 4)), dtype="float32")
        with pytest.raises(ValueError, match="d_in == d_out"):
            self.maps(matrices=[np.ones((4, 2))], d_in=2)
        with pytest.raises(ValueError, match="dtype must be"):
            self.maps(dtype="float16")
        with pytest.raises(ValueError, match="isa must be"):
            self.maps(isa="sse")
        assert self.maps(isa="generic").isa == "generic"

    def test_apply(self):
        maps = self.maps()
        X = np.ones((5, 4))
        codes = np.array([0, 1, 2, 0, 1], dtype=np.int64)
        out = np.empty((5, 4))
        maps.apply(X, codes, out)
        with pytest.raises(IndexError, match="codes"):
            maps.apply(X, np.array([0, 1, 3, 0, 1], dtype=np.int64), out)
        with pytest.raises(IndexError, match="codes"):
            maps.apply(X, np.array([0, -1, 0, 0, 1], dtype=np.int64), out)
        with pytest.raises(ValueError, match="codes must be one-dimensional"):
            maps.apply(X, codes[:4], out)
        with pytest.raises(TypeError, match="codes must be a C-contiguous int64"):
            maps.apply(X, codes.astype(np.int32), out)
        with pytest.raises(ValueError, match="codes is required"):
            maps.apply(X, None, out)
        with pytest.raises(ValueError, match="out must have shape"):
            maps.apply(X, codes, out[:4])
        with pytest.raises(ValueError, match="X must be two-dimensional"):
            maps.apply(np.ones((5, 3)), codes, out)
        with pytest.raises(ValueError, match="out must not overlap X"):
            maps.apply(X, codes, X)
        with pytest.raises(TypeError):
            maps.apply(X.astype(np.float32), codes, out)  # exact dtype, no silent copy
        with pytest.raises(TypeError):
            maps.apply(np.asfortranarray(np.ones((5, 4))), codes, out)
        with pytest.raises(ValueError, match="init needs every code to be an affine map"):
            maps.apply(X, codes, out, np.zeros((5, 4)))
        one = self.maps(map_index=np.array([0], dtype=np.int64), offset=None)
        with pytest.raises(ValueError, match="init must be out itself or not overlap it"):
            big = np.zeros((6, 4))
            one.apply(X, None, big[:5], big[1:])
        with pytest.raises(ValueError, match="init must have shape"):
            one.apply(X, None, out, np.zeros((4, 4)))

    def test_sum_squares_by_row(self):
        R = np.random.default_rng(0).standard_normal((50, 9))
        out = np.empty(50)
        kernels.sum_squares_by_row(R, out)
        np.testing.assert_allclose(out, (R * R).sum(axis=1), rtol=1e-14)
        one = np.empty(1)
        kernels.sum_squares_by_row(R[3:4], one)
        assert one[0] == out[3]
        with pytest.raises(ValueError, match="out must be one-dimensional"):
            kernels.sum_squares_by_row(R, np.empty(49))
