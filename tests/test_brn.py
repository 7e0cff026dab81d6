"""BRN: the kernel against a numpy transcription of the formula, and the product against MeteoSwiss's
meteodata-lab (``operators/brn.py::fbrn``) on the real IFS L137 file."""

from __future__ import annotations

import numba
import numpy as np
import pytest
import xarray as xr

import nwpflow
from nwpflow import constants
from nwpflow.kernels.brn import bulk_richardson_number
from nwpflow.kernels.stagger import destagger

BRN_INPUTS = ["P", "T", "QV", "U", "V", "HHL", "HSURF"]
EARTHKIT_KAPPA = 0.285691  # earthkit.meteo.constants.kappa, used by meteodata-lab's fthetav
EARTHKIT_EPSILON = 0.621981  # earthkit.meteo.constants.epsilon


def brn_numpy(p, t, qv, u, v, hhl, hsurf, *, kappa=constants.kappa, c=constants.rv_rd_minus_1):
    """The published formula transcribed in plain numpy, float64 throughout (independent of the kernel)."""
    p, t, qv, u, v, hhl, hsurf = (np.asarray(a, dtype=np.float64) for a in (p, t, qv, u, v, hhl, hsurf))
    theta_v = t * (1.0 + c * qv) * (constants.p0 / p) ** kappa
    nlev = t.shape[0]
    mean_below = np.cumsum(theta_v[::-1], axis=0)[::-1] / np.arange(nlev, 0, -1)[:, None]
    hfl = 0.5 * (hhl[:-1] + hhl[1:])
    return constants.g * (hfl - hsurf) * (theta_v - theta_v[-1]) / (mean_below * (u**2 + v**2))


def random_columns(rng, nlev=40, ncol=3000):
    """Physically ordered random columns: pressure rising and heights falling downward."""
    p = np.sort(rng.uniform(5e3, 1.05e5, (nlev, ncol)), axis=0).astype(np.float32)
    t = (300.0 - 0.0065 * np.linspace(12000, 10, nlev)[:, None] + rng.normal(0, 1.5, (nlev, ncol))).astype(np.float32)
    qv = rng.uniform(0, 0.015, (nlev, ncol)).astype(np.float32)
    u = rng.normal(0, 8, (nlev, ncol)).astype(np.float32)
    v = rng.normal(0, 8, (nlev, ncol)).astype(np.float32)
    hsurf = rng.uniform(0, 3000, ncol).astype(np.float32)
    thickness = rng.uniform(20, 600, (nlev, ncol))
    hhl = np.concatenate([np.cumsum(thickness[::-1], axis=0)[::-1], np.zeros((1, ncol))]) + hsurf
    return p, t, qv, u, v, hhl.astype(np.float32), hsurf


def test_kernel_matches_numpy_transcription():
    """Same float32 inputs, float64 arithmetic in both; the kernel's only extra error is its float32
    output rounding (6e-8) plus its power function (<1e-15). The difference θv_k − θv_N cancels up to
    ~300 K / 0.01 K = 3e4 at the lowest levels, so the error is measured against the size of the terms:
    |kernel − numpy| <= 2e-7 × |g Δz θv_k / (mean θv |v|²)|, i.e. float32 rounding of the magnitude."""
    rng = np.random.default_rng(1)
    p, t, qv, u, v, hhl, hsurf = random_columns(rng)
    out = np.empty_like(t)
    bulk_richardson_number(p, t, qv, u, v, hhl, hsurf, out, kappa=constants.kappa,
                           rv_rd_minus_1=constants.rv_rd_minus_1, g=constants.g, p0=constants.p0)
    expected = brn_numpy(p, t, qv, u, v, hhl, hsurf)
    scale = np.abs(expected) + 1e-6
    assert np.all(np.abs(out - expected) <= 2e-7 * scale + 1e-12)
    assert np.all(out[-1] == 0.0)  # lowest level: θv_N − θv_N = 0 exactly


def test_kernel_bit_identical_for_any_thread_count():
    rng = np.random.default_rng(2)
    arrays = random_columns(rng, ncol=5000)
    results = []
    for threads in (1, numba.config.NUMBA_NUM_THREADS):
        numba.set_num_threads(threads)
        out = np.empty_like(arrays[1])
        bulk_richardson_number(*arrays, out, kappa=constants.kappa, rv_rd_minus_1=constants.rv_rd_minus_1,
                               g=constants.g, p0=constants.p0)
        results.append(out)
    numba.set_num_threads(numba.config.NUMBA_NUM_THREADS)
    assert results[0].tobytes() == results[1].tobytes()


def test_missing_values_propagate_and_zero_wind_is_ieee():
    """NaN at level k enters the θv mean of every level above it, never garbage; no wind gives inf."""
    rng = np.random.default_rng(3)
    p, t, qv, u, v, hhl, hsurf = random_columns(rng, nlev=10, ncol=600)
    t[6, 5] = np.nan
    u[3, 7] = v[3, 7] = 0.0
    out = np.empty_like(t)
    bulk_richardson_number(p, t, qv, u, v, hhl, hsurf, out, kappa=constants.kappa,
                           rv_rd_minus_1=constants.rv_rd_minus_1, g=constants.g, p0=constants.p0)
    assert np.all(np.isnan(out[:7, 5])) and np.all(np.isfinite(out[7:, 5]))
    assert np.isinf(out[3, 7]) and np.all(np.isfinite(np.delete(out[:, 7], 3)))


def test_product_on_sample_has_expected_shape_and_attrs(icon_sample):
    files = [icon_sample / "lfff00000000c", icon_sample / "000" / "lfff00010000"]
    ds = nwpflow.open_run(files, BRN_INPUTS)
    brn = nwpflow.compute("BRN", ds)
    assert brn.name == "BRN" and brn.dtype == np.float32
    assert brn.dims == ("level", "cell") and brn.sizes["level"] == 80
    assert brn.attrs["units"] == "1"
    assert np.all(brn.isel(level=-1) == 0)
    # A stable free troposphere: BRN far above the boundary layer is positive nearly everywhere.
    assert float((brn.isel(level=20) > 0).mean()) > 0.95


def test_staggered_cosmo_winds_are_destaggered(cosmo_sample):
    """On the COSMO grid the product must use mass-point winds: the same as destaggering by hand
    (meteodata-lab's rule) and calling the kernel — bit for bit, both compute the same float64 means."""
    files = [cosmo_sample / "lfff00000000c", cosmo_sample / "000" / "lfff00010000"]
    ds = nwpflow.open_run(files, BRN_INPUTS)
    assert ds["U"].attrs["staggering"] == "x" and ds["V"].attrs["staggering"] == "y"
    brn = nwpflow.compute("BRN", ds)
    u = destagger(ds["U"].values, "x")
    v = destagger(ds["V"].values, "y")
    ny, nx = ds.sizes["y"], ds.sizes["x"]
    flat = [np.ascontiguousarray(a).reshape(a.shape[0], ny * nx) for a in
            (ds["P"].values, ds["T"].values, ds["QV"].values, u, v, ds["HHL"].values)]
    out = np.empty_like(flat[0])
    bulk_richardson_number(*flat, ds["HSURF"].values.reshape(-1), out, kappa=constants.kappa,
                           rv_rd_minus_1=constants.rv_rd_minus_1, g=constants.g, p0=constants.p0)
    np.testing.assert_array_equal(brn.values.reshape(out.shape), out)
    unstaggered = nwpflow.compute("BRN", ds.assign(U=ds["U"].drop_attrs(), V=ds["V"].drop_attrs()))
    assert not np.array_equal(unstaggered.values, brn.values)


def test_destagger_matches_meteodata_lab():
    interpolate_midpoint = pytest.importorskip("meteodatalab.operators.destagger").interpolate_midpoint
    a = np.random.default_rng(4).normal(size=(3, 7, 9)).astype(np.float32)
    np.testing.assert_allclose(destagger(a, "x"), interpolate_midpoint(a.astype(np.float64), "left"),
                               rtol=6e-8)  # float32 storage of a float64 mean
    np.testing.assert_allclose(destagger(a, "y"),
                               np.swapaxes(interpolate_midpoint(np.swapaxes(a, 1, 2).astype(np.float64), "left"), 1, 2),
                               rtol=6e-8)


@pytest.fixture(scope="module")
def meteodata_lab_fields(ifs_file, monkeypatch_module):
    pytest.importorskip("meteodatalab")
    from meteodatalab import data_source, grib_decoder

    from nwpflow.io.eccodes_env import DEFINITION_PATH

    # meteodata-lab switches the ecCodes definitions itself unless the variable is set; point it at the
    # COSMO definitions nwpflow already loaded.
    monkeypatch_module.setenv("ECCODES_DEFINITION_PATH", DEFINITION_PATH)
    source = data_source.FileDataSource(datafiles=[str(ifs_file)])
    return grib_decoder.load(source, {"param": ["T", "QV", "U", "V"], "levtype": "ml"})


@pytest.fixture(scope="module")
def monkeypatch_module():
    with pytest.MonkeyPatch.context() as patch:
        yield patch


def test_brn_matches_meteodata_lab_on_ifs_file(ifs_file, meteodata_lab_fields):
    """nwpflow's BRN against meteodata-lab's ``fbrn`` on the real IFS L137 forecast.

    meteodata-lab reads T, QV, U, V itself (its own GRIB decoder); P, HHL and HSURF, which an IFS file
    does not carry, come from nwpflow's reader (tested against earthkit in test_reader.py). U and V are
    marked as C-grid staggered for both, so the destaggering of both is compared too.

    meteodata-lab's θv uses earthkit-meteo's constants (κ = 0.285691, ε = 0.621981) where nwpflow
    follows COSMO (κ = 0.285622): the kernel is run with earthkit's constants for the tight comparison,
    and the effect of the constants is computed separately below. meteodata-lab is given float64 copies
    of the float32 fields so its own float32 rounding (which alone reaches 1e-3 relative near the ground
    through the cancellation in θv_k − θv_N) does not hide differences. Both then compute in float64
    from the same float32 values, so the tolerance is nwpflow's float32 storage (see the assertion).
    """
    from meteodatalab.operators.brn import fbrn

    ours = nwpflow.open_run(ifs_file, BRN_INPUTS)
    mdl = {k: v.squeeze(("ref_time", "lead_time")) for k, v in meteodata_lab_fields.items()}
    for name in ("T", "QV", "U", "V"):  # the same values reached both implementations
        np.testing.assert_array_equal(mdl[name].values, ours[name].values)
    template = mdl["T"]
    p = template.copy(data=ours["P"].values)
    hhl = xr.DataArray(ours["HHL"].values, dims=("z", "y", "x"),
                       coords={"z": np.arange(1, ours.sizes["half_level"] + 1)},
                       attrs={**template.attrs, "origin_z": -0.5, "vcoord_type": "model_level"})
    hsurf = xr.DataArray(ours["HSURF"].values, dims=("y", "x"))
    u = mdl["U"].assign_attrs(origin_x=0.5)
    v = mdl["V"].assign_attrs(origin_y=0.5)
    as64 = {name: a.astype(np.float64) for name, a in
            {"p": p, "t": mdl["T"], "qv": mdl["QV"], "u": u, "v": v, "hhl": hhl, "hsurf": hsurf}.items()}
    expected = fbrn(**as64).values

    staggered = ours.assign(U=ours["U"].assign_attrs(staggering="x"), V=ours["V"].assign_attrs(staggering="y"))
    u_mass = destagger(staggered["U"].values, "x")
    v_mass = destagger(staggered["V"].values, "y")
    nlev, ny, nx = ours["T"].shape

    def kernel(kappa, c):
        out = np.empty((nlev, ny * nx), np.float32)
        args = [np.ascontiguousarray(a).reshape(a.shape[0], -1) for a in
                (ours["P"].values, ours["T"].values, ours["QV"].values, u_mass, v_mass, ours["HHL"].values)]
        bulk_richardson_number(*args, ours["HSURF"].values.reshape(-1), out, kappa=kappa, rv_rd_minus_1=c,
                               g=constants.g, p0=constants.p0)
        return out.reshape(nlev, ny, nx)

    earthkit = kernel(EARTHKIT_KAPPA, (1 - EARTHKIT_EPSILON) / EARTHKIT_EPSILON)
    height = 0.5 * (ours["HHL"].values[:-1] + ours["HHL"].values[1:]).astype(np.float64) - ours["HSURF"].values
    scale = constants.g * np.abs(height) / (u_mass.astype(np.float64) ** 2 + v_mass.astype(np.float64) ** 2)
    finite = np.isfinite(expected)
    assert finite.mean() > 0.99
    np.testing.assert_array_equal(np.isfinite(earthkit), finite)
    # nwpflow stores the destaggered winds as float32 (half an ulp each: up to 1.2e-7 in u² + v²) and the
    # result as float32 (6e-8): 2e-7 relative. Plus a float64 arithmetic allowance of 1e-9 of the terms'
    # size g Δz / |v|² for the levels near the ground where θv_k − θv_N cancels.
    assert np.all(np.abs(earthkit - expected)[finite] <= 2e-7 * np.abs(expected[finite]) + 1e-9 * scale[finite])

    # The product itself (COSMO constants): differs from meteodata-lab only through κ and ε. The
    # derivative of BRN with respect to κ is computed by finite difference of the formula, so the
    # difference is predicted, not tolerated: |product − earthkit-constants| ≈ |∂BRN/∂κ| Δκ.
    product = nwpflow.compute("BRN", staggered).values
    predicted = np.abs(kernel(EARTHKIT_KAPPA + 1e-4, (1 - EARTHKIT_EPSILON) / EARTHKIT_EPSILON) - earthkit) \
        / 1e-4 * abs(constants.kappa - EARTHKIT_KAPPA)
    diff = np.abs(product - earthkit)
    sel = finite & (np.abs(expected) > 1e-3)
    assert np.all(diff[sel] <= 1.5 * predicted[sel] + 1e-6 * scale[sel] + 1e-9)
    assert np.median(diff[sel] / np.abs(expected[sel])) > 1e-6  # the constants really do differ
