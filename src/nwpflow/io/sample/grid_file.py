"""The ICON-like sample's grid file: cell centres and a neighbour table, as an ICON grid file holds them.

ICON's cells are triangles and ``neighbor_cell_index`` lists the three cells that share an edge with each.
The sample's cells are scattered points (a low-discrepancy sequence), not a triangulation: their
"neighbours" are the :data:`NEIGHBOURS` nearest cells (great-circle distance on the sample's small domain,
in a local equirectangular plane), which is what a least-squares gradient needs. The file carries the
run's ``uuidOfHGrid``, so that products find it beside the run's files
(:func:`nwpflow.io.icon_grid.find_grid_file`).
"""

from __future__ import annotations

import os

import numpy as np

NEIGHBOURS = 6
"""Neighbours of each sample cell in its grid file (ICON's triangles have 3)."""

_CHUNK = 16384


def nearest_neighbours(lat: np.ndarray, lon: np.ndarray, count: int = NEIGHBOURS) -> np.ndarray:
    """0-based indices ``(count, ncell)`` of each point's ``count`` nearest other points (ties: lower index).

    Points go into square buckets of about three points each; a point's candidates are the points of
    the 5 x 5 buckets around its own, which hold its nearest neighbours unless the points are far from
    uniform (the sample's are low-discrepancy); memory grows with a chunk of points, not their square.
    """
    x = np.radians(lon) * np.cos(np.radians(np.mean(lat)))
    y = np.radians(lat)
    n = x.size
    size = np.sqrt((np.ptp(x) * np.ptp(y) + 1e-30) * 3.0 / n)
    bx = np.floor((x - x.min()) / size).astype(np.int64)
    by = np.floor((y - y.min()) / size).astype(np.int64)
    nx = int(bx.max()) + 1
    key = by * nx + bx
    order = np.argsort(key, kind="stable")
    sorted_keys = key[order]
    nkeys = (int(by.max()) + 1) * nx
    starts = np.searchsorted(sorted_keys, np.arange(nkeys + 1))
    width = int(np.max(np.diff(starts)))
    result = np.empty((count, n), dtype=np.int32)
    for c0 in range(0, n, _CHUNK):
        idx = np.arange(c0, min(c0 + _CHUNK, n))
        candidates = []
        for dy in range(-2, 3):
            for dx in range(-2, 3):
                cx, cy = bx[idx] + dx, by[idx] + dy
                inside = (cx >= 0) & (cx < nx) & (cy >= 0) & (cy * nx + cx < nkeys)
                k = np.where(inside, cy * nx + cx, 0)
                lo = np.where(inside, starts[k], 0)
                hi = np.where(inside, starts[k + 1], 0)
                for slot in range(width):
                    pos = lo + slot
                    candidates.append(np.where(pos < hi, order[np.minimum(pos, n - 1)], -1))
        cand = np.stack(candidates, axis=1)
        valid = (cand >= 0) & (cand != idx[:, None])
        safe = np.where(valid, cand, 0)
        d2 = np.where(valid, (x[safe] - x[idx, None]) ** 2 + (y[safe] - y[idx, None]) ** 2, np.inf)
        d2 = d2 + safe * 1e-30  # ties to the lower index, deterministically
        best = np.argsort(d2, axis=1, kind="stable")[:, :count]
        result[:, idx] = np.take_along_axis(cand, best, axis=1).T
    return result


def write_grid_file(path: str | os.PathLike, lat: np.ndarray, lon: np.ndarray, uuid: str, number_of_grid_used: int,
                    temporary: str | os.PathLike) -> None:
    """Write the sample's ICON-like grid file to ``temporary`` (renamed to ``path`` by the caller):
    ``clat``, ``clon`` [radians], ``neighbor_cell_index`` (1-based, ``nv`` x ``cell``), global attributes
    ``uuidOfHGrid`` and ``number_of_grid_used``."""
    import netCDF4

    neighbours = nearest_neighbours(lat, lon)
    with netCDF4.Dataset(temporary, "w") as out:
        out.title = "nwpflow sample: ICON-like grid file (cell centres, nearest-neighbour table)"
        out.uuidOfHGrid = uuid
        out.number_of_grid_used = np.int32(number_of_grid_used)
        out.grid_mapping_name = "lat_long_on_sphere"
        out.createDimension("cell", lat.size)
        out.createDimension("nv", neighbours.shape[0])
        for name, values, what in (("clat", lat, "latitude"), ("clon", lon, "longitude")):
            variable = out.createVariable(name, "f8", ("cell",))
            variable.units = "radian"
            variable.standard_name = what
            variable.long_name = f"center {what}"
            variable[:] = np.radians(values)
        table = out.createVariable("neighbor_cell_index", "i4", ("nv", "cell"))
        table.long_name = "cells next to each cell (1-based)"
        table[:] = neighbours + 1


__all__ = ["NEIGHBOURS", "nearest_neighbours", "write_grid_file"]
