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
"""

from __future__ import annotations

from dataclasses import dataclass

FULL = "level"
HALF = "half_level"
SURFACE = "surface"

CELL_DIMS = ("cell",)
GRID_DIMS = ("y", "x")


@dataclass(frozen=True)
class FieldInfo:
    """What the data model knows of one field."""

    units: str
    long_name: str
    vertical: str  # FULL, HALF or SURFACE
    standard_name: str | None = None


FIELDS: dict[str, FieldInfo] = {
    "P": FieldInfo("Pa", "pressure", FULL, "air_pressure"),
    "T": FieldInfo("K", "temperature", FULL, "air_temperature"),
    "QV": FieldInfo("kg kg-1", "specific humidity", FULL, "specific_humidity"),
    "QC": FieldInfo("kg kg-1", "specific cloud liquid water content", FULL,
                    "mass_fraction_of_cloud_liquid_water_in_air"),
    "U": FieldInfo("m s-1", "grid eastward wind", FULL, "eastward_wind"),
    "V": FieldInfo("m s-1", "grid northward wind", FULL, "northward_wind"),
    "VN": FieldInfo("m s-1", "velocity normal to the ICON cell edge", FULL),
    "W": FieldInfo("m s-1", "vertical velocity", HALF, "upward_air_velocity"),
    "HHL": FieldInfo("m", "height of half levels above sea level", HALF, "altitude"),
    "HSURF": FieldInfo("m", "surface height above sea level", SURFACE, "surface_altitude"),
    "PS": FieldInfo("Pa", "surface pressure", SURFACE, "surface_air_pressure"),
    "T_2M": FieldInfo("K", "2 m temperature", SURFACE, "air_temperature"),
    "TD_2M": FieldInfo("K", "2 m dew point temperature", SURFACE, "dew_point_temperature"),
    "U_10M": FieldInfo("m s-1", "10 m eastward wind", SURFACE, "eastward_wind"),
    "V_10M": FieldInfo("m s-1", "10 m northward wind", SURFACE, "northward_wind"),
    "VMAX_10M": FieldInfo("m s-1", "maximum 10 m wind gust since the previous output", SURFACE, "wind_speed_of_gust"),
    "TOT_PREC": FieldInfo("kg m-2", "total precipitation accumulated since the model start", SURFACE,
                          "precipitation_amount"),
    "FIS": FieldInfo("m2 s-2", "surface geopotential", SURFACE, "surface_geopotential"),
    "CLAT": FieldInfo("degrees_north", "cell centre latitude", SURFACE, "latitude"),
    "CLON": FieldInfo("degrees_east", "cell centre longitude", SURFACE, "longitude"),
}
"""Fields of the data model. A field that is not listed is still read (never dropped), under its own
``shortName`` and with the units its file gives."""

ALIASES: dict[str, str] = {
    # ECMWF shortNames (as without the COSMO definitions, and in cfgrib-made NetCDF) -> data model.
    "pres": "P",
    "t": "T",
    "q": "QV",
    "clwmr": "QC",
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
