"""Model files: round trips, safety checks on damaged or foreign files, pickling."""

import hashlib
import io
import json
import os
import pickle
import zipfile

import numpy as np
import pytest

import fairfast
from fairfast.io import FORMAT_VERSION, load, read_model, register_estimator, registered_estimators, save
from fairfast.io import _registry as mf
from fairfast.postprocessing import WassersteinBarycenter
from model_file_checks import assert_same_state


def _data(n=600, seed=0, dtype=np.float64):
    rng = np.random.default_rng(seed)
    s = rng.integers(0, 3, n)
    z = (rng.normal(size=n) + s).astype(dtype)
    z[:50] = np.round(z[:50])  # ties
    return z, s


@pytest.fixture(scope="module")
def fitted():
    z, s = _data()
    return WassersteinBarycenter(random_state=3, epsilon=0.25).fit(z, sensitive_features=s), z, s


@pytest.mark.parametrize(
    "params, sensitive, dtype",
    [
        ({"random_state": 0}, "int", np.float64),
        ({"random_state": 1, "interpolation": "linear", "epsilon": 0.3}, "str", np.float32),
        ({"random_state": 2, "jitter": 1e-3, "group_weights": {0: 1.0, 1: 2.0, 2: 3.0}}, "int", np.float64),
        ({"random_state": np.random.default_rng(5)}, "tuple", np.float64),
        ({"random_state": None}, "bool", np.float64),
    ],
)
def test_round_trip_is_bit_for_bit(tmp_path, params, sensitive, dtype):
    z, s = _data(dtype=dtype)
    if sensitive == "str":
        sf = np.array(["a", "b", "c"], dtype=object)[s]
    elif sensitive == "tuple":
        import pandas as pd

        sf = pd.DataFrame({"x": s, "y": np.where(s > 0, "p", "q")})
    elif sensitive == "bool":
        sf = s > 0
    else:
        sf = s
    model = WassersteinBarycenter(**params).fit(z, sensitive_features=sf)
    path = tmp_path / "m.ffm"
    save(model, path)
    again = load(path)
    assert type(again) is WassersteinBarycenter
    assert again.groups_ == model.groups_
    assert [type(g) for g in again.groups_] == [type(g) for g in model.groups_]
    assert_same_state(model, again)
    out1 = model.transform(z, sensitive_features=sf, row_offset=17)
    out2 = again.transform(z, sensitive_features=sf, row_offset=17)
    assert out1.dtype == out2.dtype
    assert out1.tobytes() == out2.tobytes()
    # saving again gives the very same bytes (reproducible files)
    save(again, tmp_path / "m2.ffm")
    assert (tmp_path / "m.ffm").read_bytes() == (tmp_path / "m2.ffm").read_bytes()


def test_file_layout_matches_the_documented_format(tmp_path, fitted):
    model = fitted[0]
    save(model, tmp_path / "m.ffm", metadata={"columns": {"scores": ["s"]}})
    with zipfile.ZipFile(tmp_path / "m.ffm") as zf:
        manifest = json.loads(zf.read("model.json"))
        assert manifest["format"] == "fairfast-model"
        assert manifest["format_version"] == FORMAT_VERSION == 1
        assert manifest["fairfast_version"] == fairfast.__version__
        assert manifest["estimator"] == "WassersteinBarycenter"
        assert manifest["metadata"] == {"columns": {"scores": ["s"]}}
        meta, arrays = model._get_state()
        assert set(manifest["arrays"]) == set(arrays)
        for key, spec in manifest["arrays"].items():
            data = zf.read(spec["entry"])
            assert hashlib.sha256(data).hexdigest() == spec["sha256"]
            arr = np.load(io.BytesIO(data), allow_pickle=False)
            assert arr.dtype.str == spec["dtype"] and list(arr.shape) == spec["shape"]
            np.testing.assert_array_equal(arr, arrays[key])
        assert all(i.compress_type == zipfile.ZIP_STORED for i in zf.infolist())
    est, info = read_model(tmp_path / "m.ffm")
    assert info["metadata"] == {"columns": {"scores": ["s"]}}
    assert info["estimator"] == "WassersteinBarycenter"


def test_load_from_file_object(tmp_path, fitted):
    model, z, s = fitted
    save(model, tmp_path / "m.ffm")
    with open(tmp_path / "m.ffm", "rb") as f:
        again = load(f)
    np.testing.assert_array_equal(again.transform(z, sensitive_features=s), model.transform(z, sensitive_features=s))


# -- generic over the estimator state --------------------------------------------------------


class _Composite:
    """A stand-in with nested metadata and 2-D arrays, as later estimators will have."""

    def __init__(self, meta=None, arrays=None):
        self.meta, self.arrays = meta, arrays

    def _get_state(self):
        return self.meta, self.arrays

    @classmethod
    def _from_state(cls, meta, arrays):
        if arrays["stage0/table"].ndim != 2:
            raise ValueError("stage0/table must be 2-D")
        return cls(meta, arrays)


def test_any_state_round_trips(tmp_path, monkeypatch):
    monkeypatch.setitem(mf._REGISTRY, "_Composite", _Composite)
    rng = np.random.default_rng(0)
    arrays = {
        "stage0/table": rng.normal(size=(5, 3)),
        "stage1/keys": rng.integers(0, 2**63, size=7, dtype=np.uint64),
        "counts": np.arange(4, dtype=np.int64),
        "f32": rng.normal(size=(2, 2, 2)).astype(np.float32),
        "fortran": np.asfortranarray(rng.normal(size=(3, 4))),
        "big_endian": np.arange(3, dtype=">f8"),
        "empty": np.empty((0, 2)),
    }
    meta = {"stages": [{"epsilon": 0.1, "groups": [[0, "a"], [1, "b"]]}, {"x": None, "y": True}], "t": 3}
    save(_Composite(meta, arrays), tmp_path / "c.ffm")
    again = load(tmp_path / "c.ffm")
    assert again.meta == meta
    assert again.arrays.keys() == arrays.keys()
    for key, value in arrays.items():
        assert np.array_equal(again.arrays[key], value), key
        assert again.arrays[key].shape == value.shape
        assert again.arrays[key].dtype == value.dtype.newbyteorder("<") if value.dtype.byteorder == ">" else True


def test_non_json_state_and_object_arrays_are_refused(tmp_path, monkeypatch):
    monkeypatch.setitem(mf._REGISTRY, "_Composite", _Composite)
    with pytest.raises(ValueError, match="not JSON-serialisable"):
        save(_Composite({"x": object()}, {}), tmp_path / "a.ffm")
    with pytest.raises(ValueError, match="not JSON-serialisable"):
        save(_Composite({"x": float("nan")}, {}), tmp_path / "a.ffm")
    with pytest.raises(ValueError, match="dtype object"):
        save(_Composite({}, {"o": np.array([{}], dtype=object)}), tmp_path / "a.ffm")
    with pytest.raises(TypeError, match="must be an ndarray"):
        save(_Composite({}, {"o": [1, 2]}), tmp_path / "a.ffm")
    with pytest.raises(TypeError, match="metadata must be a dict"):
        save(_Composite({}, {}), tmp_path / "a.ffm", metadata=[1])
    assert not list(tmp_path.iterdir())  # nothing written, no temporary left


def test_unregistered_and_unfitted_estimators(tmp_path):
    with pytest.raises(TypeError, match="registered fairfast estimators"):
        save(object(), tmp_path / "x.ffm")

    class Sub(WassersteinBarycenter):
        pass

    z, s = _data()
    with pytest.raises(TypeError, match="got Sub"):
        save(Sub().fit(z, sensitive_features=s), tmp_path / "x.ffm")
    from sklearn.exceptions import NotFittedError

    with pytest.raises(NotFittedError):
        save(WassersteinBarycenter(), tmp_path / "x.ffm")
    assert not list(tmp_path.iterdir())


def test_register_estimator(monkeypatch):
    monkeypatch.setattr(mf, "_REGISTRY", dict(mf._REGISTRY))

    @register_estimator(name="MyModel")
    class MyModel(_Composite):
        pass

    assert "MyModel" in registered_estimators()
    assert register_estimator(MyModel, name="MyModel") is MyModel  # idempotent
    with pytest.raises(ValueError, match="already registered"):
        register_estimator(_Composite, name="MyModel")
    with pytest.raises(TypeError, match="no _get_state"):
        register_estimator(int)
    with pytest.raises(ValueError, match="non-empty string"):
        register_estimator(_Composite, name="")


# -- damaged, tampered and foreign files ----------------------------------------------------


def _rewrite(path, *, manifest=None, entries=None, drop=()):
    """Rebuild the zip at `path` with a changed manifest and/or entries."""
    with zipfile.ZipFile(path) as zf:
        contents = {name: zf.read(name) for name in zf.namelist()}
    if manifest is not None:
        contents["model.json"] = manifest(json.loads(contents["model.json"]))
        if not isinstance(contents["model.json"], bytes):
            contents["model.json"] = json.dumps(contents["model.json"]).encode()
    for name, data in (entries or {}).items():
        contents[name] = data
    with zipfile.ZipFile(path, "w") as zf:
        for name, data in contents.items():
            if name not in drop:
                zf.writestr(name, data)


def _entry(path, key):
    with zipfile.ZipFile(path) as zf:
        return json.loads(zf.read("model.json"))["arrays"][key]["entry"]


def _array_names(path, kind="f"):
    """Names of the saved arrays of one dtype kind, largest first (the state is not hard-coded)."""
    with zipfile.ZipFile(path) as zf:
        listing = json.loads(zf.read("model.json"))["arrays"]
    names = [k for k, v in listing.items() if np.dtype(v["dtype"]).kind in kind]
    return sorted(names, key=lambda k: -int(np.prod(listing[k]["shape"])))


def _stored(path, key):
    with zipfile.ZipFile(path) as zf:
        return np.load(io.BytesIO(zf.read(_entry(path, key))), allow_pickle=False)


@pytest.fixture
def saved(tmp_path, fitted):
    path = tmp_path / "m.ffm"
    save(fitted[0], path)
    return path


def test_truncated_file(saved):
    data = saved.read_bytes()
    for cut in (0, 10, len(data) // 2, len(data) - 10):
        saved.write_bytes(data[:cut])
        with pytest.raises(ValueError, match="not a zip archive"):
            load(saved)


def test_flipped_byte_in_array_data(saved):
    key = _array_names(saved)[0]
    data = bytearray(saved.read_bytes())
    with zipfile.ZipFile(saved) as zf:
        info = zf.getinfo(_entry(saved, key))
    data[info.header_offset + 30 + len(info.filename) + 200] ^= 0x01  # inside the stored .npy
    saved.write_bytes(bytes(data))
    with pytest.raises(ValueError, match=f"array '{key}' cannot be read .*CRC"):
        load(saved)


def test_checksum_mismatch(saved):
    key = _array_names(saved)[-1]
    arr = _stored(saved, key).copy()
    arr.flat[0] += 1.0
    buf = io.BytesIO()
    np.save(buf, arr)
    _rewrite(saved, entries={_entry(saved, key): buf.getvalue()})  # valid zip and CRC, stale checksum
    with pytest.raises(ValueError, match=f"array '{key}' does not match its SHA-256"):
        load(saved)


def _retarget(key, arr):
    buf = io.BytesIO()
    np.save(buf, arr)
    data = buf.getvalue()

    def manifest(m):
        m["arrays"][key]["sha256"] = hashlib.sha256(data).hexdigest()
        return m

    return data, manifest


def test_shape_and_dtype_mismatch_with_manifest(saved):
    key = _array_names(saved)[0]
    arr = _stored(saved, key)
    entry = _entry(saved, key)
    data, manifest = _retarget(key, arr.reshape(-1)[:-1])
    _rewrite(saved, manifest=manifest, entries={entry: data})
    with pytest.raises(ValueError, match=f"'{key}' has shape .* the manifest says"):
        load(saved)
    data, manifest = _retarget(key, arr.astype(np.float32))
    _rewrite(saved, manifest=manifest, entries={entry: data})
    with pytest.raises(ValueError, match=f"'{key}' has dtype <f4, the manifest says '<f8'"):
        load(saved)


@pytest.mark.parametrize("kind", ["f", "iu"])
def test_consistent_but_wrong_state_is_rejected_by_the_estimator(saved, kind):
    # checksums, dtype and shape all match the manifest, but the state itself is wrong
    key = _array_names(saved, kind)[0]
    arr = _stored(saved, key)
    bad = arr[:-1] if arr.ndim == 1 else arr[:, :-1]
    data, manifest = _retarget(key, np.ascontiguousarray(bad))

    def both(m):
        m = manifest(m)
        m["arrays"][key]["shape"] = list(bad.shape)
        return m

    _rewrite(saved, manifest=both, entries={_entry(saved, key): data})
    with pytest.raises(ValueError, match="not a valid fairfast model file: .*(inconsistent|malformed)"):
        load(saved)


def test_object_array_is_never_unpickled(saved):
    key = _array_names(saved, "biuf")[0]
    buf = io.BytesIO()
    np.save(buf, np.array([os.system], dtype=object), allow_pickle=True)
    data = buf.getvalue()

    def fix(m):
        m["arrays"][key]["sha256"] = hashlib.sha256(data).hexdigest()
        return m

    _rewrite(saved, manifest=fix, entries={_entry(saved, key): data})
    with pytest.raises(ValueError, match=f"'{key}' is not a plain .npy array"):
        load(saved)


@pytest.mark.parametrize(
    "change, message",
    [
        (lambda m: b"{not json", "model.json is not valid JSON"),
        (lambda m: b"[1, 2]", "must hold a JSON object"),
        (lambda m: b'{"format": NaN}', "not valid JSON"),
        (lambda m: {**m, "format": "other"}, "format is 'other'"),
        (lambda m: {**m, "format_version": "1"}, "format_version must be a positive integer"),
        (lambda m: {**m, "format_version": FORMAT_VERSION + 1}, "uses model format version 2.*upgrade fairfast"),
        (lambda m: {**m, "estimator": "os.system"}, "unknown estimator 'os.system'"),
        (lambda m: {**m, "meta": []}, "'meta' must be a JSON object"),
        (lambda m: {**m, "metadata": 3}, "'metadata' must be a JSON object"),
        (lambda m: {**m, "meta": {}}, "not a valid fairfast model file: .*(missing|malformed|incomplete)"),
        (lambda m: {**m, "arrays": dict(list(m["arrays"].items())[1:])}, "unexpected entries"),
        (lambda m: {**m, "arrays": {**m["arrays"], "x": {}}}, "array 'x' has no entry name"),
    ],
)
def test_bad_manifest(saved, change, message):
    _rewrite(saved, manifest=change)
    with pytest.raises(ValueError, match=message):
        load(saved)


def test_missing_array_and_missing_manifest(saved):
    key = _array_names(saved, "biuf")[0]
    _rewrite(saved, drop=(_entry(saved, key),))
    with pytest.raises(ValueError, match=rf"array '{key}' is missing \(no entry 'arrays/\d+.npy'\)"):
        load(saved)
    _rewrite(saved, drop=("model.json",))
    with pytest.raises(ValueError, match="no model.json entry"):
        load(saved)


def test_array_missing_from_the_manifest_reaches_the_estimator(saved):
    key = _array_names(saved, "biuf")[0]
    entry = _entry(saved, key)

    def drop(m):
        del m["arrays"][key]
        return m

    _rewrite(saved, manifest=drop, drop=(entry,))
    with pytest.raises(ValueError, match=f"not a valid fairfast model file: .*{key}"):
        load(saved)


def test_not_a_model_file(tmp_path):
    path = tmp_path / "x.ffm"
    path.write_bytes(b"\x80\x04K\x01.")  # a pickle
    with pytest.raises(ValueError, match="not a zip archive"):
        load(path)
    with pytest.raises(FileNotFoundError):
        load(tmp_path / "missing.ffm")


# -- atomic writes -------------------------------------------------------------------------------


def test_failed_save_keeps_the_previous_file(tmp_path, fitted, monkeypatch):
    path = tmp_path / "m.ffm"
    save(fitted[0], path)
    before = path.read_bytes()

    def boom(self, *args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(zipfile.ZipFile, "writestr", boom)
    with pytest.raises(KeyboardInterrupt):
        save(fitted[0], path)
    assert path.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["m.ffm"]


def test_saved_file_permissions_follow_umask(tmp_path, fitted):
    save(fitted[0], tmp_path / "m.ffm")
    umask = os.umask(0)
    os.umask(umask)
    assert (tmp_path / "m.ffm").stat().st_mode & 0o777 == 0o666 & ~umask


# -- pickling ----------------------------------------------------------------------------------


def test_pickle_and_joblib_round_trip(tmp_path, fitted):
    import joblib

    model, z, s = fitted
    expected = model.transform(z, sensitive_features=s, row_offset=5)
    again = pickle.loads(pickle.dumps(model))
    assert again.transform(z, sensitive_features=s, row_offset=5).tobytes() == expected.tobytes()
    joblib.dump(model, tmp_path / "m.joblib")
    again = joblib.load(tmp_path / "m.joblib")
    assert again.transform(z, sensitive_features=s, row_offset=5).tobytes() == expected.tobytes()
    # a loaded model file pickles too
    save(model, tmp_path / "m.ffm")
    again = pickle.loads(pickle.dumps(load(tmp_path / "m.ffm")))
    assert again.transform(z, sensitive_features=s, row_offset=5).tobytes() == expected.tobytes()


def test_importing_fairfast_io_and_dask_is_light(tmp_path):
    import subprocess
    import sys

    code = (
        "import sys, fairfast.io, fairfast.dask; "
        "print(sorted(m for m in ('pyarrow', 'sklearn', 'pandas', 'dask', 'scipy', 'numba') if m in sys.modules))"
    )
    # cwd=tmp_path: import the installed package, not a checkout in the working directory
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=120,
                         cwd=tmp_path)
    assert out.stdout.strip() == "[]"
