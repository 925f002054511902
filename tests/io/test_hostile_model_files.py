"""Hostile model files, for every registered model kind: edited containers are refused
before they cost memory, and edited states are refused at load with "model state is ..."
(never an error at transform time, or a silently wrong model).

The checksums live in the file itself, so every edit here also rewrites them: only the
container's limits and the estimator's own validation can notice.
"""

import hashlib
import io
import json
import tracemalloc
import zipfile

import numpy as np
import pytest

import fairfast
from fairfast.dafh import DAFHClassifier
from fairfast.io import registered_estimators
from fairfast.postprocessing import GroupThresholds, WassersteinBarycenter
from fairfast.steering import LEACE, GaussianSteering, MeanCovarianceMatching, MeanMatching
from model_file_checks import rewrite_model_file


def _data(n=300, seed=0):
    rng = np.random.default_rng(seed)
    a = rng.integers(0, 3, n)
    y = (rng.random(n) < 0.3 + 0.2 * (a == 1)).astype(int)
    X = rng.normal(size=(n, 3)) + 0.5 * a[:, None] + y[:, None]
    return X, y, a, 1 / (1 + np.exp(-X[:, 0]))


def _fit(kind):
    X, y, a, s = _data()
    if kind == "WassersteinBarycenter":
        return WassersteinBarycenter(random_state=0).fit(s, sensitive_features=a)
    if kind == "GroupThresholds":
        return GroupThresholds().fit(s, y, sensitive_features=a)
    if kind == "GaussianSteering":
        return GaussianSteering().fit(X, y, sensitive_features=a)
    if kind == "LEACE":
        return LEACE().fit(X, y, sensitive_features=a)
    if kind == "DAFHClassifier":
        return DAFHClassifier(hidden_layer_sizes=(4,), max_epochs=3, random_state=0).fit(X, y)
    return {"MeanMatching": MeanMatching, "MeanCovarianceMatching": MeanCovarianceMatching}[kind]().fit(
        X, sensitive_features=a)


KINDS = ("WassersteinBarycenter", "GroupThresholds", "GaussianSteering", "MeanMatching", "MeanCovarianceMatching",
         "LEACE", "DAFHClassifier")


def test_every_registered_kind_is_covered():
    assert set(KINDS) == set(registered_estimators())


@pytest.fixture(scope="module")
def saved_bytes(tmp_path_factory):
    out = {}
    for kind in KINDS:
        path = tmp_path_factory.mktemp(kind) / "m.ffm"
        _fit(kind).save(path)
        out[kind] = path.read_bytes()
    return out


@pytest.fixture
def model_file(tmp_path, saved_bytes):
    def write(kind):
        path = tmp_path / f"{kind}.ffm"
        path.write_bytes(saved_bytes[kind])
        fairfast.load(path)  # loads as saved
        return path
    return write


# -- the container ------------------------------------------------------------------------


def _contents(path):
    with zipfile.ZipFile(path) as zf:
        contents = {name: zf.read(name) for name in zf.namelist()}
    return contents, json.loads(contents["model.json"])


def _largest_float_array(manifest):
    specs = manifest["arrays"]
    return max((k for k in specs if np.dtype(specs[k]["dtype"]).kind == "f"),
               key=lambda k: int(np.prod(specs[k]["shape"])))


def _write(path, contents, manifest, deflated=(), claim=None):
    """Rebuild the zip; entries in `deflated` compressed; `claim` = (entry, size) makes the
    zip's directory claim that size for the entry (stored bytes unchanged)."""
    contents = {**contents, "model.json": manifest if isinstance(manifest, bytes) else json.dumps(manifest).encode()}
    with zipfile.ZipFile(path, "w") as zf:
        for name, blob in contents.items():
            zf.writestr(name, blob, compress_type=zipfile.ZIP_DEFLATED if name in deflated else zipfile.ZIP_STORED)
        if claim is not None:
            info = zf.getinfo(claim[0])
            info.file_size = info.compress_size = claim[1]  # the central directory is written at close


def _npy_header(dtype, shape):
    buf = io.BytesIO()
    np.lib.format.write_array_header_1_0(buf, {"descr": dtype, "fortran_order": False, "shape": shape})
    return buf.getvalue()


def _deflate_bomb(path):
    """An array entry that inflates to 24 MiB from a few tens of KiB, checksums matching."""
    contents, manifest = _contents(path)
    key = _largest_float_array(manifest)
    spec = manifest["arrays"][key]
    n = (24 << 20) // 8
    data = _npy_header("<f8", (n,)) + bytes(8 * n)
    contents[spec["entry"]] = data
    spec.update(shape=[n], dtype="<f8", sha256=hashlib.sha256(data).hexdigest())
    _write(path, contents, manifest, deflated=(spec["entry"],))
    return "is compressed; model files store their entries uncompressed"


def _deflated_manifest(path):
    contents, manifest = _contents(path)
    _write(path, contents, manifest, deflated=("model.json",))
    return "'model.json' is compressed"


def _huge_npy_header(path, manifest_agrees):
    contents, manifest = _contents(path)
    spec = manifest["arrays"][_largest_float_array(manifest)]
    data = _npy_header(spec["dtype"], (2**40,)) + bytes(64)
    contents[spec["entry"]] = data
    spec["sha256"] = hashlib.sha256(data).hexdigest()
    if manifest_agrees:
        spec["shape"] = [2**40]
    _write(path, contents, manifest)
    return "more than the .* a model file may hold" if manifest_agrees else r"has shape \[1099511627776\], the manifest"


def _lying_directory(path):
    """The zip's directory claims 64 GiB for an entry that stores a few bytes."""
    contents, manifest = _contents(path)
    spec = manifest["arrays"][_largest_float_array(manifest)]
    n = 2**33
    header = _npy_header(spec["dtype"], (n,))
    contents[spec["entry"]] = header + bytes(4096)
    spec["shape"] = [n]
    _write(path, contents, manifest, claim=(spec["entry"], len(header) + n * np.dtype(spec["dtype"]).itemsize))
    return "declares .* bytes, more than the .*-byte file holds"


def _deep_json(path, inside_meta):
    contents, manifest = _contents(path)
    deep = "[" * 100_000 + "]" * 100_000
    if inside_meta:
        manifest["meta"]["deep"] = None
        text = json.dumps(manifest).replace('"deep": null', f'"deep": {deep}').encode()
    else:
        text = deep.encode()
    _write(path, contents, text)
    return "nests JSON deeper than 64 levels"


def _big_endian(path):
    contents, manifest = _contents(path)
    spec = manifest["arrays"][_largest_float_array(manifest)]
    array = np.load(io.BytesIO(contents[spec["entry"]]), allow_pickle=False)
    array = array.astype(array.dtype.newbyteorder(">"))
    buf = io.BytesIO()
    np.save(buf, array)
    contents[spec["entry"]] = buf.getvalue()
    spec.update(dtype=array.dtype.str, sha256=hashlib.sha256(buf.getvalue()).hexdigest())
    _write(path, contents, manifest)
    return r"is big-endian \(>f[48]\); model files hold little-endian arrays: .* save it again"


CONTAINER_EDITS = {
    "deflate_bomb": _deflate_bomb,
    "deflated_manifest": _deflated_manifest,
    "npy_header_2**40_manifest_agrees": lambda p: _huge_npy_header(p, True),
    "npy_header_2**40": lambda p: _huge_npy_header(p, False),
    "zip_directory_claims_64GiB": _lying_directory,
    "json_100000_deep": lambda p: _deep_json(p, False),
    "json_100000_deep_in_meta": lambda p: _deep_json(p, True),
    "big_endian_array": _big_endian,
}


@pytest.mark.parametrize("edit", list(CONTAINER_EDITS))
@pytest.mark.parametrize("kind", KINDS)
def test_hostile_containers_are_refused_in_bounded_memory(model_file, kind, edit):
    path = model_file(kind)
    message = CONTAINER_EDITS[edit](path)
    tracemalloc.start()
    try:
        with pytest.raises(ValueError, match=f"is not a valid fairfast model file: .*{message}"):
            fairfast.load(path)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 8 << 20, f"loading the refused file allocated {peak} bytes"


# -- the state ----------------------------------------------------------------------------


def _labels(meta, kind):
    if kind == "WassersteinBarycenter":
        return meta["stages"][0]["groups"]
    if kind == "DAFHClassifier":
        return meta["classes"]
    return meta["groups"]


def _index(meta, kind):
    return meta["stages"][0]["index"] if kind == "WassersteinBarycenter" else meta["grouping"]["index"]


def _more_columns(meta, kind):
    """A changed number of sensitive columns or features (what transform would check the
    user's data against)."""
    if kind == "WassersteinBarycenter":
        meta["n_attributes"] = 2
    elif kind in ("GroupThresholds", "GaussianSteering", "MeanMatching", "MeanCovarianceMatching", "LEACE"):
        meta["grouping"]["columns"] = meta["grouping"]["columns"] * 2
    else:
        meta["n_features_in"] += 1


_INVALID_PARAMS = {
    "WassersteinBarycenter": ("interpolation", "cubic"),
    "GroupThresholds": ("mode", "sometimes"),
    "GaussianSteering": ("family", "cauchy"),
    "MeanMatching": ("reference", 99),
    "MeanCovarianceMatching": ("reference", 99),
    "LEACE": ("svd_tol", -1.0),
    "DAFHClassifier": ("n_groups", -1),
}

STATE_EDITS = {
    "duplicate_labels": lambda m, k: _labels(m, k).__setitem__(1, _labels(m, k)[0]),
    "dict_label": lambda m, k: _labels(m, k).__setitem__(0, {"a": 1}),
    "list_label": lambda m, k: _labels(m, k).__setitem__(0, [1, 2]),
    "changed_n_attributes": _more_columns,
    "group_columns_[5]": lambda m, k: _index(m, k).update(columns=[5]),
    "group_columns_[]": lambda m, k: _index(m, k).update(columns=[]),
    "invalid_parameter": lambda m, k: m["params"].update([_INVALID_PARAMS[k]]),
    "params_not_an_object": lambda m, k: m.update(params=[1]),
}
_NOT_APPLICABLE = {("DAFHClassifier", "group_columns_[5]"), ("DAFHClassifier", "group_columns_[]")}


@pytest.mark.parametrize("edit", list(STATE_EDITS))
@pytest.mark.parametrize("kind", KINDS)
def test_hand_edited_states_are_refused_at_load(model_file, kind, edit):
    if (kind, edit) in _NOT_APPLICABLE:
        pytest.skip(f"{kind} has no sensitive-feature grouping (its groups are learned)")
    path = model_file(kind)
    rewrite_model_file(path, meta=lambda m: STATE_EDITS[edit](m, kind))
    with pytest.raises(ValueError, match="is not a valid fairfast model file: model state is "
                                         "(inconsistent|incomplete or malformed|malformed)"):
        fairfast.load(path)


@pytest.mark.parametrize(
    "kind, edit",
    [
        ("WassersteinBarycenter", {"array": ("stage0.table", lambda t: np.ascontiguousarray(t[:, ::-1]))}),
        ("WassersteinBarycenter", {"meta": lambda m: m["stages"][0].update(columns=[5])}),
        ("WassersteinBarycenter", {"meta": lambda m: m["stages"][0].update(columns=[])}),
        ("GroupThresholds", {"array": ("curve_offsets", lambda o: o[::-1].copy())}),
        ("GroupThresholds", {"meta": lambda m: m.update(seed=1.5)}),
        ("GroupThresholds", {"meta": lambda m: m.update(tolerance="x")}),
        ("GroupThresholds", {"meta": lambda m: m.update(holdout=[[1, 2]])}),
        ("GroupThresholds", {"meta": lambda m: m.update(layout="2")}),
        ("GroupThresholds", {"meta": lambda m: m["classes"].__setitem__(1, m["classes"][0])}),
        ("GaussianSteering", {"meta": lambda m: m["classes"].__setitem__(0, {"a": 1})}),
        ("DAFHClassifier", {"meta": lambda m: m["params"].update(group_prior=[0.5, 0.5, 0.5])}),
    ],
)
def test_kind_specific_edits_are_refused_at_load(model_file, kind, edit):
    path = model_file(kind)
    rewrite_model_file(path, **edit)
    with pytest.raises(ValueError, match="is not a valid fairfast model file: model state is "
                                         "(inconsistent|incomplete or malformed|malformed)"):
        fairfast.load(path)
