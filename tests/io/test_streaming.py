"""Streamed Parquet/CSV transform and fit: batch-size invariance, pass-through, atomicity."""

import io
import os

import numpy as np
import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq
import pytest

from fairfast.io import fit_file, load, read_model, save, transform_file
from fairfast.io import _streaming
from fairfast.postprocessing import WassersteinBarycenter

N = 3000


@pytest.fixture(scope="module")
def table():
    rng = np.random.default_rng(1)
    s = rng.integers(0, 3, N).astype(np.int32)
    z = rng.normal(size=N) + 0.5 * s
    z[:100] = np.round(z[:100], 1)  # ties
    return pa.table({
        "id": pa.array(np.arange(N, dtype=np.int64)),
        "score": z,
        "group": s,
        "region": pa.array(np.array(["north", "south, east", 'say "hi"'], dtype=object)[rng.integers(0, 3, N)]),
        "other": pa.array([None if i % 7 == 0 else i * 0.5 for i in range(N)], type=pa.float64()),
        "ts": pa.array(np.arange(N).astype("datetime64[s]")),
    })


@pytest.fixture(scope="module")
def model(table):
    z = table["score"].to_numpy()
    s = table["group"].to_numpy()
    return WassersteinBarycenter(random_state=7, epsilon=0.1).fit(z, sensitive_features=s)


@pytest.fixture
def parquet(tmp_path, table):
    path = tmp_path / "in.parquet"
    pq.write_table(table, path, row_group_size=1000)
    return path


@pytest.fixture
def csv(tmp_path, table):
    path = tmp_path / "in.csv"
    pacsv.write_csv(table.drop_columns(["ts"]), path)
    return path


def _expected(model, table):
    return model.transform(table["score"].to_numpy(), sensitive_features=table["group"].to_numpy())


@pytest.mark.parametrize("batch_size", [1, 7, 999, 1000, 1001, N, 10 * N])
def test_parquet_output_equals_in_memory_transform(tmp_path, parquet, table, model, batch_size):
    out = tmp_path / "out.parquet"
    if batch_size == 1:
        small = tmp_path / "small.parquet"
        pq.write_table(table.slice(0, 200), small)
        parquet, table = small, table.slice(0, 200)
    summary = transform_file(model, parquet, out, scores="score", sensitive_features="group", batch_size=batch_size)
    assert summary == (table.num_rows, table.num_rows, 0)
    result = pq.read_table(out)
    assert result.column_names == table.column_names + ["score_fair"]
    assert result.drop_columns(["score_fair"]).equals(pq.read_table(parquet))  # other columns unchanged
    assert result["score_fair"].type == pa.float64()
    assert result["score_fair"].to_numpy().tobytes() == _expected(model, table).tobytes()
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted({"in.parquet", "out.parquet", parquet.name})


def test_in_place_and_model_file_columns(tmp_path, parquet, table, model):
    save(model, tmp_path / "m.ffm", metadata={"columns": {"scores": ["score"], "sensitive": ["group"]}})
    out = tmp_path / "out.parquet"
    transform_file(tmp_path / "m.ffm", parquet, out, batch_size=500, in_place=True)
    result = pq.read_table(out)
    assert result.column_names == table.column_names
    assert result.drop_columns(["score"]).equals(pq.read_table(parquet).drop_columns(["score"]))
    np.testing.assert_array_equal(result["score"].to_numpy(), _expected(model, table))


def test_output_never_replaces_the_input(tmp_path, parquet, model):
    before = parquet.read_bytes()
    (tmp_path / "link.parquet").symlink_to(parquet)
    for out in (parquet, tmp_path / "." / "in.parquet", tmp_path / "link.parquet"):
        with pytest.raises(ValueError, match=r"output .* is the input file; write to another path"):
            transform_file(model, parquet, out, scores="score", sensitive_features="group", in_place=True)
    assert parquet.read_bytes() == before


@pytest.mark.parametrize("batch_size", [13, 1000, 10 * N])
def test_csv_output_equals_in_memory_transform(tmp_path, csv, table, model, batch_size):
    out = tmp_path / "out.csv"
    transform_file(model, csv, out, scores="score", sensitive_features="group", batch_size=batch_size)
    result = pacsv.read_csv(out)
    np.testing.assert_array_equal(result["score_fair"].to_numpy(), _expected(model, table))
    original = pacsv.read_csv(csv)
    for name in original.column_names:  # pass-through columns read back the same
        assert result[name].equals(original[name]), name
    # CSV -> Parquet works too; text columns stay text
    transform_file(model, csv, tmp_path / "out.parquet", scores="score", sensitive_features="group", batch_size=batch_size)
    back = pq.read_table(tmp_path / "out.parquet")
    np.testing.assert_array_equal(back["score_fair"].to_numpy(), _expected(model, table))
    assert back["region"].to_pylist() == table["region"].to_pylist()


def test_csv_sensitive_column_read_with_the_fitted_label_type(tmp_path, table):
    # labels fitted as strings "1", "2": a CSV column of digits must not be read as integers
    z = table["score"].to_numpy()
    s = table["group"].to_numpy().astype(str)
    model = WassersteinBarycenter(random_state=0).fit(z, sensitive_features=s)
    pacsv.write_csv(pa.table({"score": z, "g": s}), tmp_path / "in.csv")
    transform_file(model, tmp_path / "in.csv", tmp_path / "out.csv", scores="score", sensitive_features="g", batch_size=999)
    got = pacsv.read_csv(tmp_path / "out.csv")["score_fair"].to_numpy()
    np.testing.assert_array_equal(got, model.transform(z, sensitive_features=s))


def test_several_sensitive_columns(tmp_path, parquet, table):
    import pandas as pd

    sf = pd.DataFrame({"group": table["group"].to_numpy(), "region": table["region"].to_numpy()})
    z = table["score"].to_numpy()
    model = fit_file(parquet, scores="score", sensitive_features=["group", "region"],
                     estimator=WassersteinBarycenter(random_state=3), batch_size=777, out=tmp_path / "m.ffm")
    direct = WassersteinBarycenter(random_state=3).fit(z, sensitive_features=sf)
    assert model.groups_ == direct.groups_
    expected = direct.transform(z, sensitive_features=sf)
    transform_file(tmp_path / "m.ffm", parquet, tmp_path / "out.parquet", batch_size=321)
    np.testing.assert_array_equal(pq.read_table(tmp_path / "out.parquet")["score_fair"].to_numpy(), expected)


def test_several_score_columns(tmp_path, table):
    rng = np.random.default_rng(0)
    z = np.column_stack([table["score"].to_numpy(), rng.normal(size=N)])
    s = table["group"].to_numpy()
    try:
        direct = WassersteinBarycenter(random_state=2).fit(z, sensitive_features=s)
    except ValueError as exc:  # estimators without multi-task support
        pytest.skip(f"multi-task scores not supported by this estimator: {exc}")
    pq.write_table(pa.table({"a": z[:, 0], "b": z[:, 1], "g": s}), tmp_path / "in.parquet")
    model = fit_file(tmp_path / "in.parquet", scores="a,b", sensitive_features="g",
                     estimator=WassersteinBarycenter(random_state=2), out=tmp_path / "m.ffm", batch_size=500)
    expected = direct.transform(z, sensitive_features=s)
    np.testing.assert_array_equal(model.transform(z, sensitive_features=s), expected)
    transform_file(tmp_path / "m.ffm", tmp_path / "in.parquet", tmp_path / "out.parquet", batch_size=401)
    result = pq.read_table(tmp_path / "out.parquet")
    assert result.column_names == ["a", "b", "g", "a_fair", "b_fair"]
    np.testing.assert_array_equal(result["a_fair"].to_numpy(), expected[:, 0])
    np.testing.assert_array_equal(result["b_fair"].to_numpy(), expected[:, 1])


# -- fit_file ---------------------------------------------------------------------------------


@pytest.mark.parametrize("fmt", ["parquet", "csv"])
def test_fit_file_equals_in_memory_fit(tmp_path, parquet, csv, table, fmt):
    path = parquet if fmt == "parquet" else csv
    model = fit_file(path, scores="score", sensitive_features="group", estimator=WassersteinBarycenter(random_state=5),
                     batch_size=333, out=tmp_path / "m.ffm")
    direct = WassersteinBarycenter(random_state=5).fit(
        table["score"].to_numpy(), sensitive_features={"group": table["group"].to_numpy()}
    )
    meta_a, arrays_a = model._get_state()
    meta_b, arrays_b = direct._get_state()
    assert meta_a == meta_b
    for key in arrays_a:
        assert arrays_a[key].tobytes() == arrays_b[key].tobytes(), key
    loaded, info = read_model(tmp_path / "m.ffm")
    assert info["metadata"]["columns"] == {"inputs": ["score"], "input_kind": "scores", "scores": ["score"],
                                           "sensitive": ["group"], "labels": None}
    assert info["metadata"]["fit_rows"] == N


def test_fit_file_reads_only_the_needed_columns(parquet, monkeypatch):
    seen = []
    original = pq.ParquetFile.iter_batches

    def spy(self, *args, **kwargs):
        seen.append(kwargs.get("columns"))
        return original(self, *args, **kwargs)

    monkeypatch.setattr(pq.ParquetFile, "iter_batches", spy)
    fit_file(parquet, scores="score", sensitive_features="group")
    assert seen == [["score", "group"]]


def test_fit_file_with_weights(tmp_path, table):
    z = table["score"].to_numpy()
    s = table["group"].to_numpy()
    w = np.random.default_rng(0).uniform(0.5, 2.0, N)
    pq.write_table(pa.table({"z": z, "s": s, "w": w}), tmp_path / "c.parquet")
    model = fit_file(tmp_path / "c.parquet", scores="z", sensitive_features="s", sample_weight="w",
                     estimator=WassersteinBarycenter(random_state=1))
    direct = WassersteinBarycenter(random_state=1).fit(z, sensitive_features=s, sample_weight=w)
    np.testing.assert_array_equal(model.transform(z, sensitive_features=s), direct.transform(z, sensitive_features=s))


# -- atomicity ------------------------------------------------------------------------------------


class _Failing:
    """Wraps a model; raises `error` on the `fail_at`-th batch it serves."""

    def __init__(self, model, fail_at, error):
        self.model, self.fail_at, self.error, self.calls = model, fail_at, error, 0
        self.grouping_ = model.grouping_

    def serving_spec(self):
        return self.model.serving_spec()

    def serve(self, *args, **kwargs):
        self.calls += 1
        if self.calls == self.fail_at:
            raise self.error
        return self.model.serve(*args, **kwargs)


@pytest.mark.parametrize("error", [RuntimeError("disk on fire"), KeyboardInterrupt()])
@pytest.mark.parametrize("fmt", ["parquet", "csv"])
def test_interrupted_job_leaves_no_partial_output(tmp_path, parquet, csv, model, error, fmt):
    path = parquet if fmt == "parquet" else csv
    out = tmp_path / f"out.{fmt}"
    failing = _Failing(model, fail_at=3, error=error)
    with pytest.raises(type(error)):
        transform_file(failing, path, out, scores="score", sensitive_features="group", batch_size=500)
    assert failing.calls == 3  # failed mid-stream, after two batches were written
    assert not out.exists()
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]
    # an existing output is left untouched
    out.write_bytes(b"previous")
    with pytest.raises(type(error)):
        transform_file(_Failing(model, 2, error), path, out, scores="score", sensitive_features="group", batch_size=500)
    assert out.read_bytes() == b"previous"
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]


# -- errors ---------------------------------------------------------------------------------------


def test_missing_column_is_named(tmp_path, parquet, csv, model):
    for path in (parquet, csv):
        with pytest.raises(ValueError, match=r"has no column 'grp' \(named by sensitive_features\); its columns are \['id', 'score'"):
            transform_file(model, path, tmp_path / "o.parquet", scores="score", sensitive_features="grp")
        with pytest.raises(ValueError, match="has no column 'x', 'y'"):
            fit_file(path, scores="x", sensitive_features="y")
    assert not (tmp_path / "o.parquet").exists()


def test_unsupported_file_types(tmp_path, parquet, model):
    with pytest.raises(ValueError, match=r"unsupported file type '.json' for input"):
        transform_file(model, tmp_path / "in.json", tmp_path / "o.csv", scores="score", sensitive_features="group")
    with pytest.raises(ValueError, match=r"unsupported file type '.xlsx' for output"):
        transform_file(model, parquet, tmp_path / "o.xlsx", scores="score", sensitive_features="group")
    with pytest.raises(ValueError, match=r"unsupported file type '\(none\)' for input"):
        fit_file(tmp_path / "data", scores="score", sensitive_features="group")


def test_unreadable_inputs(tmp_path, model):
    bad = tmp_path / "bad.parquet"
    bad.write_bytes(b"definitely not parquet")
    with pytest.raises(ValueError, match="cannot read .*bad.parquet' as Parquet"):
        transform_file(model, bad, tmp_path / "o.parquet", scores="score", sensitive_features="group")
    with pytest.raises(FileNotFoundError, match="input file .*nope.parquet' does not exist"):
        transform_file(model, tmp_path / "nope.parquet", tmp_path / "o.parquet", scores="score", sensitive_features="group")
    (tmp_path / "empty.csv").write_text("")
    with pytest.raises(ValueError, match="is empty"):
        fit_file(tmp_path / "empty.csv", scores="score", sensitive_features="group")


def test_unreadable_model_file(tmp_path, parquet):
    (tmp_path / "m.ffm").write_bytes(b"garbage")
    with pytest.raises(ValueError, match="not a valid fairfast model file"):
        transform_file(tmp_path / "m.ffm", parquet, tmp_path / "o.parquet")
    with pytest.raises(ValueError, match="cannot read model file .*missing.ffm': no such file"):
        transform_file(tmp_path / "missing.ffm", parquet, tmp_path / "o.parquet")


def test_model_without_recorded_columns(tmp_path, parquet, model):
    save(model, tmp_path / "m.ffm")
    with pytest.raises(ValueError, match="scores is required: the model file does not record the scores columns"):
        transform_file(tmp_path / "m.ffm", parquet, tmp_path / "o.parquet")
    with pytest.raises(ValueError, match="scores is required: the model file does not record the scores columns"):
        transform_file(model, parquet, tmp_path / "o.parquet")


def test_bad_values_name_the_rows(tmp_path, table, model):
    z = table["score"].to_numpy().copy()
    z[1234] = np.nan
    pq.write_table(pa.table({"score": z, "group": table["group"]}), tmp_path / "in.parquet")
    with pytest.raises(ValueError, match="rows 1000 to 1499: .*finite"):
        transform_file(model, tmp_path / "in.parquet", tmp_path / "o.parquet", scores="score", sensitive_features="group",
                       batch_size=500)
    s = table["group"].to_numpy().copy()
    s[2] = 9
    pq.write_table(pa.table({"score": table["score"], "group": s}), tmp_path / "in.parquet")
    with pytest.raises(ValueError, match="rows 0 to 499: .*not seen at fit time: 9"):
        transform_file(model, tmp_path / "in.parquet", tmp_path / "o.parquet", scores="score", sensitive_features="group",
                       batch_size=500)
    assert not (tmp_path / "o.parquet").exists()


def test_argument_checks(tmp_path, parquet, model):
    kw = {"scores": "score", "sensitive_features": "group"}
    with pytest.raises(ValueError, match="batch_size must be a positive int"):
        transform_file(model, parquet, tmp_path / "o.parquet", batch_size=0, **kw)
    with pytest.raises(ValueError, match="suffix must be a non-empty string"):
        transform_file(model, parquet, tmp_path / "o.parquet", suffix="", **kw)
    pq.write_table(pa.table({"score": [0.5], "group": [1], "score_fair": [0.1]}), tmp_path / "done.parquet")
    with pytest.raises(ValueError, match=r"already has column\(s\) \['score_fair'\]"):
        transform_file(model, tmp_path / "done.parquet", tmp_path / "o.parquet", **kw)
    with pytest.raises(ValueError, match="names a column twice"):
        fit_file(parquet, scores="score,score", sensitive_features="group")
    with pytest.raises(ValueError, match="sensitive_features is required"):
        fit_file(parquet, scores="score", sensitive_features=None)
    with pytest.raises(FileNotFoundError, match="output directory"):
        transform_file(model, parquet, tmp_path / "no" / "o.parquet", **kw)


def test_empty_input_gives_an_empty_valid_output(tmp_path, table, model):
    pq.write_table(table.slice(0, 0), tmp_path / "in.parquet")
    assert transform_file(model, tmp_path / "in.parquet", tmp_path / "o.parquet", scores="score",
                          sensitive_features="group") == (0, 0, 0)
    result = pq.read_table(tmp_path / "o.parquet")
    assert result.num_rows == 0 and result.column_names[-1] == "score_fair"


# -- progress ---------------------------------------------------------------------------------


def test_progress_bar(tmp_path, parquet, model, capsys):
    kw = {"scores": "score", "sensitive_features": "group", "batch_size": 500}
    transform_file(model, parquet, tmp_path / "o.parquet", **kw)  # stderr is not a terminal: silent
    assert capsys.readouterr().err == ""
    transform_file(model, parquet, tmp_path / "o.parquet", progress=True, **kw)
    err = capsys.readouterr().err
    assert "fairfast transform (WassersteinBarycenter)" in err and "100%" in err and "3.00k/3.00k" in err
    assert err.count("100%") == 1 and err.endswith("\n")
    transform_file(model, parquet, tmp_path / "o.parquet", progress=False, **kw)
    assert capsys.readouterr().err == ""


def test_fit_progress_covers_reading_fitting_and_writing(tmp_path, parquet, capsys):
    fit_file(parquet, scores="score", sensitive_features="group", out=tmp_path / "m.ffm", progress=True)
    err = capsys.readouterr().err
    assert "fairfast fit: reading in.parquet" in err
    assert "fitting WassersteinBarycenter on 3,000 rows: done in" in err
    assert f"writing {tmp_path / 'm.ffm'}: done in" in err


def test_loaded_model_transforms_files_like_the_original(tmp_path, parquet, model, table):
    save(model, tmp_path / "m.ffm")
    transform_file(load(tmp_path / "m.ffm"), parquet, tmp_path / "o.parquet", scores="score", sensitive_features="group")
    np.testing.assert_array_equal(pq.read_table(tmp_path / "o.parquet")["score_fair"].to_numpy(),
                                  _expected(model, table))
    assert os.path.getsize(tmp_path / "o.parquet") > 0
