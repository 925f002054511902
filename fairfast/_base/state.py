"""Model-file state helpers shared by the estimators: JSON parameters and labels, checked arrays.

Labels follow the convention of the other fairfast model files (see
``WassersteinBarycenter._get_state``): a list of JSON scalars, intersections of several
sensitive columns written as lists and flagged by ``groups_are_tuples``. Every reader
raises ``ValueError`` starting with "model state is inconsistent" (or "incomplete or
malformed") and naming the offending entry.
"""

import functools
import numbers

import numpy as np

_SCALARS = (str, bool, int, float)


class ModelFileMixin:
    """``save(path)`` for the estimators that model files can hold.

    They provide ``_get_state() -> (meta, arrays)`` and a classmethod
    ``_from_state(meta, arrays)`` that validates everything it reads. The file names
    the estimator by ``_model_file_name`` (the class name unless a class says
    otherwise); :func:`fairfast.load` maps that name back to the class through the
    registry of :mod:`fairfast.io`.
    """

    def save(self, path, *, metadata=None):
        """Save the fitted model to a model file (JSON + .npy in a zip, never pickle).

        The file is written to a temporary file beside `path` and renamed over it only
        when complete. Load it with :func:`fairfast.load`; the format is described in
        ``docs/model_format.md``.

        Parameters
        ----------
        path : str or os.PathLike
            Destination; an existing file is replaced.
        metadata : dict, optional
            JSON-able information stored with the model (for example the data columns
            it was fit on), returned by :func:`fairfast.io.read_model`.
        """
        from .model_file import write_model_file

        meta, arrays = self._get_state()
        write_model_file(path, self._model_file_name(), meta, arrays, metadata)

    @classmethod
    def _model_file_name(cls):
        return cls.__name__


def state_errors(read):
    """Decorate a ``_from_state`` reader so that every refusal is a ``ValueError``
    starting "model state is ..." (a parameter check failing on hand-edited params, a
    wrongly typed entry), whatever raised it."""

    @functools.wraps(read)
    def checked(*args, **kwargs):
        try:
            return read(*args, **kwargs)
        except ValueError as exc:
            if str(exc).startswith("model state is"):
                raise
            raise ValueError(f"model state is inconsistent: {exc}") from None
        except (KeyError, TypeError, IndexError, AttributeError) as exc:
            raise ValueError(f"model state is incomplete or malformed: {exc!r}") from None

    return checked


def _plain(value):
    """`value` with numpy scalars turned into Python ones and tuples into lists (JSON-able)."""
    if isinstance(value, tuple):
        return [_plain(v) for v in value]
    if isinstance(value, np.generic):
        return value.item()
    return value


def params_to_json(estimator):
    """``get_params()`` as JSON values (tuple labels become lists, numpy scalars Python ones)."""
    return {key: _plain(value) for key, value in estimator.get_params().items()}


def estimator_from_params(cls, params, *, tuples=True):
    """``cls(**params)`` after checking that `params` names only constructor parameters.

    Parameters missing from `params` take their defaults (files written before a
    parameter existed); unknown ones are refused. With `tuples`, lists (JSON for a
    tuple label, e.g. an intersectional ``reference``) become tuples.
    """
    if not isinstance(params, dict):
        raise ValueError(f"model state is malformed: params must be an object, got {type(params).__name__}")
    extra = sorted(set(params) - set(cls._get_param_names()))
    if extra:
        raise ValueError(f"model state is inconsistent: params of {cls.__name__} has unknown {extra}")
    return cls(**{key: tuple(value) if tuples and isinstance(value, list) else value
                  for key, value in params.items()})


def labels_to_json(labels):
    """Labels and the ``groups_are_tuples`` flag, as ``WassersteinBarycenter`` writes them."""
    multi = bool(labels) and isinstance(labels[0], tuple)
    return [list(g) if isinstance(g, tuple) else g for g in labels], multi


def _key(label):
    # typed, so that 1, 1.0 and True are different labels (as they are in the data)
    return tuple(_key(v) for v in label) if isinstance(label, tuple) else (type(label).__name__, label)


def labels_from_json(values, tuples, name, *, minimum=1):
    """Read labels written by :func:`labels_to_json`; checks types, arity and uniqueness."""
    if not isinstance(values, list) or not isinstance(tuples, bool):
        raise ValueError(f"model state is malformed: {name} must be a list and its tuple flag a boolean")
    if len(values) < minimum:
        raise ValueError(f"model state is inconsistent: {name} has {len(values)} labels, at least {minimum} needed")
    labels = []
    for value in values:
        if tuples:
            if not (isinstance(value, list) and len(value) >= 2 and len(value) == len(values[0])
                    and all(isinstance(v, _SCALARS) for v in value)):
                raise ValueError(f"model state is inconsistent: {name} label {value!r} is not an intersection of "
                                 f"the same columns as {values[0]!r}")
            labels.append(tuple(value))
        else:
            if not isinstance(value, _SCALARS):
                raise ValueError(f"model state is inconsistent: {name} label {value!r} is not a string or number")
            labels.append(value)
    if len({_key(g) for g in labels}) != len(labels):
        raise ValueError(f"model state is inconsistent: {name} has repeated labels")
    return labels


def identity_group(flags):
    """Index of the group whose maps are flagged as the identity (the reference group), or None."""
    (found,) = np.nonzero(flags)
    return int(found[0]) if found.size else None


def integer(value, name, low, high):
    """A JSON integer in ``[low, high)``."""
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value < high:
        raise ValueError(f"model state is inconsistent: {name} must be an integer in [{low}, {high}), got {value!r}")
    return value


def real(value, name, nonnegative=False):
    """A finite JSON number (non-negative if asked)."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or not np.isfinite(value) \
            or (nonnegative and value < 0):
        kind = "a finite non-negative number" if nonnegative else "a finite number"
        raise ValueError(f"model state is inconsistent: {name} must be {kind}, got {value!r}")
    return float(value)


def check_names(arrays, names):
    """The state holds exactly the arrays `names`."""
    if not isinstance(arrays, dict):
        raise ValueError(f"model state is malformed: arrays must be a dict, got {type(arrays).__name__}")
    missing, extra = sorted(set(names) - set(arrays)), sorted(set(arrays) - set(names))
    if missing or extra:
        raise ValueError(f"model state is inconsistent: arrays {missing} are missing and {extra} unexpected")


def array(arrays, name, shape, dtype=np.float64):
    """``arrays[name]`` as a C-contiguous array of exactly `dtype` and `shape`; floats must be finite."""
    a = arrays[name]
    if not isinstance(a, np.ndarray) or a.dtype != dtype or a.shape != tuple(shape):
        got = f"{a.dtype} of shape {a.shape}" if isinstance(a, np.ndarray) else type(a).__name__
        raise ValueError(f"model state is inconsistent: {name} should be {np.dtype(dtype)} of shape "
                         f"{tuple(shape)}, got {got}")
    if a.dtype.kind == "f" and not np.isfinite(a).all():
        raise ValueError(f"model state is inconsistent: {name} has non-finite values")
    return np.ascontiguousarray(a)


def check_covariances(S, name):
    """Symmetric (to rounding) with a positive diagonal: the cheap necessary conditions."""
    diag = np.diagonal(S, axis1=-2, axis2=-1)
    if not (diag > 0).all():
        raise ValueError(f"model state is inconsistent: {name} must have a positive diagonal")
    scale = np.sqrt(diag[..., :, None] * diag[..., None, :])  # bounds |S_jk| of a PSD matrix
    if not (np.abs(S - np.swapaxes(S, -1, -2)) <= 1e-8 * scale).all():
        raise ValueError(f"model state is inconsistent: {name} must be symmetric")


def check_offsets(offset, linear, target, source, name):
    """``offset == target - linear @ source`` up to rounding (how fit computes the offsets)."""
    expected = target - np.einsum("...jk,...k->...j", linear, source)
    scale = np.abs(target) + np.einsum("...jk,...k->...j", np.abs(linear), np.abs(source))
    if not (np.abs(offset - expected) <= 1e-9 * scale + 1e-300).all():
        raise ValueError(f"model state is inconsistent: {name} does not match the means and linear maps")


def check_identity(identity, reference_index, n_groups, name="identity"):
    """The identity flags mark exactly the reference group (``None``: no group)."""
    expected = np.zeros(n_groups, dtype=bool)
    if reference_index is not None:
        expected[reference_index] = True
    shaped = expected.reshape((n_groups,) + (1,) * (identity.ndim - 1))
    if not (identity == shaped).all():
        raise ValueError(f"model state is inconsistent: {name} must flag exactly the reference group")


def check_shrinkage(shrinkage):
    """``None``, ``"oas"`` or a non-negative real, as the estimators accept."""
    if not (shrinkage is None or shrinkage == "oas"
            or (isinstance(shrinkage, numbers.Real) and not isinstance(shrinkage, bool) and shrinkage >= 0)):
        raise ValueError(f"shrinkage must be None, 'oas' or a non-negative float; got {shrinkage!r}")
