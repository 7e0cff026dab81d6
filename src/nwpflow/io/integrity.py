"""Whether an output file is whole, from its bytes alone (no netCDF4, no ecCodes): cheap enough to ask of
every existing product file while Snakemake parses, so that a truncated file is never taken as done.

* NetCDF-4 (HDF5): the superblock at the start of the file records where the file ends (its
  "end of file address", HDF5 File Format Specification, section II.A); a file shorter than that was cut.
  A classic NetCDF file (``CDF``) is checked only for being non-empty.
* GRIB: a sequence of whole messages (:func:`nwpflow.io.formats.grib_complete`).
* A provenance record (``*.provenance.json``): valid JSON.

What bytes cannot show cheaply, a chunk damaged in the middle of a NetCDF file, HDF5's Fletcher-32
checksums do (nwpflow writes them, :data:`nwpflow.io.writer.COMPRESSION`): reading it fails.
"""

from __future__ import annotations

import json
import os
import struct

from nwpflow.io.formats import file_format, grib_complete

HDF5_SIGNATURE = b"\x89HDF\r\n\x1a\n"
_SEARCH = (0, 512, 1024, 2048, 4096, 8192)  # where a superblock may start (after a user block)


def hdf5_end(path: str | os.PathLike) -> int | None:
    """Return the size an HDF5 file must have according to its superblock (base address + end-of-file
    address), or ``None`` where no superblock is found."""
    with open(path, "rb") as f:
        for offset in _SEARCH:
            f.seek(offset)
            head = f.read(96)
            if not head.startswith(HDF5_SIGNATURE):
                continue
            version = head[8]
            if version in (0, 1):
                size = head[13]
                start = 24 + (4 if version == 1 else 0)
            elif version in (2, 3):
                size = head[9]
                start = 12
            else:
                return None
            if size not in (2, 4, 8):
                return None
            form = {2: "<H", 4: "<I", 8: "<Q"}[size]
            base = struct.unpack_from(form, head, start)[0]
            # v0/1: base, free-space, end-of-file; v2/3: base, superblock extension, end-of-file
            end = struct.unpack_from(form, head, start + 2 * size)[0]
            return base + end
    return None


def file_complete(path: str | os.PathLike) -> bool:
    """Return whether the output file ``path`` exists and is whole (see the module docstring).

    Examples
    --------
    >>> file_complete("/nonexistent/file.nc")
    False
    """
    path = os.fspath(path)
    try:
        size = os.path.getsize(path)
    except OSError:
        return False
    if path.endswith(".json"):
        try:
            with open(path, encoding="utf-8") as f:
                json.load(f)
        except (OSError, ValueError):
            return False
        return True
    kind = file_format(path)
    if kind == "grib":
        return grib_complete(path)
    if kind == "netcdf":
        with open(path, "rb") as f:
            classic = f.read(3) == b"CDF"
        if classic:
            return size > 0
        end = hdf5_end(path)
        return end is not None and size >= end
    return False


__all__ = ["HDF5_SIGNATURE", "file_complete", "hdf5_end"]
