"""Ensemble meteograms (EPSgrams) at configured points, and the tidy table of their time series.

For each point (config ``meteograms.points``: name, latitude, longitude) every member's series of

* ``T_2M`` (2 m temperature; drawn in °C, kept in K),
* ``TOT_PREC_rate``: precipitation per hour, ``(TOT_PREC(t_i) - TOT_PREC(t_{i-1})) / (t_i - t_{i-1})`` of the
  accumulated ``TOT_PREC`` (the mean rate over the interval before each lead time; at the first lead time
  ``t_0 > 0`` the mean since the start, ``TOT_PREC(t_0) / t_0``; none at ``t_0 = 0``),
* ``FF_10M`` and ``VMAX_10M`` (10 m wind speed, the product; gusts, the model's maximum since the last
  output),
* CAPE (config ``meteograms.cape``, ``CAPE_ML`` by default),

is read at the point (:func:`locate`) from the model files (GRIB) and the product files, and each lead
time's distribution over the members is drawn: median, quartiles, 10-90 % and min-max. The percentiles
are numpy's (``np.percentile``, linear interpolation between members).

Where a point is: on an unstructured grid, the nearest cell centre (great-circle distance); on a rotated or
regular grid, bilinear interpolation between the four surrounding grid points in the grid's own
coordinates. The point's model height is ``HSURF`` sampled the same way.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from nwpflow import constants
from nwpflow.errors import InputError
from nwpflow.plots import geo
from nwpflow.plots.frames import time_text

log = logging.getLogger("nwpflow.plots")

MODEL_FIELDS = ("T_2M", "TOT_PREC", "VMAX_10M")
"""Fields of the model files a meteogram reads."""

PERCENTILES = (0.0, 10.0, 25.0, 50.0, 75.0, 90.0, 100.0)
"""The distribution drawn per lead time: min, 10 %, quartile, median, quartile, 90 %, max."""

PANELS = (
    ("T_2M", "2 m temperature", "°C"),
    ("TOT_PREC_rate", "precipitation per hour", "mm h-1"),
    ("wind", "10 m wind (blue) and gusts (orange)", "m s-1"),
    ("CAPE", "CAPE", "J kg-1"),
)


@dataclass(frozen=True)
class Point:
    """A place of a meteogram: its name, latitude and longitude [deg], and optionally its real height [m]."""

    name: str
    latitude: float
    longitude: float
    height: float | None = None


@dataclass(frozen=True)
class Location:
    """How a point reads a field: ``sum(weights * field.flat[indices])``."""

    point: Point
    method: str
    """``nearest cell`` or ``bilinear``."""
    indices: tuple[int, ...]
    weights: tuple[float, ...]
    detail: str
    """What the title and table say: the cell and its distance, or the grid position."""
    distance_km: float | None = None

    def sample(self, values: np.ndarray) -> float:
        flat = np.asarray(values).reshape(-1)
        return float(sum(w * float(flat[i]) for i, w in zip(self.indices, self.weights)))


def great_circle_km(lat0: float, lon0: float, lat: np.ndarray, lon: np.ndarray) -> np.ndarray:
    """Return the haversine distance [km] from ``(lat0, lon0)`` to each ``(lat, lon)`` [deg] on a sphere of
    radius ``constants.earth_radius``."""
    p0, p = np.radians(lat0), np.radians(lat)
    a = np.sin((p - p0) / 2) ** 2 + np.cos(p0) * np.cos(p) * np.sin(np.radians(lon - lon0) / 2) ** 2
    return 2.0 * constants.earth_radius / 1000.0 * np.arcsin(np.sqrt(np.clip(a, 0.0, 1.0)))


def locate(point: Point, latitude: np.ndarray, longitude: np.ndarray, *, rlat: np.ndarray | None = None,
           rlon: np.ndarray | None = None, pole: tuple[float, float] | None = None) -> Location:
    """Return where ``point`` reads a field of the grid with coordinates ``latitude``, ``longitude`` [deg]
    (1-D: unstructured cells, nearest; 2-D: a rotated grid with 1-D ``rlat``, ``rlon`` and ``pole``, or a
    regular grid: bilinear).

    Raises
    ------
    InputError
        The point lies outside the grid (beyond its last row or column; on cells, farther from the
        nearest cell than twice the mean cell spacing).
    """
    lat = np.asarray(latitude, dtype=np.float64)
    lon = np.asarray(longitude, dtype=np.float64)
    if lat.ndim == 1:
        distance = great_circle_km(point.latitude, point.longitude, lat, lon)
        nearest = int(np.argmin(distance))
        area = (great_circle_km(lat.min(), lon.min(), lat.min(), lon.max()).item() *
                great_circle_km(lat.min(), lon.min(), lat.max(), lon.min()).item())
        spacing = np.sqrt(area / lat.size)
        if distance[nearest] > 2.0 * spacing:
            raise InputError(f"point {point.name!r} ({point.latitude}°N, {point.longitude}°E) lies outside the grid: "
                             f"the nearest cell is {distance[nearest]:.1f} km away (cells are ~{spacing:.1f} km apart)",
                             field="meteograms.points")
        return Location(point, "nearest cell", (nearest,), (1.0,),
                        f"nearest cell {nearest}, {distance[nearest]:.2f} km away", float(distance[nearest]))
    if rlat is not None and pole is not None:
        y, x = geo.geographic_to_rotated(point.latitude, point.longitude, *pole)
        ys, xs, what = np.asarray(rlat, np.float64), np.asarray(rlon, np.float64), "rotated"
    else:
        y, x = point.latitude, point.longitude
        ys, xs, what = lat[:, 0], lon[0, :], "latitude/longitude"
    fy, fx = _fraction(float(y), ys, point, "latitude"), _fraction(float(x), xs, point, "longitude")
    j, i = min(int(fy), ys.size - 2), min(int(fx), xs.size - 2)
    wy, wx = fy - j, fx - i
    nx = xs.size
    indices = (j * nx + i, j * nx + i + 1, (j + 1) * nx + i, (j + 1) * nx + i + 1)
    weights = ((1 - wy) * (1 - wx), (1 - wy) * wx, wy * (1 - wx), wy * wx)
    return Location(point, "bilinear", indices, tuple(float(w) for w in weights),
                    f"bilinear in {what} coordinates between rows {j}-{j + 1}, columns {i}-{i + 1}")


def _fraction(value: float, axis: np.ndarray, point: Point, name: str) -> float:
    """The fractional index of ``value`` on a monotonic ``axis``."""
    ascending = axis[-1] > axis[0]
    a = axis if ascending else axis[::-1]
    if not a[0] <= value <= a[-1]:
        raise InputError(f"point {point.name!r} ({point.latitude}°N, {point.longitude}°E) lies outside the grid "
                         f"({name} {value:.3f} beyond {a[0]:.3f}..{a[-1]:.3f})", field="meteograms.points")
    fraction = float(np.interp(value, a, np.arange(a.size, dtype=np.float64)))
    return fraction if ascending else (axis.size - 1) - fraction


def precipitation_rate(leads: Sequence[float], accumulated: np.ndarray) -> np.ndarray:
    """Return the precipitation per hour before each lead time from the accumulated amounts at ``leads``
    [h] (last axis), as the module docstring states.

    Examples
    --------
    >>> precipitation_rate([0, 1, 3], np.array([0.0, 2.0, 3.0])).tolist()
    [nan, 2.0, 0.5]
    >>> precipitation_rate([2, 3], np.array([4.0, 5.0])).tolist()
    [2.0, 1.0]
    """
    leads = np.asarray(leads, dtype=np.float64)
    total = np.asarray(accumulated, dtype=np.float64)
    previous_lead = np.concatenate([[0.0], leads[:-1]])
    previous = np.concatenate([np.zeros(total.shape[:-1] + (1,)), total[..., :-1]], axis=-1)
    with np.errstate(invalid="ignore", divide="ignore"):
        rate = (total - previous) / (leads - previous_lead)
    return np.where(leads - previous_lead > 0, rate, np.nan)


def distribution(values: np.ndarray) -> np.ndarray:
    """Return :data:`PERCENTILES` over the members (axis 0) of ``values`` (members x lead times): shape
    ``(7, lead times)``; NaN where a member's value is."""
    return np.percentile(np.asarray(values, dtype=np.float64), PERCENTILES, axis=0)


def collect_series(points: Sequence[Point], model_files: Mapping[int, Mapping[int, str]],
                   product_files: Mapping[str, Mapping[int, Mapping[int, str]]], constants_file: str) -> list[dict]:
    """Return the tidy table (one row per point, member, lead time and variable) of every member's series.

    Parameters
    ----------
    points : sequence of Point
    model_files : Mapping
        ``{member: {lead [h]: model file}}`` (GRIB or NetCDF, read through :func:`nwpflow.io.open_run`).
    product_files : Mapping
        ``{product: {member: {lead: file}}}``: ``FF_10M`` and the CAPE product.
    constants_file : str
        The run's constants file (``HSURF`` and the grid's coordinates).
    """
    from nwpflow.io import open_run, read_field

    grid = open_run([constants_file], ["HSURF"])
    coords = {name: grid[name].values for name in ("rlat", "rlon") if name in grid.coords}
    pole = None
    if "rotated_pole" in grid.coords:
        attrs = grid["rotated_pole"].attrs
        pole = (float(attrs["grid_north_pole_latitude"]), float(attrs["grid_north_pole_longitude"]))
    locations = [locate(p, grid["latitude"].values, grid["longitude"].values, pole=pole, **coords) for p in points]
    heights = [loc.sample(grid["HSURF"].values) for loc in locations]
    rows = []

    def add(variable, member, lead, valid, values, units):
        for loc, height, value in zip(locations, heights, values):
            rows.append({"point": loc.point.name, "latitude": loc.point.latitude, "longitude": loc.point.longitude,
                         "method": loc.method, "grid_point": loc.detail, "distance_km": loc.distance_km,
                         "model_height_m": height, "member": member, "lead_h": lead, "valid_time": valid,
                         "variable": variable, "value": value, "units": units})

    for member, files in sorted(model_files.items()):
        leads = sorted(files)
        accumulated = []
        valid_times = {}
        for lead in leads:
            dataset = open_run([files[lead]], list(MODEL_FIELDS))
            valid = time_text(dataset["valid_time"].values) if "valid_time" in dataset.coords else ""
            valid_times[lead] = valid
            for name in MODEL_FIELDS:
                values = [loc.sample(dataset[name].values) for loc in locations]
                add(name, member, lead, valid, values, dataset[name].attrs.get("units", ""))
                if name == "TOT_PREC":
                    accumulated.append(values)
        rates = precipitation_rate(leads, np.asarray(accumulated, dtype=np.float64).T)
        for k, lead in enumerate(leads):
            add("TOT_PREC_rate", member, lead, valid_times[lead], rates[:, k], "kg m-2 h-1")
        for product, by_member in product_files.items():
            for lead in leads:
                data, _ = read_field(by_member[member][lead], product)
                add(product, member, lead, valid_times[lead], [loc.sample(data.values) for loc in locations],
                    data.attrs.get("units", ""))
    return rows


def series(rows: Sequence[dict], point: str, variable: str) -> tuple[list[float], list[str], np.ndarray]:
    """Return ``(lead times, valid times, values[member, lead])`` of one point and variable of a tidy table."""
    chosen = [r for r in rows if r["point"] == point and r["variable"] == variable]
    members = sorted({r["member"] for r in chosen})
    leads = sorted({r["lead_h"] for r in chosen})
    values = np.full((len(members), len(leads)), np.nan)
    valid = {r["lead_h"]: r["valid_time"] for r in chosen}
    for r in chosen:
        values[members.index(r["member"]), leads.index(r["lead_h"])] = r["value"]
    return leads, [valid[lead] for lead in leads], values


def draw_meteogram(rows: Sequence[dict], point: Point, path: str | os.PathLike, *, cape: str = "CAPE_ML",
                   run: str = "") -> dict[str, np.ndarray]:
    """Draw the EPSgram of ``point`` from the tidy table ``rows`` into ``path`` (PNG, atomically) and return
    the distributions drawn, ``{variable: (7, lead times)}`` (:func:`distribution`; T_2M in K)."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure
    from matplotlib.patches import Patch

    from nwpflow.io.writer import atomic_output

    figure = Figure(figsize=(8.0, 9.0), dpi=100, facecolor="white", layout="constrained")
    FigureCanvasAgg(figure)
    axes = figure.subplots(len(PANELS), 1, sharex=True)
    drawn = {}
    mine = [r for r in rows if r["point"] == point.name]
    if not mine:
        raise InputError(f"the table has no rows of point {point.name!r}", field="meteograms.points")
    leads = None
    for ax, (key, label, units) in zip(axes, PANELS):
        variables = [("FF_10M", -0.18, "tab:blue"), ("VMAX_10M", 0.18, "tab:orange")] if key == "wind" else \
            [(cape if key == "CAPE" else key, 0.0, "tab:blue" if key != "TOT_PREC_rate" else "tab:green")]
        for variable, offset, colour in variables:
            leads, valid, values = series(rows, point.name, variable)
            stats = distribution(values)
            drawn[variable] = stats
            shown = stats - 273.15 if key == "T_2M" else stats
            _boxes(ax, np.asarray(leads) + offset, shown, colour, width=0.3 if key == "wind" else 0.5)
        ax.set_ylabel(f"{cape if key == 'CAPE' else label}\n[{units}]", fontsize=8)
        ax.grid(True, linewidth=0.3)
        ax.tick_params(labelsize=8)
    first = mine[0]
    axes[-1].set_xlabel("lead time [h]", fontsize=8)
    axes[-1].set_xticks(leads)
    axes[-1].set_xticklabels([f"+{lead:g}\n{v[11:16]}" if v else f"+{lead:g}" for lead, v in zip(leads, valid)])
    height = f"model height {first['model_height_m']:.0f} m"
    if point.height is not None:
        height += f" (station {point.height:.0f} m)"
    members = len({r["member"] for r in mine})
    figure.suptitle(f"{point.name} ({point.latitude:.3f}°N, {point.longitude:.3f}°E) · {height}\n"
                    f"{first['grid_point']} · {members} members" + (f" · run {run}" if run else ""), fontsize=9)
    figure.legend(handles=[Patch(color="0.85", label="min-max (line)"), Patch(color="0.7", label="10-90 %"),
                           Patch(color="0.4", label="25-75 %"), Patch(color="black", label="median (bar)")],
                  loc="outside lower center", ncol=4, fontsize=7, frameon=False)
    with atomic_output(Path(path)) as temporary:
        with open(temporary, "wb") as f:
            figure.savefig(f, format="png", pil_kwargs={"compress_level": 3})
    return drawn


def _boxes(ax, x: np.ndarray, stats: np.ndarray, colour: str, width: float) -> None:
    low, p10, p25, median, p75, p90, high = stats
    ax.vlines(x, low, high, color=colour, linewidth=0.8, alpha=0.6, gid="min-max")
    ax.bar(x, p90 - p10, bottom=p10, width=width, color=colour, alpha=0.3, gid="10-90")
    ax.bar(x, p75 - p25, bottom=p25, width=width * 0.6, color=colour, alpha=0.7, gid="25-75")
    ax.hlines(median, x - width / 2, x + width / 2, color="black", linewidth=1.5, gid="median")


__all__ = ["MODEL_FIELDS", "PERCENTILES", "Location", "Point", "collect_series", "distribution", "draw_meteogram",
           "great_circle_km", "locate", "precipitation_rate", "series"]
