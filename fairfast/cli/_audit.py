"""``fairfast audit``: a fairness report of a scored Parquet/CSV file.

Registered in the command line (``fairfast.cli``) by ``add_audit_parser(subparsers)``; the command
runs :func:`run_audit`. Example::

    fairfast audit scored.parquet --label y --score p --threshold 0.5 \\
        --sensitive race,sex --bootstrap 1000 --json report.json --html report.html

Everything that can fail on the options (missing plotting library, unknown metric,
misspelled column) is checked before the data are read; progress goes to stderr
(tqdm), the report to stdout; JSON, HTML and PNG outputs are written atomically.
"""

import contextlib
import difflib
import re
import sys
import textwrap
import warnings
from pathlib import Path

__all__ = ["add_audit_parser", "run_audit"]


def add_audit_parser(subparsers):
    """Add the ``audit`` command to an ``argparse`` sub-parser collection."""
    audit = subparsers.add_parser(
        "audit",
        help="fairness report (metrics by group, disparities, intervals, plots) of a Parquet/CSV file",
        description=(
            "Read labels, predictions and/or scores and sensitive columns from a Parquet or CSV "
            "file and report metrics by group (and intersection), overall, disparities with "
            "fairlearn's names, optional stratified-bootstrap intervals and, with a score, its AUC by "
            "group and score-distribution disparities (KS, W1), as text on stdout and optionally as "
            "JSON, PNG and a standalone HTML page. Progress goes to stderr."
        ),
    )
    audit.add_argument("input", help="input file: .parquet/.pq or .csv (optionally .csv.gz)")
    audit.add_argument("--sensitive", required=True,
                       help="comma-separated sensitive column(s); several columns give intersections")
    audit.add_argument("--label", help="column of true labels")
    audit.add_argument("--pred", help="column of predicted labels")
    audit.add_argument("--score", help="column of scores (probabilities for the calibration error)")
    audit.add_argument("--threshold", type=float,
                       help="predicted label = score >= threshold (when --pred is not given)")
    audit.add_argument("--weight", help="column of sample weights")
    audit.add_argument("--pos-label", default="1", help="value of a positive label (default 1)")
    audit.add_argument("--metrics", help="comma-separated metric names (default: all the columns allow)")
    audit.add_argument("--bins", type=int, default=10, help="calibration bins (default 10)")
    audit.add_argument("--bootstrap", type=int, default=0, metavar="N",
                       help="stratified-bootstrap replicates for intervals (default 0: none)")
    audit.add_argument("--confidence", type=float, default=0.95, help="interval level (default 0.95)")
    audit.add_argument("--seed", type=int, default=0, help="bootstrap seed (default 0)")
    audit.add_argument("--min-group-size", type=int, default=30, metavar="N",
                       help="groups with fewer rows are small (default 30; 0: no check)")
    audit.add_argument("--small-groups", choices=("warn", "merge", "error"), default="warn",
                       help="small groups: warn and mark the disparities they set (default), merge them into "
                            "one group (--other-label), or stop with an error")
    audit.add_argument("--other-label", default="<other>", help="label of the merged small groups (default <other>)")
    audit.add_argument("--json", metavar="PATH", help="write the report as JSON")
    audit.add_argument("--png", metavar="PATH", help="write the plots as PNG (needs matplotlib)")
    audit.add_argument("--html", metavar="PATH",
                       help="write a standalone HTML report (its figures need matplotlib; see --no-plots)")
    audit.add_argument("--no-plots", action="store_true", help="an HTML report without figures (no matplotlib)")
    audit.add_argument("--title", default=None, help="title of the plots and HTML page")
    audit.add_argument("-q", "--quiet", action="store_true",
                       help="no progress bars and no 'wrote' lines on stderr (warnings still show)")
    audit.set_defaults(func=run_audit)
    return audit


# -- checks before any work ------------------------------------------------------------

def _check_options(args):
    """Option errors, named by their flags, before the data are read."""
    from ..metrics._group_metrics import _ALIASES, METRICS

    if not _split(args.sensitive):
        raise ValueError("--sensitive needs at least one column name")
    if args.pred is None and args.score is None:
        raise ValueError("give --pred (predicted labels) or --score (with --threshold for labels)")
    if args.threshold is not None and args.score is None:
        raise ValueError("--threshold needs --score: the predicted label is then score >= threshold")
    if args.threshold is not None and args.pred is not None:
        raise ValueError("give --pred or --threshold, not both: --threshold makes the predicted labels from --score")
    for flag, value, ok, rule in (("--bootstrap", args.bootstrap, args.bootstrap >= 0, ">= 0"),
                                  ("--bins", args.bins, args.bins >= 1, ">= 1"),
                                  ("--confidence", args.confidence, 0 < args.confidence < 1,
                                   "strictly between 0 and 1"),
                                  ("--min-group-size", args.min_group_size, args.min_group_size >= 0, ">= 0")):
        if not ok:
            raise ValueError(f"{flag} must be {rule}, got {value}")
    if not args.other_label:
        raise ValueError("--other-label must not be empty")
    for m in _split(args.metrics or ""):
        name = _ALIASES.get(m, m)
        if name not in METRICS:
            raise ValueError(f"--metrics: unknown metric {m!r}; built-in metrics are {', '.join(METRICS)}")
        need_y, need_p, need_s = METRICS[name]
        has_pred = args.pred is not None or args.threshold is not None
        missing = [flag for flag, need, have in (("--label", need_y, args.label),
                                                 ("--pred or --threshold", need_p, has_pred),
                                                 ("--score", need_s, args.score)) if need and not have]
        if missing:
            raise ValueError(f"--metrics: {name} needs {' and '.join(missing)}")
    wants_plots = [flag for flag, on in (("--png", args.png), ("--html", args.html and not args.no_plots)) if on]
    if wants_plots:
        try:
            import matplotlib  # noqa: F401
            from matplotlib.figure import Figure  # noqa: F401
        except ImportError:
            raise ValueError(f"{' and '.join(wants_plots)} draw plots with matplotlib, which is not installed: "
                             "pip install 'fairfast[plot]' (or pip install matplotlib)"
                             + (", or add --no-plots for an HTML report without figures" if args.html else "")
                             ) from None
    for flag, path in (("--json", args.json), ("--png", args.png), ("--html", args.html)):
        if path and not Path(path).resolve().parent.is_dir():
            raise ValueError(f"{flag}: directory {str(Path(path).resolve().parent)!r} does not exist")
        if path and Path(path).resolve() == Path(args.input).resolve():
            raise ValueError(f"{flag} would overwrite the input file {args.input!r}")


def _split(text):
    return [c.strip() for c in text.split(",") if c.strip()]


def _file_columns(path):
    """The columns of a Parquet/CSV file, read from its schema or header only."""
    p = Path(path)
    if not p.exists():
        raise ValueError(f"input file {path!r} does not exist")
    name = p.name.lower()
    try:
        if name.endswith((".parquet", ".pq")):
            import pyarrow.parquet as pq

            names = pq.read_schema(p).names
            return [c for c in names if not re.fullmatch(r"__index_level_\d+__", c)]
        if name.endswith((".csv", ".csv.gz", ".txt")):
            import pandas as pd

            return [str(c) for c in pd.read_csv(p, nrows=0).columns]
    except (OSError, ValueError) as exc:
        raise ValueError(f"cannot read {path!r}: {exc}") from None
    raise ValueError(f"input must be a .parquet/.pq or .csv file, got {path!r}")


def _check_columns(args, available):
    for flag, value in (("--label", args.label), ("--pred", args.pred), ("--score", args.score),
                        ("--weight", args.weight), *(("--sensitive", c) for c in _split(args.sensitive))):
        if value and value not in available:
            close = difflib.get_close_matches(value, available, n=1)
            hint = f" (did you mean {close[0]!r}?)" if close else ""
            shown = ", ".join(available[:40]) + (f", ... ({len(available)} in all)" if len(available) > 40 else "")
            raise ValueError(f"{flag} column {value!r} is not in {Path(args.input).name}{hint}; its columns: {shown}")


# -- progress ---------------------------------------------------------------------------

@contextlib.contextmanager
def _progress(enabled, **kwargs):
    """A tqdm bar on stderr (None when disabled). On an exception or Ctrl-C the bar's
    line is cleared, so that the next message starts on an empty line."""
    if not enabled:
        yield None
        return
    from tqdm import tqdm

    bar = tqdm(file=sys.stderr, dynamic_ncols=True, **kwargs)
    try:
        yield bar
    except BaseException:
        bar.leave = False
        bar.close()
        raise
    bar.close()


def _read(args, columns, show):
    import pandas as pd

    p = Path(args.input)
    if p.name.lower().endswith((".parquet", ".pq")):
        import pyarrow as pa
        import pyarrow.parquet as pq

        pf = pq.ParquetFile(p)
        with _progress(show, total=pf.metadata.num_rows, desc=f"reading {p.name}", unit="row",
                       unit_scale=True) as bar:
            batches = []
            for batch in pf.iter_batches(batch_size=1 << 16, columns=columns):
                batches.append(batch)
                if bar is not None:
                    bar.update(batch.num_rows)
            table = pa.Table.from_batches(batches) if batches else pf.read(columns=columns)
        return table.to_pandas()
    from tqdm.utils import CallbackIOWrapper

    with open(p, "rb") as raw, _progress(show, total=p.stat().st_size, desc=f"reading {p.name}", unit="B",
                                         unit_scale=True, unit_divisor=1024) as bar:
        source = raw if bar is None else CallbackIOWrapper(bar.update, raw, "read")
        return pd.read_csv(source, usecols=columns, compression="gzip" if p.name.lower().endswith(".gz") else None)


def _parse_label(text):
    for cast in (int, float):
        try:
            return cast(text)
        except ValueError:
            pass
    return text


_PYTHON_NAMES = {"y_true": "label", "y_pred": "pred", "scores": "score", "sample_weight": "weight",
                 "sensitive_features": "--sensitive", "threshold": "--threshold", "n_bins": "--bins",
                 "pos_label": "--pos-label",
                 "n_replicates": "--bootstrap", "confidence_level": "--confidence", "random_state": "--seed",
                 "min_group_size": "--min-group-size", "small_groups": "--small-groups", "other_label": "--other-label"}


def _as_flags(message, args):
    """A library message with its Python argument names replaced by the CLI's flags."""
    def sub(match):
        word, equals = match.group(1), match.group(2)
        flag = _PYTHON_NAMES[word]
        if not flag.startswith("--"):
            column = getattr(args, flag)
            flag = f"--{flag} column {column!r}" if column else f"--{flag}"
        return flag + (" " if equals else "")

    return re.sub(r"\b(" + "|".join(_PYTHON_NAMES) + r")\b(=?)", sub, message)


def run_audit(args, file=None):
    """Run the ``audit`` command for parsed ``args``; returns the exit status (0).

    Raises
    ------
    ValueError
        On a missing file or column, or inconsistent options (the CLI prints it).
    """
    from ..metrics._report import GroupReport, SmallGroupWarning
    from .._base.atomic import write_text_atomic

    out = sys.stdout if file is None else file
    show = not args.quiet
    _check_options(args)
    sensitive = _split(args.sensitive)
    _check_columns(args, _file_columns(args.input))
    columns = list(dict.fromkeys([c for c in (args.label, args.pred, args.score, args.weight) if c] + sensitive))
    frame = _read(args, columns, show)
    metrics = _split(args.metrics) if args.metrics else None
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always", SmallGroupWarning)
            report = GroupReport(
                frame[args.label].to_numpy() if args.label else None,
                frame[args.pred].to_numpy() if args.pred else None,
                sensitive_features=frame[sensitive],
                scores=frame[args.score].to_numpy() if args.score else None,
                sample_weight=frame[args.weight].to_numpy() if args.weight else None,
                metrics=metrics, pos_label=_parse_label(args.pos_label), threshold=args.threshold,
                n_bins=args.bins, min_group_size=args.min_group_size, small_groups=args.small_groups,
                other_label=args.other_label)
        for w in caught:
            if not issubclass(w.category, SmallGroupWarning):
                warnings.warn_explicit(w.message, w.category, w.filename, w.lineno)
        if len(report.small_groups):
            names = ", ".join(f"{report.display_name(g)} ({int(report.group_sizes[g])} rows)"
                              for g in report.small_groups)
            fix = ("the merged group is still small" if report.merged_groups else
                   "--small-groups merge pools them, --small-groups error refuses them")
            message = (f"fairfast audit: warning: groups with fewer than --min-group-size {args.min_group_size} "
                       f"rows: {names}; the disparities they set are marked * ({fix})")
            print("\n".join(textwrap.wrap(message, 100, subsequent_indent="  ")), file=sys.stderr)
        if args.bootstrap:
            with _progress(show, total=args.bootstrap, desc="bootstrap", unit="replicate") as bar:
                report.bootstrap(args.bootstrap, confidence_level=args.confidence, random_state=args.seed,
                                 progress=bar.update if bar is not None else False)
    except (ValueError, TypeError) as exc:
        raise type(exc)(_as_flags(str(exc), args)) from None
    print(report.to_text(), file=out)
    title = args.title or f"Fairness report: {Path(args.input).name}"
    written = []
    if args.json:
        report.to_json(args.json)
        written.append(args.json)
    if args.png:
        from .._base.atomic import atomic_path

        with atomic_path(args.png) as tmp:
            report.plot_summary(title=title).savefig(tmp, format="png", dpi=110, bbox_inches="tight")
        written.append(args.png)
    if args.html:
        details = {"input": str(args.input), "columns": _describe_columns(args)}
        write_text_atomic(args.html, report.to_html(title=title, plots=not args.no_plots, details=details))
        written.append(args.html)
    if show:
        for path in written:
            print(f"wrote {path}", file=sys.stderr)
    return 0


def _describe_columns(args):
    parts = [f"{name} {value}" for name, value in (("label", args.label), ("prediction", args.pred),
                                                    ("score", args.score), ("weight", args.weight)) if value]
    if args.threshold is not None:
        parts.append(f"decision: {args.score} >= {args.threshold:g}")
    parts.append(f"sensitive {args.sensitive}")
    return "; ".join(parts)
