"""The bad-input catalogue: hostile or degenerate arguments for every public entry point.

Each case is ``(id, category, code, expected)``: `code` is a Python expression run in a
worker process on the fixtures of :data:`PRELUDE`; `expected` names the acceptable
outcomes:

- ``"error:a|b"``: a ``ValueError``/``TypeError`` whose message names ``a`` or ``b``
  (the argument at fault);
- ``"ok:<check>"``: a result ``r`` for which ``<check>`` holds;
- ``"raises:Name"``: that exception (an ``OSError`` the documentation promises);
- several, separated by ``" or "`` (one row, for example, may be refused or handled).

:data:`KNOWN_DEFECTS` lists the defects left to other changes (named there); they are
counted, and the test fails on any other.

Anything else is a defect: another exception, a message naming no argument, a result
that fails its check, a crash (signal) or a hang. Cases run in batches per worker
process; a crash ends a batch, and the rest of it runs in a new worker.

Run ``python tests/bad_inputs/catalogue.py`` for the totals.
"""

import json
import os
import subprocess
import sys
import time

PRELUDE = r'''
import contextlib, io, os, tempfile, warnings
import numpy as np, pandas as pd
warnings.simplefilter("ignore")
import fairfast
from fairfast import datasets as D, io as IO, metrics as M, transport as T
from fairfast.cli import main as _main
from fairfast.dafh import DAFHClassifier
from fairfast.performative import Population
from fairfast.postprocessing import GroupThresholds, WassersteinBarycenter
from fairfast.steering import LEACE, GaussianSteering, MeanCovarianceMatching, MeanMatching
rng = np.random.default_rng(0)
n = 200
a = rng.integers(0, 2, n)
y = (rng.random(n) < 0.4 + 0.2 * a).astype(int)
X = rng.normal(size=(n, 3)) + a[:, None]
s = 1 / (1 + np.exp(-X[:, 0]))
pred = (s > 0.5).astype(int)
TMP = tempfile.mkdtemp()
bary = WassersteinBarycenter(random_state=0).fit(s, sensitive_features=a)
bary32 = WassersteinBarycenter(random_state=0).fit(s.astype(np.float32), sensitive_features=a)
thr = GroupThresholds().fit(s, y, sensitive_features=a)
gs = GaussianSteering().fit(X, y, sensitive_features=a)
mm = MeanMatching().fit(X, sensitive_features=a)
mcm = MeanCovarianceMatching().fit(X, sensitive_features=a)
leace = LEACE().fit(X, y, sensitive_features=a)
dafh = DAFHClassifier(hidden_layer_sizes=(4,), max_epochs=2, random_state=0).fit(X, y)
MODEL = os.path.join(TMP, "m.ffm")
bary.save(MODEL)
DATA = os.path.join(TMP, "d.parquet")
pd.DataFrame({"p": s, "g": a, "y": y}).to_parquet(DATA)
CSV = os.path.join(TMP, "d.csv")
pd.DataFrame({"p": s, "g": a, "y": y}).to_csv(CSV, index=False)
OUT = os.path.join(TMP, "out.parquet")

def with_value(v, value, i=3):
    v = np.array(v, dtype=float)
    v.flat[i] = value
    return v

def path_with(data):
    p = os.path.join(TMP, f"f{len(os.listdir(TMP))}.ffm")
    with open(p, "wb") as f:
        f.write(data)
    return p

def cli(*args):
    err = io.StringIO()
    with contextlib.redirect_stderr(err), contextlib.redirect_stdout(io.StringIO()):
        try:
            rc = _main([str(x) for x in args])
        except SystemExit as exc:  # argparse
            rc = exc.code
    return rc, err.getvalue()

def finite(r):
    r = r.to_numpy() if hasattr(r, "to_numpy") else r
    return bool(np.isfinite(np.asarray(r, dtype=float)).all())
'''

# Estimators: (name, fit template, transform template, feature argument); {F} is the
# feature/score array, {G} the sensitive features, {Y} the labels.
_ESTIMATORS = [
    ("WassersteinBarycenter", "WassersteinBarycenter(random_state=0).fit({F}, sensitive_features={G})",
     "bary.transform({F}, sensitive_features={G})", "s", "scores"),
    ("GroupThresholds", "GroupThresholds().fit({F}, {Y}, sensitive_features={G})",
     "thr.predict({F}, sensitive_features={G})", "s", "scores|X|y_score"),
    ("GaussianSteering", "GaussianSteering().fit({F}, {Y}, sensitive_features={G})",
     "gs.transform({F}, {Y}, sensitive_features={G})", "X", "X"),
    ("MeanMatching", "MeanMatching().fit({F}, sensitive_features={G})",
     "mm.transform({F}, sensitive_features={G})", "X", "X"),
    ("MeanCovarianceMatching", "MeanCovarianceMatching().fit({F}, sensitive_features={G})",
     "mcm.transform({F}, sensitive_features={G})", "X", "X"),
    ("LEACE", "LEACE().fit({F}, {Y}, sensitive_features={G})", "leace.transform({F})", "X", "X"),
    ("DAFHClassifier", "DAFHClassifier(hidden_layer_sizes=(4,), max_epochs=2).fit({F}, {Y})",
     "dafh.predict_proba({F})", "X", "X"),
]


def _estimator_cases():
    cases = []
    for name, fit, transform, f, arg in _ESTIMATORS:
        err = f"error:{arg}"
        for where, template in (("fit", fit), ("transform", transform)):
            def case(tag, category, F=f, G="a", Y="y", expected=err):
                cases.append((f"{name}.{where}:{tag}", category,
                              template.format(F=F, G=G, Y=Y), expected))
            case("nan", "nan/inf", F=f"with_value({f}, np.nan)")
            case("inf", "nan/inf", F=f"with_value({f}, np.inf)")
            case("-inf", "nan/inf", F=f"with_value({f}, -np.inf)")
            case("empty", "empty", F=f"{f}[:0]", G="a[:0]", Y="y[:0]",
                 expected=err + "|sensitive_features|y" + ("" if where == "fit" else " or ok:len(r) == 0"))
            case("one_row", "one row", F=f"{f}[:1]", G="a[:1]", Y="y[:1]",
                 expected=err + "|sensitive_features|y|group|class|sample|rows or ok:finite(r)")
            case("strings", "dtype", F=f"np.array(['x'] * n)" if f == "s" else "np.full((n, 3), 'x')",
                 expected=err + "|real|string")
            case("complex", "dtype", F=f"{f} + 1j")
            case("3d", "shape", F=f"np.zeros((n, 3, 2))", expected=err + "|dimension")
            case("timedelta", "dtype", F=f"{f}.astype('m8[s]')" if f == "s" else "X.astype('m8[s]')")
            if name != "DAFHClassifier" and not (name == "LEACE" and where == "transform"):
                case("short_groups", "length mismatch", G="a[:-1]", expected="error:sensitive_features|rows")
                case("groups_none", "missing argument", G="None", expected="error:sensitive_features")
                case("nan_group", "nan/inf", G="with_value(a, np.nan)",
                     expected="error:sensitive_features|missing" + (" or ok:finite(r)" if where == "fit" else ""))
            if where == "fit" and "{Y}" in template and name != "LEACE":  # LEACE ignores y
                case("short_y", "length mismatch", Y="y[:-1]", expected="error:y|rows|samples")
                case("nan_y", "nan/inf", Y="with_value(y, np.nan)", expected="error:y|NaN|nan|label")
            if where == "transform" and f == "X":
                case("wrong_width", "shape", F="X[:, :2]", expected="error:X|feature")
            if where == "transform" and name not in ("LEACE", "DAFHClassifier"):
                case("unseen_group", "length mismatch", G="a + 5", expected="error:sensitive_features|unseen|group")
    return cases


def _parameter_cases():
    huge = ["np.nan", "np.inf", "-1", "2**64 + 5", "'a'", "None", "1e308"]
    cases = []
    for p in ("epsilon", "jitter", "min_group_size", "random_state", "small_group_size"):
        for v in huge:
            cases.append((f"WassersteinBarycenter({p}={v})", "parameter",
                          f"WassersteinBarycenter({p}={v}).fit(s, sensitive_features=a).transform(s, "
                          f"sensitive_features=a)", f"error:{p} or ok:finite(r)"))
    for p in ("tolerance", "holdout_size", "n_bootstrap", "random_state"):
        for v in huge:
            cases.append((f"GroupThresholds({p}={v})", "parameter",
                          f"GroupThresholds({p}={v}).fit(s, y, sensitive_features=a).predict(s, sensitive_features=a)",
                          f"error:{p} or ok:finite(r)"))
    for p in ("shrinkage", "pooled_below"):
        for v in huge:
            cases.append((f"GaussianSteering({p}={v})", "parameter",
                          f"GaussianSteering({p}={v}).fit(X, y, sensitive_features=a).transform(X, y, "
                          f"sensitive_features=a)", f"error:{p} or ok:finite(r)"))
    for p in ("n_groups", "max_epochs", "batch_size", "alpha", "random_state", "validation_fraction"):
        for v in huge:
            cases.append((f"DAFHClassifier({p}={v})", "parameter",
                          f"DAFHClassifier(hidden_layer_sizes=(4,), max_epochs=2, **{{'{p}': {v}}}).fit(X, y)"
                          ".predict_proba(X)", f"error:{p} or ok:finite(r)"))
    for p in ("n_bins", "threshold", "zero_division", "pos_label", "metrics"):
        for v in huge + ["42"]:
            cases.append((f"group_metrics({p}={v})", "parameter",
                          f"M.group_metrics(y, None, scores=s, sensitive_features=a, **{{'threshold': 0.5, "
                          f"'{p}': {v}}})", f"error:{p} or ok:r.shape[0] == 2"))
    for v in huge + ["2**31", "0", "True"]:
        cases.append((f"set_num_threads({v})", "parameter", f"fairfast.set_num_threads({v})",
                      "error:n_threads or ok:r is None"))
    for v in huge:
        cases.append((f"ecdf(sample_weight={v})", "parameter", f"T.ecdf([1., 2., 3.], [1.5], sample_weight=[{v}] * 3)",
                      "error:sample_weight or ok:finite(r)"))
        cases.append((f"wasserstein_distance(p={v})", "parameter", f"T.wasserstein_distance([0., 1.], [2., 3.], p={v})",
                      "error:p or ok:finite(r)"))
        cases.append((f"quantile(q={v})", "parameter", f"T.quantile([1., 2., 3.], [{v}])", "error:q or ok:finite(r)"))
        cases.append((f"load_adult(subset={v})", "parameter", f"D.load_adult(subset={v})", "error:subset"))
        cases.append((f"bary.transform(row_offset={v})", "parameter", f"bary.transform(s, sensitive_features=a, "
                      f"row_offset={v})", "error:row_offset"))
        cases.append((f"transform_file(batch_size={v})", "parameter", f"IO.transform_file(bary, DATA, OUT, "
                      f"scores='p', sensitive_features='g', batch_size={v})", "error:batch_size"))
    return cases


_CATALOGUE = [  # the catalogue, each as a new user would try it
    ("threshold=NaN", "catalogue", "M.group_metrics(y, None, scores=s, sensitive_features=a, threshold=np.nan)",
     "error:threshold"),
    ("audit --threshold nan", "catalogue", "cli('audit', DATA, '--label', 'y', '--score', 'p', '--sensitive', 'g', "
     "'--threshold', 'nan')", "ok:r[0] == 2 and 'threshold' in r[1] and 'Traceback' not in r[1]"),
    ("timedelta64 scores", "catalogue", "M.group_metrics(y, None, scores=s.astype('m8[s]'), sensitive_features=a)",
     "error:scores"),
    ("random_state=5+2**64", "catalogue", "WassersteinBarycenter(random_state=5 + 2**64).fit(s, sensitive_features=a)",
     "error:random_state"),
    ("NaN predictions in without_harm_report", "catalogue",
     "M.without_harm_report(y, np.column_stack([with_value(pred, np.nan), pred]), a)", "error:predictions"),
    ("Population([0, 2**32], 2)", "catalogue", "Population(np.array([0, 2**32]), 2)", "error:group"),
    ("Population float codes", "catalogue", "Population(np.array([0.0, 1.7]), 2)", "error:group"),
    ("Population n_groups=-1", "catalogue", "Population(np.array([0, 0]), -1)", "error:n_groups"),
    ("float32 barycenter, float64 1e308", "catalogue",
     "bary32.transform(with_value(s, 1e308), sensitive_features=a)", "error:float32"),
    ("set_num_threads(2**31) [catalogue]", "catalogue", "fairfast.set_num_threads(2**31)", "error:n_threads"),
    ("metrics=42", "catalogue", "M.group_metrics(y, pred, sensitive_features=a, metrics=42)", "error:metrics"),
    ("zero_division='x'", "catalogue", "M.group_metrics(y, pred, sensitive_features=a, zero_division='x')",
     "error:zero_division"),
    ("threshold='a'", "catalogue", "M.group_metrics(y, None, scores=s, sensitive_features=a, threshold='a')",
     "error:threshold"),
    ("string y_true", "catalogue", "M.group_metrics(np.array(['no', 'yes'])[y], pred, sensitive_features=a)",
     "error:pos_label"),
    ("ragged cost_matrix", "catalogue",
     "GroupThresholds(objective='cost', cost_matrix=[[0, 1], [1]]).fit(s, y, sensitive_features=a)",
     "error:cost_matrix"),
    ("big-endian model array", "catalogue", "IO.load(big_endian_model())", "error:big-endian"),
    ("lone surrogate label at save", "catalogue",
     "WassersteinBarycenter().fit(s, sensitive_features=np.array(['a', '\\ud800'])[a]).save(os.path.join(TMP, 'x.ffm'))",
     "error:Unicode|label"),
    ("save() to a directory", "catalogue", "bary.save(TMP)", "error:directory"),
    ("load a directory", "hostile model file", "IO.load(TMP)", "raises:IsADirectoryError"),
    ("load a pickle", "hostile model file", "IO.load(path_with(b'\\x80\\x04K\\x01.'))", "error:model file"),
    ("load an empty file", "hostile model file", "IO.load(path_with(b''))", "error:model file"),
    ("load a truncated file", "hostile model file", "IO.load(path_with(open(MODEL, 'rb').read()[:-100]))",
     "error:model file"),
    ("fit_file missing column", "io", "IO.fit_file(DATA, scores='nope', sensitive_features='g')", "error:nope"),
    ("fit_file empty selection", "io", "IO.fit_file(DATA, scores=[], sensitive_features='g')", "error:scores"),
    ("transform_file output is input", "io", "IO.transform_file(bary, DATA, DATA, scores='p', sensitive_features='g')",
     "error:output|input|in_place"),
    ("transform_file bad on_invalid", "io", "IO.transform_file(bary, DATA, OUT, scores='p', sensitive_features='g', "
     "on_invalid='x')", "error:on_invalid"),
    ("dask.transform not a collection", "dask", "__import__('fairfast.dask').dask.transform(bary, 42, scores='p', "
     "sensitive_features='g')", "error:collection"),
    ("dask.fit not a collection", "dask", "__import__('fairfast.dask').dask.fit([1, 2], scores='p', "
     "sensitive_features='g')", "error:collection"),
    ("cli fit missing file", "cli", "cli('fit', '--data', 'nope.parquet', '--scores', 'p', '--sensitive', 'g', "
     "'--out', OUT)", "ok:r[0] != 0 and 'nope.parquet' in r[1] and 'Traceback' not in r[1]"),
    ("cli transform hostile model", "cli", "cli('transform', '--model', path_with(b'junk'), '--data', DATA, '--out', "
     "OUT)", "ok:r[0] != 0 and 'model file' in r[1] and 'Traceback' not in r[1]"),
    ("cli audit --bins -1", "cli", "cli('audit', DATA, '--label', 'y', '--score', 'p', '--sensitive', 'g', '--bins', "
     "'-1')", "ok:r[0] != 0 and 'bins' in r[1] and 'Traceback' not in r[1]"),
    ("cli audit missing column", "cli", "cli('audit', DATA, '--label', 'nope', '--score', 'p', '--sensitive', 'g')",
     "ok:r[0] != 0 and 'nope' in r[1] and 'Traceback' not in r[1]"),
    ("metrics length mismatch", "length mismatch", "M.demographic_parity_difference(y, pred[:-1], "
     "sensitive_features=a)", "error:y_pred|rows"),
    ("wasserstein empty", "empty", "T.wasserstein_distance([], [1.0])", "error:u_values|empty"),
    ("ks nan", "nan/inf", "T.ks_distance([np.nan, 1.0], [1.0])", "error:u_values"),
    ("ecdf inf weights", "nan/inf", "T.ecdf([1., 2.], [1.5], sample_weight=[np.inf, 1])", "error:sample_weight"),
]

PRELUDE += r'''
def big_endian_model():
    import hashlib, json, zipfile
    with zipfile.ZipFile(MODEL) as zf:
        contents = {name: zf.read(name) for name in zf.namelist()}
    manifest = json.loads(contents["model.json"])
    spec = manifest["arrays"]["stage0.values"]
    arr = np.load(io.BytesIO(contents[spec["entry"]])).astype(">f8")
    buf = io.BytesIO()
    np.save(buf, arr)
    contents[spec["entry"]] = buf.getvalue()
    spec.update(dtype=">f8", sha256=hashlib.sha256(buf.getvalue()).hexdigest())
    contents["model.json"] = json.dumps(manifest).encode()
    path = os.path.join(TMP, "big.ffm")
    with zipfile.ZipFile(path, "w") as zf:
        for name, blob in contents.items():
            zf.writestr(name, blob)
    return path
'''


KNOWN_DEFECTS = {}


def cases():
    """Every case of the catalogue, ids unique."""
    out = _CATALOGUE + _estimator_cases() + _parameter_cases()
    ids = [c[0] for c in out]
    assert len(set(ids)) == len(ids), f"case ids must be unique: {sorted(i for i in ids if ids.count(i) > 1)}"
    return out
