"""The sample run's domain: ICON cells and rotated grids over the Alps, orography, vertical levels."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from nwpflow.io.sample.presets import IconGrid, RotatedGrid

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


