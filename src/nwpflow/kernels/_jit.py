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

from nwpflow.kernels import _cache

_cache.install()  # before any kernel is defined, compiled or loaded

BLOCK_COLUMNS = 512
"""Columns one ``prange`` iteration handles. The partition of the columns into blocks is fixed, so each
column sees the same instruction sequence (vector body or remainder loop) for any number of threads,
and results are bit-identical for any thread count."""

kernel = numba.njit(parallel=True, cache=True, error_model="numpy", nogil=True)
"""Decorator of a parallel kernel (the outermost loop is a ``numba.prange`` over column blocks)."""

inline = numba.njit(cache=True, error_model="numpy", nogil=True, inline="always")
"""Decorator of a scalar helper inlined into kernels."""

function = numba.njit(cache=True, error_model="numpy", nogil=True)
"""Decorator of a helper compiled once and called: the settings of :data:`inline` without
``inline="always"``.

numba inlines an ``inline`` helper at the numba-IR level, so every call site type-infers and compiles
another copy of its body; for a helper called at many sites, or a kernel built from many helpers, that
dominates the compile time. A ``function`` is compiled once and called (LLVM may still inline it):

* :func:`~nwpflow.kernels.thermo.vexp` and :func:`~nwpflow.kernels.thermo.vlog` are inlined by LLVM
  into the kernels' loops, which vectorise as before (same speed, measured), but numba no longer
  type-infers a copy of their bodies at each of the up to ten call sites of a loop: the first
  compilation of the THETA_E kernel takes 3.5 s instead of 25 s (RELHUM 3 s instead of 13 s).
* :mod:`~nwpflow.kernels.convection`: inlining every helper into one kernel made a kernel of several
  thousand statements that took over 7 CPU minutes to compile; the kernel's ``prange`` body is instead
  one call of ``_block``, which calls one function per stage of the ascent."""
