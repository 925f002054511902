"""Tests of the bundled data sets (fairfast.datasets)."""

import gzip
import hashlib
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import fairfast.datasets as ds
from fairfast.datasets import load_adult, load_compas, load_german
from fairfast.datasets._base import DATA_DIR, data_file

DATA_PATH = Path(ds.__file__).resolve().parent / DATA_DIR

# SHA-256 of the decompressed bundled files (see fairfast/datasets/_data/README.md).
SHA256 = {
    "adult.data.gz": "5b00264637dbfec36bdeaab5676b0b309ff9eb788d63554ca0a249491c86603d",
    "adult.test.gz": "a2a9044bc167a35b2361efbabec64e89d69ce82d9790d2980119aac5fd7e9c05",
    "german.data.gz": "b21f3d81db8071257d5ff1deaeba1fd4303b62712e6fcc9715c7a86202cb5871",
    "compas-scores-two-years.csv.gz": (
        "5d96d489e49f0fc3994f8735f0d856c7382a75f466ffd90896b37d88dcc3d2d3"
    ),
}

ADULT_RACES = ["Amer-Indian-Eskimo", "Asian-Pac-Islander", "Black", "Other", "White"]
COMPAS_RACES = ["African-American", "Asian", "Caucasian", "Hispanic", "Native American", "Other"]


def assert_same_frame(left, right):
    # pandas.testing.assert_frame_equal boxes every categorical value (seconds on Adult)
    assert list(left.columns) == list(right.columns)
    assert left.dtypes.equals(right.dtypes)
    assert left.index.equals(right.index)
    assert left.equals(right)


def assert_same_series(left, right):
    assert left.name == right.name and left.dtype == right.dtype
    assert left.index.equals(right.index)
    assert left.equals(right)


@pytest.fixture(scope="module")
def adult():
    return load_adult()


@pytest.fixture(scope="module")
def compas():
    return load_compas()


@pytest.fixture(scope="module")
def german():
    return load_german()


# --------------------------------------------------------------------------- files


@pytest.mark.parametrize("name", sorted(SHA256))
def test_bundled_file_is_inside_package_and_intact(name):
    path = Path(str(data_file(name))).resolve()
    assert path.parent == DATA_PATH
    assert path.is_file()
    with gzip.open(path, "rb") as fh:
        assert hashlib.sha256(fh.read()).hexdigest() == SHA256[name]


def test_bundled_files_are_small():
    total = sum(p.stat().st_size for p in DATA_PATH.glob("*.gz"))
    assert sorted(p.name for p in DATA_PATH.glob("*.gz")) == sorted(SHA256)
    assert total < 1_000_000


_OPENED = None  # list of opened paths while recording, else None
_HOOK_INSTALLED = False


def _audit(event, args):
    if _OPENED is None:
        return
    if event == "open" and isinstance(args[0], (str, bytes, Path)):
        _OPENED.append(str(args[0]))
    elif event.startswith(("socket.", "urllib.")):
        _OPENED.append(f"<{event}>")


@pytest.mark.parametrize(
    "loader",
    [load_adult, load_compas, load_german],
    ids=["adult", "compas", "german"],
)
def test_loaders_read_only_bundled_files(loader):
    global _OPENED, _HOOK_INSTALLED
    if not _HOOK_INSTALLED:  # audit hooks cannot be removed: install once
        sys.addaudithook(_audit)
        _HOOK_INSTALLED = True
    loader()  # first call: lazy imports of pandas/scikit-learn submodules
    _OPENED = []
    try:
        loader()
        opened = list(_OPENED)
    finally:
        _OPENED = None
    assert opened, "the loader opened no file"
    for path in opened:
        assert not path.startswith("<"), f"network access: {path}"
        assert Path(path).resolve().parent == DATA_PATH, f"read outside the package: {path}"


def test_import_does_not_import_pandas(tmp_path):
    # Run from an empty directory so that the installed package is imported, not a
    # source checkout that happens to be the working directory.
    code = (
        "import sys; import fairfast; before = 'pandas' in sys.modules; "
        "import fairfast.datasets; print(before, 'pandas' in sys.modules)"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=tmp_path
    ).stdout.split()
    assert out[0] == out[1]


# --------------------------------------------------------------------------- common API


@pytest.mark.parametrize(
    "loader, n_rows, n_features, target_name, n_positive",
    [
        (lambda **kw: load_adult(**kw), 48842, 14, "income_over_50k", 11687),
        (lambda **kw: load_adult(subset="train", **kw), 32561, 14, "income_over_50k", 7841),
        (lambda **kw: load_adult(subset="test", **kw), 16281, 14, "income_over_50k", 3846),
        (lambda **kw: load_compas(**kw), 6172, 16, "two_year_recid", 2809),
        (lambda **kw: load_compas(label="violent", **kw), 6172, 16, "is_violent_recid", 692),
        (lambda **kw: load_german(**kw), 1000, 20, "good_credit", 700),
    ],
    ids=["adult-all", "adult-train", "adult-test", "compas-arrest", "compas-violent", "german"],
)
def test_shapes_targets_and_return_X_y(loader, n_rows, n_features, target_name, n_positive):
    bunch = loader()
    data, target = bunch.data, bunch.target
    assert data.shape == (n_rows, n_features)
    assert isinstance(data.index, pd.RangeIndex) and data.index.equals(target.index)
    assert target.dtype == np.int64 and target.name == target_name == bunch.target_name
    assert set(np.unique(target)) == {0, 1}
    assert int(target.sum()) == n_positive
    assert bunch.feature_names == list(data.columns)
    assert len(bunch.target_names) == 2
    assert isinstance(bunch.DESCR, str) and "Source" in bunch.DESCR
    assert len(bunch.sensitive) == n_rows
    assert list(bunch.sensitive.columns) == bunch.sensitive_names
    # frame: data first, target last, every sensitive column present
    assert list(bunch.frame.columns[:n_features]) == bunch.feature_names
    assert bunch.frame.columns[-1] == target_name
    assert set(bunch.sensitive_names) <= set(bunch.frame.columns)
    assert bunch.frame.columns.is_unique
    # numeric columns numeric, all others categorical
    for col in data.columns:
        assert data[col].dtype == np.int64 or isinstance(data[col].dtype, pd.CategoricalDtype)

    X, y = loader(return_X_y=True)
    assert_same_frame(X, data)
    assert_same_series(y, target)

    X_fair, _ = loader(return_X_y=True, drop_sensitive=True)
    assert len(X_fair) == n_rows
    assert X_fair.shape[1] < n_features
    assert list(X_fair.columns) == [c for c in data.columns if c in X_fair.columns]


@pytest.mark.parametrize(
    "call, match",
    [
        (lambda: load_adult(subset="validation"), "subset must be one of 'all', 'train', 'test'"),
        (lambda: load_compas(label="x"), "label must be one of 'arrest', 'violent'"),
        (lambda: load_compas(label=None), "label must be one of"),
    ],
)
def test_bad_option_names_argument(call, match):
    with pytest.raises(ValueError, match=match):
        call()


@pytest.mark.parametrize("loader", [load_adult, load_compas, load_german])
@pytest.mark.parametrize("arg", ["return_X_y", "drop_sensitive"])
def test_bad_flag_names_argument(loader, arg):
    with pytest.raises(TypeError, match=f"{arg} must be True or False"):
        loader(**{arg: "yes"})


@pytest.mark.parametrize("loader", [load_adult, load_compas, load_german])
def test_arguments_are_keyword_only(loader):
    with pytest.raises(TypeError):
        loader(True)


# --------------------------------------------------------------------------- Adult


def test_adult_columns_and_dtypes(adult):
    numeric = ["age", "fnlwgt", "education_num", "capital_gain", "capital_loss", "hours_per_week"]
    for col in numeric:
        assert adult.data[col].dtype == np.int64
    categorical = [c for c in adult.data.columns if c not in numeric]
    assert len(categorical) == 8
    for col in categorical:
        assert isinstance(adult.data[col].dtype, pd.CategoricalDtype)
        assert "?" not in adult.data[col].cat.categories


def test_adult_positive_rates():
    assert load_adult().target.mean() == pytest.approx(0.239282, abs=1e-6)
    assert load_adult(subset="train").target.mean() == pytest.approx(0.240810, abs=1e-6)
    assert load_adult(subset="test").target.mean() == pytest.approx(0.236226, abs=1e-6)


def test_adult_missing_values_kept(adult):
    missing = adult.data.isna()
    assert set(missing.columns[missing.any()]) == {"workclass", "occupation", "native_country"}
    assert int(missing.any(axis=1).sum()) == 3620
    assert len(adult.data.dropna()) == 45222


def test_adult_split_and_shared_categories(adult):
    train, test = load_adult(subset="train"), load_adult(subset="test")
    for col in adult.data.select_dtypes("category").columns:
        cats = adult.data[col].cat.categories
        assert train.data[col].cat.categories.equals(cats)
        assert test.data[col].cat.categories.equals(cats)
    both = pd.concat([train.data, test.data], ignore_index=True)
    assert_same_frame(both, adult.data)
    # the junk first line of adult.test is not a row
    assert test.data.iloc[0]["age"] == 25 and test.target.iloc[0] == 0


def test_adult_sensitive(adult):
    sens = adult.sensitive
    assert list(sens.columns) == ["sex", "race"]
    assert list(sens["sex"].cat.categories) == ["Female", "Male"]
    assert list(sens["race"].cat.categories) == ADULT_RACES
    assert sens["sex"].value_counts().to_dict() == {"Male": 32650, "Female": 16192}
    assert (sens["race"].value_counts() > 0).all()
    assert_same_frame(sens, adult.data[["sex", "race"]])
    X = load_adult(return_X_y=True, drop_sensitive=True)[0]
    assert "sex" not in X and "race" not in X and X.shape == (48842, 12)


# --------------------------------------------------------------------------- COMPAS


def test_compas_columns_and_dtypes(compas):
    data = compas.data
    for col in ["age", "juv_fel_count", "juv_misd_count", "juv_other_count", "priors_count"]:
        assert data[col].dtype == np.int64
    for col in ["age_cat", "sex", "race", "c_charge_degree"]:
        assert isinstance(data[col].dtype, pd.CategoricalDtype)
    assert data["age_cat"].cat.ordered
    assert list(data["c_charge_degree"].cat.categories) == ["F", "M"]
    assert not data.isna().any().any()


def test_compas_propublica_filter(compas):
    data = compas.data
    assert len(data) == 6172
    assert "O" not in set(data["c_charge_degree"])
    assert set(compas.labels["is_recid"]) == {0, 1}
    assert compas.scores["score_text"].notna().all()


def test_compas_targets(compas):
    assert compas.target.mean() == pytest.approx(0.455120, abs=1e-6)
    violent = load_compas(label="violent")
    assert violent.target.mean() == pytest.approx(0.112119, abs=1e-6)
    assert_same_frame(violent.data, compas.data)
    assert compas.labels.sum().to_dict() == {
        "two_year_recid": 2809,
        "is_recid": 2990,
        "is_violent_recid": 692,
    }
    assert_same_series(compas.labels["two_year_recid"], compas.target)


def test_compas_vendor_scores_not_in_features(compas):
    assert not {"decile_score", "score_text", "v_decile_score", "v_score_text"} & set(
        compas.data.columns
    )
    scores = compas.scores
    assert list(scores.columns) == ["decile_score", "score_text", "v_decile_score", "v_score_text"]
    assert scores["decile_score"].between(1, 10).all()
    assert scores["score_text"].cat.ordered
    assert list(scores["score_text"].cat.categories) == ["Low", "Medium", "High"]
    # score_text is a binning of decile_score: Low 1-4, Medium 5-7, High 8-10
    bins = pd.cut(scores["decile_score"], [0, 4, 7, 10], labels=["Low", "Medium", "High"])
    assert (bins.astype(str) == scores["score_text"].astype(str)).all()
    assert {"decile_score", "score_text", "c_charge_desc"} <= set(compas.frame.columns)


def test_compas_charge_indicators(compas):
    names = [c for c in compas.data.columns if c.startswith("charge_")]
    assert compas.data[names].sum().to_dict() == {
        "charge_possession": 999,
        "charge_theft": 602,
        "charge_driving": 529,
        "charge_battery": 1507,
        "charge_assault": 196,
        "charge_weapon": 159,
        "charge_firearm": 79,
    }
    desc = compas.frame["c_charge_desc"]
    row = desc.str.lower().eq("robbery / no weapon")
    assert row.any() and (compas.data.loc[row, "charge_weapon"] == 0).all()
    row = desc.str.lower().eq("aggravated assault w/o firearm")
    assert row.any() and (compas.data.loc[row, "charge_firearm"] == 0).all()
    row = desc.str.lower().eq("carrying concealed firearm")
    assert row.any() and (compas.data.loc[row, "charge_firearm"] == 1).all()
    assert (compas.data.loc[desc.isna(), names] == 0).all().all()


def test_compas_sensitive(compas):
    sens = compas.sensitive
    assert list(sens.columns) == ["race", "sex"]
    assert list(sens["race"].cat.categories) == COMPAS_RACES
    assert sens["race"].value_counts().to_dict() == {
        "African-American": 3175,
        "Caucasian": 2103,
        "Hispanic": 509,
        "Other": 343,
        "Asian": 31,
        "Native American": 11,
    }
    assert sens["sex"].value_counts().to_dict() == {"Male": 4997, "Female": 1175}
    bunch = load_compas(drop_sensitive=True)
    assert not {"race", "sex"} & set(bunch.data.columns)
    assert_same_frame(bunch.sensitive, sens)
    assert {"race", "sex"} <= set(bunch.frame.columns)


# --------------------------------------------------------------------------- German


def test_german_columns_and_dtypes(german):
    data = german.data
    numeric = [
        "duration_months",
        "credit_amount",
        "installment_rate",
        "residence_since",
        "age",
        "existing_credits",
        "num_dependents",
    ]
    assert list(data.select_dtypes("int64").columns) == numeric
    categorical = data.select_dtypes("category").columns
    assert len(categorical) == 13
    assert not data.isna().any().any()
    a_code = re.compile(r"A\d+")
    for col in categorical:  # decoded: no raw A-codes left
        assert not any(a_code.fullmatch(str(c)) for c in data[col].cat.categories)
    assert list(data["checking_status"].cat.categories)[-1] == "no checking account"
    assert data["foreign_worker"].value_counts().to_dict() == {"yes": 963, "no": 37}


def test_german_target_direction(german):
    # first row of german.data: class 1 (good); second row: class 2 (bad)
    assert german.target.iloc[:2].tolist() == [1, 0]
    assert german.target.mean() == pytest.approx(0.7)
    assert german.target_names == ["bad", "good"]


def test_german_sensitive(german):
    sens = german.sensitive
    assert list(sens.columns) == ["sex", "age", "age_group"]
    assert sens["sex"].value_counts().to_dict() == {"Male": 690, "Female": 310}
    status = german.data["personal_status_sex"].astype(str)
    assert (status.str.startswith("female") == (sens["sex"] == "Female")).all()
    assert sens["age"].dtype == np.int64
    assert list(sens["age_group"].cat.categories) == ["25 or younger", "older than 25"]
    assert ((sens["age"] > 25) == (sens["age_group"] == "older than 25")).all()
    counts = sens["age_group"].value_counts().to_dict()
    assert counts == {"older than 25": 810, "25 or younger": 190}
    X = load_german(return_X_y=True, drop_sensitive=True)[0]
    assert X.shape == (1000, 18) and "age" not in X and "personal_status_sex" not in X
