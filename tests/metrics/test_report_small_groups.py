"""GroupReport's small groups: warn (and mark), merge, or refuse."""

import json
import warnings

import numpy as np
import pandas as pd
import pytest

from fairfast.metrics import GroupReport, SmallGroupWarning


def _data(seed=0, n=600):
    rng = np.random.default_rng(seed)
    race = rng.choice(["A", "B", "C"], n)
    sex = rng.choice(["F", "M"], n)
    y = rng.integers(0, 2, n)
    score = np.clip(0.3 * y + 0.7 * rng.random(n), 0, 1)
    # two tiny groups, as Asian & Female in COMPAS: every rate 0 or 1
    race[:2], sex[:2], y[:2], score[:2] = "D", "F", 1, 0.99
    race[2:4], sex[2:4], y[2:4], score[2:4] = "E", "F", 0, 0.01
    return y, score, race, sex


def test_default_warns_and_marks_the_disparities_the_tiny_groups_set():
    y, score, race, sex = _data()
    with pytest.warns(SmallGroupWarning, match=r"2 group\(s\) have fewer than min_group_size=30 rows: D \(2 rows\)"):
        r = GroupReport(y, sensitive_features=race, scores=score, threshold=0.5)
    assert list(r.small_groups) == ["D", "E"]
    assert r.group_sizes.loc["D"] == 2
    d = r.disparities()
    assert d["demographic_parity_difference"] == 1.0  # set by D (all selected) and E (none)
    flags = r.set_by_small_groups()
    assert flags["demographic_parity_difference"] and flags["equalized_odds_difference"]
    without = r.disparities(include_small_groups=False)
    big = GroupReport(y[4:], sensitive_features=race[4:], scores=score[4:], threshold=0.5)
    # without the small groups the disparity is the other groups' one (overall values differ only
    # for to_overall, which is not compared here)
    assert without["demographic_parity_difference"] == pytest.approx(big.disparities()["demographic_parity_difference"])
    assert without["demographic_parity_difference"] < 0.2
    r.bootstrap(50, random_state=0)

    text = r.to_text()
    assert "* groups with fewer than 30 rows: D (2), E (2)" in text
    assert "D *" in text and "E *" in text
    line = next(x for x in text.splitlines() if x.strip().startswith("demographic_parity_difference"))
    assert line.rstrip().endswith(f"* {without['demographic_parity_difference']:.3f}")

    out = json.loads(r.to_json())
    assert out["small_groups"] == ["D", "E"] and out["min_group_size"] == 30
    assert "demographic_parity_difference" in out["disparities_set_by_small_groups"]["between_groups"]
    assert out["disparities_without_small_groups"]["between_groups"]["demographic_parity_difference"] == \
        pytest.approx(without["demographic_parity_difference"])
    pytest.importorskip("lxml")
    tables = pd.read_html(__import__("io").StringIO(r.to_html(plots=False)))
    disp = next(t for t in tables if "disparity" in t.columns and "set by small groups" in t.columns)
    row = disp.set_index("disparity").loc["demographic_parity_difference"]
    assert row["set by small groups"] == "yes"
    assert row["without small groups"] == pytest.approx(without["demographic_parity_difference"], abs=5e-4)


def test_no_small_groups_no_warning_and_no_marks():
    y, score, race, sex = _data()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        r = GroupReport(y[4:], sensitive_features=race[4:], scores=score[4:], threshold=0.5)
        r0 = GroupReport(y, sensitive_features=race, scores=score, threshold=0.5, min_group_size=0)
    assert len(r.small_groups) == 0 and not r.set_by_small_groups().any()
    assert len(r0.small_groups) == 0
    assert "*" not in r.to_text()
    pd.testing.assert_series_equal(r.disparities(), r.disparities(include_small_groups=False))


def test_merge_pools_the_small_groups_into_one():
    y, score, race, sex = _data()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        r = GroupReport(y, sensitive_features=race, scores=score, threshold=0.5, min_group_size=3,
                        small_groups="merge")
    assert r.merged_groups == ["D", "E"]
    assert "<other>" in r.by_group.index and "D" not in r.by_group.index
    pooled = np.isin(race, ["D", "E"])
    ref = GroupReport(y, sensitive_features=np.where(pooled, "<other>", race), scores=score, threshold=0.5,
                      min_group_size=0)
    pd.testing.assert_frame_equal(r.by_group, ref.by_group)
    assert r.group_sizes["<other>"] == 4
    r.bootstrap(30, random_state=1)
    ref.bootstrap(30, random_state=1)
    pd.testing.assert_frame_equal(r.bootstrap_.by_group_low, ref.bootstrap_.by_group_low)
    assert "<other> pools the groups with fewer than 3 rows: D, E" in r.to_text()


def test_merge_intersections_and_a_pooled_group_still_small():
    y, score, race, sex = _data()
    with pytest.warns(SmallGroupWarning, match="the pooled group is still small"):
        r = GroupReport(y, sensitive_features={"race": race, "sex": sex}, scores=score, threshold=0.5,
                        small_groups="merge", other_label="rest")
    assert r.merged_groups == [("D", "F"), ("E", "F")]
    assert ("rest", "rest") in r.by_group.index
    assert list(r.small_groups) == [("rest", "rest")]
    assert r.display_name(("rest", "rest")) == "rest"
    assert "rest *" in r.to_text()
    assert r.by_group["count"].sum() == len(y)


def test_merge_refuses_a_label_that_is_already_a_group():
    y, score, race, sex = _data()
    race = race.astype(object)
    race[race == "C"] = "<other>"
    with pytest.raises(ValueError, match="other_label='<other>' is already a group"):
        GroupReport(y, sensitive_features=race, scores=score, threshold=0.5, small_groups="merge")


def test_error_refuses_small_groups():
    y, score, race, sex = _data()
    with pytest.raises(ValueError, match=r"2 group\(s\) with fewer than min_group_size=30 rows: D \(2 rows\), "
                                         r"E \(2 rows\); merge them"):
        GroupReport(y, sensitive_features=race, scores=score, threshold=0.5, small_groups="error")


@pytest.mark.parametrize("kwargs, error", [
    ({"min_group_size": -1}, "min_group_size must be an int >= 0"),
    ({"min_group_size": 2.5}, "min_group_size must be an int >= 0"),
    ({"small_groups": "drop"}, "small_groups"),
])
def test_small_group_arguments_are_checked(kwargs, error):
    with pytest.raises(ValueError, match=error):
        GroupReport([1, 0], [1, 0], sensitive_features=["a", "b"], **kwargs)
    with pytest.raises(TypeError, match="other_label must be a non-empty str"):
        GroupReport([1, 0], [1, 0], sensitive_features=["a", "b"], other_label=3, min_group_size=0)


def test_score_disparities_are_marked_when_a_small_group_sets_them():
    y, score, race, sex = _data()
    with pytest.warns(SmallGroupWarning):
        r = GroupReport(y, sensitive_features=race, scores=score)
    sd = r.score_disparities()
    assert sd.loc["ks_unfairness", "value"] == 1.0  # D (scores 0.99) against E (0.01)
    assert {sd.loc["ks_unfairness", "group_a"], sd.loc["ks_unfairness", "group_b"]} == {"D", "E"}
    assert sd.loc["ks_unfairness", "set_by_small_group"]
    from fairfast.metrics import unfairness

    keep = ~np.isin(race, ["D", "E"])
    assert sd.loc["ks_unfairness", "without_small_groups"] == pytest.approx(
        unfairness(score[keep], sensitive_features=race[keep]))
