"""Readers and writers: GRIB (ecCodes) and NetCDF in, CF NetCDF out, all into one data model."""

from nwpflow.io.reader import open_run
from nwpflow.io.writer import write_netcdf

__all__ = ["open_run", "write_netcdf"]
