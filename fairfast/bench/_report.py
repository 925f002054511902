"""Reports of a benchmark run: machine information, text table, JSON file, PNG plot."""

import json
import math
import os
import platform
import sys

__all__ = ["format_table", "machine_info", "plot", "write_json"]

#: Order of the implementations in tables and plots (others follow alphabetically).
ORDER = ("fairfast", "numpy", "scipy", "pot", "equipy", "copyto")
_KERNEL_ORDER = ("w1", "w2", "ks", "barycenter", "transform")


def _cpu_model():
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def _memory_total_gib():
    try:
        with open("/proc/meminfo") as f:
            for line in f:
                if line.startswith("MemTotal:"):
                    return round(int(line.split()[1]) / 2**20, 1)
    except OSError:
        pass
    return None


def machine_info(threads=None):
    """What a benchmark figure depends on: versions, build, CPUs, threads, load.

    Parameters
    ----------
    threads : int, optional
        Threads requested for fairfast's kernels (None: fairfast's default).

    Returns
    -------
    dict

    Examples
    --------
    >>> from fairfast.bench import machine_info
    >>> info = machine_info()
    >>> info["fairfast_threads"] >= 1 and info["cpu_count"] >= 1
    True
    """
    import numpy as np

    import fairfast
    from fairfast import _core

    build = _core.build_info()
    with fairfast.thread_limit(threads):
        n_threads = fairfast.get_num_threads()
    try:
        usable = len(os.sched_getaffinity(0))
    except AttributeError:
        usable = os.cpu_count()
    try:
        load = [round(x, 2) for x in os.getloadavg()]
    except (AttributeError, OSError):
        load = None
    return {
        "fairfast": fairfast.__version__,
        "python": sys.version.split()[0],
        "numpy": np.__version__,
        "compiler": build["compiler"],
        "cplusplus": build["cplusplus"],
        "build_type": build["build_type"],
        "openmp": build["openmp_version"] if build["openmp"] else None,
        "fairfast_threads": n_threads,
        "omp_num_threads_env": os.environ.get("OMP_NUM_THREADS"),
        "cpu_count": os.cpu_count(),
        "cpus_usable": usable,
        "cpu_model": _cpu_model(),
        "memory_gib": _memory_total_gib(),
        "platform": platform.platform(),
        "loadavg_start": load,
    }


def _fmt_seconds(s):
    if s is None:
        return "-"
    if s >= 1:
        return f"{s:.3g} s"
    if s >= 1e-3:
        return f"{s * 1e3:.3g} ms"
    return f"{s * 1e6:.3g} us"


def _fmt_rate(r):
    if r is None:
        return "-"
    for scale, suffix in ((1e9, "G"), (1e6, "M"), (1e3, "k")):
        if r >= scale:
            return f"{r / scale:.3g} {suffix}"
    return f"{r:.3g}"


def _fmt_ratio(r):
    if r is None:
        return "-"
    return f"{r:.2f}" if r >= 0.1 else f"{r:.2g}"


def _fmt_size(n):
    exp = int(round(math.log10(n))) if n > 0 else 0
    return f"1e{exp}" if 10**exp == n else str(n)


def _sorted(results):
    def key(r):
        k = _KERNEL_ORDER.index(r["kernel"]) if r["kernel"] in _KERNEL_ORDER else 99
        i = ORDER.index(r["impl"]) if r["impl"] in ORDER else 99
        return (k, r["n"], i, r["impl"], r.get("requested_threads") or 0)

    return sorted(results, key=key)


_CHECK = {"ok": "ok", "disagree": "FAILED", "error": "error", "skipped": "skipped"}


def format_table(report):
    """The run as a text table, followed by its notes, failures and absent peers.

    Columns: kernel, implementation, ``n``, median seconds per call, throughput (input
    rows per second at the median), peak memory (MiB of RSS growth during one call),
    median time over fairfast's (above 1: fairfast is faster) and the agreement check.
    A run at several thread counts (:func:`~fairfast.bench.run_thread_scaling`) adds
    the ``threads`` of each row and fairfast's ``speed-up`` over its first count.
    """
    scaling = len(report["machine"].get("thread_counts") or ()) > 1
    m, cfg = report["machine"], report["config"]
    src = cfg["source"]
    if src["type"] == "parquet":
        data = (f"{src['path']} (scores {src['scores']!r}, groups from {', '.join(src['sensitive'])}; "
                f"{src['rows_in_file']} rows)")
    else:
        data = f"synthetic data, {src['n_groups']} groups, seed {src['seed']}"
    load = m.get("loadavg_start")
    lines = [
        f"fairfast {m['fairfast']} benchmark: {data}",
        f"{m['cpu_model']}, {m['cpu_count']} CPUs ({m['cpus_usable']} usable"
        + (f", load {load[0]:.2f}" if load else "") + "), fairfast threads "
        + (",".join(map(str, m["thread_counts"])) if scaling else str(m["fairfast_threads"]))
        + f", OpenMP {m['openmp'] or 'off'}, Python {m['python']}, numpy {m['numpy']}",
        "",
    ]
    header = ["kernel", "impl", "n", "median", "rows/s", "peak MiB", "time/ff", "check"]
    if scaling:
        header[2:2] = ["threads"]
        header[-1:-1] = ["speed-up"]
    rows = []
    for r in _sorted(report["results"]):
        median = _fmt_seconds(r.get("median_s"))
        if r.get("cold"):
            median += "*"
        peak = "-" if r.get("peak_mib") is None else f"{r['peak_mib']:.1f}"
        ratio = _fmt_ratio(r.get("ratio_vs_fairfast"))
        row = [r["kernel"], r["impl"], _fmt_size(r["n"]), median, _fmt_rate(r.get("rows_per_s")),
               peak, ratio, _CHECK.get(r["status"], r["status"])]
        if scaling:
            row[2:2] = [str(r.get("requested_threads", r.get("threads")))]
            row[-1:-1] = [_fmt_ratio(r.get("speedup")) if r["impl"] == "fairfast" else ""]
        rows.append(row)
    widths = [max(len(header[j]), *(len(row[j]) for row in rows)) if rows else len(header[j])
              for j in range(len(header))]
    right = {2, 3, 4, 5, 6, 7, 8} if scaling else {2, 3, 4, 5, 6}

    def fmt(row):
        return "  ".join(c.rjust(w) if j in right else c.ljust(w) for j, (c, w) in enumerate(zip(row, widths)))

    lines.append(fmt(header).rstrip())
    lines.append("  ".join("-" * w for w in widths))
    prev = None
    for r, row in zip(_sorted(report["results"]), rows):
        if prev is not None and r["kernel"] != prev:
            lines.append("")
        prev = r["kernel"]
        lines.append(fmt(row).rstrip())
    lines.append("")
    lines.append("median: of the timed calls (* = a single call, slower than the time budget); rows/s: input rows")
    lines.append("per second at the median; peak MiB: largest RSS growth during a call; time/ff: median / fairfast's"
                 + (" at the first thread count;" if scaling else "."))
    if scaling:
        lines.append("speed-up: fairfast's median at the first thread count / its median at this count.")
    for note in report.get("notes", []):
        lines.append(f"note: {note}")
    for r in _sorted(report["results"]):
        where = f"{r['kernel']} {r['impl']} n={_fmt_size(r['n'])}"
        if r["status"] == "disagree":
            lines.append(f"DISAGREEMENT {where}: {r['check']['error']}")
        elif r["status"] == "error":
            lines.append(f"ERROR {where}: {r.get('error', '?')}")
        elif r["status"] == "skipped":
            lines.append(f"skipped {where}: {r.get('reason', '')}")
    for u in report.get("unavailable", []):
        lines.append(f"not installed: {u['impl']} (needs {', '.join(u['requires'])})")
    return "\n".join(lines) + "\n"


def write_json(report, path):
    """Write the report as indented JSON (non-finite numbers as null).

    Examples
    --------
    >>> import json, os, tempfile
    >>> from fairfast.bench import write_json
    >>> path = os.path.join(tempfile.mkdtemp(), "bench.json")
    >>> write_json({"schema": "fairfast-bench/1", "results": [{"rows_per_s": float("inf")}]}, path)
    >>> with open(path) as f:
    ...     json.load(f)["results"]
    [{'rows_per_s': None}]
    """
    def clean(x):
        if isinstance(x, float) and not math.isfinite(x):
            return None
        if isinstance(x, dict):
            return {k: clean(v) for k, v in x.items()}
        if isinstance(x, (list, tuple)):
            return [clean(v) for v in x]
        return x

    with open(path, "w") as f:
        json.dump(clean(report), f, indent=1)
        f.write("\n")


def _matplotlib():
    try:
        import matplotlib
    except ImportError:
        raise ValueError("--plot needs matplotlib, which is not installed (pip install matplotlib)") from None
    return matplotlib


def plot(report, path):
    """Throughput against size, log-log, one panel per kernel and one line per implementation.

    Raises
    ------
    ValueError
        When matplotlib is not installed.
    """
    matplotlib = _matplotlib()
    from matplotlib.figure import Figure  # no pyplot: no GUI backend, no global state

    results = [r for r in _sorted(report["results"]) if r.get("rows_per_s")]
    kernels = [k for k in _KERNEL_ORDER if any(r["kernel"] == k for r in results)]
    kernels += sorted({r["kernel"] for r in results} - set(kernels))
    ncols = min(3, max(1, len(kernels)))
    nrows = max(1, math.ceil(len(kernels) / ncols))
    fig = Figure(figsize=(4.2 * ncols, 3.4 * nrows), layout="constrained")
    axes = fig.subplots(nrows, ncols, squeeze=False).ravel()
    colors = matplotlib.rcParams["axes.prop_cycle"].by_key()["color"]
    impls = sorted({r["impl"] for r in results}, key=lambda i: (ORDER.index(i) if i in ORDER else 99, i))
    color = {impl: colors[j % len(colors)] for j, impl in enumerate(impls)}
    for ax, kernel in zip(axes, kernels):
        for impl in impls:
            pts = sorted((r["n"], r["rows_per_s"]) for r in results if r["kernel"] == kernel and r["impl"] == impl)
            if not pts:
                continue
            xs, ys = zip(*pts)
            ax.plot(xs, ys, marker="o", color=color[impl], label=impl,
                    linewidth=2.2 if impl == "fairfast" else 1.2)
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_title(kernel)
        ax.set_xlabel("n")
        ax.set_ylabel("rows / s")
        ax.grid(True, which="both", alpha=0.3)
        ax.legend(fontsize="small")
    for ax in axes[len(kernels):]:
        ax.set_visible(False)
    m = report["machine"]
    fig.suptitle(f"fairfast {m['fairfast']}: {m['cpu_count']} CPUs, fairfast threads {m['fairfast_threads']}",
                 fontsize="medium")
    fig.savefig(path, dpi=100)
