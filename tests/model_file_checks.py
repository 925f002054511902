"""Checks shared by the model-file tests of every estimator family."""

import hashlib
import io
import json
import zipfile

import numpy as np

import fairfast


def save_load(model, tmp_path):
    """Save `model` with its ``save`` method and read it back: (loaded model, path)."""
    path = tmp_path / "m.ffm"
    model.save(path)
    return fairfast.load(path), path


def assert_same_state(a, b):
    """The two fitted estimators have equal metadata and bit-identical state arrays."""
    meta_a, arr_a = a._get_state()
    meta_b, arr_b = b._get_state()
    assert json.dumps(meta_a, sort_keys=True) == json.dumps(meta_b, sort_keys=True)
    assert arr_a.keys() == arr_b.keys()
    for key in arr_a:
        assert arr_a[key].dtype == arr_b[key].dtype, key
        assert arr_a[key].shape == arr_b[key].shape, key
        assert np.ascontiguousarray(arr_a[key]).tobytes() == np.ascontiguousarray(arr_b[key]).tobytes(), key


def rewrite_model_file(path, *, array=None, meta=None):
    """Change an array or the meta of the model file at `path` in place, so that only
    the estimator's own validation can notice.

    array : (key, change) -- the stored array becomes ``change(array)`` (made
        contiguous), its manifest checksum, dtype and shape updated;
    meta : callable editing the manifest's ``meta`` dict in place.
    """
    with zipfile.ZipFile(path) as zf:
        contents = {name: zf.read(name) for name in zf.namelist()}
    manifest = json.loads(contents["model.json"])
    if array is not None:
        key, change = array
        spec = manifest["arrays"][key]
        new = np.ascontiguousarray(change(np.load(io.BytesIO(contents[spec["entry"]]), allow_pickle=False)))
        buf = io.BytesIO()
        np.save(buf, new)
        data = buf.getvalue()
        spec.update(sha256=hashlib.sha256(data).hexdigest(), dtype=new.dtype.str, shape=list(new.shape))
        contents[spec["entry"]] = data
    if meta is not None:
        meta(manifest["meta"])
    contents["model.json"] = json.dumps(manifest).encode()
    with zipfile.ZipFile(path, "w") as zf:
        for name, blob in contents.items():
            zf.writestr(name, blob)
