"""Write products as CF NetCDF (netCDF4), atomically: a temporary name in the target folder, then rename.

A failed or interrupted write never leaves a partial file under the final name, and an existing good
output is replaced only by a complete new one.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Iterator
from datetime import datetime, timezone
from pathlib import Path

import numpy as np
import xarray as xr


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


@contextlib.contextmanager
def atomic_output(path: Path) -> Iterator[str]:
    """Yield a temporary file name beside ``path`` to write to; when the block ends without an error the
    file gets the usual mode (umask) and is renamed to ``path``, otherwise it is deleted. A reader never
    sees a partial file, and an existing ``path`` stays as it was when writing fails."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, temporary = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(fd)
    try:
        yield temporary
        os.chmod(temporary, 0o666 & ~_umask())  # mkstemp creates 0600
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
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
