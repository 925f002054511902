"""Argument types and options shared by the commands."""

import argparse
import json

__all__ = ["add_progress", "columns", "estimator_params", "positive_int"]


def positive_int(text):
    try:
        value = int(float(text)) if "e" in text.lower() else int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}")
    return value


def columns(text, option):
    """Comma-separated column names (None stays None)."""
    if text is None:
        return None
    names = [c.strip() for c in text.split(",")]
    if not all(names):
        raise ValueError(f"{option} must be comma-separated column names, got {text!r}")
    return names


def estimator_params(pairs):
    """``--param key=value`` pairs as a dict; values are JSON (numbers, true/false/null,
    lists, quoted strings) or else plain strings."""
    params = {}
    for pair in pairs or []:
        key, sep, value = pair.partition("=")
        key = key.strip()
        if not sep or not key.isidentifier():
            raise ValueError(f"--param must be KEY=VALUE with a parameter name as KEY, got {pair!r}")
        if key in params:
            raise ValueError(f"--param {key} is given twice")
        try:
            params[key] = json.loads(value)
        except ValueError:
            params[key] = value
    return params


def add_progress(parser):
    group = parser.add_mutually_exclusive_group()
    group.add_argument("--progress", dest="progress", action="store_const", const=True, default=None,
                       help="always show progress on stderr (default: only on a terminal)")
    group.add_argument("--quiet", "--no-progress", dest="progress", action="store_const", const=False,
                       help="never show progress or summary lines")
