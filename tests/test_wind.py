"""Wind speed and direction (FF, DD, FF_10M, DD_10M): the kernels against MetPy's published values and
MetPy run on the real IFS L137 columns, the rotated-pole rotation against COSMO's ``uv2uvrot`` and
against meteodata-lab on the COSMO-like sample, thread determinism, edge cases and the CLI end to end.

Tolerances are stated where they are asserted. The one that recurs is the float32 storage of a result:
half a float32 ulp of the reference, ``half_ulp32(ref)``.
"""

from __future__ import annotations

import json
import math

import numba
import numpy as np
import pytest
import xarray as xr

import nwpflow
from nwpflow.cli import main
from nwpflow.errors import InputError, OptionError
from nwpflow.io.sample.geography import _wind_to_grid
from nwpflow.kernels.wind import grid_rotation, wind_direction, wind_speed
from nwpflow.products import fields_needed

from conftest import shared

ORACLE = "oracles/metpy_1.7.1_expected_values.json"
COSMO_FIELDS = ["U", "V", "U_10M", "V_10M", "P", "T"]  # P, T: see test_cosmo_winds_alone_cannot_be_read
DEG_PER_RAD = 180.0 / math.pi
FLOAT32_REL = 2.0**-24  # relative rounding error of a float32 store


def half_ulp32(reference):
    """Half a float32 ulp at each reference value: the rounding of a float32 result."""
    return 0.5 * np.spacing(np.abs(np.asarray(reference)).astype(np.float32)).astype(np.float64)


def angle_difference(a, b):
    """a − b in degrees, wrapped to [−180, 180) (0 and 360 are the same direction)."""
    return (np.asarray(a, np.float64) - np.asarray(b, np.float64) + 180.0) % 360.0 - 180.0


def speed_and_direction(u, v, rotation=None):
    u = np.ascontiguousarray(u, dtype=np.float32)
    v = np.ascontiguousarray(v, dtype=np.float32)
    ff, dd = np.empty_like(u), np.empty_like(u)
    wind_speed(u, v, ff)
    wind_direction(u, v, dd, rotation)
    return ff, dd


def metpy_wind(u, v):
    """MetPy 1.7.1's wind_speed and wind_direction on float64 copies (so MetPy adds no float32 rounding)."""
    mpcalc = pytest.importorskip("metpy.calc")
    units = pytest.importorskip("metpy.units").units
    u = np.asarray(u, dtype=np.float64) * units("m/s")
    v = np.asarray(v, dtype=np.float64) * units("m/s")
    return mpcalc.wind_speed(u, v).m_as("m/s"), mpcalc.wind_direction(u, v).m_as("degree")


def random_winds(rng, shape):
    """Winds over 8 orders of magnitude, with exact axes, diagonals, signed zeros and calm."""
    u = rng.normal(0, 10, shape) * 10.0 ** rng.uniform(-6, 2, shape)
    v = rng.normal(0, 10, shape) * 10.0 ** rng.uniform(-6, 2, shape)
    flat_u, flat_v = u.reshape(-1), v.reshape(-1)
    special = [(0, 0), (-0.0, 0), (0, -0.0), (-0.0, -0.0), (0, -3), (-0.0, -3), (0, 3), (3, 0), (-3, 0),
               (-0.0, 3), (3, -0.0), (2, 2), (-2, 2), (2, -2), (-2, -2), (1e-30, -5), (-1e-30, -5)]
    for i, (a, b) in enumerate(special):
        flat_u[i], flat_v[i] = a, b
    return u.astype(np.float32), v.astype(np.float32)


# --- MetPy's published values --------------------------------------------------------------------------

def test_direction_matches_metpy_published_values():
    """MetPy 1.7.1 ``tests/calc/test_basic.py::test_direction`` (u = [4, 0], v = [0, 4] → [270, 180]) and
    ``test_direction_with_north_and_calm`` (calm → 0, due north → 360). The values are exact in float32
    and nwpflow's float64 result is within 1e-13 of them, so they must come out exactly."""
    case = json.loads(shared(ORACLE).read_text())["wind_direction"]
    _, dd = speed_and_direction(np.array([case["u"]]), np.array([case["v"]]))
    np.testing.assert_array_equal(dd[0], case["dir_deg"])
    _, dd = speed_and_direction(np.array([[0.0, -0.0, 0.0, -0.0]]), np.array([[0.0, 0.0, -5.0, -5.0]]))
    np.testing.assert_array_equal(dd[0], [0.0, 0.0, 360.0, 360.0])


def test_kernels_match_metpy_on_edge_rich_random_winds():
    """MetPy's wind_speed (numpy hypot) and wind_direction (90° − atan2(−v, −u), wrapped to (0, 360], calm
    → 0) on float64 copies of the same float32 winds, incl. axes, diagonals, signed zeros, 1e-30 winds.

    nwpflow's float64 result is within 1e-13° (the Cephes arctangent, a few float64 ulp of 360°) and
    2 float64 ulp (speed) of the exact value, so each float32 result is within half a float32 ulp of
    MetPy's, plus 2e-13° for the float64 rounding of both sides (MetPy's 90° − x alone loses up to
    1.4e-14° near north). Compared modulo 360: for u = −1e-30, v = −5 nwpflow gives the exact 1.1e-29°
    where MetPy's 90° − 90° rounds to 0 and becomes 360°."""
    u, v = random_winds(np.random.default_rng(7), (20, 5000))
    ff, dd = speed_and_direction(u, v)
    ref_ff, ref_dd = metpy_wind(u, v)
    assert np.all(np.abs(ff - ref_ff) <= half_ulp32(ref_ff) + 4 * np.spacing(ref_ff))
    assert np.all(np.abs(angle_difference(dd, ref_dd)) <= half_ulp32(ref_dd) + 2e-13)
    assert np.all((dd > 0) & (dd <= 360) | ((u == 0) & (v == 0) & (dd == 0)))


# --- MetPy on the real IFS columns -----------------------------------------------------------------------

def test_ff_dd_match_metpy_on_ifs_file(ifs_file):
    """FF and DD through ``nwpflow.compute`` on the IFS L137 forecast (34 x 48 columns, geographic winds on
    a regular grid, so no rotation) against MetPy on float64 copies of the same values: half a float32 ulp
    (+ float64 rounding, see test_kernels_match_metpy_on_edge_rich_random_winds). T is read along: see
    test_lat_lon_winds_alone_cannot_be_read."""
    ds = nwpflow.open_run(ifs_file, ["U", "V", "T"])
    ff = nwpflow.compute("FF", ds)
    dd = nwpflow.compute("DD", ds)
    assert ff.dims == dd.dims == ds["U"].dims and ff.dtype == dd.dtype == np.float32
    assert ff.attrs["standard_name"] == "wind_speed" and dd.attrs["standard_name"] == "wind_from_direction"
    ref_ff, ref_dd = metpy_wind(ds["U"].values, ds["V"].values)
    assert np.all(np.abs(ff.values - ref_ff) <= half_ulp32(ref_ff) + 4 * np.spacing(ref_ff))
    assert np.all(np.abs(dd.values - ref_dd) <= half_ulp32(ref_dd) + 2e-13)
    assert float(ff.max()) > 30  # a real jet stream made it through the reader


# --- rotated-pole grids: COSMO's rotation and meteodata-lab -----------------------------------------------

def test_grid_rotation_inverts_cosmo_uv2uvrot():
    """The sample writer turns geographic winds to a rotated grid with COSMO's ``uv2uvrot``
    (``nwpflow.io.sample.geography._wind_to_grid``, written independently of the kernel); ``grid_rotation`` is
    ``uvrot2uv`` and must undo it. Both are float64 rotations by the same angle: 1e-13 m s-1 is a few
    float64 ulp of the 100 m s-1 winds. The directions of the two then agree to their float32 rounding:
    half a float32 ulp at 360° for each side's result, and 2^-24 rad for each side's float32 inputs."""
    rng = np.random.default_rng(3)
    lat, lon = rng.uniform(35, 60, 4000), rng.uniform(-15, 30, 4000)
    ug, vg = rng.normal(0, 30, 4000), rng.normal(0, 30, 4000)
    south_pole = (-43.0, 10.0)  # COSMO-1E's: north pole at 43 N, 170 W
    ur, vr = _wind_to_grid(ug, vg, lat, lon, *south_pole)
    beta = grid_rotation(lat, lon, pole_latitude=43.0, pole_longitude=-170.0)
    cos_b, sin_b = np.cos(np.radians(beta)), np.sin(np.radians(beta))
    np.testing.assert_allclose(ur * cos_b + vr * sin_b, ug, rtol=0, atol=1e-13)
    np.testing.assert_allclose(-ur * sin_b + vr * cos_b, vg, rtol=0, atol=1e-13)
    assert np.abs(beta).max() > 5  # the rotation is not trivial here
    # and the kernel's shortcut, DD(geographic) = DD(grid) + β, gives the direction of the rotated vector
    _, dd_geo = speed_and_direction(ug[None], vg[None])
    _, dd_grid = speed_and_direction(ur[None], vr[None], beta)
    assert np.abs(angle_difference(dd_grid, dd_geo)).max() <= 2 * half_ulp32(360.0) + 2 * FLOAT32_REL * DEG_PER_RAD


@pytest.fixture(scope="module")
def monkeypatch_module():
    with pytest.MonkeyPatch.context() as patch:
        yield patch


@pytest.fixture(scope="module")
def cosmo_files(cosmo_sample):
    return [cosmo_sample / "lfff00000000c", cosmo_sample / "000" / "lfff00010000"]


@pytest.fixture(scope="module")
def meteodata_lab_cosmo(cosmo_files, monkeypatch_module):
    """U, V (staggered), U_10M, V_10M of the COSMO-like sample as meteodata-lab reads them (its own GRIB
    decoder and metadata), with the C-grid origins set against HSURF."""
    pytest.importorskip("meteodatalab")
    from meteodatalab import data_source, grib_decoder, metadata

    from nwpflow.io.eccodes_env import DEFINITION_PATH

    monkeypatch_module.setenv("ECCODES_DEFINITION_PATH", DEFINITION_PATH)  # as in test_brn.py
    source = data_source.FileDataSource(datafiles=[str(f) for f in cosmo_files])
    fields = grib_decoder.load(source, {"param": ["U", "V", "U_10M", "V_10M", "HSURF"]})
    metadata.set_origin_xy(fields, ref_param="HSURF")
    assert fields["U"].origin_x == 0.5 and fields["V"].origin_y == 0.5 and fields["U"].vref == "native"
    return fields


def test_ff_dd_match_meteodata_lab_on_rotated_cosmo_sample(cosmo_files, meteodata_lab_cosmo):
    """All four products on the COSMO-like sample (rotated pole at 43 N 170 W, staggered U/V, grid-relative
    winds) against meteodata-lab 0.8.2: ``destagger`` then ``wind.speed`` / ``wind.direction`` (which
    rotates with ``gis.vref_rot2geolatlon``, COSMO's uvrot2uv), all in float64 from the same float32 values.

    The known differences, computed rather than tolerated:

    * nwpflow stores the destaggered winds as float32 (relative 2^-24 per component). That moves the
      speed by at most 2^-24 of itself and the direction by at most 2^-24 rad (the component errors are
      orthogonal to the wind at worst: |δu v − δv u| / |v|² ≤ 2^-24). The tight check below gives
      meteodata-lab nwpflow's own float32 mass-point winds and needs no such allowance.
    * meteodata-lab computes the geographic coordinates of the grid points itself (to 1e-13° of the
      sample writer's exact ones); nwpflow's reader takes ecCodes', which are off by up to 2e-6°. The
      rotation angle β at the two positions is computed with ``grid_rotation``, and |Δβ| (~1e-6°) is
      added to the tolerance; 1e-9° covers float64 rounding (nwpflow adds β to the grid-relative
      direction, meteodata-lab rotates the components: the same angle to ~1e-13°).
    * meteodata-lab's direction is 180° + atan2(u, v) in [0, 360]: the same angles (compared modulo 360),
      except calm, which it makes 180° (nwpflow: 0, as MetPy and WMO). There is no calm in the sample.
    """
    from meteodatalab.operators import destagger, gis, wind

    mdl = {k: f.astype(np.float64) for k, f in meteodata_lab_cosmo.items()}  # astype keeps the metadata
    u_mass = destagger.destagger(mdl["U"], "x")
    v_mass = destagger.destagger(mdl["V"], "y")
    ds = nwpflow.open_run(cosmo_files, COSMO_FIELDS)
    assert ds["U"].attrs["staggering"] == "x" and "rotated_pole" in ds.coords
    pole = ds["rotated_pole"].attrs
    grid = gis.get_grid(mdl["U_10M"].geography)
    assert (grid.north_pole_lat, grid.north_pole_lon % 360) == (pole["grid_north_pole_latitude"],
                                                                 pole["grid_north_pole_longitude"] % 360)

    def beta(lat, lon):
        return grid_rotation(np.ravel(lat), np.ravel(lon), pole_latitude=pole["grid_north_pole_latitude"],
                             pole_longitude=pole["grid_north_pole_longitude"])

    mdl_lon, mdl_lat = (c.transpose("y", "x").values for c in gis.rot2geolatlon(grid))
    coordinates = np.abs(beta(mdl_lat, mdl_lon) - beta(ds["latitude"].values, ds["longitude"].values))
    assert 0 < coordinates.max() < 1e-5
    for name, u, v in (("", u_mass, v_mass), ("_10M", mdl["U_10M"], mdl["V_10M"])):
        ref_ff = wind.speed(u, v).values.reshape(-1)
        ref_dd = wind.direction(u, v).values.reshape(-1)
        ff = nwpflow.compute("FF" + name, ds).values.reshape(-1)
        dd = nwpflow.compute("DD" + name, ds).values.reshape(-1)
        assert ref_ff.size == ff.size and np.all(ref_ff > 0)  # no calm in the sample
        stored = FLOAT32_REL if name == "" else 0.0  # only model-level winds are destaggered
        assert np.all(np.abs(ff - ref_ff) <= half_ulp32(ref_ff) + stored * ref_ff)
        per_point = np.tile(coordinates, ref_dd.size // coordinates.size)  # levels x (y, x)
        allowed = half_ulp32(np.where(ref_dd > 359.9, 360.0, ref_dd)) + stored * DEG_PER_RAD + per_point + 1e-9
        assert np.all(np.abs(angle_difference(dd, ref_dd)) <= allowed)
        # without the rotation, the directions would be off by the grid's meridian angle (5-10° here)
        raw = nwpflow.compute("DD" + name, ds, components="geographic").values.reshape(-1)
        assert np.abs(angle_difference(raw, ref_dd)).max() > 5

    # Tight: meteodata-lab given nwpflow's own float32 mass-point winds (as float64).
    ours_u = np.asarray(u_mass.values, np.float32).astype(np.float64)
    ours_v = np.asarray(v_mass.values, np.float32).astype(np.float64)
    from nwpflow.kernels.stagger import destagger as nwp_destagger
    np.testing.assert_array_equal(ours_u.reshape(ds["U"].shape), nwp_destagger(ds["U"].values, "x"))
    np.testing.assert_array_equal(ours_v.reshape(ds["V"].shape), nwp_destagger(ds["V"].values, "y"))
    ref_dd = wind.direction(u_mass.copy(data=ours_u), v_mass.copy(data=ours_v)).values.reshape(-1)
    dd = nwpflow.compute("DD", ds).values.reshape(-1)
    allowed = half_ulp32(np.where(ref_dd > 359.9, 360, ref_dd)) + np.tile(coordinates, ds.sizes["level"]) + 1e-9
    assert np.all(np.abs(angle_difference(dd, ref_dd)) <= allowed)


def test_cosmo_winds_alone_are_read_with_their_staggering(cosmo_files):
    """U and V read without any mass-point field: the mass grid is still known from the file's other
    messages, so U and V are recognised as staggered (not one of them refused) and DD computes."""
    ds = nwpflow.open_run(cosmo_files, fields_needed(["DD"]))
    assert ds["U"].attrs["staggering"] == "x" and ds["V"].attrs["staggering"] == "y"
    assert np.isfinite(nwpflow.compute("DD", ds).values).mean() > 0.99


def test_lat_lon_winds_alone_get_coordinates(ifs_file):
    """U and V alone on a regular lat-lon grid get the grid's coordinates and compute FF."""
    ds = nwpflow.open_run(ifs_file, fields_needed(["FF"]))
    assert ds["latitude"].shape == ds["U"].shape[1:]
    # float64 speed rounded once to float32 in both: at most one float32 rounding apart (2**-24 relative)
    np.testing.assert_allclose(nwpflow.compute("FF", ds).values,
                               np.hypot(ds["U"].values.astype(np.float64), ds["V"].values), rtol=2**-24)


def test_options_and_unsupported_rotation(cosmo_files):
    """``components`` takes 'auto' or 'geographic' and names them when wrong; a rotated grid with an
    extra rotation about its pole (north_pole_grid_longitude ≠ 0) is refused, not silently mis-rotated."""
    ds = nwpflow.open_run(cosmo_files, COSMO_FIELDS)
    with pytest.raises(OptionError, match="'auto', 'geographic'"):
        nwpflow.compute("DD", ds, components="grid")
    odd = ds.assign_coords(rotated_pole=ds["rotated_pole"].assign_attrs(north_pole_grid_longitude=10.0))
    with pytest.raises(InputError, match="north_pole_grid_longitude"):
        nwpflow.compute("DD_10M", odd)
    # 'geographic' is exactly the kernel without rotation
    _, expected = speed_and_direction(ds["U_10M"].values.reshape(1, -1), ds["V_10M"].values.reshape(1, -1))
    np.testing.assert_array_equal(nwpflow.compute("DD_10M", ds, components="geographic").values.reshape(1, -1),
                                  expected)


# --- determinism and edge cases ----------------------------------------------------------------------------

def test_kernels_bit_identical_for_any_thread_count():
    rng = np.random.default_rng(5)
    u, v = random_winds(rng, (7, 3001))
    rotation = grid_rotation(rng.uniform(40, 50, 3001), rng.uniform(0, 20, 3001), pole_latitude=43.0,
                             pole_longitude=-170.0)
    results = []
    try:
        for threads in (1, numba.config.NUMBA_NUM_THREADS):
            numba.set_num_threads(threads)
            results.append([*speed_and_direction(u, v), speed_and_direction(u, v, rotation)[1]])
    finally:
        numba.set_num_threads(numba.config.NUMBA_NUM_THREADS)
    for a, b in zip(*results):
        assert a.tobytes() == b.tobytes()


def test_edge_cases_zero_wind_single_column_single_level_and_nan():
    """Zero wind: speed 0 and direction 0 (calm), rotated or not. One column, one level. NaN in either
    component, or a whole NaN column, gives NaN in both products and leaves the neighbours untouched."""
    rotation = grid_rotation(np.array([47.0]), np.array([8.0]), pole_latitude=43.0, pole_longitude=-170.0)
    for rot in (None, rotation):
        ff, dd = speed_and_direction(np.zeros((5, 1)), np.zeros((5, 1)), rot)
        assert np.all(ff == 0) and np.all(dd == 0)
    ff, dd = speed_and_direction(np.array([[-3.0]]), np.array([[-4.0]]))  # single level, single column
    assert ff[0, 0] == 5.0 and abs(dd[0, 0] - math.degrees(math.atan2(3, 4))) <= half_ulp32(36.87)
    u, v = random_winds(np.random.default_rng(9), (4, 600))
    u[:, 5] = v[:, 5] = np.nan  # an all-NaN column
    v[:, 6] = np.nan
    u[2, 7] = np.nan
    ff, dd = speed_and_direction(u, v)
    for out in (ff, dd):
        assert np.all(np.isnan(out[:, 5:7])) and np.isnan(out[2, 7])
        assert np.isfinite(np.delete(out, [5, 6, 7], axis=1)).all() and np.isfinite(np.delete(out[:, 7], 2)).all()
    ref = speed_and_direction(np.delete(u, [5, 6, 7], axis=1), np.delete(v, [5, 6, 7], axis=1))
    np.testing.assert_array_equal(np.delete(ff, [5, 6, 7], axis=1), ref[0])
    np.testing.assert_array_equal(np.delete(dd, [5, 6, 7], axis=1), ref[1])


# --- end to end --------------------------------------------------------------------------------------------

def test_cli_10m_wind_on_icon_sample_matches_metpy(icon_sample, tmp_path):
    """``nwpflow compute FF_10M DD_10M`` on the ICON-like sample (2 members at lead time 1 h, geographic
    winds on cells), read back from the NetCDF files, against MetPy on the same U_10M, V_10M: half a
    float32 ulp, as above."""
    files = [str(icon_sample / member / "lfff00010000") for member in ("000", "001")]
    out = tmp_path / "out"
    assert main(["compute", "FF_10M", "DD_10M", "--input", *files, "--output", str(out),
                 "--option", "DD_10M.components=auto"]) == 0
    ds = nwpflow.open_run(files, ["U_10M", "V_10M"])
    ref_ff, ref_dd = metpy_wind(ds["U_10M"].values, ds["V_10M"].values)
    with xr.open_dataset(out / "FF_10M.nc") as f, xr.open_dataset(out / "DD_10M.nc") as d:
        ff, dd = f["FF_10M"].load(), d["DD_10M"].load()
    assert ff.dims == dd.dims == ("member", "cell") and ff.shape == ref_ff.shape
    assert ff.attrs["units"] == "m s-1" and dd.attrs["units"] == "degree"
    assert np.all(np.abs(ff.values - ref_ff) <= half_ulp32(ref_ff) + 4 * np.spacing(ref_ff))
    assert np.all(np.abs(dd.values - ref_dd) <= half_ulp32(ref_dd) + 2e-13)
