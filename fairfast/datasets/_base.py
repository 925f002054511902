"""Shared code of the bundled data sets: file access, checks, result assembly.

pandas and scikit-learn are imported inside the functions so that importing
``fairfast.datasets`` stays cheap.
"""

from __future__ import annotations

from contextlib import contextmanager
from importlib import resources
from typing import TYPE_CHECKING, Any, Iterator, Sequence

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd

#: Sub-directory of ``fairfast.datasets`` that holds the compressed files.
DATA_DIR = "_data"


def data_file(name: str) -> Any:
    """Return a traversable handle on a bundled data file.

    Parameters
    ----------
    name : str
        File name inside ``fairfast/datasets/_data``.

    Returns
    -------
    importlib.resources.abc.Traversable
        Handle that can be opened in binary mode; it also works when the package
        is imported from a zip file.
    """
    return resources.files(__package__).joinpath(DATA_DIR, name)


@contextmanager
def open_data_file(name: str) -> Iterator[Any]:
    """Open a bundled data file in binary mode.

    Raises
    ------
    FileNotFoundError
        If the file is missing from the installed package.
    """
    handle = data_file(name)
    if not handle.is_file():
        raise FileNotFoundError(
            f"bundled data file {name!r} is missing from the fairfast installation "
            f"(expected in fairfast/datasets/{DATA_DIR}/); reinstall fairfast."
        )
    with handle.open("rb") as fh:
        yield fh


def check_option(name: str, value: Any, allowed: Sequence[str]) -> str:
    """Return ``value`` if it is one of ``allowed``, else raise a ValueError naming it."""
    if not isinstance(value, str) or value not in allowed:
        choices = ", ".join(repr(a) for a in allowed)
        raise ValueError(f"{name} must be one of {choices}; got {value!r}.")
    return value


def check_bool(name: str, value: Any) -> bool:
    """Return ``value`` if it is a bool, else raise a TypeError naming it."""
    if not isinstance(value, bool):
        raise TypeError(f"{name} must be True or False; got {value!r}.")
    return value


def categorical(
    values: pd.Series,
    categories: Sequence[Any],
    *,
    name: str,
    ordered: bool = False,
) -> pd.Series:
    """Convert ``values`` to a categorical Series with fixed ``categories``.

    Unlike a bare ``astype`` this refuses to turn unknown labels into missing
    values silently: a label outside ``categories`` means the bundled file does
    not match the loader, which is a bug.
    """
    import pandas as pd

    out = pd.Series(
        pd.Categorical(values, categories=list(categories), ordered=ordered),
        index=values.index,
        name=name,
    )
    lost = out.isna() & values.notna()
    if lost.any():
        unknown = sorted(set(values[lost].astype(str)))
        raise ValueError(f"column {name!r} has unexpected labels {unknown[:5]!r}.")
    return out


def make_bunch(
    *,
    data: pd.DataFrame,
    target: pd.Series,
    sensitive: pd.DataFrame,
    target_names: list[str],
    descr: str,
    extra_frame: Sequence[pd.DataFrame | pd.Series] = (),
    **extra: Any,
):
    """Assemble the scikit-learn style result of a loader.

    ``frame`` holds the columns of ``data``, then the sensitive columns that are
    not already in ``data``, then ``extra_frame``, then the target (last).
    """
    import pandas as pd
    from sklearn.utils import Bunch

    missing_sensitive = [c for c in sensitive.columns if c not in data.columns]
    parts = [data, sensitive[missing_sensitive], *extra_frame, target]
    frame = pd.concat(parts, axis=1)
    return Bunch(
        data=data,
        target=target,
        sensitive=sensitive,
        frame=frame,
        feature_names=list(data.columns),
        target_name=str(target.name),
        target_names=list(target_names),
        sensitive_names=list(sensitive.columns),
        DESCR=descr,
        **extra,
    )
