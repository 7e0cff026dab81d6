"""Potential vorticity: meteodata-lab's pot_vortic on the rotated COSMO-like sample, the least-squares
gradients on the real ICON grid file, an analytic atmosphere on the ICON-like and regular grids, the
isentropic and PV-surface products against meteodata-lab's interpolate_k2theta / interpolate_k2any, and
thread determinism."""

from __future__ import annotations

import math

import numba
import numpy as np
import pytest
import xarray as xr

import nwpflow
from nwpflow import constants
from nwpflow.io import icon_grid
from nwpflow.kernels import pv, thermo

from conftest import shared
from test_levels import ifs, mdl, monkeypatch_module  # noqa: F401
from test_wind import cosmo_files  # noqa: F401

PVU = 1e-6
ICON_GRID = "icon/icon_grid_0001_R19B08_lon_0.152-0.154_lat_0.8745-0.8755.nc"


def moist_density(p, t, qv):
    p, t, qv = (np.asarray(a, dtype=np.float64) for a in (p, t, qv))
    return p / (constants.Rd * t * (1.0 + constants.rv_rd_minus_1 * qv))


def test_matches_meteodata_lab_on_rotated_cosmo_sample(cosmo_files, monkeypatch_module):  # noqa: F811
    """meteodata-lab 0.8.2's ``compute_pot_vortic`` on the COSMO-like sample (rotated pole, staggered U/V,
    grid-relative winds, W on half levels, read by its own GRIB decoder), given the product's θ and density
    (float64 copies): the same missing points (the outermost rows and columns) and |Δ| <= 2**-24 |PV| + 1e-5
    PVU (measured 9.4e-12 = 1e-5 PVU where PV is ~0: meteodata-lab takes the latitude of its Coriolis terms
    in float32)."""
    pytest.importorskip("meteodatalab")
    from meteodatalab import data_source, grib_decoder, metadata
    from meteodatalab.operators.pot_vortic import compute_pot_vortic

    from nwpflow.io.eccodes_env import DEFINITION_PATH

    monkeypatch_module.setenv("ECCODES_DEFINITION_PATH", DEFINITION_PATH)
    source = data_source.FileDataSource(datafiles=[str(f) for f in cosmo_files])
    fields = grib_decoder.load(source, {"param": ["U", "V", "W", "T", "HHL", "HSURF"]})
    metadata.set_origin_xy(fields, ref_param="HSURF")
    fields = {k: v.squeeze([d for d in ("eps", "ref_time", "lead_time") if d in v.dims], drop=True).astype(np.float64)
              for k, v in fields.items()}
    ds = nwpflow.open_run(cosmo_files, ["U", "V", "W", "P", "T", "QV", "HHL"])
    theta = np.empty(ds["T"].shape, np.float32)
    thermo.potential_temperature(ds["P"].values, ds["T"].values, theta, kappa=constants.kappa, p0=constants.p0)
    rho = moist_density(ds["P"].values, ds["T"].values, ds["QV"].values).astype(np.float32)
    like = lambda a: fields["T"].copy(data=a.astype(np.float64))  # noqa: E731
    theirs = compute_pot_vortic(fields["U"], fields["V"], fields["W"], like(theta), like(rho), fields["HHL"]).values
    ours = nwpflow.compute("PV", ds).values
    np.testing.assert_array_equal(np.isnan(ours), np.isnan(theirs))
    ok = np.isfinite(theirs)
    assert np.all(np.abs(ours[ok] - theirs[ok]) <= 2**-24 * np.abs(theirs[ok]) + 1e-5 * PVU)
    assert np.isnan(ours[:, 0]).all() and np.isfinite(ours[:, 1:-1, 1:-1]).all()
    assert np.nanmax(ours[:10]) > 2 * PVU  # stratospheric PV aloft


def test_least_squares_stencil_on_the_real_icon_grid():
    """The real ICON grid file subset (R19B08, 45 cells, neighbours re-indexed, -1 at its edge): cells with
    three neighbours get the exact derivatives of a field linear in longitude and latitude (1e-9 relative:
    the least-squares gradient is exact for linear fields), cells at the subset's edge none."""
    grid = icon_grid.read_grid_file(shared(ICON_GRID))
    assert grid.uuid == "5a0a863d2523951577894930e3452bc0" and grid.neighbours.shape == (3, 45)
    nb, w_lam, w_phi = pv.lsq_stencil(grid.latitude, grid.longitude, grid.neighbours)
    f = 2.0 * grid.longitude + 3.0 * grid.latitude  # degrees
    complete = (grid.neighbours >= 0).sum(axis=0) >= 2
    d_lam = np.where(nb >= 0, w_lam * (f[np.maximum(nb, 0)] - f), 0.0).sum(axis=0)
    d_phi = np.where(nb >= 0, w_phi * (f[np.maximum(nb, 0)] - f), 0.0).sum(axis=0)
    np.testing.assert_allclose(d_lam[complete], 2.0 * 180.0 / math.pi, rtol=1e-9)
    np.testing.assert_allclose(d_phi[complete], 3.0 * 180.0 / math.pi, rtol=1e-9)
    assert complete.sum() > 20 and (nb[:, ~complete] == -1).all()


def analytic_atmosphere(lat, lon, nlev=40):
    """Solid-body rotation u = U0 cos φ, v = w = 0, θ = 300 K + Γ z on flat levels, an isothermal density:
    PV = Γ / ρ (2 U0 / a + 2 Ω) sin φ exactly (ζ = 2 U0 sin φ / a)."""
    u0, gamma = 20.0, 0.004
    hhl = np.linspace(12000.0, 0.0, nlev + 1)
    z = 0.5 * (hhl[:-1] + hhl[1:])
    ncol = lat.size
    u = np.broadcast_to(u0 * np.cos(np.radians(lat)), (nlev, ncol))
    theta = np.broadcast_to((300.0 + gamma * z)[:, None], (nlev, ncol))
    rho = np.broadcast_to((1.2 * np.exp(-z / 8000.0))[:, None], (nlev, ncol))
    f32 = lambda a: np.ascontiguousarray(np.broadcast_to(a, a.shape), dtype=np.float32)  # noqa: E731
    exact = gamma / rho * (2.0 * u0 / pv.RADIUS + 2.0 * pv.OMEGA) * np.sin(np.radians(lat))
    zeros = np.zeros((nlev, ncol), np.float32)
    return (f32(u), zeros, np.zeros((nlev + 1, ncol), np.float32), f32(theta), f32(rho),
            f32(np.broadcast_to(hhl[:, None], (nlev + 1, ncol)))), exact


def test_analytic_pv_on_icon_and_regular_grids(icon_sample):
    """The analytic atmosphere on the ICON-like sample's cells (its grid file: the 6 nearest cells) and on a
    regular 0.15-degree grid: PV within 1e-4 relative of the exact value away from the edges (the
    truncation error of the gradients of cos φ over ~15 km, h²/6 R² ~ 1e-6, and float32 inputs)."""
    grid = icon_grid.read_grid_file(next(icon_sample.glob("icon_grid_*.nc")))
    fields, exact = analytic_atmosphere(grid.latitude, grid.longitude)
    out = np.empty(fields[0].shape, np.float32)
    stencil = pv.lsq_stencil(grid.latitude, grid.longitude, grid.neighbours)
    pv.potential_vorticity(*fields, stencil, pv.metric_terms(grid.latitude, grid.latitude), out)
    np.testing.assert_allclose(out, exact, rtol=1e-4)
    lat = np.repeat(np.arange(44.0, 48.0, 0.15), 30)
    lon = np.tile(np.arange(0.0, 4.5, 0.15), lat.size // 30)
    fields, exact = analytic_atmosphere(lat, lon)
    out = np.empty(fields[0].shape, np.float32)
    pv.potential_vorticity(*fields, pv.grid_stencil(lat.size // 30, 30, 0.15, 0.15), pv.metric_terms(lat, lat), out)
    inner = np.isfinite(out)
    np.testing.assert_allclose(out[inner], exact[inner], rtol=1e-4)
    assert inner.mean() > 0.8


def test_icon_products_on_the_sample(icon_sample):
    """PV on the ICON-like sample from its grid file (found beside the run by its uuidOfHGrid): 0.1-2 PVU in
    the troposphere, more than 2 PVU in the stratosphere; the 2-PVU surface near the sample's tropopause
    (11-12.5 km, falling northward) and the pressure there between 150 and 350 hPa."""
    ds = nwpflow.open_run([icon_sample / "lfff00000000c", icon_sample / "000" / "lfff00010000"],
                          ["U", "V", "W", "P", "T", "QV", "HHL"])
    cache: dict = {}
    values = nwpflow.compute("PV", ds, cache=cache).values
    level = np.nanmedian(values, axis=1) / PVU
    z = 0.5 * (ds["HHL"].values[:-1] + ds["HHL"].values[1:]).mean(axis=1)
    assert np.all(level[z > 15000] > 2.0) and np.all((level[(z > 1500) & (z < 8000)] > 0.05)
                                                     & (level[(z > 1500) & (z < 8000)] < 2.0))
    ds["PV"] = nwpflow.compute("PV", ds, cache=cache)
    height = nwpflow.compute("H_PV", ds, cache=cache).values
    pressure = nwpflow.compute("P_PV", ds, cache=cache).values
    assert 9000.0 < np.nanmedian(height) < 13500.0 and 15000.0 < np.nanmedian(pressure) < 35000.0
    lat = ds["latitude"].values
    assert np.corrcoef(lat, height)[0, 1] < -0.5  # lower tropopause to the north, as the sample's


def test_isentropic_products_match_meteodata_lab(ifs, mdl):  # noqa: F811
    """PV_TH and P_TH (θ from the product's own formula; a stand-in for PV, the temperature, since the IFS
    file has no W) against meteodata-lab's ``interpolate_k2theta`` on the IFS file, folds ``low`` /
    ``high`` / ``undefined``: float32 rounding of the interpolated values (2**-24 relative) and the same
    missing points."""
    from meteodatalab.operators.vertical_interpolation import interpolate_k2theta

    theta = np.empty(ifs["T"].shape, np.float32)
    thermo.potential_temperature(ifs["P"].values, ifs["T"].values, theta, kappa=constants.kappa, p0=constants.p0)
    template = mdl["T"].astype(np.float64)
    th = template.copy(data=theta.astype(np.float64))
    hfl = template.copy(data=0.5 * (ifs["HHL"].values[:-1].astype(np.float64) + ifs["HHL"].values[1:]))
    levels = [290.0, 300.0, 320.0, 340.0]
    ds = ifs.assign(PV=ifs["T"])
    for fold, mode in (("low", "low_fold"), ("high", "high_fold"), ("undefined", "undef_fold")):
        for product, name in (("PV_TH", "T"), ("P_TH", "P")):
            theirs = interpolate_k2theta(mdl[name].astype(np.float64), mode, th, levels, "K", hfl).values
            ours = nwpflow.compute(product, ds, levels=levels, fold=fold).values
            np.testing.assert_array_equal(np.isnan(ours), np.isnan(theirs))
            ok = np.isfinite(theirs)
            assert np.all(np.abs(ours[ok] - theirs[ok]) <= 2**-23 * np.abs(theirs[ok])), (product, fold)


def test_bit_identical_for_any_thread_count(icon_sample):
    grid = icon_grid.read_grid_file(next(icon_sample.glob("icon_grid_*.nc")))
    fields, _ = analytic_atmosphere(grid.latitude, grid.longitude)
    stencil = pv.lsq_stencil(grid.latitude, grid.longitude, grid.neighbours)
    metric = pv.metric_terms(grid.latitude, grid.latitude)
    runs = []
    for threads in (1, numba.config.NUMBA_NUM_THREADS):
        numba.set_num_threads(threads)
        out = np.empty(fields[0].shape, np.float32)
        pv.potential_vorticity(*fields, stencil, metric, out)
        runs.append(out.tobytes())
    numba.set_num_threads(numba.config.NUMBA_NUM_THREADS)
    assert runs[0] == runs[1]


def test_grid_file_must_be_the_runs(icon_sample, tmp_path):
    """A grid file of another grid (uuid or cell count) is refused, naming the file."""
    path = next(icon_sample.glob("icon_grid_*.nc"))
    with pytest.raises(nwpflow.InputError, match="the run's is"):
        icon_grid.read_grid_file(path, uuid="00000000000000000000000000000000")
    with pytest.raises(nwpflow.InputError, match="cells, the run has 7"):
        icon_grid.read_grid_file(path, ncell=7)
    bad = tmp_path / "not_a_grid.nc"
    xr.Dataset({"x": ("cell", np.zeros(3))}).to_netcdf(bad)
    with pytest.raises(nwpflow.InputError, match="lacks clat, clon, neighbor_cell_index"):
        icon_grid.read_grid_file(bad)
