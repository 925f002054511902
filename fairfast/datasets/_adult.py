"""UCI Adult (Census Income) loader."""

from __future__ import annotations

from ._base import categorical, check_bool, check_option, make_bunch, open_data_file

_FILES = {"train": "adult.data.gz", "test": "adult.test.gz"}
_SUBSETS = ("all", "train", "test")

#: Column names of the raw files (adult.names), in file order, in snake_case.
_COLUMNS = [
    "age",
    "workclass",
    "fnlwgt",
    "education",
    "education_num",
    "marital_status",
    "occupation",
    "relationship",
    "race",
    "sex",
    "capital_gain",
    "capital_loss",
    "hours_per_week",
    "native_country",
    "income",
]
_NUMERIC = ["age", "fnlwgt", "education_num", "capital_gain", "capital_loss", "hours_per_week"]
_CATEGORICAL = [
    "workclass",
    "education",
    "marital_status",
    "occupation",
    "relationship",
    "race",
    "sex",
    "native_country",
]
_SENSITIVE = ["sex", "race"]
_TARGET = "income_over_50k"

DESCR = """\
.. _adult_dataset:

UCI Adult (Census Income) data set
----------------------------------

Extract of the 1994 US Current Population Survey made by Barry Becker; the task
is to predict whether a person's yearly income exceeds 50,000 USD.

**Source.** Becker, B. & Kohavi, R. (1996). Adult [data set]. UCI Machine
Learning Repository, https://doi.org/10.24432/C5XW20. Licence: Creative Commons
Attribution 4.0 International (CC BY 4.0). The package ships the original files
``adult.data`` and ``adult.test`` byte for byte, gzip-compressed.

**Rows.** 32,561 (``subset="train"``, adult.data) + 16,281 (``subset="test"``,
adult.test) = 48,842 (``subset="all"``, train rows first, then test rows;
the index is a fresh ``RangeIndex``).

**Preprocessing.**

- Column names are those of adult.names in snake_case (``education-num`` ->
  ``education_num`` and so on).
- The first line of adult.test (``|1x3 Cross validator``) is skipped; the
  trailing full stop of its labels (``>50K.``) is removed.
- Values ``?`` are missing and become NaN. Rows with missing values are *kept*
  (3,620 of 48,842 rows have one, in ``workclass``, ``occupation`` or
  ``native_country``); drop them with ``data.dropna()`` if you need the
  45,222 complete rows used in many papers.
- Numeric columns (``age``, ``fnlwgt``, ``education_num``, ``capital_gain``,
  ``capital_loss``, ``hours_per_week``) are int64. The other eight columns are
  unordered pandas ``category`` columns whose categories are the labels seen in
  either file, sorted, so that train and test share the same categories.
- ``fnlwgt`` is the census sampling weight; it is kept as in the raw data.

**Target.** ``income_over_50k``: 1 if income is ``>50K``, else 0 (int64).
Positive rate: 11,687 / 48,842 = 23.93% (all), 7,841 / 32,561 = 24.08%
(train), 3,846 / 16,281 = 23.62% (test).

**Sensitive attributes** (``sensitive``, categorical): ``sex`` (Female, Male)
and ``race`` (Amer-Indian-Eskimo, Asian-Pac-Islander, Black, Other, White), with
the raw labels. Both also stay in ``data``, as in the raw set; pass
``drop_sensitive=True`` to remove them from ``data`` (they remain in
``sensitive`` and ``frame``). ``age`` is also often treated as sensitive; it
stays in ``data`` either way.
"""


def _read(name: str):
    import pandas as pd

    skiprows = 1 if name == "test" else 0
    with open_data_file(_FILES[name]) as fh:
        df = pd.read_csv(
            fh,
            compression="gzip",
            header=None,
            names=_COLUMNS,
            sep=",",
            skipinitialspace=True,
            skiprows=skiprows,
            keep_default_na=False,
            na_values=["?"],
            dtype={c: "int64" for c in _NUMERIC},
        )
    return df


def load_adult(*, subset="all", return_X_y=False, drop_sensitive=False):
    """Load the UCI Adult (Census Income) data set.

    Binary classification: does a person's yearly income exceed 50,000 USD?
    The raw files are bundled with fairfast; nothing is downloaded.

    =================  ==============================================
    rows               48,842 (train 32,561; test 16,281)
    features           14 (6 numeric, 8 categorical)
    target             ``income_over_50k`` in {0, 1}; 23.93% ones
    sensitive          ``sex`` (2 groups), ``race`` (5 groups)
    =================  ==============================================

    Parameters
    ----------
    subset : {"all", "train", "test"}, default="all"
        Which part of the original split to return: ``"train"`` is adult.data,
        ``"test"`` is adult.test, ``"all"`` is both (train rows first).
    return_X_y : bool, default=False
        If True, return ``(data, target)`` instead of a Bunch.
    drop_sensitive : bool, default=False
        If True, remove the sensitive columns ``sex`` and ``race`` from ``data``
        (they are still returned in ``sensitive``).

    Returns
    -------
    bunch : sklearn.utils.Bunch
        Dictionary-like object with the fields

        data : pandas.DataFrame
            Features; numeric columns int64, the others ``category``; missing
            values (``?`` in the raw files) are NaN.
        target : pandas.Series
            ``income_over_50k``, int64 in {0, 1}.
        sensitive : pandas.DataFrame
            ``sex`` and ``race`` as ``category`` with the raw labels.
        frame : pandas.DataFrame
            ``data``, any sensitive column not in ``data``, and the target.
        feature_names : list of str
            Columns of ``data``.
        target_name : str
            ``"income_over_50k"``.
        target_names : list of str
            Meaning of the target values 0 and 1: ``["<=50K", ">50K"]``.
        sensitive_names : list of str
            Columns of ``sensitive``.
        DESCR : str
            Source, licence and preprocessing.
    (data, target) : tuple
        If ``return_X_y`` is True.

    Raises
    ------
    ValueError
        If ``subset`` is not one of the allowed values.

    Notes
    -----
    Rows with missing values are kept; see ``DESCR`` for the details of the
    preprocessing.

    References
    ----------
    Becker, B. and Kohavi, R. (1996). Adult. UCI Machine Learning Repository,
    https://doi.org/10.24432/C5XW20 (CC BY 4.0).

    Examples
    --------
    >>> from fairfast.datasets import load_adult
    >>> adult = load_adult()
    >>> adult.data.shape
    (48842, 14)
    >>> round(float(adult.target.mean()), 4)
    0.2393
    >>> adult.sensitive["sex"].value_counts().sort_index()
    sex
    Female    16192
    Male      32650
    Name: count, dtype: int64
    >>> X, y = load_adult(subset="test", return_X_y=True, drop_sensitive=True)
    >>> X.shape, y.shape
    ((16281, 12), (16281,))
    """
    import pandas as pd

    check_option("subset", subset, _SUBSETS)
    check_bool("return_X_y", return_X_y)
    check_bool("drop_sensitive", drop_sensitive)

    # Both files are always parsed so that train and test share categories.
    parts = {name: _read(name) for name in ("train", "test")}
    parts["test"]["income"] = parts["test"]["income"].str.rstrip(".")
    raw = pd.concat([parts["train"], parts["test"]], ignore_index=True)
    categories = {c: sorted(raw[c].dropna().unique()) for c in _CATEGORICAL}
    if subset != "all":
        raw = parts[subset]

    data = pd.DataFrame(index=pd.RangeIndex(len(raw)))
    for col in _COLUMNS[:-1]:
        values = raw[col].reset_index(drop=True)
        if col in _CATEGORICAL:
            values = categorical(values, categories[col], name=col)
        data[col] = values

    income = raw["income"].reset_index(drop=True)
    bad = ~income.isin(["<=50K", ">50K"])
    if bad.any():
        raise ValueError(f"unexpected income labels {sorted(set(income[bad]))[:5]!r}.")
    target = (income == ">50K").astype("int64").rename(_TARGET)
    sensitive = data[_SENSITIVE].copy()
    if drop_sensitive:
        data = data.drop(columns=_SENSITIVE)

    if return_X_y:
        return data, target
    return make_bunch(
        data=data,
        target=target,
        sensitive=sensitive,
        target_names=["<=50K", ">50K"],
        descr=DESCR,
    )
