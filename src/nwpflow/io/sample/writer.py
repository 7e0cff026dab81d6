"""The sample run as genuine GRIB2 files: MeteoSwiss's ICON/COSMO key conventions, written by ecCodes."""

from __future__ import annotations

import contextlib
import hashlib
import logging
import os
import pathlib
import tempfile
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass

import numpy as np

from nwpflow.io.datamodel import ACCUMULATED, FIELDS, FULL, HALF, MAXIMUM
from nwpflow.io.eccodes_env import eccodes
from nwpflow.io.sample.atmosphere import (
    _Columns,
    _full_level_height,
    _hydrostatic_step,
    _total_precipitation,
    _virtual_temperature,
)
from nwpflow.io.sample.geography import _Points, _Surface, _grid_points, _surface, _vertical_coefficients, _wind_to_grid
from nwpflow.io.sample.grid_file import write_grid_file
from nwpflow.io.sample.presets import PACKINGS, PRESETS, IconGrid, RotatedGrid, SamplePreset
from nwpflow.io.writer import atomic_output
from nwpflow.naming import CONSTANTS_FILE, model_file_name

log = logging.getLogger("nwpflow.io.sample")


# ----------------------------------------------------------------------------------------------------
# GRIB conventions (copied from MeteoSwiss ICON-CH1-EPS GRIB2, e.g. earthkit-data's tests/data/test_icon.grib)
# ----------------------------------------------------------------------------------------------------

REFERENCE_DATE = 20260715
"""Reference (analysis) date of every sample run, 00 UTC: a summer day, so convection is plausible."""

_SECTION1 = (
    ("centre", "lssw"),
    ("subCentre", 255),
    ("tablesVersion", 15),
    ("localTablesVersion", 1),
    ("significanceOfReferenceTime", 1),  # start of forecast
    ("dataDate", REFERENCE_DATE),
    ("dataTime", 0),
    ("productionStatusOfProcessedData", 1),  # operational test products, as MeteoSwiss's
)
_GENERATING_PROCESS_IDENTIFIER = 141  # as in MeteoSwiss ICON-CH1-EPS output
_TYPE_OF_ENSEMBLE_FORECAST = 192  # MeteoSwiss's (local) value
_NUMBER_OF_VGRID_USED = 4  # as in MeteoSwiss ICON-CH1-EPS output
_STEP_UNITS, _STEPS_PER_HOUR = "m", 60  # MeteoSwiss encodes lead times in minutes (ecCodes shows hours)


CONSTANT_FIELDS = ("HHL", "HSURF", "CLAT", "CLON")
"""Fields of the constants file, in the file's order (CLAT and CLON on ICON grids only)."""
MODEL_LEVEL_FIELDS = ("P", "T", "QV", "U", "V", "W", "QC", "QI", "CLC", "DBZ")
"""Fields on model levels of each member and lead time, in the file's order."""
SURFACE_FIELDS = ("PS", "T_2M", "TD_2M", "U_10M", "V_10M", "VMAX_10M", "TOT_PREC")
"""Fields on a surface of each member and lead time, after those on model levels."""
SAMPLE_FIELDS = CONSTANT_FIELDS + MODEL_LEVEL_FIELDS + SURFACE_FIELDS
"""Every field of a sample run; how each is encoded is the data model's (:data:`~nwpflow.io.datamodel.FIELDS`)."""

_LEVEL_TYPES = {FULL: "generalVerticalLayer", HALF: "generalVertical"}
_STATISTICS = {ACCUMULATED: "accum", MAXIMUM: "max"}


@dataclass(frozen=True)
class _Field:
    """How one field is encoded: its level type and, for statistics, the processing."""

    level_type: str  # "generalVerticalLayer", "generalVertical", "surface", "heightAboveGround"
    level: int = 0  # heightAboveGround level [m]
    statistic: str | None = None  # "accum" (from the model start) or "max" (over the previous hour)

    @classmethod
    def of(cls, name: str) -> _Field:
        """The encoding of field ``name`` from the data model's table."""
        info = FIELDS[name]
        if info.vertical in _LEVEL_TYPES:
            return cls(_LEVEL_TYPES[info.vertical], statistic=_STATISTICS.get(info.statistic))
        surface = info.grib2.surface
        level = 0 if surface.value is None else int(surface.value)
        return cls(info.grib2.type_of_level, level, _STATISTICS.get(info.statistic))


def _uuid(*parts: object) -> str:
    """Return a fixed 32-hex-digit uuid for what ``parts`` name (md5 of their text)."""
    return hashlib.md5("/".join(map(str, ("nwpflow-sample", *parts))).encode()).hexdigest()


def _hgrid_uuid(grid: IconGrid | RotatedGrid) -> str:
    return _uuid("icon-grid", grid.ncells) if isinstance(grid, IconGrid) else _uuid("rotated-grid", grid)


def grid_file_name(grid: IconGrid) -> str:
    """File name of an ICON-like sample's grid file (cell centres, neighbour table; :mod:`.grid_file`)."""
    return f"icon_grid_sample_{grid.ncells}.nc"



# ----------------------------------------------------------------------------------------------------
# GRIB encoding
# ----------------------------------------------------------------------------------------------------

def _grid_keys(grid: IconGrid | RotatedGrid, stagger: str | None = None) -> list[tuple[str, object]]:
    if isinstance(grid, IconGrid):
        return [
            ("gridDefinitionTemplateNumber", 101),  # unstructured_grid
            ("shapeOfTheEarth", 6),
            ("numberOfGridUsed", grid.number_of_grid_used),
            ("numberOfGridInReference", 1),  # cell centres
            ("uuidOfHGrid", _hgrid_uuid(grid)),
            ("numberOfDataPoints", grid.ncells),
        ]
    lon0 = grid.rlon0 + (0.5 * grid.dlon if stagger == "x" else 0.0)
    lat0 = grid.rlat0 + (0.5 * grid.dlat if stagger == "y" else 0.0)
    return [
        ("gridType", "rotated_ll"),
        ("shapeOfTheEarth", 6),
        ("Ni", grid.nx),
        ("Nj", grid.ny),
        ("iScansNegatively", 0),
        ("jScansPositively", 1),
        ("latitudeOfFirstGridPointInDegrees", round(lat0, 6)),
        ("longitudeOfFirstGridPointInDegrees", round(lon0 % 360.0, 6)),
        ("latitudeOfLastGridPointInDegrees", round(lat0 + (grid.ny - 1) * grid.dlat, 6)),
        ("longitudeOfLastGridPointInDegrees", round((lon0 + (grid.nx - 1) * grid.dlon) % 360.0, 6)),
        ("iDirectionIncrementInDegrees", grid.dlon),
        ("jDirectionIncrementInDegrees", grid.dlat),
        ("latitudeOfSouthernPoleInDegrees", grid.south_pole_lat),
        ("longitudeOfSouthernPoleInDegrees", grid.south_pole_lon),
        ("angleOfRotationInDegrees", 0.0),
        ("uvRelativeToGrid", 1),  # COSMO's winds are along the rotated grid's axes
    ]


@dataclass(frozen=True)
class _Encoding:
    """What every message of one run shares."""

    grid: IconGrid | RotatedGrid
    nlev: int
    packing: str
    bits_per_value: int
    ensemble_size: int

    @property
    def vgrid_uuid(self) -> str:
        return _uuid("vertical-grid", self.nlev, _hgrid_uuid(self.grid))


def _template(enc: _Encoding, name: str, spec: _Field, *, member: int | None, lead: int,
              stagger: str | None = None) -> int:
    """Return an ecCodes handle with every key of field ``name`` set except its level and values.

    ``member`` None makes a deterministic message (product template 0: the member-independent
    constants), else an ensemble one (template 1, or 11 for a statistic) with ``perturbationNumber``.
    """
    h = eccodes.codes_grib_new_from_samples("GRIB2")
    try:
        for key, value in (*_SECTION1, *_grid_keys(enc.grid, stagger)):
            eccodes.codes_set(h, key, value)
        if member is None:
            eccodes.codes_set(h, "typeOfProcessedData", 1)  # forecast
            eccodes.codes_set(h, "productDefinitionTemplateNumber", 0)
            eccodes.codes_set(h, "typeOfGeneratingProcess", 2)  # forecast
        else:
            eccodes.codes_set(h, "typeOfProcessedData", 5)  # control and perturbed forecast, as MeteoSwiss's
            eccodes.codes_set(h, "productDefinitionTemplateNumber", 1 if spec.statistic is None else 11)
            eccodes.codes_set(h, "typeOfGeneratingProcess", 4)  # ensemble forecast
            eccodes.codes_set(h, "typeOfEnsembleForecast", _TYPE_OF_ENSEMBLE_FORECAST)
            eccodes.codes_set(h, "numberOfForecastsInEnsemble", enc.ensemble_size)
            eccodes.codes_set(h, "perturbationNumber", member)
        eccodes.codes_set(h, "generatingProcessIdentifier", _GENERATING_PROCESS_IDENTIFIER)
        eccodes.codes_set(h, "typeOfLevel", spec.level_type)
        if spec.level_type == "heightAboveGround":
            eccodes.codes_set(h, "level", spec.level)
        if spec.level_type.startswith("generalVertical"):
            eccodes.codes_set(h, "nlev", enc.nlev + 1)  # number of half levels, as ICON writes it
            eccodes.codes_set(h, "numberOfVGridUsed", _NUMBER_OF_VGRID_USED)
            eccodes.codes_set(h, "uuidOfVGrid", enc.vgrid_uuid)
        if spec.statistic is None:
            eccodes.codes_set(h, "indicatorOfUnitForForecastTime", _STEP_UNITS)
            eccodes.codes_set(h, "forecastTime", _STEPS_PER_HOUR * lead)
        else:
            start = 0 if spec.statistic == "accum" else max(lead - 1, 0)
            eccodes.codes_set(h, "typeOfTimeIncrement", 2)  # same start time of forecast
            eccodes.codes_set(h, "stepUnits", _STEP_UNITS)
            eccodes.codes_set(h, "startStep", _STEPS_PER_HOUR * start)
            eccodes.codes_set(h, "endStep", _STEPS_PER_HOUR * lead)
        eccodes.codes_set(h, "shortName", name)  # last: the COSMO concepts also set surfaces/statistics
        eccodes.codes_set(h, "packingType", enc.packing)
        eccodes.codes_set(h, "bitsPerValue", enc.bits_per_value)
        return h
    except Exception:
        eccodes.codes_release(h)
        raise


def _encode(template: int, values: np.ndarray, level: int | None = None, layer: bool = False) -> bytes:
    """Return one message encoded from ``template`` with ``values`` (at model ``level``)."""
    h = eccodes.codes_clone(template)
    try:
        if level is not None:
            eccodes.codes_set(h, "scaledValueOfFirstFixedSurface", level)
            if layer:
                eccodes.codes_set(h, "scaledValueOfSecondFixedSurface", level + 1)
        eccodes.codes_set_values(h, np.ascontiguousarray(values, dtype=np.float64))
        return eccodes.codes_get_message(h)
    finally:
        eccodes.codes_release(h)


class _LevelSpool:
    """The messages of one field, level by level in any order, in a temporary file; :meth:`copy_to`
    appends them to the output in ascending level order."""

    def __init__(self, directory: pathlib.Path):
        self.file = tempfile.TemporaryFile(dir=directory, prefix=".nwpflow-sample-")
        self.index: dict[int, tuple[int, int]] = {}

    def add(self, level: int, message: bytes) -> None:
        self.index[level] = (self.file.seek(0, os.SEEK_END), len(message))
        self.file.write(message)

    def copy_to(self, out) -> None:
        for level in sorted(self.index):
            offset, length = self.index[level]
            self.file.seek(offset)
            out.write(self.file.read(length))

    def close(self) -> None:
        self.file.close()


@contextlib.contextmanager
def _output(path: pathlib.Path) -> Iterator:
    """A GRIB file to write to, under a temporary name until it is complete (:func:`atomic_output`)."""
    with atomic_output(path) as temporary, open(temporary, "wb") as file:
        yield file


def _write_constants(path: pathlib.Path, enc: _Encoding, points: _Points, hsurf: np.ndarray, a, b) -> None:
    with _output(path) as out:
        template = _template(enc, "HHL", _Field.of("HHL"), member=None, lead=0)
        try:
            for k in range(enc.nlev + 1):
                out.write(_encode(template, a[k] + b[k] * hsurf, level=k + 1))
        finally:
            eccodes.codes_release(template)
        names = ["HSURF", "CLAT", "CLON"] if isinstance(enc.grid, IconGrid) else ["HSURF"]
        for name, values in zip(names, (hsurf, points.lat, points.lon)):
            template = _template(enc, name, _Field.of(name), member=None, lead=0)
            try:
                out.write(_encode(template, values))
            finally:
                eccodes.codes_release(template)


def _write_member_lead(path: pathlib.Path, enc: _Encoding, surfaces: dict[str | None, _Surface], member: int,
                       lead: int, seed: int, tot_prec: np.ndarray, a, b) -> None:
    """Write one member's file at one lead time: model-level fields field by field, then surface fields.

    One bottom-up pass integrates the pressure from PS and computes each level once; each field's
    messages are spooled to a temporary file in the member directory and copied out in ascending level
    order at the end, so that memory holds one level at a time.
    """
    columns = _Columns(surfaces[None], member, lead, seed)
    # C-grid: the same atmosphere seen from the staggered U and V points.
    staggered = {s: _Columns(surfaces[s], member, lead, seed) for s in ("x", "y") if s in surfaces}
    rotated = enc.grid if isinstance(enc.grid, RotatedGrid) else None

    def grid_wind(cols: _Columns, z, component: int):
        u, v = cols.wind(z)
        if rotated is not None:
            u, v = _wind_to_grid(u, v, cols.points.lat, cols.points.lon, rotated.south_pole_lat,
                                 rotated.south_pole_lon)
        return (u, v)[component]

    path.parent.mkdir(parents=True, exist_ok=True)
    templates = {}
    spools = {}
    try:
        for name in MODEL_LEVEL_FIELDS:
            stagger = FIELDS[name].staggering if rotated is not None else None
            templates[name] = _template(enc, name, _Field.of(name), member=member, lead=lead, stagger=stagger)
            spools[name] = _LevelSpool(path.parent)
        ln_p = np.log(columns.ps)
        z_below, tv_below = columns.hs, None
        for k in range(enc.nlev, 0, -1):
            z = _full_level_height(a, b, k, columns.hs)
            t, qv = columns.temperature_and_humidity(z)
            tv = _virtual_temperature(t, qv)
            # From PS at HSURF to the lowest full level with that level's Tv, then layer by layer.
            ln_p += _hydrostatic_step(z_below, tv if tv_below is None else tv_below, z, tv)
            z_below, tv_below = z, tv
            spools["P"].add(k, _encode(templates["P"], np.exp(ln_p), k, layer=True))
            spools["T"].add(k, _encode(templates["T"], t, k, layer=True))
            spools["QV"].add(k, _encode(templates["QV"], qv, k, layer=True))
            for name, values in zip(("QC", "QI", "CLC"), columns.clouds(z, t, qv, np.exp(ln_p))):
                spools[name].add(k, _encode(templates[name], values, k, layer=True))
            spools["DBZ"].add(k, _encode(templates["DBZ"], columns.reflectivity(z), k, layer=True))
            for name, stagger, component in (("U", "x", 0), ("V", "y", 1)):
                cols = staggered.get(stagger, columns)
                z_wind = z if cols is columns else _full_level_height(a, b, k, cols.hs)
                spools[name].add(k, _encode(templates[name], grid_wind(cols, z_wind, component), k, layer=True))
            spools["W"].add(k + 1, _encode(templates["W"], columns.vertical_wind(a[k] + b[k] * columns.hs), k + 1))
        spools["W"].add(1, _encode(templates["W"], columns.vertical_wind(a[0] + b[0] * columns.hs), 1))

        surface = {"PS": columns.ps, **columns.screen_level(), "TOT_PREC": tot_prec}
        if rotated is not None:
            surface["U_10M"], surface["V_10M"] = _wind_to_grid(
                surface["U_10M"], surface["V_10M"], columns.points.lat, columns.points.lon,
                rotated.south_pole_lat, rotated.south_pole_lon)
        with _output(path) as out:
            for name in MODEL_LEVEL_FIELDS:
                spools[name].copy_to(out)
            for name in SURFACE_FIELDS:
                template = _template(enc, name, _Field.of(name), member=member, lead=lead)
                try:
                    out.write(_encode(template, surface[name]))
                finally:
                    eccodes.codes_release(template)
    finally:
        for h in templates.values():
            eccodes.codes_release(h)
        for spool in spools.values():
            spool.close()


# ----------------------------------------------------------------------------------------------------
# Public entry point
# ----------------------------------------------------------------------------------------------------

def _check_ints(name: str, values: Iterable[int], minimum: int = 0) -> tuple[int, ...]:
    values = tuple(values)
    if not values:
        raise ValueError(f"{name} must name at least one value")
    for v in values:
        if isinstance(v, bool) or not isinstance(v, (int, np.integer)) or v < minimum:
            raise ValueError(f"{name} must be integers >= {minimum}, got {v!r}")
    if len(set(values)) != len(values):
        raise ValueError(f"{name} has duplicates: {values!r}")
    return tuple(sorted(int(v) for v in values))


def write_sample(output_dir: str | os.PathLike, preset: str | SamplePreset = "small", *,
                 members: Sequence[int] | None = None, lead_times: Sequence[int] | None = None,
                 packing: str = "grid_simple", bits_per_value: int = 16, seed: int = 0) -> list[pathlib.Path]:
    """Write a synthetic model run as GRIB2 files into ``output_dir`` and return their paths.

    Parameters
    ----------
    output_dir : str or os.PathLike
        The run directory; created if missing. Existing files of the same names are replaced.
    preset : str or SamplePreset
        A name in :data:`PRESETS` (see :func:`list_presets`), or a :class:`SamplePreset` for other sizes,
        e.g. ``dataclasses.replace(PRESETS["small"], grid=IconGrid(ncells=300))``.
    members : sequence of int, optional
        Ensemble members, 0 to 254 (``perturbationNumber``; 0 is the unperturbed control;
        ``numberOfForecastsInEnsemble`` is the largest member + 1). Default: the preset's.
    lead_times : sequence of int, optional
        Lead times [h] from the reference time 2026-07-15 00 UTC. Default: the preset's.
    packing : {"grid_simple", "grid_ccsds"}
        GRIB2 packing of the values.
    bits_per_value : int
        Bits per packed value, 1 to 32.
    seed : int
        Seed of the member perturbations and the precipitation cells (the grid and orography are fixed).

    Returns
    -------
    list of pathlib.Path
        The GRIB files: ``output_dir/lfff00000000c`` (HHL, HSURF and, on ICON grids, CLAT, CLON), then, for
        each member
        and lead time, ``output_dir/{member:03d}/lfff{DD}{HH}0000`` (P, T, QV, U, V on full levels 1..80,
        W on half levels 1..81, QC, QI, CLC, DBZ on full levels, then PS, T_2M, TD_2M, U_10M, V_10M,
        VMAX_10M, TOT_PREC). On ICON grids the grid file ``output_dir/icon_grid_sample_{ncells}.nc`` (cell
        centres and a neighbour table with the run's ``uuidOfHGrid``, :func:`grid_file_name`: what the
        horizontal derivatives of potential vorticity need) is written beside them.

    Notes
    -----
    The profiles are analytic in height (see the module's ``_Columns``): a standard atmosphere
    (6.5 K/km to an 11-12 km tropopause, isothermal, warming above 20 km) with a diurnal boundary layer,
    an elevated inversion in the north-west, conditional instability over the Po plain and southern
    Alps, a ~45 m/s westerly jet near 10 km. Relative humidity is converted to QV with Tetens' saturation
    vapour pressure (COSMO constants); pressure integrates :math:`dp/dz = -p g / (R_d T_v)` from PS with
    the virtual temperature of each layer's mean:

    .. math:: \\ln p_k = \\ln p_{k+1} - \\frac{g (z_k - z_{k+1})}{R_d (T_{v,k} + T_{v,k+1})/2}

    and from PS at HSURF to the lowest full level with that level's :math:`T_v`.
    """
    if isinstance(preset, str):
        if preset not in PRESETS:
            raise ValueError(f"unknown sample preset {preset!r}; valid presets: {', '.join(PRESETS)}")
        preset = PRESETS[preset]
    elif not isinstance(preset, SamplePreset):
        raise TypeError(f"preset must be a preset name or a SamplePreset, got {type(preset).__name__}")
    if packing not in PACKINGS:
        raise ValueError(f"unknown packing {packing!r}; valid packings: {', '.join(PACKINGS)}")
    if isinstance(bits_per_value, bool) or not isinstance(bits_per_value, (int, np.integer)) \
            or not 1 <= bits_per_value <= 32:
        raise ValueError(f"bits_per_value must be an integer from 1 to 32, got {bits_per_value!r}")
    members = _check_ints("members", preset.members if members is None else members)
    lead_times = _check_ints("lead_times", preset.lead_times if lead_times is None else lead_times)
    if max(members) > 254:
        raise ValueError(f"members must be at most 254 (GRIB2 numberOfForecastsInEnsemble <= 255), "
                         f"got {max(members)}")
    if max(lead_times) >= 100 * 24:
        raise ValueError(f"lead times must be below 2400 h (lfffDDHH0000 names), got {max(lead_times)}")
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise ValueError(f"seed must be an integer >= 0, got {seed!r}")

    output_dir = pathlib.Path(output_dir)
    output_dir.mkdir(parents=True, exist_ok=True)
    grid = preset.grid
    enc = _Encoding(grid, preset.nlev, packing, int(bits_per_value), ensemble_size=max(members) + 1)
    staggers = (None, "x", "y") if isinstance(grid, RotatedGrid) else (None,)
    surfaces = {s: _surface(_grid_points(grid, s)) for s in staggers}
    a, b = _vertical_coefficients(preset.nlev)

    paths = [output_dir / CONSTANTS_FILE]
    _write_constants(paths[0], enc, surfaces[None].points, surfaces[None].hsurf, a, b)
    log.info("wrote %s", paths[0])
    if isinstance(grid, IconGrid):  # beside the run, not among the GRIB files returned
        grid_path = output_dir / grid_file_name(grid)
        with atomic_output(grid_path) as temporary:
            write_grid_file(grid_path, surfaces[None].points.lat, surfaces[None].points.lon, _hgrid_uuid(grid),
                            grid.number_of_grid_used, temporary)
        log.info("wrote %s", grid_path)
    for member in members:
        totals = _total_precipitation(surfaces[None].points, member, lead_times, seed, int(bits_per_value))
        for lead in lead_times:
            path = output_dir / model_file_name(member, lead)
            _write_member_lead(path, enc, surfaces, member, lead, seed, totals[lead], a, b)
            log.info("wrote %s", path)
            paths.append(path)
    return paths
