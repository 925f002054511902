"""WassersteinBarycenter: the spec's cases (barycenter.md section 8), agreement with the
FitFair/Transform reference and EquiPy, and the invariances (chunks, threads, seeds)."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from reference import transport as ref

import fairfast
from fairfast.metrics import unfairness
from fairfast.postprocessing import WassersteinBarycenter
from fairfast.transport import ks_distance, wasserstein_distance

# The properties below draw groups of every size, down to one row; the warning about
# small groups (tested in test_barycenter_multi.py) is not their subject.
pytestmark = pytest.mark.filterwarnings("ignore::fairfast.postprocessing.SmallGroupWarning")

SETTINGS = settings(max_examples=30, deadline=None)

tied_values = st.integers(-3, 3).map(float)
real_values = st.floats(-1e3, 1e3, allow_nan=False, allow_subnormal=False)
unit_values = st.one_of(st.sampled_from([0.0, 0.25, 0.5, 1.0]), st.floats(0.0, 1.0))


@st.composite
def calibration(draw, min_groups=1, max_groups=4, min_size=2, max_size=12, elements=None):
    """Scores with group codes 0..K-1 (every group present, shuffled rows)."""
    k = draw(st.integers(min_groups, max_groups))
    sizes = draw(st.lists(st.integers(min_size, max_size), min_size=k, max_size=k))
    codes = np.repeat(np.arange(k, dtype=np.int64), sizes)
    codes = codes[np.array(draw(st.permutations(range(len(codes)))), dtype=np.intp)]
    if elements is None:
        elements = draw(st.sampled_from([tied_values, real_values]))
    z = np.array(draw(st.lists(elements, min_size=len(codes), max_size=len(codes))))
    return z, codes, k


def group_table(model, k):
    o = model.group_offsets_
    return model.barycenter_table_[o[k] + k : o[k + 1] + k + 1]


def sorted_groups(out, codes, k):
    return [np.sort(out[codes == g]) for g in range(k)]


# --------------------------------------------------------------------------- reference


@SETTINGS
@given(calibration(), st.integers(0, 2**64 - 1), st.sampled_from([0.0, 0.3, 1.0]), st.data())
def test_matches_fitfair_transform_reference(cal, seed, epsilon, data):
    z, codes, k = cal
    model = WassersteinBarycenter(epsilon=epsilon, random_state=seed).fit(z, sensitive_features=codes)
    groups, tables = ref.fit_fair(z, codes, k, seed)
    for g in range(k):
        o = model.group_offsets_
        np.testing.assert_array_equal(model.sorted_scores_[o[g] : o[g + 1]], groups[g][0])
        np.testing.assert_array_equal(model.tie_keys_[o[g] : o[g + 1]], np.array(groups[g][1], dtype=np.uint64))
        np.testing.assert_array_equal(group_table(model, g), tables[g])
    # calibration rows (fit_transform reuses the fit's tie keys) ...
    expected = ref.transform_fair(groups, tables, z, codes, seed, epsilon)
    np.testing.assert_array_equal(model.transform(z, sensitive_features=codes), expected)
    # ... and fresh rows: ties with calibration values, gaps, outside the range
    m = data.draw(st.integers(1, 15))
    zt = np.array(data.draw(st.lists(st.sampled_from(sorted(set(z)) + [-1e4, 1e4, 0.5]), min_size=m, max_size=m)))
    ct = np.array(data.draw(st.lists(st.integers(0, k - 1), min_size=m, max_size=m)))
    offset = data.draw(st.integers(0, 2**40))
    expected = ref.transform_fair(groups, tables, zt, ct, seed, epsilon, row_offset=offset)
    np.testing.assert_array_equal(model.transform(zt, sensitive_features=ct, row_offset=offset), expected)


@settings(max_examples=30, deadline=None)
@given(calibration(), st.integers(0, 2**63), st.sampled_from([1e-3, 0.5]))
def test_jitter_matches_reference(cal, seed, jitter):
    z, codes, k = cal
    model = WassersteinBarycenter(jitter=jitter, random_state=seed)
    out = model.fit_transform(z, sensitive_features=codes)
    groups, tables = ref.fit_fair(z, codes, k, seed, jitter=jitter)
    for g in range(k):
        np.testing.assert_array_equal(group_table(model, g), tables[g])
    np.testing.assert_array_equal(out, ref.transform_fair(groups, tables, z, codes, seed, jitter=jitter))
    # fit_transform reuses the fit jitter: equal groups get identical multisets
    assert unfairness(out, sensitive_features=codes) <= 1.0 / np.bincount(codes).min()


@settings(max_examples=30, deadline=None)
@given(calibration(elements=real_values), st.integers(0, 2**63))
def test_float32_matches_reference_on_float32_values(cal, seed):
    z, codes, k = cal
    z32 = z.astype(np.float32)
    model = WassersteinBarycenter(random_state=seed).fit(z32, sensitive_features=codes)
    assert model.sorted_scores_.dtype == np.float32 and model.barycenter_table_.dtype == np.float64
    out = model.transform(z32, sensitive_features=codes)
    assert out.dtype == np.float32
    groups, tables = ref.fit_fair(z32, codes, k, seed)
    for g in range(k):
        np.testing.assert_array_equal(group_table(model, g), tables[g])
    np.testing.assert_array_equal(out, ref.transform_fair(groups, tables, z32, codes, seed))
    # float64 queries against a float32 fit are rounded to float32 first
    np.testing.assert_array_equal(model.transform(z32.astype(np.float64), sensitive_features=codes), out)


# --------------------------------------------------------------------------- spec cases


def test_b1_two_gaussians():
    # p = (.3, .7), N(0, 1) and N(2, 2^2): barycenter N(1.4, 1.7^2), T_0(1) = T_1(4) = 3.1,
    # minimal risk p0 p1 [(m0 - m1)^2 + (sd0 - sd1)^2] = 1.05. Plug-in with N = 4e5.
    rng = np.random.default_rng(20230617)
    n = 400_000
    s = (rng.random(n) < 0.7).astype(np.int8)
    z = np.where(s == 0, rng.normal(0.0, 1.0, n), rng.normal(2.0, 2.0, n))
    model = WassersteinBarycenter(random_state=0)
    out = model.fit_transform(z, sensitive_features=s)
    t = model.transform([1.0, 4.0], sensitive_features=[0, 1])
    assert t == pytest.approx([3.1, 3.1], rel=0.01)
    assert np.mean((out - z) ** 2) == pytest.approx(1.05, rel=0.01)
    assert out.mean() == pytest.approx(1.4, abs=0.01) and out.std() == pytest.approx(1.7, rel=0.01)
    assert unfairness(out, sensitive_features=s) <= 1.0 / np.bincount(s).min()


@SETTINGS
@given(st.integers(1, 4), st.integers(2, 30), st.sampled_from([tied_values, real_values]), st.data())
def test_b2_equal_group_sizes_give_identical_multisets(k, size, elements, data):
    n = k * size
    codes = np.array(data.draw(st.permutations(np.repeat(np.arange(k), size).tolist())))
    z = np.array(data.draw(st.lists(elements, min_size=n, max_size=n)))
    out = WassersteinBarycenter(random_state=data.draw(st.integers(0, 2**32))).fit_transform(
        z, sensitive_features=codes
    )
    first, *rest = sorted_groups(out, codes, k)
    for other in rest:
        np.testing.assert_array_equal(other, first)
    assert unfairness(out, sensitive_features=codes) == 0.0


@SETTINGS
@given(calibration(min_groups=2, max_size=25), st.integers(0, 2**32))
def test_b2_unequal_group_sizes_ks_at_most_one_over_min_size(cal, seed):
    z, codes, k = cal
    out = WassersteinBarycenter(random_state=seed).fit_transform(z, sensitive_features=codes)
    assert unfairness(out, sensitive_features=codes) <= 1.0 / np.bincount(codes).min()


def test_b2_discrete_scores_become_exactly_fair():
    rng = np.random.default_rng(5)
    s = np.repeat([0, 1, 2], 1000)
    z = np.concatenate([rng.integers(0, 3, 1000), rng.integers(1, 5, 1000), rng.integers(0, 10, 1000)]) / 10
    assert unfairness(z, sensitive_features=s) > 0.3
    out = WassersteinBarycenter(random_state=1).fit_transform(z, sensitive_features=s)
    assert unfairness(out, sensitive_features=s) == 0.0
    s2 = np.repeat([0, 1], [1000, 3000])
    z2 = np.concatenate([rng.integers(0, 3, 1000), rng.integers(1, 5, 3000)]).astype(float)
    out2 = WassersteinBarycenter(random_state=1).fit_transform(z2, sensitive_features=s2)
    assert unfairness(out2, sensitive_features=s2) <= 1 / 1000


@SETTINGS
@given(st.lists(st.one_of(tied_values, real_values), min_size=2, max_size=40), st.integers(0, 2**32))
def test_b3_one_group_is_the_identity_on_calibration_points(values, seed):
    z = np.array(values)
    out = WassersteinBarycenter(random_state=seed).fit_transform(z, sensitive_features=np.zeros(len(z), int))
    np.testing.assert_array_equal(out, z)


def test_b4_refit_on_fair_outputs_is_idempotent():
    rng = np.random.default_rng(11)
    s = np.repeat([0, 1], 500)
    z = np.concatenate([rng.normal(0, 1, 500), rng.integers(0, 4, 500).astype(float)])
    fair = WassersteinBarycenter(random_state=3).fit_transform(z, sensitive_features=s)
    again = WassersteinBarycenter(random_state=4).fit_transform(fair, sensitive_features=s)
    np.testing.assert_array_equal(again, fair)  # weights (.5, .5): exact
    s3 = np.repeat([0, 1, 2], 300)
    z3 = rng.gamma(2.0, size=900) * (1 + s3)
    fair3 = WassersteinBarycenter(random_state=3).fit_transform(z3, sensitive_features=s3)
    again3 = WassersteinBarycenter(random_state=4).fit_transform(fair3, sensitive_features=s3)
    np.testing.assert_allclose(again3, fair3, rtol=4e-16 * 3, atol=0)
    # unequal sizes: small changes in the bulk
    su = np.repeat([0, 1], [400, 1200])
    zu = rng.normal(su, 1.0)
    fair_u = WassersteinBarycenter(random_state=3).fit_transform(zu, sensitive_features=su)
    again_u = WassersteinBarycenter(random_state=3).fit_transform(fair_u, sensitive_features=su)
    assert np.median(np.abs(again_u - fair_u)) < 1e-2


@SETTINGS
@given(
    calibration(max_groups=3, max_size=15),
    st.floats(0.0, 1.0),
    st.lists(st.one_of(tied_values, real_values), min_size=1, max_size=30),
    st.integers(0, 2**32),
)
def test_b5_within_group_outputs_are_non_decreasing(cal, epsilon, queries, seed):
    z, codes, k = cal
    model = WassersteinBarycenter(epsilon=epsilon, random_state=seed).fit(z, sensitive_features=codes)
    t = np.sort(np.concatenate([z, queries]))
    for g in range(k):
        out = model.transform(t, sensitive_features=np.full(len(t), g))
        distinct = np.diff(t) > 0
        assert np.all(np.diff(out)[distinct] >= 0)
    # on the calibration rows themselves, the per-group rank order is kept
    out = model.transform(z, sensitive_features=codes)
    for g in range(k):
        zg, og = z[codes == g], out[codes == g]
        order = np.argsort(zg, kind="stable")
        strict = np.diff(zg[order]) > 0
        assert np.all(np.diff(og[order])[strict] >= 0)


@SETTINGS
@given(calibration(), st.lists(real_values, min_size=1, max_size=20), st.integers(0, 2**32))
def test_b6_epsilon_one_is_the_identity_bit_exact(cal, queries, seed):
    z, codes, k = cal
    model = WassersteinBarycenter(epsilon=1.0, random_state=seed).fit(z, sensitive_features=codes)
    t = np.concatenate([z, queries])
    c = np.concatenate([codes, np.arange(len(queries)) % k])
    np.testing.assert_array_equal(model.transform(t, sensitive_features=c), t)


@pytest.mark.parametrize("epsilon", [0.0, 0.1, 0.3, 0.75])
def test_b6_epsilon_is_the_w2_geodesic(epsilon):
    rng = np.random.default_rng(8)
    s = np.repeat([0, 1, 2], 700)
    z = np.concatenate([rng.normal(0, 1, 700), rng.normal(2, 2, 700), rng.exponential(1, 700)])
    fair = WassersteinBarycenter(random_state=0).fit_transform(z, sensitive_features=s)
    part = WassersteinBarycenter(epsilon=epsilon, random_state=0).fit_transform(z, sensitive_features=s)
    for a, b in [(0, 1), (0, 2), (1, 2)]:
        before = wasserstein_distance(z[s == a], z[s == b], p=2)
        after = wasserstein_distance(part[s == a], part[s == b], p=2)
        assert after == pytest.approx(epsilon * before, rel=1e-9, abs=1e-12)
    # excess risk scales by (1 - eps)^2 (.49 at eps = .3)
    risk0 = np.mean((fair - z) ** 2)
    assert np.mean((part - z) ** 2) == pytest.approx((1 - epsilon) ** 2 * risk0, rel=1e-9)


@SETTINGS
@given(calibration(), st.lists(real_values, min_size=1, max_size=20), st.integers(0, 2**32))
def test_b7_outputs_lie_in_the_table_range(cal, queries, seed):
    z, codes, k = cal
    model = WassersteinBarycenter(random_state=seed).fit(z, sensitive_features=codes)
    t = np.concatenate([z, queries, [z.min() - 1e6, z.max() + 1e6]])
    c = np.arange(len(t)) % k
    out = model.transform(t, sensitive_features=c)
    table = model.barycenter_table_
    assert np.all((out >= table.min()) & (out <= table.max()))
    for g in range(k):  # the extremes of the table are reached outside the calibration range
        assert model.transform([-1e300], sensitive_features=[g])[0] == group_table(model, g)[0]
        assert model.transform([1e300], sensitive_features=[g])[0] == group_table(model, g)[-1]


def test_b7_scores_in_unit_interval_stay_in_unit_interval_and_fair_input_is_fixed():
    s = np.repeat([0, 1, 2], [14, 23, 4])
    z = np.ones(len(s))
    out = WassersteinBarycenter(random_state=0).fit_transform(z, sensitive_features=s)
    assert out.max() <= 1.0
    np.testing.assert_array_equal(out, z)


@SETTINGS
@given(
    calibration(max_groups=2, elements=unit_values),
    st.lists(unit_values, min_size=1, max_size=20),
    st.floats(0.0, 1.0),
)
def test_b7_unit_interval_scores_stay_in_unit_interval_with_two_groups(cal, queries, epsilon):
    # The table is clamped to the groups' quantile range (see also
    # test_b7_scores_in_unit_interval_stay_in_unit_interval_and_fair_input_is_fixed).
    z, codes, k = cal
    model = WassersteinBarycenter(epsilon=epsilon, random_state=0).fit(z, sensitive_features=codes)
    t = np.concatenate([z, queries])
    out = model.transform(t, sensitive_features=np.arange(len(t)) % k)
    assert np.all((out >= 0.0) & (out <= 1.0))


def test_b8_same_seed_same_output_and_seed_none_is_stored():
    rng = np.random.default_rng(0)
    s = rng.integers(0, 3, 3000)
    z = rng.integers(0, 5, 3000).astype(float)  # ties everywhere: the tie keys matter
    a = WassersteinBarycenter(random_state=42).fit_transform(z, sensitive_features=s)
    b = WassersteinBarycenter(random_state=42).fit_transform(z, sensitive_features=s)
    np.testing.assert_array_equal(a, b)
    c = WassersteinBarycenter(random_state=43).fit_transform(z, sensitive_features=s)
    assert not np.array_equal(a, c)
    g1 = WassersteinBarycenter(random_state=np.random.default_rng(9)).fit_transform(z, sensitive_features=s)
    g2 = WassersteinBarycenter(random_state=np.random.default_rng(9)).fit_transform(z, sensitive_features=s)
    np.testing.assert_array_equal(g1, g2)
    m = WassersteinBarycenter().fit(z, sensitive_features=s)
    assert isinstance(m.seed_, int)
    np.testing.assert_array_equal(
        m.transform(z, sensitive_features=s),
        WassersteinBarycenter(random_state=m.seed_).fit_transform(z, sensitive_features=s),
    )


def test_b9_single_column_2d_input_equals_1d():
    rng = np.random.default_rng(1)
    s = rng.integers(0, 2, 500)
    z = rng.normal(s, 1.0)
    one = WassersteinBarycenter(random_state=0).fit_transform(z, sensitive_features=s)
    model = WassersteinBarycenter(random_state=0).fit(z[:, None], sensitive_features=s)
    two = model.transform(z[:, None], sensitive_features=s)
    assert two.shape == (500, 1) and model.n_features_in_ == 1
    np.testing.assert_array_equal(two[:, 0], one)


@pytest.mark.parametrize("discrete", [False, True])
def test_b9_t_columns_equal_t_single_task_runs(discrete):
    rng = np.random.default_rng(2)
    s = rng.integers(0, 3, 400)
    z = rng.normal(s[:, None], 1.0, size=(400, 3))
    if discrete:
        z = np.round(z)
    multi_model = WassersteinBarycenter(epsilon=0.25, random_state=0).fit(z, sensitive_features=s)
    t = np.concatenate([z, rng.normal(size=(50, 3))])
    c = np.concatenate([s, rng.integers(0, 3, 50)])
    multi = multi_model.transform(t, sensitive_features=c, row_offset=4)
    assert multi.shape == t.shape
    for task in range(3):
        single = WassersteinBarycenter(epsilon=0.25, random_state=0).fit(z[:, task], sensitive_features=s)
        np.testing.assert_array_equal(
            multi[:, task], single.transform(t[:, task], sensitive_features=c, row_offset=4)
        )


# --------------------------------------------------------------------------- invariances


@settings(max_examples=25, deadline=None)
@given(st.lists(st.integers(0, 3000), min_size=1, max_size=6), st.sampled_from([0.0, 1e-3]), st.floats(0, 1))
def test_chunked_transform_with_row_offset_is_bitwise_identical(cuts, jitter, epsilon):
    rng = np.random.default_rng(12)
    s = rng.integers(0, 3, 2000)
    z = rng.integers(0, 6, 2000) / 5.0
    model = WassersteinBarycenter(jitter=jitter, epsilon=epsilon, random_state=5).fit(z, sensitive_features=s)
    t = np.concatenate([z, rng.integers(-1, 8, 1000) / 5.0])
    c = np.concatenate([s, rng.integers(0, 3, 1000)])
    whole = model.transform(t, sensitive_features=c)
    bounds = [0, *sorted(cuts), len(t)]
    parts = [
        model.transform(t[a:b], sensitive_features=c[a:b], row_offset=a) for a, b in zip(bounds[:-1], bounds[1:])
    ]
    np.testing.assert_array_equal(np.concatenate(parts), whole)


def test_out_argument_and_offset_chunks_into_one_buffer():
    rng = np.random.default_rng(3)
    s = rng.integers(0, 2, 1000)
    z = rng.integers(0, 4, 1000).astype(np.float32)
    model = WassersteinBarycenter(random_state=1).fit(z, sensitive_features=s)
    whole = model.transform(z, sensitive_features=s)
    buf = np.empty(1000, dtype=np.float32)
    for a in range(0, 1000, 300):
        res = model.transform(z[a : a + 300], sensitive_features=s[a : a + 300], row_offset=a, out=buf[a : a + 300])
        assert np.shares_memory(res, buf)
    np.testing.assert_array_equal(buf, whole)


@pytest.mark.parametrize("kind", ["discrete", "continuous", "weighted", "K2", "K8-float32"])
def test_thread_count_does_not_change_results(kind):
    # Large enough for every kernel to use several threads (grains of 16k-256k rows):
    # the radix sort of a group (from 2**17 rows), the index and tie-key passes, the
    # tables, the transform; outputs must be the same bits at 1, 2, 3 and 7 threads.
    rng = np.random.default_rng(4)
    n = 150_000 if kind in ("discrete", "continuous", "weighted") else 900_000
    k = {"K2": 2, "K8-float32": 8}.get(kind, 4)
    s = rng.choice(k, n, p=np.arange(1, k + 1) / (k * (k + 1) / 2))  # unequal groups (1/3 and 2/3 for K = 2)
    z = rng.integers(0, 50, n).astype(float) if kind == "discrete" else rng.normal(s, 1.0)
    if kind == "K8-float32":
        z = np.round(z, 3).astype(np.float32)  # ties too
    w = rng.integers(1, 4, n).astype(float) if kind == "weighted" else None
    results = []
    for threads in (1, 2, 3, 7):
        with fairfast.thread_limit(threads):
            assert fairfast.get_num_threads() == threads
            m = WassersteinBarycenter(random_state=7).fit(z, sensitive_features=s, sample_weight=w)
            results.append([m.sorted_scores_, m.tie_keys_, m.barycenter_table_, m.transform(z, sensitive_features=s)])
    for other in results[1:]:
        for a, b in zip(results[0], other):
            assert a.tobytes() == b.tobytes()


# --------------------------------------------------------------------------- EquiPy, weights


@pytest.mark.parametrize("epsilon", [0.0, 0.4])
def test_linear_interpolation_matches_equipy(epsilon):
    fairness = pytest.importorskip("equipy.fairness")
    rng = np.random.default_rng(6)
    n = 3000
    s = rng.choice(np.array(["a", "b", "c"]), n, p=[0.2, 0.5, 0.3])
    z = rng.normal(size=n) * 2 + (s == "b") - 0.5 * (s == "c")  # well outside [0, 1]: no clipping
    st_ = np.array(["a", "b", "c"] * 200)
    zt = rng.normal(size=600) * 2.5
    theirs_model = fairness.FairWasserstein(sigma=1e-12)
    theirs_model.fit(z, s)
    theirs = theirs_model.transform(zt, st_, epsilon=epsilon)
    ours = WassersteinBarycenter(interpolation="linear", epsilon=epsilon, random_state=0).fit(
        z, sensitive_features=s
    ).transform(zt, sensitive_features=st_)
    np.testing.assert_allclose(ours, theirs, rtol=0, atol=1e-9)
    # the step convention is a different estimator (close in the bulk)
    step = WassersteinBarycenter(epsilon=epsilon, random_state=0).fit(z, sensitive_features=s)
    assert np.median(np.abs(step.transform(zt, sensitive_features=st_) - theirs)) < 0.02


def test_linear_interpolation_matches_reference_positions():
    # B_s[j] = sum_k p_k Qlin_k(j / n_s), Qlin on the grid i / (n_k - 1)
    rng = np.random.default_rng(7)
    s = np.repeat([0, 1, 2], [5, 9, 2])
    z = rng.normal(size=16)
    model = WassersteinBarycenter(interpolation="linear", random_state=0).fit(z, sensitive_features=s)
    p = np.bincount(s) / len(s)
    for g in range(3):
        ng = np.sum(s == g)
        expected = [
            sum(p[k] * np.quantile(z[s == k], j / ng, method="linear") for k in range(3)) for j in range(ng + 1)
        ]
        np.testing.assert_allclose(group_table(model, g), expected, rtol=1e-14, atol=1e-14)


@SETTINGS
@given(calibration(max_size=8), st.data())
def test_integer_sample_weight_equals_row_repetition(cal, data):
    z, codes, k = cal
    w = np.array(data.draw(st.lists(st.integers(1, 4), min_size=len(z), max_size=len(z))))
    weighted = WassersteinBarycenter(random_state=0).fit(z, sensitive_features=codes, sample_weight=w)
    repeated = WassersteinBarycenter(random_state=0).fit(np.repeat(z, w), sensitive_features=np.repeat(codes, w))
    np.testing.assert_array_equal(weighted.group_weights_, repeated.group_weights_)
    # fresh queries that tie with no calibration value (ties are ranked by per-row keys)
    grid = np.unique(z)
    t = np.concatenate([(grid[:-1] + grid[1:]) / 2, [grid[0] - 1, grid[-1] + 1]])
    t = t[~np.isin(t, grid)]  # the midpoint of two adjacent floats is one of them
    for g in range(k):
        c = np.full(len(t), g)
        np.testing.assert_array_equal(
            weighted.transform(t, sensitive_features=c), repeated.transform(t, sensitive_features=c)
        )


def test_group_weights_dict_array_and_reference():
    rng = np.random.default_rng(9)
    labels = np.array(["x", "y", "z"])
    s = labels[rng.integers(0, 3, 300)]
    z = rng.normal(size=300)
    codes = np.searchsorted(labels, s)
    by_array = WassersteinBarycenter(group_weights=[1.0, 2.0, 5.0], random_state=3).fit(z, sensitive_features=s)
    by_dict = WassersteinBarycenter(group_weights={"z": 5, "x": 1, "y": 2}, random_state=3).fit(
        z, sensitive_features=s
    )
    scaled = WassersteinBarycenter(group_weights=np.array([0.5, 1.0, 2.5]), random_state=3).fit(
        z, sensitive_features=s
    )
    np.testing.assert_allclose(by_array.group_weights_, [1 / 8, 2 / 8, 5 / 8], rtol=1e-15)
    np.testing.assert_array_equal(by_dict.barycenter_table_, by_array.barycenter_table_)
    np.testing.assert_array_equal(scaled.barycenter_table_, by_array.barycenter_table_)
    groups, tables = ref.fit_fair(z, codes, 3, 3, group_weights=[1.0, 2.0, 5.0])
    for g in range(3):
        np.testing.assert_array_equal(group_table(by_array, g), tables[g])
    out = by_array.transform(z, sensitive_features=s)
    np.testing.assert_array_equal(out, ref.transform_fair(groups, tables, z, codes, 3))
    # a zero weight removes a group from the barycenter but the group is still mapped
    zero = WassersteinBarycenter(group_weights={"x": 0, "y": 1, "z": 0}, random_state=3).fit(z, sensitive_features=s)
    y = np.sort(z[s == "y"])
    assert set(zero.transform(z, sensitive_features=s)) <= set(y)


def test_sample_weight_changes_group_frequencies():
    s = np.array([0, 0, 1, 1])
    z = np.array([0.0, 1.0, 10.0, 11.0])
    m = WassersteinBarycenter(random_state=0).fit(z, sensitive_features=s, sample_weight=[1, 1, 3, 3])
    np.testing.assert_array_equal(m.group_weights_, [0.25, 0.75])
    np.testing.assert_array_equal(m.transform(z, sensitive_features=s), [7.5, 8.5, 7.5, 8.5])


def test_weighted_linear_interpolation_stays_finite():
    z = np.array([0.0, 1.0, 2.0, 3.0])
    s = np.array([0, 0, 1, 1])
    model = WassersteinBarycenter(interpolation="linear", random_state=0)
    with np.errstate(invalid="ignore", divide="ignore"):
        model.fit(z, sensitive_features=s, sample_weight=[0.0, 1.0, 1.0, 1.0])
        out = model.transform(z, sensitive_features=s)
    assert np.all(np.isfinite(model.barycenter_table_)) and np.all(np.isfinite(out))


def test_table_entry_stays_inside_its_quantiles():
    # sum_k p_k * 3.0 rounds to 3.0000000000000004 for these group sizes; the table
    # entry must still be exactly 3.0 (a weighted mean never leaves its terms' range).
    z = np.zeros(37)
    z[[11, 18, 26, 27]] = 3.0
    codes = np.repeat(np.arange(4), [12, 7, 8, 10])
    model = WassersteinBarycenter(random_state=0).fit(z, sensitive_features=codes)
    assert model.barycenter_table_.max() == 3.0
    _, tables = ref.fit_fair(z, codes, 4, 0)
    for g in range(4):
        np.testing.assert_array_equal(group_table(model, g), tables[g])
