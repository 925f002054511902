"""Thread scaling: the same benchmark run at several thread counts of fairfast's kernels.

``fairfast bench --threads 1,2,4`` measures fairfast at every count (each measurement
in its own process with ``OMP_NUM_THREADS`` set, see :mod:`fairfast.bench._runner`),
the numpy reference and the peers once, at the first count (their speed does not
depend on fairfast's threads). Each fairfast record gets ``speedup``: its median time
at the first count over its median at this count.
"""

from ._runner import run_benchmarks

__all__ = ["run_thread_scaling"]


def run_thread_scaling(kernels, sizes, *, thread_counts, peers=False, **kwargs):
    """:func:`~fairfast.bench.run_benchmarks` at every count of `thread_counts`.

    Parameters
    ----------
    kernels, sizes, peers, **kwargs
        As for :func:`~fairfast.bench.run_benchmarks` (except ``threads``).
    thread_counts : sequence of int
        Thread counts, in the order measured; speed-ups are relative to the first.

    Returns
    -------
    dict
        One report: the first count's machine information, ``config["threads"]`` and
        ``machine["thread_counts"]`` the counts, every record with its ``threads``,
        fairfast's records with ``speedup``.

    Examples
    --------
    >>> from fairfast.bench import run_thread_scaling
    >>> report = run_thread_scaling(["ks"], [1000], thread_counts=[1, 2], repeat=1, budget=0.1, isolate=False)
    >>> [(r["impl"], r["threads"]) for r in report["results"]]
    [('fairfast', 1), ('numpy', 1), ('fairfast', 2)]
    >>> report["machine"]["thread_counts"], [r["speedup"] > 0 for r in report["results"] if r["impl"] == "fairfast"]
    ([1, 2], [True, True])
    """
    counts = [int(t) for t in thread_counts]
    if not counts or min(counts) < 1:
        raise ValueError(f"thread_counts must be positive integers, got {thread_counts!r}")
    report = None
    for i, threads in enumerate(counts):
        part = run_benchmarks(kernels, sizes, threads=threads, peers=peers and i == 0, fairfast_only=i > 0,
                              **kwargs)
        for r in part["results"]:
            r["requested_threads"] = threads
        if report is None:
            report = part
        else:
            report["results"].extend(part["results"])
            report["notes"].extend(n for n in part["notes"] if n not in report["notes"])
            report["machine"]["loadavg_end"] = part["machine"].get("loadavg_end")
    report["config"]["threads"] = counts
    report["machine"]["thread_counts"] = counts
    results = report["results"]
    first = {(r["kernel"], r["n"]): r.get("median_s") for r in results
             if r["impl"] == "fairfast" and r["requested_threads"] == counts[0]}
    for r in results:  # every time over fairfast's at the first count
        base = first.get((r["kernel"], r["n"]))
        r["ratio_vs_fairfast"] = r["median_s"] / base if base and r.get("median_s") else None
        if r["impl"] == "fairfast":
            r["speedup"] = base / r["median_s"] if base and r.get("median_s") else None
    return report
