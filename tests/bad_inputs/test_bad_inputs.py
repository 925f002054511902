"""The permanent bad-input suite: every case of the catalogue (tests/bad_inputs/
catalogue.py) in worker processes, each outcome a clear error, a correct result or a
defect; the test fails on any defect not listed in ``KNOWN_DEFECTS``.

Run with ``-s`` to see the totals (or ``python tests/bad_inputs/runner.py``).
"""

import json

from catalogue import KNOWN_DEFECTS, cases
from runner import classify, run


def test_the_catalogue_holds_no_defect():
    totals, rows = run()
    defects = [f"{i} [{category}]: {detail}" for i, category, kind, detail in rows
               if kind == "defect" and i not in KNOWN_DEFECTS]
    known = [i for i, _, kind, _ in rows if kind == "defect" and i in KNOWN_DEFECTS]
    print("\nbad-input totals:", json.dumps({**totals, "known defects": known}))
    assert totals["cases"] >= 400
    assert not defects, "\n".join(defects)
    assert set(known) <= set(KNOWN_DEFECTS)


def test_every_category_and_entry_point_family_is_covered():
    categories = {c[1] for c in cases()}
    assert {"nan/inf", "empty", "one row", "length mismatch", "dtype", "shape", "parameter",
            "hostile model file", "catalogue", "io", "dask", "cli"} <= categories
    code = " ".join(c[2] for c in cases())
    for entry in ("WassersteinBarycenter", "GroupThresholds", "GaussianSteering", "MeanMatching",
                  "MeanCovarianceMatching", "LEACE", "DAFHClassifier", "M.group_metrics", "M.without_harm_report",
                  "T.wasserstein_distance", "T.ecdf", "T.quantile", "T.ks_distance", "D.load_adult", "IO.load",
                  "IO.transform_file", "IO.fit_file", "dask.transform", "dask.fit", "cli('fit'", "cli('transform'",
                  "cli('audit'", ".save("):
        assert entry in code, entry


def test_the_classification_itself():
    case = ("x", "c", "f()", "error:threshold or ok:r == 1")
    exc = {"outcome": "exception", "clear_type": True, "type": "ValueError"}
    assert classify(case, {**exc, "message": "threshold must be a real number"})[0] == "clear error"
    assert classify(case, {**exc, "message": "something failed"})[0] == "defect"  # names no argument
    assert classify(case, {**exc, "clear_type": False, "type": "IndexError", "message": "threshold"})[0] == "defect"
    assert classify(case, {"outcome": "result", "check": True, "shown": "1"})[0] == "correct result"
    assert classify(case, {"outcome": "result", "check": False, "shown": "nan"})[0] == "defect"
    assert classify(case, {"outcome": "crash", "message": "crash (exit -11)"})[0] == "defect"
    assert classify(case, None)[0] == "defect"
