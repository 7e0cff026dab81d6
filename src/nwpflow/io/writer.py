"""Write products as CF NetCDF (netCDF4), atomically: a temporary name in the target folder, then rename.

A failed or interrupted write never leaves a partial file under the final name, and an existing good
output is replaced only by a complete new one.
"""

from __future__ import annotations

import contextlib
import errno
import os
import re
import tempfile
from collections.abc import Iterator
from datetime import datetime, timezone
from pathlib import Path

import numpy as np
import xarray as xr

from nwpflow.errors import OutputError, os_error_hint
from nwpflow.io.locations import output_problem


def _encoding(dataset: xr.Dataset) -> dict:
    encoding = {}
    for name, variable in dataset.variables.items():
        if np.issubdtype(variable.dtype, np.floating) and name in dataset.data_vars:
            encoding[name] = {"dtype": "float32", "_FillValue": np.float32(np.nan)}
        elif np.issubdtype(variable.dtype, np.floating):
            encoding[name] = {"_FillValue": None}
    return encoding


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


def write_netcdf(obj: xr.DataArray | xr.Dataset, path: str | os.PathLike, *, history: str | None = None) -> Path:
    """Write ``obj`` to ``path`` as NetCDF-4 (float32 data, NaN as fill value) and return the path.

    ``history`` is prepended to the dataset's ``history`` attribute (CF), with a UTC time stamp.
    """
    from nwpflow import __version__

    path = Path(path)
    dataset = obj.to_dataset() if isinstance(obj, xr.DataArray) else obj
    dataset = dataset.copy()
    dataset.attrs = {k: v for k, v in dataset.attrs.items() if k != "source_files"}
    stamp = f"{datetime.now(timezone.utc):%Y-%m-%dT%H:%M:%SZ}"
    line = f"{stamp} nwpflow {__version__}: {history}" if history else f"{stamp} written by nwpflow {__version__}"
    previous = dataset.attrs.get("history")
    dataset.attrs["history"] = f"{line}\n{previous}" if previous else line
    dataset.attrs.setdefault("Conventions", "CF-1.10")
    with atomic_output(path) as temporary:
        dataset.to_netcdf(temporary, engine="netcdf4", format="NETCDF4", encoding=_encoding(dataset))
    return path
