"""The ``fairfast`` command line.

Commands:

- ``fairfast demo``: the Adult walk-through (see the README).
- ``fairfast fit --data FILE --estimator NAME ... --out MODEL``: fit any model kind on a
  Parquet/CSV file and save a model file (:func:`fairfast.io.fit_file`).
- ``fairfast transform --model MODEL --data INPUT --out OUTPUT``: serve any model file
  over a Parquet/CSV file in streamed batches, written atomically
  (:func:`fairfast.io.transform_file`).
- ``fairfast audit``: a fairness report of a scored file (``fairfast.metrics``).
- ``fairfast bench``: the scale benchmarks, on synthetic data or a Parquet file, peers
  side by side when installed (``fairfast.bench``).

Arguments are parsed here; the work is done by the library functions.
"""

import argparse
import sys

from ._audit import add_audit_parser
from ._batch import add_batch_commands

__all__ = ["main"]


def _demo(args):
    from .._demo import run_demo

    run_demo(sensitive=args.sensitive, epsilon=args.epsilon, random_state=args.seed, file=sys.stdout)
    return 0


def _build_parser():
    parser = argparse.ArgumentParser(prog="fairfast", description="Fast, exact group-fairness tools.")
    parser.add_argument("--version", action="store_true", help="print the version and build configuration")
    sub = parser.add_subparsers(dest="command")
    demo = sub.add_parser(
        "demo",
        help="post-process a logistic regression on Adult with the Wasserstein barycenter",
        description=(
            "Train a logistic regression on UCI Adult (shipped with fairfast), fit the "
            "Wasserstein-barycenter post-processor on a held-out calibration split and print "
            "a before/after table on the test split."
        ),
    )
    demo.add_argument(
        "--sensitive",
        default="sex,race",
        help="comma-separated sensitive columns whose intersections are made fair (default: sex,race)",
    )
    demo.add_argument("--epsilon", type=float, default=0.0, help="share of the original score kept (default 0)")
    demo.add_argument("--seed", type=int, default=0, help="random seed of the splits and tie keys (default 0)")
    demo.set_defaults(func=_demo)
    add_batch_commands(sub)
    add_audit_parser(sub)
    from ._bench import add_bench_parser

    add_bench_parser(sub)
    return parser


def main(argv=None):
    """Entry point of the ``fairfast`` console script."""
    parser = _build_parser()
    args = parser.parse_args(argv)
    if args.version:
        from .._base.config import show_config

        show_config()
        return 0
    if not hasattr(args, "func"):
        parser.print_help()
        return 2
    try:
        return args.func(args)
    except (ValueError, TypeError, FileNotFoundError) as exc:
        print(f"fairfast {args.command}: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"fairfast {args.command}: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
