"""The inputs issue #17 reported as silently accepted or unclearly refused (items 6
and 7), one test each, run in this process (none of them can crash it)."""

import pytest

from catalogue import PRELUDE, cases
from runner import classify

REPORTED = [c for c in cases() if c[1] == "catalogue"]


@pytest.fixture(scope="module")
def namespace():
    ns = {}
    exec(PRELUDE, ns)
    return ns


def _outcome(case, ns):
    _, _, code, expected = case
    try:
        r = eval(code, dict(ns))
    except (ValueError, TypeError, OSError) as exc:
        return {"outcome": "exception", "type": type(exc).__name__, "message": str(exc),
                "clear_type": isinstance(exc, (ValueError, TypeError))}
    checks = [e[3:] for e in expected.split(" or ") if e.startswith("ok:")]
    return {"outcome": "result", "shown": repr(r)[:200],
            "check": bool(checks) and any(eval(c, dict(ns), {"r": r}) for c in checks)}


@pytest.mark.parametrize("case", REPORTED, ids=[c[0] for c in REPORTED])
def test_reported_input_is_refused_naming_the_argument(case, namespace):
    kind, detail = classify(case, _outcome(case, namespace))
    assert kind in ("clear error", "correct result"), detail
