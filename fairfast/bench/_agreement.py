"""Agreement checks of the scale benchmarks: a result against a second implementation.

:func:`check_agreement` compares a result with a second implementation (fairfast's
result against the numpy reference, every other result against fairfast's) and raises
:class:`DisagreementError` when they differ.

Examples
--------
>>> from fairfast.bench._agreement import check_agreement
>>> from fairfast.bench._implementations import implementations
>>> from fairfast.bench._workloads import make_workload
>>> data = make_workload("ks", 1000, seed=0)
>>> fn = implementations("ks")["fairfast"].prepare(data)
>>> check_agreement("ks", "fairfast", data, fn())["reference"]
'numpy'
"""

import numpy as np

from ._implementations import _ff_distance
from ._references import numpy_barycenter_fit, numpy_barycenter_transform, numpy_ks, numpy_wasserstein
from ._workloads import _check_kernel

__all__ = ["DisagreementError", "check_agreement"]


class DisagreementError(AssertionError):
    """Two implementations of a kernel returned different results."""


_RTOL, _ATOL = 1e-9, 1e-12


def _sample_rows(n, size, seed=12345):
    if n <= size:
        return np.arange(n)
    return np.sort(np.random.default_rng(seed).choice(n, size=size, replace=False))


def _untied(data, rows):
    """Which of `rows` have a score that occurs at most once among its group's calibration scores.

    fairfast breaks ties between equal calibration scores with random keys (see
    ``WassersteinBarycenter``); references without those keys agree with it on the
    other rows only.
    """
    zc, sc, z, s = data["z_calib"], data["s_calib"], data["z"][rows], data["s"][rows]
    keep = np.ones(rows.shape[0], dtype=bool)
    for k in range(data["n_groups"]):
        zs = np.sort(zc[sc == k])
        if zs.shape[0] < 2 or not (zs[1:] == zs[:-1]).any():
            continue
        mine = np.flatnonzero(s == k)
        t = z[mine]
        mult = np.searchsorted(zs, t, side="right") - np.searchsorted(zs, t, side="left")
        keep[mine[mult >= 2]] = False
    return keep


def _compare_scalar(kernel, impl, ref_name, got, expected):
    if not np.isclose(got, expected, rtol=_RTOL, atol=_ATOL):
        raise DisagreementError(f"{kernel}: {impl} gives {got!r} but {ref_name} gives {expected!r}")
    return {"reference": ref_name, "abs_diff": float(abs(got - expected))}


def _compare_rows(kernel, impl, ref_name, got, expected, rows, skipped=0):
    got = np.asarray(got)[rows]
    info = {"reference": ref_name, "rows_checked": int(rows.size)}
    if skipped:
        info["tied_rows_skipped"] = int(skipped)
    if rows.size == 0:
        info["max_abs_diff"] = None
        return info
    diff = np.abs(got - expected)
    bad = ~np.isclose(got, expected, rtol=_RTOL, atol=_ATOL)
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise DisagreementError(
            f"{kernel}: {impl} and {ref_name} differ on {int(bad.sum())} of {rows.size} checked rows; "
            f"first at row {int(rows[i])}: {got[i]!r} vs {expected[i]!r}"
        )
    info["max_abs_diff"] = float(diff.max())
    return info


def check_agreement(kernel, impl, data, result, *, sample_rows=100_000):
    """Check `result` of implementation `impl` against a second implementation.

    fairfast is checked against the numpy reference, every other implementation against
    fairfast (EquiPy against ``interpolation="linear"``). Array outputs are compared on
    `sample_rows` randomly chosen rows (all rows when there are fewer); the reference
    computes only those rows where it can. Rows whose score is tied with another
    calibration score of its group are left out (fairfast breaks such ties with random
    keys, the references do not); synthetic data has no ties.

    Returns
    -------
    dict
        ``reference`` and the largest absolute difference seen (``rows_checked`` and
        ``tied_rows_skipped`` for array outputs).

    Raises
    ------
    DisagreementError
    """
    _check_kernel(kernel)
    if kernel in ("w1", "w2", "ks"):
        u, v = data["u"], data["v"]
        if impl == "fairfast":
            expected = numpy_ks(u, v) if kernel == "ks" else numpy_wasserstein(u, v, 1 if kernel == "w1" else 2)
            return _compare_scalar(kernel, impl, "numpy", result, expected)
        expected = _ff_distance(kernel)(data)()
        return _compare_scalar(kernel, impl, "fairfast", result, expected)
    z, s = data["z"], data["s"]
    rows = _sample_rows(z.shape[0], sample_rows)
    if impl == "copyto":
        return _compare_rows(kernel, impl, "input", result, z[rows], rows)
    keep = _untied(data, rows)
    skipped = int((~keep).sum())
    rows = rows[keep]
    if impl == "fairfast":
        model = numpy_barycenter_fit(data["z_calib"], data["s_calib"], data["n_groups"])
        expected = numpy_barycenter_transform(model, z[rows], s[rows])
        return _compare_rows(kernel, impl, "numpy", result, expected, rows, skipped)
    from fairfast.postprocessing import WassersteinBarycenter

    interpolation = "linear" if impl == "equipy" else "step"
    model = WassersteinBarycenter(interpolation=interpolation, random_state=0)
    model.fit(data["z_calib"], sensitive_features=data["s_calib"])
    expected = model.transform(z[rows], sensitive_features=s[rows], row_offset=0) if rows.size else z[:0]
    name = "fairfast" if interpolation == "step" else "fairfast(interpolation='linear')"
    return _compare_rows(kernel, impl, name, result, expected, rows, skipped)
