"""``fairfast bench``: the scale benchmarks as a command.

Registered in the command line (``fairfast.cli``) by ``add_bench_parser(subparsers)``; also runs on its
own as ``python -m fairfast bench``. Examples::

    fairfast bench                                   # every kernel, n = 1e4, 1e5, 1e6
    fairfast bench --kernels w1,ks --sizes 1e5,1e6,1e7 --peers --json bench.json --plot bench.png
    fairfast bench --data scored.parquet --scores p --sensitive race,sex --peers
    fairfast bench --kernels barycenter,w1,ks --sizes 1e7 --threads 1,2,4 --json scaling.json
"""

import argparse
import os
import sys

from ._common import positive_int as _positive_int
from ..bench._runner import CLI_NAMES, run_benchmarks
from ..bench._scaling import run_thread_scaling

__all__ = ["add_bench_parser", "main", "run_bench"]

_KERNEL_NAMES = {v: k for k, v in CLI_NAMES.items()}
_KERNEL_NAMES["barycenter_transform"] = "barycenter_transform"
_DEFAULT_SIZES = "1e4,1e5,1e6"


def _kernels(text):
    names = [t.strip() for t in text.split(",")]
    if names == ["all"]:
        return list(CLI_NAMES)
    out = []
    for name in names:
        if name not in _KERNEL_NAMES:
            raise argparse.ArgumentTypeError(
                f"unknown kernel {name!r}; expected a comma-separated list of "
                f"{', '.join(CLI_NAMES.values())} (or 'all')"
            )
        if _KERNEL_NAMES[name] not in out:
            out.append(_KERNEL_NAMES[name])
    return out


def _size(text):
    try:
        value = float(text)
    except ValueError:
        value = None
    if value is None or not value.is_integer() or value < 2 or value > 1e10:
        raise argparse.ArgumentTypeError(f"expected integer sizes >= 2 such as 1e4 or 250000, got {text!r}")
    return int(value)


def _sizes(text):
    parts = [t.strip() for t in text.split(",")]
    if not all(parts):
        raise argparse.ArgumentTypeError(f"expected comma-separated sizes such as 1e4,1e5,1e6, got {text!r}")
    return sorted({_size(t) for t in parts})


def _groups(text):
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 2:
        raise argparse.ArgumentTypeError(f"expected an integer >= 2, got {text!r}")
    return value


def _thread_counts(text):
    parts = [t.strip() for t in text.split(",")]
    counts = []
    for t in parts:
        try:
            value = int(t)
        except ValueError:
            value = 0
        if value < 1:
            raise argparse.ArgumentTypeError(
                f"expected a positive integer or a comma-separated list of them such as 1,2,4, got {text!r}")
        if value not in counts:
            counts.append(value)
    return counts


def _positive_float(text):
    try:
        value = float(text)
    except ValueError:
        value = float("nan")
    if not value > 0 or value == float("inf"):
        raise argparse.ArgumentTypeError(f"expected a positive number of seconds, got {text!r}")
    return value


def add_bench_parser(subparsers):
    """Add the ``bench`` command to an ``argparse`` sub-parser collection."""
    bench = subparsers.add_parser(
        "bench",
        help="measure each kernel's throughput and peak memory as sizes grow, against installed peers",
        description=(
            "Time fairfast's kernels (W1, W2, KS distances; barycenter fit+transform; barycenter "
            "transform) on synthetic data or on a Parquet file's scores, at sizes growing by 10x, "
            "next to the numpy reference and, with --peers, SciPy, POT and EquiPy when installed. "
            "Every result is checked against a second implementation. Each measurement runs in a "
            "fresh process: one untimed call (its peak memory is measured), then up to --repeat "
            "timed calls within --budget seconds. Larger sizes take longer: 1e7 needs minutes, "
            "and memory of about 100 bytes per row."
        ),
    )
    bench.add_argument("--kernels", type=_kernels, default=list(CLI_NAMES), metavar="LIST",
                       help="comma-separated kernels among w1,w2,ks,barycenter,transform (default: all)")
    bench.add_argument("--sizes", type=_sizes, default=_sizes(_DEFAULT_SIZES), metavar="LIST",
                       help=f"comma-separated sizes n (default {_DEFAULT_SIZES}); with --data, prefixes "
                            "of the file capped by its length")
    bench.add_argument("--groups", type=_groups, default=None, metavar="K",
                       help="groups of the synthetic barycenter workloads (default 2)")
    bench.add_argument("--peers", action="store_true",
                       help="also measure the installed peers (SciPy, POT, EquiPy) and the np.copyto baseline")
    bench.add_argument("--slow-peers", action="store_true",
                       help="also run peers above the size where a call takes minutes (EquiPy above 1e6)")
    bench.add_argument("--data", default=None, metavar="FILE.parquet",
                       help="use the scores and groups of a Parquet file instead of synthetic data")
    bench.add_argument("--scores", default=None, metavar="COL", help="score column of --data")
    bench.add_argument("--sensitive", default=None, metavar="COLS",
                       help="sensitive column(s) of --data, comma-separated (several: intersections)")
    bench.add_argument("--threads", type=_thread_counts, default=None, metavar="N[,N...]",
                       help="threads of fairfast's kernels (default: fairfast's default); a list such as 1,2,4 "
                            "measures fairfast at each count and reports its speed-up over the first")
    bench.add_argument("--repeat", type=_positive_int, default=5, metavar="N",
                       help="most timed calls per measurement (default 5)")
    bench.add_argument("--budget", type=_positive_float, default=5.0, metavar="SECONDS",
                       help="seconds of timed calls aimed at per measurement (default 5)")
    bench.add_argument("--seed", type=int, default=0, help="seed of the synthetic data (default 0)")
    bench.add_argument("--json", default=None, metavar="PATH", help="write the results and machine info as JSON")
    bench.add_argument("--plot", default=None, metavar="PATH.png",
                       help="write throughput against size (log-log) as PNG (needs matplotlib)")
    bench.add_argument("--in-process", action="store_true",
                       help="measure in this process instead of one fresh process per measurement "
                            "(faster; peak memory only on Linux)")
    bench.add_argument("--timeout", type=_positive_float, default=None, metavar="SECONDS",
                       help="abandon a measurement after this long (default: none)")
    bench.set_defaults(func=run_bench)
    return bench


def _check_output(path, option, suffix=None):
    if path is None:
        return
    if suffix and not path.lower().endswith(suffix):
        raise ValueError(f"{option} must be a {suffix} file path, got {path!r}")
    parent = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(parent):
        raise ValueError(f"{option}: directory {parent!r} does not exist")


def _check_args(args):
    if args.data is None:
        for option, value in (("--scores", args.scores), ("--sensitive", args.sensitive)):
            if value is not None:
                raise ValueError(f"{option} needs --data (a Parquet file to read it from)")
        return None
    if args.scores is None or args.sensitive is None:
        raise ValueError("--data needs --scores COL and --sensitive COL[,COL...]")
    if args.groups is not None:
        raise ValueError("--groups applies to synthetic data only; with --data the groups come from --sensitive")
    if not args.data.lower().endswith((".parquet", ".pq", ".parq")):
        raise ValueError(f"--data must be a Parquet file (.parquet, .pq), got {args.data!r}")
    if not os.path.isfile(args.data):
        raise ValueError(f"--data file {args.data!r} does not exist")
    sensitive = [c.strip() for c in args.sensitive.split(",")]
    if not all(sensitive):
        raise ValueError(f"--sensitive must be comma-separated column names, got {args.sensitive!r}")
    if not args.scores.strip() or "," in args.scores:
        raise ValueError(f"--scores must name one column, got {args.scores!r}")
    return sensitive


def run_bench(args, file=None):
    """Run the ``bench`` command for parsed ``args``.

    Returns
    -------
    int
        0 when every measurement ran and agreed with its reference, 1 otherwise (the
        table says which).
    """
    file = sys.stdout if file is None else file
    sensitive = _check_args(args)
    _check_output(args.json, "--json")
    _check_output(args.plot, "--plot", ".png")
    if args.plot is not None:
        from ..bench._report import _matplotlib

        _matplotlib()  # fail now, not after the run
    progress = sys.stderr if sys.stderr.isatty() else None
    common = dict(
        n_groups=2 if args.groups is None else args.groups,
        peers=args.peers, slow_peers=args.slow_peers,
        data_file=args.data, scores=None if args.data is None else args.scores.strip(), sensitive=sensitive,
        repeat=args.repeat, budget=args.budget, seed=args.seed,
        isolate=not args.in_process, timeout=args.timeout, progress=progress,
    )
    counts = args.threads or [None]
    if len(counts) > 1:
        report = run_thread_scaling(args.kernels, args.sizes, thread_counts=counts, **common)
    else:
        report = run_benchmarks(args.kernels, args.sizes, threads=counts[0], **common)
    from ..bench._report import format_table, plot, write_json

    print(format_table(report), file=file, end="")
    if args.json is not None:
        write_json(report, args.json)
    if args.plot is not None:
        plot(report, args.plot)
    failed = [r for r in report["results"] if r["status"] in ("disagree", "error")]
    return 1 if failed else 0


def main(argv=None):
    """The ``bench`` command on its own (``python -m fairfast bench``)."""
    from . import main as cli_main  # same parser, same error handling

    argv = sys.argv[1:] if argv is None else list(argv)
    if not argv or argv[0] != "bench":
        argv = ["bench", *argv]
    return cli_main(argv)
