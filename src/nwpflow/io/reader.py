"""Read a model run (GRIB or NetCDF files) into the normalised data model of :mod:`nwpflow.io.datamodel`.

``open_run(files, fields)`` reads every header once, selects the messages the requested fields need,
decodes each of them exactly once (in parallel), and assembles one :class:`xarray.Dataset`. Nothing is
dropped silently: every message of a file either becomes part of a variable or was not asked for,
two messages that claim the same place are an error, and a field that is asked for but absent is an
error that names the files and lists what they hold.

Nothing is returned incomplete or implausible either: every field has every level the model has
(:mod:`nwpflow.io.vertical`), and the members and lead times a request names; decoded values are
checked against their field's physical range (:mod:`nwpflow.io.checks`).

IFS files on hybrid model levels are turned into the same data model: full-level pressure ``P`` and
half-level heights ``HHL`` are computed from the A/B coefficients (``pv`` key), ``lnsp``, ``T``, ``QV``
and the surface geopotential (:mod:`nwpflow.io.ifs`).
"""

from __future__ import annotations

import os
from collections import Counter, defaultdict
from collections.abc import Iterable
from datetime import datetime, timezone

import numpy as np
import xarray as xr

from nwpflow.errors import InputError
from nwpflow.io import grib, vertical
from nwpflow.io.checks import check_values, invalid_values_mode
from nwpflow.io.datamodel import (
    FIELDS,
    FULL,
    HALF,
    LEAD_DIMS,
    SURFACE,
    VERTICAL_LEVEL_TYPES,
    canonical_name,
    fields_where,
)
from nwpflow.io.formats import file_format
from nwpflow.io.grib2_codes import local_name
from nwpflow.io.ifs import HYBRID_DERIVED, HYBRID_SURFACE_FIELDS, derive_hybrid

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
    members: Iterable[int] | None = None,
    lead_times: Iterable | None = None,
    reference_times: Iterable | None = None,
    invalid_values: str = "error",
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
    members, lead_times, reference_times
        The ensemble members, lead times (hours, or ``timedelta64``) and reference times (``datetime64``,
        where files hold several analyses, as ERA5's) the request needs: every field that depends on them
        must have each of them, and only these are returned (one as a scalar coordinate). A file that does
        not say which member it is counts as any member. ``None``: whatever the files hold.
    invalid_values
        What to do with decoded values outside their field's physical range or not finite
        (:mod:`nwpflow.io.checks`): ``"error"`` (default), ``"missing"`` (NaN) or ``"ignore"``.

    Returns
    -------
    xarray.Dataset
        Fields in SI units, float32, dims ``([member,] [step,] level|half_level, *horizontal)``.

    Raises
    ------
    nwpflow.InputError
        Unreadable, truncated or corrupt file; field missing, or lacking levels, members or lead times;
        grids that disagree; duplicate messages; implausible values
        (:class:`~nwpflow.errors.ImplausibleValuesError`).
    """
    invalid_values_mode(invalid_values)
    paths = _as_paths(paths)
    wanted = None if fields is None else list(dict.fromkeys(fields))
    by_format = defaultdict(list)
    for path in paths:
        by_format[_format(path)].append(path)
    parts = []
    if by_format["grib"]:
        parts.append(_open_grib(by_format["grib"], wanted, threads, invalid_values))
    if by_format["netcdf"]:
        from nwpflow.io.netcdf import open_netcdf

        parts.append(open_netcdf(by_format["netcdf"], wanted, invalid_values))
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
    _check_model_levels(dataset, paths)
    dataset = _select(dataset, members, lead_times, reference_times, paths)
    dataset.attrs["source_files"] = [os.path.abspath(p) for p in paths]
    return dataset


def _check_model_levels(dataset: xr.Dataset, paths: list[str]) -> None:
    """Full and half model levels of a run must be ``1..N`` and ``1..N+1`` (also where they come from
    different files or formats: T of a cut GRIB file with HHL of a NetCDF constants file)."""
    full = dataset[FULL].values if FULL in dataset.coords else None
    half = dataset[HALF].values if HALF in dataset.coords else None
    count = max(len(full) if full is not None else 0, len(half) - 1 if half is not None else 0)
    for dim, levels, expected in ((FULL, full, count), (HALF, half, count + 1)):
        if levels is None or np.array_equal(levels, np.arange(1, expected + 1)):
            continue
        users = [name for name in dataset.data_vars if dim in dataset[name].dims]
        absent = sorted(set(range(1, expected + 1)) - set(int(v) for v in levels))
        raise InputError(
            f"{', '.join(users)} on {dim.replace('_', ' ')}s {vertical.level_ranges(levels)} of the model's "
            f"{expected} (from {'half levels' if dim == FULL else 'full levels'} of the other fields); missing "
            f"{vertical.level_ranges(absent) or 'none, but others are extra'} (files: {', '.join(paths)}): a file is "
            "truncated or belongs to another model", field=users[0] if users else None)


def _select(dataset: xr.Dataset, members, lead_times, reference_times, paths: list[str]) -> xr.Dataset:
    """The requested members, lead times and reference times of ``dataset`` (:func:`open_run`), each of
    which must be there."""
    request = {}
    if members is not None:
        request["member"] = [int(m) for m in members]
    if lead_times is not None:
        request["step"] = [_lead_time(t) for t in lead_times]
    if reference_times is not None:
        request["time"] = [np.datetime64(t).astype("datetime64[ns]") for t in reference_times]
    for dim, wanted in request.items():
        if dim not in dataset.coords:
            continue  # the files do not say which member they are
        held = list(np.atleast_1d(dataset[dim].values))
        absent = [value for value in wanted if value not in held]
        if absent:
            def show(values):
                return ", ".join(_hours(v) if dim == "step" else str(v) for v in values)

            users = [name for name in dataset.data_vars if dim in dataset[name].dims or dataset[name].dims == ()]
            users = users or [name for name in dataset.data_vars if name not in TIME_INVARIANT_FIELDS]
            label = {"member": "member", "step": "lead time", "time": "reference time"}[dim]
            raise InputError(
                f"{label} {show(absent)} not in {', '.join(repr(p) for p in paths)} (they hold {label} {show(held)}): "
                f"the request names files of another {label}, a file is mislabelled, or it is incomplete",
                field=", ".join(users) or None)
        if dataset[dim].ndim:
            dataset = dataset.sel({dim: wanted[0] if len(wanted) == 1 else wanted})
    return dataset


def _lead_time(value) -> np.timedelta64:
    """A lead time of a request: whole hours (int) or a ``timedelta64``/``timedelta``, as ``timedelta64[ns]``."""
    if isinstance(value, (int, np.integer)) and not isinstance(value, np.timedelta64):
        return np.timedelta64(int(value), "h").astype("timedelta64[ns]")
    return np.timedelta64(value).astype("timedelta64[ns]")


def _hours(step) -> str:
    minutes = int(np.timedelta64(step).astype("timedelta64[m]").astype(np.int64))
    return f"{minutes // 60} h" if minutes % 60 == 0 else f"{minutes} min"


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


def read_field(path: str | os.PathLike, field: str | None = None, *, invalid_values: str = "error",
               ) -> tuple[xr.DataArray, dict[np.timedelta64, float]]:
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
    invalid_values : {"error", "missing", "ignore"}
        Values outside the field's physical range or not finite, as :func:`open_run`.

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
    invalid_values_mode(invalid_values)
    path = _as_paths(path)[0]
    if _format(path) == "grib":
        if field is None:
            raise InputError("give the field to read from this GRIB file", path=path)
        return _read_grib_field(path, field, invalid_values)
    return _read_netcdf_field(path, field, invalid_values)


def _read_grib_field(path: str, field: str, invalid: str) -> tuple[xr.DataArray, dict[np.timedelta64, float]]:
    messages = grib.scan(path, threads=1)
    try:
        dataset = _assemble(messages, [path], [field], threads=1, invalid=invalid)
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


def _read_netcdf_field(path: str, field: str | None, invalid: str) -> tuple[xr.DataArray, dict[np.timedelta64, float]]:
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
    name = field or chosen
    if name in FIELDS and np.issubdtype(data.dtype, np.floating):  # a model field; products have no range
        values = np.array(data.values)
        check_values(values, name, path=path, where=f"variable {chosen!r}", invalid=invalid, nan_is_missing=True)
        data = data.copy(data=values)
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


def _open_grib(paths: list[str], wanted: list[str] | None, threads: int | None, invalid: str) -> xr.Dataset:
    messages: list[grib.Message] = []
    try:
        for path in paths:
            messages.extend(grib.scan(path, threads))
        return _assemble(messages, paths, wanted, threads, invalid)
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


def _assemble(messages, paths, wanted, threads, invalid: str = "error") -> xr.Dataset:
    _local_product_names(messages)
    levels_of = defaultdict(set)
    for m in messages:
        levels_of[(m.name, m.type_of_level)].add(m.level)
    kinds = {key: _vertical_kind(m, levels_of[key]) for m in messages for key in [(m.name, m.type_of_level)]}
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
        kind = kinds[(m.name, m.type_of_level)]
        key = m.name if len(types_of_name[m.name]) == 1 else f"{m.name}_{m.type_of_level}"
        variable = variables.setdefault(key, _Variable(key, kind, m.type_of_level))
        variable.messages.append(m)
    if not variables:
        return xr.Dataset()

    mass_grid, staggering, mass_message = _check_grids(variables, messages)
    # The levels every model-level field must have come from all messages of the files (the hybrid
    # coefficients, HHL's half levels, the other fields), not only from those read.
    verticals = vertical.vertical_layouts(variables, *vertical.model_levels(messages, kinds))
    # The run's members and lead times come from the time-dependent fields: the constants file's
    # (lead time 0, no member) would otherwise make a one-lead-time run look like two lead times and
    # drop its `step` coordinate whenever HHL or HSURF is read with it.
    # Where only constant fields are asked for, the other messages of the files say which member and
    # lead time they belong to.
    # A file that holds a field of the constants file (TIME_INVARIANT_FIELDS) is the constants file: its other
    # fields (e.g. land fraction) are constant too.
    constants_files = {m.path for m in messages if m.name in TIME_INVARIANT_FIELDS}
    timed = [m for v in variables.values() for m in v.messages if m.path not in constants_files]
    timed = timed or [m for m in messages if m.path not in constants_files]
    timed = timed or [m for v in variables.values() for m in v.messages]
    lead_values = {
        dim: sorted({key[i] for m in timed for key in [_lead_key(m)] if key[i] is not None})
        for i, dim in enumerate(LEAD_DIMS)
    }

    data_vars = {}
    jobs = []
    for variable in variables.values():
        array, dims, coords, var_jobs = _layout(variable, lead_values, verticals[variable.name], constants_files)
        jobs.extend(var_jobs)
        data_vars[variable.name] = (array, dims, coords)
    grib.decode_into(jobs, threads, invalid)

    dataset = xr.Dataset()
    for name, (array, dims, coords) in data_vars.items():
        dataset[name] = xr.DataArray(array, dims=dims, coords=coords,
                                     attrs=_attrs(name, variables[name].messages[0]))
        if name in staggering:
            dataset[name].attrs["staggering"] = staggering[name]

    first = next(iter(variables.values())).messages[0]
    _add_horizontal_coordinates(dataset, first, mass_message)
    if hybrid:
        dataset = derive_hybrid(dataset, variables, wanted, paths, invalid)
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


def _layout(variable: _Variable, lead_values: dict[str, list], layout: vertical.Vertical, constants_files: set[str]):
    """Allocate the array of one variable and pair every message with its slot.

    A variable of the constants file (``constants_files``: e.g. ``HHL`` and ``HSURF``), found at a single
    (member, time, step), is constant and gets no leading dims; any other variable must be present for
    every combination of the run, at every level of ``layout`` (:mod:`nwpflow.io.vertical`).
    """
    messages = variable.messages
    run_dims = [dim for dim in LEAD_DIMS if len(lead_values[dim]) > 1]
    keys = {_lead_key(m) for m in messages}
    constant = len(keys) == 1 and bool(run_dims) and all(m.path in constants_files for m in messages)
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
    vertical.check_levels(variable.name, layout, messages)
    for m in messages:
        unlabelled = [d for d in lead_dims if _lead_key(m)[LEAD_DIMS.index(d)] is None]
        if unlabelled:
            raise InputError(f"{m.where()} has no {unlabelled[0]} while the run's other messages have one "
                             f"({', '.join(map(str, lead_values[unlabelled[0]][:5]))}, ...): the message is corrupt or "
                             "belongs to another run", path=m.path, field=m.name)
    lead_coords = {dim: _lead_coordinate(dim, lead_values[dim]) for dim in lead_dims}
    hdims, hshape = _horizontal(messages[0])
    dims = tuple(lead_dims) + layout.dims + hdims
    lead_shape = tuple(len(lead_values[d]) for d in lead_dims)
    shape = lead_shape + tuple(len(layout.levels) for _ in layout.dims) + hshape
    array = np.empty(shape, dtype=np.float32)

    index_of = {dim: {value: i for i, value in enumerate(lead_values[dim])} for dim in lead_dims}
    level_index = {lev: i for i, lev in enumerate(layout.levels)}
    axis = {dim: i for i, dim in enumerate(LEAD_DIMS)}
    seen = {}
    jobs = []
    for m in messages:
        key = _lead_key(m)
        slot = tuple(index_of[d][key[axis[d]]] for d in lead_dims)
        if layout.dims:
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
    if layout.dims and len(seen) < int(np.prod(lead_shape, dtype=np.int64)) * len(layout.levels):
        missing_levels = defaultdict(list)
        for index in np.ndindex(*lead_shape):
            combo = tuple(lead_values[d][i] for d, i in zip(lead_dims, index))
            for level, position in level_index.items():
                if index + (position,) not in seen:
                    missing_levels[combo].append(level)
        raise vertical.missing_levels_error(variable.name, layout, dict(missing_levels), lead_dims, messages)
    return array, dims, {**lead_coords, **layout.coords}, jobs


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


__all__ = ["open_run", "read_field", "run_contents"]
