"""Timing, throughput and peak memory of one implementation on one workload.

How a measurement is made (:func:`measure`):

1. Set-up, untimed: the inputs are in memory and ``prepare(data)`` has run (fitting
   for the transform-only kernel, output buffers allocated and touched).
2. One *probe* call, untimed (warm-up: lazy imports, the OpenMP thread pool, first
   page faults); its peak memory is measured (below) and its result is checked against a second implementation
   (:func:`~fairfast.bench.check_agreement`).
3. Timed calls: ``min(repeat, budget / probe)`` of them (at least one), with the
   garbage collector off. When the probe alone took longer than `budget`, it is the
   single timing (``rounds == 1``, flagged ``"cold"``): a call of several seconds is
   not helped by a warm-up, and slow peers would otherwise cost twice as long.
   The median and the minimum of the timed calls are reported; the throughput is the
   workload's input ``rows`` over the median.

**Peak memory** is the growth of the resident set size during the probe call
(:class:`~fairfast.bench._memory.MemoryProbe`, whose docstring says how and its limits).

**Isolation.** By default every measurement runs in a fresh Python process
(``python -m fairfast.bench._worker``) that loads the inputs from ``.npy`` files, so
that the allocator state, caches and imports of one measurement never affect the
next, and the memory figure has a clean baseline. ``isolate=False`` runs in the
current process (faster to start; memory only where the high-water mark can be reset).
"""

import gc
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from ._agreement import DisagreementError, check_agreement
from ._implementations import implementations
from ._memory import MemoryProbe
from ._workloads import KERNELS, N_CALIB_TRANSFORM, make_workload, read_parquet_columns, workload_from_arrays

__all__ = [
    "CLI_NAMES",
    "choose_rounds",
    "load_workload",
    "measure",
    "measure_isolated",
    "run",
    "run_benchmarks",
    "save_workload",
]

_MIB = 1 << 20


def choose_rounds(probe_seconds, budget=2.0, max_rounds=100):
    """Rounds to time after one untimed call that took `probe_seconds`.

    About `budget` seconds of timed calls, at least 3 rounds when a call takes under a
    second (a median needs several), a single round for calls longer than `budget`.
    Used by the pytest-benchmark suite.

    Examples
    --------
    >>> from fairfast.bench._runner import choose_rounds
    >>> choose_rounds(0.01, budget=2.0), choose_rounds(0.9, budget=2.0), choose_rounds(5.0)
    (100, 3, 1)
    """
    rounds = int(budget / max(probe_seconds, 1e-9))
    if probe_seconds < 1.0:
        rounds = max(rounds, 3)
    return max(1, min(rounds, max_rounds))


def measure(kernel, impl, data, *, repeat=5, budget=5.0, threads=None, fresh_process=False):
    """Measure one implementation on one workload in this process.

    Parameters
    ----------
    kernel, impl : str
        Kernel and implementation name (see :func:`~fairfast.bench.implementations`).
    data : dict
        The workload (:func:`~fairfast.bench.make_workload`).
    repeat : int, default=5
        Most timed calls.
    budget : float, default=5.0
        Seconds of timed calls aimed at; fewer than `repeat` calls when they would
        exceed it.
    threads : int, optional
        Threads of fairfast's kernels during the measurement.
    fresh_process : bool, default=False
        See :class:`MemoryProbe`.

    Returns
    -------
    dict
        ``status`` (``"ok"``, ``"disagree"`` or ``"error"`` -- a failed call or a check
        that could not run; a disagreeing or unchecked result is still timed),
        ``times`` (seconds),
        ``rounds``, ``cold``, ``median_s``, ``min_s``, ``rows_per_s``,
        ``peak_mib`` (None when not measurable), ``memory_method``, ``rss_before_mib``,
        ``check`` (the agreement summary, or ``{"error": message}``), ``threads``,
        and ``error`` for a failed call.

    Examples
    --------
    >>> from fairfast.bench import make_workload
    >>> from fairfast.bench._runner import measure
    >>> rec = measure("w1", "fairfast", make_workload("w1", 1000), repeat=3)
    >>> rec["status"], rec["rounds"], rec["check"]["reference"]
    ('ok', 3, 'numpy')
    """
    import fairfast

    implementation = implementations(kernel).get(impl)
    if implementation is None:
        raise ValueError(f"impl must be one of {', '.join(map(repr, implementations(kernel)))}; got {impl!r}")
    rec = {"status": "ok", "times": [], "rounds": 0, "cold": False, "median_s": None, "min_s": None,
           "rows_per_s": None, "peak_mib": None, "memory_method": None,
           "rss_before_mib": None, "check": None, "threads": None}
    with fairfast.thread_limit(threads):
        rec["threads"] = fairfast.get_num_threads()
        try:
            fn = implementation.prepare(data)
            if fresh_process:
                gc.collect()  # cheap in a fresh process; a full collection of a big heap is not
            probe = MemoryProbe(fresh_process=fresh_process)
            probe.start()
            t0 = time.perf_counter()
            result = fn()
            probe_s = time.perf_counter() - t0
            first = probe.stop()
        except Exception as exc:  # a peer failing must not stop the other measurements
            rec.update(status="error", error=f"{type(exc).__name__}: {exc}")
            return rec
        try:
            rec["check"] = check_agreement(kernel, impl, data, result)
        except DisagreementError as exc:
            rec["status"] = "disagree"
            rec["check"] = {"error": str(exc)}
        except Exception as exc:  # e.g. a result of the wrong shape, or the reference failing
            message = f"the result could not be checked: {type(exc).__name__}: {exc}"
            rec.update(status="error", error=message)
            rec["check"] = {"error": message}
        del result
        rec["memory_method"] = probe.method
        if probe_s >= budget:
            times = [probe_s]
            rec["cold"] = True
            peak, before = first, probe.before
        else:
            rounds = max(1, min(int(repeat), int(budget / max(probe_s, 1e-9))))
            times = []
            enabled = gc.isenabled()
            gc.disable()
            try:
                for _ in range(rounds):
                    t0 = time.perf_counter()
                    fn()
                    times.append(time.perf_counter() - t0)
            finally:
                if enabled:
                    gc.enable()
            peak, before = first, probe.before
        if peak is not None:
            rec["peak_mib"] = peak / _MIB
            rec["rss_before_mib"] = before / _MIB
    rec["times"] = times
    rec["rounds"] = len(times)
    rec["median_s"] = float(np.median(times))
    rec["min_s"] = float(min(times))
    rec["rows_per_s"] = data["rows"] / rec["median_s"] if rec["median_s"] > 0 else None
    return rec


# -- isolated measurements ----------------------------------------------------------------

_ARRAYS = ("u", "v", "z_calib", "s_calib", "z", "s")


def save_workload(data, directory):
    """Write a workload's arrays as ``.npy`` files and the rest as ``meta.json``.

    Examples
    --------
    >>> import tempfile
    >>> from fairfast.bench import make_workload
    >>> from fairfast.bench._runner import load_workload, save_workload
    >>> data = make_workload("ks", 50)
    >>> with tempfile.TemporaryDirectory() as d:
    ...     save_workload(data, d)
    ...     back = load_workload(d)
    >>> bool((back["u"] == data["u"]).all()) and back["rows"] == 100
    True
    """
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    meta = {k: v for k, v in data.items() if k not in _ARRAYS}
    for k in _ARRAYS:
        if k in data:
            np.save(directory / f"{k}.npy", data[k])
    (directory / "meta.json").write_text(json.dumps(meta))


def load_workload(directory):
    """Read a workload written by :func:`save_workload`."""
    directory = Path(directory)
    data = json.loads((directory / "meta.json").read_text())
    for k in _ARRAYS:
        path = directory / f"{k}.npy"
        if path.exists():
            data[k] = np.load(path)
    return data


def _child_env(threads):
    env = dict(os.environ)
    import fairfast

    # The child must import this very fairfast (a source tree need not be installed).
    root = str(Path(fairfast.__file__).resolve().parent.parent)
    env["PYTHONPATH"] = root + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
    if threads is not None:
        env["OMP_NUM_THREADS"] = str(threads)
    return env


def measure_isolated(kernel, impl, workload_dir, *, repeat=5, budget=5.0, threads=None, timeout=None):
    """:func:`measure` in a fresh Python process reading the workload from `workload_dir`.

    Returns the same record; a crashed or timed-out child gives ``status="error"``.
    """
    with tempfile.TemporaryDirectory(prefix="fairfast-bench-") as tmp:
        spec_path, out_path = Path(tmp) / "spec.json", Path(tmp) / "result.json"
        spec = {"kernel": kernel, "impl": impl, "workload": str(workload_dir), "repeat": repeat,
                "budget": budget, "threads": threads, "out": str(out_path)}
        spec_path.write_text(json.dumps(spec))
        cmd = [sys.executable, "-m", "fairfast.bench._worker", str(spec_path)]
        try:
            # cwd: the workload's directory, so that a source checkout in the caller's
            # working directory cannot shadow the installed package
            proc = subprocess.run(cmd, env=_child_env(threads), capture_output=True, text=True, timeout=timeout,
                                  cwd=str(Path(spec_path).parent))
        except subprocess.TimeoutExpired:
            return {"status": "error", "error": f"timed out after {timeout} s", "times": [], "rounds": 0}
        if proc.returncode != 0 or not out_path.exists():
            tail = (proc.stderr or "").strip().splitlines()[-3:]
            return {"status": "error", "times": [], "rounds": 0,
                    "error": f"worker exited with status {proc.returncode}: {' | '.join(tail)}"}
        return json.loads(out_path.read_text())


def run(kernel, impl, n, n_groups=2, seed=0, *, repeat=5, budget=2.0, data=None, threads=None):
    """Measure one implementation on synthetic data in this process (for scripts).

    Returns
    -------
    dict
        The :func:`measure` record plus ``kernel``, ``impl``, ``n``, ``n_groups`` and
        ``rows``.

    Examples
    --------
    >>> from fairfast.bench import run
    >>> rec = run("ks", "numpy", 1000, repeat=2)
    >>> rec["kernel"], rec["n"], rec["rows"], rec["rounds"]
    ('ks', 1000, 2000, 2)
    """
    implementation = implementations(kernel).get(impl)
    if implementation is None:
        raise ValueError(f"impl must be one of {', '.join(map(repr, implementations(kernel)))}; got {impl!r}")
    if not implementation.available():
        raise ImportError(f"{impl} needs {', '.join(implementation.requires)}, which is not installed")
    if data is None:
        data = make_workload(kernel, n, n_groups, seed)
    rec = measure(kernel, impl, data, repeat=repeat, budget=budget, threads=threads)
    return {"kernel": kernel, "impl": impl, "n": data["n"], "n_groups": data["n_groups"], "rows": data["rows"], **rec}


# -- a whole benchmark run ------------------------------------------------------------------

#: Kernel names of the command line and of the reports (registry name -> short name).
CLI_NAMES = {"w1": "w1", "w2": "w2", "ks": "ks", "barycenter": "barycenter", "barycenter_transform": "transform"}
_EMPTY = {"status": None, "times": [], "rounds": 0, "cold": False, "median_s": None, "min_s": None,
          "rows_per_s": None, "peak_mib": None, "memory_method": None,
          "rss_before_mib": None, "check": None, "threads": None}


def _size_label(n):
    exp = int(round(np.log10(n))) if n > 0 else 0
    return f"1e{exp}" if 10**exp == n else str(n)


def run_benchmarks(kernels=KERNELS, sizes=(10_000, 100_000, 1_000_000), *, n_groups=2, peers=False,
                   slow_peers=False, data_file=None, scores=None, sensitive=None, threads=None, repeat=5,
                   budget=5.0, seed=0, isolate=True, timeout=None, progress=None, fairfast_only=False):
    """Measure every selected implementation of every kernel at every size.

    Parameters
    ----------
    kernels : sequence of str, default=KERNELS
        Registry names (``"barycenter_transform"``, not ``"transform"``).
    sizes : sequence of int, default=(10_000, 100_000, 1_000_000)
        ``n`` of each workload (see :func:`~fairfast.bench.make_workload`); with
        `data_file`, prefix lengths capped by the file's length.
    n_groups : int, default=2
        Groups of the synthetic barycenter workloads.
    peers : bool, default=False
        Also measure the installed peers (SciPy, POT, EquiPy) and baselines
        (``np.copyto``); fairfast and the numpy reference are always measured.
    slow_peers : bool, default=False
        Also run peers above their ``slow_above`` size (EquiPy above 1e6 rows).
    data_file, scores, sensitive : optional
        A Parquet file and its score and sensitive column(s), used instead of
        synthetic data (see :func:`~fairfast.bench.workload_from_arrays`).
    threads : int, optional
        Threads of fairfast's kernels (and ``OMP_NUM_THREADS`` of isolated runs).
    repeat, budget : int, float
        Timed calls per measurement and their time budget (see :func:`measure`).
    seed : int, default=0
        Seed of the synthetic data.
    isolate : bool, default=True
        One fresh process per measurement (see the module notes).
    timeout : float, optional
        Seconds after which an isolated measurement is abandoned.
    progress : file-like, optional
        Where to write one line per measurement as it completes.
    fairfast_only : bool, default=False
        Measure fairfast alone (no reference, no peers): the other thread counts of
        :func:`~fairfast.bench.run_thread_scaling`.

    Returns
    -------
    dict
        ``schema``, ``created``, ``machine``, ``config``, ``results`` (one record per
        kernel, implementation and size; ``ratio_vs_fairfast`` is the median time over
        fairfast's), ``unavailable`` (peers not installed) and ``notes``.

    Examples
    --------
    >>> from fairfast.bench import format_table, run_benchmarks
    >>> report = run_benchmarks(["ks"], [1000], repeat=1, budget=0.1, isolate=False)
    >>> [(r["impl"], r["status"], r["rows"]) for r in report["results"]]
    [('fairfast', 'ok', 2000), ('numpy', 'ok', 2000)]
    >>> print(format_table(report))  # doctest: +ELLIPSIS
    fairfast ... benchmark: synthetic data, 2 groups, seed 0
    ...
    ks      fairfast  1e3  ...  1.00  ok
    ks      numpy     1e3  ...  ok
    ...
    """
    from ._report import machine_info

    kernels = list(kernels)
    for k in kernels:
        if k not in KERNELS:
            raise ValueError(f"kernels must be among {', '.join(KERNELS)}; got {k!r}")
    sizes = sorted({int(n) for n in sizes})
    if not sizes or sizes[0] < 2:
        raise ValueError(f"sizes must be integers >= 2, got {sizes}")
    notes = []
    user = None
    if data_file is not None:
        need = max(sizes)
        if "barycenter_transform" in kernels:
            need = max(need, N_CALIB_TRANSFORM)
        z, codes, labels, total = read_parquet_columns(data_file, scores, sensitive, max_rows=need)
        capped = sorted({min(n, z.shape[0]) for n in sizes})
        if capped != sizes:
            notes.append(f"sizes capped by the file's {total} rows: {', '.join(map(str, capped))}")
        sizes = capped
        user = {"z": z, "codes": codes}
        source = {"type": "parquet", "path": os.fspath(data_file), "scores": scores,
                  "sensitive": list(sensitive) if not isinstance(sensitive, str) else [sensitive],
                  "rows_in_file": int(total), "groups_in_rows_read": len(labels),
                  "group_labels": [list(g) if isinstance(g, tuple) else g for g in labels][:50]}
    else:
        source = {"type": "synthetic", "n_groups": int(n_groups), "seed": int(seed)}

    report = {
        "schema": "fairfast-bench/1",
        "created": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "machine": machine_info(threads),
        "config": {"kernels": [CLI_NAMES[k] for k in kernels], "sizes": sizes, "source": source,
                   "peers": bool(peers), "slow_peers": bool(slow_peers), "threads": threads,
                   "repeat": int(repeat), "budget_s": float(budget), "isolated": bool(isolate)},
        "results": [],
        "unavailable": [],
        "notes": notes,
    }
    unavailable = {}
    with tempfile.TemporaryDirectory(prefix="fairfast-bench-data-") as tmp:
        for kernel in kernels:
            impls = [i for i in implementations(kernel).values()
                     if i.kind == "fairfast" or (not fairfast_only and (i.kind == "reference" or peers))]
            for impl in impls:
                if not impl.available():
                    unavailable[impl.name] = list(impl.requires)
            impls = [i for i in impls if i.available()]
            for n in sizes:
                base = {"kernel": CLI_NAMES[kernel], "n": n}
                try:
                    data = (make_workload(kernel, n, n_groups, seed) if user is None
                            else workload_from_arrays(kernel, user["z"], user["codes"], n, source="parquet"))
                except ValueError as exc:
                    for impl in impls:
                        report["results"].append({**base, **_EMPTY, "impl": impl.name, "kind": impl.kind,
                                                  "status": "skipped", "reason": str(exc)})
                    _progress(progress, report["results"][-1])
                    continue
                base.update(rows=data["rows"], n_groups=data["n_groups"])
                if "n_calib" in data or kernel == "barycenter_transform":
                    base["n_calib"] = int(data["z_calib"].shape[0])
                workdir = Path(tmp) / f"{kernel}-{n}"
                if isolate:
                    save_workload(data, workdir)
                    data = None  # the measurement processes load it; do not hold it twice
                for impl in impls:
                    rec = {**base, "impl": impl.name, "kind": impl.kind, "note": impl.note,
                           "versions": impl.versions()}
                    if n > impl.slow_above and not slow_peers:
                        rec.update(_EMPTY, status="skipped",
                                   reason=f"{impl.name} above n={impl.slow_above:.0e} takes minutes; add --slow-peers")
                    elif isolate:
                        rec.update(_EMPTY)
                        rec.update(measure_isolated(kernel, impl.name, workdir, repeat=repeat, budget=budget,
                                                    threads=threads, timeout=timeout))
                    else:
                        rec.update(measure(kernel, impl.name, data, repeat=repeat, budget=budget, threads=threads))
                    report["results"].append(rec)
                    _progress(progress, rec)
                del data
                if isolate:
                    for f in workdir.iterdir():
                        f.unlink()
                    workdir.rmdir()
    _add_ratios(report["results"])
    report["unavailable"] = [{"impl": k, "requires": v} for k, v in sorted(unavailable.items())]
    report["machine"]["loadavg_end"] = _loadavg()
    return report


def _loadavg():
    try:
        return [round(x, 2) for x in os.getloadavg()]
    except (AttributeError, OSError):
        return None


def _add_ratios(results):
    ff = {(r["kernel"], r["n"]): r["median_s"] for r in results
          if r["impl"] == "fairfast" and r.get("median_s")}
    for r in results:
        base = ff.get((r["kernel"], r["n"]))
        r["ratio_vs_fairfast"] = r["median_s"] / base if base and r.get("median_s") else None


def _progress(file, rec):
    if file is None:
        return
    if rec.get("median_s") is not None:
        what = f"{rec['median_s']:.4g} s"
    else:
        what = rec["status"]
    print(f"  {rec['kernel']:<10} {rec['impl']:<9} n={_size_label(rec['n']):<8} {what}", file=file, flush=True)
