"""Readers and writers: GRIB (ecCodes) and NetCDF in, CF NetCDF and GRIB2 out, all into one data model.

The data model's tables (:mod:`nwpflow.io.datamodel`, :mod:`nwpflow.io.grib2_codes`) and the file checks
of :mod:`nwpflow.io.formats` import no ecCodes, xarray or netCDF4; the readers and writers load them
when first used (``nwpflow.io.open_run`` imports the reader).
"""

from __future__ import annotations

import importlib

_LAZY = {
    "open_run": "nwpflow.io.reader",
    "read_field": "nwpflow.io.reader",
    "write_netcdf": "nwpflow.io.writer",
}


def __getattr__(name: str):
    if name in _LAZY:
        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'nwpflow.io' has no attribute {name!r}")


__all__ = ["open_run", "read_field", "write_netcdf"]
