"""Every steering transform is batch invariant, and agrees with a float64 reference.

The serving contract (rows a:b served alone give exactly rows a:b of one call on all
rows) needs a row's output to depend only on its own values, its group (and label) and
the fitted model. For every estimator and deployment mode, in float32 and float64, the
transform of all rows must equal, bit for bit, the concatenation of the transforms of
random batches (many of one row), with 1, 2 and 3 threads; and it must agree with a
plain float64 computation within the rounding-error bound of its sums.

Widths 3 and 64 run every case; at 1100 (past the old BLAS switch at 1024, and past one
k-block of the kernel) the shared-covariance steering in every mode and mean matching run
by default; every case at 1100 and 2048 (full-covariance fits of a minute or more) runs
with ``-m slow``. The kernel itself is checked at those widths in test_apply_blocks.py.
"""

import numpy as np
import pytest
from scipy import linalg

import fairfast
from fairfast.steering import LEACE, GaussianSteering, MeanCovarianceMatching, MeanMatching, deployment_views

FAST = [1, 3, 64]
WIDE = (1100, 2048)
LIGHT_WIDE = ("gaussian-shared", "mean-matching")  # cheap fits: run by default at d = 1100
DTYPES = [np.float32, np.float64]
N_FIT, N = 48, 23


def _data(d, dtype, seed=0, n=N_FIT, positive=False):
    rng = np.random.default_rng(seed)
    a = np.arange(n) % 2
    y = (np.arange(n) // 2) % 2
    X = rng.standard_normal((n, d)) + 1.5 * y[:, None] + 0.5 * a[:, None]
    if positive:
        X = np.exp(X / 4)
    return X.astype(dtype), y, a


def _proba(n, seed=3):
    p = np.random.default_rng(seed).uniform(0.05, 1.0, (n, 2))
    return p / p.sum(axis=1, keepdims=True)


ESTIMATORS = {
    "gaussian": lambda: GaussianSteering(reference=0),
    "gaussian-shared": lambda: GaussianSteering(reference=0, covariance="shared", coupling="whitened"),
    "gaussian-lognormal": lambda: GaussianSteering(reference=0, family="lognormal", covariance="shared"),
    "mean-matching": lambda: MeanMatching(reference=0),
    "mimic": lambda: MeanCovarianceMatching(reference=0),
    "leace": lambda: LEACE(),
}
GAUSSIAN_MODES = ["labelled", "mixture", "soft", "soft-proba", "posterior"]
CASES = ([("gaussian", m) for m in GAUSSIAN_MODES] + [("gaussian-shared", m) for m in GAUSSIAN_MODES]
         + [("gaussian-lognormal", m) for m in ("labelled", "mixture", "soft")]
         + [(e, "transform") for e in ("mean-matching", "mimic", "leace")])


def _run(model, mode, X, y, a, proba):
    if mode == "labelled":
        return model.transform(X, y, sensitive_features=a)
    if mode in ("mixture", "soft"):
        return model.set_params(unlabeled=mode).transform(X, sensitive_features=a)
    if mode == "soft-proba":
        return model.soft_transform(X, proba, sensitive_features=a)
    if mode == "posterior":
        return model.class_posterior(X, sensitive_features=a)
    return model.transform(X, sensitive_features=a)


_MODELS = {}


def _fitted(name, d, dtype):
    key = (name, d, np.dtype(dtype).name)
    if key not in _MODELS:
        X, y, a = _data(d, dtype, positive=name == "gaussian-lognormal")
        est = ESTIMATORS[name]()
        _MODELS[key] = est.fit(X, y, sensitive_features=a) if name.startswith("gaussian") else est.fit(
            X, sensitive_features=a)
    return _MODELS[key]


def _batches(rng, n):
    cuts, lo = [], 0
    while lo < n:
        lo += int(rng.choice([1, 1, 1, 2, 3, 5, 8]))
        cuts.append(min(lo, n))
    return np.split(np.arange(n), cuts[:-1])


def _check_invariance(name, mode, d, dtype):
    model = _fitted(name, d, dtype)
    X, y, a = _data(d, dtype, seed=1, n=N, positive=name == "gaussian-lognormal")
    proba = _proba(N)
    with fairfast.thread_limit(1):
        full = _run(model, mode, X, y, a, proba)
    rng = np.random.default_rng(d)
    times = max(2, 100_000 // (d * N))  # enough rows for several chunks and threads
    for threads in (1, 2, 3):
        with fairfast.thread_limit(threads):
            parts = [_run(model, mode, X[b], y[b], a[b], proba[b]) for b in _batches(rng, N)]
            assert np.concatenate(parts).tobytes() == full.tobytes(), f"batches differ on {threads} thread(s)"
            perm = rng.permutation(N)
            assert _run(model, mode, X[perm], y[perm], a[perm], proba[perm]).tobytes() == full[perm].tobytes()
            rep = [np.repeat(v, times, axis=0) for v in (X, y, a, proba)]
            assert _run(model, mode, *rep).tobytes() == np.repeat(full, times, axis=0).tobytes()
    return model, X, y, a, proba, full


# ------------------------------------------------------------------ float64 references

_ROUNDED = {}


def _rounded(A, dtype):
    """(A rounded to ``dtype`` in float64, its absolute values), kept per matrix (wide maps
    are used by many rows)."""
    key = (A.__array_interface__["data"][0], A.shape, A.strides, A.dtype.str, np.dtype(dtype).str)
    if key not in _ROUNDED:
        if len(_ROUNDED) > 16:
            _ROUNDED.clear()
        R = A.astype(dtype).astype(np.float64)
        _ROUNDED[key] = (A, R, np.abs(R))  # A kept alive: its address stays its own
    return _ROUNDED[key][1:]


def _affine(Z, A, b, dtype):
    """(A x + b, its error bound) in float64, with A and b rounded to ``dtype`` as the kernel uses them."""
    A, abs_A = _rounded(A, dtype)
    b = b.astype(dtype).astype(np.float64)
    z = Z.astype(np.float64)
    u = np.finfo(dtype).eps / 2
    return A @ z + b, (2 * z.size + 2) * u * (abs_A @ np.abs(z) + np.abs(b))


def _posterior(model):
    """The Gaussian posterior of one row by triangular solves, in float64."""
    G, K = model.means_.shape[:2]
    cond = model.priors_ / model.priors_.sum(axis=1, keepdims=True)
    factors = [[linalg.cholesky(np.asarray(model.covariances_[g, i], dtype=np.float64), lower=True)
                for i in range(K)] for g in range(G)]

    def posterior(x, g):
        logp = np.empty(K)
        for i in range(K):
            L = factors[g][i]
            r = linalg.solve_triangular(L, x.astype(np.float64) - model.means_[g, i], lower=True)
            logp[i] = np.log(cond[g, i]) - 0.5 * np.sum(r * r) - np.log(np.diag(L)).sum()
        p = np.exp(logp - logp.max())
        return p / p.sum()

    return posterior


def _reference(name, mode, model, X, y, a, proba, dtype):
    """(reference, bound) row by row in float64."""
    u = np.finfo(dtype).eps / 2
    lognormal = name == "gaussian-lognormal"
    Z = np.log(X) if lognormal else X
    ref, bound = np.empty(X.shape), np.empty(X.shape)
    post = _posterior(model) if name.startswith("gaussian") else None
    for r in range(X.shape[0]):
        x, g = Z[r], a[r]
        if name == "mean-matching":
            ref[r] = x + model.offset_[g].astype(dtype)
            bound[r] = u * np.abs(ref[r])
        elif name == "mimic":
            ref[r], bound[r] = _affine(x, model.linear_[g], model.offset_[g], dtype)
        elif name == "leace":
            R, L, m = (v.astype(dtype).astype(np.float64) for v in (model.proj_right_, model.proj_left_, model.mean_))
            centred = (x - m.astype(dtype)).astype(np.float64)
            t = R @ centred
            t_bound = (2 * x.size + 2) * u * (np.abs(R) @ np.abs(centred))
            ref[r] = x - L @ t
            bound[r] = (2 * t.size + 2) * u * (np.abs(x) + np.abs(L) @ (np.abs(t) + t_bound)) + np.abs(L) @ t_bound
        elif mode == "labelled":
            ref[r], bound[r] = _affine(x, model.linear_[g, y[r]], model.offset_[g, y[r]], dtype)
        elif mode == "mixture":
            lin, off = model._derived_maps["mixture"]
            ref[r], bound[r] = _affine(x, lin[g], off[g], dtype)
        else:  # soft: the label-aware maps weighted by the posterior (or the given probabilities)
            p = proba[r] if mode == "soft-proba" else post(x, g)
            maps = [_affine(x, model.linear_[g, i], model.offset_[g, i], dtype) for i in range(len(p))]
            ref[r] = sum(pi * v for pi, (v, _) in zip(p, maps))
            bound[r] = sum(pi * e for pi, (_, e) in zip(p, maps)) + 1e-9 * sum(np.abs(v) for v, _ in maps)
            bound[r] += (2 * len(p) + 4) * u * np.abs(ref[r])
        if model.__dict__.get("identity_") is not None and np.ravel(model.identity_[g]).all():
            ref[r], bound[r] = x, 0.0
    if lognormal:
        ref, bound = np.exp(ref), np.exp(ref) * (np.expm1(bound) + 4 * u)
    return ref, bound


def _check_reference(name, mode, model, X, y, a, proba, full, dtype):
    if mode == "posterior":
        post, Z = _posterior(model), np.log(X) if name == "gaussian-lognormal" else X
        expected = np.stack([post(Z[r], a[r]) for r in range(X.shape[0])])
        np.testing.assert_allclose(full, expected, rtol=0, atol=1e-9)
        return
    ref, bound = _reference(name, mode, model, X, y, a, proba, dtype)
    err = np.abs(full.astype(np.float64) - ref)
    assert (err <= bound).all(), f"error {err.max()} above its bound (worst excess {(err - bound).max()})"


def _params():
    for name, mode in CASES:
        yield from ((name, mode, d) for d in FAST)
        for d in WIDE:
            light = d == 1100 and name in LIGHT_WIDE
            yield pytest.param(name, mode, d, marks=() if light else pytest.mark.slow)


@pytest.mark.parametrize("dtype", DTYPES, ids=["float32", "float64"])
@pytest.mark.parametrize("name, mode, d", list(_params()))
def test_transform_is_batch_invariant_and_matches_a_float64_reference(name, mode, d, dtype):
    model, X, y, a, proba, full = _check_invariance(name, mode, d, dtype)
    assert full.dtype == (np.float64 if mode == "posterior" else dtype)
    _check_reference(name, mode, model, X, y, a, proba, full, dtype)


@pytest.mark.parametrize("dtype", DTYPES, ids=["float32", "float64"])
def test_deployment_views_and_oracle_are_the_mode_transforms(dtype):
    model = _fitted("gaussian", 8, dtype)
    X, y, a = _data(8, dtype, seed=1, n=N)
    views = deployment_views(model, X, y, X, sensitive_train=a, sensitive_test=a, y_test=y)
    assert views["oracle"].test.tobytes() == model.transform(X, y, sensitive_features=a).tobytes()
    assert views["label_free"].test.tobytes() == _run(model, "mixture", X, y, a, None).tobytes()
    assert views["soft"].test.tobytes() == _run(model, "soft", X, y, a, None).tobytes()
    one = deployment_views(model, X, y, X[5:6], sensitive_train=a, sensitive_test=a[5:6], y_test=y[5:6])
    for mode in ("label_free", "soft", "oracle"):
        assert one[mode].test.tobytes() == views[mode].test[5:6].tobytes()


@pytest.mark.parametrize("name", ["gaussian", "leace"])
def test_served_batches_are_rows_of_one_call(name):
    model = _fitted(name, 100, np.float64)
    X, y, a = _data(100, np.float64, seed=2, n=N)
    sf = a if name != "leace" else None
    whole = model.serve(X, sensitive_features=sf)["features"]
    for lo, hi in ((0, 1), (1, 9), (9, 10), (10, N)):
        part = model.serve(X[lo:hi], sensitive_features=None if sf is None else sf[lo:hi], row_offset=lo)
        assert part["features"].tobytes() == whole[lo:hi].tobytes()


def test_packed_maps_are_not_pickled_and_follow_a_refit():
    import pickle

    model = _fitted("gaussian", 3, np.float64)
    X, y, a = _data(3, np.float64, seed=1, n=N)
    before = model.transform(X, y, sensitive_features=a)
    model.set_params(unlabeled="mixture").transform(X, sensitive_features=a)
    assert {"label_aware", "mixture", "mixture_packed"} <= set(model._derived_maps)
    back = pickle.loads(pickle.dumps(model))
    assert set(back._derived_maps) == {"mixture"}  # plain arrays; the packed maps are rebuilt
    assert back.transform(X, y, sensitive_features=a).tobytes() == before.tobytes()
    refit = pickle.loads(pickle.dumps(model))
    refit.transform(X, y, sensitive_features=a)
    X2, y2, a2 = _data(3, np.float64, seed=5)
    refit.fit(X2, y2, sensitive_features=a2)  # new maps: the packed ones must follow
    expected = GaussianSteering(reference=0).fit(X2, y2, sensitive_features=a2).transform(X, y, sensitive_features=a)
    assert refit.transform(X, y, sensitive_features=a).tobytes() == expected.tobytes()


@pytest.mark.parametrize("name", ["mean-matching", "mimic", "leace"])
def test_baselines_keep_packed_maps_out_of_pickles(name):
    import pickle

    model = _fitted(name, 3, np.float64)
    X, _, a = _data(3, np.float64, seed=1, n=N)
    before = model.transform(X, sensitive_features=a)
    assert model._derived_maps
    back = pickle.loads(pickle.dumps(model))
    assert back._derived_maps == {}
    assert back.transform(X, sensitive_features=a).tobytes() == before.tobytes()
