"""The ``fairfast`` command line.

Commands:

- ``fairfast demo``: the Adult walk-through (see the README).
- ``fairfast fit --data calib.parquet --scores COL --sensitive COL --out MODEL``: fit the
  Wasserstein-barycenter post-processor on a Parquet/CSV calibration file and save a
  model file (:func:`fairfast.io.fit_file`).
- ``fairfast transform --model MODEL --data INPUT --out OUTPUT``: transform a
  Parquet/CSV file in streamed batches, written atomically
  (:func:`fairfast.io.transform_file`).
- ``fairfast audit``: a fairness report of a scored file (``fairfast.metrics``).
- ``fairfast bench``: the scale benchmarks, on synthetic data or a Parquet file, peers
  side by side when installed (``fairfast.bench``).

Arguments are parsed here; the work is done by the library functions.
"""

import argparse
import os
import sys

__all__ = ["main"]


def _demo(args):
    from ._demo import run_demo

    run_demo(sensitive=args.sensitive, epsilon=args.epsilon, random_state=args.seed, file=sys.stdout)
    return 0


def _columns(text, option):
    columns = [c.strip() for c in text.split(",")]
    if not all(columns):
        raise ValueError(f"{option} must be comma-separated column names, got {text!r}")
    return columns


def _fit(args):
    from .io import fit_file
    from .postprocessing import WassersteinBarycenter

    estimator = WassersteinBarycenter(
        epsilon=args.epsilon, interpolation=args.interpolation, random_state=args.random_state
    )
    model = fit_file(
        args.data,
        scores=_columns(args.scores, "--scores"),
        sensitive=_columns(args.sensitive, "--sensitive"),
        sample_weight=args.weight,
        estimator=estimator,
        out=args.out,
        batch_size=args.batch_size,
        progress=args.progress,
    )
    if _verbose(args):
        print(f"fitted on {os.fspath(args.data)} ({len(model.groups_)} groups); wrote {args.out}", file=sys.stderr)
    return 0


def _verbose(args):
    """Summary lines go to stderr with the progress line: --progress, or a terminal."""
    return args.progress or (args.progress is None and sys.stderr.isatty())


def _transform(args):
    from .io import transform_file

    rows = transform_file(
        args.model,
        args.data,
        args.out,
        scores=None if args.scores is None else _columns(args.scores, "--scores"),
        sensitive=None if args.sensitive is None else _columns(args.sensitive, "--sensitive"),
        batch_size=args.batch_size,
        suffix=args.suffix,
        in_place=args.in_place,
        progress=args.progress,
    )
    if _verbose(args):
        print(f"wrote {rows:,} rows to {args.out}", file=sys.stderr)
    return 0


def _positive_int(text):
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}")
    return value


def _add_progress(parser):
    group = parser.add_mutually_exclusive_group()
    group.add_argument("--progress", dest="progress", action="store_const", const=True, default=None,
                       help="always show the progress line on stderr (default: only on a terminal)")
    group.add_argument("--no-progress", dest="progress", action="store_const", const=False,
                       help="never show the progress line")


def _add_streaming_commands(sub):
    from .io._streaming import DEFAULT_BATCH_SIZE

    fit = sub.add_parser(
        "fit",
        help="fit the barycenter post-processor on a Parquet/CSV calibration file and save a model file",
        description=(
            "Read the score and sensitive columns of a Parquet or CSV calibration file (only those "
            "columns, in batches), fit fairfast.postprocessing.WassersteinBarycenter and save it as a "
            "model file (JSON + .npy, no pickle) that records the column names."
        ),
    )
    fit.add_argument("--data", required=True, help="calibration file (.parquet/.pq or .csv)")
    fit.add_argument("--scores", required=True, help="score column(s), comma-separated (several: multi-task)")
    fit.add_argument("--sensitive", required=True,
                     help="sensitive column(s), comma-separated (several: intersectional groups)")
    fit.add_argument("--weight", default=None, help="column of calibration sample weights (optional)")
    fit.add_argument("--epsilon", type=float, default=0.0, help="share of the original score kept (default 0)")
    fit.add_argument("--interpolation", choices=("step", "linear"), default="step",
                     help="quantile convention (default step)")
    fit.add_argument("--random-state", type=int, default=0, help="seed of the tie keys (default 0)")
    fit.add_argument("--batch-size", type=_positive_int, default=DEFAULT_BATCH_SIZE,
                     help=f"rows per read batch (default {DEFAULT_BATCH_SIZE})")
    fit.add_argument("--out", required=True, help="model file to write")
    _add_progress(fit)
    fit.set_defaults(func=_fit)

    transform = sub.add_parser(
        "transform",
        help="transform the scores of a Parquet/CSV file in streamed batches",
        description=(
            "Apply a model file to a Parquet or CSV file batch by batch (memory bounded by the batch "
            "size), copying the other columns through. The output is written to a temporary file next "
            "to OUTPUT and renamed only on success. Results do not depend on the batch size."
        ),
    )
    transform.add_argument("--model", required=True, help="model file written by 'fairfast fit' or fairfast.io.save")
    transform.add_argument("--data", required=True, help="input file (.parquet/.pq or .csv)")
    transform.add_argument("--out", required=True, help="output file (.parquet/.pq or .csv)")
    transform.add_argument("--batch-size", type=_positive_int, default=DEFAULT_BATCH_SIZE,
                           help=f"rows per batch (default {DEFAULT_BATCH_SIZE})")
    transform.add_argument("--scores", default=None, help="score column(s) (default: those the model was fit on)")
    transform.add_argument("--sensitive", default=None,
                           help="sensitive column(s) (default: those the model was fit on)")
    where = transform.add_mutually_exclusive_group()
    where.add_argument("--suffix", default="_fair", help="add the fair scores as COL+SUFFIX (default _fair)")
    where.add_argument("--in-place", action="store_true", help="replace the score columns instead")
    _add_progress(transform)
    transform.set_defaults(func=_transform)


def _add_audit_command(sub):
    """Register ``fairfast audit`` from fairfast.metrics (skipped if that module is absent)."""
    try:
        from .metrics._audit_cli import add_audit_parser
    except ImportError:  # pragma: no cover - metrics without the audit command
        return False
    add_audit_parser(sub)
    return True


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
    _add_streaming_commands(sub)
    _add_audit_command(sub)
    from .bench._cli import add_bench_parser

    add_bench_parser(sub)
    return parser


def main(argv=None):
    """Entry point of the ``fairfast`` console script."""
    parser = _build_parser()
    args = parser.parse_args(argv)
    if args.version:
        from ._base.config import show_config

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
