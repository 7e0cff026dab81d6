"""The numba settings every nwpflow kernel shares, in one place.

* ``parallel=True``: columns (in fixed-size blocks) are spread over numba's threads.
* ``cache=True``: every Snakemake job is a fresh process; the on-disk cache (``NUMBA_CACHE_DIR``) keeps
  jobs from recompiling. numbagg keeps its cache off because of multiprocessing crashes (numba#4807);
  here the cache is written by one warm-up and only read afterwards (see the pipeline docs).
* ``error_model="numpy"``: IEEE semantics for division (x/0 gives inf or NaN, as numpy does). The
  default ``"python"`` model inserts a zero-division check into every division, which stops LLVM from
  vectorising the loops (measured: 4-10x slower kernels).
* ``fastmath`` stays off: results must not depend on how the compiler reassociates, so that they are
  the same bits on every run.
* ``nogil=True``: kernels can run in threads of a dask bundle.
"""

from __future__ import annotations

import numba

BLOCK_COLUMNS = 512
"""Columns one ``prange`` iteration handles. The partition of the columns into blocks is fixed, so each
column sees the same instruction sequence (vector body or remainder loop) for any number of threads,
and results are bit-identical for any thread count."""

kernel = numba.njit(parallel=True, cache=True, error_model="numpy", nogil=True)
"""Decorator of a parallel kernel (the outermost loop is a ``numba.prange`` over column blocks)."""

inline = numba.njit(cache=True, error_model="numpy", nogil=True, inline="always")
"""Decorator of a scalar helper inlined into kernels."""
