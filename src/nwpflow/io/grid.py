"""The run's horizontal grid, written once, and the reference to it that every product file carries.

An ICON product is a field on cells; its coordinates (centre latitude and longitude, and the cell
vertices) are the same for every product, member and lead time of a run. As ICON does with
``uuidOfHGrid`` (GRIB2 and NetCDF) and its grid files, nwpflow writes them once per run into
``{output_dir}/{run}/grid.nc`` (:func:`write_grid`) and each product file on an unstructured grid holds,
instead of them, the global attributes of :func:`grid_reference`: ``uuidOfHGrid`` (where the model run
has one), ``number_of_grid_used`` and ``grid_file``, the grid file's path relative to the product file.

The grid file (CF, and UGRID-1.0 where the input has the cell vertices)::

    clat, clon (cell)                  cell centres, degrees_north / degrees_east (float64)
    clat_bnds, clon_bnds (cell, nv)    the vertices of each cell, where the input has them (CF bounds)
    mesh                               UGRID mesh topology (with vertices): face_node_connectivity
    node_lat, node_lon (node)          the distinct vertices; face_node (cell, nv) indexes them

A regular or rotated lat-lon grid (COSMO) is described in each product file as before (1-D ``rlat``,
``rlon``, CF ``grid_mapping`` ``rotated_latitude_longitude``, and the 2-D ``latitude``/``longitude`` CF
requires), and its grid file holds the same.
"""

from __future__ import annotations

import os
from collections import Counter
from collections.abc import Iterable, Mapping
from pathlib import Path

import numpy as np
import xarray as xr

from nwpflow.errors import InputError
from nwpflow.io import grib
from nwpflow.io.formats import file_format

REFERENCE_ATTRIBUTES = ("uuidOfHGrid", "number_of_grid_used", "grid_file")
"""Global attributes by which a product file names its grid."""


def read_grid(paths: str | os.PathLike | Iterable[str | os.PathLike]) -> xr.Dataset:
    """Return the horizontal grid of a model run as the Dataset :func:`write_grid` writes.

    Parameters
    ----------
    paths
        Files of the run: GRIB (the constants file holds ICON's ``CLAT``/``CLON``; a regular or rotated
        grid is described by any message) and/or NetCDF (``clat``/``clon`` in radians or degrees, with
        their ``bounds``, the cell vertices, where present).

    Raises
    ------
    InputError
        No file says where the cells are (an ICON run without its constants file).
    """
    paths = [os.fspath(p) for p in ([paths] if isinstance(paths, (str, os.PathLike)) else paths)]
    for path in paths:
        if not os.path.isfile(path):
            raise InputError("no such file", path=path)
    netcdf = [p for p in paths if file_format(p) == "netcdf"]
    found = _netcdf_grid(netcdf) if netcdf else None
    gribs = [p for p in paths if file_format(p) == "grib"]
    if found is None and gribs:
        found = _grib_grid(gribs)
    if found is None:
        raise InputError("no cell coordinates (ICON: CLAT and CLON, in the constants file; NetCDF: clat and "
                         "clon) and no lat-lon grid", path=", ".join(paths))
    return found


def _grib_grid(paths: list[str]) -> xr.Dataset | None:
    messages = [m for path in paths for m in grib.scan(path, threads=1)]
    try:
        grid_type, grid = Counter((m.grid_type, m.grid) for m in messages).most_common(1)[0][0]
        on_grid = [m for m in messages if (m.grid_type, m.grid) == (grid_type, grid)]
        attrs = {"grid_type": grid_type}
        if grid_type == "unstructured_grid":
            number, _, uuid = grid
            attrs.update(uuidOfHGrid=uuid, number_of_grid_used=int(number))
            centres = {}
            for name in ("CLAT", "CLON"):
                message = next((m for m in on_grid if m.name == name), None)
                if message is None:
                    return None
                centres[name] = np.empty(message.size, np.float32)
                grib.decode_into([(message, centres[name])], threads=1)
            # ICON's GRIB holds the centres as 32-bit floats (IEEE or packed): float64 is only their type here
            return _unstructured(centres["CLAT"].astype(np.float64), centres["CLON"].astype(np.float64), None,
                                 None, attrs)
        dataset = xr.Dataset(attrs=attrs)
        for name, (dims, values, coord_attrs) in grib.grid_coordinates(on_grid[0]).items():
            dataset.coords[name] = (dims, values, coord_attrs)
        if grid_type == "rotated_ll":
            dataset["rotated_pole"] = ((), np.int32(0), grib.rotated_pole_attrs(on_grid[0]))
        return dataset if dataset.coords else None
    finally:
        grib.release(messages)


def _netcdf_grid(paths: list[str]) -> xr.Dataset | None:
    for path in paths:
        with xr.open_dataset(path, engine="netcdf4", decode_timedelta=False) as raw:
            names = next(((a, b) for a, b in (("clat", "clon"), ("lat", "lon")) if a in raw.variables
                          and b in raw.variables and raw[a].ndim == 1), None)
            if names is None:
                continue
            values = []
            for name in names:
                variable = raw[name]
                bounds = variable.attrs.get("bounds")
                pair = [np.asarray(variable.values, np.float64),
                        np.asarray(raw[bounds].values, np.float64) if bounds in raw.variables else None]
                if variable.attrs.get("units") in ("radian", "radians", "rad"):
                    pair = [np.degrees(v) if v is not None else None for v in pair]
                values.extend(pair)
            attrs = {"grid_type": "unstructured_grid"}
            for key in ("uuidOfHGrid", "number_of_grid_used"):
                if key in raw.attrs:
                    attrs[key] = raw.attrs[key]
            return _unstructured(values[0], values[2], values[1], values[3], attrs)
    return None


def _unstructured(lat, lon, lat_vertices, lon_vertices, attrs: Mapping) -> xr.Dataset:
    """CF cell centres (and bounds), plus a UGRID mesh where the vertices are known (float64 coordinates:
    :func:`~nwpflow.io.writer.write_netcdf` stores data variables as float32)."""
    dataset = xr.Dataset(attrs={k: v for k, v in attrs.items() if v is not None})
    bounds = lat_vertices is not None and lon_vertices is not None
    dataset.coords["clat"] = ("cell", lat, {"standard_name": "latitude", "long_name": "cell centre latitude",
                                     "units": "degrees_north", **({"bounds": "clat_bnds"} if bounds else {})})
    dataset.coords["clon"] = ("cell", lon, {"standard_name": "longitude", "long_name": "cell centre longitude",
                                     "units": "degrees_east", **({"bounds": "clon_bnds"} if bounds else {})})
    if bounds:
        dataset.coords["clat_bnds"] = (("cell", "nv"), lat_vertices)
        dataset.coords["clon_bnds"] = (("cell", "nv"), lon_vertices)
        # the distinct vertices (to 1e-9 degrees, a few cm) and which of them make each cell
        pairs = np.stack([np.round(lat_vertices, 9).ravel(), np.round(lon_vertices, 9).ravel()], axis=1)
        nodes, index = np.unique(pairs, axis=0, return_inverse=True)
        dataset.coords["node_lat"] = ("node", nodes[:, 0], {"standard_name": "latitude", "units": "degrees_north",
                                                     "long_name": "latitude of the cell vertices"})
        dataset.coords["node_lon"] = ("node", nodes[:, 1], {"standard_name": "longitude", "units": "degrees_east",
                                                     "long_name": "longitude of the cell vertices"})
        dataset["face_node"] = (("cell", "nv"), index.reshape(lat_vertices.shape).astype(np.int32), {
            "cf_role": "face_node_connectivity", "start_index": np.int32(0),
            "long_name": "vertices of each cell, anticlockwise as in the input"})
        dataset["mesh"] = ((), np.int32(0), {
            "cf_role": "mesh_topology", "topology_dimension": np.int32(2), "long_name": "the model's cells",
            "node_coordinates": "node_lon node_lat", "face_node_connectivity": "face_node",
            "face_dimension": "cell", "face_coordinates": "clon clat"})
    return dataset


def write_grid(grid: xr.Dataset, path: str | os.PathLike, *, history: str | None = None,
               attributes: Mapping[str, str] | None = None) -> Path:
    """Write a grid (:func:`read_grid`) to ``path`` (atomically, compressed: :func:`nwpflow.io.writer.write_netcdf`)."""
    from nwpflow.io.writer import write_netcdf

    grid = grid.copy()
    if "mesh" in grid:
        grid.attrs["Conventions"] = "UGRID-1.0"  # write_netcdf puts its CF version first
    grid.attrs.setdefault("title", "horizontal grid of the model run")
    return write_netcdf(grid, path, history=history, attributes=attributes)


def grid_reference(grid_file: str | os.PathLike, product_file: str | os.PathLike) -> dict:
    """Return the global attributes by which ``product_file`` names the grid in ``grid_file``: its
    ``uuidOfHGrid`` and ``number_of_grid_used`` (where it has them) and ``grid_file``, the path relative to
    the product file's folder (``../../grid.nc`` in the workflow's output tree)."""
    import netCDF4

    with netCDF4.Dataset(grid_file) as dataset:
        if "cell" not in dataset.dimensions:
            return {}
        found = {k: dataset.getncattr(k) for k in REFERENCE_ATTRIBUTES[:2] if k in dataset.ncattrs()}
    return {**found, "grid_file": os.path.relpath(grid_file, Path(product_file).parent)}


__all__ = ["REFERENCE_ATTRIBUTES", "grid_reference", "read_grid", "write_grid"]
