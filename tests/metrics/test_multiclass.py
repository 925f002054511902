"""Multi-class TPR gaps: against a row-loop reference, invariances, binary agreement, errors."""

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from fairfast.metrics import MulticlassReport, equal_opportunity_difference, tpr_gap_max, tpr_gap_rms


def reference(y_true, y_pred, groups, weight=None):
    """Obviously correct: TPR of every (class, group) by a Python loop; gaps, RMS, max."""
    weight = np.ones(len(y_true)) if weight is None else weight
    classes = sorted(set(y_true) | set(y_pred))
    tpr = {}
    for c in classes:
        for g in sorted(set(groups)):
            num = den = 0.0
            for t, p, a, w in zip(y_true, y_pred, groups, weight):
                if t == c and a == g:
                    den += w
                    num += w * (p == c)
            tpr[c, g] = num / den if den > 0 else None
    gaps = {}
    for c in classes:
        vals = [tpr[c, g] for g in sorted(set(groups))]
        gaps[c] = None if any(v is None for v in vals) else max(vals) - min(vals)
    defined = [v for v in gaps.values() if v is not None]
    rms = float(np.sqrt(np.mean(np.square(defined)))) if defined else float("nan")
    return tpr, gaps, rms, (max(defined) if defined else float("nan"))


def data(seed, n, K, G):
    rng = np.random.default_rng(seed)
    y = rng.integers(0, K, n)
    a = rng.integers(0, G, n)
    flip = rng.random(n) < 0.3 + 0.2 * a / max(G - 1, 1)
    p = np.where(flip, rng.integers(0, K, n), y)
    return y, p, a


@settings(max_examples=60, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), n=st.integers(1, 120), K=st.integers(1, 6), G=st.integers(1, 4),
       weighted=st.booleans())
def test_matches_reference(seed, n, K, G, weighted):
    y, p, a = data(seed, n, K, G)
    w = np.random.default_rng(seed).uniform(0.1, 3.0, n) if weighted else None
    r = MulticlassReport(y, p, sensitive_features=a, sample_weight=w)
    tpr, gaps, rms, mx = reference(y.tolist(), p.tolist(), a.tolist(), w)
    for (c, g), v in tpr.items():
        got = r.tpr.loc[c, g]
        assert (np.isnan(got) and v is None) or got == pytest.approx(v, abs=1e-12)
    for c, v in gaps.items():
        got = r.tpr_gap[c]
        assert (np.isnan(got) and v is None) or got == pytest.approx(v, abs=1e-12)
    assert r.undefined_classes == [c for c, v in gaps.items() if v is None]
    assert (np.isnan(r.tpr_gap_rms) and np.isnan(rms)) or r.tpr_gap_rms == pytest.approx(rms, abs=1e-12)
    assert (np.isnan(r.tpr_gap_max) and np.isnan(mx)) or r.tpr_gap_max == pytest.approx(mx, abs=1e-12)
    if np.isfinite(r.tpr_gap_rms):
        assert r.tpr_gap_rms <= r.tpr_gap_max + 1e-12


@settings(max_examples=30, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), K=st.integers(2, 5), G=st.integers(2, 3))
def test_invariances(seed, K, G):
    y, p, a = data(seed, 200, K, G)
    base = MulticlassReport(y, p, sensitive_features=a)
    perm = np.random.default_rng(seed).permutation(len(y))
    shuffled = MulticlassReport(y[perm], p[perm], sensitive_features=a[perm])
    pd.testing.assert_frame_equal(base.tpr, shuffled.tpr)
    # renaming the classes (an order-preserving map) and the groups changes nothing but the labels
    names = np.array([f"c{k}" for k in range(K)])
    renamed = MulticlassReport(names[y], names[p], sensitive_features=np.array(["x", "y", "z"])[a])
    np.testing.assert_allclose(renamed.tpr.to_numpy(), base.tpr.to_numpy(), equal_nan=True)
    assert renamed.tpr_gap_rms == pytest.approx(base.tpr_gap_rms, nan_ok=True)
    # integer weights are repeated rows
    reps = np.random.default_rng(seed + 1).integers(1, 4, len(y))
    weighted = MulticlassReport(y, p, sensitive_features=a, sample_weight=reps)
    repeated = MulticlassReport(np.repeat(y, reps), np.repeat(p, reps), sensitive_features=np.repeat(a, reps))
    np.testing.assert_allclose(weighted.tpr.to_numpy(), repeated.tpr.to_numpy(), equal_nan=True)
    # a group that is an exact copy of another has no gap to it
    twin = MulticlassReport(np.r_[y, y], np.r_[p, p], sensitive_features=np.r_[np.zeros(len(y)), np.ones(len(y))])
    assert twin.tpr_gap_max == 0.0


def test_binary_gap_of_the_positive_class_is_the_equal_opportunity_difference():
    y, p, a = data(3, 500, 2, 3)
    r = MulticlassReport(y, p, sensitive_features=a)
    assert r.tpr_gap[1] == pytest.approx(equal_opportunity_difference(y, p, sensitive_features=a), abs=1e-12)


def test_labels_accuracy_by_group_and_intersections():
    y = np.array(["doc", "doc", "nurse", "nurse", "doc", "nurse", "doc", "nurse"])
    p = np.array(["doc", "nurse", "nurse", "nurse", "doc", "doc", "vet", "nurse"])
    frame = pd.DataFrame({"sex": list("ffffmmmm"), "age": [1, 2, 1, 2, 1, 2, 1, 2]})
    r = MulticlassReport(y, p, sensitive_features=frame, labels=["nurse", "doc", "vet"])
    assert r.classes == ["nurse", "doc", "vet"] and r.groups == [("f", 1), ("f", 2), ("m", 1), ("m", 2)]
    assert r.undefined_classes == ["nurse", "doc", "vet"]  # each intersection lacks one class
    assert np.isnan(r.tpr_gap_rms)
    by_sex = MulticlassReport(y, p, sensitive_features=frame["sex"], labels=["nurse", "doc", "vet"])
    assert by_sex.tpr.loc["doc", "f"] == 0.5 and by_sex.tpr.loc["doc", "m"] == 0.5
    assert by_sex.tpr.loc["nurse", "f"] == 1.0 and by_sex.tpr.loc["nurse", "m"] == 0.5
    assert by_sex.accuracy == pytest.approx(5 / 8)
    np.testing.assert_allclose(by_sex.by_group["accuracy"], [0.75, 0.5])
    assert by_sex.tpr_gap_rms == pytest.approx(np.sqrt((0.5**2 + 0.0**2) / 2))
    assert tpr_gap_rms(y, p, sensitive_features=frame["sex"], labels=["nurse", "doc", "vet"]) == by_sex.tpr_gap_rms
    assert tpr_gap_max(y, p, sensitive_features=frame["sex"]) == 0.5
    d = by_sex.to_dict()
    assert d["tpr_gap"] == [0.5, 0.0, None] and d["undefined_classes"] == ["vet"]


def test_bootstrap_intervals_cover_the_estimate():
    y, p, a = data(5, 3000, 4, 2)
    r = MulticlassReport(y, p, sensitive_features=a)
    ci = r.bootstrap(300, random_state=0)
    for name in ("accuracy", "tpr_gap_rms", "tpr_gap_max"):
        assert ci[name]["low"] <= ci[name]["estimate"] <= ci[name]["high"]
        assert ci[name]["high"] - ci[name]["low"] < 0.2
    assert r.bootstrap(300, random_state=0) == ci
    with pytest.raises(ValueError, match="n_replicates must be an integer >= 2"):
        r.bootstrap(1)
    with pytest.raises(ValueError, match="confidence_level must lie strictly between 0 and 1"):
        r.bootstrap(10, confidence_level=1.0)


def test_errors():
    with pytest.raises(ValueError, match="y_pred has 2 rows but y_true has 3"):
        MulticlassReport([0, 1, 2], [0, 1], sensitive_features=[0, 0, 1])
    with pytest.raises(ValueError, match="not in labels"):
        MulticlassReport([0, 1, 2], [0, 1, 2], sensitive_features=[0, 0, 1], labels=[0, 1])
    with pytest.raises(ValueError, match="labels must not repeat a class"):
        MulticlassReport([0, 1], [0, 1], sensitive_features=[0, 1], labels=[0, 0, 1])
    with pytest.raises(ValueError, match="sensitive_features has 2 rows"):
        MulticlassReport([0, 1, 2], [0, 1, 2], sensitive_features=[0, 1])
    with pytest.raises(ValueError, match="at least one row"):
        MulticlassReport([], [], sensitive_features=[])
    with pytest.raises(TypeError, match="one comparable type"):
        MulticlassReport(np.array([0, 1], dtype=object), np.array(["a", "b"], dtype=object), sensitive_features=[0, 1])
    with pytest.raises(ValueError, match="sample_weight must be non-negative"):
        MulticlassReport([0, 1], [0, 1], sensitive_features=[0, 1], sample_weight=[1.0, -1.0])
