"""Write a synthetic but physically plausible ICON/COSMO model run as genuine GRIB2 files.

The run is what the pipeline's default input looks like: a constants file ``lfff00000000c`` and one file
per ensemble member and lead time, ``{member:03d}/lfff{DD}{HH}0000``, encoded by ecCodes with the key
conventions MeteoSwiss uses for ICON GRIB2 (centre ``lssw``, ensemble product templates, the
generalized vertical height coordinate, an unstructured grid with ``uuidOfHGrid``) or, for the COSMO
preset, a rotated-pole grid with C-grid staggered winds.

The fields are analytic in position and height, so any level of any field can be computed on its own:
the large presets are computed and encoded one level at a time (float64 only per level), and the
staggered COSMO winds are the same wind functions evaluated at the staggered points. Everything is
deterministic from ``seed``, the member and the lead time.

Examples
--------
>>> import tempfile
>>> from nwpflow.io.sample import write_sample, list_presets
>>> list_presets()
['small', 'cosmo-small', 'icon-ch2', 'icon-ch1']
>>> with tempfile.TemporaryDirectory() as d:
...     paths = write_sample(d, members=[0], lead_times=[0])
...     [p.relative_to(d).as_posix() for p in paths]
['lfff00000000c', '000/lfff00000000']
"""

from __future__ import annotations

import hashlib
import logging
import os
import pathlib
import tempfile
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np

from nwpflow.constants import Rd, Rv, cpd, g, rv_rd_minus_1
from nwpflow.io.eccodes_env import eccodes

__all__ = ["PRESETS", "IconGrid", "RotatedGrid", "SamplePreset", "list_presets", "write_sample"]

log = logging.getLogger(__name__)


# ----------------------------------------------------------------------------------------------------
# Presets
# ----------------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class IconGrid:
    """An ICON-like unstructured grid: ``ncells`` quasi-uniform cell centres over the domain.

    ``number_of_grid_used`` is written to the GRIB key ``numberOfGridUsed`` (MeteoSwiss: 1 for
    ICON-CH1's grid, 2 for ICON-CH2's; 0 marks a grid that exists only here). The cell centres, and
    the ``uuidOfHGrid`` that names them, depend on ``ncells`` only.
    """

    ncells: int
    number_of_grid_used: int = 0


@dataclass(frozen=True)
class RotatedGrid:
    """A COSMO-like regular grid in rotated coordinates (degrees), mass points.

    ``rlon0``/``rlat0`` is the south-west mass point; U lies ``dlon/2`` east and V ``dlat/2`` north of
    the mass points (Arakawa C grid). The default pole is COSMO-1E's.
    """

    nx: int
    ny: int
    dlon: float
    dlat: float
    rlon0: float
    rlat0: float
    south_pole_lat: float = -43.0
    south_pole_lon: float = 10.0


@dataclass(frozen=True)
class SamplePreset:
    """Sizes of a sample run. ``members``/``lead_times`` (hours) are defaults that
    :func:`write_sample` arguments override."""

    name: str
    description: str
    grid: IconGrid | RotatedGrid
    members: tuple[int, ...]
    lead_times: tuple[int, ...]
    nlev: int = 80


PRESETS: dict[str, SamplePreset] = {
    "small": SamplePreset(
        "small", "ICON-like unstructured grid, 5000 cells, 80 levels, 3 members, 0-3 h (the pipeline's default)",
        IconGrid(ncells=5000), members=(0, 1, 2), lead_times=(0, 1, 2, 3)),
    "cosmo-small": SamplePreset(
        "cosmo-small", "COSMO-like rotated-pole grid 80 x 60 at 0.15 deg (COSMO-1E's domain and pole), "
        "80 levels, C-grid staggered U/V, 2 members, 0-1 h",
        RotatedGrid(nx=80, ny=60, dlon=0.15, dlat=0.15, rlon0=-6.82, rlat0=-4.42), members=(0, 1),
        lead_times=(0, 1)),
    "icon-ch2": SamplePreset(
        "icon-ch2", "ICON-CH2 size: 283,876 cells x 80 levels, one member, +1 h (benchmark)",
        IconGrid(ncells=283_876, number_of_grid_used=2), members=(0,), lead_times=(1,)),
    "icon-ch1": SamplePreset(
        "icon-ch1", "ICON-CH1 size: 1,147,980 cells x 80 levels, one member, +1 h (benchmark)",
        IconGrid(ncells=1_147_980, number_of_grid_used=1), members=(0,), lead_times=(1,)),
}
"""The named sample runs. Use :func:`dataclasses.replace` on one of them for other sizes."""

PACKINGS = ("grid_simple", "grid_ccsds")
"""GRIB2 packings :func:`write_sample` accepts."""


def list_presets() -> list[str]:
    """Return the names of the sample presets, smallest first."""
    return list(PRESETS)


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


@dataclass(frozen=True)
class _Field:
    """How one field is encoded: its level type and, for statistics, the processing."""

    level_type: str  # "generalVerticalLayer", "generalVertical", "surface", "heightAboveGround"
    level: int = 0  # heightAboveGround level [m]
    statistic: str | None = None  # "accum" (from the model start) or "max" (over the previous hour)


_CONSTANT_FIELDS = {
    "HHL": _Field("generalVertical"),
    "HSURF": _Field("surface"),
    "CLAT": _Field("surface"),  # ICON grids only
    "CLON": _Field("surface"),
}
_MODEL_LEVEL_FIELDS = {
    "P": _Field("generalVerticalLayer"),
    "T": _Field("generalVerticalLayer"),
    "QV": _Field("generalVerticalLayer"),
    "U": _Field("generalVerticalLayer"),
    "V": _Field("generalVerticalLayer"),
    "W": _Field("generalVertical"),
}
_SURFACE_FIELDS = {
    "PS": _Field("surface"),
    "T_2M": _Field("heightAboveGround", 2),
    "TD_2M": _Field("heightAboveGround", 2),
    "U_10M": _Field("heightAboveGround", 10),
    "V_10M": _Field("heightAboveGround", 10),
    "VMAX_10M": _Field("heightAboveGround", 10, "max"),
    "TOT_PREC": _Field("surface", 0, "accum"),
}


def _uuid(*parts: object) -> str:
    """Return a fixed 32-hex-digit uuid for what ``parts`` name (md5 of their text)."""
    return hashlib.md5("/".join(map(str, ("nwpflow-sample", *parts))).encode()).hexdigest()


def _hgrid_uuid(grid: IconGrid | RotatedGrid) -> str:
    return _uuid("icon-grid", grid.ncells) if isinstance(grid, IconGrid) else _uuid("rotated-grid", grid)


# ----------------------------------------------------------------------------------------------------
# Domain, horizontal grids
# ----------------------------------------------------------------------------------------------------

LAT_RANGE = (43.5, 49.5)
LON_RANGE = (0.0, 17.0)
"""The ICON cells cover this box [degrees]; the COSMO grid covers it in rotated coordinates."""

_PLASTIC = 1.324717957244746  # the plastic number: Roberts' R2 low-discrepancy sequence


def _icon_cells(ncells: int) -> tuple[np.ndarray, np.ndarray]:
    """Return quasi-uniform cell centres (lat, lon) [deg] in the domain box: the R2 sequence, equal-area."""
    i = np.arange(ncells, dtype=np.float64)
    u = (0.5 + i / _PLASTIC) % 1.0
    v = (0.5 + i / _PLASTIC**2) % 1.0
    s0, s1 = np.sin(np.radians(LAT_RANGE))
    lat = np.degrees(np.arcsin(s0 + (s1 - s0) * v))
    lon = LON_RANGE[0] + (LON_RANGE[1] - LON_RANGE[0]) * u
    return lat, lon


def _rotated_to_geographic(rlat, rlon, south_pole_lat, south_pole_lon):
    """Return geographic (lat, lon) [deg] of rotated coordinates (COSMO ``phirot2phi``/``rlarot2rla``)."""
    pole_lat = np.radians(-south_pole_lat)
    pole_lon = np.radians(south_pole_lon - 180.0)
    phi, lam = np.radians(rlat), np.radians(rlon)
    sin_pole, cos_pole = np.sin(pole_lat), np.cos(pole_lat)
    lat = np.arcsin(cos_pole * np.cos(phi) * np.cos(lam) + sin_pole * np.sin(phi))
    a = -sin_pole * np.cos(lam) * np.cos(phi) + cos_pole * np.sin(phi)
    x1 = np.sin(pole_lon) * a - np.cos(pole_lon) * np.sin(lam) * np.cos(phi)
    x2 = np.cos(pole_lon) * a + np.sin(pole_lon) * np.sin(lam) * np.cos(phi)
    return np.degrees(lat), np.degrees(np.arctan2(x1, x2))


def _wind_to_grid(u, v, lat, lon, south_pole_lat, south_pole_lon):
    """Rotate geographic wind components to the rotated grid's axes (COSMO ``uv2uvrot``)."""
    pole_lat = np.radians(-south_pole_lat)
    pole_lon = south_pole_lon - 180.0
    dlon = np.radians(pole_lon - lon)
    phi = np.radians(lat)
    a1 = np.cos(pole_lat) * np.sin(dlon)
    a2 = np.sin(pole_lat) * np.cos(phi) - np.cos(pole_lat) * np.sin(phi) * np.cos(dlon)
    norm = 1.0 / np.hypot(a1, a2)
    return (u * a2 - v * a1) * norm, (u * a1 + v * a2) * norm


@dataclass(frozen=True)
class _Points:
    """Geographic positions of one set of grid points (mass points, or staggered U or V points)."""

    lat: np.ndarray
    lon: np.ndarray


def _grid_points(grid: IconGrid | RotatedGrid, stagger: str | None = None) -> _Points:
    if isinstance(grid, IconGrid):
        return _Points(*_icon_cells(grid.ncells))
    rlon = grid.rlon0 + grid.dlon * (np.arange(grid.nx) + (0.5 if stagger == "x" else 0.0))
    rlat = grid.rlat0 + grid.dlat * (np.arange(grid.ny) + (0.5 if stagger == "y" else 0.0))
    rlat2, rlon2 = np.meshgrid(rlat, rlon, indexing="ij")  # GRIB order: i (x) fastest, j from the south
    lat, lon = _rotated_to_geographic(rlat2.ravel(), rlon2.ravel(), grid.south_pole_lat, grid.south_pole_lon)
    return _Points(lat, lon)


# ----------------------------------------------------------------------------------------------------
# Orography: a smooth caricature of the Alps and their surroundings
# ----------------------------------------------------------------------------------------------------

_COS_LAT = np.cos(np.radians(46.5))  # x distances in degrees of latitude: x = lon * cos(46.5 deg)

# Ridges: (lat, lon, crest height [m]) along the crest, and the e-folding half-widths [deg] left and
# right of it (looking along the vertices): the Alps fall steeply to the north and west, gently to the Po.
_RIDGES = (
    (((43.95, 7.3, 2200), (44.5, 6.95, 2800), (45.0, 6.45, 3100), (45.85, 6.9, 3400), (45.95, 7.8, 3400),
      (46.5, 8.2, 3100), (46.45, 9.4, 2900), (46.4, 9.95, 3200), (46.55, 10.6, 3100), (46.95, 11.3, 2900),
      (47.1, 12.5, 2800), (47.25, 13.7, 2300), (47.5, 15.0, 1700), (47.75, 16.2, 800)), (0.3, 0.45)),  # Alps
    (((45.9, 5.6, 1100), (46.45, 6.05, 1350), (46.85, 6.65, 1250), (47.25, 7.3, 1000), (47.55, 8.0, 650)),
     (0.14, 0.14)),  # Jura
    (((48.2, 8.7, 700), (48.55, 9.6, 650), (48.85, 10.5, 550)), (0.2, 0.2)),  # Swabian Jura
    (((44.15, 8.1, 1000), (44.4, 9.4, 1400), (44.2, 10.4, 1700), (43.8, 11.6, 1400), (43.5, 12.6, 1500)),
     (0.28, 0.28)),  # Apennines
    (((46.35, 13.8, 1900), (45.7, 14.6, 1200), (44.9, 15.5, 1400), (44.0, 16.6, 1500)), (0.35, 0.35)),  # Dinarides
)
# Hills: (lat, lon, height [m], e-folding radius in lat, in x [deg]).
_HILLS = (
    (48.0, 8.1, 1050, 0.45, 0.25),  # Black Forest
    (48.1, 7.05, 950, 0.65, 0.18),  # Vosges
    (45.4, 2.9, 1050, 1.0, 0.7),  # Massif Central
    (49.0, 13.0, 900, 0.35, 0.45),  # Bavarian Forest
    (42.2, 9.05, 1900, 0.4, 0.15),  # Corsica
)
# Lowlands carved into the base height: (lat, lon, depth [m], radius in lat, in x [deg]).
_BASINS = (
    (45.05, 9.8, 330, 0.45, 2.0),  # Po plain
    (45.3, 4.85, 220, 1.2, 0.25),  # Rhône corridor
    (48.6, 7.95, 230, 1.1, 0.22),  # Upper Rhine graben
)
# Valleys: (lat, lon, floor height [m]) along the axis, and the e-folding half-width [deg].
_VALLEYS = (
    (((46.2, 6.14, 372), (46.45, 6.55, 372), (46.4, 6.9, 380), (46.1, 7.07, 470), (46.23, 7.4, 500),
      (46.32, 8.0, 680)), 0.09),  # Rhône, Lake Geneva
    (((46.65, 8.6, 1400), (46.85, 9.5, 580), (47.25, 9.55, 430), (47.5, 9.6, 400)), 0.06),  # Rhine
    (((46.45, 9.8, 1750), (46.8, 10.3, 1100), (47.27, 11.4, 580), (47.6, 12.2, 480)), 0.07),  # Inn
    (((46.55, 8.6, 1200), (46.2, 9.0, 240), (45.9, 8.65, 195), (45.6, 8.6, 190)), 0.06),  # Ticino
    (((45.8, 6.95, 1100), (45.74, 7.3, 580), (45.5, 7.85, 250)), 0.06),  # Aosta
    (((46.65, 10.6, 900), (46.5, 11.35, 260), (46.07, 11.12, 200), (45.5, 10.9, 100)), 0.06),  # Adige
    (((46.2, 10.2, 700), (46.17, 9.4, 200), (45.8, 9.25, 200)), 0.05),  # Valtellina, Lake Como
)
# Sea (height exactly 0): polygons (lat, lon), and islands in them.
_SEAS = (
    ((41.0, 0.8), (41.4, 2.2), (42.3, 3.2), (42.7, 3.05), (43.5, 3.9), (43.45, 4.5), (43.3, 5.4), (43.1, 5.9),
     (43.55, 7.0), (43.75, 7.5), (43.95, 8.2), (44.4, 8.9), (44.05, 9.9), (43.6, 10.3), (43.0, 10.5),
     (42.4, 11.2), (41.7, 12.3), (41.0, 12.9)),  # Mediterranean: Gulf of Lion, Ligurian and Tyrrhenian Seas
    ((45.45, 12.35), (45.8, 13.1), (45.65, 13.75), (45.0, 13.65), (45.3, 14.45), (44.5, 14.9), (43.8, 15.7),
     (43.45, 16.5), (43.0, 17.5), (42.6, 18.2), (41.5, 19.5), (41.5, 16.0), (42.0, 15.0), (42.45, 14.2),
     (43.6, 13.55), (44.4, 12.25)),  # Adriatic Sea
)
_ISLANDS = (
    ((41.4, 9.1), (41.6, 8.8), (42.1, 8.6), (42.6, 8.65), (43.0, 9.4), (42.6, 9.5), (41.9, 9.4)),  # Corsica
)


def _segment_distance(y, x, y0, x0, y1, x1):
    """Return (distance, fraction along the segment) of points (y, x) to the segment (y0, x0)-(y1, x1)."""
    dy, dx = y1 - y0, x1 - x0
    t = np.clip(((y - y0) * dy + (x - x0) * dx) / (dy * dy + dx * dx), 0.0, 1.0)
    return np.hypot(y - (y0 + t * dy), x - (x0 + t * dx)), t


def _polyline(y, x, vertices):
    """Return the distance [deg] to a polyline of (lat, lon, value) vertices, the value interpolated at
    the nearest point on it, and whether the point lies left of it (looking along the vertices)."""
    dist = np.full(y.shape, np.inf)
    value = np.zeros(y.shape)
    left = np.zeros(y.shape, dtype=bool)
    for (lat0, lon0, v0), (lat1, lon1, v1) in zip(vertices[:-1], vertices[1:]):
        x0, x1 = lon0 * _COS_LAT, lon1 * _COS_LAT
        d, t = _segment_distance(y, x, lat0, x0, lat1, x1)
        closer = d < dist
        dist = np.where(closer, d, dist)
        value = np.where(closer, v0 + t * (v1 - v0), value)
        left = np.where(closer, (x1 - x0) * (y - lat0) - (lat1 - lat0) * (x - x0) > 0.0, left)
    return dist, value, left


def _inside(lat, lon, polygon):
    """Return whether points lie inside a polygon (even-odd rule in the lat/lon plane)."""
    inside = np.zeros(lat.shape, dtype=bool)
    for (a_lat, a_lon), (b_lat, b_lon) in zip(polygon, polygon[1:] + polygon[:1]):
        if a_lat == b_lat:
            continue  # a horizontal edge is never crossed by a horizontal ray
        crosses = (a_lat > lat) != (b_lat > lat)
        lon_cross = a_lon + (lat - a_lat) * (b_lon - a_lon) / (b_lat - a_lat)
        inside ^= crosses & (lon < lon_cross)
    return inside


def orography(lat, lon):
    """Return surface height [m] at (lat, lon) [deg]: a smooth caricature of the Alpine region.

    An Alpine ridge up to about 4000 m (Mont Blanc, Monte Rosa, Bernina) with its main valleys (Rhône,
    Rhine, Inn, Ticino, Aosta, Adige, Valtellina) carved to their floors, the Jura, Swabian Jura, Black
    Forest, Vosges, Massif Central, Apennines and Dinarides, plains at 300-500 m north of the Alps, the
    Po plain, Rhône corridor and Rhine graben lower, and the Mediterranean (with Corsica) and the
    Adriatic at exactly 0 m.
    Shared by all grids, so an ICON and a COSMO sample see the same terrain.
    """
    lat = np.asarray(lat, dtype=np.float64)
    lon = np.asarray(lon, dtype=np.float64)
    y, x = lat, lon * _COS_LAT
    # Base: rolling plains, 300-500 m.
    h = 360.0 + 70.0 * np.sin(0.9 * x + 0.4) * np.cos(1.3 * y) + 40.0 * np.sin(2.3 * x - 1.7 * y)
    for b_lat, b_lon, depth, r_lat, r_x in _BASINS:
        h -= depth * np.exp(-(((y - b_lat) / r_lat) ** 2 + ((x - b_lon * _COS_LAT) / r_x) ** 2))
    # Mountains, with roughness growing with height (peaks and side valleys).
    mountains = np.zeros_like(h)
    for vertices, (width_left, width_right) in _RIDGES:
        d, crest, left = _polyline(y, x, vertices)
        mountains += crest * np.exp(-((d / np.where(left, width_left, width_right)) ** 2))
    for h_lat, h_lon, height, r_lat, r_x in _HILLS:
        mountains += height * np.exp(-(((y - h_lat) / r_lat) ** 2 + ((x - h_lon * _COS_LAT) / r_x) ** 2))
    rough = (np.sin(2 * np.pi * x / 0.31 + 0.3) * np.sin(2 * np.pi * y / 0.23 + 1.1)
             + 0.6 * np.sin(2 * np.pi * (x + 0.7 * y) / 0.17 + 2.0))
    h = h + mountains * (1.0 + 0.12 * rough)
    for vertices, width in _VALLEYS:
        d, floor, _ = _polyline(y, x, vertices)
        h = np.where(h > floor, h - (h - floor) * np.exp(-((d / width) ** 2)), h)
    h = np.maximum(h, 0.0)
    # Coasts: land rises from 0 m over ~15 km; sea is exactly 0 m.
    for polygon in _SEAS + _ISLANDS:
        closed = [(a, b, 0.0) for a, b in polygon + polygon[:1]]
        d, _, _ = _polyline(y, x, closed)
        h = h * np.minimum(d / 0.15, 1.0) ** 0.5
    sea = np.zeros(lat.shape, dtype=bool)
    for polygon in _SEAS:
        sea |= _inside(lat, lon, polygon)
    for polygon in _ISLANDS:
        sea &= ~_inside(lat, lon, polygon)
    return np.where(sea, 0.0, h)


@dataclass(frozen=True)
class _Surface:
    """One set of grid points with their orography and its gradient, computed once per run."""

    points: _Points
    hsurf: np.ndarray  # [m]
    dhdx: np.ndarray  # eastward slope [m m-1]
    dhdy: np.ndarray  # northward slope [m m-1]


def _surface(points: _Points, step: float = 0.01) -> _Surface:
    """Return the orography at ``points`` and its slope by forward differences over ``step`` degrees."""
    metres = 111_195.0  # per degree of a great circle on the COSMO/ICON sphere
    lat, lon = points.lat, points.lon
    hsurf = orography(lat, lon)
    dhdx = (orography(lat, lon + step) - hsurf) / (step * metres * np.cos(np.radians(lat)))
    dhdy = (orography(lat + step, lon) - hsurf) / (step * metres)
    return _Surface(points, hsurf, dhdx, dhdy)


# ----------------------------------------------------------------------------------------------------
# Vertical grid
# ----------------------------------------------------------------------------------------------------

Z_TOP = 22_000.0
"""Height of the model top [m] (ICON-CH1/CH2 and COSMO-1E)."""
_Z_FLAT = 16_000.0  # above this height the levels are flat (ICON-CH1's flat_height)
_DECAY = 6_000.0  # terrain influence decays as exp(-(a/_DECAY)**2)
_LINEAR = 0.0727  # share of the linear term in the level distribution: lowest layer ~20 m thick


def _vertical_coefficients(nlev: int) -> tuple[np.ndarray, np.ndarray]:
    """Return (a, b) of the half levels 1..nlev+1 (top-down): z = a + b * HSURF.

    ``a`` are the heights over flat terrain: a cubic stretching with a linear part, so that layers are
    ~20 m thick at the ground (80 levels) and grow upward to ~800 m at the top. ``b`` decays from 1 at
    the ground to 0 at 16 km as a Gaussian of ``a``, a SLEVE-like decay of the terrain's imprint whose
    slope is zero at the ground, so that near-ground layers keep their thickness over any terrain.
    """
    s = np.linspace(1.0, 0.0, nlev + 1)  # 1 at the top, 0 at the ground
    a = Z_TOP * (_LINEAR * s + (1.0 - _LINEAR) * s**3)
    floor = np.exp(-((_Z_FLAT / _DECAY) ** 2))
    b = np.where(a < _Z_FLAT, (np.exp(-((a / _DECAY) ** 2)) - floor) / (1.0 - floor), 0.0)
    a[-1], b[-1] = 0.0, 1.0  # the lowest half level is the surface, exactly
    return a, b


# ----------------------------------------------------------------------------------------------------
# Smooth random fields
# ----------------------------------------------------------------------------------------------------

_SMOOTH_RANDOM_STREAMS = {
    "t": 1, "q": 2, "u": 3, "v": 4, "cells": 5, "front": 6,
}


def _smooth_random(lat, lon, rng, nmodes=12, wavelengths=(150.0, 600.0), hours=0.0, periods=(12.0, 72.0),
                   bounded=True):
    """Return a smooth random field: a sum of plane waves with random wavelengths [km], directions and
    phases, each drifting with a random period [h] so that the field varies smoothly with lead time
    ``hours``. ``bounded``: scaled into [-1, 1]; else to a standard deviation of 1."""
    k = 2 * np.pi / rng.uniform(*wavelengths, nmodes)
    direction = rng.uniform(0, 2 * np.pi, nmodes)
    phase = rng.uniform(0, 2 * np.pi, nmodes)
    omega = 2 * np.pi / rng.uniform(*periods, nmodes) * rng.choice([-1.0, 1.0], nmodes)
    amplitude = rng.uniform(0.3, 1.0, nmodes)
    x = lon * _COS_LAT * 111.195
    y = lat * 111.195
    field = np.zeros(np.shape(lat))
    for m in range(nmodes):
        field += amplitude[m] * np.cos(k[m] * (np.cos(direction[m]) * x + np.sin(direction[m]) * y)
                                       + phase[m] + omega[m] * hours)
    return field / (amplitude.sum() if bounded else np.sqrt(0.5 * (amplitude**2).sum()))


def _rng(seed: int, *keys: int) -> np.random.Generator:
    return np.random.default_rng(np.random.SeedSequence([seed, *keys]))


# ----------------------------------------------------------------------------------------------------
# Thermodynamics
# ----------------------------------------------------------------------------------------------------

# Saturation vapour pressure over water, Tetens/Magnus form as in COSMO and ICON (b1, b2w, b3, b4w).
_B1, _B2W, _B3, _B4W = 610.78, 17.2693882, 273.15, 35.86
_EPS = Rd / Rv
_GAMMA_DRY = g / cpd  # dry adiabatic lapse rate [K m-1]
_GAMMA = 0.0065  # ICAO standard-atmosphere lapse rate [K m-1]
_RH_MAX = 0.95  # cap of the target relative humidity; the realised one stays below ~0.96


def _esat(t):
    """Saturation vapour pressure over water [Pa] at temperature ``t`` [K] (Tetens, COSMO constants)."""
    return _B1 * np.exp(_B2W * (t - _B3) / (t - _B4W))


def _dewpoint(e):
    """Dew point [K] of vapour pressure ``e`` [Pa]: the inverse of :func:`_esat`."""
    x = np.log(e / _B1)
    return (_B2W * _B3 - _B4W * x) / (_B2W - x)


def _specific_humidity(e, p):
    """Specific humidity [kg kg-1] of vapour pressure ``e`` at pressure ``p`` [Pa]."""
    return _EPS * e / (p - (1.0 - _EPS) * e)


def _ramp(x, scale):
    """Smooth max(x, 0): a hyperbola with a corner ``scale`` wide (square roots only: cheap per level)."""
    return 0.5 * (x + np.sqrt(x * x + scale * scale))


def _step(x):
    """Smooth step from 0 (x << -1) to 1 (x >> 1), 0.5 at 0 (algebraic sigmoid: cheap per level)."""
    return 0.5 + 0.5 * x / np.sqrt(1.0 + x * x)


def _blob(lat, lon, c_lat, c_lon, r_lat, r_lon):
    return np.exp(-(((lat - c_lat) / r_lat) ** 2 + ((lon - c_lon) / r_lon) ** 2))


def _frontal_zone(lat, lon, hours):
    """Return the weight [0, 1] of the cloudy, rainy zone ahead of the trough, drifting east 0.15 deg/h."""
    return _blob(lat, lon, 49.3, 2.0 + 0.15 * hours, 1.2, 2.5)


def _unstable_region(lat, lon):
    """Return the weight [0, 1] of the warm, moist, conditionally unstable air (Po plain, southern Alps)."""
    return _blob(lat, lon, 45.7, 9.2, 1.4, 3.0)


def _member_field(lat, lon, seed, member, stream, **kwargs):
    """Return a unit-variance smooth random field: the control's (member 0), and for other members a
    mix of it (75 % of the variance) with the member's own, so that members' weather is related."""
    field = _smooth_random(lat, lon, _rng(seed, 0, _SMOOTH_RANDOM_STREAMS[stream]), bounded=False, **kwargs)
    if member == 0:
        return field
    own = _smooth_random(lat, lon, _rng(seed, member, _SMOOTH_RANDOM_STREAMS[stream]), bounded=False, **kwargs)
    return np.sqrt(0.75) * field + 0.5 * own


def _convective_cells(lat, lon, seed, member, hours):
    """Return the convective cells' intensity [0, ~2.5] at ``hours`` after the start: where a smooth
    random field of unit variance (scales 40-200 km, evolving over 6-24 h) exceeds 0.8, in the
    unstable region; 0 elsewhere."""
    field = _member_field(lat, lon, seed, member, "cells", nmodes=16, wavelengths=(40.0, 200.0), hours=hours,
                          periods=(6.0, 24.0))
    return _unstable_region(lat, lon) * np.maximum(field - 0.8, 0.0)


# ----------------------------------------------------------------------------------------------------
# The model run: columns whose profiles are analytic functions of height
# ----------------------------------------------------------------------------------------------------

_Z0 = 0.1  # roughness length [m] of the logarithmic surface-layer wind


class _Columns:
    """The atmosphere over a set of points at one member and lead time.

    Holds only horizontal (one-level) arrays; :meth:`temperature_and_humidity`, :meth:`wind` and
    :meth:`vertical_wind` evaluate the profiles at one level's heights ``z`` [m above sea].
    """

    def __init__(self, surface: _Surface, member: int, lead: int, seed: int):
        points, hsurf = surface.points, surface.hsurf
        lat, lon = points.lat, points.lon
        self.points = points
        self.hs = hsurf
        local_hour = lead + lon / 15.0
        # Day weight: 1 at 14:30 local solar time, 0 at 02:30; the sea (HSURF 0) has hardly a daily cycle.
        self.day = 0.5 * (1.0 + np.cos(2 * np.pi * (local_hour - 14.5) / 24.0))
        self.day = np.where(hsurf > 0.0, self.day, 0.5 + 0.1 * (self.day - 0.5))
        # Regions: warm, moist, conditionally unstable air over the Po plain and southern Alps; subsidence
        # with an elevated inversion over north-eastern France and the Rhine.
        self.unstable = _unstable_region(lat, lon)
        self.subsided = _blob(lat, lon, 48.6, 4.6, 1.5, 3.5)
        # Free troposphere: standard lapse rate from a sea-level temperature that falls northward.
        self.t_sea = 297.5 - 0.8 * (lat - 46.5) + 0.8 * np.sin(0.5 * lon) * np.cos(0.9 * lat)
        self.z_tropopause = 11_500.0 - 250.0 * (lat - 46.5)
        # Boundary layer: 1-1.8 km deep; mixed (dry adiabatic) by day, a residual layer with a surface
        # inversion by night (weaker under the cloudy, moist air of the unstable region).
        self.h_bl = 1000.0 + 800.0 * (0.5 + 0.5 * np.sin(0.45 * lon + 0.3) * np.cos(1.1 * lat - 0.5))
        self.mixing = 0.45 + 0.45 * self.day
        self.night_inversion = 5.5 * (1.0 - self.day) * (1.0 - 0.6 * self.unstable)
        self.steepening = 0.75 * self.unstable
        self.warm_middle = 4.0 * (1.0 - self.unstable)
        z_bl_top = hsurf + self.h_bl
        self.z_inversion = np.maximum(2500.0 + 150.0 * (lat - 48.0), z_bl_top + 400.0)
        self.inversion = 3.5 * self.subsided
        self.subsided_drying = 0.5 * self.subsided
        # Moisture: relative humidity in the boundary layer (at its night-time temperature) and aloft.
        self.rh_bl = 0.57 + 0.12 * self.unstable + 0.04 * (1.0 + np.sin(0.7 * lon - 1.3 * lat))
        self.rh_aloft = 0.12 + 0.08 * (1.0 + np.cos(0.6 * lon + 0.8 * lat))
        # Near-saturated troposphere where it rains: the frontal zone and the convective cells.
        cells = _convective_cells(lat, lon, seed, member, lead)
        self.cloudy = np.maximum(0.9 * _frontal_zone(lat, lon, lead), np.minimum(2.0 * cells, 0.9))
        # Winds: a westerly jet of ~45 m/s near 10 km north of the Alps, a weaker meridional wave, and a
        # boundary-layer wind from 0.4 to 9.4 m/s whose calm zones give 10 m winds below 1 m/s.
        self.u_bg = 5.0 + 2.0 * np.cos(0.4 * lon)
        jet = 44.0 * np.exp(-(((lat - 47.8) / 2.6) ** 2)) * (0.9 + 0.1 * np.cos(2 * np.pi * (lon - 4.0) / 17.0))
        self.jet_excess = jet - self.u_bg
        self.v_wave = 7.0 * np.sin(2 * np.pi * (lon - 2.0) / 15.0) * np.cos(np.pi * (lat - 46.5) / 12.0)
        speed = 0.4 + 9.0 * (0.5 + 0.5 * np.sin(0.8 * lon + 0.3) * np.sin(2.1 * lat + 0.9)) ** 1.2
        direction = np.radians(240.0 + 60.0 * np.sin(0.35 * lon) + 40.0 * np.cos(1.7 * lat))  # blowing from
        self.u_bl = -speed * np.sin(direction)
        self.v_bl = -speed * np.cos(direction)
        self.calm = np.minimum(1.0, speed / 5.0)
        self.log_bl = np.log1p(self.h_bl / _Z0)
        # Member perturbations (none for the control, member 0), smooth in space and lead time.
        if member == 0:
            self.pt = self.pq = self.pu = self.pv = None
        else:
            def pair(stream):
                rng = _rng(seed, member, _SMOOTH_RANDOM_STREAMS[stream])
                return tuple(0.7 * _smooth_random(lat, lon, rng, hours=lead) for _ in range(2))

            self.pt, self.pq, self.pu, self.pv = (pair(s) for s in ("t", "q", "u", "v"))
        # Vertical wind: terrain-following lifting of the low-level flow, and convective cells.
        self.w_orographic = self.u_bl * surface.dhdx + self.v_bl * surface.dhdy
        self.w_convective = 0.8 * cells  # updraughts in the rain cells
        # Surface pressure: a synoptic pattern (a trough to the north-west, drifting east) reduced to the
        # terrain through the free-troposphere temperature below it.
        p_sea = (101_300.0 - 900.0 * _blob(lat, lon, 50.5, -1.0 + 0.15 * lead, 3.0, 6.0)
                 + 250.0 * np.cos(0.3 * lon) * np.sin(0.5 * lat))
        t_mean = self.t_sea - 0.5 * _GAMMA * hsurf
        self.ps = p_sea * np.exp(-g * hsurf / (Rd * t_mean * (1.0 + rv_rd_minus_1 * 0.008)))
        self.t_standard_surface = self._t_standard(hsurf)

    # Profiles ----------------------------------------------------------------------------------------
    # Each method takes one level's heights z [m above sea] (an array like HSURF). Terms that vanish at
    # every point of a level (surface-layer terms aloft) are skipped: they would add < 0.001 K.

    def _t_standard(self, z):
        """Standard-atmosphere-like profile: 6.5 K/km to the tropopause, isothermal, +1 K/km above 20 km."""
        return (self.t_sea - _GAMMA * z + _GAMMA * _ramp(z - self.z_tropopause, 400.0)
                + 0.001 * _ramp(z - 20_000.0, 1000.0))

    def temperature_and_humidity(self, z):
        """Return temperature [K] and specific humidity [kg kg-1] at heights ``z`` [m]."""
        h = z - self.hs
        t_standard = self._t_standard(z)
        # Steeper lapse rate (up to +0.6 K/km) in the 4 km above the boundary layer where it is unstable,
        # compensated in the 4 km above that, so that the tropopause keeps its temperature.
        above = np.clip((h - self.h_bl) * (1.0 / 4000.0), 0.0, 2.0)
        t = t_standard - self.steepening * (1.0 - np.cos(np.pi * above))
        # Elsewhere warm, subsiding air in the middle troposphere stabilises the column.
        t += self.warm_middle * np.exp(-(((z - 5000.0) * (1.0 / 2500.0)) ** 2))
        # Elevated (subsidence) inversion: a few K over ~200 m, decaying above.
        dz = z - self.z_inversion
        t += self.inversion * _step(dz * (1.0 / 50.0)) * np.exp(_ramp(dz, 50.0) * (-1.0 / 1200.0))
        # The boundary layer's daily cycle: well mixed (dry adiabatic) by day, a residual layer over a
        # surface inversion by night. The air's moisture follows neither it nor the members' temperature
        # perturbation, so the relative humidity falls in the afternoon heat and rises in the night's cold.
        height_above_bl = h - self.h_bl
        if height_above_bl.min() < 6000.0:
            mixed = (_GAMMA_DRY - _GAMMA) * _ramp(-height_above_bl, 80.0)
            t_moisture = t + (0.35 - 0.2 * self.day) * mixed  # mixing entrains dry air by day
            t += self.mixing * mixed
        else:
            t_moisture = t.copy()
        cos, sin = self._phase(z, 8000.0) if self.pt is not None else (None, None)
        if self.pt is not None:
            t += self.pt[0] * cos + self.pt[1] * sin  # |T'| < 1 K
        if h.min() < 1500.0:
            t += self.day * np.exp(h * (-1.0 / 40.0))  # superadiabatic surface layer by day
            t -= self.night_inversion * np.exp(h * (-1.0 / 120.0))  # nocturnal surface inversion
        rh = self._relative_humidity(z, h, height_above_bl, cos, sin)
        # Pressure to convert RH to QV: an isothermal layer at the mean standard temperature between the
        # surface and z (the written P integrates the hydrostatic equation; they differ by < 1 %).
        p_approx = self.ps * np.exp(h * (-g / Rd) / (0.5 * (self.t_standard_surface + t_standard)))
        e = np.minimum(rh * _esat(t_moisture), _RH_MAX * _esat(t))
        return t, _specific_humidity(e, p_approx)

    def _relative_humidity(self, z, h, height_above_bl, cos, sin):
        """Return the target relative humidity [1]: the boundary layer's, decaying above it, clouds where it
        rains, dry above the elevated inversion and in the stratosphere."""
        in_bl = _step(height_above_bl * (-1.0 / 100.0))
        aloft = self.rh_aloft + (0.55 - self.rh_aloft) * np.exp(_ramp(height_above_bl, 100.0) * (-1.0 / 2000.0))
        rh = aloft + in_bl * (self.rh_bl - aloft)
        # Clouds from the boundary layer's top to 1 km below the tropopause.
        rh += (_RH_MAX - rh) * self.cloudy * (1.0 - in_bl) * _step((self.z_tropopause - 1000.0 - z) * (1.0 / 300.0))
        rh *= 1.0 - self.subsided_drying * _step((z - self.z_inversion) * (1.0 / 50.0))
        rh *= 1.0 - 0.95 * _step((z - self.z_tropopause) * (1.0 / 500.0))  # a few ppm in the stratosphere
        if self.pq is not None:
            rh *= 1.0 + 0.1 * (self.pq[0] * cos + self.pq[1] * sin)  # QV' < 10 %
        return np.minimum(rh, _RH_MAX)

    @staticmethod
    def _phase(z, scale):
        """Return cos and sin of pi z / scale: the vertical structure of the member perturbations."""
        phase = z * (np.pi / scale)
        return np.cos(phase), np.sin(phase)

    def wind(self, z):
        """Return the geographic wind (u, v) [m s-1] at heights ``z`` [m]."""
        h = z - self.hs
        u = self.u_bg + self.jet_excess * np.exp(-(((z - 10_000.0) * (1.0 / 3500.0)) ** 2))
        v = 1.5 + self.v_wave * np.exp(-(((z - 9000.0) * (1.0 / 4000.0)) ** 2))
        if (h < self.h_bl).any():
            # Logarithmic surface layer, blending into the free flow at the boundary layer's top.
            surface_layer = np.minimum(np.log1p(np.maximum(h, 0.0) * (1.0 / _Z0)) / self.log_bl, 1.0)
            s = np.minimum(h / self.h_bl, 1.0)
            s = s * s * (3.0 - 2.0 * s)
            u = surface_layer * (self.u_bl + s * (u - self.u_bl))
            v = surface_layer * (self.v_bl + s * (v - self.v_bl))
            damping = surface_layer * (s + (1.0 - s) * self.calm)  # perturbations keep calm spots calm
        else:
            damping = None
        if self.pu is not None:
            cos, sin = self._phase(z, 6000.0)
            du = 2.0 * (self.pu[0] * cos + self.pu[1] * sin)  # |u'| < 2 m/s
            dv = 2.0 * (self.pv[0] * cos + self.pv[1] * sin)
            if damping is not None:
                du *= damping
                dv *= damping
            u += du
            v += dv
        return u, v

    def vertical_wind(self, z):
        """Return the vertical wind [m s-1] at half-level heights ``z`` [m]; 0 at the model top."""
        h = z - self.hs
        w = (self.w_orographic * np.exp(h * (-1.0 / 2500.0))
             + self.w_convective * np.sin(np.pi * np.clip(h * (1.0 / 9000.0), 0.0, 1.0)))
        return w * -np.expm1((z - Z_TOP) * (1.0 / 800.0))

    # Surface diagnostics -------------------------------------------------------------------------------

    def screen_level(self):
        """Return 2 m temperature and dew point, 10 m wind and the hour's maximum 10 m gust."""
        z2 = self.hs + 2.0
        t2, q2 = self.temperature_and_humidity(z2)
        p2 = self.ps * np.exp(-g * 2.0 / (Rd * t2))
        e2 = q2 * p2 / (_EPS + (1.0 - _EPS) * q2)
        td2 = np.minimum(_dewpoint(e2), t2)
        u10, v10 = self.wind(self.hs + 10.0)
        u_bl_top, v_bl_top = self.wind(self.hs + self.h_bl)
        gust = 1.0 + 1.35 * np.hypot(u10, v10) + 0.25 * (0.3 + 0.7 * self.day) * np.hypot(u_bl_top, v_bl_top)
        return {"T_2M": t2, "TD_2M": td2, "U_10M": u10, "V_10M": v10, "VMAX_10M": gust}


_TOT_PREC_STEP = 2.0**-7  # kg m-2: resolution of TOT_PREC


def _precipitation_rate(points: _Points, member: int, hour: int, seed: int) -> np.ndarray:
    """Return the precipitation [kg m-2] that falls in hour ``hour``..``hour``+1 of the run.

    Convective cells where the air is moist and unstable (more in the afternoon), light frontal rain
    ahead of the trough in the north-west, nothing elsewhere (exactly 0).
    """
    lat, lon = points.lat, points.lon
    local_hour = hour + 0.5 + lon / 15.0
    day = 0.5 * (1.0 + np.cos(2 * np.pi * (local_hour - 15.5) / 24.0))
    convective = 3.5 * (0.4 + 0.6 * day) * _convective_cells(lat, lon, seed, member, hour + 0.5) ** 1.5
    front = _member_field(lat, lon, seed, member, "front", nmodes=8, wavelengths=(100.0, 400.0), hours=hour + 0.5,
                          periods=(6.0, 24.0))
    frontal = 0.8 * _frontal_zone(lat, lon, hour + 0.5) * np.maximum(front - 0.3, 0.0)
    rate = convective + frontal
    return np.where(rate < 0.01, 0.0, rate)


def _total_precipitation(points: _Points, member: int, lead_times: Sequence[int], seed: int,
                         bits_per_value: int) -> dict[int, np.ndarray]:
    """Return TOT_PREC [kg m-2] accumulated from the start to each lead time.

    The totals are rounded down to multiples of a power-of-two step that the packing represents
    exactly, so that the decoded totals never decrease with lead time (packing each field to its own
    range could otherwise round a later, larger total below an earlier one). The step is 2**-7 kg m-2
    (exact with 16 bits up to 512 kg m-2), so the totals do not depend on which lead times are written;
    only where fewer bits or huge totals need it is it coarser, then chosen for the largest total.
    """
    total = np.zeros(points.lat.shape)
    totals = {}
    for hour in range(max(lead_times) + 1):
        if hour in lead_times:
            totals[hour] = total.copy()
        total += _precipitation_rate(points, member, hour, seed)
    largest = max(float(t.max()) for t in totals.values())
    step = max(_TOT_PREC_STEP, 2.0 ** np.ceil(np.log2(max(largest, 1e-300) / (2.0**bits_per_value - 1))))
    return {lead: np.floor(t / step) * step for lead, t in totals.items()}


# ----------------------------------------------------------------------------------------------------
# Level by level
# ----------------------------------------------------------------------------------------------------

def _full_level_height(a, b, k: int, hsurf: np.ndarray) -> np.ndarray:
    """Return the height [m] of full level ``k`` (1-based): the middle of half levels k and k+1."""
    return 0.5 * (a[k - 1] + a[k] + (b[k - 1] + b[k]) * hsurf)


def _hydrostatic_step(z_a, tv_a, z_b, tv_b):
    """Return ln(p_b / p_a) between heights ``z_a`` and ``z_b`` for a layer of mean virtual temperature
    (tv_a + tv_b) / 2: the integral of dp/dz = -p g / (Rd Tv)."""
    return -g * (z_b - z_a) / (Rd * 0.5 * (tv_a + tv_b))


def _virtual_temperature(t, qv):
    return t * (1.0 + rv_rd_minus_1 * qv)


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


class _Output:
    """A GRIB file written under a temporary name and renamed into place when complete."""

    def __init__(self, path: pathlib.Path):
        self.path = path
        path.parent.mkdir(parents=True, exist_ok=True)
        self._part = path.with_name(path.name + ".part")
        self.file = open(self._part, "wb")

    def __enter__(self):
        return self

    def __exit__(self, exc_type, exc, tb):
        self.file.close()
        if exc_type is None:
            os.replace(self._part, self.path)
        else:
            self._part.unlink(missing_ok=True)


def _lead_time_name(lead: int) -> str:
    days, hours = divmod(lead, 24)
    return f"lfff{days:02d}{hours:02d}0000"


def _write_constants(path: pathlib.Path, enc: _Encoding, points: _Points, hsurf: np.ndarray, a, b) -> None:
    with _Output(path) as out:
        template = _template(enc, "HHL", _CONSTANT_FIELDS["HHL"], member=None, lead=0)
        try:
            for k in range(enc.nlev + 1):
                out.file.write(_encode(template, a[k] + b[k] * hsurf, level=k + 1))
        finally:
            eccodes.codes_release(template)
        names = ["HSURF", "CLAT", "CLON"] if isinstance(enc.grid, IconGrid) else ["HSURF"]
        for name, values in zip(names, (hsurf, points.lat, points.lon)):
            template = _template(enc, name, _CONSTANT_FIELDS[name], member=None, lead=0)
            try:
                out.file.write(_encode(template, values))
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
        for name, spec in _MODEL_LEVEL_FIELDS.items():
            stagger = {"U": "x", "V": "y"}.get(name) if rotated is not None else None
            templates[name] = _template(enc, name, spec, member=member, lead=lead, stagger=stagger)
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
        with _Output(path) as out:
            for name in _MODEL_LEVEL_FIELDS:
                spools[name].copy_to(out.file)
            for name, spec in _SURFACE_FIELDS.items():
                template = _template(enc, name, spec, member=member, lead=lead)
                try:
                    out.file.write(_encode(template, surface[name]))
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
        ``output_dir/lfff00000000c`` (HHL, HSURF and, on ICON grids, CLAT, CLON), then, for each member
        and lead time, ``output_dir/{member:03d}/lfff{DD}{HH}0000`` (P, T, QV, U, V on full levels 1..80,
        W on half levels 1..81, then PS, T_2M, TD_2M, U_10M, V_10M, VMAX_10M, TOT_PREC).

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

    paths = [output_dir / "lfff00000000c"]
    _write_constants(paths[0], enc, surfaces[None].points, surfaces[None].hsurf, a, b)
    log.info("wrote %s", paths[0])
    for member in members:
        totals = _total_precipitation(surfaces[None].points, member, lead_times, seed, int(bits_per_value))
        for lead in lead_times:
            path = output_dir / f"{member:03d}" / _lead_time_name(lead)
            _write_member_lead(path, enc, surfaces, member, lead, seed, totals[lead], a, b)
            log.info("wrote %s", path)
            paths.append(path)
    return paths


if __name__ == "__main__":  # pragma: no cover - for benchmarks: python -m nwpflow.io.sample DIR [PRESET]
    import sys
    import time

    start = time.perf_counter()
    written = write_sample(sys.argv[1], sys.argv[2] if len(sys.argv) > 2 else "small")
    print(f"{len(written)} files in {time.perf_counter() - start:.1f} s")
