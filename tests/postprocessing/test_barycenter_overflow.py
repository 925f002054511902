"""WassersteinBarycenter with weights whose sum overflows (issue: hardening, item 4)
and with scores across the whole float range (item 5, linear interpolation)."""

import numpy as np
import pytest

from fairfast.postprocessing import WassersteinBarycenter


def _data(n=300, seed=0):
    rng = np.random.default_rng(seed)
    g = rng.integers(0, 3, n)
    s = rng.random(n) + 0.3 * g
    w = rng.integers(1, 6, n).astype(np.float64)
    return s, g, w


KW = dict(random_state=0, small_group_size=1)


@pytest.mark.parametrize("interpolation", ["step", "linear"])
def test_weights_of_1e307_transform_like_weights_that_sum_finely(interpolation):
    s, g, _ = _data()
    kw = dict(KW, interpolation=interpolation)
    huge = WassersteinBarycenter(**kw).fit(s, sensitive_features=g, sample_weight=np.full(s.size, 1e307))
    got = huge.transform(s, sensitive_features=g)
    assert np.isfinite(got).all()
    # the same weights divided by 2**1000 sum without overflow: the same model, bit for bit
    fine = WassersteinBarycenter(**kw).fit(s, sensitive_features=g, sample_weight=np.full(s.size, 1e307 / 2**1000))
    np.testing.assert_array_equal(got, fine.transform(s, sensitive_features=g))
    unit = WassersteinBarycenter(**kw).fit(s, sensitive_features=g)
    assert np.median(np.abs(got - unit.transform(s, sensitive_features=g))) < 1e-12
    np.testing.assert_allclose(huge.group_weights_, unit.group_weights_, rtol=1e-14)


@pytest.mark.parametrize("interpolation", ["step", "linear"])
def test_power_of_two_weights_give_the_same_bits(interpolation):
    # w * 2**1020 (sums overflow) is divided back by a power of two before any sum: the same model.
    s, g, w = _data(seed=1)
    kw = dict(KW, interpolation=interpolation)
    big = WassersteinBarycenter(**kw).fit(s, sensitive_features=g, sample_weight=np.ldexp(w, 1020))
    small = WassersteinBarycenter(**kw).fit(s, sensitive_features=g, sample_weight=w)
    np.testing.assert_array_equal(big.transform(s, sensitive_features=g), small.transform(s, sensitive_features=g))
    np.testing.assert_array_equal(big.group_weights_, small.group_weights_)


def test_compiled_fit_scales_huge_weights_itself(monkeypatch):
    # Without the Python-side scaling the compiled fit receives the raw weights (sum
    # 300 * 2**1022 overflows) and must scale them itself: the same model, bit for bit.
    from fairfast.postprocessing import _stage

    monkeypatch.setattr(_stage, "summable_weights", lambda w: w)
    s, g, w = _data(seed=2)
    kw = dict(KW, group_weights=[1.0, 2.0, 1.0])  # explicit: the group masses are not used
    big = WassersteinBarycenter(**kw).fit(s, sensitive_features=g, sample_weight=np.ldexp(w, 1020))
    small = WassersteinBarycenter(**kw).fit(s, sensitive_features=g, sample_weight=w)
    got = big.transform(s, sensitive_features=g)
    assert np.isfinite(got).all()
    np.testing.assert_array_equal(got, small.transform(s, sensitive_features=g))


def test_linear_barycenter_of_scores_across_the_float_range():
    s = np.array([-1.7e308, 1.7e308, -1e308, 1e308, 0.0, 5e307])
    g = np.array([0, 0, 0, 1, 1, 1])
    model = WassersteinBarycenter(**KW, interpolation="linear").fit(s, sensitive_features=g)
    out = model.transform(s, sensitive_features=g)
    assert np.isfinite(out).all()
    assert np.abs(out).max() <= 1.7e308
