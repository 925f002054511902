"""The serving contract, for every model kind: the CLI, fairfast.io and fairfast.dask serve
a saved model exactly like the in-memory methods, whatever the batching or partitioning."""

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

import fairfast
from fairfast.cli import main
from fairfast.io import fit_file, registered_estimators, save, transform_file

N = 1200


@pytest.fixture(scope="module")
def frame():
    rng = np.random.default_rng(11)
    race = rng.choice(np.array(["a", "b", "c"]), N)
    sex = rng.integers(0, 2, N)
    x = rng.normal(size=(N, 3)) + (race == "a")[:, None] + 0.5 * sex[:, None]
    score = 1 / (1 + np.exp(-(x[:, 0] - x[:, 1])))
    y = (rng.uniform(size=N) < score).astype(np.int64)
    return pd.DataFrame({"id": np.arange(N), "x0": x[:, 0], "x1": x[:, 1], "x2": x[:, 2], "score": score,
                         "race": race, "sex": sex, "y": y})


def _barycenter(frame):
    from fairfast.postprocessing import WassersteinBarycenter

    model = WassersteinBarycenter(random_state=3, epsilon=0.1)
    model.fit(frame["score"].to_numpy(), sensitive_features=frame[["race", "sex"]])
    expected = {"scores": model.transform(frame["score"].to_numpy(), sensitive_features=frame[["sex", "race"]])}
    return model, {"scores": ["score"]}, expected


def _thresholds(frame):
    from fairfast.postprocessing import GroupThresholds

    model = GroupThresholds(constraint="true_positive_rate_parity", random_state=5)
    sf = frame[["race"]]
    model.fit(frame["score"].to_numpy(), frame["y"].to_numpy(), sensitive_features=sf)
    expected = {"decision": model.predict(frame["score"].to_numpy(), sensitive_features=sf),
                "probability": model.predict_proba(frame["score"].to_numpy(), sensitive_features=sf)[:, 1]}
    return model, {"scores": ["score"]}, expected


def _dafh(frame):
    from fairfast.dafh import DAFHClassifier

    X = frame[["x0", "x1", "x2"]]
    model = DAFHClassifier(n_groups=2, max_epochs=3, random_state=0).fit(X, frame["y"].to_numpy())
    expected = {"decision": model.predict(X), "probability": model.predict_proba(X)[:, 1],
                "group": model.assign_groups(X)}
    return model, {"features": ["x0", "x1", "x2"]}, expected


def _steering(cls, **params):
    def build(frame):
        X = frame[["x0", "x1", "x2"]].to_numpy()
        sf = frame[["race"]]
        if cls.__name__ == "GaussianSteering":
            model = cls(**params).fit(X, frame["y"].to_numpy(), sensitive_features=sf)
        else:
            model = cls(**params).fit(X, sensitive_features=sf)
        expected = {"features": model.transform(X, sensitive_features=sf) if cls.__name__ != "LEACE" else
                    model.transform(X)}
        return model, {"features": ["x0", "x1", "x2"]}, expected

    return build


def _kinds():
    from fairfast.steering import LEACE, GaussianSteering, MeanCovarianceMatching, MeanMatching

    return {"WassersteinBarycenter": _barycenter, "GroupThresholds": _thresholds, "DAFHClassifier": _dafh,
            "GaussianSteering": _steering(GaussianSteering, covariance="shared"),
            "MeanMatching": _steering(MeanMatching), "MeanCovarianceMatching": _steering(MeanCovarianceMatching),
            "LEACE": _steering(LEACE)}


KINDS = _kinds()


@pytest.fixture(scope="module", params=sorted(KINDS))
def served(request, frame):
    return request.param, *KINDS[request.param](frame)


def _column(name, j, columns, spec):
    out = spec.output(name)
    return f"{columns[spec.inputs][j]}_fair" if out.per_input else name


def _check(table, expected, columns, spec, rows=None):
    for name, values in expected.items():
        values = np.asarray(values)
        if spec.output(name).per_input:
            values = values.reshape(len(values), -1)
            for j in range(values.shape[1]):
                got = table[_column(name, j, columns, spec)].to_numpy()
                np.testing.assert_array_equal(got, values[:, j] if rows is None else values[rows, j])
        else:
            got = table[name].to_numpy()
            np.testing.assert_array_equal(got, values if rows is None else values[rows])


def test_every_registered_kind_declares_a_serving_contract():
    for name in registered_estimators():
        cls = fairfast.io._registry._resolve(name)
        assert cls._serving is not None, name
        assert {o.name for o in cls._serving.outputs}, name


def test_file_cli_and_batches_equal_in_memory(served, frame, tmp_path):
    name, model, columns, expected = served
    spec = model.serving_spec()
    assert spec.estimator == name
    data = tmp_path / "in.parquet"
    pq.write_table(pa.Table.from_pandas(frame, preserve_index=False), data, row_group_size=500)
    save(model, tmp_path / "m.ffm", metadata={"columns": {"inputs": columns[spec.inputs],
                                                          "sensitive": list(spec.sensitive_names or [])}})
    for batch in (1, 97, 1000, N):
        out = tmp_path / f"out{batch}.parquet"
        summary = transform_file(tmp_path / "m.ffm", data, out, batch_size=batch)
        assert summary == (N, N, 0)
        _check(pq.read_table(out), expected, columns, spec)
    assert main(["transform", "--model", str(tmp_path / "m.ffm"), "--data", str(data), "--out",
                 str(tmp_path / "cli.csv"), "--batch-size", "333"]) == 0
    import pyarrow.csv as pacsv

    _check(pacsv.read_csv(tmp_path / "cli.csv"), expected, columns, spec)


def test_dask_partitionings_equal_in_memory(served, frame):
    dd = pytest.importorskip("dask.dataframe")
    import dask

    name, model, columns, expected = served
    spec = model.serving_spec()
    kw = {spec.inputs: columns[spec.inputs]}
    for parts in (1, 3, 7):
        ddf = dd.from_pandas(frame, npartitions=parts)
        with dask.config.set(scheduler="sync"):
            result = fairfast.dask.transform(model, ddf, **kw).compute()
        _check(result, expected, columns, spec)


def test_invalid_rows_pass_through_or_go_to_quarantine(served, frame, tmp_path):
    name, model, columns, expected = served
    spec = model.serving_spec()
    bad = frame.copy()
    bad.loc[5, columns[spec.inputs][0]] = np.nan
    if spec.sensitive:
        bad["race"] = bad["race"].astype(object)
        bad.loc[9, "race"] = "unseen"
    data = tmp_path / "in.parquet"
    pq.write_table(pa.Table.from_pandas(bad, preserve_index=False), data)
    kw = {spec.inputs: columns[spec.inputs]}
    with pytest.raises(ValueError, match="rows 0 to 99"):
        transform_file(model, data, tmp_path / "o.parquet", batch_size=100, **kw)
    assert not (tmp_path / "o.parquet").exists()
    invalid = [5, 9] if spec.sensitive else [5]
    valid = np.setdiff1d(np.arange(N), invalid)
    summary = transform_file(model, data, tmp_path / "p.parquet", batch_size=100, on_invalid="passthrough", **kw)
    assert summary == (N, N, len(invalid))
    table = pq.read_table(tmp_path / "p.parquet")
    for out in spec.outputs:
        col = table[_column(out.name, 0, columns, spec)]
        assert col.null_count == len(invalid)
    _check(table.take(valid), expected, columns, spec, rows=valid)
    summary = transform_file(model, data, tmp_path / "q.parquet", batch_size=100, on_invalid="quarantine",
                             quarantine=tmp_path / "bad.parquet", **kw)
    assert summary == (N, N - len(invalid), len(invalid))
    assert pq.read_table(tmp_path / "bad.parquet")["id"].to_pylist() == invalid
    _check(pq.read_table(tmp_path / "q.parquet"), expected, columns, spec, rows=valid)


def test_a_model_that_cannot_serve_the_file_fails_before_any_output(served, frame, tmp_path):
    name, model, columns, expected = served
    spec = model.serving_spec()
    data = tmp_path / "in.parquet"
    pq.write_table(pa.Table.from_pandas(frame.drop(columns=[columns[spec.inputs][0]]), preserve_index=False), data)
    with pytest.raises(ValueError, match=f"has no column '{columns[spec.inputs][0]}'"):
        transform_file(model, data, tmp_path / "o.parquet", **{spec.inputs: columns[spec.inputs]})
    wrong = "features" if spec.inputs == "scores" else "scores"
    with pytest.raises(ValueError, match=f"{name} reads {spec.inputs} columns, not {wrong}"):
        transform_file(model, data, tmp_path / "o.parquet", **{wrong: ["x0"]})
    assert not (tmp_path / "o.parquet").exists()


def test_fit_file_fits_every_kind_like_in_memory(frame, tmp_path):
    from fairfast.dafh import DAFHClassifier
    from fairfast.postprocessing import GroupThresholds

    data = tmp_path / "in.parquet"
    pq.write_table(pa.Table.from_pandas(frame, preserve_index=False), data)
    thr = fit_file(data, estimator=GroupThresholds(random_state=1), scores="score", sensitive_features="race",
                   labels="y", out=tmp_path / "t.ffm")
    direct = GroupThresholds(random_state=1).fit(frame["score"].to_numpy(), frame["y"].to_numpy(),
                                                 sensitive_features=frame[["race"]])
    np.testing.assert_array_equal(thr.thresholds_, direct.thresholds_)
    dafh = fit_file(data, estimator=DAFHClassifier(max_epochs=2, random_state=0), features="x0,x1,x2", labels="y")
    direct = DAFHClassifier(max_epochs=2, random_state=0).fit(frame[["x0", "x1", "x2"]].to_numpy(),
                                                              frame["y"].to_numpy())
    np.testing.assert_array_equal(dafh.predict(frame[["x0", "x1", "x2"]].to_numpy()),
                                  direct.predict(frame[["x0", "x1", "x2"]].to_numpy()))
    with pytest.raises(ValueError, match="labels is required: GroupThresholds is fitted on labels"):
        fit_file(data, estimator=GroupThresholds(), scores="score", sensitive_features="race")
    with pytest.raises(ValueError, match="DAFHClassifier takes no sensitive features"):
        fit_file(data, estimator=DAFHClassifier(), features="x0", sensitive_features="race", labels="y")
    assert main(["fit", "--data", str(data), "--estimator", "GroupThresholds", "--scores", "score",
                 "--sensitive", "race", "--label", "y", "--param", "constraint=demographic_parity",
                 "--out", str(tmp_path / "cli.ffm")]) == 0
    assert fairfast.load(tmp_path / "cli.ffm").constraint == "demographic_parity"


def test_label_aware_steering_reads_the_label_column(frame, tmp_path):
    from fairfast.steering import GaussianSteering

    X = frame[["x0", "x1", "x2"]].to_numpy()
    model = GaussianSteering(covariance="shared").fit(X, frame["y"].to_numpy(), sensitive_features=frame[["race"]])
    data = tmp_path / "in.parquet"
    pq.write_table(pa.Table.from_pandas(frame, preserve_index=False), data)
    transform_file(model, data, tmp_path / "o.parquet", features="x0,x1,x2", labels="y", batch_size=300)
    expected = model.transform(X, frame["y"].to_numpy(), sensitive_features=frame[["race"]])
    out = pq.read_table(tmp_path / "o.parquet")
    for j in range(3):
        np.testing.assert_array_equal(out[f"x{j}_fair"].to_numpy(), expected[:, j])
    from fairfast.steering import MeanMatching

    mm = MeanMatching().fit(X, sensitive_features=frame[["race"]])
    with pytest.raises(ValueError, match="MeanMatching takes no labels when served; drop labels"):
        transform_file(mm, data, tmp_path / "p.parquet", features="x0,x1,x2", labels="y")
