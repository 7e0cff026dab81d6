"""What a file is, from its first bytes, and how a GRIB file splits into messages — without ecCodes.

Everything here reads bytes only, so that the workflow can check its inputs while Snakemake parses
(``incremental``) without loading ecCodes, and the reader splits a file once, the same way.
"""

from __future__ import annotations

import mmap
import os

from nwpflow.errors import InputError

NETCDF_MAGIC = (b"CDF", b"\x89HDF\r\n\x1a\n")
"""First bytes of NetCDF classic (``CDF``) and NetCDF-4 (HDF5) files."""


def file_format(path: str | os.PathLike) -> str | None:
    """Return ``"grib"``, ``"netcdf"``, or ``None`` (empty, missing, or neither) from a file's first bytes."""
    try:
        with open(path, "rb") as f:
            head = f.read(8)
    except OSError:
        return None
    if head[:4] == b"GRIB":
        return "grib"
    if head.startswith(NETCDF_MAGIC):
        return "netcdf"
    return None


def message_spans(path: str, data) -> list[tuple[int, int]] | None:
    """Return the ``(offset, length)`` of every GRIB message in ``data`` (the bytes of file ``path``), from
    each message's section 0; ``None`` where a GRIB 1 message uses the large-file convention (its length
    in section 0 is not its length: ecCodes must read the file sequentially).

    Zero bytes between and after messages are padding (MARS pads files to a block size). Raises
    :class:`~nwpflow.errors.InputError` for a message whose length runs past the end of the file, that
    does not end with ``7777`` or whose sections do not add up to its length (:func:`section_problem`), and
    for other bytes that are not a message.
    """
    size = len(data)
    pieces = []
    position = 0
    while position < size:
        start = data.find(b"GRIB", position)
        gap_end = size if start < 0 else start
        if data[position:gap_end].strip(b"\0"):
            where = "after the last complete message" if start < 0 else "before message"
            raise InputError(
                f"{gap_end - position} bytes at byte {position} ({where} {len(pieces) + (start >= 0)}) are not "
                "a GRIB message: the file is truncated or corrupt",
                path=path,
            )
        if start < 0:
            break
        edition = data[start + 7] if start + 16 <= size else None
        if edition == 2:
            length = int.from_bytes(data[start + 8:start + 16], "big")
        elif edition == 1:
            length = int.from_bytes(data[start + 4:start + 7], "big")
            if length & 0x800000:
                return None
        else:
            raise InputError(f"message {len(pieces) + 1} (at byte {start}) is truncated or corrupt: "
                             f"no valid GRIB edition in its section 0", path=path)
        end = start + length
        if end > size or data[end - 4:end] != b"7777":
            raise InputError(
                f"message {len(pieces) + 1} (at byte {start}) is truncated or corrupt: it should end at byte "
                f"{end} with '7777'" + (f", the file has {size} bytes" if end > size else ""),
                path=path,
            )
        problem = section_problem(data, start, length)
        if problem is not None:
            raise InputError(f"message {len(pieces) + 1} (at byte {start}) is corrupt: {problem}", path=path)
        pieces.append((start, length))
        position = end
    return pieces


def section_problem(data, start: int, length: int) -> str | None:
    """What is wrong with the sections of the GRIB message at ``start`` (``length`` bytes, section 0 and
    ``7777`` checked), or ``None``: the lengths its sections state must add up to the message's, so that no
    decoder reads past its end (ecCodes does, assuming the sections are right, "over message boundary").

    GRIB 2: sections 1-7, each at least 5 bytes long, from byte 16 to the ``7777``. GRIB 1: the product
    definition section, the grid and bitmap sections where its flags say so, and the binary data section.
    """
    end = start + length - 4
    if data[start + 7] == 2:
        position = start + 16
        while position < end:
            if position + 5 > end:
                return f"{end - position} bytes before '7777' are no section"
            size = int.from_bytes(data[position:position + 4], "big")
            number = data[position + 4]
            if size < 5 or not 1 <= number <= 7 or position + size > end:
                return f"section {number} at byte {position} states a length of {size} bytes, {end - position} are left"
            position += size
        return None
    position = start + 8
    if position + 8 > end:
        return "no product definition section"
    flags = data[position + 7]
    for name, present in (("product definition", True), ("grid description", flags & 0x80),
                          ("bitmap", flags & 0x40), ("binary data", True)):
        if not present:
            continue
        size = int.from_bytes(data[position:position + 3], "big") if position + 3 <= end else 0
        if size < 3 or position + size > end:
            return f"the {name} section at byte {position} states a length of {size} bytes, {end - position} are left"
        position += size
    return None if position == end else f"{end - position} bytes between its last section and '7777'"


def grib_complete(path: str | os.PathLike) -> bool:
    """Return whether a file is a sequence of whole GRIB messages (:func:`message_spans` finds at least
    one and no truncated one).

    A model writing the file leaves it truncated inside a message, which this detects without decoding
    anything. GRIB 1 files of the large-file convention are checked with ecCodes.

    Examples
    --------
    >>> import tempfile
    >>> with tempfile.NamedTemporaryFile() as f:
    ...     _ = f.write(b"GRIB" + bytes(3) + bytes([2]) + (20).to_bytes(8, "big") + b"7777")
    ...     f.flush()
    ...     grib_complete(f.name)
    True
    """
    path = os.fspath(path)
    try:
        if os.path.getsize(path) == 0:
            return False
        with open(path, "rb") as f, mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ) as data:
            spans = message_spans(path, data)
    except (OSError, InputError):
        return False
    if spans is None:
        from nwpflow.io import grib  # ecCodes, only for this rare kind of file

        try:
            grib.release(grib.scan(path, threads=1))
        except InputError:
            return False
        return True
    return bool(spans)


__all__ = ["NETCDF_MAGIC", "file_format", "grib_complete", "message_spans", "section_problem"]
