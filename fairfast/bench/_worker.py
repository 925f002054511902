"""One isolated measurement: ``python -m fairfast.bench._worker SPEC.json``.

``SPEC.json`` names the kernel, the implementation, the directory of the workload
(written by :func:`fairfast.bench._runner.save_workload`), ``repeat``, ``budget``,
``threads`` and the path where the measurement record is written as JSON. Run by
:func:`fairfast.bench._runner.measure_isolated`; not meant to be called by hand.
"""

import json
import sys


def main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    with open(argv[0]) as f:
        spec = json.load(f)
    from ._runner import load_workload, measure

    data = load_workload(spec["workload"])
    rec = measure(spec["kernel"], spec["impl"], data, repeat=spec["repeat"], budget=spec["budget"],
                  threads=spec["threads"], fresh_process=True)
    with open(spec["out"], "w") as f:
        json.dump(rec, f)
    return 0


if __name__ == "__main__":
    sys.exit(main())
