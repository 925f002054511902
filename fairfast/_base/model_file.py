"""The model-file container: a zip of one JSON manifest and ``.npy`` arrays (no pickle).

The format is described in ``docs/model_format.md``. Writing is atomic (a temporary
file renamed over the destination). Reading never runs code and uses bounded memory:

- entries must be stored uncompressed, so no entry can expand beyond the bytes that
  are really in the file (a deflate "zip bomb" is refused before it is inflated), and
  no entry may claim more bytes than the file holds;
- the manifest is limited in size and nesting depth;
- each array's ``.npy`` header is parsed first, and its dtype, shape and byte count are
  checked against the manifest and the entry's stored size before any data is read;
- every array is checked against the SHA-256 in the manifest (this detects damage, not
  tampering: the sums live in the same file).

What the arrays mean is checked by the estimator's ``_from_state``.
"""

import hashlib
import io
import json
import math
import os
import zipfile

import numpy as np

from .atomic import atomic_path

__all__ = ["FORMAT_NAME", "FORMAT_VERSION", "MAX_ARRAY_BYTES", "read_model_file", "write_model_file"]

FORMAT_NAME = "fairfast-model"
FORMAT_VERSION = 1
MANIFEST = "model.json"
ALLOWED_DTYPES = frozenset(
    np.dtype(t).str
    for t in (np.bool_, np.int8, np.int16, np.int32, np.int64, np.uint8, np.uint16, np.uint32, np.uint64,
              np.float32, np.float64)
)
MAX_MANIFEST_BYTES = 64 << 20
MAX_JSON_DEPTH = 64
#: Largest array a model file may hold (one entry); the whole file is also bounded by
#: what is stored in it, since entries are never compressed.
MAX_ARRAY_BYTES = 1 << 36
_MAX_NPY_HEADER = 1 << 16


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
    if array.dtype.str not in ALLOWED_DTYPES:
        raise ValueError(f"state array {name!r} has dtype {array.dtype}; model files hold bool, int and float arrays")
    buffer = io.BytesIO()
    np.lib.format.write_array(buffer, array, allow_pickle=False)
    return array, buffer.getvalue()


def _zipinfo(name):
    info = zipfile.ZipInfo(name, date_time=(1980, 1, 1, 0, 0, 0))  # reproducible bytes
    info.compress_type = zipfile.ZIP_STORED
    info.external_attr = 0o644 << 16
    return info


def write_model_file(path, estimator_name, meta, arrays, metadata=None):
    """Write a model file atomically: `meta` (JSON-able) and `arrays` (name -> ndarray).

    Raises ``ValueError``/``TypeError`` naming what cannot be written; `path` is then
    left as it was.
    """
    if not isinstance(arrays, dict):
        raise TypeError(f"the state of {estimator_name} must hold a dict of arrays, got {type(arrays).__name__}")
    if metadata is not None and not isinstance(metadata, dict):
        raise TypeError(f"metadata must be a dict or None, got {type(metadata).__name__}")
    if os.path.isdir(os.fspath(path)):
        raise ValueError(f"path {os.fspath(path)!r} is a directory; give the model file's name, e.g. model.ffm")
    from .version import __version__

    entries, listing = [], {}
    for i, (key, array) in enumerate(arrays.items()):
        if not isinstance(key, str):
            raise TypeError(f"state array names must be strings, got {key!r}")
        array, data = _npy_bytes(key, array)
        entry = f"arrays/{i}.npy"
        listing[key] = {"entry": entry, "dtype": array.dtype.str, "shape": list(array.shape),
                        "sha256": hashlib.sha256(data).hexdigest()}
        entries.append((entry, data))
    manifest = {
        "format": FORMAT_NAME,
        "format_version": FORMAT_VERSION,
        "fairfast_version": __version__,
        "estimator": estimator_name,
        "meta": meta,
        "metadata": metadata if metadata is not None else {},
        "arrays": listing,
    }
    try:
        text = _to_json(manifest, f"the state of {estimator_name}").encode("utf-8")
    except UnicodeEncodeError as exc:  # a lone surrogate in a label or name
        raise ValueError(f"the state of {estimator_name} holds a string that is not valid Unicode "
                         f"({exc.reason} at {exc.object[exc.start:exc.end]!r}); rename that label") from None
    with atomic_path(path) as tmp:
        with zipfile.ZipFile(tmp, "w", compression=zipfile.ZIP_STORED, allowZip64=True) as zf:
            zf.writestr(_zipinfo(MANIFEST), text)
            for entry, data in entries:
                zf.writestr(_zipinfo(entry), data)


# -- reading -----------------------------------------------------------------------------


def fail(source, problem):
    raise ValueError(f"{source} is not a valid fairfast model file: {problem}")


def _json_depth(text):
    """Deepest nesting of JSON arrays/objects in `text` (strings skipped); linear time."""
    depth = deepest = 0
    in_string = escaped = False
    for ch in text:
        if in_string:
            if escaped:
                escaped = False
            elif ch == "\\":
                escaped = True
            elif ch == '"':
                in_string = False
        elif ch == '"':
            in_string = True
        elif ch in "[{":
            depth += 1
            deepest = max(deepest, depth)
        elif ch in "]}":
            depth -= 1
    return deepest


def _reject_constant(token):
    raise ValueError(f"{token} is not allowed in model files")


def _check_stored(info, source, archive_bytes):
    if info.compress_type != zipfile.ZIP_STORED:
        fail(source, f"entry {info.filename!r} is compressed; model files store their entries uncompressed")
    if info.file_size != info.compress_size:
        fail(source, f"entry {info.filename!r} declares {info.file_size} bytes but stores {info.compress_size}")
    if info.header_offset + info.compress_size > archive_bytes:
        # the zip's directory may claim more than the file holds: never allocate for it
        fail(source, f"entry {info.filename!r} declares {info.file_size} bytes, more than the "
                     f"{archive_bytes}-byte file holds")


def _archive_bytes(zf):
    position = zf.fp.tell()
    try:
        return zf.fp.seek(0, os.SEEK_END)
    finally:
        zf.fp.seek(position)


def _read_manifest(zf, source, archive_bytes):
    try:
        info = zf.getinfo(MANIFEST)
    except KeyError:
        fail(source, f"it has no {MANIFEST} entry")
    _check_stored(info, source, archive_bytes)
    if info.file_size > MAX_MANIFEST_BYTES:
        fail(source, f"{MANIFEST} is {info.file_size} bytes, more than the {MAX_MANIFEST_BYTES} allowed")
    try:
        text = zf.read(info).decode("utf-8")
    except (zipfile.BadZipFile, EOFError, OSError) as exc:
        fail(source, f"{MANIFEST} cannot be read ({exc})")
    except UnicodeDecodeError as exc:
        fail(source, f"{MANIFEST} is not valid JSON ({exc})")
    if _json_depth(text) > MAX_JSON_DEPTH:
        fail(source, f"{MANIFEST} nests JSON deeper than {MAX_JSON_DEPTH} levels")
    try:
        manifest = json.loads(text, parse_constant=_reject_constant)
    except (ValueError, RecursionError) as exc:
        fail(source, f"{MANIFEST} is not valid JSON ({exc})")
    if not isinstance(manifest, dict):
        fail(source, f"{MANIFEST} must hold a JSON object")
    if manifest.get("format") != FORMAT_NAME:
        fail(source, f"format is {manifest.get('format')!r}, expected {FORMAT_NAME!r}")
    version = manifest.get("format_version")
    if isinstance(version, bool) or not isinstance(version, int) or version < 1:
        fail(source, f"format_version must be a positive integer, got {version!r}")
    if version > FORMAT_VERSION:
        raise ValueError(
            f"{source} uses model format version {version} (written by fairfast "
            f"{manifest.get('fairfast_version', '?')}); this fairfast reads versions up to "
            f"{FORMAT_VERSION}: upgrade fairfast to load it"
        )
    for key, kind in (("estimator", str), ("meta", dict), ("arrays", dict)):
        if not isinstance(manifest.get(key), kind):
            fail(source, f"{key!r} must be a JSON {'string' if kind is str else 'object'}")
    if not isinstance(manifest.get("metadata", {}), dict):
        fail(source, "'metadata' must be a JSON object")
    return manifest


def _big_endian(dtype, key, source):
    fail(source, f"array {key!r} is big-endian ({dtype}); model files hold little-endian arrays: load the model "
                 f"with the program that wrote it and save it again with fairfast's save()")


def _declared(spec, key, source):
    dtype, shape = spec.get("dtype"), spec.get("shape")
    if isinstance(dtype, str) and dtype.startswith(">") and "<" + dtype[1:] in ALLOWED_DTYPES:
        _big_endian(dtype, key, source)
    if not isinstance(dtype, str) or dtype not in ALLOWED_DTYPES:
        fail(source, f"array {key!r} has dtype {dtype!r} in the manifest; model files hold bool, int and float arrays")
    if (not isinstance(shape, list) or len(shape) > 32
            or not all(isinstance(d, int) and not isinstance(d, bool) and d >= 0 for d in shape)):
        fail(source, f"array {key!r} has shape {shape!r} in the manifest; expected a list of non-negative integers")
    nbytes = math.prod(shape) * np.dtype(dtype).itemsize
    if nbytes > MAX_ARRAY_BYTES:
        fail(source, f"array {key!r} would take {nbytes} bytes, more than the {MAX_ARRAY_BYTES} a model file may hold")
    return np.dtype(dtype), tuple(shape), nbytes


def _read_npy_header(handle, key, source):
    try:
        version = np.lib.format.read_magic(handle)
        if version == (1, 0):
            header = np.lib.format.read_array_header_1_0(handle, max_header_size=_MAX_NPY_HEADER)
        elif version == (2, 0):
            header = np.lib.format.read_array_header_2_0(handle, max_header_size=_MAX_NPY_HEADER)
        else:
            fail(source, f"array {key!r} uses .npy format version {version}; expected 1.0 or 2.0")
    except ValueError as exc:
        if "not a valid fairfast model file" in str(exc):
            raise
        fail(source, f"array {key!r} is not a plain .npy array ({exc})")
    return header


def _read_array(zf, source, key, spec, names, archive_bytes):
    if not isinstance(spec, dict) or not isinstance(spec.get("entry"), str):
        fail(source, f"array {key!r} has no entry name")
    entry = spec["entry"]
    if entry not in names:
        fail(source, f"array {key!r} is missing (no entry {entry!r})")
    info = zf.getinfo(entry)
    _check_stored(info, source, archive_bytes)
    dtype, shape, nbytes = _declared(spec, key, source)
    array = None
    try:
        with zf.open(info) as handle:
            shape_read, fortran, dtype_read = _read_npy_header(handle, key, source)
            header_bytes = handle.tell()
            if dtype_read.byteorder == ">" and dtype_read.newbyteorder("<").str in ALLOWED_DTYPES:
                _big_endian(dtype_read.str, key, source)
            if dtype_read.hasobject or dtype_read.str not in ALLOWED_DTYPES or fortran:
                fail(source, f"array {key!r} is not a plain .npy array (dtype {dtype_read}, fortran order "
                             f"{fortran}); model files hold C-ordered bool, int and float arrays")
            if dtype_read.str != dtype.str:
                fail(source, f"array {key!r} has dtype {dtype_read.str}, the manifest says {spec.get('dtype')!r}")
            if tuple(shape_read) != shape:
                fail(source, f"array {key!r} has shape {list(shape_read)}, the manifest says {spec.get('shape')!r}")
            if header_bytes + nbytes != info.file_size:
                fail(source, f"array {key!r} stores {info.file_size - header_bytes} data bytes, its shape needs "
                             f"{nbytes}")
            array = np.empty(shape, dtype=dtype)  # bounded: the bytes are stored in the file
            view = memoryview(array.reshape(-1)).cast("B")
            filled = 0
            while filled < nbytes:
                got = handle.readinto(view[filled:])
                if not got:
                    fail(source, f"array {key!r} is truncated")
                filled += got
            handle.read()  # reaching the end checks the entry's CRC
        with zf.open(info) as handle:
            header = handle.read(header_bytes)
    except (zipfile.BadZipFile, EOFError, OSError) as exc:  # includes CRC mismatches
        fail(source, f"array {key!r} cannot be read ({exc})")
    digest = hashlib.sha256(header)
    digest.update(memoryview(array.reshape(-1)).cast("B"))
    if digest.hexdigest() != spec.get("sha256"):
        fail(source, f"array {key!r} does not match its SHA-256 checksum (file corrupted or modified)")
    return array


def _open(path_or_file):
    if hasattr(path_or_file, "read"):
        return path_or_file, getattr(path_or_file, "name", "model file")
    path = os.fspath(path_or_file)
    return path, repr(path)


def read_model_file(path):
    """Read and check a model file's container.

    Returns
    -------
    manifest : dict
        The checked manifest (``estimator``, ``meta``, ``metadata``, ...).
    arrays : dict of str to ndarray
        Every array listed in the manifest (writeable, C-contiguous).
    source : str
        How to name the file in messages.

    Raises
    ------
    ValueError
        The file is not a complete, unmodified model file of a supported version.
    FileNotFoundError, IsADirectoryError, PermissionError
        The path cannot be opened.
    """
    target, source = _open(path)
    try:
        zf = zipfile.ZipFile(target, "r")
    except zipfile.BadZipFile:
        fail(source, "not a zip archive (truncated, or not a model file)")
    except (EOFError, OSError) as exc:
        if isinstance(exc, (FileNotFoundError, IsADirectoryError, PermissionError)):
            raise
        fail(source, f"cannot be read ({exc})")
    with zf:
        archive_bytes = _archive_bytes(zf)
        manifest = _read_manifest(zf, source, archive_bytes)
        names = set(zf.namelist())
        listing = manifest["arrays"]
        expected = {MANIFEST} | {spec.get("entry") for spec in listing.values() if isinstance(spec, dict)}
        unexpected = sorted(names - expected)
        if unexpected:
            fail(source, f"unexpected entries {unexpected[:5]}")
        arrays = {key: _read_array(zf, source, key, spec, names, archive_bytes) for key, spec in listing.items()}
    return manifest, arrays, source
