"""Statlog German Credit loader."""

from __future__ import annotations

from ._base import categorical, check_bool, make_bunch, open_data_file

_FILE = "german.data.gz"

#: Readable names of the 20 attributes, in file order, then the class.
_COLUMNS = [
    "checking_status",  # 1
    "duration_months",  # 2
    "credit_history",  # 3
    "purpose",  # 4
    "credit_amount",  # 5
    "savings",  # 6
    "employment_since",  # 7
    "installment_rate",  # 8
    "personal_status_sex",  # 9
    "other_debtors",  # 10
    "residence_since",  # 11
    "property",  # 12
    "age",  # 13
    "other_installment_plans",  # 14
    "housing",  # 15
    "existing_credits",  # 16
    "job",  # 17
    "num_dependents",  # 18
    "telephone",  # 19
    "foreign_worker",  # 20
    "credit_risk",  # class: 1 = good, 2 = bad
]

#: Code -> label for the qualitative attributes, in the code order of the UCI
#: documentation (german.doc); the categories keep this order, including codes
#: that never occur (A47, A95).
_CODES = {
    "checking_status": {
        "A11": "< 0 DM",
        "A12": "0 <= ... < 200 DM",
        "A13": ">= 200 DM / salary assignments for at least 1 year",
        "A14": "no checking account",
    },
    "credit_history": {
        "A30": "no credits taken / all credits paid back duly",
        "A31": "all credits at this bank paid back duly",
        "A32": "existing credits paid back duly till now",
        "A33": "delay in paying off in the past",
        "A34": "critical account / other credits existing (not at this bank)",
    },
    "purpose": {
        "A40": "car (new)",
        "A41": "car (used)",
        "A42": "furniture/equipment",
        "A43": "radio/television",
        "A44": "domestic appliances",
        "A45": "repairs",
        "A46": "education",
        "A47": "vacation",
        "A48": "retraining",
        "A49": "business",
        "A410": "others",
    },
    "savings": {
        "A61": "< 100 DM",
        "A62": "100 <= ... < 500 DM",
        "A63": "500 <= ... < 1000 DM",
        "A64": ">= 1000 DM",
        "A65": "unknown / no savings account",
    },
    "employment_since": {
        "A71": "unemployed",
        "A72": "< 1 year",
        "A73": "1 <= ... < 4 years",
        "A74": "4 <= ... < 7 years",
        "A75": ">= 7 years",
    },
    "personal_status_sex": {
        "A91": "male: divorced/separated",
        "A92": "female: divorced/separated/married",
        "A93": "male: single",
        "A94": "male: married/widowed",
        "A95": "female: single",
    },
    "other_debtors": {
        "A101": "none",
        "A102": "co-applicant",
        "A103": "guarantor",
    },
    "property": {
        "A121": "real estate",
        "A122": "building society savings agreement / life insurance",
        "A123": "car or other",
        "A124": "unknown / no property",
    },
    "other_installment_plans": {
        "A141": "bank",
        "A142": "stores",
        "A143": "none",
    },
    "housing": {
        "A151": "rent",
        "A152": "own",
        "A153": "for free",
    },
    "job": {
        "A171": "unemployed / unskilled - non-resident",
        "A172": "unskilled - resident",
        "A173": "skilled employee / official",
        "A174": "management / self-employed / highly qualified employee / officer",
    },
    "telephone": {
        "A191": "none",
        "A192": "yes, registered under the customer's name",
    },
    "foreign_worker": {
        "A201": "yes",
        "A202": "no",
    },
}
#: Sex from attribute 9 (female first, so that the categories are Female, Male).
_SEX = {"A92": "Female", "A95": "Female", "A91": "Male", "A93": "Male", "A94": "Male"}
_AGE_GROUPS = ["25 or younger", "older than 25"]
_SENSITIVE_SOURCE = ["personal_status_sex", "age"]
_TARGET = "good_credit"

DESCR = """\
.. _german_dataset:

Statlog German Credit data set
------------------------------

1,000 loan applicants of a German bank described by 20 attributes, each
classified as a good or a bad credit risk.

**Source.** Hofmann, H. (1994). Statlog (German Credit Data) [data set]. UCI
Machine Learning Repository, https://doi.org/10.24432/C5NC77. Licence: Creative
Commons Attribution 4.0 International (CC BY 4.0). The package ships the
original file ``german.data`` byte for byte, gzip-compressed.

**Rows.** 1,000; no missing values.

**Features** (``data``, 20 columns, in the order of the UCI documentation):
``checking_status``, ``duration_months``, ``credit_history``, ``purpose``,
``credit_amount``, ``savings``, ``employment_since``, ``installment_rate``,
``personal_status_sex``, ``other_debtors``, ``residence_since``, ``property``,
``age``, ``other_installment_plans``, ``housing``, ``existing_credits``,
``job``, ``num_dependents``, ``telephone``, ``foreign_worker``. The 7 numeric
attributes are int64. The 13 qualitative attributes are decoded from their
A-codes (e.g. ``A11`` -> ``"< 0 DM"``) to the labels of the UCI documentation
and stored as unordered ``category`` columns whose categories follow the code
order, including the two documented codes that never occur (``A47``
"vacation" in ``purpose``, ``A95`` "female: single" in
``personal_status_sex``).

**Target.** ``good_credit``: 1 for a good credit risk (class 1 in the raw file),
0 for a bad one (class 2). Note the direction: 1 is the favourable outcome.
Positive rate 700 / 1,000 = 70.0%. The data set comes with a cost matrix
(predicting good for a bad risk costs 5, the reverse 1), which the loader does
not apply.

**Sensitive attributes** (``sensitive``):

- ``sex`` (category Female, Male), derived from attribute 9
  ``personal_status_sex``: A91, A93 and A94 are male, A92 and A95 female
  (310 female, 690 male). Attribute 9 mixes sex and marital status; sex is not
  recorded separately.
- ``age`` (int64, years; attribute 13).
- ``age_group`` (category "25 or younger", "older than 25"), i.e.
  ``age > 25``, the split of Kamiran & Calders (2009) used across the fairness
  literature (190 aged 25 or younger, 810 older).

``data`` keeps the raw attributes ``personal_status_sex`` and ``age``; pass
``drop_sensitive=True`` to remove both from ``data`` (note that this also
removes the marital status, which only attribute 9 records). ``sex`` and
``age_group`` are derived and appear only in ``sensitive`` and ``frame``.
``foreign_worker`` is sometimes also treated as sensitive; it stays in ``data``.
"""


def _decode(codes, labels, *, name):
    """Map A-codes to labels; the categories follow the code order of ``labels``."""
    unknown = sorted(set(codes) - set(labels))
    if unknown:
        raise ValueError(f"column {name!r} has unexpected codes {unknown[:5]!r}.")
    categories = list(dict.fromkeys(labels.values()))
    return categorical(codes.map(labels), categories, name=name)


def load_german(*, return_X_y=False, drop_sensitive=False):
    """Load the Statlog German Credit data set.

    Binary classification of loan applicants into good and bad credit risks.
    The raw file is bundled with fairfast; nothing is downloaded.

    =================  ==============================================
    rows               1,000
    features           20 (7 numeric, 13 categorical, decoded labels)
    target             ``good_credit`` in {0, 1}; 1 = good; 70.0% ones
    sensitive          ``sex`` (2 groups), ``age``, ``age_group``
    =================  ==============================================

    Parameters
    ----------
    return_X_y : bool, default=False
        If True, return ``(data, target)`` instead of a Bunch.
    drop_sensitive : bool, default=False
        If True, remove ``personal_status_sex`` and ``age`` (the raw columns the
        sensitive attributes come from) from ``data``.

    Returns
    -------
    bunch : sklearn.utils.Bunch
        Dictionary-like object with the fields

        data : pandas.DataFrame
            The 20 attributes with readable names; numeric columns int64,
            qualitative ones ``category`` with the documented labels.
        target : pandas.Series
            ``good_credit``, int64: 1 = good credit risk, 0 = bad.
        sensitive : pandas.DataFrame
            ``sex`` (category Female/Male, from attribute 9), ``age`` (int64)
            and ``age_group`` (category, ``age > 25``).
        frame : pandas.DataFrame
            ``data``, the sensitive columns not in ``data``, and the target.
        feature_names : list of str
            Columns of ``data``.
        target_name : str
            ``"good_credit"``.
        target_names : list of str
            Meaning of the target values 0 and 1: ``["bad", "good"]``.
        sensitive_names : list of str
            Columns of ``sensitive``.
        DESCR : str
            Source, licence and preprocessing.
    (data, target) : tuple
        If ``return_X_y`` is True.

    References
    ----------
    Hofmann, H. (1994). Statlog (German Credit Data). UCI Machine Learning
    Repository, https://doi.org/10.24432/C5NC77 (CC BY 4.0).

    Examples
    --------
    >>> from fairfast.datasets import load_german
    >>> german = load_german()
    >>> german.data.shape
    (1000, 20)
    >>> int(german.target.sum())
    700
    >>> german.sensitive["sex"].value_counts().sort_index()
    sex
    Female    310
    Male      690
    Name: count, dtype: int64
    >>> german.data["checking_status"].cat.categories[0]
    '< 0 DM'
    """
    import pandas as pd

    check_bool("return_X_y", return_X_y)
    check_bool("drop_sensitive", drop_sensitive)

    with open_data_file(_FILE) as fh:
        raw = pd.read_csv(
            fh,
            compression="gzip",
            header=None,
            names=_COLUMNS,
            sep=" ",
            keep_default_na=False,
            dtype={c: ("str" if c in _CODES else "int64") for c in _COLUMNS},
        )

    data = pd.DataFrame(index=pd.RangeIndex(len(raw)))
    for col in _COLUMNS[:-1]:
        if col in _CODES:
            data[col] = _decode(raw[col], _CODES[col], name=col)
        else:
            data[col] = raw[col]

    credit = raw["credit_risk"]
    if not credit.isin([1, 2]).all():
        raise ValueError("unexpected credit_risk codes in german.data; expected 1 or 2.")
    target = (credit == 1).astype("int64").rename(_TARGET)

    age = raw["age"].rename("age")
    sensitive = pd.DataFrame(
        {
            "sex": _decode(raw["personal_status_sex"], _SEX, name="sex"),
            "age": age,
            "age_group": categorical(
                (age > 25).map({False: _AGE_GROUPS[0], True: _AGE_GROUPS[1]}),
                _AGE_GROUPS,
                name="age_group",
            ),
        }
    )
    if drop_sensitive:
        data = data.drop(columns=_SENSITIVE_SOURCE)

    if return_X_y:
        return data, target
    return make_bunch(
        data=data,
        target=target,
        sensitive=sensitive,
        target_names=["bad", "good"],
        descr=DESCR,
    )
