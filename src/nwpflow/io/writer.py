"""Write products as CF NetCDF (netCDF4), atomically: a temporary name in the target folder, then rename.

A failed or interrupted write never leaves a partial file under the final name, and an existing good
output is replaced only by a complete new one.

Files fit to keep (:data:`COMPRESSION`): every floating-point variable of more than a few values is
compressed losslessly (zlib after HDF5's byte shuffle, which groups the bytes of equal significance of the
float32 values: 20 % fewer bytes than zlib alone, in 40 % of its time, docs/benchmarks.md), with HDF5's
Fletcher-32 checksum of each chunk (a reader that meets a corrupt chunk gets an error, never wrong
values), chunked per level (one chunk per horizontal field: reading one level reads one chunk). The data
stay float32 bit for bit. A product on an unstructured grid written with a ``grid`` reference
(:func:`nwpflow.io.grid.grid_reference`) holds no cell coordinates: they are in the run's grid file.
"""

from __future__ import annotations

import contextlib
import errno
import os
import re
import tempfile
from collections.abc import Iterator, Mapping
from datetime import datetime, timezone
from pathlib import Path

import numpy as np
import xarray as xr

from nwpflow.errors import OutputError, os_error_hint
from nwpflow.io.locations import output_problem


COMPRESSION = {"zlib": True, "complevel": 4, "shuffle": True, "fletcher32": True}
"""netCDF4 filters of every float variable with at least :data:`COMPRESS_FROM` values (zlib level 4 after a
shuffle: 2 % more bytes than level 6 at 80 % of its time, measured in docs/benchmarks.md)."""

COMPRESS_FROM = 64
"""Variables with fewer values are stored contiguous and plain (a chunk index would outweigh them)."""

CONVENTIONS = "CF-1.8"
"""The CF version the files follow and are checked against (``tests/test_outputs.py``: cfchecker 4.1, the NCAS
checker, knows versions up to 1.8; nothing nwpflow writes needs a later one)."""

COORDINATE_ATTRIBUTES = {
    "member": {"standard_name": "realization", "long_name": "ensemble member", "units": "1"},
    "level": {"standard_name": "model_level_number", "long_name": "model full level, from the top", "units": "1"},
    "half_level": {"standard_name": "model_level_number", "long_name": "model half level, from the top", "units": "1"},
    "time": {"standard_name": "forecast_reference_time", "long_name": "reference time"},
    "step": {"standard_name": "forecast_period", "long_name": "lead time"},
    "valid_time": {"standard_name": "time", "long_name": "valid time"},
}
"""CF attributes of the data model's coordinates, for those a product leaves without (its own win)."""

HORIZONTAL = ("cell", "y", "x", "node", "nv")
"""Dims a chunk spans whole: one chunk holds one horizontal field (one level of one member and lead time)."""


def _encoding(dataset: xr.Dataset) -> dict:
    encoding = {}
    for name, variable in dataset.variables.items():
        floating = np.issubdtype(variable.dtype, np.floating)
        if floating and name in dataset.data_vars:
            encoding[name] = {"dtype": "float32", "_FillValue": np.float32(np.nan)}
        elif floating:
            encoding[name] = {"_FillValue": None}
        if np.issubdtype(variable.dtype, np.timedelta64):
            # whole hours or minutes; CF before 1.9 knows no 64-bit integers. A unit the variable chose keeps
            # (time products encode a step and its bounds in one unit: CF bounds carry none of their own)
            units = {"units": variable.encoding["units"]} if "units" in variable.encoding else {}
            encoding[name] = {**units, "dtype": "int32"}
        if floating and variable.size >= COMPRESS_FROM:
            chunks = tuple(size if dim in HORIZONTAL else 1 for dim, size in variable.sizes.items())
            if not any(dim in HORIZONTAL for dim in variable.dims):
                chunks = tuple(variable.shape)  # a coordinate: one chunk
            encoding[name].update(COMPRESSION, chunksizes=chunks)
    return encoding


def _without_cell_coordinates(dataset: xr.Dataset) -> xr.Dataset:
    """``dataset`` without the coordinates (and their bounds) that lie on ICON cells only."""
    cell_only = [name for name, coord in dataset.coords.items() if coord.dims and set(coord.dims) <= {"cell", "nv"}]
    bounds = [dataset[c].attrs["bounds"] for c in cell_only if dataset[c].attrs.get("bounds") in dataset.variables]
    return dataset.drop_vars(cell_only + bounds)


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


DISK_FULL_BYTES = 1 << 20
"""Free space below which a failed write is reported as a full disk (the NetCDF library says only
"HDF error"); a full disk leaves a few blocks at most."""


def _temporaries(path: Path) -> list[Path]:
    """Temporary files :func:`atomic_output` made for ``path`` (``.NAME.XXXXXXXX.tmp``, ``tempfile``'s 8
    characters) that are still there."""
    if not path.parent.is_dir():
        return []
    pattern = re.compile(re.escape(f".{path.name}.") + r"[a-z0-9_]{8}\.tmp")
    return [p for p in path.parent.iterdir() if pattern.fullmatch(p.name)]


def remove_leftovers(path: str | os.PathLike) -> list[Path]:
    """Remove the temporary files a killed job left for ``path`` (SIGKILL gives :func:`atomic_output` no
    chance to), and return them. Only one job writes a given output at a time (Snakemake runs one job per
    output, and locks its working directory), so a temporary file of ``path`` that exists when its job
    starts is a leftover."""
    found = _temporaries(Path(path))
    for leftover in found:
        leftover.unlink(missing_ok=True)
    return found


def check_output_location(path: str | os.PathLike) -> None:
    """Raise :class:`~nwpflow.errors.OutputError` where ``path`` cannot be written: it is a folder, a folder on
    its way is a file, or the nearest existing folder is on a read-only file system or not writable.
    Jobs call it before reading their inputs (:func:`nwpflow.jobs.outputs.plan_outputs`)."""
    problem = output_problem(path)
    if problem is not None:
        raise OutputError(problem, path=path)


def _failure(error: BaseException, path: Path, free: int | None) -> OutputError | None:
    """The :class:`~nwpflow.errors.OutputError` of a write that failed with ``error`` (``free``: bytes left
    on the file system then), or ``None`` where the failure is not the output location's."""
    hint = os_error_hint(error)
    if hint is not None and error.errno not in (errno.ENOENT,):
        return OutputError(hint, path=path)
    if free is not None and free < DISK_FULL_BYTES and isinstance(error, (OSError, RuntimeError)):
        return OutputError(f"no space left on the device ({free} bytes free in {str(path.parent)!r}; the writer "
                           f"said: {error}): free space there or choose another output folder", path=path)
    return None


@contextlib.contextmanager
def atomic_output(path: Path) -> Iterator[str]:
    """Yield a temporary file name beside ``path`` to write to; when the block ends without an error the
    file gets the usual mode (umask) and is renamed to ``path``, otherwise it is deleted. A reader never
    sees a partial file, and an existing ``path`` stays as it was when writing fails.

    A failure of the output location (a folder that is a file, a read-only file system, no permission, a
    full disk) is an :class:`~nwpflow.errors.OutputError` naming ``path`` and what to do; temporary files
    of ``path`` that a killed job left are removed first (:func:`remove_leftovers`).
    """
    path = Path(path)
    check_output_location(path)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        remove_leftovers(path)
        fd, temporary = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
        os.close(fd)
    except OSError as error:
        raise (_failure(error, path, None) or error) from error
    try:
        yield temporary
        os.chmod(temporary, 0o666 & ~_umask())  # mkstemp creates 0600
        os.replace(temporary, path)
    except BaseException as error:
        try:
            stat = os.statvfs(path.parent)
            free = stat.f_bavail * stat.f_frsize  # before the partial file is removed: what the write left
        except OSError:
            free = None
        Path(temporary).unlink(missing_ok=True)
        converted = _failure(error, path, free) if isinstance(error, Exception) else None
        if converted is not None:
            raise converted from error
        raise


def write_netcdf(obj: xr.DataArray | xr.Dataset, path: str | os.PathLike, *, history: str | None = None,
                 attributes: Mapping[str, str] | None = None, grid: Mapping[str, object] | None = None) -> Path:
    """Write ``obj`` to ``path`` as compressed NetCDF-4 (float32 data, NaN as fill value) and return the path.

    Parameters
    ----------
    obj : xarray.DataArray or xarray.Dataset
        What to write.
    path : path-like
        The file; an existing one is replaced only by a complete new one.
    history : str, optional
        Prepended to the dataset's ``history`` attribute (CF), with a UTC time stamp.
    attributes : Mapping, optional
        More global attributes (e.g. the provenance record, :mod:`nwpflow.provenance`).
    grid : Mapping, optional
        The reference to the run's grid file (:func:`nwpflow.io.grid.grid_reference`): the cell
        coordinates are left out and these global attributes name the file that holds them. ``None`` or
        empty: the coordinates are written (a regular or rotated grid always keeps its own).
    """
    from nwpflow import __version__

    path = Path(path)
    dataset = obj.to_dataset() if isinstance(obj, xr.DataArray) else obj
    dataset = dataset.copy()
    if grid:
        dataset = _without_cell_coordinates(dataset)
    # a grid mapping (rotated_pole) is named by `grid_mapping`, not in `coordinates` (CF 5.6); it stays a
    # coordinate for xarray, which then lists it in the global `coordinates` attribute
    mappings = {v.attrs["grid_mapping"] for v in dataset.data_vars.values() if "grid_mapping" in v.attrs}
    if mappings:
        for variable in dataset.data_vars.values():
            variable.encoding["coordinates"] = " ".join(
                name for name, coord in dataset.coords.items()
                if name not in dataset.dims and name not in mappings and set(coord.dims) <= set(variable.dims))
    dataset.attrs = {k: v for k, v in dataset.attrs.items() if k != "source_files"}
    dataset.attrs.update(grid or {})
    dataset.attrs.update(attributes or {})
    for name, attrs in COORDINATE_ATTRIBUTES.items():
        if name in dataset.coords:
            dataset[name].attrs = {**attrs, **dataset[name].attrs}
    stamp = f"{datetime.now(timezone.utc):%Y-%m-%dT%H:%M:%SZ}"
    line = f"{stamp} nwpflow {__version__}: {history}" if history else f"{stamp} written by nwpflow {__version__}"
    previous = dataset.attrs.get("history")
    dataset.attrs["history"] = f"{line}\n{previous}" if previous else line
    conventions = str(dataset.attrs.get("Conventions", "")).split()
    dataset.attrs["Conventions"] = " ".join([CONVENTIONS, *(c for c in conventions if not c.startswith("CF-"))])
    with atomic_output(path) as temporary:
        dataset.to_netcdf(temporary, engine="netcdf4", format="NETCDF4", encoding=_encoding(dataset))
    return path
