"""ICON grid files: the cell neighbour table and cell centres that horizontal derivatives on ICON's
unstructured grid need (potential vorticity), found by the grid's ``uuidOfHGrid``.

An ICON grid file (``icon_grid_0001_R19B08_mch.nc`` and the like) is NetCDF with the global attribute
``uuidOfHGrid``, the cell centres ``clat``, ``clon`` [radians] and ``neighbor_cell_index`` ``(nv, cell)``:
the 1-based indices of the cells sharing an edge with each cell (0 or negative: none, at a domain's edge).
The model's GRIB carries the same ``uuidOfHGrid`` (section 3, template 101), which is how a run and its
grid file are matched.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from nwpflow.errors import InputError


@dataclass(frozen=True)
class IconGridGeometry:
    """What the derivatives take from a grid file."""

    path: str
    uuid: str
    latitude: np.ndarray
    """Cell centres' latitude [degrees], (ncell,)."""
    longitude: np.ndarray
    """Cell centres' longitude [degrees], (ncell,)."""
    neighbours: np.ndarray
    """0-based neighbour indices, -1 for none, int32 (nv, ncell)."""


def normalised_uuid(uuid: str) -> str:
    """A uuid as 32 lower-case hex digits (GRIB gives them without dashes, grid files with)."""
    return str(uuid).replace("-", "").strip().lower()


def _uuid_of(path: Path) -> str | None:
    import netCDF4

    try:
        with netCDF4.Dataset(path) as dataset:
            return normalised_uuid(dataset.getncattr("uuidOfHGrid")) if "uuidOfHGrid" in dataset.ncattrs() else None
    except OSError:
        return None


def find_grid_file(directories: Iterable[str | os.PathLike], uuid: str) -> Path | None:
    """The NetCDF file in ``directories`` whose ``uuidOfHGrid`` is ``uuid``, or ``None``."""
    wanted = normalised_uuid(uuid)
    for directory in dict.fromkeys(Path(d) for d in directories):
        if not directory.is_dir():
            continue
        for path in sorted(directory.glob("*.nc")):
            if _uuid_of(path) == wanted:
                return path
    return None


def read_grid_file(path: str | os.PathLike, *, uuid: str | None = None, ncell: int | None = None) -> IconGridGeometry:
    """Read the cell centres and the neighbour table of an ICON grid file.

    Raises :class:`~nwpflow.errors.InputError` naming the file where it is not one, or where its
    ``uuidOfHGrid`` or number of cells is not the run's (``uuid``, ``ncell``).
    """
    import netCDF4

    path = Path(path)
    if not path.is_file():
        raise InputError("no such ICON grid file", path=path)
    try:
        dataset = netCDF4.Dataset(path)
    except OSError as error:
        raise InputError(f"cannot be read as an ICON grid file (NetCDF): {error}", path=path) from None
    with dataset:
        missing = [name for name in ("clat", "clon", "neighbor_cell_index") if name not in dataset.variables]
        if missing:
            raise InputError(f"is no ICON grid file: it lacks {', '.join(missing)}", path=path)
        found = normalised_uuid(dataset.getncattr("uuidOfHGrid")) if "uuidOfHGrid" in dataset.ncattrs() else ""
        if uuid is not None and found != normalised_uuid(uuid):
            raise InputError(f"is the grid {found or '(no uuidOfHGrid)'}, the run's is {normalised_uuid(uuid)}", path=path)
        latitude = np.degrees(np.asarray(dataset["clat"][:], dtype=np.float64))
        longitude = np.degrees(np.asarray(dataset["clon"][:], dtype=np.float64))
        table = np.asarray(dataset["neighbor_cell_index"][:], dtype=np.int64)
    if ncell is not None and latitude.size != ncell:
        raise InputError(f"has {latitude.size} cells, the run has {ncell}", path=path)
    if table.ndim != 2 or table.shape[1] != latitude.size:
        raise InputError(f"neighbor_cell_index has shape {table.shape}, expected (nv, {latitude.size})", path=path)
    neighbours = np.where((table >= 1) & (table <= latitude.size), table - 1, -1).astype(np.int32)
    return IconGridGeometry(str(path), found, latitude, longitude, np.ascontiguousarray(neighbours))


__all__ = ["IconGridGeometry", "find_grid_file", "normalised_uuid", "read_grid_file"]
