"""The grouping component: every form of sensitive features, matched by name, exact."""

import numpy as np
import pandas as pd
import polars as pl
import pyarrow as pa
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from fairfast import SensitiveFeatures, SmallGroupWarning
from fairfast._base.grouping import Grouping
from fairfast.metrics import group_metrics, unfairness
from fairfast.postprocessing import GroupThresholds, WassersteinBarycenter


def _forms(columns):
    """The same named columns as pandas, polars, pyarrow, dict and list (unnamed)."""
    names = list(columns)
    return {
        "pandas": pd.DataFrame(columns),
        "pandas-categorical": pd.DataFrame({k: pd.Categorical(v) for k, v in columns.items()}),
        "polars": pl.DataFrame(columns),
        "pyarrow": pa.table(columns),
        "pyarrow-dictionary": pa.table({k: pa.array(v).dictionary_encode() for k, v in columns.items()}),
        "dict": dict(columns),
        "list": [np.asarray(columns[k]) for k in names],
    }


@st.composite
def _columns(draw):
    n = draw(st.integers(20, 200))
    k = draw(st.integers(1, 3))
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    columns = {}
    for j in range(k):
        labels = draw(st.sampled_from([np.array(["b", "a", "c"]), np.array([3, -1, 7]), np.array([True, False]),
                                       np.array(["x", "y"])]))
        columns[f"c{j}"] = labels[rng.integers(0, len(labels), n)]
    scores = rng.normal(size=n)
    return columns, scores


@settings(max_examples=40, deadline=None)
@given(_columns(), st.randoms(use_true_random=False))
def test_every_form_and_column_order_gives_the_same_bits(data, rnd):
    columns, z = data
    params = {"random_state": 0, "small_group_size": 1, "min_group_size": 1}
    ref = WassersteinBarycenter(**params).fit(z, sensitive_features=pd.DataFrame(columns))
    expected = ref.transform(z, sensitive_features=pd.DataFrame(columns))
    for name, form in _forms(columns).items():
        model = WassersteinBarycenter(**params).fit(z, sensitive_features=form)
        assert model.groups_ == ref.groups_, name
        assert model.transform(z, sensitive_features=form).tobytes() == expected.tobytes(), name
        if name != "list":  # named: any column order works
            order = list(columns)
            rnd.shuffle(order)
            permuted = {c: columns[c] for c in order}
            again = _forms(permuted)[name]
            assert ref.transform(z, sensitive_features=again).tobytes() == expected.tobytes(), name


def test_reordered_columns_are_matched_by_name():
    # the example: before, columns were matched by position (unfairness 0.447)
    rng = np.random.default_rng(0)
    a = rng.integers(0, 2, 4000)
    b = rng.integers(0, 2, 4000)
    z = rng.normal(2 * a + 0.3 * b, 1)
    sf = pd.DataFrame({"race": a, "sex": b})
    wb = WassersteinBarycenter(random_state=0).fit(z, sensitive_features=sf)
    out = wb.transform(z, sensitive_features=sf[["sex", "race"]])
    assert out.tobytes() == wb.transform(z, sensitive_features=sf).tobytes()
    assert unfairness(out, sensitive_features=a) < 0.01
    y = (rng.uniform(size=4000) < 1 / (1 + np.exp(-z))).astype(int)
    gt = GroupThresholds(random_state=0).fit(z, y, sensitive_features=sf)
    decided = gt.predict(z, sensitive_features=sf[["sex", "race"]])
    rates = pd.Series(decided).groupby(a).mean()
    assert abs(rates[0] - rates[1]) < 0.02


@pytest.mark.parametrize(
    "given, message",
    [
        (lambda a, b: pd.DataFrame({"sex": b, "rac": a}),
         r"missing column\(s\) \['race'\] and unexpected column\(s\) \['rac'\]"),
        (lambda a, b: pd.DataFrame({"race": a}), r"missing column\(s\) \['sex'\]"),
        (lambda a, b: pd.DataFrame({"race": a, "sex": b, "age": b}), r"unexpected column\(s\) \['age'\]"),
        (lambda a, b: a, r"has 1 column\(s\) but was fitted on 2 \['race', 'sex'\]"),
        (lambda a, b: pd.Series(a, name="race"), r"missing column\(s\) \['sex'\]"),
    ],
)
def test_missing_renamed_and_extra_columns_are_named(given, message):
    a = np.array([0, 1, 0, 1] * 10)
    b = np.array([0, 0, 1, 1] * 10)
    model = WassersteinBarycenter(random_state=0, small_group_size=1).fit(
        np.arange(40.0), sensitive_features=pd.DataFrame({"race": a, "sex": b}))
    with pytest.raises(ValueError, match=message):
        model.transform(np.arange(40.0), sensitive_features=given(a, b))


def test_unnamed_input_is_matched_by_position():
    a = np.array(["p", "q"] * 20)
    b = np.array([0, 0, 1, 1] * 10)
    model = WassersteinBarycenter(random_state=0, small_group_size=1).fit(
        np.arange(40.0), sensitive_features=pd.DataFrame({"race": a, "sex": b}))
    named = model.transform(np.arange(40.0), sensitive_features=pd.DataFrame({"race": a, "sex": b}))
    assert model.transform(np.arange(40.0), sensitive_features=[a, b]).tobytes() == named.tobytes()
    with pytest.raises(TypeError, match=r"column 'race' holds int64 values but was fitted on str labels"):
        model.transform(np.arange(40.0), sensitive_features=[b, a])


@pytest.mark.parametrize(
    "values",
    [
        np.array([1, 2, 1, 2], dtype=np.int8),
        np.array([1, 2, 1, 2], dtype=np.uint16),
        np.array([1, 2, 1, 2], dtype=np.uint64),
        np.array([False, True, False, True]),
        np.array(["a", "b", "a", "b"]),
        np.array(["a", "b", "a", "b"], dtype=object),
        np.array([b"a", b"b", b"a", b"b"]),
        pd.Series(["a", "b", "a", "b"], dtype="string"),
        pd.Series([1, 2, 1, 2], dtype="Int64"),
        pd.Series([False, True, False, True], dtype="boolean"),
        pd.Categorical(["a", "b", "a", "b"]),
        pd.Series(pd.Categorical(["a", "b", "a", "b"], categories=["z", "b", "a"])),
        pl.Series(["a", "b", "a", "b"]),
        pl.Series(["a", "b", "a", "b"], dtype=pl.Categorical),
        pl.Series(["a", "b", "a", "b"], dtype=pl.Enum(["b", "a"])),
        pa.array(["a", "b", "a", "b"]),
        pa.chunked_array([["a", "b"], ["a", "b"]]),
        pa.array(["a", "b", "a", "b"]).dictionary_encode(),
        pa.chunked_array([pa.array(["a", "b"]).dictionary_encode(), pa.array(["b", "a"]).dictionary_encode()[::-1]]),
        pa.array(["a", "b", "a", "b"], type=pa.large_string()),
        [1.5, 2.5, 1.5, 2.5],
        ["a", "b", "a", "b"],
    ],
    ids=lambda v: type(v).__name__ + str(getattr(v, "dtype", getattr(v, "type", ""))),
)
def test_every_form_of_one_column(values):
    grouping, codes = Grouping.fit(values, 4)
    assert codes.tolist() == [0, 1, 0, 1]
    assert grouping.encode(values, 4).tolist() == [0, 1, 0, 1]
    assert len(grouping.labels) == 2


def test_missing_values_raise_naming_the_column_and_row_or_form_a_group():
    for values in (pd.Series(["a", None, "b"], name="race"), pa.table({"race": ["a", None, "b"]}),
                   pl.DataFrame({"race": ["a", None, "b"]}), {"race": np.array([1.0, np.nan, 2.0])},
                   pd.DataFrame({"race": pd.array([1, None, 2], dtype="Int64")})):
        with pytest.raises(ValueError, match=r"sensitive_features column 'race' has a missing value .* at row 1; "
                                             r"fill it, or declare .*SensitiveFeatures\(\.\.\., missing='group'\)"):
            Grouping.fit(values, 3)
    grouping, codes = Grouping.fit(SensitiveFeatures(pd.Series(["a", None, "b"]), missing="group"), 3)
    assert grouping.labels == ["a", "b", None] and codes.tolist() == [0, 2, 1]
    assert grouping.encode(pa.array([None, "b"]), 2).tolist() == [2, 1]
    with pytest.raises(ValueError, match="missing must be 'error' or 'group'"):
        SensitiveFeatures([1], missing="skip")


@pytest.mark.parametrize(
    "bad, error, message",
    [
        (None, ValueError, "sensitive_features is required"),
        (3, ValueError, "got a scalar 3"),
        (np.zeros((2, 2, 2)), ValueError, r"must be 1-D \(one attribute\) or 2-D"),
        ({"a": [1, 2], "b": [1]}, ValueError, r"columns have different lengths \(a: 2, b: 1\)"),
        ({0: [1, 2]}, TypeError, "dict keys must be column names"),
        ([[1, 2], [3]], ValueError, "must be rectangular"),
        (np.array(["2020-01-01"], dtype="datetime64[D]"), TypeError, "convert dates and durations"),
        (np.array([1 + 2j]), TypeError, "complex dtype"),
        (pa.array([b"x"]), TypeError, "holds bytes; decode them"),
        (pa.array(np.array(["2020-01-01"], dtype="datetime64[D]")), TypeError, "has Arrow type"),
        ([{"a": 1}, {"b": 2}], TypeError, "cannot be grouped|type dict|Arrow type struct"),
        ([np.inf, 1.0], ValueError, "infinite labels"),
    ],
)
def test_degenerate_inputs_raise_clearly(bad, error, message):
    with pytest.raises(error, match=message):
        Grouping.fit(bad)


def test_length_mismatch_and_small_groups_one_message():
    with pytest.raises(ValueError, match="sensitive_features has 3 rows but the scores have 4"):
        WassersteinBarycenter().fit(np.arange(4.0), sensitive_features=[0, 0, 1])
    z = np.arange(60.0)
    one = np.repeat([0, 1], [50, 10])
    two = pd.DataFrame({"a": np.repeat([0, 1], [50, 10]), "b": np.zeros(60, int)})
    for sf in (one, two):
        with pytest.warns(SmallGroupWarning, match=r"sensitive_features has 1 group\(s\) with fewer than "
                                                   r"small_group_size=30 rows"):
            WassersteinBarycenter().fit(z, sensitive_features=sf)


def test_many_groups_encode_in_near_linear_time():
    # 1e4 groups of 2-20 rows (the 1e5-group run is in benchmarks/bench_grouping.py)
    rng = np.random.default_rng(0)
    sizes = rng.integers(2, 21, 10_000)
    codes = np.repeat(np.arange(10_000), sizes)
    rng.shuffle(codes)
    labels = np.char.add("g", codes.astype(str))
    grouping, got = Grouping.fit(labels, codes.size)
    assert grouping.n_groups == 10_000
    assert np.array_equal(np.asarray(grouping.labels)[got], labels)
    assert np.array_equal(grouping.encode(labels[::-1], codes.size), got[::-1])
    frame = group_metrics(rng.integers(0, 2, codes.size), rng.integers(0, 2, codes.size), sensitive_features=labels,
                          metrics=["count", "selection_rate"])
    assert frame["count"].sum() == codes.size and len(frame) == 10_000


def test_model_file_round_trip_keeps_the_grouping(tmp_path):
    import fairfast

    sf = pd.DataFrame({"race": pd.Categorical(["a", "b", "c"] * 20), "sex": np.tile([0, 1], 30)})
    z = np.linspace(0, 1, 60)
    model = WassersteinBarycenter(random_state=1, small_group_size=1).fit(z, sensitive_features=sf)
    model.save(tmp_path / "m.ffm")
    again = fairfast.load(tmp_path / "m.ffm")
    assert again.grouping_.names == ["race", "sex"]
    assert again.transform(z, sensitive_features=sf[["sex", "race"]]).tobytes() == \
        model.transform(z, sensitive_features=sf).tobytes()
    with pytest.raises(ValueError, match=r"missing column\(s\) \['sex'\]"):
        again.transform(z, sensitive_features=sf[["race"]])
