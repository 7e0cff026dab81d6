"""The normalised data model every reader produces, as declarative tables.

A model run is an :class:`xarray.Dataset` with

* fields named by their COSMO/ICON ``shortName`` (``T``, ``QV``, ``P``, ``U``, ``V``, ``W``, ``HHL``,
  ``HSURF``, ...), in SI units, stored as float32 (missing values as NaN);
* 3-D fields with dims ``(level, *horizontal)`` on full levels and ``(half_level, *horizontal)`` on half
  levels (``HHL`` has one level more), both numbered top-down: level 1 is the model top, as ICON and
  COSMO number them;
* ``horizontal`` either ``("cell",)`` for ICON's unstructured grid (coordinates ``latitude``,
  ``longitude`` in degrees on ``cell``) or ``("y", "x")`` for regular and rotated lat-lon grids;
* leading dims ``member`` (ensemble ``perturbationNumber``) and ``step`` (lead time, ``timedelta64``)
  where a run has several of them; a single member or lead time is a scalar coordinate instead.

Fields on a C-grid staggered position (COSMO ``U``, ``V``) keep their values and carry the attribute
``staggering`` (``"x"`` or ``"y"``); products destagger them.

:data:`FIELDS` is the one table of what nwpflow knows of each field: units and names, vertical position,
whether it lies in the constants file or becomes a coordinate, its staggering on COSMO's C grid, its
GRIB2 identity and its physically possible values. The reader, the sample writer, the GRIB2 writer and the tests read it.
"""

from __future__ import annotations

from dataclasses import dataclass

from nwpflow.io.grib2_codes import HEIGHT_2M, HEIGHT_10M, SURFACE as GROUND, Grib2Parameter

FULL = "level"
HALF = "half_level"
SURFACE = "surface"

CELL_DIMS = ("cell",)
GRID_DIMS = ("y", "x")
HORIZONTAL_DIMS = (CELL_DIMS, GRID_DIMS)
"""The horizontal dims of the two kinds of grid: ICON's cells, and regular or rotated lat-lon grids."""

LEAD_DIMS = ("member", "time", "step")
"""Leading dims of a run, in this order: ensemble member, reference time (several analyses or runs in
one file, as in ERA5), lead time. A dim with a single value becomes a scalar coordinate."""

ACCUMULATED = "accumulated"
"""``FieldInfo.statistic`` of a field accumulated since the model start (``TOT_PREC``)."""
MAXIMUM = "maximum"
"""``FieldInfo.statistic`` of a maximum over the previous output interval (``VMAX_10M``)."""


@dataclass(frozen=True)
class FieldInfo:
    """What the data model knows of one field."""

    units: str
    long_name: str
    vertical: str
    """:data:`FULL`, :data:`HALF` (one level more: half levels) or :data:`SURFACE`."""
    standard_name: str | None = None
    time_invariant: bool = False
    """A field of the model's constants file: it takes no part in the run's members and lead times."""
    coordinate: bool = False
    """It becomes a horizontal coordinate of ICON cells instead of a data variable (``CLAT``, ``CLON``)."""
    staggering: str | None = None
    """The axis (``"x"``, ``"y"``) along which the field lies half a grid length off the mass points on
    COSMO's C grid (rotated lat-lon grids); ``None``: on the mass points."""
    grib2: Grib2Parameter | None = None
    """Its GRIB2 parameter, as MeteoSwiss's ICON and COSMO output encodes it (COSMO definitions)."""
    statistic: str | None = None
    """:data:`ACCUMULATED`, :data:`MAXIMUM`, or ``None`` for an instantaneous field."""
    valid_range: tuple[float, float] | None = None
    """The physically possible values ``(lowest, highest)`` in :attr:`units`, bounds included: the reader
    refuses (or masks, on request) decoded values outside it, and options whose values are of this field
    (``Option(bounds=...)``). Wide on purpose: a check against corrupt or mislabelled data, not a quality
    control; the lower bound of a non-negative quantity allows small negative values of numerical origin.
    ``None``: only non-finite values are refused."""


def _parameter(category: int, number: int, short_name: str, surface=GROUND) -> Grib2Parameter:
    return Grib2Parameter(category, number, short_name, surface)


FIELDS: dict[str, FieldInfo] = {
    "P": FieldInfo("Pa", "pressure", FULL, "air_pressure", grib2=_parameter(3, 0, "P"), valid_range=(0.0, 1.2e5)),
    "T": FieldInfo("K", "temperature", FULL, "air_temperature", grib2=_parameter(0, 0, "T"),
                   valid_range=(100.0, 350.0)),
    "QV": FieldInfo("kg kg-1", "specific humidity", FULL, "specific_humidity", grib2=_parameter(1, 0, "QV"),
                    valid_range=(-1e-4, 0.06)),
    "QC": FieldInfo("kg kg-1", "specific cloud liquid water content", FULL,
                    "mass_fraction_of_cloud_liquid_water_in_air", grib2=_parameter(1, 22, "QC"),
                    valid_range=(-1e-4, 0.02)),
    "QI": FieldInfo("kg kg-1", "specific cloud ice content", FULL, "mass_fraction_of_cloud_ice_in_air",
                    grib2=_parameter(1, 82, "QI"), valid_range=(-1e-4, 0.02)),
    "CLC": FieldInfo("%", "cloud cover", FULL, "cloud_area_fraction_in_atmosphere_layer",
                     grib2=_parameter(6, 22, "CLC"), valid_range=(-1.0, 101.0)),
    "DBZ": FieldInfo("dBZ", "radar reflectivity", FULL, "equivalent_reflectivity_factor",
                     grib2=_parameter(15, 1, "DBZ"), valid_range=(-1000.0, 100.0)),
    "U": FieldInfo("m s-1", "grid eastward wind", FULL, "eastward_wind", staggering="x",
                   grib2=_parameter(2, 2, "U"), valid_range=(-250.0, 250.0)),
    "V": FieldInfo("m s-1", "grid northward wind", FULL, "northward_wind", staggering="y",
                   grib2=_parameter(2, 3, "V"), valid_range=(-250.0, 250.0)),
    "VN": FieldInfo("m s-1", "velocity normal to the ICON cell edge", FULL, valid_range=(-250.0, 250.0)),
    "W": FieldInfo("m s-1", "vertical velocity", HALF, "upward_air_velocity", grib2=_parameter(2, 9, "W"),
                   valid_range=(-100.0, 100.0)),
    "HHL": FieldInfo("m", "height of half levels above sea level", HALF, "altitude", time_invariant=True,
                     grib2=_parameter(3, 6, "HHL"), valid_range=(-1000.0, 1.5e5)),
    "HSURF": FieldInfo("m", "surface height above sea level", SURFACE, "surface_altitude", time_invariant=True,
                       grib2=_parameter(3, 6, "HSURF"), valid_range=(-1000.0, 9000.0)),
    "PS": FieldInfo("Pa", "surface pressure", SURFACE, "surface_air_pressure", grib2=_parameter(3, 0, "PS"),
                    valid_range=(2e4, 1.2e5)),
    "T_2M": FieldInfo("K", "2 m temperature", SURFACE, "air_temperature", grib2=_parameter(0, 0, "T_2M", HEIGHT_2M),
                      valid_range=(170.0, 340.0)),
    "TD_2M": FieldInfo("K", "2 m dew point temperature", SURFACE, "dew_point_temperature",
                       grib2=_parameter(0, 6, "TD_2M", HEIGHT_2M), valid_range=(150.0, 340.0)),
    "U_10M": FieldInfo("m s-1", "10 m eastward wind", SURFACE, "eastward_wind",
                       grib2=_parameter(2, 2, "U_10M", HEIGHT_10M), valid_range=(-150.0, 150.0)),
    "V_10M": FieldInfo("m s-1", "10 m northward wind", SURFACE, "northward_wind",
                       grib2=_parameter(2, 3, "V_10M", HEIGHT_10M), valid_range=(-150.0, 150.0)),
    "VMAX_10M": FieldInfo("m s-1", "maximum 10 m wind gust since the previous output", SURFACE, "wind_speed_of_gust",
                          grib2=_parameter(2, 22, "VMAX_10M", HEIGHT_10M), statistic=MAXIMUM,
                          valid_range=(0.0, 150.0)),
    "TOT_PREC": FieldInfo("kg m-2", "total precipitation accumulated since the model start", SURFACE,
                          "precipitation_amount", grib2=_parameter(1, 52, "TOT_PREC"), statistic=ACCUMULATED,
                          valid_range=(-0.01, 1e4)),
    "FIS": FieldInfo("m2 s-2", "surface geopotential", SURFACE, "surface_geopotential", time_invariant=True,
                     valid_range=(-1e4, 9e4)),
    "CLAT": FieldInfo("degrees_north", "cell centre latitude", SURFACE, "latitude", time_invariant=True,
                      coordinate=True, grib2=_parameter(191, 1, "CLAT"), valid_range=(-90.0, 90.0)),
    "CLON": FieldInfo("degrees_east", "cell centre longitude", SURFACE, "longitude", time_invariant=True,
                      coordinate=True, grib2=_parameter(191, 2, "CLON"), valid_range=(-360.0, 360.0)),
}
"""Fields of the data model. A field that is not listed is still read (never dropped), under its own
``shortName`` and with the units its file gives."""


def fields_where(**flags) -> tuple[str, ...]:
    """Return the names of the fields whose :class:`FieldInfo` has every attribute of ``flags``.

    Examples
    --------
    >>> fields_where(coordinate=True)
    ('CLAT', 'CLON')
    """
    return tuple(name for name, info in FIELDS.items() if all(getattr(info, k) == v for k, v in flags.items()))

ALIASES: dict[str, str] = {
    # ECMWF shortNames (as without the COSMO definitions, and in cfgrib-made NetCDF) -> data model.
    "pres": "P",
    "t": "T",
    "q": "QV",
    "clwmr": "QC",
    "ciwc": "QI",
    "clwc": "QC",
    "u": "U",
    "v": "V",
    "w": "W",
    "wz": "W",
    "h": "HHL",
    "2t": "T_2M",
    "t2m": "T_2M",
    "2d": "TD_2M",
    "d2m": "TD_2M",
    "10u": "U_10M",
    "u10": "U_10M",
    "10v": "V_10M",
    "v10": "V_10M",
    "tp": "TOT_PREC",
    "sp": "PS",
    "z": "FI",
    "clat": "CLAT",
    "clon": "CLON",
}
"""Other names of data-model fields, as other centres' definitions and converters spell them."""

VERTICAL_LEVEL_TYPES: dict[str, str] = {
    "generalVerticalLayer": FULL,
    "generalVertical": HALF,
    "hybrid": FULL,
}
"""GRIB ``typeOfLevel`` of model-level fields -> the data model's vertical dim."""


OTHER_LEVEL_DIMS: dict[str, tuple[str, float, dict]] = {
    "isobaricInhPa": ("pressure", 100.0, {"units": "Pa", "standard_name": "air_pressure", "positive": "down"}),
    "isobaricInPa": ("pressure", 1.0, {"units": "Pa", "standard_name": "air_pressure", "positive": "down"}),
    "heightAboveGround": ("height", 1.0, {"units": "m", "standard_name": "height", "positive": "up"}),
}
"""Other GRIB ``typeOfLevel`` -> (dim name, factor to SI, coordinate attributes) for fields on several
such levels (a field on a single one gets no vertical dim)."""


def canonical_name(name: str) -> str:
    """Return the data-model name of a field called ``name`` in a file."""
    return ALIASES.get(name, name)
