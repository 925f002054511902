"""``fairfast fit`` and ``fairfast transform``: batch jobs over Parquet/CSV files.

Both work for every model kind of the registry through its serving contract; the work
is done by :func:`fairfast.io.fit_file` and :func:`fairfast.io.transform_file`, and
messages name these commands' flags.
"""

import os
import sys

from ._common import add_progress, columns, estimator_params, positive_int

__all__ = ["add_batch_commands"]


def _verbose(args):
    """The summary line goes to stderr unless --quiet."""
    return args.progress is not False


def _estimator(name, pairs, random_state):
    from ..io import registered_estimators
    from ..io._registry import resolve_name

    cls = resolve_name(name)
    if getattr(cls, "_serving", None) is None:
        raise ValueError(f"--estimator {name} cannot be fitted from columns; choose one of {registered_estimators()}")
    params = estimator_params(pairs)
    allowed = cls._get_param_names()
    unknown = sorted(set(params) - set(allowed))
    if unknown:
        raise ValueError(f"--param {unknown[0]} is not a parameter of {cls.__name__}; its parameters are {allowed}")
    if "random_state" in allowed and "random_state" not in params:
        params["random_state"] = random_state
    if "estimator" in allowed and params.get("estimator") is not None:
        raise ValueError(f"--param estimator: a model file holds {cls.__name__} fitted on scores only")
    try:
        return cls(**params)
    except TypeError as exc:
        raise ValueError(f"--param: {exc}") from None


def _fit(args):
    from ..io import fit_file
    from ..io._columns import CLI_NAMES

    estimator = _estimator(args.estimator, args.param, args.random_state)
    model = fit_file(
        args.data,
        estimator=estimator,
        scores=columns(args.scores, "--scores"),
        features=columns(args.features, "--features"),
        sensitive_features=columns(args.sensitive, "--sensitive"),
        labels=args.label,
        sample_weight=args.weight,
        out=args.out,
        batch_size=args.batch_size,
        progress=args.progress,
        _names=CLI_NAMES,
    )
    if _verbose(args):
        groups = getattr(model, "groups_", None)
        shown = f" ({len(groups)} groups)" if groups is not None else ""
        print(f"fitted {type(model).__name__} on {os.fspath(args.data)}{shown}; wrote {args.out}", file=sys.stderr)
    return 0


def _transform(args):
    from ..io import transform_file
    from ..io._columns import CLI_NAMES

    summary = transform_file(
        args.model,
        args.data,
        args.out,
        scores=columns(args.scores, "--scores"),
        features=columns(args.features, "--features"),
        sensitive_features=columns(args.sensitive, "--sensitive"),
        labels=args.label,
        outputs=columns(args.outputs, "--outputs"),
        batch_size=args.batch_size,
        suffix=args.suffix,
        prefix=args.prefix,
        in_place=args.in_place,
        on_invalid=args.on_invalid,
        quarantine=args.quarantine,
        progress=args.progress,
        _names=CLI_NAMES,
    )
    if _verbose(args):
        note = ""
        if summary.invalid:
            where = f"quarantined to {args.quarantine}" if args.on_invalid == "quarantine" else \
                "written with empty outputs"
            note = f"; {summary.invalid:,} invalid row(s) {where}"
        print(f"read {summary.rows:,} rows, wrote {summary.written:,} to {args.out}{note}", file=sys.stderr)
    return 0


def _add_columns(parser, fitting):
    what = "fit on" if fitting else "read (default: those recorded in the model file)"
    parser.add_argument("--scores", default=None,
                        help=f"score column(s) the post-processors {what}, comma-separated")
    parser.add_argument("--features", default=None,
                        help=f"feature column(s) the steering estimators and DAFH {what}, comma-separated")
    parser.add_argument("--sensitive", default=None,
                        help="sensitive column(s), comma-separated; matched to the fitted ones by name")
    parser.add_argument("--label", default=None,
                        help="label column (estimators fitted on labels; label-aware steering)")


def add_batch_commands(sub):
    from ..io import registered_estimators
    from ..io._files import DEFAULT_BATCH_SIZE
    from ..io._streaming import ON_INVALID

    fit = sub.add_parser(
        "fit",
        help="fit any fairfast model kind on a Parquet/CSV file and save a model file",
        description=(
            "Read the needed columns of a Parquet or CSV file (in batches), fit the chosen model kind and "
            "save it as a model file (JSON + .npy, no pickle) that records the columns it reads. Parameters "
            "are passed as --param KEY=VALUE (JSON values, e.g. --param epsilon=0.1 --param "
            "constraint=equal_opportunity)."
        ),
    )
    fit.add_argument("--data", required=True, help="file to fit on (.parquet/.pq or .csv)")
    fit.add_argument("--estimator", default="WassersteinBarycenter", choices=registered_estimators(),
                     metavar="NAME", help=f"model kind, one of {', '.join(registered_estimators())} "
                                          "(default WassersteinBarycenter)")
    _add_columns(fit, fitting=True)
    fit.add_argument("--weight", default=None, help="column of row weights (estimators that take them)")
    fit.add_argument("--param", action="append", default=[], metavar="KEY=VALUE",
                     help="an estimator parameter (repeat for several)")
    fit.add_argument("--random-state", type=int, default=0, help="seed of the estimator's randomness (default 0)")
    fit.add_argument("--batch-size", type=positive_int, default=DEFAULT_BATCH_SIZE,
                     help=f"rows per read batch (default {DEFAULT_BATCH_SIZE})")
    fit.add_argument("--out", required=True, help="model file to write")
    add_progress(fit)
    fit.set_defaults(func=_fit)

    transform = sub.add_parser(
        "transform",
        help="serve a model file over a Parquet/CSV file in streamed batches",
        description=(
            "Apply a model file to a Parquet or CSV file batch by batch (memory bounded by the batch size), "
            "copying the other columns through. The output is written to a temporary file next to OUTPUT "
            "and renamed only on success. Results do not depend on the batch size."
        ),
    )
    transform.add_argument("--model", required=True, help="model file written by 'fairfast fit' or .save()")
    transform.add_argument("--data", required=True, help="input file (.parquet/.pq or .csv)")
    transform.add_argument("--out", required=True, help="output file (.parquet/.pq or .csv); never the input")
    _add_columns(transform, fitting=False)
    transform.add_argument("--outputs", default=None,
                           help="outputs to write, comma-separated (default all: see the model's serving "
                                "contract, e.g. scores; decision,probability; features)")
    transform.add_argument("--batch-size", type=positive_int, default=DEFAULT_BATCH_SIZE,
                           help=f"rows per batch (default {DEFAULT_BATCH_SIZE})")
    where = transform.add_mutually_exclusive_group()
    where.add_argument("--suffix", default="_fair",
                       help="write per-column outputs as COL+SUFFIX (default _fair)")
    where.add_argument("--in-place", action="store_true", help="replace the input columns instead")
    transform.add_argument("--prefix", default="",
                           help="write other outputs (decision, probability, group) as PREFIX+NAME")
    transform.add_argument("--on-invalid", choices=ON_INVALID, default="error",
                           help="rows with a non-finite input or an unseen or missing group: stop (error, the "
                                "default), write them with empty outputs (passthrough), or move them to "
                                "--quarantine (quarantine)")
    transform.add_argument("--quarantine", default=None, metavar="PATH",
                           help="file for the invalid rows with --on-invalid quarantine")
    add_progress(transform)
    transform.set_defaults(func=_transform)
