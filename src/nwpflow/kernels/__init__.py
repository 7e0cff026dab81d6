"""numba kernels: plain arrays in, arrays out (passed in last), SI units; no xarray, no I/O.

Each submodule is loaded when first used, as an attribute of this package (``kernels.thermo``, PEP 562),
so that the product registry can be imported without numba (Snakemake's parse, ``nwpflow products``).
Every kernel module defines its functions with the decorators of :mod:`nwpflow.kernels._jit`, which
makes numba's on-disk cache safe for concurrent jobs (:mod:`nwpflow.kernels._cache`) before any kernel
is compiled or loaded.
"""

from __future__ import annotations

import importlib

MODULES = ("brn", "convection", "hybrid", "indices", "kinematics", "layers", "power", "pv", "stagger", "stats", "thermo",
           "vertical", "wetbulb", "wind")
"""The kernel modules."""


def __getattr__(name: str):
    if name in MODULES:
        return importlib.import_module(f"nwpflow.kernels.{name}")
    raise AttributeError(f"module 'nwpflow.kernels' has no attribute {name!r}")


__all__ = list(MODULES)
