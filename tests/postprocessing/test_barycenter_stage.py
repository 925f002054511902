"""The fitted barycenter stage: one compiled object per pass, validated once (at fit, at
load, when unpickled), whose transform checks only its own rows and reports the first
bad one as a structured status."""

import copy
import pickle

import numpy as np
import pytest

from fairfast import _core
from fairfast.postprocessing import WassersteinBarycenter
from fairfast.postprocessing._stage import BarycenterStage


# data and fitted: tests/postprocessing/conftest.py


def test_a_stage_is_one_object_holding_read_only_arrays(fitted):
    (stage,) = fitted.stages_
    assert isinstance(stage, BarycenterStage)
    assert isinstance(stage.core, _core.barycenter.BarycenterStage64)
    core = stage.core
    assert (core.n_tasks, core.n_groups, core.n_rows) == (1, 3, 600)
    assert core.values.shape == (1, 600) and core.table.shape == (1, 603) and core.offsets.shape == (4,)
    np.testing.assert_array_equal(fitted.sorted_scores_, core.values[0])
    np.testing.assert_array_equal(fitted.group_offsets_, core.offsets)
    for name in ("sorted_scores_", "tie_keys_", "barycenter_table_", "group_offsets_", "group_counts_",
                 "group_weights_"):
        array = getattr(fitted, name)
        assert not array.flags.writeable, name
        with pytest.raises(ValueError, match="read-only"):
            array[0] = 0
    with pytest.raises(ValueError):  # the offsets belong to the compiled stage
        core.offsets.setflags(write=True)
    assert "BarycenterStage(columns=[0], n_groups=3, n_rows=600" in repr(stage)


def test_the_stage_pickles_and_copies_without_its_derived_data(fitted, data):
    z, s = data
    core = fitted.stages_[0].core
    core.build_lookups()  # whatever the size
    assert core.lookups_ready
    expected = fitted.transform(z, sensitive_features=s)
    for clone_of in (lambda c: pickle.loads(pickle.dumps(c)), copy.deepcopy, copy.copy):
        other = clone_of(core)
        assert not other.lookups_ready and other.rows_seen == 0
        for name in ("values", "keys", "offsets", "table"):
            np.testing.assert_array_equal(getattr(other, name), getattr(core, name))
        assert (other.seed, other.jitter) == (core.seed, core.jitter)
        codes = s.astype(np.int32)
        np.testing.assert_array_equal(other.transform(z, codes, 0.2)[0], expected)
    restored = pickle.loads(pickle.dumps(fitted))
    np.testing.assert_array_equal(restored.transform(z, sensitive_features=s), expected)


def _arrays(core):
    return core.values.copy(), core.keys.copy(), core.offsets.copy(), core.table.copy()


def test_loading_keeps_owned_arrays_and_copies_views(fitted):
    core = fitted.stages_[0].core
    values, keys, offsets, table = _arrays(core)
    loaded = _core.barycenter.BarycenterStage64(values, keys, offsets, table, core.seed, core.jitter)
    assert np.shares_memory(loaded.values, values) and not values.flags.writeable  # taken, now read-only
    wide = np.concatenate([table, table])
    view = wide[:1]  # a view of a writeable array could change behind the stage's back: copied
    loaded = _core.barycenter.BarycenterStage64(core.values.copy(), core.keys.copy(), offsets, view, 1, 0.0)
    assert not np.shares_memory(loaded.table, wide) and view.flags.writeable


def _load(core, values=None, keys=None, offsets=None, table=None, jitter=0.0):
    v, k, o, t = _arrays(core)
    return _core.barycenter.BarycenterStage64(
        v if values is None else values, k if keys is None else keys, o if offsets is None else offsets,
        t if table is None else table, core.seed, jitter)


def test_loading_checks_everything_the_transform_relies_on(fitted):
    core = fitted.stages_[0].core
    o = core.offsets
    values, keys, _, table = _arrays(core)
    bad = values.copy()
    bad[0, o[1] + 1], bad[0, o[1] + 2] = bad[0, o[1] + 2] + 1.0, bad[0, o[1] + 1]
    with pytest.raises(ValueError, match=r"values are not sorted within their group \(task 0, group 1, position 2\)"):
        _load(core, values=bad)
    bad = values.copy()
    bad[0, 5] = np.nan
    with pytest.raises(ValueError, match=r"values hold a non-finite number \(task 0, group 0, position 5\)"):
        _load(core, values=bad)
    bad = table.copy()
    bad[0, o[2] + 2 : o[3] + 3] = bad[0, o[2] + 2 : o[3] + 3][::-1]  # the last group's table reversed
    with pytest.raises(ValueError, match=r"table decreases within its group \(task 0, group 2, position 1\)"):
        _load(core, table=bad)
    bad = table.copy()
    bad[0, -1] = np.inf
    with pytest.raises(ValueError, match=r"table holds a non-finite number \(task 0, group 2"):
        _load(core, table=bad)
    run = np.flatnonzero((values[0, 1:] == values[0, :-1]) & (keys[0, 1:] != keys[0, :-1]))[0]
    bad = keys.copy()
    bad[0, run], bad[0, run + 1] = keys[0, run + 1], keys[0, run]
    with pytest.raises(ValueError, match="keys are not sorted within a run of equal values"):
        _load(core, keys=bad)
    for offsets, match in [
        (np.array([0, 300, 200, 600]), "strictly increasing"),
        (np.array([0, 300, 300, 600]), "strictly increasing"),
        (np.array([1, 300, 400, 600]), "start at 0 and end"),
        (np.array([0, 300, 400, 599]), "start at 0 and end"),
        (np.array([0]), "at least 2 entries"),
    ]:
        with pytest.raises(ValueError, match=match):
            _load(core, offsets=offsets.astype(np.int64))
    with pytest.raises(ValueError, match=r"table must have shape \(1, 603\)"):
        _load(core, table=table[:, :-1].copy())
    with pytest.raises(ValueError, match=r"keys must have shape \(1, 600\)"):
        _load(core, keys=keys[0].copy())
    with pytest.raises(ValueError, match="values must have shape"):
        _load(core, values=values[0].copy())
    with pytest.raises(ValueError, match="jitter must be finite"):
        _load(core, jitter=-1.0)
    with pytest.raises(TypeError, match="incompatible"):
        _load(core, values=values.astype(np.float32))
    with pytest.raises(TypeError, match="incompatible"):
        _load(core, offsets=o.astype(np.int32))


@pytest.mark.parametrize(
    "change, error, match",
    [
        (lambda a: {"scores": np.zeros(4, dtype=np.float32)}, TypeError, "incompatible function arguments"),
        (lambda a: {"scores": np.zeros(8)[::2]}, TypeError, "incompatible function arguments"),
        (lambda a: {"scores": np.zeros((2, 2))}, ValueError, "scores must be one-dimensional"),
        (lambda a: {"codes": np.zeros(4, dtype=np.int64)}, TypeError, "incompatible function arguments"),
        (lambda a: {"codes": np.zeros(8, dtype=np.int32)[::2]}, TypeError, "incompatible function arguments"),
        (lambda a: {"codes": np.zeros(3, dtype=np.int32)}, ValueError, "codes has 3 rows but scores has 4"),
        (lambda a: {"epsilon": 1.5}, ValueError, r"epsilon must lie in \[0, 1\]"),
        (lambda a: {"epsilon": np.nan}, ValueError, r"epsilon must lie in \[0, 1\]"),
        (lambda a: {"row_offset": -1}, TypeError, "incompatible function arguments"),
        (lambda a: {"task": 1}, IndexError, r"task must lie in \[0, n_tasks\)"),
        (lambda a: {"task": -1}, IndexError, r"task must lie in \[0, n_tasks\)"),
        (lambda a: {"path": 5}, ValueError, "path must be 0"),
        (lambda a: {"out": np.empty(4, dtype=np.float32)}, TypeError, "out must be a C-contiguous array"),
        (lambda a: {"out": np.empty(5)}, ValueError, "out must be one-dimensional with 4 entries"),
        (lambda a: {"out": np.empty(8)[::2]}, TypeError, "out must be a C-contiguous array"),
    ],
)
def test_direct_transform_calls_raise_never_crash(fitted, change, error, match):
    args = {"scores": np.zeros(4), "codes": np.zeros(4, dtype=np.int32), "epsilon": 0.0}
    args.update(change(args))
    with pytest.raises(error, match=match):
        fitted.stages_[0].core.transform(**args)


def test_direct_transform_out_argument_and_readonly_out(fitted):
    core = fitted.stages_[0].core
    z, codes = np.array([0.0, 1.0, 2.0, 3.0]), np.array([0, 1, 2, 0], dtype=np.int32)
    out = np.empty(4)
    res, status, row = core.transform(z, codes, 0.2, out=out)
    assert res is out and status == _core.Status.ok and row == -1
    np.testing.assert_array_equal(out, fitted.transform(z, sensitive_features=codes))
    out.flags.writeable = False
    with pytest.raises(ValueError, match="out must be writeable"):
        core.transform(z, codes, 0.2, out=out)


def test_bad_rows_are_raised_naming_the_argument_and_the_row(fitted):
    z = np.zeros(40_000)
    z[[1234, 30_000]] = [np.inf, np.nan]
    with pytest.raises(ValueError, match=r"scores must be finite; found inf at position 1234"):
        fitted.transform(z, sensitive_features=np.zeros(40_000, dtype=int))
    two = np.zeros((40_000, 2))
    two[31_000, 1] = np.nan
    model = WassersteinBarycenter(random_state=0).fit(np.random.default_rng(1).normal(size=(300, 2)),
                                                      sensitive_features=np.arange(300) % 2)
    with pytest.raises(ValueError, match=r"scores must be finite; found nan at position 31000"):
        model.transform(two, sensitive_features=np.zeros(40_000, dtype=int))


def test_direct_fit_checks_its_arguments(fitted):
    core = fitted.stages_[0].core
    fit = _core.barycenter.BarycenterStage64.fit
    values, offsets = core.values.copy(), core.offsets.copy()
    z = np.ascontiguousarray(values[0])
    codes = np.repeat(np.arange(3, dtype=np.int32), np.diff(offsets))
    ok = dict(values=values, offsets=offsets, columns=[z], codes=codes, rows=None, sample_weight=None,
              group_weights=np.full(3, 1 / 3), blocks=np.array([0, 3], dtype=np.int64), mode=0, seed=1, jitter=0.0)
    stage = fit(**ok)
    np.testing.assert_array_equal(stage.values, values)
    for change, error, match in [
        ({"blocks": np.array([0, 2], dtype=np.int64)}, ValueError, "blocks must run from 0 to n_groups"),
        ({"blocks": np.array([0, 2, 2, 3], dtype=np.int64)}, ValueError, "blocks must be strictly increasing"),
        ({"mode": 2}, ValueError, "interpolation code"),
        ({"columns": []}, ValueError, "one score array per task"),
        ({"group_weights": np.ones(2)}, ValueError, "group_weights must be one-dimensional with 3 entries"),
        ({"rows": [np.full(600, 600, dtype=np.uint32)], "sample_weight": np.ones(600)}, IndexError, "rows holds"),
        ({"sample_weight": np.ones(600)}, ValueError, "sample_weight needs the rows"),
        ({"codes": np.full(600, 3, dtype=np.int32)}, IndexError, "codes holds a group code"),
        ({"values": values[:, ::-1].copy()}, ValueError, "values are not sorted within their group"),
    ]:
        with pytest.raises(error, match=match):
            fit(**{**ok, **change})


def test_table_binding_checks_its_arguments():
    values = np.array([0.0, 1.0, 2.0, 3.0])
    offsets = np.array([0, 2, 4], dtype=np.int64)
    with pytest.raises(ValueError, match=r"interpolation code must be 0 \(step\) or 1 \(linear\)"):
        _core.barycenter.tables(values, None, offsets, np.array([0.5, 0.5]), 3)
    with pytest.raises(ValueError, match="cumw must be one-dimensional with 4 entries"):
        _core.barycenter.tables(values, np.ones(3), offsets, np.array([0.5, 0.5]), 0)
    with pytest.raises(TypeError, match="cumw must be a C-contiguous float64 array or None"):
        _core.barycenter.tables(values, np.ones(4, dtype=np.float32), offsets, np.array([0.5, 0.5]), 0)
    with pytest.raises(ValueError, match="group_weights must be one-dimensional with 2 entries"):
        _core.barycenter.tables(values, None, offsets, np.array([0.5, 0.3, 0.2]), 0)
    with pytest.raises(ValueError, match="offsets must start at 0 and end at the number of values"):
        _core.barycenter.tables(values, None, np.array([0, 2, 3], dtype=np.int64), np.array([0.5, 0.5]), 0)


def _two_columns(n=3000, seed=3):
    rng = np.random.default_rng(seed)
    a, b = rng.integers(0, 2, n), rng.integers(0, 3, n)
    return rng.normal(a + 0.5 * b, 1.0), np.column_stack([a, b])


def _reverse_last_group_table(table):
    out = table.copy()
    out[0, -5:] = out[0, -5:][::-1]
    return out


@pytest.mark.parametrize(
    "strategy, edit, match",
    [
        ("sequential", {"meta": lambda m: m["stages"][1].update(columns=[5])}, "stage 1 must use sensitive columns"),
        ("sequential", {"meta": lambda m: m["stages"][0].update(columns=[])}, "stage 0 must use sensitive columns"),
        ("conditional", {"meta": lambda m: m["stages"][0].update(n_strata_columns=0)}, "stage 0 must use"),
        ("intersectional", {"meta": lambda m: m.update(n_attributes=3)}, "stage 0 must use sensitive columns"),
        ("intersectional", {"meta": lambda m: m.update(n_attributes=-1)}, "n_attributes must be an integer"),
        ("sequential", {"meta": lambda m: m.update(n_attributes=1)}, "wrong number of stages"),
        ("intersectional", {"meta": lambda m: m["stages"][0].update(groups_are_tuples=False)}, "groups_are_tuples"),
        ("intersectional", {"meta": lambda m: m["stages"][0]["groups"].__setitem__(1, m["stages"][0]["groups"][0])},
         "repeated labels"),
        ("sequential", {"meta": lambda m: m["stages"][0]["groups"].__setitem__(0, {"a": 1})}, "not a string or number"),
        ("intersectional", {"meta": lambda m: m["stages"][0]["groups"].__setitem__(0, [0, 1, 2])},
         "intersection of the same columns"),
        ("intersectional", {"meta": lambda m: m.update(scores_ndim=1, n_tasks=2)}, "stage0.keys|several tasks"),
        ("intersectional", {"array": ("stage0.table", _reverse_last_group_table)}, "table decreases within its group"),
        ("sequential", {"array": ("stage1.values", lambda v: v[:, ::-1])}, "values are not sorted"),
        ("intersectional", {"array": ("stage0.counts", lambda c: c[::-1])}, "counts do not match offsets"),
        ("conditional", {"array": ("stage0.blocks", lambda b: b[[0, -1]])}, "blocks do not match"),
        ("intersectional", {"array": ("stage0.weights", lambda w: -w)}, "weights must be finite and non-negative"),
        ("intersectional", {"array": ("stage0.weights", lambda w: 2 * w)}, "weights do not sum to 1"),
        ("intersectional", {"array": ("stage0.values", lambda v: v.astype(np.int64))}, "values should be float32"),
    ],
)
def test_hand_edited_model_files_are_refused_at_load(tmp_path, strategy, edit, match):
    from model_file_checks import rewrite_model_file

    import fairfast

    z, S = _two_columns()
    path = tmp_path / "model.ffm"
    WassersteinBarycenter(strategy=strategy, random_state=0).fit(z, sensitive_features=S).save(path)
    fairfast.load(path)  # loads as saved
    rewrite_model_file(path, **edit)
    with pytest.raises(ValueError, match=rf"model state is (inconsistent|incomplete or malformed|malformed): .*({match})"):
        fairfast.load(path)
