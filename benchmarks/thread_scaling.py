"""Thread scaling of the hot paths, and single-thread time against an older build, in one run.

Every row of the scaling issue's acceptance table, at each thread count, with the
same data and interleaved rounds so that a drift of the machine's speed hits every
configuration alike:

- ``barycenter_k2``, ``barycenter_k8``: ``WassersteinBarycenter`` fit on n rows and
  transform of n other rows, K = 2 and K = 8 groups (``fairfast.bench.make_workload``);
- ``w1``, ``w2``, ``ks``: ``wasserstein_distance`` (p = 1, 2) and ``ks_distance`` of two
  samples of n rows;
- ``group_metrics``: :func:`fairfast.metrics.group_metrics` of n rows by two sensitive
  columns (5 x 2 intersections; the workload of ``bench_metrics.py``);
- ``read_group_metrics``: a sum of the same four int64 columns (``np.sum`` on contiguous
  chunks, one per thread, which releases the GIL): the memory-bandwidth floor of that
  workload's counting pass, which reads those 32 n bytes once;
- with ``--large``: ``transform_large``, transform of ``--n-large`` rows by a model fitted
  on 1e5, and ``copy_large``, a copy of the same array by as many threads
  (``np.copyto`` on contiguous chunks, which releases the GIL): the memory-bandwidth
  floor of that transform.

Each Python interpreter (this one, and ``--baseline-python``, the interpreter of an
older build) runs one worker process that loads the data once and changes fairfast's
threads between calls (``fairfast.set_num_threads``). Per workload, each configuration
makes one untimed call (its output is hashed: the outputs must be bit-identical at
every thread count), then ``--rounds`` timed calls, the configurations taking turns in
a rotating order. The baseline runs at the first thread count only.

The table gives, per thread count, the minimum and median time; the speed-up of each
count over the first (ratio of medians, and of minima in the JSON); with a baseline,
this build's time at the first count over the baseline's (medians; minima in the
JSON); and whether the outputs agree bit for bit across thread counts (``same``) and
with the baseline (``=base``). Run from the repository root (about 2-3 minutes on two
cores at the default sizes)::

    python benchmarks/thread_scaling.py --threads 1,2 --baseline-python /path/to/old/venv/bin/python \\
        --json scaling.json

and on a 16-core machine::

    python benchmarks/thread_scaling.py --threads 1,2,4,8,16 --large --json scaling16.json

Times are reported, never asserted; measure on a quiet machine.
"""

import argparse
import hashlib
import json
import os
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np

WORKLOADS = ("barycenter_k2", "barycenter_k8", "w1", "w2", "ks", "group_metrics", "read_group_metrics")
LARGE_WORKLOADS = ("transform_large", "copy_large")
FLOORS = ("copy_large", "read_group_metrics")  # numpy in Python threads: no fairfast, no baseline
GROUP_METRICS = ["selection_rate", "accuracy", "true_positive_rate", "false_positive_rate"]


# -- data (made once, by this build, saved as .npy for every worker) -----------------------


def _group_metrics_data(n, seed=0):
    rng = np.random.default_rng(seed)
    race = rng.choice(5, n, p=[0.4, 0.3, 0.15, 0.1, 0.05]).astype(np.int64)
    sex = rng.integers(0, 2, n).astype(np.int64)
    y = (rng.random(n) < 0.3 + 0.05 * race).astype(np.int64)
    p = (rng.random(n) < np.where(y == 1, 0.7, 0.2)).astype(np.int64)
    return {"y": y, "p": p, "race": race, "sex": sex}


def make_data(workload, n, n_large):
    """Arrays of one workload (a dict of name to array)."""
    from fairfast.bench import make_workload

    keep = ("u", "v", "z_calib", "s_calib", "z", "s")
    if workload.startswith("barycenter_k"):
        data = make_workload("barycenter", n, n_groups=int(workload[len("barycenter_k"):]))
    elif workload in ("w1", "w2", "ks"):
        data = make_workload(workload, n)
    elif workload == "transform_large":
        data = make_workload("barycenter_transform", n_large)
    elif workload == "copy_large":
        data = {"z": make_workload("barycenter_transform", n_large)["z"]}
    elif workload in ("group_metrics", "read_group_metrics"):
        return _group_metrics_data(n)
    else:
        raise ValueError(f"unknown workload {workload!r}; known: {', '.join(WORKLOADS + LARGE_WORKLOADS)}")
    return {k: v for k, v in data.items() if k in keep}


# -- worker: runs in each interpreter, one JSON command per line on stdin --------------------


def _digest(result):
    if isinstance(result, float):
        return float(result).hex()
    if hasattr(result, "to_numpy"):  # a DataFrame
        result = np.ascontiguousarray(result.to_numpy(dtype=np.float64))
    return hashlib.sha1(np.ascontiguousarray(result).view(np.uint8)).hexdigest()


def _chunks(n, threads):
    """``threads`` contiguous (start, stop) slices covering ``range(n)`` (array_split's sizes)."""
    size, extra = divmod(n, threads)
    stops = np.cumsum([size + (k < extra) for k in range(threads)]).tolist()
    return [(stop - size - (k < extra), stop) for k, stop in enumerate(stops) if size + (k < extra)]


def _parallel_copy(src, dst, threads):
    with ThreadPoolExecutor(threads) as pool:
        list(pool.map(lambda ab: np.copyto(dst[ab[0]:ab[1]], src[ab[0]:ab[1]]), _chunks(src.size, threads)))
    return dst


def _parallel_sum(columns, threads):
    def part(ab):
        return [int(a[ab[0]:ab[1]].sum()) for a in columns]

    with ThreadPoolExecutor(threads) as pool:
        parts = list(pool.map(part, _chunks(columns[0].size, threads)))
    return np.array([sum(col) for col in zip(*parts)], dtype=np.int64)


def prepare_call(workload, data):
    """The call to time: a function of the thread count returning the output."""
    if workload == "read_group_metrics":
        columns = [data[k] for k in ("y", "p", "race", "sex")]
        return lambda threads: _parallel_sum(columns, threads)
    if workload == "copy_large":
        z = data["z"]
        out = np.empty_like(z)
        out.fill(0.0)
        return lambda threads: _parallel_copy(z, out, threads)
    import fairfast

    def with_threads(fn):
        def call(threads):
            fairfast.set_num_threads(threads)
            return fn()

        return call

    if workload.startswith("barycenter_k"):
        from fairfast.postprocessing import WassersteinBarycenter

        zc, sc, z, s = data["z_calib"], data["s_calib"], data["z"], data["s"]
        return with_threads(lambda: WassersteinBarycenter(random_state=0).fit(zc, sensitive_features=sc)
                            .transform(z, sensitive_features=s))
    if workload in ("w1", "w2", "ks"):
        from fairfast.transport import ks_distance, wasserstein_distance

        u, v = data["u"], data["v"]
        if workload == "ks":
            return with_threads(lambda: float(ks_distance(u, v)))
        return with_threads(lambda: float(wasserstein_distance(u, v, p=1 if workload == "w1" else 2)))
    if workload == "transform_large":
        from fairfast.postprocessing import WassersteinBarycenter

        model = WassersteinBarycenter(random_state=0).fit(data["z_calib"], sensitive_features=data["s_calib"])
        z, s = data["z"], data["s"]
        out = np.empty_like(z)
        out.fill(0.0)  # fault the pages in now, not inside the timed call
        return with_threads(lambda: model.transform(z, sensitive_features=s, out=out))
    if workload == "group_metrics":
        from fairfast.metrics import group_metrics

        y, p, sf = data["y"], data["p"], {"race": data["race"], "sex": data["sex"]}
        return with_threads(lambda: group_metrics(y, p, sensitive_features=sf, metrics=GROUP_METRICS))
    raise ValueError(f"unknown workload {workload!r}")


def worker():
    """Serve ``load``, ``call`` and ``quit`` commands (JSON lines) until stdin closes."""
    call = None
    for line in sys.stdin:
        cmd = json.loads(line)
        try:
            if cmd["op"] == "load":
                call = None
                data = {k: np.load(Path(cmd["dir"]) / f"{k}.npy") for k in cmd["arrays"]}
                call = prepare_call(cmd["workload"], data)
                reply = {"ok": True}
            elif cmd["op"] == "call":
                t0 = time.perf_counter()
                result = call(cmd["threads"])
                reply = {"ok": True, "seconds": time.perf_counter() - t0}
                if cmd.get("digest"):
                    reply["digest"] = _digest(result)
                    if isinstance(result, float):
                        reply["value"] = result
                    import fairfast

                    reply["threads"] = cmd["threads"] if cmd["workload"] in FLOORS else fairfast.get_num_threads()
            else:
                return
        except Exception as exc:  # reported to the driver, which names the configuration
            reply = {"ok": False, "error": f"{type(exc).__name__}: {exc}"}
        print(json.dumps(reply), flush=True)


# -- driver -------------------------------------------------------------------------------


class Worker:
    def __init__(self, name, python):
        self.name = name
        self.python = python
        env = {**os.environ, "PYTHONUNBUFFERED": "1"}
        self.proc = subprocess.Popen([python, os.path.abspath(__file__), "--worker"], stdin=subprocess.PIPE,
                                     stdout=subprocess.PIPE, text=True, env=env, cwd=tempfile.gettempdir())

    def ask(self, **cmd):
        self.proc.stdin.write(json.dumps(cmd) + "\n")
        self.proc.stdin.flush()
        line = self.proc.stdout.readline()
        if not line:
            raise RuntimeError(f"{self.name} worker ({self.python}) exited")
        reply = json.loads(line)
        if not reply["ok"]:
            raise RuntimeError(f"{self.name} worker: {cmd.get('op')} {cmd.get('workload')}: {reply['error']}")
        return reply

    def close(self):
        try:
            self.proc.stdin.close()
            self.proc.wait(timeout=60)
        finally:
            self.proc.stdout.close()


def measure(workloads, thread_counts, *, rounds, n, n_large, baseline_python=None, log=print):
    """Times of every workload at every configuration, as a list of records."""
    unknown = [w for w in workloads if w not in WORKLOADS + LARGE_WORKLOADS]
    if unknown:
        raise ValueError(f"unknown workload {unknown[0]!r}; known: {', '.join(WORKLOADS + LARGE_WORKLOADS)}")
    workers = {"this": Worker("this build", sys.executable)}
    if baseline_python:
        workers["baseline"] = Worker("baseline", baseline_python)
    # (worker, threads) configurations; the baseline only at the first count, and the
    # copy has no fairfast (nor baseline) in it.
    records = []
    try:
        with tempfile.TemporaryDirectory(prefix="ff_scaling_") as tmp:
            for workload in workloads:
                data = make_data(workload, n, n_large)
                for k, v in data.items():
                    np.save(Path(tmp) / f"{k}.npy", v)
                arrays = list(data)
                del data
                configs = [("this", t) for t in thread_counts]
                if "baseline" in workers and workload not in FLOORS:
                    configs.append(("baseline", thread_counts[0]))
                for w in {c[0] for c in configs}:
                    workers[w].ask(op="load", workload=workload, dir=tmp, arrays=arrays)
                recs = {c: {"workload": workload, "build": c[0], "requested_threads": c[1], "times": []}
                        for c in configs}
                for c in configs:  # untimed first call: warms up, hashes the output
                    reply = workers[c[0]].ask(op="call", workload=workload, threads=c[1], digest=True)
                    recs[c].update(digest=reply["digest"], value=reply.get("value"), threads=reply["threads"],
                                   first_s=reply["seconds"])
                for r in range(rounds):
                    for c in configs[r % len(configs):] + configs[:r % len(configs)]:
                        recs[c]["times"].append(workers[c[0]].ask(op="call", workload=workload, threads=c[1])["seconds"])
                for rec in recs.values():
                    rec["min_s"] = min(rec["times"])
                    rec["median_s"] = float(np.median(rec["times"]))
                    records.append(rec)
                log(f"  {workload}: " + ", ".join(f"{b} {t}t {recs[(b, t)]['median_s']:.3f} s" for b, t in configs))
                for k in arrays:
                    (Path(tmp) / f"{k}.npy").unlink()
    finally:
        for w in workers.values():
            w.close()
    return records


def summarize(records, thread_counts):
    """One row per workload: times per count, speed-ups, baseline ratio, agreement."""
    rows = []
    for workload in dict.fromkeys(r["workload"] for r in records):
        this = {r["requested_threads"]: r for r in records if r["workload"] == workload and r["build"] == "this"}
        base = next((r for r in records if r["workload"] == workload and r["build"] == "baseline"), None)
        first = this[thread_counts[0]]
        row = {"workload": workload, "times": {t: (this[t]["min_s"], this[t]["median_s"]) for t in thread_counts},
               "threads": {t: this[t]["threads"] for t in thread_counts},
               "speedup_median": {t: first["median_s"] / this[t]["median_s"] for t in thread_counts},
               "speedup_min": {t: first["min_s"] / this[t]["min_s"] for t in thread_counts},
               "identical_across_threads": len({this[t]["digest"] for t in thread_counts}) == 1}
        if base is not None:
            row.update(baseline=(base["min_s"], base["median_s"]),
                       vs_baseline_median=first["median_s"] / base["median_s"],
                       vs_baseline_min=first["min_s"] / base["min_s"],
                       identical_to_baseline=base["digest"] == first["digest"])
        rows.append(row)
    return rows


def format_rows(rows, thread_counts):
    head = ["workload"] + [f"{t}t min/median" for t in thread_counts]
    head += [f"x{t}" for t in thread_counts[1:]]
    with_base = any("baseline" in r for r in rows)
    if with_base:
        head += [f"base {thread_counts[0]}t min/median", f"{thread_counts[0]}t/base"]
    head += ["same"] + (["=base"] if with_base else [])
    table = [head]
    for r in rows:
        line = [r["workload"]] + [f"{a:.3f}/{b:.3f}" for a, b in (r["times"][t] for t in thread_counts)]
        line += [f"{r['speedup_median'][t]:.2f}" for t in thread_counts[1:]]
        if with_base:
            line += ([f"{r['baseline'][0]:.3f}/{r['baseline'][1]:.3f}", f"{r['vs_baseline_median']:.3f}"]
                     if "baseline" in r else ["-", "-"])
        line += ["yes" if r["identical_across_threads"] else "NO"]
        if with_base:
            line += ["-" if "baseline" not in r else "yes" if r["identical_to_baseline"] else "no"]
        table.append(line)
    widths = [max(len(row[i]) for row in table) for i in range(len(head))]
    return "\n".join("  ".join(c.ljust(w) if i == 0 else c.rjust(w) for i, (c, w) in enumerate(zip(row, widths)))
                     for row in table)


def _counts(text):
    counts = [int(t) for t in text.split(",")]
    if not counts or min(counts) < 1:
        raise argparse.ArgumentTypeError(f"thread counts must be positive integers, got {text!r}")
    return counts


def main(argv=None):
    if argv and argv[0] == "--worker":
        worker()
        return 0
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--threads", type=_counts, default=[1, 2], help="thread counts, first is the reference (1,2)")
    ap.add_argument("--rounds", type=int, default=5, help="timed calls per configuration (5)")
    ap.add_argument("--n", type=float, default=1e7, help="rows per sample (1e7)")
    ap.add_argument("--large", action="store_true", help="also the large transform and the parallel copy")
    ap.add_argument("--n-large", type=float, default=1e8, help="rows of the large transform (1e8)")
    ap.add_argument("--workloads", default=None, help=f"comma-separated, among {','.join(WORKLOADS + LARGE_WORKLOADS)}")
    ap.add_argument("--baseline-python", default=None, help="interpreter of an older build, timed at the first count")
    ap.add_argument("--json", default=None, help="write the records, rows and machine information here")
    args = ap.parse_args(argv)
    workloads = (args.workloads.split(",") if args.workloads else list(WORKLOADS) + (list(LARGE_WORKLOADS) if args.large else []))
    from fairfast.bench import machine_info

    machine = machine_info()
    print(f"{machine['cpu_model']}, {machine['cpu_count']} CPUs, fairfast {machine['fairfast']}, numpy {machine['numpy']}, "
          f"load {machine['loadavg_start']}; threads {','.join(map(str, args.threads))}, {args.rounds} rounds", flush=True)
    t0 = time.perf_counter()
    records = measure(workloads, args.threads, rounds=args.rounds, n=int(args.n), n_large=int(args.n_large),
                      baseline_python=args.baseline_python, log=lambda s: print(s, flush=True))
    rows = summarize(records, args.threads)
    print(format_rows(rows, args.threads))
    machine["loadavg_end"] = [round(x, 2) for x in os.getloadavg()]
    print(f"load at the end {machine['loadavg_end']}; {time.perf_counter() - t0:.0f} s")
    if args.json:
        doc = {"machine": {**machine, "thread_counts": args.threads},
               "config": {"workloads": workloads, "n": int(args.n), "n_large": int(args.n_large), "rounds": args.rounds,
                          "baseline_python": args.baseline_python, "argv": sys.argv[1:]},
               "records": records, "rows": rows}
        Path(args.json).write_text(json.dumps(doc, indent=1, default=str))
    return 0 if all(r["identical_across_threads"] for r in rows) else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
