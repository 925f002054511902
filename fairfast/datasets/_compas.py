"""ProPublica COMPAS (Broward County two-year recidivism) loader."""

from __future__ import annotations

from ._base import categorical, check_bool, check_option, make_bunch, open_data_file

_FILE = "compas-scores-two-years.csv.gz"
_LABELS = {"arrest": "two_year_recid", "violent": "is_violent_recid"}
_TARGET_NAMES = {
    "arrest": ["no recidivism within two years", "recidivism within two years"],
    "violent": ["no violent recidivism", "violent recidivism"],
}

_INT_COLUMNS = [
    "age",
    "juv_fel_count",
    "juv_misd_count",
    "juv_other_count",
    "priors_count",
    "is_recid",
    "is_violent_recid",
    "two_year_recid",
    "decile_score",
    "v_decile_score",
]
_CATEGORIES = {
    "sex": (["Female", "Male"], False),
    "race": (
        ["African-American", "Asian", "Caucasian", "Hispanic", "Native American", "Other"],
        False,
    ),
    "age_cat": (["Less than 25", "25 - 45", "Greater than 45"], True),
    "c_charge_degree": (["F", "M"], False),
    "score_text": (["Low", "Medium", "High"], True),
    "v_score_text": (["Low", "Medium", "High"], True),
}
_FEATURES = [
    "age",
    "age_cat",
    "sex",
    "race",
    "juv_fel_count",
    "juv_misd_count",
    "juv_other_count",
    "priors_count",
    "c_charge_degree",
]
_SCORES = ["decile_score", "score_text", "v_decile_score", "v_score_text"]
_LABEL_COLUMNS = ["two_year_recid", "is_recid", "is_violent_recid"]
_SENSITIVE = ["race", "sex"]

#: Charge-description keyword indicators: column -> regular expression matched,
#: case-insensitively, anywhere in ``c_charge_desc`` (a missing description
#: matches nothing). Negated mentions ("No Weapon", "w/o Firearm") do not count.
CHARGE_KEYWORDS = {
    "charge_possession": r"poss",
    "charge_theft": r"theft",
    "charge_driving": r"driv",
    "charge_battery": r"batt",
    "charge_assault": r"assault",
    "charge_weapon": r"(?<!no )(?<!w/o )(?<!w/o deadly )weap",
    "charge_firearm": r"(?<!w/o )(?:firearm|f/arm)",
}

DESCR = """\
.. _compas_dataset:

ProPublica COMPAS recidivism data set
-------------------------------------

Defendants screened with the COMPAS risk assessment in Broward County, Florida,
in 2013-2014, with their criminal records over the following two years, as
compiled by ProPublica for "Machine Bias".

**Source.** Angwin, J., Larson, J., Mattu, S. & Kirchner, L. (2016). Machine
Bias. ProPublica. Data: file ``compas-scores-two-years.csv`` of the repository
https://github.com/propublica/compas-analysis (Larson, Mattu, Kirchner & Angwin,
"How we analyzed the COMPAS recidivism algorithm", ProPublica, 2016). The
repository states no licence; the data are public records compiled by
ProPublica and are redistributed here for research and teaching, with
attribution. Please cite the article. Identifying columns (names, dates of birth,
case numbers, dates) are not shipped.

**Rows.** The raw file has 7,214 rows. ProPublica's standard filter keeps rows
with ``days_b_screening_arrest`` in [-30, 30] (arrest and screening close
enough that the screening concerns that arrest; missing values fail the test),
``is_recid != -1`` (a COMPAS case was found), ``c_charge_degree != "O"``
(ordinary traffic offences, which do not lead to jail, are removed) and
``score_text != "N/A"``, leaving **6,172 rows** (index reset to 0..6171).

**Features** (``data``):

- ``age`` (int64) and ``age_cat`` (ordered category: Less than 25 < 25 - 45 <
  Greater than 45);
- ``sex`` (Female, Male) and ``race`` (African-American, Asian, Caucasian,
  Hispanic, Native American, Other), categorical with the raw labels;
- ``juv_fel_count``, ``juv_misd_count``, ``juv_other_count``, ``priors_count``
  (int64);
- ``c_charge_degree`` (category: F = felony, M = misdemeanour);
- seven int64 0/1 indicators built from the charge description
  ``c_charge_desc``, following the COMPAS experiment of Hu, Ratz & Charpentier
  (2023, arXiv:2306.10155). An indicator is 1 when the lower-cased description
  contains the keyword: ``charge_possession`` "poss", ``charge_theft`` "theft",
  ``charge_driving`` "driv", ``charge_battery`` "batt", ``charge_assault``
  "assault", ``charge_weapon`` "weap" unless written "no weap..." or
  "w/o (deadly) weap...", and ``charge_firearm`` "firearm" or "f/arm" unless
  written "w/o firearm". The first five are the paper's substrings. For the last
  two the paper matched the bare substrings "weap" and "arm"; the negations
  are excluded here, and "arm" is narrowed to firearms because it also matches
  "Harm", "Armed Burglary" and "Strong Armed Robbery". On the 6,172 rows
  the indicators count 999, 602, 529, 1,507, 196, 159 and 79 ones (the paper's
  substrings would give 193 for weapons and 168 for "arm"). Five rows have no
  description; their indicators are 0. The raw description is in ``frame``.

**Vendor scores** (``scores``, not in ``data`` so that they do not leak into a
model trained on ``data``): ``decile_score`` (1-10) and ``score_text`` (ordered
Low < Medium < High) of the "Risk of Recidivism" assessment, and
``v_decile_score`` / ``v_score_text`` of the "Risk of Violence" assessment.
ProPublica calls a defendant high risk when ``score_text`` is Medium or High.
The raw file repeats ``decile_score`` and ``priors_count`` under the same name;
the copies are identical and the first one is used.

**Target.**

- ``label="arrest"`` (default): ``two_year_recid``, a new arrest within two
  years of the screening. Positive rate 2,809 / 6,172 = 45.51%.
- ``label="violent"``: ``is_violent_recid``, ProPublica's flag for a violent
  re-offence. Positive rate 692 / 6,172 = 11.21%. ProPublica's own
  violent-recidivism analysis uses another file,
  ``compas-scores-two-years-violent.csv``, with its own cohort and the violence
  score; that file is not shipped. Using ``is_violent_recid`` on the two-year
  cohort above is what the reproduction of the COMPAS experiment of Hu, Ratz &
  Charpentier (2023) does. The flag is not restricted to the two-year window:
  40 of its 692 positives have ``two_year_recid == 0``.

All three labels (``two_year_recid``, ``is_recid``, ``is_violent_recid``) are in
the ``labels`` field, e.g. for multi-task learning (the paper's first task is
``is_recid``, positive rate 2,990 / 6,172 = 48.44%).

**Sensitive attributes** (``sensitive``, categorical): ``race`` (raw labels, six
groups) and ``sex``. Both also stay in ``data``, as in the raw set; pass
``drop_sensitive=True`` to remove them from ``data``. ``age`` / ``age_cat`` are
also sometimes treated as sensitive; they stay in ``data`` either way.

**Caveat.** COMPAS labels record re-arrest, not re-offence, and the data set has
well-documented measurement problems; see Bao et al. (2021), "It's
COMPASlicated: The Messy Relationship between RAI Datasets and Algorithmic
Fairness Benchmarks", NeurIPS Datasets and Benchmarks.
"""


def _read():
    import pandas as pd

    with open_data_file(_FILE) as fh:
        raw = pd.read_csv(
            fh,
            compression="gzip",
            keep_default_na=False,
            na_values={"days_b_screening_arrest": [""], "c_charge_desc": [""]},
            dtype={c: "int64" for c in _INT_COLUMNS},
        )
    return raw


def _propublica_filter(raw):
    days = raw["days_b_screening_arrest"]
    keep = (
        (days >= -30)
        & (days <= 30)
        & (raw["is_recid"] != -1)
        & (raw["c_charge_degree"] != "O")
        & (raw["score_text"] != "N/A")
    )
    return raw.loc[keep].reset_index(drop=True)


def _charge_indicators(desc):
    import pandas as pd

    lower = desc.str.lower()
    return pd.DataFrame(
        {
            name: lower.str.contains(pattern, regex=True, na=False).astype("int64")
            for name, pattern in CHARGE_KEYWORDS.items()
        },
        index=desc.index,
    )


def load_compas(*, label="arrest", return_X_y=False, drop_sensitive=False):
    """Load the ProPublica COMPAS two-year recidivism data set.

    Binary classification of recidivism for defendants screened with COMPAS in
    Broward County, Florida, after ProPublica's standard filter. The data are
    bundled with fairfast; nothing is downloaded.

    =================  ==================================================
    rows               6,172 (ProPublica filter of 7,214 raw rows)
    features           16 (age, age group, sex, race, 4 counts, charge
                       degree, 7 charge keyword indicators)
    target             ``two_year_recid`` (45.51% ones) or
                       ``is_violent_recid`` (11.21% ones)
    sensitive          ``race`` (6 groups), ``sex`` (2 groups)
    =================  ==================================================

    Parameters
    ----------
    label : {"arrest", "violent"}, default="arrest"
        Target: ``"arrest"`` is ``two_year_recid`` (a new arrest within two
        years), ``"violent"`` is ``is_violent_recid`` (a violent re-offence; see
        ``DESCR`` for how this differs from ProPublica's violent cohort).
    return_X_y : bool, default=False
        If True, return ``(data, target)`` instead of a Bunch.
    drop_sensitive : bool, default=False
        If True, remove the sensitive columns ``race`` and ``sex`` from ``data``
        (they are still returned in ``sensitive``).

    Returns
    -------
    bunch : sklearn.utils.Bunch
        Dictionary-like object with the fields

        data : pandas.DataFrame
            Features; counts and indicators int64, the others ``category``.
            The vendor's risk scores are *not* in ``data``.
        target : pandas.Series
            ``two_year_recid`` or ``is_violent_recid``, int64 in {0, 1}.
        sensitive : pandas.DataFrame
            ``race`` and ``sex`` as ``category`` with the raw labels.
        scores : pandas.DataFrame
            The vendor's scores: ``decile_score`` (1-10, recidivism),
            ``score_text`` (Low < Medium < High), ``v_decile_score`` and
            ``v_score_text`` (violence).
        labels : pandas.DataFrame
            All labels: ``two_year_recid``, ``is_recid``, ``is_violent_recid``.
        frame : pandas.DataFrame
            ``data``, any sensitive column not in ``data``, ``scores``, the raw
            charge description ``c_charge_desc`` and the target.
        feature_names : list of str
            Columns of ``data``.
        target_name : str
            ``"two_year_recid"`` or ``"is_violent_recid"``.
        target_names : list of str
            Meaning of the target values 0 and 1.
        sensitive_names : list of str
            Columns of ``sensitive``.
        DESCR : str
            Source, licence, filter and preprocessing.
    (data, target) : tuple
        If ``return_X_y`` is True.

    Raises
    ------
    ValueError
        If ``label`` is not one of the allowed values.

    References
    ----------
    Angwin, J., Larson, J., Mattu, S. and Kirchner, L. (2016). Machine Bias.
    ProPublica. https://github.com/propublica/compas-analysis

    Examples
    --------
    >>> from fairfast.datasets import load_compas
    >>> compas = load_compas()
    >>> compas.data.shape
    (6172, 16)
    >>> round(float(compas.target.mean()), 4)
    0.4551
    >>> compas.sensitive["race"].value_counts().head(2)
    race
    African-American    3175
    Caucasian           2103
    Name: count, dtype: int64
    >>> bool(compas.scores["decile_score"].between(1, 10).all())
    True
    >>> X, y = load_compas(label="violent", return_X_y=True)
    >>> y.name, int(y.sum())
    ('is_violent_recid', 692)
    """
    import pandas as pd

    check_option("label", label, tuple(_LABELS))
    check_bool("return_X_y", return_X_y)
    check_bool("drop_sensitive", drop_sensitive)

    raw = _propublica_filter(_read())
    for col, (categories, ordered) in _CATEGORIES.items():
        raw[col] = categorical(raw[col], categories, name=col, ordered=ordered)

    data = pd.concat([raw[_FEATURES], _charge_indicators(raw["c_charge_desc"])], axis=1)
    sensitive = raw[_SENSITIVE].copy()
    if drop_sensitive:
        data = data.drop(columns=_SENSITIVE)
    target = raw[_LABELS[label]].copy()

    if return_X_y:
        return data, target
    scores = raw[_SCORES].copy()
    return make_bunch(
        data=data,
        target=target,
        sensitive=sensitive,
        target_names=_TARGET_NAMES[label],
        descr=DESCR,
        extra_frame=[scores, raw["c_charge_desc"]],
        scores=scores,
        labels=raw[_LABEL_COLUMNS].copy(),
    )
