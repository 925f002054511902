"""Atomic output (issue #17, item 8): reports and audit outputs never leave a truncated
file; a transform stopped by SIGTERM removes its temporary, and the temporaries a
SIGKILL leaves behind are removed by the next write of the same output."""

import errno
import os
import signal
import subprocess
import sys
import textwrap
import time

import numpy as np
import pandas as pd
import pytest

from fairfast._base import atomic
from fairfast.cli import main
from fairfast.metrics import GroupReport


def _disk_full(monkeypatch):
    def fsync(fd):
        raise OSError(errno.ENOSPC, "No space left on device")
    monkeypatch.setattr(atomic.os, "fsync", fsync)


def _report():
    return GroupReport([1, 0, 1, 0], [1, 0, 0, 0], sensitive_features=["a", "a", "b", "b"], min_group_size=0)


@pytest.mark.parametrize("method", ["to_json", "to_html"])
def test_a_failed_report_write_keeps_the_previous_file(tmp_path, monkeypatch, method):
    target = tmp_path / f"report.{method[3:]}"
    target.write_text("previous")
    _disk_full(monkeypatch)
    kwargs = {"plots": False} if method == "to_html" else {}
    with pytest.raises(OSError, match="No space left"):
        getattr(_report(), method)(target, **kwargs)
    assert target.read_text() == "previous"
    assert os.listdir(tmp_path) == [target.name]


@pytest.mark.parametrize("flag", ["--json", "--html"])
def test_a_failed_audit_write_keeps_the_previous_file(tmp_path, monkeypatch, capsys, flag):
    data = tmp_path / "scored.csv"
    rng = np.random.default_rng(0)
    pd.DataFrame({"y": rng.integers(0, 2, 200), "p": rng.random(200), "g": rng.integers(0, 2, 200)}).to_csv(
        data, index=False)
    target = tmp_path / f"report.{flag[2:]}"
    target.write_text("previous")
    _disk_full(monkeypatch)
    args = ["audit", str(data), "--label", "y", "--score", "p", "--threshold", "0.5", "--sensitive", "g",
            flag, str(target)]
    if flag == "--html":
        args.append("--no-plots")
    try:
        status = main(args)
    except OSError:  # the command does not turn a full disk into an exit status
        status = None
    assert status != 0
    assert target.read_text() == "previous"
    assert sorted(os.listdir(tmp_path)) == sorted([data.name, target.name])


_SLOW_TRANSFORM = textwrap.dedent("""
    import sys, time
    from fairfast.cli import main
    from fairfast.postprocessing import WassersteinBarycenter
    original = WassersteinBarycenter.serve
    calls = []
    def serve(self, *args, **kwargs):
        calls.append(1)
        if len(calls) == 2:  # the output's temporary holds the first batch
            print("writing", flush=True)
            time.sleep(60)
        return original(self, *args, **kwargs)
    WassersteinBarycenter.serve = serve
    sys.exit(main(sys.argv[1:]))
""")


@pytest.fixture
def transform_job(tmp_path):
    rng = np.random.default_rng(0)
    n = 4000
    frame = pd.DataFrame({"p": rng.random(n), "g": rng.integers(0, 2, n)})
    frame.to_parquet(tmp_path / "in.parquet")
    assert main(["fit", "--data", str(tmp_path / "in.parquet"), "--scores", "p", "--sensitive", "g", "--out",
                 str(tmp_path / "m.ffm")]) == 0
    out = tmp_path / "out.parquet"
    args = [sys.executable, "-c", _SLOW_TRANSFORM, "transform", "--model", str(tmp_path / "m.ffm"), "--data",
            str(tmp_path / "in.parquet"), "--out", str(out), "--batch-size", "1000"]

    def start():
        proc = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=tmp_path)
        assert proc.stdout.readline().strip() == "writing"
        return proc

    return start, out


def _temporaries(directory):
    return [p.name for p in directory.iterdir() if p.name.startswith(".out.parquet.fairfast-")]


def test_sigterm_removes_the_transforms_temporary(transform_job):
    start, out = transform_job
    proc = start()
    assert _temporaries(out.parent)  # the job is mid-write
    proc.send_signal(signal.SIGTERM)
    proc.communicate(timeout=60)
    assert proc.returncode != 0
    assert not out.exists() and not _temporaries(out.parent)


def test_the_next_write_removes_what_sigkill_left(transform_job):
    start, out = transform_job
    proc = start()
    proc.kill()
    proc.communicate(timeout=60)
    left = _temporaries(out.parent)
    assert left and not out.exists()  # SIGKILL cannot be caught: the temporary stays
    for _ in range(100):  # the killed process must be gone (reaped) before its files count as stale
        if not atomic._alive(proc.pid):
            break
        time.sleep(0.05)
    assert atomic.remove_stale_temporaries(out) == left
    assert not _temporaries(out.parent)
