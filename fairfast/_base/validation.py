"""Input checks shared by the public API. Every message names the argument."""

import numbers

import numpy as np

__all__ = [
    "ComplexDataError",
    "as_float_array",
    "check_choice",
    "check_fraction",
    "check_real",
    "check_row_offset",
    "check_sample_weight",
    "check_seed",
    "common_float_dtype",
    "not_finite_message",
]


class ComplexDataError(TypeError, ValueError):
    """Complex input: a TypeError (it is a dtype problem) that is also the ValueError
    scikit-learn's conventions expect."""


def _kind(x):
    return type(x).__name__


def as_float_array(x, name, *, dtype=None, ndim=1, allow_2d_column=False, check_finite=True, min_rows=0):
    """Convert `x` to a C-contiguous float32/float64 array, checking shape and values.

    float32 input stays float32 (unless `dtype` says otherwise); any other real dtype
    becomes float64. Messages carry the phrases scikit-learn's estimator checks look
    for (sparse input, complex data, NaN and inf, "Reshape your data").
    """
    if hasattr(x, "tocsr") and hasattr(x, "nnz"):  # scipy.sparse, without importing it
        raise TypeError(f"{name} is a sparse matrix or array; sparse input is not supported: "
                        f"pass a dense array ({name}.toarray())")
    if hasattr(x, "to_numpy") and not isinstance(x, np.ndarray):
        x = x.to_numpy()
    try:
        arr = np.asarray(x)
    except Exception as exc:  # pragma: no cover - exotic containers
        raise TypeError(f"{name} must be array-like of real numbers, got {_kind(x)}") from exc
    if arr.dtype == object:  # numbers held as Python objects (e.g. a pandas object column)
        try:
            arr = arr.astype(np.float64)
        except (TypeError, ValueError) as exc:
            raise TypeError(f"{name} must hold real numbers, got dtype object ({exc})") from None
    if np.issubdtype(arr.dtype, np.complexfloating):
        raise ComplexDataError(f"{name} must hold real numbers, got complex dtype {arr.dtype} "
                               "(Complex data not supported)")
    if arr.dtype.kind not in "biuf":  # numpy counts timedelta64 as an integer type: refuse it too
        raise TypeError(f"{name} must hold real numbers, got dtype {arr.dtype}"
                        + (f"; convert durations or dates to numbers first (e.g. {name} / np.timedelta64(1, 's'))"
                           if arr.dtype.kind in "mM" else ""))
    if allow_2d_column and arr.ndim == 2 and arr.shape[1] == 1:
        arr = arr[:, 0]
    if arr.ndim != ndim:
        hint = (f"; Reshape your data with {name}.reshape(-1, 1) if it has one feature, or "
                f"{name}.reshape(1, -1) if it is one sample") if ndim == 2 and arr.ndim == 1 else ""
        raise ValueError(f"{name} must be {ndim}-dimensional, got an array of shape {arr.shape}{hint}")
    if dtype is None:
        dtype = np.float32 if arr.dtype == np.float32 else np.float64
    arr = np.ascontiguousarray(arr, dtype=dtype)
    if arr.shape[0] < min_rows:
        raise ValueError(f"{name} must have at least {min_rows} rows, got {arr.shape[0]} (n_samples={arr.shape[0]})")
    if check_finite and arr.size and not np.isfinite(arr).all():
        bad = int(np.flatnonzero(~np.isfinite(arr.ravel()))[0])
        raise ValueError(not_finite_message(name, arr.ravel()[bad].item(), bad))
    return arr


def not_finite_message(name, value, position):
    """The message of a non-finite input value (with the "NaN"/"inf" scikit-learn's checks look for)."""
    return f"{name} must be finite; found {value!r} at position {position} (NaN and inf are not supported)"


def common_float_dtype(*arrays):
    """float32 when every array is float32, else float64."""
    return np.float32 if all(a.dtype == np.float32 for a in arrays) else np.float64


def check_sample_weight(weight, n, name="sample_weight"):
    """Validate non-negative finite weights of length `n` with a positive sum; None stays None."""
    if weight is None:
        return None
    w = as_float_array(weight, name, dtype=np.float64)
    if w.shape[0] != n:
        raise ValueError(f"{name} has {w.shape[0]} rows but the data has {n}")
    if (w < 0).any():
        raise ValueError(f"{name} must be non-negative")
    if n and not w.max() > 0:  # not the sum: it may overflow
        raise ValueError(f"{name} must have a positive sum; all weights are zero")
    return w


def check_choice(value, name, choices):
    if not isinstance(value, str) or value not in choices:
        allowed = ", ".join(repr(c) for c in choices)
        raise ValueError(f"{name} must be one of {allowed}; got {value!r}")
    return value


def check_real(value, name, *, allow_nan=False, hint=""):
    """A real number as a Python float (NaN refused unless `allow_nan`; inf allowed)."""
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Real):
        raise TypeError(f"{name} must be a real number{hint}, got {_kind(value)} {value!r}")
    value = float(value)
    if np.isnan(value) and not allow_nan:
        raise ValueError(f"{name} must be a real number{hint}, got NaN")
    return value


def check_fraction(value, name):
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"{name} must be a real number in [0, 1], got {_kind(value)}")
    value = float(value)
    if not 0.0 <= value <= 1.0:
        raise ValueError(f"{name} must lie in [0, 1], got {value}")
    return value


def check_row_offset(row_offset):
    if isinstance(row_offset, bool) or not isinstance(row_offset, numbers.Integral):
        raise TypeError(f"row_offset must be a non-negative int, got {_kind(row_offset)}")
    if not 0 <= row_offset < 2**63:
        raise ValueError(f"row_offset must be a non-negative int below 2**63, got {row_offset}")
    return int(row_offset)


def check_seed(random_state, name="random_state"):
    """A 63-bit integer seed for the counter-based generator.

    None draws one from NumPy's global generator (as scikit-learn's
    ``check_random_state(None)`` does); an int is used as is; a ``RandomState`` or
    ``Generator`` contributes one draw.
    """
    if random_state is None:
        return int(np.random.randint(0, 2**63 - 1, dtype=np.int64))
    if isinstance(random_state, bool):
        raise TypeError(f"{name} must be None, an int or a numpy random generator, got bool")
    if isinstance(random_state, numbers.Integral):
        if random_state < 0:
            raise ValueError(f"{name} must be non-negative, got {random_state}")
        if random_state >= 2**64:
            raise ValueError(f"{name} must be an int in [0, 2**64), got {random_state}; seeds are 64-bit "
                             f"(a larger one would silently repeat a smaller one's draws)")
        return int(random_state)
    if isinstance(random_state, np.random.RandomState):
        return int(random_state.randint(0, 2**63 - 1, dtype=np.int64))
    if isinstance(random_state, np.random.Generator):
        return int(random_state.integers(0, 2**63 - 1))
    raise TypeError(f"{name} must be None, an int or a numpy random generator, got {_kind(random_state)}")
