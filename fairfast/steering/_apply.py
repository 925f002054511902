"""Shared plumbing of the steering estimators: inputs, codes and blockwise affine maps."""

import numpy as np

from .._base.grouping import Grouping
from .._base.validation import as_float_array, not_finite_message

def check_X(X, name="X", n_features=None, positive=False, check_finite=True, min_rows=0):
    """`X` as a C-contiguous 2-D float array; ``check_finite=False`` leaves the finiteness
    check to a later pass (``apply_blocks`` does it on the fly)."""
    X = as_float_array(X, name, ndim=2, min_rows=min_rows, check_finite=check_finite)
    if X.shape[1] == 0:
        raise ValueError(f"{name} has 0 feature(s) (shape={X.shape}) while a minimum of 1 is required.")
    if n_features is not None and X.shape[1] != n_features:
        raise ValueError(f"{name} has {X.shape[1]} features but the estimator was fitted with {n_features}")
    if positive and X.size and not (X > 0).all():
        raise ValueError(f"{name} must be strictly positive for family='lognormal'")
    return X


def fit_groups(sensitive_features, n):
    """Group codes, labels and the fitted grouping component (see fairfast._base.grouping)."""
    grouping, codes = Grouping.fit(sensitive_features, n, what="X has")
    return codes, grouping.labels, grouping


def transform_groups(sensitive_features, grouping, n):
    """Group codes of new rows, their columns matched by name to the fitted ones."""
    if sensitive_features is None:
        raise ValueError("sensitive_features is required: the group of every row")
    return np.asarray(grouping.encode(sensitive_features, n, what="X has"), dtype=np.intp)


def encode_labels(y, n, classes=None):
    y = np.asarray(y)
    if y.ndim != 1 or y.shape[0] != n:
        raise ValueError(f"y must be 1-dimensional with {n} rows (one per row of X); got shape {y.shape}")
    if classes is None:
        labels, codes = np.unique(y, return_inverse=True)
        return codes.astype(np.intp), [v.item() if isinstance(v, np.generic) else v for v in labels]
    known = np.asarray(classes)
    try:
        codes = np.searchsorted(known, y)  # classes are sorted (np.unique in fit)
        ok = codes < len(known)
        ok[ok] = known[codes[ok]] == y[ok]
    except TypeError:  # labels that do not compare with the fitted ones
        ok = np.zeros(n, dtype=bool)
    if not ok.all():
        bad = y[np.flatnonzero(~ok)[0]]
        raise ValueError(f"y contains the label {bad!r}, unseen in fit (known: {list(classes)})")
    return codes.astype(np.intp), list(classes)


def require_finite(X, name="X"):
    if X.size and not np.isfinite(X).all():
        bad = int(np.flatnonzero(~np.isfinite(X.ravel()))[0])
        raise ValueError(not_finite_message(name, X.ravel()[bad].item(), bad))


class AffineMaps:
    """Per-code affine maps :math:`x \\mapsto A_c (x - m_c) + b_c`, applied by the compiled kernel.

    Every output element is accumulated in one fixed order (the offset, then the input
    columns in increasing order, one fused multiply-add each where the CPU has one), so a
    row's result depends only on its own values, its code and the maps -- never on the
    other rows of the call, their number or order, the chunking or the thread count.
    The maps are packed (transposed into panels, converted to the input's dtype) on the
    first call for each dtype and kept: derived data, never saved or pickled.

    Parameters
    ----------
    linear : (n_codes, d_out, d_in) array, list of n_codes (d_out, d_in) arrays, or None
        The matrices; views of one matrix (a broadcast array, the same array listed
        twice) are packed once. None: the codes that are not ``identity`` add their offset
        only (:math:`x + b_c`).
    offset : (n_codes, d_out) array or None (zero)
    identity : (n_codes,) bool array or None
        Codes whose rows are copied (needs ``d_in == d_out``).
    center : (n_codes, d_in) array or None
        Subtracted from each row (in its dtype) before the product.
    isa : {"auto", "avx512", "avx2", "generic"}
        The kernel's instruction set (``"auto"``: the widest the CPU runs).

    Examples
    --------
    >>> import numpy as np
    >>> maps = AffineMaps(np.array([[[2.0, 0.0], [0.0, 3.0]]]), offset=np.array([[1.0, -1.0]]))
    >>> maps.apply(np.array([[1.0, 1.0], [2.0, 0.5]])).tolist()
    [[3.0, 2.0], [5.0, 0.5]]
    """

    def __init__(self, linear, offset=None, identity=None, center=None, isa="auto"):
        if linear is None:
            if offset is None:
                raise ValueError("linear or offset is required")
            self.n_codes, self.d_out = np.shape(offset)
            self.d_in = self.d_out
        else:
            self.n_codes = len(linear)
            self.d_out, self.d_in = np.shape(linear[0])
        copy = np.zeros(self.n_codes, dtype=bool) if identity is None else np.asarray(identity, dtype=bool)
        self._index = np.full(self.n_codes, -1 if linear is not None else -2, dtype=np.int64)
        self._index[copy] = -1
        self._matrices, seen = [], {}
        for c in np.flatnonzero(~copy) if linear is not None else ():
            A = linear[c]
            key = (A.__array_interface__["data"][0], A.strides, A.shape, A.dtype.str)
            if key not in seen:
                seen[key] = len(self._matrices)
                self._matrices.append(A)
            self._index[c] = seen[key]
        self._offset, self._center, self._isa = offset, center, isa
        self._packed = {}

    def packed(self, dtype):
        """The packed maps for inputs of ``dtype`` (made on first use)."""
        dtype = np.dtype(dtype)
        if dtype not in self._packed:
            from .._core import steering as _kernels

            def as_dt(a, shape):
                return None if a is None else np.ascontiguousarray(np.broadcast_to(a, shape), dtype=dtype)

            matrices = [A if A.dtype in (np.float32, np.float64) and A.flags.c_contiguous
                        else np.ascontiguousarray(A, dtype=dtype) for A in self._matrices]
            self._packed[dtype] = _kernels.pack_affine_maps(
                matrices, self._index, as_dt(self._offset, (self.n_codes, self.d_out)),
                as_dt(self._center, (self.n_codes, self.d_in)), self.d_in, self.d_out, dtype.name, self._isa)
        return self._packed[dtype]

    def apply(self, X, codes=None, out=None, name="X", init=None):
        """``out[r] = A_c (X[r] - m_c) + b_c`` with ``c = codes[r]`` (None: code 0 for every row).

        ``X`` is a C-contiguous float32 or float64 array; the result has its dtype. Checks
        that ``X`` is finite, raising ``ValueError`` naming ``name``. ``init`` (rows of
        ``d_out`` values, possibly ``out``) replaces the offsets as starting values.
        """
        n = X.shape[0]
        if out is None:
            out = np.empty((n, self.d_out), dtype=X.dtype)
        if codes is not None:
            codes = np.ascontiguousarray(codes, dtype=np.int64)
        try:
            self.packed(X.dtype).apply(X, codes, out, init)
        except ValueError as exc:
            if "finite" in str(exc):
                require_finite(X, name)  # the kernel's message has no position; this one does
            raise
        return out


def apply_blocks(X, codes, n_codes, linear, offset, identity, out=None, name="X"):
    """``out[r] = linear[c] @ X[r] + offset[c]`` for ``c = codes[r]``; rows whose block is
    flagged ``identity`` are copied. float32 input is transformed in float32.

    One call of :class:`AffineMaps` (batch invariant; packs the maps for this call --
    estimators keep an :class:`AffineMaps` to pack them once). Checks that ``X`` is
    finite (raising ``ValueError`` naming ``name``), so callers validate ``X`` with
    ``check_finite=False`` and the data is read once.
    """
    if len(linear) != n_codes:
        raise ValueError(f"linear must hold {n_codes} maps, got {len(linear)}")
    return AffineMaps(linear, offset, identity).apply(X, codes, out=out, name=name)


# The estimators' derived data: made empty at fit and load, filled on use (a method
# mutates it in place and never adds an attribute).
DERIVED = "_derived_maps"


def reset_derived(owner):
    """An empty cache of derived data on ``owner`` (at fit and load: the old entries are stale)."""
    owner.__dict__[DERIVED] = {}


def derived(owner):
    """``owner``'s cache of derived data."""
    return owner.__dict__.setdefault(DERIVED, {})


def cached_maps(owner, slot, sources, build):
    """``build()`` (packed maps, or anything derived from fitted arrays) kept in ``owner``'s
    cache while the arrays ``sources`` it derives from are the same objects (a refit
    replaces them); :func:`drop_cached_maps` leaves it out of pickles."""
    cache = derived(owner)
    hit = cache.get(slot)
    if hit is None or len(hit[0]) != len(sources) or any(a is not b for a, b in zip(hit[0], sources)):
        hit = cache[slot] = (tuple(sources), build())
    return hit[1]


def drop_cached_maps(state, keep=()):
    """An estimator's pickled state without its packed maps (compiled objects, rebuilt on
    first use); the entries named in ``keep`` (plain arrays) stay."""
    if DERIVED in state:
        state[DERIVED] = {k: v for k, v in state[DERIVED].items() if k in keep}
    return state


def stack_maps(parts, ref, G, K, d, dtype, shared):
    """(linear (G, K, d, d), identity (G, K)) from per-group maps; views of (G, d, d) if all are shared."""
    identity = np.zeros((G, K), dtype=bool)
    if ref is not None:
        identity[ref] = True
    if shared and all(not isinstance(p, list) for p in parts.values()):
        group = np.empty((G, d, d), dtype=dtype)
        for a in range(G):
            if a == ref:
                group[a] = 0.0
                group[a].flat[:: d + 1] = 1.0
            else:
                group[a] = parts[a]
        return np.broadcast_to(group[:, None], (G, K, d, d)), identity
    linear = np.empty((G, K, d, d), dtype=dtype)
    for a in range(G):
        if a == ref:
            linear[a] = 0.0
            for i in range(K):
                linear[a, i].flat[:: d + 1] = 1.0
        else:
            linear[a] = parts[a] if not isinstance(parts[a], list) else np.stack(parts[a])
    return linear, identity


def all_equal(S):
    """The (K, d, d) stack repeats one matrix (a broadcast view does by construction)."""
    return S.strides[0] == 0 or bool(np.all(S == S[:1]))


def times(A, M):
    """``M[i] @ A[i].T`` in float64 for a (K, d, d) stack of maps (possibly float32, possibly
    one broadcast matrix) and means (K, d), converting A in row blocks (no d x d copy)."""
    K, d = M.shape
    out = np.empty((K, d))
    same = A.strides[0] == 0
    for i in range(1 if same else K):
        rows = M if same else M[i : i + 1]
        res = out if same else out[i : i + 1]
        for lo in range(0, d, 512):
            res[:, lo : lo + 512] = rows @ np.asarray(A[i, lo : lo + 512], dtype=np.float64).T
    return out
