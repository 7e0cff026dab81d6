"""Where each value of a field goes on a map: the geometry of a model grid, computed once per run.

Three kinds of grid, each drawn in its own plane:

* ``cells`` — an unstructured (ICON) grid, drawn in longitude/latitude with the aspect of the domain's
  middle latitude (an equidistant cylindrical projection with that standard parallel). Where the cells'
  vertices are known (an ICON grid file, config ``quicklooks.grid_file``, or CF ``bounds`` of the cell
  coordinates), each cell is its own polygon in one colour; otherwise the cell centres are triangulated
  (Delaunay) and each pixel is the linear interpolation of its triangle's three cells (Gouraud shading).
  Both are turned into a pixel map (:mod:`nwpflow.plots._raster`), so that a quicklook is a gather.
* ``rotated`` — a rotated-pole grid (COSMO), drawn in its rotated coordinates: each grid cell is a
  rectangle there; coastlines, borders and the graticule are transformed to it.
* ``regular`` — a regular latitude/longitude grid, drawn in longitude/latitude like ``cells``.

A :class:`MapGeometry` is saved as one ``.npz`` file (:meth:`MapGeometry.save`); the quicklook jobs load
it (no numba, no triangulation in them).
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass, field, fields
from pathlib import Path

import numpy as np

from nwpflow.errors import InputError
from nwpflow.plots import geo

DEFAULT_WIDTH = 720
"""Width of the map in pixels (config ``quicklooks.width``)."""

HEIGHT_LIMITS = (240, 1080)
"""The map's height in pixels follows the domain's aspect, within these limits."""

LONG_TRIANGLE = 4.0
"""Delaunay triangles with an edge longer than this many times the median edge are dropped: they bridge
concave parts of the domain's outline, where there are no cells."""


@dataclass
class MapGeometry:
    """Where the values of a grid go on a map of ``width`` x ``height`` pixels covering ``extent``.

    For ``cells``, pixel ``k`` (row-major from the lower left) shows
    ``sum(weight[k] * values[index[k]])`` (``index[k, 0] = -1``: outside the domain); for ``rotated`` and
    ``regular``, the field reshaped to ``grid_shape`` is drawn over ``extent``, rows flipped where the
    grid runs north to south (``flip_rows``).
    """

    kind: str
    drawing: str
    extent: tuple[float, float, float, float]
    width: int
    height: int
    points: int
    digest: str
    """SHA-1 of the grid's latitudes and longitudes (float64): a field's file must be on this grid."""
    index: np.ndarray | None = None
    weight: np.ndarray | None = None
    grid_shape: tuple[int, int] | None = None
    flip_rows: bool = False
    pole: tuple[float, float] | None = None
    coast: np.ndarray = field(default_factory=lambda: np.empty((0, 2)))
    """Coastlines and lake shores in the map plane, polylines separated by rows of NaN."""
    borders: np.ndarray = field(default_factory=lambda: np.empty((0, 2)))
    graticule: np.ndarray = field(default_factory=lambda: np.empty((0, 2)))
    graticule_labels: list = field(default_factory=list)
    """``(text, x, y, "bottom" | "left")``: where each graticule line leaves the map."""
    outline_source: str = ""
    x_label: str = ""
    y_label: str = ""

    def image(self, values: np.ndarray) -> np.ndarray:
        """Return the ``(height, width)`` float32 image of a field (cells) or the field on its grid
        (``grid_shape``, south to north), NaN where the field is missing; outside the domain NaN too
        (:meth:`inside` tells them apart)."""
        values = np.asarray(values, dtype=np.float32).reshape(-1)
        if values.size != self.points:
            raise ValueError(f"the field has {values.size} points, the map's grid {self.points}")
        if self.kind != "cells":
            grid = values.reshape(self.grid_shape)
            return grid[::-1] if self.flip_rows else grid
        if not hasattr(self, "_gather"):  # the inside pixels' corners and float64 weights, once per geometry
            inside = self.index[:, 0] >= 0
            self._gather = (inside, [np.ascontiguousarray(self.index[inside, k]) for k in range(3)],
                            [self.weight[inside, k].astype(np.float64) for k in range(3)])
        inside, corners, weights = self._gather
        image = np.full(self.width * self.height, np.nan, dtype=np.float32)
        image[inside] = (weights[0] * values[corners[0]] + weights[1] * values[corners[1]]
                         + weights[2] * values[corners[2]])
        return image.reshape(self.height, self.width)

    def inside(self) -> np.ndarray:
        """Return the boolean image of the pixels inside the domain (shape as :meth:`image`)."""
        if self.kind != "cells":
            return np.ones(self.grid_shape, dtype=bool)
        return (self.index[:, 0] >= 0).reshape(self.height, self.width)

    def save(self, path: str | os.PathLike) -> Path:
        """Write the geometry to ``path`` (``.npz``) atomically."""
        from nwpflow.io.writer import atomic_output

        arrays = {}
        for f in fields(self):
            value = getattr(self, f.name)
            if value is not None and f.name != "graticule_labels":
                arrays[f.name] = np.asarray(value)
        arrays["graticule_labels"] = np.array([list(map(str, label)) for label in self.graticule_labels],
                                              dtype=str).reshape(-1, 4)
        path = Path(path)
        with atomic_output(path) as temporary:
            with open(temporary, "wb") as f:
                np.savez(f, **arrays)
        return path

    @classmethod
    def load(cls, path: str | os.PathLike) -> MapGeometry:
        """Read a geometry written by :meth:`save`."""
        try:
            stored = np.load(path, allow_pickle=False)
        except (OSError, ValueError) as error:
            raise InputError(f"not a map geometry file: {error}", path=str(path)) from None
        with stored:
            values = {name: stored[name] for name in stored.files}
        kwargs = {}
        for f in fields(cls):
            if f.name not in values:
                continue
            value = values[f.name]
            if f.name in ("kind", "drawing", "digest", "outline_source", "x_label", "y_label"):
                value = str(value)
            elif f.name in ("width", "height", "points"):
                value = int(value)
            elif f.name == "flip_rows":
                value = bool(value)
            elif f.name in ("extent", "grid_shape", "pole"):
                value = tuple(v.item() for v in value)
            elif f.name == "graticule_labels":
                value = [(t, float(x), float(y), side) for t, x, y, side in value.tolist()]
            kwargs[f.name] = value
        return cls(**kwargs)


def coordinates_digest(latitude: np.ndarray, longitude: np.ndarray) -> str:
    """Return the SHA-1 of a grid's latitudes and longitudes as float64 (what :attr:`MapGeometry.digest`
    holds)."""
    sha = hashlib.sha1()
    for array in (latitude, longitude):
        sha.update(np.ascontiguousarray(array, dtype=np.float64).tobytes())
    return sha.hexdigest()


def _height_for(width: int, aspect: float) -> int:
    low, high = HEIGHT_LIMITS
    return int(min(high, max(low, round(width * aspect))))


def cell_geometry(latitude: np.ndarray, longitude: np.ndarray, *, width: int = DEFAULT_WIDTH,
                  vertices: tuple[np.ndarray, np.ndarray] | None = None, vertices_source: str = "") -> MapGeometry:
    """Return the geometry of an unstructured grid with cell centres ``latitude``, ``longitude`` [deg].

    Parameters
    ----------
    latitude, longitude : ndarray
        Cell centres, ``(cells,)``.
    width : int
        Map width in pixels; the height follows the domain's aspect (``HEIGHT_LIMITS``).
    vertices : tuple of ndarray, optional
        ``(latitudes, longitudes)`` of each cell's vertices, ``(cells, nv)`` [deg]: each cell drawn as its
        polygon (fanned into ``nv - 2`` triangles that all carry the cell's value). Without them the
        centres are triangulated (Delaunay, :data:`LONG_TRIANGLE`).
    vertices_source : str
        Where the vertices come from, for :attr:`MapGeometry.drawing`.
    """
    from nwpflow.plots._raster import pixel_map

    lat = np.asarray(latitude, dtype=np.float64).reshape(-1)
    lon_raw = np.asarray(longitude, dtype=np.float64).reshape(-1)
    centre_lon = float(np.degrees(np.arctan2(np.sin(np.radians(lon_raw)).mean(), np.cos(np.radians(lon_raw)).mean())))
    lon = geo._wrap(lon_raw, centre_lon)
    if vertices is not None:
        vlat = np.asarray(vertices[0], dtype=np.float64)
        vlon = geo._wrap(np.asarray(vertices[1], dtype=np.float64), centre_lon)
        nv = vlat.shape[1]
        fan = [(0, k, k + 1) for k in range(1, nv - 1)]
        tx = np.concatenate([vlon[:, list(f)] for f in fan])
        ty = np.concatenate([vlat[:, list(f)] for f in fan])
        cells = np.arange(lat.size, dtype=np.int32)
        corners = np.concatenate([np.repeat(cells[:, None], 3, axis=1)] * len(fan))
        x_all, y_all = vlon.reshape(-1), vlat.reshape(-1)
        drawing = f"{lat.size} cell polygons (vertices from {vertices_source})"
    else:
        from matplotlib.tri import Triangulation

        triangles = Triangulation(lon, lat).triangles.astype(np.int32)
        scale = np.cos(np.radians(0.5 * (lat.min() + lat.max())))
        tx, ty = lon[triangles], lat[triangles]
        edges = np.hypot((tx - np.roll(tx, 1, axis=1)) * scale, ty - np.roll(ty, 1, axis=1))
        keep = edges.max(axis=1) <= LONG_TRIANGLE * np.median(edges)
        tx, ty, corners = tx[keep], ty[keep], triangles[keep]
        x_all, y_all = lon, lat
        drawing = (f"{lat.size} cell centres triangulated (Delaunay, {int(keep.sum())} triangles), "
                   "values linear in each triangle")
    lon_min, lon_max, lat_min, lat_max = x_all.min(), x_all.max(), y_all.min(), y_all.max()
    scale = np.cos(np.radians(0.5 * (lat_min + lat_max)))
    height = _height_for(width, (lat_max - lat_min) / max((lon_max - lon_min) * scale, 1e-9))
    extent = (float(lon_min), float(lon_max), float(lat_min), float(lat_max))
    index, weight = pixel_map(tx, ty, corners, extent, width, height)
    if vertices is not None:  # a cell is one colour: its value exactly, not a sum of weights near 1
        weight[:] = np.array([1.0, 0.0, 0.0], dtype=np.float32)
    geometry = MapGeometry(kind="cells", drawing=drawing, extent=extent, width=width, height=height,
                           points=lat.size, digest=coordinates_digest(latitude, longitude), index=index,
                           weight=weight, x_label="longitude", y_label="latitude")
    _add_geography(geometry, extent, lambda la, lo: (lo, la))
    return geometry


def rotated_geometry(rlat: np.ndarray, rlon: np.ndarray, pole: tuple[float, float], latitude: np.ndarray,
                     longitude: np.ndarray, *, width: int = DEFAULT_WIDTH) -> MapGeometry:
    """Return the geometry of a rotated-pole grid: 1-D ``rlat``, ``rlon`` [deg], the grid's north pole
    ``(latitude, longitude)`` [deg] (CF ``grid_north_pole_*``) and the 2-D geographic coordinates (for the
    digest)."""
    return _rectilinear("rotated", np.asarray(rlat, np.float64), np.asarray(rlon, np.float64), latitude, longitude,
                        width, pole)


def regular_geometry(latitude: np.ndarray, longitude: np.ndarray, *, width: int = DEFAULT_WIDTH) -> MapGeometry:
    """Return the geometry of a regular latitude/longitude grid with 2-D coordinates ``(y, x)`` [deg]."""
    return _rectilinear("regular", np.asarray(latitude, np.float64)[:, 0], np.asarray(longitude, np.float64)[0, :],
                        latitude, longitude, width, None)


def _rectilinear(kind, y, x, latitude, longitude, width, pole) -> MapGeometry:
    flip = bool(y.size > 1 and y[1] < y[0])
    ys = y[::-1] if flip else y
    dy = (ys[-1] - ys[0]) / max(ys.size - 1, 1)
    dx = (x[-1] - x[0]) / max(x.size - 1, 1)
    extent = (float(x[0] - dx / 2), float(x[-1] + dx / 2), float(ys[0] - dy / 2), float(ys[-1] + dy / 2))
    scale = 1.0 if kind == "rotated" else np.cos(np.radians(0.5 * (extent[2] + extent[3])))
    height = _height_for(width, (extent[3] - extent[2]) / ((extent[1] - extent[0]) * scale))
    if kind == "rotated":
        drawing = (f"rotated-pole grid {x.size} x {y.size} (north pole {geo.degrees_label(pole[0], 'lat')} "
                   f"{geo.degrees_label(pole[1], 'lon')}), in rotated coordinates")
        labels = ("rotated longitude", "rotated latitude")

        def project(lat, lon):
            rlat, rlon = geo.geographic_to_rotated(lat, lon, *pole)
            return rlon, rlat
    else:
        drawing = f"regular latitude/longitude grid {x.size} x {y.size}"
        labels = ("longitude", "latitude")

        def project(lat, lon):
            return geo._wrap(lon, 0.5 * (extent[0] + extent[1])), lat
    geometry = MapGeometry(kind=kind, drawing=drawing, extent=extent, width=width, height=height,
                           points=y.size * x.size, digest=coordinates_digest(latitude, longitude),
                           grid_shape=(y.size, x.size), flip_rows=flip, pole=pole, x_label=labels[0],
                           y_label=labels[1])
    lat, lon = np.asarray(latitude, np.float64), np.asarray(longitude, np.float64)
    bbox = (float(lon.min()), float(lon.max()), float(lat.min()), float(lat.max()))
    _add_geography(geometry, bbox, project)
    return geometry


def _add_geography(geometry: MapGeometry, bbox, project) -> None:
    """Coastlines, borders and the graticule of the geographic ``bbox``, through ``project(lat, lon) ->
    (x, y)`` into the map plane, clipped to a margin around the map."""
    lon_min, lon_max, lat_min, lat_max = bbox
    margin = 0.1 * max(lon_max - lon_min, lat_max - lat_min) + 0.5
    wide = (lon_min - margin, lon_max + margin, max(-90.0, lat_min - margin), min(90.0, lat_max + margin))
    resolution = geo.resolution_for(lon_max - lon_min, lat_max - lat_min)
    geometry.coast = _polylines(geo.read_outlines("gshhs", resolution, wide), project)
    geometry.borders = _polylines(geo.read_outlines("countries", resolution, wide), project)
    geometry.outline_source = (f"{geo.OUTLINE_SOURCE}, {geo.RESOLUTIONS[resolution]}"
                               if len(geometry.coast) or len(geometry.borders) else geo.OUTLINE_SOURCE)
    lines, labels = [], []
    x0, x1, y0, y1 = geometry.extent
    for kind, value, points in geo.graticule(wide, samples=200):
        x, y = project(points[:, 1], points[:, 0])
        lines.append(np.column_stack([x, y]))
        inside = (x >= x0) & (x <= x1) & (y >= y0) & (y <= y1)
        if inside.any():
            k = int(np.argmax(inside))  # where the line enters the map, going north or east
            side = "bottom" if kind == "lon" else "left"
            labels.append((geo.degrees_label(value, kind), float(x[k]), float(y[k]), side))
    geometry.graticule = _polylines(lines, lambda la, lo: (lo, la), project_points=False)
    geometry.graticule_labels = labels


def _polylines(lines, project, project_points: bool = True) -> np.ndarray:
    """One ``(n, 2)`` array of the ``lines`` in the map plane, separated by rows of NaN (one matplotlib path)."""
    parts = []
    for line in lines:
        if project_points:
            x, y = project(line[:, 1], line[:, 0])
            line = np.column_stack([x, y])
        parts.extend([line, np.full((1, 2), np.nan)])
    return np.concatenate(parts) if parts else np.empty((0, 2))




def read_vertices(grid_file: str | os.PathLike, latitude: np.ndarray, longitude: np.ndarray):
    """Return ``(latitudes, longitudes)`` [deg] of each cell's vertices, ``(cells, nv)``, from an ICON grid
    file (``clat_vertices``, ``clon_vertices``), checked to belong to the grid of cell centres
    ``latitude``, ``longitude`` [deg].

    ICON grid files give the vertices in radians without a units attribute (as their ``clat`` and
    ``clon``); values within 2π of zero whose mean over a cell's vertices lies at the cell's centre are
    taken as radians.

    Raises
    ------
    InputError
        The file lacks the vertices, has another number of cells, or its cells are not where the run's are.
    """
    from nwpflow.io import open_run

    path = os.fspath(grid_file)
    dataset = open_run([path], ["clat_vertices", "clon_vertices"])
    vlat = dataset["clat_vertices"].values.astype(np.float64)
    vlon = dataset["clon_vertices"].values.astype(np.float64)
    if vlat.ndim != 2 or vlat.shape[0] != np.size(latitude):
        raise InputError(f"describes {vlat.shape[0] if vlat.ndim else 0} cells, the run has {np.size(latitude)}: "
                         "not the run's grid", path=path, field="clat_vertices")
    if np.abs(vlat).max() <= 2 * np.pi and np.abs(vlon).max() <= 2 * np.pi:
        vlat, vlon = np.degrees(vlat), np.degrees(vlon)
    centre_lat = vlat.mean(axis=1)
    centre_lon = np.degrees(np.arctan2(np.sin(np.radians(vlon)).mean(axis=1), np.cos(np.radians(vlon)).mean(axis=1)))
    spacing = np.abs(vlat - centre_lat[:, None]).max()
    off = np.hypot(centre_lat - np.asarray(latitude), geo._wrap(centre_lon - np.asarray(longitude), 0.0)).max()
    if off > spacing:
        raise InputError(f"its cells lie up to {off:.3g}° from the run's cell centres (cells are {spacing:.3g}° "
                         "across): not the run's grid", path=path, field="clat_vertices")
    return vlat, vlon


def geometry_of_run(path: str | os.PathLike, *, width: int = DEFAULT_WIDTH,
                    grid_file: str | os.PathLike | None = None) -> MapGeometry:
    """Return the map geometry of the grid of a run's file (the constants file: its ``HSURF``), through
    :func:`nwpflow.io.open_run`.

    An unstructured grid is drawn as cell polygons where ``grid_file`` (an ICON grid file) gives the
    vertices, else triangulated; a rotated-pole grid in its rotated coordinates; a regular one in
    longitude/latitude.
    """
    from nwpflow.io import open_run

    dataset = open_run([os.fspath(path)], ["HSURF"])
    lat, lon = dataset["latitude"].values, dataset["longitude"].values
    if lat.ndim == 1:
        vertices = read_vertices(grid_file, lat, lon) if grid_file else None
        return cell_geometry(lat, lon, width=width, vertices=vertices,
                             vertices_source=os.path.basename(os.fspath(grid_file)) if grid_file else "")
    if grid_file:
        raise InputError("quicklooks.grid_file gives the cells of an unstructured grid; this run's grid is "
                         "rectilinear", path=os.fspath(grid_file))
    if "rlat" in dataset.coords and "rotated_pole" in dataset.coords:
        attrs = dataset["rotated_pole"].attrs
        pole = (float(attrs["grid_north_pole_latitude"]), float(attrs["grid_north_pole_longitude"]))
        return rotated_geometry(dataset["rlat"].values, dataset["rlon"].values, pole, lat, lon, width=width)
    return regular_geometry(lat, lon, width=width)


__all__ = ["DEFAULT_WIDTH", "MapGeometry", "cell_geometry", "coordinates_digest", "geometry_of_run", "read_vertices",
           "regular_geometry", "rotated_geometry"]
