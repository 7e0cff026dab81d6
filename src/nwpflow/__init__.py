"""nwpflow: reproducible post-processing of ICON/COSMO-style NWP model output.

The public Python API::

    ds = nwpflow.open_run(["lfff00010000", "lfff00000000c"])
    brn = nwpflow.compute("BRN", ds)

``import nwpflow`` loads nothing heavy: each name below imports its module when first used (PEP 562),
so that Snakemake's parse of the workflow and a job load only what they use.
"""

from __future__ import annotations

import importlib

from nwpflow.errors import InputError, NwpflowError, OptionError, UnknownProductError

__version__ = "0.1.0"

_LAZY = {
    "open_run": "nwpflow.io.reader",
    "compute": "nwpflow.products",
    "registry": "nwpflow.products",
}


def __getattr__(name: str):
    if name in _LAZY:
        if name == "open_run":
            # the registry declares the products' GRIB2 parameters, by which the reader names nwpflow's
            # own local parameters
            importlib.import_module("nwpflow.products")
        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'nwpflow' has no attribute {name!r}")


__all__ = [
    "InputError",
    "NwpflowError",
    "OptionError",
    "UnknownProductError",
    "__version__",
    "compute",
    "open_run",
    "registry",
]
