"""Run the bad-input catalogue in worker processes and classify each outcome.

``python tests/bad_inputs/runner.py`` prints the totals (cases, clear errors, correct
results, defects) and every defect.
"""

import json
import os
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from catalogue import PRELUDE, cases  # noqa: E402

BATCH_TIMEOUT = 240  # seconds for one worker's batch; a case still running then is a hang


def _worker():
    """Run the cases given on stdin; one JSON line per case on stdout, flushed."""
    batch = json.load(sys.stdin)
    namespace = {}
    exec(PRELUDE, namespace)
    for case_id, code, expected in batch:
        out = {"id": case_id}
        try:
            r = eval(code, dict(namespace))
            checks = [e[3:] for e in expected.split(" or ") if e.startswith("ok:")]
            out["outcome"] = "result"
            out["check"] = bool(checks) and any(eval(c, dict(namespace), {"r": r}) for c in checks)
            out["shown"] = repr(r)[:200]
        except (KeyboardInterrupt, SystemExit):
            raise
        except BaseException as exc:  # classified by the parent
            out.update(outcome="exception", type=type(exc).__name__, message=str(exc)[:500],
                       clear_type=isinstance(exc, (ValueError, TypeError)))
        print(json.dumps(out), flush=True)


def classify(case, out):
    """``("clear error" | "correct result" | "defect", detail)`` for one case's outcome."""
    _, _, _, expected = case
    options = expected.split(" or ")
    errors = [o[6:].split("|") for o in options if o.startswith("error:")]
    if out is None:
        return "defect", "no outcome"
    if out["outcome"] == "crash":
        return "defect", out["message"]
    if out["outcome"] == "result":
        if out["check"]:
            return "correct result", out["shown"]
        return "defect", f"returned {out['shown']} (expected {expected})"
    if out["type"] in [o[7:] for o in options if o.startswith("raises:")]:
        return "clear error", f"{out['type']}: {out['message']}"
    words = [w for group in errors for w in group]
    if out["clear_type"] and any(w.lower() in out["message"].lower() for w in words):
        return "clear error", f"{out['type']}: {out['message']}"
    return "defect", f"{out['type']}: {out['message']} (expected {expected})"


def _run_batch(batch):
    """Outcomes of `batch` (list of cases); a worker that dies or hangs marks the case it
    was on, and the rest of the batch goes to a new worker."""
    results, todo = {}, list(batch)
    while todo:
        payload = json.dumps([[c[0], c[2], c[3]] for c in todo])
        proc = subprocess.Popen([sys.executable, os.path.abspath(__file__), "--worker"], stdin=subprocess.PIPE,
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                                env={**os.environ, "OMP_NUM_THREADS": "1"})
        try:
            stdout, stderr = proc.communicate(payload, timeout=BATCH_TIMEOUT)
            hang = False
        except subprocess.TimeoutExpired:
            proc.kill()
            stdout, stderr = proc.communicate()
            hang = True
        for line in stdout.splitlines():
            if line.startswith("{"):
                out = json.loads(line)
                results[out["id"]] = out
        done = [c for c in todo if c[0] in results]
        todo = todo[len(done):]
        if not todo:
            break
        if proc.returncode == 0 and not hang:
            raise RuntimeError(f"worker stopped early without an error: {stderr[-2000:]}")
        what = "hang (killed after the batch timeout)" if hang else f"crash (exit {proc.returncode}): {stderr[-300:]}"
        results[todo[0][0]] = {"id": todo[0][0], "outcome": "crash", "message": what}
        todo = todo[1:]
    return results


def run(selected=None, n_batches=4, n_parallel=2):
    """Run the catalogue (or `selected` cases); returns ``(totals, rows)`` with one row
    ``(id, category, classification, detail)`` per case."""
    selected = cases() if selected is None else selected
    batches = [selected[i::n_batches] for i in range(n_batches)]
    results = {}
    with ThreadPoolExecutor(n_parallel) as pool:
        for part in pool.map(_run_batch, batches):
            results.update(part)
    rows = [(c[0], c[1], *classify(c, results.get(c[0]))) for c in selected]
    totals = {"cases": len(rows)}
    for kind in ("clear error", "correct result", "defect"):
        totals[kind] = sum(r[2] == kind for r in rows)
    return totals, rows


def main():
    start = time.perf_counter()
    totals, rows = run()
    for row in rows:
        if row[2] == "defect":
            print(f"DEFECT {row[0]} [{row[1]}]: {row[3]}")
    print(json.dumps({**totals, "seconds": round(time.perf_counter() - start, 1)}))
    return 1 if totals["defect"] else 0


if __name__ == "__main__":
    if sys.argv[1:] == ["--worker"]:
        _worker()
    else:
        sys.exit(main())
