"""Placeholder while the writer is written."""


def write_netcdf(obj, path):
    raise NotImplementedError
