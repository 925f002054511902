"""Long integer sensitive columns take their range from a sample, which the counting pass
verifies: a label outside the sample's range (a rare extreme placed where no sample
row looks) makes the metrics count again on the true range, with the same result as
an exact range."""

import numpy as np
import pandas as pd
import pytest

import fairfast.metrics as fm
from fairfast._base import label_encoding
from fairfast.metrics._groups import _Groups

N = label_encoding._SAMPLE_FROM + 12_345
METRICS = ["count", "selection_rate", "true_positive_rate", "accuracy"]


def reference(y, p, columns):
    """The same table by pandas groupby (observed groups, sorted)."""
    df = pd.DataFrame({**columns, "y": y, "p": p})
    df["tp"] = (df.y == 1) & (df.p == 1)
    g = df.groupby(list(columns), sort=True)
    out = pd.DataFrame({"count": g.size(), "selection_rate": g.p.mean(),
                        "true_positive_rate": g.tp.sum() / g.y.sum(), "accuracy": (df.y == df.p).groupby(
                            [df[c] for c in columns]).mean()})
    return out


def unsampled_row():
    """A row that no sample of :func:`label_encoding._sample_range` reads."""
    ends, runs, run = label_encoding._SAMPLE_ENDS, label_encoding._SAMPLE_RUNS, label_encoding._SAMPLE_RUN
    starts = np.linspace(ends, N - ends - run, runs).astype(np.int64)
    return int(starts[100] + run + 7)


@pytest.mark.parametrize("dtype", [np.int64, np.int32])
@pytest.mark.parametrize("extreme", [-3, 9, 70_000, 10**9])
def test_a_label_outside_the_sampled_range_is_counted(dtype, extreme):
    rng = np.random.default_rng(abs(extreme) % 97)
    race = rng.integers(0, 5, N).astype(dtype)
    sex = rng.integers(0, 2, N).astype(dtype)
    y = rng.integers(0, 2, N)
    p = rng.integers(0, 2, N)
    row = unsampled_row()
    assert label_encoding._sample_range(race) == (0, 4)
    race[row] = extreme
    sex[row + 1] = extreme  # the other column too, elsewhere
    cols = {"race": race, "sex": sex}
    got = fm.group_metrics(y, p, sensitive_features=cols, metrics=METRICS, zero_division=np.nan)
    want = reference(y, p, cols)
    assert list(got.index) == list(want.index)
    assert extreme in got.index.get_level_values("race") and extreme in got.index.get_level_values("sex")
    np.testing.assert_array_equal(got["count"].to_numpy(), want["count"].to_numpy())
    np.testing.assert_allclose(got[METRICS[1:]].to_numpy(), want[METRICS[1:]].to_numpy(), rtol=1e-13)


def test_sampled_groups_are_provisional_until_counted():
    rng = np.random.default_rng(1)
    race = rng.integers(0, 5, N)
    race[unsampled_row()] = 5
    groups = _Groups({"race": race}, N, sampled_ranges=True)
    assert groups.provisional and groups._sizes == [5]  # the sample missed label 5
    assert groups.codes.max() == 5  # any use of the codes refits on the true range first
    assert not groups.provisional and groups._sizes == [6]
    exact = _Groups({"race": race}, N)
    assert not exact.provisional and exact._sizes == [6]


def test_sampled_and_exact_ranges_give_the_same_bits_when_the_sample_sees_everything():
    rng = np.random.default_rng(2)
    race = np.sort(rng.integers(-2, 6, N))  # sorted: the extremes sit at the ends
    sex = rng.integers(0, 2, N)
    y, p = rng.integers(0, 2, N), rng.integers(0, 2, N)
    sampled = fm.group_metrics(y, p, sensitive_features={"race": race, "sex": sex}, metrics=METRICS)
    # float labels are factorized (no range): the same groups, in the same order
    floats = fm.group_metrics(y, p, sensitive_features={"race": race.astype(float), "sex": sex.astype(float)},
                              metrics=METRICS)
    np.testing.assert_array_equal(sampled.to_numpy(), floats.to_numpy())
    assert list(floats.index) == list(sampled.index)


def test_short_columns_are_not_sampled():
    race = np.arange(label_encoding._SAMPLE_FROM - 1) % 3
    groups = _Groups({"race": race}, race.size, sampled_ranges=True)
    assert not groups.provisional


def test_a_sampled_column_beside_a_string_column_is_refitted_alone():
    rng = np.random.default_rng(3)
    race = rng.integers(0, 5, N)
    race[unsampled_row()] = 7
    sex = np.where(rng.random(N) < 0.5, "f", "m")
    y, p = rng.integers(0, 2, N), rng.integers(0, 2, N)
    groups = _Groups({"race": race, "sex": sex}, N, sampled_ranges=True)
    # string codes (int32) beside int64 labels: no raw counting pass, so no sampled range
    assert not groups.provisional and groups._sizes == [8, 2]
    got = fm.group_metrics(y, p, sensitive_features={"race": race, "sex": sex}, metrics=METRICS,
                           zero_division=np.nan)
    want = reference(y, p, {"race": race, "sex": sex})
    assert list(got.index) == list(want.index)
    np.testing.assert_array_equal(got["count"].to_numpy(), want["count"].to_numpy())
