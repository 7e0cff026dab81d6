"""numba kernels. Importing this package makes numba's on-disk cache safe for concurrent jobs
(:mod:`nwpflow.kernels._cache`) before any kernel is compiled or loaded."""

from nwpflow.kernels import _cache

_cache.install()
