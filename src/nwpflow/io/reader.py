"""Read a model run (GRIB or NetCDF files) into the normalised data model of :mod:`nwpflow.io.datamodel`.

``open_run(files, fields)`` reads every header once, selects the messages the requested fields need,
decodes each of them exactly once (in parallel), and assembles one :class:`xarray.Dataset`. Nothing is
dropped silently: every message of a file either becomes part of a variable or was not asked for,
two messages that claim the same place are an error, and a field that is asked for but absent is an
error that names the files and lists what they hold.

IFS files on hybrid model levels are turned into the same data model: full-level pressure ``P`` and
half-level heights ``HHL`` are computed from the A/B coefficients (``pv`` key), ``lnsp``, ``T``, ``QV``
and the surface geopotential with :mod:`nwpflow.kernels.hybrid`.
"""

from __future__ import annotations

import os
from collections import Counter, defaultdict
from collections.abc import Iterable
from datetime import datetime, timezone

import numpy as np
import xarray as xr

from nwpflow import constants, kernels
from nwpflow.errors import InputError
from nwpflow.io import grib
from nwpflow.io.datamodel import (
    FIELDS,
    FULL,
    HALF,
    LEAD_DIMS,
    OTHER_LEVEL_DIMS,
    SURFACE,
    VERTICAL_LEVEL_TYPES,
    canonical_name,
    fields_where,
)
from nwpflow.io.formats import file_format
from nwpflow.io.grib2_codes import local_name

HYBRID_SURFACE_FIELDS = {"lnsp", "FI"}
"""Fields that IFS files put on hybrid level 1 although they are surface fields."""

HYBRID_DERIVED: dict[str, tuple[str, ...]] = {
    "P": ("lnsp",),
    "PS": ("lnsp",),
    "HHL": ("lnsp", "T", "QV", "FI"),
    "HSURF": ("FI",),
    "FIS": ("FI",),
}
"""Data-model fields computed from the raw fields of an IFS hybrid-level file."""

COORDINATE_FIELDS = fields_where(coordinate=True)
"""Fields that become the horizontal coordinates of ICON cells instead of data variables."""

TIME_INVARIANT_FIELDS = fields_where(time_invariant=True)
"""Fields of a model's constants file: they take no part in the run's members and lead times."""


def _format(path: str) -> str:
    kind = file_format(path)
    if kind is not None:
        return kind
    if os.path.getsize(path) == 0:
        raise InputError("the file is empty", path=path)
    raise InputError("neither GRIB nor NetCDF (unrecognised first bytes)", path=path)


def _as_paths(paths) -> list[str]:
    if isinstance(paths, (str, os.PathLike)):
        paths = [paths]
    result = [os.fspath(p) for p in paths]
    if not result:
        raise InputError("no input file given")
    for path in result:
        if not os.path.isfile(path):
            raise InputError("no such file", path=path)
    return result


def open_run(
    paths: str | os.PathLike | Iterable[str | os.PathLike],
    fields: Iterable[str] | None = None,
    *,
    threads: int | None = None,
) -> xr.Dataset:
    """Read the files of a model run into the normalised data model.

    Parameters
    ----------
    paths
        GRIB (1 or 2) and/or NetCDF files of one run: e.g. the files of one or several lead times and
        members plus the constants file. The format is recognised from the content.
    fields
        Data-model names of the fields to return (``None``: all). Only the messages these need are
        decoded.
    threads
        Threads decoding GRIB messages in parallel (default: all cores).

    Returns
    -------
    xarray.Dataset
        Fields in SI units, float32, dims ``([member,] [step,] level|half_level, *horizontal)``.

    Raises
    ------
    nwpflow.InputError
        Unreadable, truncated or corrupt file; field missing; grids that disagree; duplicate messages.
    """
    paths = _as_paths(paths)
    wanted = None if fields is None else list(dict.fromkeys(fields))
    by_format = defaultdict(list)
    for path in paths:
        by_format[_format(path)].append(path)
    parts = []
    if by_format["grib"]:
        parts.append(_open_grib(by_format["grib"], wanted, threads))
    if by_format["netcdf"]:
        from nwpflow.io.netcdf import open_netcdf

        parts.append(open_netcdf(by_format["netcdf"], wanted))
    dataset = parts[0] if len(parts) == 1 else _merge(parts, paths)
    if wanted is not None:
        missing = [name for name in wanted if name not in dataset.data_vars]
        if missing:
            held = ", ".join(sorted(dataset.data_vars)) or "nothing usable"
            raise InputError(
                f"not found in {', '.join(repr(p) for p in paths)} (they hold: {held})",
                field=missing[0],
            )
        dataset = dataset[wanted]
    dataset.attrs["source_files"] = [os.path.abspath(p) for p in paths]
    return dataset


def run_contents(paths: str | os.PathLike | Iterable[str | os.PathLike]) -> dict:
    """What a run's files hold, from their GRIB headers alone (no value is decoded): a job checks its
    products' inputs against it before reading (:func:`nwpflow.products.registry.check_inputs`).

    Returns ``{"sources", "fields", "grid_type", "uuid", "ncell"}``: the paths, the data-model fields
    (those computed from an IFS hybrid file's raw fields included; ``None`` where a NetCDF file is among
    the inputs, whose variables are only known once read), the grid type, ``uuidOfHGrid`` of an
    unstructured grid and the number of points of the grid most messages are on.
    """
    paths = _as_paths(paths)
    fields: set[str] | None = set()
    grids: Counter = Counter()
    for path in paths:
        if _format(path) != "grib":
            fields = None
            continue
        messages = grib.scan(path, threads=1)
        try:
            names = {m.name for m in messages}
            if fields is not None:
                fields |= names
                if any(m.type_of_level == "hybrid" for m in messages):
                    fields |= {name for name, raw in HYBRID_DERIVED.items() if set(raw) <= names}
            grids.update((m.grid_type, m.grid[2] if m.grid_type == "unstructured_grid" else None, m.size)
                         for m in messages)
        finally:
            grib.release(messages)
    grid_type, uuid, ncell = grids.most_common(1)[0][0] if grids else (None, None, 0)
    return {"sources": paths, "fields": fields, "grid_type": grid_type, "uuid": uuid, "ncell": ncell}


def _merge(parts: list[xr.Dataset], paths: list[str]) -> xr.Dataset:
    try:
        return xr.merge(parts, compat="no_conflicts", join="exact", combine_attrs="drop_conflicts")
    except ValueError as error:
        raise InputError(f"the GRIB and NetCDF inputs do not describe the same grid: {error}",
                         path=", ".join(paths)) from None


def read_field(path: str | os.PathLike, field: str | None = None) -> tuple[xr.DataArray, dict[np.timedelta64, float]]:
    """Read one field of one file, and the resolution its values were packed to at each lead time.

    This is how the fan-in products read their inputs: one product or field per file, of one member or
    lead time (or of several, as in an ERA5-style ensemble file).

    Parameters
    ----------
    path : path-like
        A GRIB file (only the field's messages are decoded), or a NetCDF file: nwpflow's own outputs, or
        one whose variable's ``GRIB_shortName`` names the field (cfgrib-made).
    field : str, optional
        The field's data-model name; optional for a NetCDF file with one data variable (bounds aside).

    Returns
    -------
    data : xarray.DataArray
        The field, named ``field`` (or the file's variable), ``member`` and ``step`` as dims or scalar
        coordinates.
    packing : dict
        ``{lead time: packing step}``: GRIB, the largest ``2^E 10^-D`` of the field's messages at each lead
        time (:func:`nwpflow.io.grib.packing_step`); NetCDF, the variable's ``scale_factor`` (else 0) at
        each of its lead times.
    """
    path = os.fspath(path)
    if not os.path.isfile(path):
        raise InputError("no such file", path=path)
    if _format(path) == "grib":
        if field is None:
            raise InputError("give the field to read from this GRIB file", path=path)
        return _read_grib_field(path, field)
    return _read_netcdf_field(path, field)


def _read_grib_field(path: str, field: str) -> tuple[xr.DataArray, dict[np.timedelta64, float]]:
    messages = grib.scan(path, threads=1)
    try:
        dataset = _assemble(messages, [path], [field], threads=1)
        if field not in dataset.data_vars:
            held = ", ".join(sorted({m.name for m in messages})) or "nothing"
            raise InputError(f"not found (the file holds: {held})", path=path, field=field)
        packing: dict[np.timedelta64, float] = {}
        for m in messages:
            if m.name == field:
                step = np.timedelta64(m.step_minutes, "m").astype("timedelta64[ns]")
                packing[step] = max(packing.get(step, 0.0), grib.packing_step(m))
    finally:
        grib.release(messages)
    return dataset[field], packing


def _read_netcdf_field(path: str, field: str | None) -> tuple[xr.DataArray, dict[np.timedelta64, float]]:
    try:
        dataset = xr.open_dataset(path, engine="netcdf4", decode_timedelta=True)
    except (OSError, ValueError) as error:
        raise InputError(f"cannot be read as GRIB or NetCDF: {error}", path=path) from None
    with dataset:
        names = [str(v) for v in dataset.data_vars if not str(v).endswith("_bounds")]
        if field is None:
            if len(names) != 1:
                raise InputError(f"holds {', '.join(names) or 'no variable'}: give the field to use", path=path)
            chosen = names[0]
        elif field in dataset.data_vars:
            chosen = field
        else:
            matches = [v for v in names if canonical_name(dataset[v].attrs.get("GRIB_shortName", v)) == field]
            if len(matches) != 1:
                raise InputError(f"not found (the file holds: {', '.join(names) or 'nothing'})", path=path,
                                 field=field)
            chosen = matches[0]
        data = dataset[chosen].load()
        quantum = float(abs(dataset[chosen].encoding.get("scale_factor", 0.0)))
    if "number" in data.coords and "member" not in data.coords:
        data = data.rename(number="member")
    data.name = field or chosen
    steps = list(data["step"].values.astype("timedelta64[ns]").reshape(-1)) if "step" in data.coords else [None]
    return data, {step: quantum for step in steps}


# --------------------------------------------------------------------------------------------- GRIB


def _vertical_kind(message: grib.Message, levels_of_name: set[int]) -> str:
    if message.type_of_level == "hybrid" and message.name in HYBRID_SURFACE_FIELDS and levels_of_name == {1}:
        return SURFACE
    return VERTICAL_LEVEL_TYPES.get(message.type_of_level, SURFACE)


def _raw_names_needed(wanted: list[str] | None, available: set[str], hybrid: bool) -> set[str] | None:
    if wanted is None:
        return None
    needed = set()
    for name in wanted:
        if name in available:
            needed.add(name)
        elif hybrid and name in HYBRID_DERIVED:
            needed.update(HYBRID_DERIVED[name])
        else:
            needed.add(name)  # reported as missing later, with the files' contents
    return needed | (set(COORDINATE_FIELDS) & available)


class _Variable:
    """Messages of one data-model variable and where each goes in its array."""

    def __init__(self, name: str, kind: str, type_of_level: str):
        self.name = name
        self.kind = kind
        self.type_of_level = type_of_level
        self.messages: list[grib.Message] = []


def _open_grib(paths: list[str], wanted: list[str] | None, threads: int | None) -> xr.Dataset:
    messages: list[grib.Message] = []
    try:
        for path in paths:
            messages.extend(grib.scan(path, threads))
        return _assemble(messages, paths, wanted, threads)
    finally:
        grib.release(messages)


def _lead_key(message: grib.Message) -> tuple:
    return (message.member, message.reference, message.step_minutes)


def _lead_coordinate(dim: str, values: list):
    if dim == "time":
        return np.array(values, dtype="datetime64[m]").astype("datetime64[ns]")
    if dim == "step":
        return np.array(values, dtype="timedelta64[m]").astype("timedelta64[ns]")
    return np.asarray(values)


def _assemble(messages, paths, wanted, threads) -> xr.Dataset:
    _local_product_names(messages)
    levels_of = defaultdict(set)
    for m in messages:
        levels_of[(m.name, m.type_of_level)].add(m.level)
    hybrid = any(m.type_of_level == "hybrid" for m in messages)
    available = {m.name for m in messages}
    needed = _raw_names_needed(wanted, available, hybrid)

    # Group the messages into variables; a name on several level types gets the type as suffix.
    types_of_name = defaultdict(set)
    for m in messages:
        types_of_name[m.name].add(m.type_of_level)
    variables: dict[str, _Variable] = {}
    for m in messages:
        if needed is not None and m.name not in needed:
            continue
        kind = _vertical_kind(m, levels_of[(m.name, m.type_of_level)])
        key = m.name if len(types_of_name[m.name]) == 1 else f"{m.name}_{m.type_of_level}"
        variable = variables.setdefault(key, _Variable(key, kind, m.type_of_level))
        variable.messages.append(m)
    if not variables:
        return xr.Dataset()

    mass_grid, staggering, mass_message = _check_grids(variables, messages)
    # The run's members and lead times come from the time-dependent fields: the constants file's
    # (lead time 0, no member) would otherwise make a one-lead-time run look like two lead times and
    # drop its `step` coordinate whenever HHL or HSURF is read with it.
    # Where only constant fields are asked for, the other messages of the files say which member and
    # lead time they belong to.
    timed = [m for v in variables.values() for m in v.messages if m.name not in TIME_INVARIANT_FIELDS]
    timed = timed or [m for m in messages if m.name not in TIME_INVARIANT_FIELDS]
    timed = timed or [m for v in variables.values() for m in v.messages]
    lead_values = {
        dim: sorted({key[i] for m in timed for key in [_lead_key(m)] if key[i] is not None})
        for i, dim in enumerate(LEAD_DIMS)
    }

    data_vars = {}
    jobs = []
    for variable in variables.values():
        array, dims, coords, var_jobs = _layout(variable, lead_values)
        jobs.extend(var_jobs)
        data_vars[variable.name] = (array, dims, coords)
    grib.decode_into(_decode_ieee(jobs), threads)

    dataset = xr.Dataset()
    for name, (array, dims, coords) in data_vars.items():
        dataset[name] = xr.DataArray(array, dims=dims, coords=coords,
                                     attrs=_attrs(name, variables[name].messages[0]))
        if name in staggering:
            dataset[name].attrs["staggering"] = staggering[name]

    first = next(iter(variables.values())).messages[0]
    _add_horizontal_coordinates(dataset, first, mass_message)
    if hybrid:
        dataset = _derive_hybrid(dataset, variables, wanted, paths)
    for dim, values in lead_values.items():
        if len(values) == 1:
            dataset = dataset.assign_coords({dim: _lead_coordinate(dim, values)[0]})
    if "time" in dataset.coords and "step" in dataset.coords:
        dataset = dataset.assign_coords(valid_time=dataset["time"] + dataset["step"])
    dataset.attrs.update(
        Conventions="CF-1.10",
        history=f"{datetime.now(timezone.utc):%Y-%m-%dT%H:%M:%SZ} read by nwpflow from GRIB",
        grid_type=first.grid_type,
    )
    if first.grid_type == "unstructured_grid" and first.grid[2]:
        dataset.attrs["uuidOfHGrid"] = first.grid[2]
    return dataset


def _decode_ieee(jobs: list[tuple[grib.Message, np.ndarray]]) -> list[tuple[grib.Message, np.ndarray]]:
    """Decode the IEEE-packed messages of ``jobs`` (nwpflow's own GRIB2 output) and return the others.

    ecCodes 2.47 cannot unpack ``grid_ieee`` data as float ("Function not yet implemented"), which
    :func:`nwpflow.io.grib.decode_into` asks for: these are unpacked as double and cast, which is exact for
    32-bit IEEE values. Missing values (bitmap) become NaN.
    """
    others = []
    for message, out in jobs:
        if grib.eccodes.codes_get_string(message.handle, "packingType") != "grid_ieee":
            others.append((message, out))
            continue
        values = grib.eccodes.codes_get_double_array(message.handle, "values")
        if values.size != out.size:
            raise InputError(f"{message.where()} holds {values.size} values, the grid has {out.size}",
                             path=message.path, field=message.name)
        out[...] = values.reshape(out.shape)
        if message.bitmap:
            missing = grib.eccodes.codes_get_double(message.handle, "missingValue")
            out[values.reshape(out.shape) == missing] = np.nan
    return others


def _local_product_names(messages: list[grib.Message]) -> None:
    """Name the messages of nwpflow's local GRIB2 parameters (``shortName`` "unknown" to ecCodes) by their
    product (:func:`nwpflow.io.grib2_codes.local_name`)."""
    for m in messages:
        if m.short_name != "unknown":
            continue
        keys = [grib.eccodes.codes_get_long(m.handle, k) if grib.eccodes.codes_is_defined(m.handle, k) else -1
                for k in ("discipline", "parameterCategory", "parameterNumber")]
        name = local_name(*keys)
        if name is not None:
            m.name = name


def _check_grids(variables: dict[str, _Variable], messages: list[grib.Message]) -> tuple[tuple, dict[str, str],
                                                                                     grib.Message]:
    """Return the mass-point grid, and the C-grid staggering of variables on a shifted grid.

    Every message must be on the mass grid, or on the same grid shifted by half a grid length along x
    or y (COSMO's staggered U and V).
    """
    # The mass grid is the one most messages of the files are on (all of them, not only the selected:
    # a run read for U and V alone still has T, P, HHL... on the mass points).
    counts = Counter(m.grid for m in messages)
    mass_grid = counts.most_common(1)[0][0]
    mass_example = next(m for m in messages if m.grid == mass_grid)
    staggering = {}
    for variable in variables.values():
        for m in variable.messages:
            if m.grid == mass_grid:
                continue
            shift = _staggering(m.grid, mass_grid, m.grid_type)
            if shift is None or staggering.get(variable.name, shift) != shift:
                raise InputError(
                    f"{m.where()} is on another grid than {mass_example.name!r} in {mass_example.path!r} "
                    f"({m.grid_type} {m.grid} against {mass_example.grid_type} {mass_grid})",
                    path=m.path,
                    field=m.name,
                )
            staggering[variable.name] = shift
    return mass_grid, staggering, mass_example


def _staggering(grid: tuple, mass: tuple, grid_type: str) -> str | None:
    if grid_type not in ("regular_ll", "rotated_ll") or len(grid) != len(mass):
        return None
    keys = grib.GRID_KEYS[grid_type]
    g = dict(zip(keys, grid))
    m = dict(zip(keys, mass))
    same = [k for k in keys if "FirstGridPoint" not in k and "LastGridPoint" not in k]
    if any(g[k] != m[k] for k in same):
        return None
    half_dx = 0.5 * m["iDirectionIncrementInDegrees"]
    half_dy = 0.5 * m["jDirectionIncrementInDegrees"]

    def close(a, b):
        return abs(a - b) < 1e-6 * max(1.0, abs(b))

    dlon = g["longitudeOfFirstGridPointInDegrees"] - m["longitudeOfFirstGridPointInDegrees"]
    dlat = g["latitudeOfFirstGridPointInDegrees"] - m["latitudeOfFirstGridPointInDegrees"]
    if close(dlon, half_dx) and close(dlat, 0.0):
        return "x"
    if close(dlat, half_dy) and close(dlon, 0.0):
        return "y"
    return None


def _horizontal(message: grib.Message) -> tuple[tuple[str, ...], tuple[int, ...]]:
    if message.grid_type == "unstructured_grid":
        # numberOfDataPoints: numberOfValues (message.size) counts only the values present under a bitmap
        return ("cell",), (grib.eccodes.codes_get_long(message.handle, "numberOfDataPoints"),)
    keys = dict(zip(grib.GRID_KEYS[message.grid_type], message.grid))
    return ("y", "x"), (keys["Nj"], keys["Ni"])


def _layout(variable: _Variable, lead_values: dict[str, list]):
    """Allocate the array of one variable and pair every message with its slot.

    A variable found at a single (member, time, step) while the run has several is a constant field
    (e.g. ``HHL`` and ``HSURF`` of the constants file) and gets no leading dims; any other variable
    must be present for every combination of the run.
    """
    messages = variable.messages
    run_dims = [dim for dim in LEAD_DIMS if len(lead_values[dim]) > 1]
    keys = {_lead_key(m) for m in messages}
    constant = len(keys) == 1 and bool(run_dims)
    lead_dims = [] if constant else run_dims
    if not constant:
        axis = {dim: i for i, dim in enumerate(LEAD_DIMS)}
        present = {tuple(key[axis[d]] for d in run_dims) for key in keys}
        expected = {combo for combo in np.ndindex(*[len(lead_values[d]) for d in run_dims])}
        expected = {tuple(lead_values[d][i] for d, i in zip(run_dims, combo)) for combo in expected}
        missing = expected - present
        if missing:
            example = ", ".join(f"{d} {v}" for d, v in zip(run_dims, sorted(missing, key=str)[0]))
            raise InputError(
                f"present for {len(present)} of the run's {len(expected)} {'/'.join(run_dims)} combinations; "
                f"missing e.g. {example} (lead times in minutes; files: "
                f"{', '.join(sorted({m.path for m in messages}))})",
                field=variable.name,
            )
    lead_coords = {dim: _lead_coordinate(dim, lead_values[dim]) for dim in lead_dims}
    levels = sorted({m.level for m in messages})
    hdims, hshape = _horizontal(messages[0])
    if variable.kind in (FULL, HALF):
        vdims, vcoord = (variable.kind,), {variable.kind: np.asarray(levels, dtype=np.int32)}
    elif len(levels) > 1:
        dim, factor, attrs = OTHER_LEVEL_DIMS.get(variable.type_of_level, (variable.type_of_level, 1, {}))
        vdims = (dim,)
        vcoord = {dim: xr.Variable(dim, np.asarray(levels) * factor, attrs)}
    else:
        vdims, vcoord = (), {}
    dims = tuple(lead_dims) + vdims + hdims
    shape = tuple(len(lead_values[d]) for d in lead_dims) + tuple(len(levels) for _ in vdims) + hshape
    array = np.empty(shape, dtype=np.float32)

    index_of = {dim: {value: i for i, value in enumerate(lead_values[dim])} for dim in lead_dims}
    level_index = {lev: i for i, lev in enumerate(levels)}
    axis = {dim: i for i, dim in enumerate(LEAD_DIMS)}
    seen = {}
    jobs = []
    for m in messages:
        key = _lead_key(m)
        slot = tuple(index_of[d][key[axis[d]]] for d in lead_dims)
        if vdims:
            slot += (level_index[m.level],)
        if slot in seen:
            other = seen[slot]
            raise InputError(
                f"{m.where()} duplicates {other.where()} of {other.path!r} (level {m.level}, member {m.member}, "
                f"reference time {m.reference}, lead time {m.step_minutes} min): which one is meant is ambiguous",
                path=m.path,
                field=m.name,
            )
        seen[slot] = m
        jobs.append((m, array[slot]))
    return array, dims, {**lead_coords, **vcoord}, jobs


def _attrs(name: str, message: grib.Message) -> dict:
    info = FIELDS.get(name)
    attrs = {"GRIB_shortName": message.short_name, "GRIB_typeOfLevel": message.type_of_level}
    if info is None:
        attrs["units"] = grib.eccodes.codes_get_string(message.handle, "units")
        attrs["long_name"] = grib.eccodes.codes_get_string(message.handle, "name")
    else:
        attrs.update(units=info.units, long_name=info.long_name)
        if info.standard_name:
            attrs["standard_name"] = info.standard_name
    return attrs


def _add_horizontal_coordinates(dataset: xr.Dataset, first: grib.Message, mass: grib.Message) -> None:
    if first.grid_type == "unstructured_grid":
        if "CLAT" in dataset and "CLON" in dataset:
            lat = dataset["CLAT"]
            lon = dataset["CLON"]
            if set(lat.dims) != {"cell"}:
                raise InputError("CLAT must be one field on cells", field="CLAT", path=first.path)
            dataset.coords["latitude"] = ("cell", lat.values.astype(np.float64), {
                "units": "degrees_north", "standard_name": "latitude"})
            dataset.coords["longitude"] = ("cell", lon.values.astype(np.float64), {
                "units": "degrees_east", "standard_name": "longitude"})
            for name in COORDINATE_FIELDS:
                del dataset[name]
        return
    for name, (dims, values, attrs) in grib.grid_coordinates(mass).items():
        dataset.coords[name] = (dims, values, attrs)
    if first.grid_type == "rotated_ll":
        dataset.coords["rotated_pole"] = ((), 0, grib.rotated_pole_attrs(mass))
        for name in dataset.data_vars:
            dataset[name].attrs["grid_mapping"] = "rotated_pole"


def _derive_hybrid(dataset: xr.Dataset, variables, wanted, paths) -> xr.Dataset:
    """Turn the raw fields of an IFS hybrid-level file into P, PS, HHL, HSURF and FIS."""
    want = set(wanted) if wanted is not None else set(HYBRID_DERIVED)
    want &= set(HYBRID_DERIVED)
    want -= {name for name in want if name in dataset and name not in HYBRID_SURFACE_FIELDS}
    if not want:
        return dataset
    pv = next((m.pv for v in variables.values() for m in v.messages if m.pv is not None), None)
    if pv is None:
        raise InputError("hybrid-level messages carry no A/B coefficients (pv key)", path=", ".join(paths),
                         field="pv")
    nhalf = pv.size // 2
    a, b = pv[:nhalf].astype(np.float64), pv[nhalf:].astype(np.float64)
    for name in sorted({raw for derived in want for raw in HYBRID_DERIVED[derived]}):
        if name not in dataset:
            held = ", ".join(sorted(dataset.data_vars))
            raise InputError(
                f"needed to compute {', '.join(sorted(d for d in want if name in HYBRID_DERIVED[d]))} on hybrid "
                f"levels but not found in {', '.join(repr(p) for p in paths)} (they hold: {held})",
                field=name,
            )
    out = {}
    if "lnsp" in dataset:
        ps = np.exp(dataset["lnsp"].astype(np.float64))
        out["PS"] = ps.astype(np.float32)
    if "FI" in dataset:
        fis = dataset["FI"]
        out["FIS"] = fis
        out["HSURF"] = xr.apply_ufunc(
            lambda phi: kernels.hybrid.geometric_height(np.ascontiguousarray(phi, dtype=np.float64),
                                                constants.earth_radius, constants.g).astype(np.float32),
            fis,
        )
    if want & {"P", "HHL"}:
        nlev = nhalf - 1
        t = dataset["T"] if "T" in dataset else None
        if "HHL" in want and t.sizes.get(FULL) != nlev:
            raise InputError(f"T has {t.sizes.get(FULL)} hybrid levels, the pv key describes {nlev}",
                             field="T", path=", ".join(paths))
        p_full, z_half = _hybrid_columns(a, b, dataset, nlev, "HHL" in want)
        out["P"] = p_full
        if z_half is not None:
            out["HHL"] = z_half
    for name in ("lnsp", "FI"):
        if name in dataset:
            dataset = dataset.drop_vars(name)
    for name, array in out.items():
        if wanted is not None and name not in wanted:
            continue
        info = FIELDS[name]
        array = array.astype(np.float32)
        array.attrs = {"units": info.units, "long_name": info.long_name,
                       "standard_name": info.standard_name, "derived_from": "IFS hybrid levels"}
        dataset[name] = array
    return dataset


def _hybrid_columns(a, b, dataset, nlev, with_heights):
    """Full-level pressure and half-level heights for every (member, step) of the run."""
    ps = np.exp(dataset["lnsp"].astype(np.float64))
    hdims = [d for d in dataset["lnsp"].dims if d in ("cell", "y", "x")]
    lead = [d for d in ps.dims if d not in hdims]
    ps_np = ps.transpose(*lead, *hdims).values
    ncol = int(np.prod([ps.sizes[d] for d in hdims]))
    lead_shape = ps_np.shape[: len(lead)]
    p_full = np.empty(lead_shape + (nlev, ncol), np.float32)
    z_half = np.empty(lead_shape + (nlev + 1, ncol), np.float32) if with_heights else None
    if with_heights:
        t = dataset["T"].transpose(*lead, FULL, *hdims).values.reshape(lead_shape + (nlev, ncol))
        q = dataset["QV"].transpose(*lead, FULL, *hdims).values.reshape(lead_shape + (nlev, ncol))
        fis = dataset["FI"]
        fis_lead = [d for d in fis.dims if d not in hdims]
        fis_np = fis.transpose(*fis_lead, *hdims).values.reshape(-1, ncol)
    for index in np.ndindex(*lead_shape):
        ps_col = ps_np[index].reshape(ncol)
        if with_heights:
            fis_col = fis_np[0] if fis_np.shape[0] == 1 else fis_np[np.ravel_multi_index(index, lead_shape)]
            pf, zh = kernels.hybrid.hybrid_pressure_and_height(
                a, b, ps_col, t[index], q[index], fis_col,
                constants.ifs_Rd, constants.ifs_Rv / constants.ifs_Rd - 1.0, constants.earth_radius, constants.g,
            )
            z_half[index] = zh
        else:
            pf = kernels.hybrid.full_level_pressure(kernels.hybrid.half_level_pressure(a, b, ps_col))
        p_full[index] = pf
    level = np.arange(1, nlev + 1, dtype=np.int32)
    dims_full = (*lead, FULL, *hdims)
    hshape = tuple(ps.sizes[d] for d in hdims)
    coords = {d: ps[d] for d in lead if d in ps.coords}
    p_da = xr.DataArray(p_full.reshape(lead_shape + (nlev,) + hshape), dims=dims_full,
                        coords={**coords, FULL: level})
    z_da = None
    if with_heights:
        z_da = xr.DataArray(z_half.reshape(lead_shape + (nlev + 1,) + hshape), dims=(*lead, HALF, *hdims),
                            coords={**coords, HALF: np.arange(1, nlev + 2, dtype=np.int32)})
    return p_da, z_da


__all__ = ["open_run", "read_field", "run_contents"]
