# Type stubs of the compiled module fairfast._core (csrc/bindings/*.cpp).
#
# Arrays are C-contiguous and of the exact dtype named (the bindings take them with
# noconvert: a wrong dtype or a strided view raises TypeError instead of being copied).
# "Float" arrays are float64 or float32, one overload each; group codes are int32.
# tests/test_core_stub.py checks that every name bound has a stub and vice versa.

import enum
from typing import Any, overload

import numpy as np
from numpy.typing import NDArray

_F64 = NDArray[np.float64]
_F32 = NDArray[np.float32]
_Float = NDArray[np.float64] | NDArray[np.float32]
_I32 = NDArray[np.int32]
_I64 = NDArray[np.int64]
_U32 = NDArray[np.uint32]
_U64 = NDArray[np.uint64]

# -- module root: threads, build information, row status ----------------------------

class Status(enum.Enum):
    """What a kernel found wrong with a row (returned with the row's position)."""

    ok = 0
    group_out_of_range = 1
    bad_value = 2

def set_num_threads(n: int, /) -> None: ...
def get_num_threads() -> int: ...
def get_thread_setting() -> int: ...
def build_info() -> dict[str, Any]: ...

# -- sort ---------------------------------------------------------------------------

class _Sort:
    @overload
    def sorted(self, values: _F64, out: _F64 | None = None) -> _F64: ...
    @overload
    def sorted(self, values: _F32, out: _F32 | None = None) -> _F32: ...
    def sort_segments(self, values: _Float, offsets: _I64) -> None: ...

sort: _Sort

# -- transport ------------------------------------------------------------------------

class _Transport:
    def ecdf(self, sorted: _Float, cumw: _F64 | None, queries: _Float, mode: int) -> _F64: ...
    def quantile(self, sorted: _Float, cumw: _F64 | None, q: _F64, mode: int) -> _F64: ...
    def randomized_cdf(self, sorted: _Float, cumw: _F64 | None, queries: _Float, seed: int, row_offset: int) -> _F64: ...
    def wasserstein_pow(self, u: _Float, ucumw: _F64 | None, v: _Float, vcumw: _F64 | None, p: float) -> float: ...
    def ks(self, u: _Float, ucumw: _F64 | None, v: _Float, vcumw: _F64 | None) -> float: ...
    def counter_uniform(self, n: int, seed: int, stream: int, row_offset: int) -> _F64: ...
    def counter_bits(self, n: int, seed: int, stream: int, row_offset: int) -> _U64: ...

transport: _Transport

# -- barycenter -----------------------------------------------------------------------

class _BarycenterStage:
    """A fitted barycenter stage (per task: sorted values, tie keys, table; the group
    offsets), validated once when loaded or fitted; see fairfast/postprocessing/_stage.py."""

    def __init__(self, values: Any, keys: _U64, offsets: _I64, table: _F64, seed: int, jitter: float) -> None: ...
    @staticmethod
    def fit(values: Any, offsets: _I64, columns: list[Any], codes: _I32, rows: list[_U32] | None,
            sample_weight: _F64 | None, group_weights: _F64, blocks: _I64, mode: int, seed: int,
            jitter: float) -> Any: ...
    def transform(self, scores: Any, codes: _I32, epsilon: float, row_offset: int = 0, out: Any = None,
                  task: int = 0, path: int = 0) -> tuple[Any, Status, int]: ...
    def build_lookups(self) -> int: ...
    @property
    def values(self) -> Any: ...
    @property
    def keys(self) -> _U64: ...
    @property
    def table(self) -> _F64: ...
    @property
    def offsets(self) -> _I64: ...
    @property
    def n_tasks(self) -> int: ...
    @property
    def n_groups(self) -> int: ...
    @property
    def n_rows(self) -> int: ...
    @property
    def seed(self) -> int: ...
    @property
    def jitter(self) -> float: ...
    @property
    def dtype(self) -> np.dtype[Any]: ...
    @property
    def lookups_ready(self) -> bool: ...
    @property
    def lookup_bytes(self) -> int: ...
    @property
    def rows_seen(self) -> int: ...

class _BarycenterStage64(_BarycenterStage):
    def transform(self, scores: _F64, codes: _I32, epsilon: float, row_offset: int = 0, out: _F64 | None = None,
                  task: int = 0, path: int = 0) -> tuple[_F64, Status, int]: ...

class _BarycenterStage32(_BarycenterStage):
    def transform(self, scores: _F32, codes: _I32, epsilon: float, row_offset: int = 0, out: _F32 | None = None,
                  task: int = 0, path: int = 0) -> tuple[_F32, Status, int]: ...

class _Barycenter:
    BarycenterStage64: type[_BarycenterStage64]
    BarycenterStage32: type[_BarycenterStage32]
    LOOKUP_ROWS: tuple[int, int]
    LOOKUP_AFTER: int
    def partition(self, scores: _Float, codes: _I32, n_groups: int, seed: int, row_offset: int, jitter: float,
                  with_rows: bool, out: _Float | None = None) -> tuple[_Float, _U32 | None, _I64]: ...
    def tables(self, values: _Float, cumw: _F64 | None, offsets: _I64, group_weights: _F64, mode: int) -> _F64: ...

barycenter: _Barycenter

# -- metrics --------------------------------------------------------------------------

class _Metrics:
    STAT_COUNT_BASE: int
    MAX_N_BINS: int
    def group_sums(self, codes: _I32, n_groups: int, y_true: NDArray[np.uint8] | None,
                   y_pred: NDArray[np.uint8] | None, scores: _Float | None, sample_weight: _F64 | None,
                   n_bins: int) -> _F64: ...
    def index_bootstrap(self, codes: _I32, n_groups: int, y_true: NDArray[np.uint8] | None,
                        y_pred: NDArray[np.uint8] | None, scores: _Float | None, sample_weight: _F64 | None,
                        n_bins: int, n_replicates: int, seed: int) -> _F64: ...
    def multinomial_bootstrap(self, counts: _I64, n_replicates: int, seed: int) -> _I64: ...
    def group_counts_columns(self, columns: list[_I64] | list[_I32], lows: _I64, sizes: _I32, y_true: Any,
                             y_pred: Any, pos_label: int) -> _F64: ...
    def integer_range(self, labels: NDArray[np.integer[Any]]) -> tuple[int, int]: ...
    def combine_codes(self, columns: list[NDArray[np.integer[Any]]], lows: _I64, sizes: _I32, out: _I32) -> None: ...
    def cherry_picking(self, reference_scores: _Float, decisions: _F64, codes: _I32, n_groups: int) -> _F64: ...

metrics: _Metrics

# -- steering -------------------------------------------------------------------------

class _PackedAffine:
    """Per-code affine maps x -> A (x - center) + b packed for the batch-invariant kernel
    (csrc/fairfast/affine_kernel.hpp); made by pack_affine_maps, used by AffineMaps."""

    @property
    def isa(self) -> str: ...
    @property
    def n_codes(self) -> int: ...
    @property
    def d_in(self) -> int: ...
    @property
    def d_out(self) -> int: ...
    @property
    def nbytes(self) -> int: ...

class _PackedAffineFloat64(_PackedAffine):
    def apply(self, X: _F64, codes: _I64 | None, out: _F64, init: _F64 | None = None) -> None: ...

class _PackedAffineFloat32(_PackedAffine):
    def apply(self, X: _F32, codes: _I64 | None, out: _F32, init: _F32 | None = None) -> None: ...

class _Steering:
    PackedAffineFloat64: type[_PackedAffineFloat64]
    PackedAffineFloat32: type[_PackedAffineFloat32]
    def pack_affine_maps(self, matrices: list[_Float], map_index: _I64, offset: _Float | None,
                         center: _Float | None, d_in: int, d_out: int, dtype: str,
                         isa: str = "auto") -> _PackedAffineFloat64 | _PackedAffineFloat32: ...
    def affine_isas(self) -> list[str]: ...
    def sum_squares_by_row(self, R: _F64, out: _F64) -> None: ...

steering: _Steering

# -- thresholds (csrc/bindings/register_thresholds.cpp; stubbed by its owner) ---------

thresholds: Any

# -- grouping: fixed-width label hashing (csrc/bindings/register_grouping.cpp) ---------

class _Grouping:
    def discover_fixed(self, data: NDArray[np.uint8]) -> tuple[_I32, _I64]: ...
    def lookup_fixed(self, keys: NDArray[np.uint8], data: NDArray[np.uint8]) -> _I32: ...

grouping: _Grouping
