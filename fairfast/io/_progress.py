"""Progress of batch jobs on stderr, through tqdm.

Shown when asked for (``progress=True``), never with ``progress=False``, and by default
only when stderr is a terminal. Bars are closed (one final line) before any other
message is printed, so an interruption or an error never lands on the bar's line.
"""

import contextlib
import sys

__all__ = ["progress_bar", "step"]


def _enabled(progress, file):
    if progress is None:
        isatty = getattr(file, "isatty", None)
        return bool(isatty and isatty())
    return bool(progress)


@contextlib.contextmanager
def progress_bar(total, progress, description, unit="rows", file=None):
    """A tqdm bar over `total` units (None: unknown), closed when the block ends."""
    from tqdm.auto import tqdm

    file = sys.stderr if file is None else file
    bar = tqdm(total=total, desc=description, unit=unit, unit_scale=True, file=file,
               disable=not _enabled(progress, file), dynamic_ncols=True, leave=True,
               mininterval=0.2 if getattr(file, "isatty", lambda: False)() else 5.0)
    try:
        yield bar
    finally:
        bar.close()


@contextlib.contextmanager
def step(progress, description, file=None):
    """One line for a step without a row count (fitting, writing a model file): its
    description and, when it ends, the time it took."""
    import time

    file = sys.stderr if file is None else file
    shown = _enabled(progress, file)
    if shown:
        print(f"{description} ...", file=file, flush=True)
    start = time.perf_counter()
    yield
    if shown:
        print(f"{description}: done in {time.perf_counter() - start:.2f} s", file=file, flush=True)
