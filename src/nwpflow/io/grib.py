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

import calendar
import logging
import mmap
import os
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

import cffi
import numpy as np
from gribapi import bindings as _library
from gribapi import gribapi as _binding

from nwpflow.errors import InputError
from nwpflow.io.checks import check_values, warn
from nwpflow.io.datamodel import canonical_name
from nwpflow.io.eccodes_env import eccodes
from nwpflow.io.formats import message_spans

CONCEPT_KEYS: tuple[str, ...] = ("shortName", "typeOfLevel")
"""String keys that ecCodes computes from its concept tables (0.4 ms a message, a third of the header's
cost): read once per :func:`concept_signature` and remembered in :data:`_CONCEPTS`."""

HEADER_KEYS: dict[str, type] = {
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
    mapping: object = field(default=None, repr=False)
    nlev: int | None = None
    """Half levels of the vertical grid (ICON/COSMO ``generalVertical`` levels: ecCodes key ``nlev``)."""

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


GENERAL_VERTICAL_TYPES = ("generalVerticalLayer", "generalVertical")
"""ICON's and COSMO's model levels (GRIB2 surface 150), whose messages say how many half levels the vertical
grid has (``nlev``)."""

MODEL_LEVEL_SURFACES = frozenset({105, 118, 150})
"""GRIB2 surface types (code table 4.5) numbered by model level: hybrid, hybrid height and generalized
vertical height. The concepts never depend on the level's number, only on the type."""

BASE_LAYOUT_TEMPLATES = frozenset(range(16))
"""Product definition templates 4.0-4.15, which share the layout of octets 10-34 (parameter, generating
process, forecast time, first and second fixed surface)."""

_CONCEPTS: dict[bytes, tuple[str, ...]] = {}
"""Values of :data:`CONCEPT_KEYS` by :func:`concept_signature`, for the whole process."""

_CONCEPTS_LIMIT = 100_000


def concept_signature(message) -> bytes | None:
    """The bytes of a GRIB2 message that its :data:`CONCEPT_KEYS` can depend on, or ``None`` (GRIB 1, or
    a message whose sections cannot be walked: ecCodes then reads the keys itself).

    They are the message's discipline and edition (section 0), section 1 without the reference time
    (octets 13-19), section 2 (local use) and section 4 without the forecast time (octets 19-22) and,
    for model-level surfaces (:data:`MODEL_LEVEL_SURFACES`) of the base-layout templates, without the
    surfaces' scale factors and values (octets 24-28 and 30-34). The 80 levels of one field of one file
    thus share one signature; fields, level types, statistics, ensemble numbers and local definitions
    do not. The grid (section 3) and data (sections 5-7) are left out: no concept reads them.
    """
    if len(message) < 16 or message[7] != 2:
        return None
    parts = [bytes(message[6:8])]
    position, end = 16, len(message) - 4
    while position + 5 <= end:
        length = int.from_bytes(message[position:position + 4], "big")
        number = message[position + 4]
        if length < 5 or position + length > end:
            return None
        section = message[position:position + length]
        if number == 1:
            parts.append(bytes(section[:12]) + bytes(section[19:]))
        elif number == 2:
            parts.append(bytes(section))
        elif number == 4:
            if length < 34:
                return None
            template = int.from_bytes(section[7:9], "big")
            if template in BASE_LAYOUT_TEMPLATES and section[22] in MODEL_LEVEL_SURFACES:
                parts.append(bytes(section[:18]) + bytes(section[22:23]) + bytes(section[28:29])
                             + bytes(section[34:]))
            else:
                parts.append(bytes(section[:18]) + bytes(section[22:]))
            return b"|".join(parts)
        position += length
    return None


def _concepts(handle, signature: bytes | None) -> tuple[str, ...]:
    names = _CONCEPTS.get(signature) if signature is not None else None
    if names is None:
        names = tuple(eccodes.codes_get_string(handle, key) for key in CONCEPT_KEYS)
        if signature is not None:
            if len(_CONCEPTS) >= _CONCEPTS_LIMIT:
                _CONCEPTS.clear()
            _CONCEPTS[signature] = names
    return names


def _reference_time(date: int, time: int, path: str, index: int) -> np.datetime64:
    """The reference time of ``dataDate`` (YYYYMMDD) and ``dataTime`` (hhmm); an impossible one (month 13,
    31 April, hour 25) is an :class:`~nwpflow.errors.InputError` naming the message."""
    year, month, day = date // 10000, date // 100 % 100, date % 100
    hour, minute = time // 100, time % 100
    if not (1 <= year <= 9999 and 1 <= month <= 12 and 1 <= day <= calendar.monthrange(year, month)[1]
            and 0 <= hour <= 23 and 0 <= minute <= 59):
        raise InputError(f"message {index + 1} has an impossible reference time (dataDate {date}, dataTime "
                         f"{time}): the message is corrupt", path=path)
    return np.datetime64(f"{year:04d}-{month:02d}-{day:02d}T{hour:02d}:{minute:02d}", "m")


_STEP_UNIT_MINUTES = {"s": 1 / 60, "m": 1, "h": 60, "": 60, "D": 1440}


def _step_minutes(handle) -> int:
    """End of the forecast time range in minutes (the valid time of accumulations and maxima too).

    ecCodes writes ``endStep`` with a unit suffix unless the unit is hours (``"60m"``, ``"1"``, ``"30s"``);
    reading it as a string leaves the handle unmodified (setting ``stepUnits`` would not)."""
    text = eccodes.codes_get_string(handle, "endStep")
    number = text.rstrip("smhDMY")
    unit = text[len(number):]
    if unit not in _STEP_UNIT_MINUTES or not number.lstrip("-").isdigit():
        raise eccodes.GribInternalError(-1)
    return round(int(number) * _STEP_UNIT_MINUTES[unit])


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


_ffi = cffi.FFI()
_ffi.cdef("""
void* grib_handle_new_from_message(void* context, const void* data, size_t data_len);
typedef void (*grib_log_proc)(const void* context, int level, const char* message);
void* grib_context_get_default(void);
void grib_context_set_logging_proc(void* context, grib_log_proc proc);
""")
_lib = _ffi.dlopen(_library.library_path)

ECCODES_LOG = logging.getLogger("nwpflow.eccodes")
"""Where ecCodes' own messages go (INFO): a job's log, ``nwpflow --verbose``. They are about messages the
reader then refuses with an error of its own, naming the file and the message; on standard error they
would come before the CLI's one line."""


@_ffi.callback("void(const void*, int, const char*)")
def _eccodes_message(context, level, message) -> None:
    try:
        ECCODES_LOG.info("ecCodes: %s", _ffi.string(message).decode(errors="replace").strip())
    except Exception:  # noqa: BLE001 - a logging failure must not unwind through C
        pass


_lib.grib_context_set_logging_proc(_lib.grib_context_get_default(), _eccodes_message)


def _handle_in_place(part) -> int:
    """An ecCodes handle over the message bytes ``part`` without copying them (ecCodes' public C
    function ``grib_handle_new_from_message``, which the Python binding does not expose: it only has the
    copying variant). The bytes must outlive the handle: :func:`scan` keeps the file mapped until the
    run's handles are released."""
    handle = _lib.grib_handle_new_from_message(_ffi.NULL, _ffi.from_buffer(part), len(part))
    if handle == _ffi.NULL:
        raise eccodes.GribInternalError(-1)
    return int(_ffi.cast("size_t", handle))


def scan(path: str | os.PathLike, threads: int | None = None) -> list[Message]:
    """Read the header of every message of a GRIB file (no data is decoded), ``threads`` at a time.

    The file is memory-mapped and split into messages from their section 0; each message becomes an
    ecCodes handle (a copy) and its header keys are read, in a thread pool. Raises
    :class:`~nwpflow.errors.InputError` for a file that is empty, is not GRIB, or holds a truncated or
    corrupt message.
    """
    path = os.fspath(path)
    if os.path.getsize(path) == 0:
        raise InputError("the file is empty", path=path)
    with open(path, "rb") as f:
        data = mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ)
    pieces = message_spans(path, data)
    if pieces is None:
        return _scan_sequentially(path)
    if not pieces:
        raise InputError("no GRIB message found: not a GRIB file", path=path)
    view = memoryview(data)

    def read(job):
        index, (start, length) = job
        try:
            handle = _handle_in_place(view[start:start + length])
        except eccodes.GribInternalError as error:
            raise InputError(f"message {index + 1} (at byte {start}) is corrupt: {error}", path=path) from None
        try:
            message = _header(handle, path, index, concept_signature(view[start:start + length]))
        except BaseException:
            eccodes.codes_release(handle)
            raise
        message.mapping = data  # the handle reads the mapped file: keep it mapped as long as the handle
        return message

    return _map(read, list(enumerate(pieces)), threads, release_on_error=True)


def _scan_sequentially(path: str) -> list[Message]:
    """ecCodes' own file reader, for GRIB 1 files with messages over 8 MB (large-file convention)."""
    messages: list[Message] = []
    with open(path, "rb") as f:
        while True:
            offset = f.tell()
            try:
                handle = eccodes.codes_grib_new_from_file(f)
            except eccodes.GribInternalError as error:
                release(messages)
                raise InputError(f"message {len(messages) + 1} (at byte {offset}) is truncated or corrupt: "
                                 f"{error}", path=path) from None
            if handle is None:
                return messages
            try:
                messages.append(_header(handle, path, len(messages)))
            except BaseException:
                eccodes.codes_release(handle)
                release(messages)
                raise


def _map(function, jobs: list, threads: int | None, release_on_error: bool = False) -> list:
    """``[function(job) for job in jobs]`` in a thread pool of ``threads`` (ecCodes releases the GIL)."""
    threads = max(1, min(threads or os.cpu_count() or 1, len(jobs)))
    if threads == 1:
        results = []
        try:
            for job in jobs:
                results.append(function(job))
        except BaseException:
            if release_on_error:
                release(results)
            raise
        return results
    with ThreadPoolExecutor(max_workers=threads, thread_name_prefix="nwpflow-grib") as pool:
        futures = [pool.submit(function, job) for job in jobs]
        results, first_error = [], None
        for future in futures:
            try:
                results.append(future.result())
            except BaseException as error:  # noqa: BLE001 - re-raised below, after every job ended
                first_error = first_error or error
    if first_error is not None:
        if release_on_error:
            release(results)
        raise first_error
    return results


def _header(handle, path: str, index: int, signature: bytes | None = None) -> Message:
    """The :class:`Message` of ``handle``; a header ecCodes cannot read, or whose keys contradict each other,
    is an :class:`~nwpflow.errors.InputError` naming the message."""
    try:
        return _read_header(handle, path, index, signature)
    except (eccodes.GribInternalError, ValueError, OverflowError) as error:
        if isinstance(error, InputError):
            raise
        raise InputError(f"message {index + 1} has an unreadable header: {error}", path=path) from None


def _read_header(handle, path: str, index: int, signature: bytes | None) -> Message:
    keys = {key: _get(handle, key, ktype) for key, ktype in HEADER_KEYS.items()}
    keys.update(zip(CONCEPT_KEYS, _concepts(handle, signature)))
    grid_type = keys["gridType"]
    short_name = keys["shortName"]
    member = _optional(handle, "perturbationNumber")
    if member is None:
        member = _optional(handle, "number")
    pv = nlev = None
    if keys["typeOfLevel"] == "hybrid" and _optional(handle, "PVPresent"):
        pv = eccodes.codes_get_double_array(handle, "pv")
    if keys["typeOfLevel"] in GENERAL_VERTICAL_TYPES:
        value = _optional(handle, "nlev", float)
        nlev = int(value) if value is not None and value == int(value) else None
    grid = _grid_signature(handle, grid_type, path, index)
    _check_sizes(handle, keys, grid_type, grid, path, index)
    return Message(
        path=path,
        index=index,
        name=canonical_name(short_name),
        short_name=short_name,
        type_of_level=keys["typeOfLevel"],
        level=keys["level"],
        member=member,
        step_minutes=_step_minutes(handle),
        reference=_reference_time(keys["dataDate"], keys["dataTime"], path, index),
        grid_type=grid_type,
        grid=grid,
        size=keys["numberOfValues"],
        bitmap=bool(keys["bitmapPresent"]),
        handle=handle,
        pv=pv,
        nlev=nlev,
    )


def _check_sizes(handle, keys: dict, grid_type: str, grid: tuple, path: str, index: int) -> None:
    """Refuse a message whose sections disagree on its number of points (section 3's grid and
    ``numberOfDataPoints``, section 5's ``numberOfValues``, the bitmap's length): a corrupt header, which
    would otherwise size arrays after whichever number is read first, or have ecCodes read a bitmap past
    the message's end."""
    points = _optional(handle, "numberOfDataPoints")
    values = keys["numberOfValues"]
    problem = None
    if points is None or points < 1:
        problem = f"no valid number of grid points ({points})"
    elif grid_type != "unstructured_grid":
        shape = dict(zip(GRID_KEYS[grid_type], grid))
        if shape["Ni"] is None or shape["Nj"] is None or shape["Ni"] * shape["Nj"] != points:
            problem = f"a grid of {shape['Ni']} x {shape['Nj']} points but {points} data points"
    if problem is None and (values > points or (not keys["bitmapPresent"] and values != points)):
        problem = f"{points} grid points but {values} values{'' if keys['bitmapPresent'] else ' and no bitmap'}"
    if problem is None and keys["bitmapPresent"]:
        section = "section6Length" if _optional(handle, "edition") == 2 else "section3Length"
        bitmap_bytes = (_optional(handle, section) or 0) - 6
        if bitmap_bytes * 8 < points:
            problem = f"a bitmap of {max(bitmap_bytes, 0)} bytes for {points} grid points"
    if problem is not None:
        raise InputError(f"message {index + 1} has {problem}: the message is corrupt", path=path)


def packing_step(message: Message) -> float:
    """Return the packing step ``2^E 10^-D`` of a simple- or CCSDS-packed message (``E``, ``D``: its binary
    and decimal scale factors): the resolution its values were rounded to. 0 for IEEE packing or a
    constant field (0 bits per value), which are exact. Reads header keys only."""
    handle = message.handle
    keys = {}
    for key in ("bitsPerValue", "binaryScaleFactor", "decimalScaleFactor"):
        keys[key] = eccodes.codes_get_long(handle, key) if eccodes.codes_is_defined(handle, key) else None
    if not keys["bitsPerValue"] or keys["binaryScaleFactor"] is None:
        return 0.0
    return 2.0 ** keys["binaryScaleFactor"] * 10.0 ** -(keys["decimalScaleFactor"] or 0)


def release(messages: list[Message]) -> None:
    """Free the ecCodes handles of ``messages``."""
    for message in messages:
        if message.handle is not None:
            eccodes.codes_release(message.handle)
            message.handle = None


def _get_float_array_into(handle, out: np.ndarray) -> None:
    """Decode the values of ``handle`` straight into the C-contiguous float32 array ``out``.

    ecCodes' C function ``grib_get_float_array`` takes the destination buffer; the Python binding's
    ``codes_get_float_array`` allocates a new array instead, which would cost a copy of every field.
    """
    length = _binding.ffi.new("size_t*", out.size)
    error = _binding.lib.grib_get_float_array(
        _binding.get_handle(handle), b"values", _binding.ffi.cast("float *", out.ctypes.data), length
    )
    _binding.GRIB_CHECK(error)


def _decode_one(message: Message, out: np.ndarray, invalid: str, report: list) -> None:
    handle = message.handle
    try:
        size = eccodes.codes_get_size(handle, "values")
        if size != out.size:
            raise InputError(
                f"{message.where()} holds {size} values, the grid has {out.size}",
                path=message.path,
                field=message.name,
            )
        packing = eccodes.codes_get_string(handle, "packingType")
        _check_packing(message, packing)
        if packing == "grid_ieee":
            # ecCodes 2.47 cannot unpack grid_ieee as float ("Function not yet implemented"): as double, then
            # cast, which is exact for nwpflow's own 32-bit IEEE output
            out[...] = eccodes.codes_get_double_array(handle, "values").reshape(out.shape)
        else:
            _get_float_array_into(handle, out)
        missing = None
        if message.bitmap:
            missing = out == np.float32(eccodes.codes_get_double(handle, "missingValue"))
    except eccodes.GribInternalError as error:
        raise InputError(
            f"{message.where()} cannot be decoded (corrupt data section?): {error}",
            path=message.path,
            field=message.name,
        ) from None
    check_values(out, message.name, path=message.path, where=message.where(), invalid=invalid, missing=missing,
                 report=report)  # sets the missing points to NaN


CCSDS_BLOCK_SIZES = (8, 16, 32, 64)
"""Block sizes CCSDS (libaec) compresses with."""


def _check_packing(message: Message, packing: str) -> None:
    """Refuse packing parameters that no encoder writes, before the decoder reads with them (found by
    ``tests/test_fuzz.py``): ecCodes reads simple-packed values past the end of a data section too short
    for them (a bus error on the mapped file), and libaec, behind ``grid_ccsds``, corrupts memory with a
    reference sample interval of 0."""
    handle = message.handle
    bits = _optional(handle, "bitsPerValue")
    problem = None
    if bits is not None and not 0 <= bits <= 64:
        problem = f"{bits} bits per value"
    elif packing in ("grid_simple", "grid_ieee") and bits:
        edition = _optional(handle, "edition")
        data_bytes = (_optional(handle, "section7Length") or 0) - 5 if edition == 2 else \
            (_optional(handle, "section4Length") or 0) - 11
        coded = _optional(handle, "numberOfCodedValues") or 0
        if coded * bits > 8 * data_bytes:
            problem = f"{coded} values of {bits} bits but {data_bytes} bytes of data"
    elif packing == "grid_ccsds":
        block, interval = _optional(handle, "ccsdsBlockSize"), _optional(handle, "ccsdsRsi")
        if block not in CCSDS_BLOCK_SIZES or interval is None or not 1 <= interval <= 4096 or not (bits or 0) <= 32:
            problem = (f"CCSDS block size {block}, reference sample interval {interval} and {bits} bits per value "
                       f"(block size {', '.join(map(str, CCSDS_BLOCK_SIZES))}; interval 1-4096; at most 32 bits)")
    if problem is not None:
        raise InputError(f"{message.where()} has {problem}: the message is corrupt", path=message.path,
                         field=message.name)


def decode_into(jobs: list[tuple[Message, np.ndarray]], threads: int | None = None, invalid: str = "error") -> None:
    """Decode each message of ``jobs`` into its target (a C-contiguous float32 view), in parallel, and check
    its values against the field's physical range (:func:`nwpflow.io.checks.check_values`; ``invalid``: what
    to do with bad values, :data:`nwpflow.io.checks.INVALID_VALUES`).

    Missing values (GRIB bitmap) become NaN.
    """
    report: list = []
    _map(lambda job: _decode_one(*job, invalid, report), jobs, threads)
    warn(report, invalid)


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
