"""GRIB messages: scan the headers of a file once, decode the selected messages once, in parallel.

The two steps are separate so that a run reads only what its products need:

1. :func:`scan` walks a file message by message and reads header keys only (ecCodes decodes the data
   section lazily, so no value is unpacked here). Every message becomes a :class:`Message` that keeps
   its ecCodes handle.
2. :func:`decode_into` unpacks the values of many messages straight into float32 arrays, with a thread
   pool: ecCodes' C library is thread-safe for distinct handles and its Python binding (cffi) releases
   the GIL during the call, so messages decode in parallel on as many cores as are given.

Errors name the file, the message number and, where known, the field.
"""

from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

import numpy as np

from nwpflow.errors import InputError
from nwpflow.io.datamodel import canonical_name
from nwpflow.io.eccodes_env import eccodes

HEADER_KEYS: dict[str, type] = {
    "shortName": str,
    "typeOfLevel": str,
    "level": int,
    "gridType": str,
    "numberOfValues": int,
    "dataDate": int,
    "dataTime": int,
    "bitmapPresent": int,
}
"""Keys read from every message. Optional keys (ensemble number, grid geometry) follow below."""

GRID_KEYS: dict[str, tuple[str, ...]] = {
    "unstructured_grid": ("numberOfGridUsed", "numberOfGridInReference", "uuidOfHGrid"),
    "regular_ll": (
        "Ni", "Nj", "latitudeOfFirstGridPointInDegrees", "longitudeOfFirstGridPointInDegrees",
        "latitudeOfLastGridPointInDegrees", "longitudeOfLastGridPointInDegrees",
        "iDirectionIncrementInDegrees", "jDirectionIncrementInDegrees",
        "iScansNegatively", "jScansPositively", "jPointsAreConsecutive",
    ),
    "rotated_ll": (
        "Ni", "Nj", "latitudeOfFirstGridPointInDegrees", "longitudeOfFirstGridPointInDegrees",
        "latitudeOfLastGridPointInDegrees", "longitudeOfLastGridPointInDegrees",
        "iDirectionIncrementInDegrees", "jDirectionIncrementInDegrees",
        "iScansNegatively", "jScansPositively", "jPointsAreConsecutive",
        "latitudeOfSouthernPoleInDegrees", "longitudeOfSouthernPoleInDegrees", "angleOfRotationInDegrees",
    ),
}
"""Keys that define each supported horizontal grid (cfgrib's ``GRID_TYPE_MAP`` idea)."""


@dataclass
class Message:
    """One GRIB message: where it is, what its header says, and its (undecoded) ecCodes handle."""

    path: str
    index: int
    name: str
    short_name: str
    type_of_level: str
    level: int
    member: int | None
    step_minutes: int
    reference: np.datetime64
    grid_type: str
    grid: tuple
    size: int
    bitmap: bool
    handle: int = field(repr=False)
    pv: np.ndarray | None = field(default=None, repr=False)

    def where(self) -> str:
        return f"message {self.index + 1}"


def _get(handle, key, ktype):
    if ktype is str:
        return eccodes.codes_get_string(handle, key)
    if ktype is int:
        return eccodes.codes_get_long(handle, key)
    return eccodes.codes_get_double(handle, key)


def _optional(handle, key, ktype=int):
    if not eccodes.codes_is_defined(handle, key):
        return None
    try:
        return _get(handle, key, ktype)
    except eccodes.CodesInternalError:
        return None


def _reference_time(date: int, time: int) -> np.datetime64:
    text = f"{date:08d}T{time // 100:02d}:{time % 100:02d}"
    return np.datetime64(f"{text[:4]}-{text[4:6]}-{text[6:]}", "m")


def _step_minutes(handle) -> int:
    """End of the forecast time range in minutes (the valid time of accumulations and maxima too)."""
    eccodes.codes_set_string(handle, "stepUnits", "m")
    return eccodes.codes_get_long(handle, "endStep")


def _grid_signature(handle, grid_type: str, path: str, index: int) -> tuple:
    keys = GRID_KEYS.get(grid_type)
    if keys is None:
        raise InputError(
            f"message {index + 1} is on a {grid_type!r} grid; supported grids: {', '.join(GRID_KEYS)}",
            path=path,
        )
    values = []
    for key in keys:
        ktype = str if key == "uuidOfHGrid" else (float if "Degrees" in key else int)
        values.append(_optional(handle, key, ktype))
    return tuple(values)


def scan(path: str | os.PathLike) -> list[Message]:
    """Read the header of every message of a GRIB file (no data is decoded).

    Raises :class:`~nwpflow.errors.InputError` for a file that is empty, is not GRIB, or ends in a
    truncated or corrupt message.
    """
    path = os.fspath(path)
    messages: list[Message] = []
    size = os.path.getsize(path)
    if size == 0:
        raise InputError("the file is empty", path=path)
    with open(path, "rb") as f:
        index = 0
        while True:
            offset = f.tell()
            try:
                handle = eccodes.codes_grib_new_from_file(f)
            except eccodes.GribInternalError as error:
                raise InputError(
                    f"message {index + 1} (at byte {offset}) is truncated or corrupt: {error}", path=path
                ) from None
            if handle is None:
                break
            try:
                messages.append(_header(handle, path, index))
            except eccodes.GribInternalError as error:
                eccodes.codes_release(handle)
                raise InputError(f"message {index + 1} has an unreadable header: {error}", path=path) from None
            index += 1
        trailing = size - f.tell()
    if not messages:
        raise InputError("no GRIB message found: not a GRIB file", path=path)
    if trailing > 4:
        raise InputError(
            f"{trailing} bytes after the last complete message ({index}) are not a GRIB message: "
            "the file is truncated or corrupt",
            path=path,
        )
    return messages


def _header(handle, path: str, index: int) -> Message:
    keys = {key: _get(handle, key, ktype) for key, ktype in HEADER_KEYS.items()}
    grid_type = keys["gridType"]
    short_name = keys["shortName"]
    member = _optional(handle, "perturbationNumber")
    if member is None:
        member = _optional(handle, "number")
    pv = None
    if keys["typeOfLevel"] == "hybrid" and _optional(handle, "PVPresent"):
        pv = eccodes.codes_get_double_array(handle, "pv")
    return Message(
        path=path,
        index=index,
        name=canonical_name(short_name),
        short_name=short_name,
        type_of_level=keys["typeOfLevel"],
        level=keys["level"],
        member=member,
        step_minutes=_step_minutes(handle),
        reference=_reference_time(keys["dataDate"], keys["dataTime"]),
        grid_type=grid_type,
        grid=_grid_signature(handle, grid_type, path, index),
        size=keys["numberOfValues"],
        bitmap=bool(keys["bitmapPresent"]),
        handle=handle,
        pv=pv,
    )


def release(messages: list[Message]) -> None:
    """Free the ecCodes handles of ``messages``."""
    for message in messages:
        if message.handle is not None:
            eccodes.codes_release(message.handle)
            message.handle = None


def _decode_one(message: Message, out: np.ndarray) -> None:
    try:
        values = eccodes.codes_get_float_array(message.handle, "values")
    except eccodes.GribInternalError as error:
        raise InputError(
            f"{message.where()} cannot be decoded (corrupt data section?): {error}",
            path=message.path,
            field=message.name,
        ) from None
    if values.size != out.size:
        raise InputError(
            f"{message.where()} holds {values.size} values, the grid has {out.size}",
            path=message.path,
            field=message.name,
        )
    if message.bitmap:
        missing = eccodes.codes_get_double(message.handle, "missingValue")
        values[values == np.float32(missing)] = np.nan
    out[...] = values.reshape(out.shape)


def decode_into(jobs: list[tuple[Message, np.ndarray]], threads: int | None = None) -> None:
    """Decode each message of ``jobs`` into its target float32 array view, ``threads`` at a time.

    Missing values (GRIB bitmap) become NaN.
    """
    threads = max(1, min(threads or os.cpu_count() or 1, len(jobs)))
    if threads == 1:
        for message, out in jobs:
            _decode_one(message, out)
        return
    with ThreadPoolExecutor(max_workers=threads, thread_name_prefix="nwpflow-decode") as pool:
        # list() re-raises the first error of any decode.
        list(pool.map(lambda job: _decode_one(*job), jobs))


def grid_coordinates(message: Message) -> dict[str, tuple[tuple[str, ...], np.ndarray, dict]]:
    """Horizontal coordinates of a regular or rotated lat-lon message, as ``{name: (dims, values, attrs)}``."""
    handle = message.handle
    if message.grid_type not in ("regular_ll", "rotated_ll"):
        return {}
    ni = eccodes.codes_get_long(handle, "Ni")
    nj = eccodes.codes_get_long(handle, "Nj")
    if eccodes.codes_get_long(handle, "iScansNegatively") or eccodes.codes_get_long(handle, "jPointsAreConsecutive"):
        raise InputError(
            f"{message.where()}: scanning mode with i negative or j consecutive is not supported",
            path=message.path,
            field=message.name,
        )
    lat = eccodes.codes_get_double_array(handle, "latitudes").reshape(nj, ni)
    lon = eccodes.codes_get_double_array(handle, "longitudes").reshape(nj, ni)
    lon = np.where(lon > 180.0, lon - 360.0, lon)
    coords = {
        "latitude": (("y", "x"), lat, {"units": "degrees_north", "standard_name": "latitude"}),
        "longitude": (("y", "x"), lon, {"units": "degrees_east", "standard_name": "longitude"}),
    }
    if message.grid_type == "rotated_ll":
        lat0 = eccodes.codes_get_double(handle, "latitudeOfFirstGridPointInDegrees")
        lon0 = eccodes.codes_get_double(handle, "longitudeOfFirstGridPointInDegrees")
        dlat = eccodes.codes_get_double(handle, "jDirectionIncrementInDegrees")
        dlon = eccodes.codes_get_double(handle, "iDirectionIncrementInDegrees")
        sign = 1.0 if eccodes.codes_get_long(handle, "jScansPositively") else -1.0
        lon0 = lon0 - 360.0 if lon0 > 180.0 else lon0
        coords["rlat"] = ("y", lat0 + sign * dlat * np.arange(nj), {
            "units": "degrees", "standard_name": "grid_latitude"})
        coords["rlon"] = ("x", lon0 + dlon * np.arange(ni), {
            "units": "degrees", "standard_name": "grid_longitude"})
    return coords


def rotated_pole_attrs(message: Message) -> dict:
    """CF ``grid_mapping`` attributes of a rotated lat-lon message."""
    handle = message.handle
    south_lat = eccodes.codes_get_double(handle, "latitudeOfSouthernPoleInDegrees")
    south_lon = eccodes.codes_get_double(handle, "longitudeOfSouthernPoleInDegrees")
    north_lon = south_lon - 180.0 if south_lon > 0.0 else south_lon + 180.0
    return {
        "grid_mapping_name": "rotated_latitude_longitude",
        "grid_north_pole_latitude": -south_lat,
        "grid_north_pole_longitude": north_lon,
        "north_pole_grid_longitude": 0.0,
    }
