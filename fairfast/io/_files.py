"""Reading Parquet/CSV inputs in record batches and writing outputs (pyarrow).

One ``pyarrow.parquet.ParquetFile`` and ``iter_batches`` (only the needed columns), or
pyarrow's streaming CSV reader; memory is bounded by the batch size (and the Parquet
row-group size), not by the file size.
"""

import csv
import os

import numpy as np

DEFAULT_BATCH_SIZE = 1 << 20
_PARQUET = (".parquet", ".pq", ".parq")
_CSV = (".csv",)


def file_type(path, what):
    name = os.fspath(path).lower()
    for kind, extensions in (("parquet", _PARQUET), ("csv", _CSV)):
        if name.endswith(extensions):
            return kind
    ext = os.path.splitext(name)[1] or "(none)"
    raise ValueError(
        f"unsupported file type {ext!r} for {what} {os.fspath(path)!r}; expected Parquet "
        f"({', '.join(_PARQUET)}) or CSV (.csv)"
    )


def column_list(columns, name):
    if columns is None:
        raise ValueError(f"{name} is required: the name(s) of the column(s) to use")
    if isinstance(columns, str):
        columns = columns.split(",")
    columns = [c.strip() if isinstance(c, str) else c for c in columns]
    if not columns or not all(isinstance(c, str) and c for c in columns):
        raise ValueError(f"{name} must be a column name or a list of column names, got {columns!r}")
    if len(set(columns)) != len(columns):
        raise ValueError(f"{name} names a column twice: {columns}")
    return columns


def check_batch_size(batch_size):
    if isinstance(batch_size, bool) or not isinstance(batch_size, (int, np.integer)) or not 1 <= batch_size < 2**63:
        raise ValueError(f"batch_size must be a positive int below 2**63, got {batch_size!r}")
    return int(batch_size)


def check_present(names, wanted, path, option=None):
    """Every column of `wanted` is in `names`, or a ValueError naming the missing ones
    (and the option that named them)."""
    missing = [c for c in wanted if c not in names]
    if missing:
        shown = ", ".join(repr(c) for c in missing)
        given = f" (named by {option})" if option else ""
        raise ValueError(
            f"{os.fspath(path)!r} has no column {shown}{given}; its columns are {list(names)[:20]}"
            + (f" and {len(names) - 20} more" if len(names) > 20 else "")
        )


# -- reading -------------------------------------------------------------------------------


class Reader:
    """Record batches of an input file, with its schema and (when known) row count."""

    def __init__(self, path, batch_size, columns=None, column_types=None, string_columns=False):
        import pyarrow as pa

        self.path = path
        self.kind = file_type(path, "input")
        self.batch_size = batch_size
        if not os.path.exists(path):
            raise FileNotFoundError(f"input file {os.fspath(path)!r} does not exist")
        if self.kind == "parquet":
            import pyarrow.parquet as pq

            try:
                # pre_buffer=False: pyarrow's pre-buffering keeps the column chunks it has
                # read cached until the file is closed, so memory grows with the file
                self._file = pq.ParquetFile(path, pre_buffer=False)
            except (pa.ArrowInvalid, OSError) as exc:
                raise ValueError(f"cannot read {os.fspath(path)!r} as Parquet: {exc}") from None
            self.names = self._file.schema_arrow.names
            self.total = self._file.metadata.num_rows
        else:
            with open(path, newline="", encoding="utf-8") as f:
                header_line = f.readline()
            header = next(csv.reader([header_line]), [])
            if not header:
                raise ValueError(f"{os.fspath(path)!r} is empty: a CSV input needs a header line")
            self.names = header
            self.total = None
            self._row_bytes = max(16, len(header_line.encode("utf-8")))
        if columns is not None:
            check_present(self.names, columns, path)
        self.columns = columns
        self._positions = {c: i for i, c in enumerate(columns if columns is not None else self.names)}
        self.column_types = column_types or {}
        self.string_columns = string_columns

    def index(self, name):
        """Position of column `name` in the batches."""
        return self._positions[name]

    def schema(self):
        if self.kind == "parquet":
            import pyarrow as pa

            schema = self._file.schema_arrow
            if self.columns is not None:
                schema = pa.schema([schema.field(c) for c in self.columns], schema.metadata)
            return schema
        return None  # known from the first batch

    def batches(self):
        if self.kind == "parquet":
            yield from self._file.iter_batches(batch_size=self.batch_size, columns=self.columns)
            return
        import pyarrow as pa
        import pyarrow.csv as pacsv

        types = dict(self.column_types)
        if self.string_columns:
            for c in self.names:
                types.setdefault(c, pa.string())
        # pyarrow's CSV blocks are in bytes: aim at batch_size rows (rows about as long as
        # the header), at least 1 MiB so that long rows still fit in a block
        block = int(min(1 << 28, max(1 << 20, self.batch_size * self._row_bytes)))
        try:
            reader = pacsv.open_csv(
                self.path,
                read_options=pacsv.ReadOptions(block_size=block),
                convert_options=pacsv.ConvertOptions(column_types=types, include_columns=self.columns),
            )
        except pa.ArrowInvalid as exc:
            raise ValueError(f"cannot read {os.fspath(self.path)!r} as CSV: {exc}") from None
        self.csv_schema = reader.schema
        with reader:
            while True:
                try:
                    batch = reader.read_next_batch()
                except StopIteration:
                    return
                except pa.ArrowInvalid as exc:
                    raise ValueError(f"cannot read {os.fspath(self.path)!r} as CSV: {exc}") from None
                for start in range(0, batch.num_rows, self.batch_size):
                    yield batch.slice(start, self.batch_size)

    def close(self):
        if self.kind == "parquet":
            self._file.close()



# -- writing ------------------------------------------------------------------------------


def output_schema(input_schema, arrays, names):
    import pyarrow as pa

    fields = []
    for name, array in zip(names, arrays):
        i = input_schema.get_field_index(name)
        if i >= 0 and input_schema.field(i).type == array.type:
            fields.append(input_schema.field(i))
        else:
            fields.append(pa.field(name, array.type))
    return pa.schema(fields, input_schema.metadata)


class CSVWriter:
    def __init__(self, path, schema):
        import pyarrow.csv as pacsv

        self.schema = schema
        self._writer = pacsv.CSVWriter(path, schema, write_options=pacsv.WriteOptions(quoting_style="needed"))

    def write_batch(self, batch):
        self._writer.write_batch(batch)

    def close(self):
        self._writer.close()


def parquet_writer(path, schema, written=()):
    """A ``ParquetWriter`` with pyarrow's defaults, except no dictionary encoding for the
    `written` (transformed score) columns: continuous scores rarely repeat, and trying a
    dictionary first costs more than the transform itself."""
    import pyarrow.parquet as pq

    dictionary = [name for name in schema.names if name not in set(written)]
    return pq.ParquetWriter(path, schema, use_dictionary=dictionary)


def open_writer(kind, path, schema, written=()):
    if kind == "parquet":
        return parquet_writer(path, schema, written)
    return CSVWriter(path, schema)


