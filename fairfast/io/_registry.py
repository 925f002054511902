"""The registry of loadable model kinds, and :func:`save` / :func:`load`.

A model file (see ``docs/model_format.md`` and :mod:`fairfast._base.model_file`) names
its estimator by a key of this registry, never by a module path: loading picks the
class here, so a model file can never run code. Each registered class provides
``_get_state`` and a classmethod ``_from_state`` that validates the state fully.
"""

import importlib

from .._base.model_file import FORMAT_NAME, FORMAT_VERSION, fail, read_model_file, write_model_file

__all__ = [
    "FORMAT_NAME",
    "FORMAT_VERSION",
    "load",
    "read_model",
    "register_estimator",
    "registered_estimators",
    "save",
]

# Registry name -> class, or (module, attribute) resolved on first use so that importing
# fairfast.io imports no estimator. Keys are what model files name; the file itself can
# only select among these entries.
_REGISTRY = {
    "WassersteinBarycenter": ("fairfast.postprocessing", "WassersteinBarycenter"),
    "GroupThresholds": ("fairfast.postprocessing", "GroupThresholds"),
    "GaussianSteering": ("fairfast.steering", "GaussianSteering"),
    "MeanMatching": ("fairfast.steering", "MeanMatching"),
    "MeanCovarianceMatching": ("fairfast.steering", "MeanCovarianceMatching"),
    "LEACE": ("fairfast.steering", "LEACE"),
    "DAFHClassifier": ("fairfast.dafh", "DAFHClassifier"),
}


def register_estimator(cls=None, *, name=None):
    """Allow an estimator class in model files (usable as a class decorator).

    The class must provide ``_get_state(self) -> (meta, arrays)`` (``meta`` JSON-able,
    ``arrays`` a dict of numeric ndarrays) and a classmethod
    ``_from_state(meta, arrays)`` that validates them and returns a fitted estimator.

    Parameters
    ----------
    cls : type, optional
        The class. Omit it to use ``register_estimator(name=...)`` as a decorator.
    name : str, optional
        Name written in model files; defaults to ``cls.__name__``. A name already
        registered for another class raises.

    Returns
    -------
    type
        `cls`, unchanged.

    Examples
    --------
    >>> from fairfast.io import register_estimator, registered_estimators
    >>> "WassersteinBarycenter" in registered_estimators()
    True
    """
    if cls is None:
        return lambda c: register_estimator(c, name=name)
    key = cls.__name__ if name is None else name
    if not isinstance(key, str) or not key:
        raise ValueError(f"name must be a non-empty string, got {key!r}")
    for method in ("_get_state", "_from_state"):
        if not callable(getattr(cls, method, None)):
            raise TypeError(f"{cls.__name__} cannot be registered: it has no {method} method")
    if key in _REGISTRY and _resolve(key) is not cls:
        raise ValueError(f"an estimator is already registered under the name {key!r}")
    _REGISTRY[key] = cls
    return cls


def registered_estimators():
    """Names of the estimator classes that model files may hold (sorted)."""
    return sorted(_REGISTRY)


def _resolve(key):
    entry = _REGISTRY[key]
    if isinstance(entry, tuple):
        module, attribute = entry
        entry = getattr(importlib.import_module(module), attribute)
        _REGISTRY[key] = entry
    return entry


def resolve_name(name):
    """The registered class named `name` (ValueError listing the names otherwise)."""
    if name not in _REGISTRY:
        raise ValueError(f"unknown estimator {name!r}; registered estimators are {registered_estimators()}")
    return _resolve(name)


def _name_of(estimator):
    cls = type(estimator)
    for key in list(_REGISTRY):
        if _resolve(key) is cls:
            return key
    raise TypeError(
        f"estimator must be one of the registered fairfast estimators {registered_estimators()}, "
        f"got {cls.__name__} (see fairfast.io.register_estimator)"
    )


# -- saving and loading -------------------------------------------------------------------


def save(estimator, path, *, metadata=None):
    """Write a fitted estimator to a model file (JSON + ``.npy`` in a zip, no pickle).

    The file is written to a temporary file in the destination directory and renamed
    over `path` once complete, so readers never see a partial model.

    Parameters
    ----------
    estimator : fitted fairfast estimator
        An instance of a registered class (see :func:`registered_estimators`).
    path : str or os.PathLike
        Destination; an existing file is replaced.
    metadata : dict, optional
        JSON-able information stored with the model and returned by
        :func:`read_model` (for example the data columns it was fit on).

    Raises
    ------
    TypeError
        If `estimator` is not of a registered class.
    ValueError
        If its state (or `metadata`) is not JSON-able or holds unsupported arrays.

    Examples
    --------
    >>> import tempfile
    >>> import numpy as np
    >>> from fairfast.io import load, save
    >>> from fairfast.postprocessing import WassersteinBarycenter
    >>> rng = np.random.default_rng(0)
    >>> s = rng.integers(0, 2, 500)
    >>> z = rng.normal(size=500) + s
    >>> model = WassersteinBarycenter(random_state=0).fit(z, sensitive_features=s)
    >>> with tempfile.TemporaryDirectory() as d:
    ...     save(model, f"{d}/model.ffm")
    ...     again = load(f"{d}/model.ffm")
    >>> bool(np.array_equal(again.transform(z, sensitive_features=s), model.transform(z, sensitive_features=s)))
    True
    """
    name = _name_of(estimator)
    meta, arrays = estimator._get_state()
    write_model_file(path, name, meta, arrays, metadata)


def read_model(path):
    """Load a model file and the caller's metadata stored with it.

    Parameters
    ----------
    path : str, os.PathLike or binary file object

    Returns
    -------
    estimator : fitted fairfast estimator
    info : dict
        ``format_version``, ``fairfast_version``, ``estimator`` (registry name) and
        ``metadata`` (the dict given to :func:`save`).

    Raises
    ------
    ValueError
        If the file is not a complete, unmodified model file of a supported format
        version, names an estimator that is not registered, or holds arrays its
        estimator rejects. The message names the problem.
    FileNotFoundError
        If `path` does not exist.
    """
    manifest, arrays, source = read_model_file(path)
    name = manifest["estimator"]
    if name not in _REGISTRY:
        fail(source, f"unknown estimator {name!r}; this fairfast knows {registered_estimators()}")
    cls = _resolve(name)
    try:
        estimator = cls._from_state(manifest["meta"], arrays)
    except ValueError as exc:
        fail(source, str(exc))
    except (KeyError, TypeError, IndexError, AttributeError) as exc:
        kind = "missing" if isinstance(exc, KeyError) else "malformed"
        fail(source, f"the {name} state is {kind} ({type(exc).__name__}: {exc})")
    info = {
        "format_version": manifest["format_version"],
        "fairfast_version": manifest.get("fairfast_version"),
        "estimator": name,
        "metadata": manifest.get("metadata", {}),
    }
    return estimator, info


def load(path):
    """Load a fitted estimator from a model file written by :func:`save`.

    Loading reads JSON and ``.npy`` data only (``allow_pickle=False``) and picks the
    class from a fixed registry, so it never runs code from the file. Every array is
    checked against the SHA-256, dtype and shape in the manifest.

    Parameters
    ----------
    path : str, os.PathLike or binary file object

    Returns
    -------
    estimator
        The fitted estimator; it transforms bit-for-bit like the one saved.

    Raises
    ------
    ValueError
        If the file is truncated or modified, has bad JSON, names an unknown estimator,
        lacks an array, or was written in a newer format version.

    Examples
    --------
    >>> import io
    >>> from fairfast.io import load
    >>> load(io.BytesIO(b"not a model"))
    Traceback (most recent call last):
    ...
    ValueError: model file is not a valid fairfast model file: not a zip archive (truncated, or not a model file)
    """
    return read_model(path)[0]
