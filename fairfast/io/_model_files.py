"""Model files: fitted estimators as a zip of JSON and ``.npy`` entries (no pickle).

The format is described in ``docs/model_format.md``. In short, a model file is a zip
archive (entries stored uncompressed) holding

- ``model.json``: ``format`` (``"fairfast-model"``), ``format_version``, the
  ``fairfast_version`` that wrote it, the ``estimator`` name (a key of a fixed registry,
  never a module path), the estimator's JSON metadata ``meta``, an optional
  ``metadata`` object of the caller's own (for example the data columns a model was fit
  on), and ``arrays``: for each array name its entry, ``dtype``, ``shape`` and the
  SHA-256 of the entry's bytes;
- ``arrays/<i>.npy``: one NumPy ``.npy`` file per array, read with
  ``allow_pickle=False``.

Loading parses JSON and ``.npy`` headers only and looks the estimator class up in the
registry, so a model file can never run code.
"""

import hashlib
import importlib
import io
import json
import os
import zipfile

import numpy as np

from ._atomic import atomic_path

__all__ = [
    "FORMAT_NAME",
    "FORMAT_VERSION",
    "load",
    "read_model",
    "register_estimator",
    "registered_estimators",
    "save",
]

FORMAT_NAME = "fairfast-model"
FORMAT_VERSION = 1
_MANIFEST = "model.json"
_ALLOWED_DTYPES = frozenset(
    np.dtype(t).str
    for t in (np.bool_, np.int8, np.int16, np.int32, np.int64, np.uint8, np.uint16, np.uint32, np.uint64,
              np.float32, np.float64)
)
_MAX_MANIFEST_BYTES = 64 << 20

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
    current = _REGISTRY.get(key)
    if isinstance(current, tuple) and current[1] == cls.__name__ and cls.__module__.startswith(current[0]):
        current = None  # the lazy entry names this very class (it registers itself on import)
    if current is not None and _resolve(key) is not cls:
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


def _name_of(estimator):
    cls = type(estimator)
    for key in list(_REGISTRY):
        if _resolve(key) is cls:
            return key
    raise TypeError(
        f"estimator must be one of the registered fairfast estimators {registered_estimators()}, "
        f"got {cls.__name__} (see fairfast.io.register_estimator)"
    )


# -- writing -----------------------------------------------------------------------------


def _to_json(obj, what):
    try:
        return json.dumps(obj, allow_nan=False, sort_keys=True, indent=1, ensure_ascii=False)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"{what} is not JSON-serialisable ({exc}); model files hold JSON values only") from None


def _npy_bytes(name, array):
    if not isinstance(array, np.ndarray):
        raise TypeError(f"state array {name!r} must be an ndarray, got {type(array).__name__}")
    array = np.ascontiguousarray(array)
    if array.dtype.byteorder == ">":
        array = array.astype(array.dtype.newbyteorder("<"))
    if array.dtype.str not in _ALLOWED_DTYPES:
        raise ValueError(f"state array {name!r} has dtype {array.dtype}; model files hold bool, int and float arrays")
    buffer = io.BytesIO()
    np.lib.format.write_array(buffer, array, allow_pickle=False)
    return array, buffer.getvalue()


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
    if not isinstance(arrays, dict):
        raise TypeError(f"{name}._get_state must return a dict of arrays, got {type(arrays).__name__}")
    if metadata is not None and not isinstance(metadata, dict):
        raise TypeError(f"metadata must be a dict or None, got {type(metadata).__name__}")
    from .. import __version__

    entries = []
    listing = {}
    for i, (key, array) in enumerate(arrays.items()):
        if not isinstance(key, str):
            raise TypeError(f"state array names must be strings, got {key!r}")
        array, data = _npy_bytes(key, array)
        entry = f"arrays/{i}.npy"
        listing[key] = {
            "entry": entry,
            "dtype": array.dtype.str,
            "shape": list(array.shape),
            "sha256": hashlib.sha256(data).hexdigest(),
        }
        entries.append((entry, data))
    manifest = {
        "format": FORMAT_NAME,
        "format_version": FORMAT_VERSION,
        "fairfast_version": __version__,
        "estimator": name,
        "meta": meta,
        "metadata": metadata if metadata is not None else {},
        "arrays": listing,
    }
    text = _to_json(manifest, f"the state of {name}")

    with atomic_path(path) as tmp:
        with zipfile.ZipFile(tmp, "w", compression=zipfile.ZIP_STORED, allowZip64=True) as zf:
            zf.writestr(_zipinfo(_MANIFEST), text.encode("utf-8"))
            for entry, data in entries:
                zf.writestr(_zipinfo(entry), data)


def _zipinfo(name):
    info = zipfile.ZipInfo(name, date_time=(1980, 1, 1, 0, 0, 0))  # reproducible bytes
    info.compress_type = zipfile.ZIP_STORED
    info.external_attr = 0o644 << 16
    return info


# -- reading -----------------------------------------------------------------------------


def _fail(source, problem):
    raise ValueError(f"{source} is not a valid fairfast model file: {problem}")


def _read_manifest(zf, source):
    try:
        info = zf.getinfo(_MANIFEST)
    except KeyError:
        _fail(source, f"it has no {_MANIFEST} entry")
    if info.file_size > _MAX_MANIFEST_BYTES:
        _fail(source, f"{_MANIFEST} is {info.file_size} bytes, more than the {_MAX_MANIFEST_BYTES} allowed")
    try:
        text = zf.read(info).decode("utf-8")
        manifest = json.loads(text, parse_constant=_reject_constant)
    except (zipfile.BadZipFile, EOFError, OSError) as exc:
        _fail(source, f"{_MANIFEST} cannot be read ({exc})")
    except (UnicodeDecodeError, ValueError) as exc:
        _fail(source, f"{_MANIFEST} is not valid JSON ({exc})")
    if not isinstance(manifest, dict):
        _fail(source, f"{_MANIFEST} must hold a JSON object")
    if manifest.get("format") != FORMAT_NAME:
        _fail(source, f"format is {manifest.get('format')!r}, expected {FORMAT_NAME!r}")
    version = manifest.get("format_version")
    if isinstance(version, bool) or not isinstance(version, int) or version < 1:
        _fail(source, f"format_version must be a positive integer, got {version!r}")
    if version > FORMAT_VERSION:
        raise ValueError(
            f"{source} uses model format version {version} (written by fairfast "
            f"{manifest.get('fairfast_version', '?')}); this fairfast reads versions up to "
            f"{FORMAT_VERSION}: upgrade fairfast to load it"
        )
    for key, kind in (("estimator", str), ("meta", dict), ("arrays", dict)):
        if not isinstance(manifest.get(key), kind):
            _fail(source, f"{key!r} must be a JSON {'string' if kind is str else 'object'}")
    metadata = manifest.get("metadata", {})
    if not isinstance(metadata, dict):
        _fail(source, "'metadata' must be a JSON object")
    return manifest


def _reject_constant(token):
    raise ValueError(f"{token} is not allowed in model files")


def _read_array(zf, source, key, spec, names):
    if not isinstance(spec, dict) or not isinstance(spec.get("entry"), str):
        _fail(source, f"array {key!r} has no entry name")
    entry = spec["entry"]
    if entry not in names:
        _fail(source, f"array {key!r} is missing (no entry {entry!r})")
    try:
        data = zf.read(entry)
    except (zipfile.BadZipFile, EOFError, OSError) as exc:  # includes CRC mismatches
        _fail(source, f"array {key!r} cannot be read ({exc})")
    if hashlib.sha256(data).hexdigest() != spec.get("sha256"):
        _fail(source, f"array {key!r} does not match its SHA-256 checksum (file corrupted or modified)")
    try:
        array = np.load(io.BytesIO(data), allow_pickle=False)
    except ValueError as exc:
        _fail(source, f"array {key!r} is not a plain .npy array ({exc})")
    if not isinstance(array, np.ndarray):
        _fail(source, f"array {key!r} is not a .npy array")
    if array.dtype.str not in _ALLOWED_DTYPES or array.dtype.str != spec.get("dtype"):
        _fail(source, f"array {key!r} has dtype {array.dtype.str}, the manifest says {spec.get('dtype')!r}")
    if list(array.shape) != spec.get("shape"):
        _fail(source, f"array {key!r} has shape {list(array.shape)}, the manifest says {spec.get('shape')!r}")
    return array


def _open(path_or_file):
    if hasattr(path_or_file, "read"):
        return path_or_file, getattr(path_or_file, "name", "model file")
    path = os.fspath(path_or_file)
    return path, repr(path)


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
    target, source = _open(path)
    try:
        zf = zipfile.ZipFile(target, "r")
    except zipfile.BadZipFile:
        _fail(source, "not a zip archive (truncated, or not a model file)")
    except (EOFError, OSError) as exc:
        if isinstance(exc, (FileNotFoundError, IsADirectoryError, PermissionError)):
            raise
        _fail(source, f"cannot be read ({exc})")
    with zf:
        manifest = _read_manifest(zf, source)
        name = manifest["estimator"]
        if name not in _REGISTRY:
            _fail(source, f"unknown estimator {name!r}; this fairfast knows {registered_estimators()}")
        names = set(zf.namelist())
        listing = manifest["arrays"]
        expected = {_MANIFEST} | {spec.get("entry") for spec in listing.values() if isinstance(spec, dict)}
        unexpected = sorted(names - expected)
        if unexpected:
            _fail(source, f"unexpected entries {unexpected[:5]}")
        arrays = {key: _read_array(zf, source, key, spec, names) for key, spec in listing.items()}
    cls = _resolve(name)
    try:
        estimator = cls._from_state(manifest["meta"], arrays)
    except ValueError as exc:
        _fail(source, str(exc))
    except (KeyError, TypeError, IndexError, AttributeError) as exc:
        kind = "missing" if isinstance(exc, KeyError) else "malformed"
        _fail(source, f"the {name} state is {kind} ({type(exc).__name__}: {exc})")
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
