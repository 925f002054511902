"""``fairfast audit``: a fairness report of a scored Parquet/CSV file.

Registered in ``fairfast/cli.py`` by ``add_audit_parser(subparsers)``; the command
runs :func:`run_audit`. Example::

    fairfast audit scored.parquet --label y --score p --threshold 0.5 \\
        --sensitive race,sex --bootstrap 1000 --json report.json --png report.png
"""

import sys
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
            "fairlearn's names, optional stratified-bootstrap intervals, as text on stdout and "
            "optionally as JSON, PNG and HTML."
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
    audit.add_argument("--json", metavar="PATH", help="write the report as JSON")
    audit.add_argument("--png", metavar="PATH", help="write the plots as PNG (needs matplotlib)")
    audit.add_argument("--html", metavar="PATH", help="write a self-contained HTML report (plots need matplotlib)")
    audit.add_argument("--title", default=None, help="title of the plots and HTML page")
    audit.set_defaults(func=run_audit)
    return audit


def _read(path, columns):
    import pandas as pd

    p = Path(path)
    if not p.exists():
        raise ValueError(f"input file {path!r} does not exist")
    name = p.name.lower()
    try:
        if name.endswith((".parquet", ".pq")):
            return pd.read_parquet(p, columns=columns)
        if name.endswith((".csv", ".csv.gz", ".txt")):
            return pd.read_csv(p, usecols=columns)
    except (KeyError, ValueError) as exc:
        raise ValueError(f"cannot read columns {columns} from {path!r}: {exc}") from exc
    raise ValueError(f"input must be a .parquet/.pq or .csv file, got {path!r}")


def _parse_label(text):
    for cast in (int, float):
        try:
            return cast(text)
        except ValueError:
            pass
    return text


def run_audit(args, file=None):
    """Run the ``audit`` command for parsed ``args``; returns the exit status (0).

    Raises
    ------
    ValueError
        On a missing file or column, or inconsistent options (the CLI prints it).
    """
    from ._report import GroupReport

    out = sys.stdout if file is None else file
    sensitive = [c.strip() for c in args.sensitive.split(",") if c.strip()]
    if not sensitive:
        raise ValueError("--sensitive needs at least one column name")
    if args.pred is None and args.score is None:
        raise ValueError("give --pred (predicted labels) or --score (with --threshold for labels)")
    if args.bootstrap < 0:
        raise ValueError(f"--bootstrap must be >= 0, got {args.bootstrap}")
    wanted = [c for c in (args.label, args.pred, args.score, args.weight) if c] + sensitive
    columns = list(dict.fromkeys(wanted))
    frame = _read(args.input, columns)
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise ValueError(f"columns {missing} are not in {args.input!r} (it has {list(frame.columns)})")
    metrics = [m.strip() for m in args.metrics.split(",")] if args.metrics else None
    report = GroupReport(
        frame[args.label].to_numpy() if args.label else None,
        frame[args.pred].to_numpy() if args.pred else None,
        sensitive_features=frame[sensitive],
        scores=frame[args.score].to_numpy() if args.score else None,
        sample_weight=frame[args.weight].to_numpy() if args.weight else None,
        metrics=metrics,
        pos_label=_parse_label(args.pos_label),
        threshold=args.threshold if args.pred is None else None,
        n_bins=args.bins,
    )
    if args.bootstrap:
        report.bootstrap(args.bootstrap, confidence_level=args.confidence, random_state=args.seed)
    print(report.to_text(), file=out)
    title = args.title or f"Fairness report: {Path(args.input).name}"
    if args.json:
        report.to_json(args.json)
        print(f"\nwrote {args.json}", file=out)
    if args.png:
        report.plot_summary(title=title).savefig(args.png, dpi=110, bbox_inches="tight")
        print(f"wrote {args.png}", file=out)
    if args.html:
        Path(args.html).write_text(report.to_html(title=title), encoding="utf-8")
        print(f"wrote {args.html}", file=out)
    return 0
