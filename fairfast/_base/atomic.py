"""Atomic file output: write next to the destination, rename only on success.

Temporary files are named ``.<name>.fairfast-<pid>-<random>.tmp`` beside the
destination. They are removed on any exception, on ``KeyboardInterrupt`` and on
``SIGTERM`` (turned into ``SystemExit`` while a file is being written from the main
thread). A process killed by ``SIGKILL`` cannot clean up: the next write of the same
destination removes the temporaries whose process no longer exists
(:func:`remove_stale_temporaries`).
"""

import contextlib
import os
import re
import signal
import tempfile
import threading

__all__ = ["atomic_path", "remove_stale_temporaries"]

_TAG = ".fairfast-"


def _temporary_pattern(base):
    return re.compile(r"^\." + re.escape(base) + re.escape(_TAG) + r"(\d+)-[^/]*\.tmp$")


def _alive(pid):
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (PermissionError, OSError):
        return True  # exists, owned by someone else
    return True


def remove_stale_temporaries(path):
    """Remove the temporaries of `path` left by fairfast processes that no longer run.

    Returns the names removed.
    """
    path = os.fspath(path)
    directory = os.path.dirname(os.path.abspath(path))
    pattern = _temporary_pattern(os.path.basename(path))
    removed = []
    try:
        names = os.listdir(directory)
    except OSError:
        return removed
    for name in names:
        match = pattern.match(name)
        if match and not _alive(int(match.group(1))):
            with contextlib.suppress(FileNotFoundError):
                os.unlink(os.path.join(directory, name))
                removed.append(name)
    return removed


@contextlib.contextmanager
def _sigterm_as_exit():
    """While writing: SIGTERM raises SystemExit (so cleanup runs), main thread only."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def handler(signum, frame):
        raise SystemExit(128 + signum)

    try:
        previous = signal.signal(signal.SIGTERM, handler)
    except (ValueError, OSError):  # not allowed here (e.g. an embedded interpreter)
        yield
        return
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


@contextlib.contextmanager
def atomic_path(path):
    """Yield a temporary path in `path`'s directory; rename it to `path` on success.

    On any exception (including ``KeyboardInterrupt`` and ``SIGTERM``) the temporary
    file is removed and `path` is left as it was, so an interrupted job never leaves
    partial output.
    """
    path = os.fspath(path)
    directory = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(directory):
        raise FileNotFoundError(f"output directory {directory!r} does not exist")
    if os.path.isdir(path):
        raise ValueError(f"output {path!r} is a directory; give a file name")
    remove_stale_temporaries(path)
    base = os.path.basename(path)
    with _sigterm_as_exit():
        fd, tmp = tempfile.mkstemp(dir=directory, prefix=f".{base}{_TAG}{os.getpid()}-", suffix=".tmp")
        os.close(fd)
        try:
            yield tmp
            with open(tmp, "rb+") as f:
                os.fsync(f.fileno())
            umask = os.umask(0)
            os.umask(umask)
            os.chmod(tmp, 0o666 & ~umask)  # mkstemp creates 0600 files
            os.replace(tmp, path)
        except BaseException:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(tmp)
            raise


def write_text_atomic(path, text):
    """Write `text` (UTF-8) to `path` atomically."""
    with atomic_path(path) as tmp:
        with open(tmp, "w", encoding="utf-8") as f:
            f.write(text)
