"""fairfast.dask on a real distributed cluster: transforms equal in-memory ones, fits."""

import numpy as np
import pandas as pd
import pytest

dask = pytest.importorskip("dask")
dd = pytest.importorskip("dask.dataframe")
da = pytest.importorskip("dask.array")
distributed = pytest.importorskip("distributed")

import fairfast.dask as ffd  # noqa: E402
from fairfast.io import load, save  # noqa: E402
from fairfast.postprocessing import WassersteinBarycenter  # noqa: E402
from fairfast.transport import ks_distance  # noqa: E402

N = 4000


@pytest.fixture(scope="module")
def client():
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=False,
                                  dashboard_address=":0") as cluster, distributed.Client(cluster) as c:
        yield c


@pytest.fixture(scope="module")
def frame():
    rng = np.random.default_rng(2)
    g = rng.integers(0, 3, N)
    return pd.DataFrame({
        "id": np.arange(N),
        "score": rng.normal(size=N) + 0.7 * g,
        "g": g,
        "sex": np.array(["F", "M"], dtype=object)[rng.integers(0, 2, N)],
    })


@pytest.fixture(scope="module")
def model(frame):
    return WassersteinBarycenter(random_state=11, epsilon=0.05).fit(
        frame["score"].to_numpy(), sensitive_features=frame["g"].to_numpy()
    )


def _partitioned(frame, how):
    if isinstance(how, int):
        return dd.from_pandas(frame, npartitions=how, sort=False)
    # uneven partitions at the given row boundaries
    pieces = [frame.iloc[a:b] for a, b in zip([0, *how], [*how, len(frame)])]
    return dd.from_delayed([dask.delayed(p) for p in pieces], meta=frame.iloc[:0])


PARTITIONINGS = [1, 3, 8, [1, 2, 1000, 3999], [57]]


@pytest.mark.parametrize("how", PARTITIONINGS)
def test_dataframe_transform_equals_in_memory(client, frame, model, how):
    ddf = _partitioned(frame, how)
    result = ffd.transform(model, ddf, scores="score", sensitive_features="g").compute()
    expected = model.transform(frame["score"].to_numpy(), sensitive_features=frame["g"].to_numpy())
    assert list(result.columns) == ["id", "score", "g", "sex", "score_fair"]
    assert result["score_fair"].to_numpy().tobytes() == expected.tobytes()
    pd.testing.assert_frame_equal(result.drop(columns="score_fair"), ddf.compute())  # pass-through


def test_dataframe_in_place_and_intersections(client, frame):
    sf = frame[["g", "sex"]]
    model = WassersteinBarycenter(random_state=1).fit(frame["score"].to_numpy(), sensitive_features=sf)
    ddf = _partitioned(frame, [999, 1000, 2500])
    result = ffd.transform(model, ddf, scores=["score"], sensitive_features=["g", "sex"], in_place=True).compute()
    assert list(result.columns) == list(frame.columns)
    np.testing.assert_array_equal(result["score"].to_numpy(),
                                  model.transform(frame["score"].to_numpy(), sensitive_features=sf))


def test_dataframe_errors(client, frame, model):
    ddf = _partitioned(frame, 2)
    with pytest.raises(ValueError, match="no column 'grp'"):
        ffd.transform(model, ddf, scores="score", sensitive_features="grp")
    with pytest.raises(ValueError, match="scores is required"):
        ffd.transform(model, ddf, sensitive_features="g")
    with pytest.raises(ValueError, match=r"already has column\(s\) \['score_x'\]"):
        ffd.transform(model, ddf.assign(score_x=1.0), scores="score", sensitive_features="g", suffix="_x")
    with pytest.raises(TypeError, match="dask.dataframe.DataFrame or a dask.array.Array"):
        ffd.transform(model, frame, scores="score", sensitive_features="g")
    # unseen groups surface when computing, with fairfast's message
    bad = _partitioned(frame.assign(g=frame["g"] + 1), 2)
    with pytest.raises(ValueError, match="not seen at fit time"):
        ffd.transform(model, bad, scores="score", sensitive_features="g").compute()


@pytest.mark.parametrize("chunks", [N, 1000, (1, 2, 997, 3000), 333])
@pytest.mark.parametrize("sensitive_kind", ["numpy", "dask"])
def test_array_transform_equals_in_memory(client, frame, model, chunks, sensitive_kind):
    z = frame["score"].to_numpy()
    s = frame["g"].to_numpy()
    scores = da.from_array(z, chunks=chunks if not isinstance(chunks, tuple) else (chunks,))
    sensitive = s if sensitive_kind == "numpy" else da.from_array(s, chunks=701)  # other chunks: realigned
    result = ffd.transform(model, scores, sensitive_features=sensitive)
    assert result.chunks[0] == scores.chunks[0]
    assert result.compute().tobytes() == model.transform(z, sensitive_features=s).tobytes()


def test_array_with_unknown_chunk_sizes(client, frame, model):
    z = frame["score"].to_numpy()
    s = frame["g"].to_numpy()
    keep = np.arange(N) % 3 != 0
    scores = da.from_array(z, chunks=500)
    filtered = scores[da.from_array(keep, chunks=500)]  # chunk sizes become unknown
    assert any(np.isnan(c) for c in filtered.chunks[0])
    result = ffd.transform(model, filtered, sensitive_features=s[keep]).compute()
    np.testing.assert_array_equal(result, model.transform(z[keep], sensitive_features=s[keep]))


def test_array_errors(client, frame, model):
    scores = da.from_array(frame["score"].to_numpy(), chunks=1000)
    with pytest.raises(ValueError, match="sensitive_features is required"):
        ffd.transform(model, scores)
    with pytest.raises(ValueError, match=r"sensitive_features must have shape \(4000,\)"):
        ffd.transform(model, scores, sensitive_features=np.zeros(10))
    with pytest.raises(ValueError, match="scores and features name dataframe columns"):
        ffd.transform(model, scores, sensitive_features=frame["g"].to_numpy(), scores="x")


def test_multi_task_array(client, frame):
    rng = np.random.default_rng(0)
    z = np.column_stack([frame["score"].to_numpy(), rng.normal(size=N)])
    s = frame["g"].to_numpy()
    try:
        model = WassersteinBarycenter(random_state=0).fit(z, sensitive_features=s)
    except ValueError as exc:
        pytest.skip(f"multi-task scores not supported by this estimator: {exc}")
    result = ffd.transform(model, da.from_array(z, chunks=(700, 1)), sensitive_features=s).compute()
    np.testing.assert_array_equal(result, model.transform(z, sensitive_features=s))
    fitted = ffd.fit(da.from_array(z, chunks=(900, 2)), sensitive_features=s, method="exact",
                     estimator=WassersteinBarycenter(random_state=0))
    np.testing.assert_array_equal(fitted.transform(z, sensitive_features=s), model.transform(z, sensitive_features=s))
    with pytest.raises(ValueError, match="summarises one score column"):
        ffd.fit(da.from_array(z, chunks=(900, 2)), sensitive_features=s, method="sketch")


def test_loaded_model_file_runs_on_the_cluster(client, frame, model, tmp_path):
    save(model, tmp_path / "m.ffm")
    loaded = load(tmp_path / "m.ffm")
    result = ffd.transform(loaded, _partitioned(frame, 5), scores="score", sensitive_features="g").compute()
    np.testing.assert_array_equal(
        result["score_fair"].to_numpy(),
        model.transform(frame["score"].to_numpy(), sensitive_features=frame["g"].to_numpy()),
    )


# -- fit ----------------------------------------------------------------------------------------


@pytest.mark.parametrize("how", [1, 4, [10, 3000]])
def test_exact_fit_equals_in_memory_fit(client, frame, how):
    fitted = ffd.fit(_partitioned(frame, how), scores="score", sensitive_features=["g", "sex"],
                     estimator=WassersteinBarycenter(random_state=4))
    assert fitted.fit_method_ == "exact"
    direct = WassersteinBarycenter(random_state=4).fit(frame["score"].to_numpy(), sensitive_features=frame[["g", "sex"]])
    meta_a, arrays_a = fitted._get_state()
    meta_b, arrays_b = direct._get_state()
    assert meta_a == meta_b
    assert all(arrays_a[k].tobytes() == arrays_b[k].tobytes() for k in arrays_a)
    arr = ffd.fit(da.from_array(frame["score"].to_numpy(), chunks=1500), sensitive_features=frame["g"].to_numpy(),
                  estimator=WassersteinBarycenter(random_state=4), method="exact")
    direct = WassersteinBarycenter(random_state=4).fit(frame["score"].to_numpy(), sensitive_features=frame["g"])
    assert all(a.tobytes() == b.tobytes() for a, b in zip(arr._get_state()[1].values(),
                                                          direct._get_state()[1].values()))


def _cdf_gap(sample, atoms, counts):
    """max and min over x of F(x) - F~(x), at every jump point of either CDF."""
    x = np.union1d(sample, atoms)
    f = np.searchsorted(np.sort(sample), x, side="right") / sample.size
    order = np.argsort(atoms, kind="stable")
    cum = np.concatenate([[0], np.cumsum(counts[order])])
    ft = cum[np.searchsorted(atoms[order], x, side="right")] / counts.sum()
    return (f - ft).max(), (f - ft).min()


@pytest.mark.parametrize("seed", range(10))
def test_merged_summaries_have_cdf_error_below_one_over_m(seed):
    rng = np.random.default_rng(seed)
    n = int(rng.integers(200, 5000))
    m = int(rng.choice([1, 3, 16, 100]))
    g = rng.integers(0, 3, n)
    z = rng.normal(size=n) + g if seed % 2 else np.round(rng.normal(size=n) * 2)  # ties when even
    cuts = np.sort(rng.choice(np.arange(1, n), size=int(rng.integers(0, 12)), replace=False))
    bounds = [0, *cuts, n]
    summaries = [ffd.summarize_partition(z[a:b], g[a:b], m) for a, b in zip(bounds[:-1], bounds[1:])]
    merged = ffd._fit._merge(summaries)
    for k in range(3):
        atoms, counts = merged[(k,)]
        assert counts.sum() == (g == k).sum()  # group frequencies are exact
        assert all(len(s[(k,)][0]) <= m for s in summaries if (k,) in s)
        hi, lo = _cdf_gap(z[g == k], atoms, counts)
        assert -1.0 / m < lo and hi < 1.0 / m  # the documented bounds
        n_g = (g == k).sum()
        p_g = sum(((g[a:b] == k).sum() > m) for a, b in zip(bounds[:-1], bounds[1:]))
        assert max(hi, -lo) <= 1.0 / (2 * m) + p_g / (2 * n_g) + 1e-12
        assert z[g == k].min() <= atoms.min() and atoms.max() <= z[g == k].max()
        assert ks_distance(z[g == k], atoms, v_weights=counts.astype(float)) < 1.0 / m


def test_summary_of_small_groups_is_exact():
    z = np.array([3.0, 1.0, 2.0, 1.0])
    summary = ffd.summarize_partition(z, np.array(["a", "b", "a", "a"], dtype=object), 8)
    assert summary[("a",)][0].tolist() == [1.0, 2.0, 3.0] and summary[("a",)][1].tolist() == [1, 1, 1]
    assert summary[("b",)][0].tolist() == [1.0]


@pytest.mark.parametrize("m", [16, 64])
def test_sketched_fit_is_fair_within_the_bound(client, frame, m):
    ddf = _partitioned(frame, 6)
    model = ffd.fit(ddf, scores="score", sensitive_features="g", method="sketch", n_quantiles=m,
                    estimator=WassersteinBarycenter(random_state=0))
    assert model.fit_method_ == "sketch"
    assert model.groups_ == [0, 1, 2]
    z, s = frame["score"].to_numpy(), frame["g"].to_numpy()
    out = model.transform(z, sensitive_features=s)
    n_min = np.bincount(s).min()
    for a in range(3):
        for b in range(a + 1, 3):
            assert ks_distance(out[s == a], out[s == b]) <= 2 / m + 2 / n_min
    # close to the exact model: output ranks differ by at most the CDF error of the source
    # group plus that of the quantile functions
    exact = WassersteinBarycenter(random_state=0).fit(z, sensitive_features=s).transform(z, sensitive_features=s)
    assert ks_distance(out, exact) <= 2 / m + 1 / n_min
    np.testing.assert_allclose(model.group_weights_, np.bincount(s) / N, rtol=1e-12)  # exact frequencies


def test_sketch_with_intersections_and_strings(client, frame):
    model = ffd.fit(_partitioned(frame, 3), scores="score", sensitive_features=["g", "sex"], method="sketch",
                    n_quantiles=32, estimator=WassersteinBarycenter(random_state=0))
    direct = WassersteinBarycenter(random_state=0).fit(frame["score"].to_numpy(), sensitive_features=frame[["g", "sex"]])
    assert model.groups_ == direct.groups_
    out = model.transform(frame["score"].to_numpy(), sensitive_features=frame[["g", "sex"]])
    assert np.isfinite(out).all()


def test_sketch_on_arrays_is_independent_of_chunking_when_exact(client):
    # groups no larger than M in every chunk: the summaries hold every row
    rng = np.random.default_rng(0)
    z = rng.normal(size=600)
    s = rng.integers(0, 2, 600)
    a = ffd.fit(da.from_array(z, chunks=100), sensitive_features=s, method="sketch", n_quantiles=100,
                estimator=WassersteinBarycenter(random_state=0))
    b = ffd.fit(da.from_array(z, chunks=(50, 250, 300)), sensitive_features=s, method="sketch", n_quantiles=300,
                estimator=WassersteinBarycenter(random_state=0))
    assert a.transform(z, sensitive_features=s).tobytes() == b.transform(z, sensitive_features=s).tobytes()


def test_auto_method_and_argument_checks(client, frame):
    ddf = _partitioned(frame, 2)
    assert ffd.fit(ddf, scores="score", sensitive_features="g").fit_method_ == "exact"
    assert ffd.fit(ddf, scores="score", sensitive_features="g", max_exact_rows=100).fit_method_ == "sketch"
    with pytest.raises(ValueError, match="method must be one of"):
        ffd.fit(ddf, scores="score", sensitive_features="g", method="approx")
    with pytest.raises(ValueError, match="n_quantiles must be a positive int"):
        ffd.fit(ddf, scores="score", sensitive_features="g", n_quantiles=0)
    with pytest.raises(ValueError, match="no column 'nope'"):
        ffd.fit(ddf, scores="nope", sensitive_features="g")
    with pytest.raises(TypeError, match="dask.dataframe.DataFrame or a dask.array.Array"):
        ffd.fit(np.zeros(3), sensitive_features=np.zeros(3))


@pytest.mark.slow
def test_process_cluster(frame, model):
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                  dashboard_address=":0") as cluster, distributed.Client(cluster):
        result = ffd.transform(model, _partitioned(frame, 4), scores="score", sensitive_features="g").compute()
        fitted = ffd.fit(_partitioned(frame, 4), scores="score", sensitive_features="g", method="sketch", n_quantiles=64,
                         estimator=WassersteinBarycenter(random_state=0))
    np.testing.assert_array_equal(
        result["score_fair"].to_numpy(),
        model.transform(frame["score"].to_numpy(), sensitive_features=frame["g"].to_numpy()),
    )
    assert fitted.groups_ == [0, 1, 2]
