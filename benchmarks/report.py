"""Markdown report of a fairfast benchmark run: median times and peer/fairfast ratios.

Usage (from the repository root)::

    python -m pytest benchmarks --benchmark-json=bench.json --bench-max-n=1e7
    python benchmarks/report.py bench.json

    # acceptance sizes: 1e7 everywhere, the 1e8-row transform, EquiPy at 1e7 (one round)
    python -m pytest benchmarks --benchmark-json=bench.json --bench-max-n=1e8 --bench-slow-peers
    python benchmarks/report.py bench.json [more.json ...] [--stat min]

One table per kernel, one row per (n, K): the statistic (median by default) of each
implementation and, for each peer, the ratio ``peer / fairfast`` (above 1: fairfast is
faster). For the memory-bandwidth baseline ``copyto`` the ratio is inverted,
``fairfast / copyto`` (how many copies of the score array one transform costs). A time
marked ``*`` comes from a single round. An "Acceptance" section sets the ratios of the
foundation issue next to their targets; they are reported, never asserted.

Only the standard library is used, so the report runs anywhere the JSON file is.
"""

import argparse
import json
import math
import sys
from collections import defaultdict

#: Baselines reported as fairfast / baseline rather than baseline / fairfast.
BASELINES = ("copyto",)
#: Column order of the implementations (others follow alphabetically).
ORDER = ("fairfast", "numpy", "scipy", "pot", "equipy", "copyto")
#: (kernel, n, K, peer, comparison, target, description).
ACCEPTANCE = (
    ("barycenter", 10**7, 2, "equipy", ">=", 100, "fit+transform 1e7+1e7 rows, K=2: EquiPy / fairfast"),
    ("barycenter", 10**7, 2, "numpy", ">=", 10, "fit+transform 1e7+1e7 rows, K=2: numpy reference / fairfast"),
    ("barycenter_transform", 10**8, 2, "copyto", "<=", 8, "transform 1e8 rows (fit on 1e5), K=2: fairfast / np.copyto"),
    ("w1", 10**7, None, "scipy", ">=", 10, "W1, 1e7 rows per sample: scipy / fairfast"),
    ("w1", 10**7, None, "pot", ">=", 10, "W1, 1e7 rows per sample: POT / fairfast"),
    ("w2", 10**7, None, "pot", ">=", 10, "W2, 1e7 rows per sample: POT / fairfast"),
    ("ks", 10**7, None, "scipy", ">=", 5, "KS, 1e7 rows per sample: scipy ks_2samp / fairfast"),
)


def load(paths, stat="median"):
    """``({(kernel, n, K, variant): {impl: (seconds, rounds)}}, run info)`` from JSON files.

    ``variant`` lists the benchmark's other parameters (empty for the transport and
    barycenter benchmarks), so that benchmarks with more parameters stay apart.
    """
    rows = defaultdict(dict)
    info = []
    for path in paths:
        with open(path) as f:
            doc = json.load(f)
        commit = doc.get("commit_info", {})
        machine = doc.get("machine_info", {})
        threads, built = set(), set()
        for bench in doc.get("benchmarks", []):
            extra = bench.get("extra_info", {})
            if not all(k in extra for k in ("kernel", "impl", "n")):
                continue  # not a kernel x implementation x size benchmark
            params = bench.get("params") or {}
            variant = ", ".join(f"{k}={v}" for k, v in params.items() if k not in ("impl", "n", "n_groups"))
            key = (extra["kernel"], int(extra["n"]), extra.get("n_groups"), variant)
            rows[key][extra["impl"]] = (float(bench["stats"][stat]), int(bench["stats"]["rounds"]))
            threads.add(extra.get("threads"))
            if extra.get("core_built"):
                built.add(f"{extra['core_built']} (sha256 {extra.get('core_sha256', '?')}, {extra.get('fairfast_path', '?')})")
        info.append({
            "path": path,
            "commit": commit.get("id", "?"),
            "dirty": commit.get("dirty"),
            "branch": commit.get("branch", "?"),
            "datetime": doc.get("datetime", "?"),
            "cpu": machine.get("cpu", {}).get("brand_raw", machine.get("processor", "?")),
            "cores": machine.get("cpu", {}).get("count", "?"),
            "python": machine.get("python_version", "?"),
            "threads": sorted(t for t in threads if t is not None),
            "core_built": sorted(built),
        })
    return rows, info


def _fmt_time(seconds, rounds):
    if seconds >= 1:
        text = f"{seconds:.2f} s"
    elif seconds >= 1e-3:
        text = f"{seconds * 1e3:.1f} ms"
    else:
        text = f"{seconds * 1e6:.0f} µs"
    return text + ("*" if rounds == 1 else "")


def _fmt_size(n):
    exp = int(round(math.log10(n))) if n > 0 else 0
    return f"1e{exp}" if 10**exp == n else str(n)


def ratio(times, impl):
    """peer / fairfast (fairfast / peer for a baseline), or None when either is missing."""
    if impl not in times or "fairfast" not in times:
        return None
    ff, peer = times["fairfast"][0], times[impl][0]
    return ff / peer if impl in BASELINES else peer / ff


def _ratio_header(impl):
    return f"ff/{impl}" if impl in BASELINES else f"{impl}/ff"


def tables(rows):
    """Markdown tables, one per kernel."""
    out = []
    kernels = sorted({key[0] for key in rows}, key=lambda k: (k.startswith("barycenter"), k))
    for kernel in kernels:
        keys = sorted((key for key in rows if key[0] == kernel), key=lambda key: (key[3], key[2] or 0, key[1]))
        impls = sorted({i for key in keys for i in rows[key]}, key=lambda i: (ORDER.index(i) if i in ORDER else 99, i))
        peers = [i for i in impls if i != "fairfast"]
        with_k = any(key[2] is not None for key in keys)
        with_variant = any(key[3] for key in keys)
        header = (["variant"] if with_variant else []) + ["n"] + (["K"] if with_k else [])
        header += impls + [_ratio_header(p) for p in peers]
        out.append(f"### {kernel}\n")
        out.append("| " + " | ".join(header) + " |")
        out.append("|" + "|".join(["---"] * len(header)) + "|")
        for key in keys:
            times = rows[key]
            cells = ([key[3]] if with_variant else []) + [_fmt_size(key[1])] + ([str(key[2])] if with_k else [])
            cells += [_fmt_time(*times[i]) if i in times else "–" for i in impls]
            for p in peers:
                r = ratio(times, p)
                cells.append("–" if r is None else f"{r:.2f}")
            out.append("| " + " | ".join(cells) + " |")
        out.append("")
    return "\n".join(out)


def acceptance(rows):
    """Markdown table of the foundation issue's ratio targets against the measured ratios."""
    out = ["### Acceptance (reported, not asserted)\n", "| criterion | target | measured | |", "|---|---|---|---|"]
    for kernel, n, k, peer, op, target, text in ACCEPTANCE:
        r = ratio(rows.get((kernel, n, k, ""), {}), peer)
        if r is None:
            out.append(f"| {text} | {op} {target} | not measured | |")
            continue
        met = r >= target if op == ">=" else r <= target
        out.append(f"| {text} | {op} {target} | {r:.2f} | {'met' if met else 'not met'} |")
    return "\n".join(out) + "\n"


def render(paths, stat="median"):
    rows, info = load(paths, stat)
    lines = ["## fairfast benchmarks\n"]
    for i in info:
        dirty = " (uncommitted changes present)" if i["dirty"] else ""
        lines.append(
            f"- `{i['path']}`: commit `{i['commit'][:12]}`{dirty} on {i['branch']}, run {i['datetime']}; "
            f"{i['cpu']}, {i['cores']} CPUs, Python {i['python']}; fairfast threads {i['threads']}; "
            f"compiled core built {', '.join(i['core_built']) or '?'}"
        )
    lines.append(
        f"\n{stat.capitalize()} time per call; ratios peer/ff above 1 mean fairfast is faster; "
        "ff/copyto is the transform's cost in copies of the score array; * = single round.\n"
    )
    if not rows:
        lines.append("No fairfast benchmarks found in the input.\n")
        return "\n".join(lines)
    lines.append(tables(rows))
    lines.append(acceptance(rows))
    return "\n".join(lines)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("json", nargs="+", help="pytest-benchmark JSON files (--benchmark-json)")
    parser.add_argument(
        "--stat", default="median", choices=("median", "min", "mean"), help="statistic shown (default: median)"
    )
    args = parser.parse_args(argv)
    try:
        print(render(args.json, args.stat))
    except (OSError, ValueError, KeyError) as exc:
        print(f"report.py: error: cannot read {', '.join(args.json)}: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
