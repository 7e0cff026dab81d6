"""Vertical products: interpolation to pressure and height levels, HZEROCL and HPBL.

Oracles: MetPy's published ``log_interpolate_1d`` values; MetPy's ``log_interpolate_1d`` /
``interpolate_1d`` and meteodata-lab's ``interpolate_k2p``, ``extrapolate_*`` and ``fhzerocl`` on the real
IFS L137 file; numpy transcriptions for HPBL and the HZEROCL search limit; the ICON-like sample run.

Tolerances. The kernels compute in float64 from the same float32 values the oracles are given (as float64
copies) and store float32. Rounding a float64 result to float32 changes it by at most half a float32 ulp,
``2**-24`` relative (:data:`F32_ROUNDING`); float64 evaluation-order differences (MetPy writes
``f1 + w (f2 - f1)``, meteodata-lab and nwpflow ``(1 - w) f1 + w f2``; numpy's and libm's ``log`` may differ
by an ulp) add ~1e-15 of the values, covered by an absolute 1e-12 (field units, values below 1e5).
"""

from __future__ import annotations

import json
import math
import warnings

import numba
import numpy as np
import pytest
import xarray as xr

import nwpflow
from nwpflow import constants
from nwpflow.cli import main
from nwpflow.errors import OptionError
from nwpflow.kernels.stagger import destagger
from nwpflow.kernels.vertical import (
    BELOW,
    LINEAR,
    LOG,
    MISSING,
    NEAREST,
    apply_brackets,
    boundary_layer_height,
    extrapolate_below,
    freezing_level_height,
    vertical_brackets,
)
from nwpflow.products import registry
from nwpflow.products.levels import DEFAULT_PRESSURES

from conftest import shared

F32_ROUNDING = 2.0**-24
"""Largest relative change of a float64 value when it is stored as float32 (half an ulp)."""

F64_ORDER = 1e-12
"""Absolute allowance for float64 evaluation-order differences (~1e-15 relative of values below 1e3)."""

IFS_INPUTS = ["P", "T", "QV", "U", "V", "HHL", "HSURF", "PS"]
T0 = constants.T0


def assert_float32_of(ours, expected, *, atol=F64_ORDER):
    """``ours`` (float32) is ``expected`` (float64) stored as float32: the same missing values, and every
    value within the float32 rounding of ``expected`` (plus the float64 order allowance)."""
    ours = np.asarray(ours)
    expected = np.asarray(expected, dtype=np.float64)
    np.testing.assert_array_equal(np.isnan(ours), np.isnan(expected))
    finite = ~np.isnan(expected)
    error = np.abs(ours[finite].astype(np.float64) - expected[finite])
    assert np.all(error <= F32_ROUNDING * np.abs(expected[finite]) + atol), error.max()


def column_arrays(*arrays):
    """(level, y, x) or (y, x) arrays as C-contiguous float32 (level, ncol) / (ncol,)."""
    return [np.ascontiguousarray(a, dtype=np.float32).reshape(a.shape[0], -1) if a.ndim == 3
            else np.ascontiguousarray(a, dtype=np.float32).reshape(-1) for a in arrays]


def brackets(coord, targets, method=LINEAR, **flags):
    targets = np.asarray(targets, dtype=np.float64)
    index = np.empty((targets.size, coord.shape[1]), np.int32)
    weight = np.empty((targets.size, coord.shape[1]), np.float64)
    return vertical_brackets(coord, targets, index, weight, method=method, **flags)


def interpolate(field, index, weight, **flags):
    out = np.empty(index.shape, field.dtype)
    return apply_brackets(field, index, weight, out, **flags)


# --------------------------------------------------------------------------------------------------
# Fixtures: the IFS file read by nwpflow and by meteodata-lab
# --------------------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def ifs(ifs_file):
    return nwpflow.open_run(ifs_file, IFS_INPUTS)


@pytest.fixture(scope="module")
def monkeypatch_module():
    with pytest.MonkeyPatch.context() as patch:
        yield patch


@pytest.fixture(scope="module")
def mdl(ifs_file, ifs, monkeypatch_module):
    """meteodata-lab's own reading of T and U, and P, HHL from nwpflow's reader (an IFS file has neither),
    marked as meteodata-lab model-level fields (its readers call IFS levels ``hybrid``)."""
    pytest.importorskip("meteodatalab")
    from meteodatalab import data_source, grib_decoder

    from nwpflow.io.eccodes_env import DEFINITION_PATH

    monkeypatch_module.setenv("ECCODES_DEFINITION_PATH", DEFINITION_PATH)
    source = data_source.FileDataSource(datafiles=[str(ifs_file)])
    fields = grib_decoder.load(source, {"param": ["T", "U"], "levtype": "ml"})
    fields = {k: v.squeeze(("ref_time", "lead_time")).assign_attrs(vcoord_type="model_level")
              for k, v in fields.items()}
    for name in ("T", "U"):  # the same values reached both implementations
        np.testing.assert_array_equal(fields[name].values, ifs[name].values)
    template = fields["T"]
    fields["P"] = template.copy(data=ifs["P"].values)
    fields["HHL"] = xr.DataArray(ifs["HHL"].values, dims=("z", "y", "x"),
                                 coords={"z": np.arange(1, ifs.sizes["half_level"] + 1)},
                                 attrs={**template.attrs, "origin_z": -0.5})
    return fields


# --------------------------------------------------------------------------------------------------
# Pressure levels
# --------------------------------------------------------------------------------------------------

def test_log_interpolate_metpy_published_values():
    """MetPy 1.7.1 ``test_log_interpolate_1d``: y = 2 ln x + 3 on x = 1e3…1e6, at 5e3, 5e4, 5e5.

    The kernels' arithmetic (same kernels, a float64 field and output) meets MetPy's 7 decimals — linear
    in ln p is exact for this y, so the kernel matches them to their 10 published decimals. Stored as the
    products store them (float32 field in, float32 out), y ≈ 30 is held to its float32 ulp (1.9e-6), which
    7 decimals cannot resolve: the error is then bounded by the rounding of the inputs (a weighted mean of
    two, each ≤ 2**-24 |y|) plus that of the output, computed below, not tolerated loosely.
    """
    oracle = json.loads(shared("oracles/metpy_1.7.1_expected_values.json").read_text())
    case = oracle["log_interpolate_1d"]
    x = np.array(case["x"])
    y = 2.0 * np.log(x) + 3.0
    expected = np.array(case["y_new"])
    index, weight = brackets(x[:, None].astype(np.float32), case["x_new"], LOG)
    np.testing.assert_array_equal(index[:, 0], [1, 2, 3])
    in64 = interpolate(np.ascontiguousarray(y[:, None]), index, weight)[:, 0]
    np.testing.assert_almost_equal(in64, expected, case["decimal"])
    assert np.all(np.abs(in64 - expected) <= 5e-11)  # the values are published to 10 decimals
    in32 = interpolate(y[:, None].astype(np.float32), index, weight)[:, 0]
    bound = F32_ROUNDING * (np.abs(y).max() + np.abs(expected))
    assert np.all(np.abs(in32 - expected) <= bound)


@pytest.mark.parametrize("method", ["lnp", "linear"])
def test_pressure_levels_match_metpy_on_ifs(ifs, method):
    """T, QV and U against MetPy's ``log_interpolate_1d`` / ``interpolate_1d`` on every IFS column; targets
    below the lowest level (ps < 1000 hPa over land) are missing in both."""
    metpy_interpolate = pytest.importorskip("metpy.interpolate")
    function = metpy_interpolate.log_interpolate_1d if method == "lnp" else metpy_interpolate.interpolate_1d
    levels = np.array(DEFAULT_PRESSURES)
    p = ifs["P"].values.astype(np.float64)
    fields = {name: ifs[name].values.astype(np.float64) for name in ("T", "QV", "U")}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # MetPy warns about the targets below the lowest level
        expected = function(levels, p, *fields.values(), axis=0)
    for name, reference in zip(fields, expected):
        ours = nwpflow.compute(f"{name}_PL", ifs, method=method)
        assert ours.dims == ("pressure", "y", "x") and ours.dtype == np.float32
        np.testing.assert_array_equal(ours["pressure"].values, levels)
        assert_float32_of(ours.values, reference)
        assert 0.01 < np.isnan(reference[0]).mean() < 0.5  # 1000 hPa is below ground in part of the domain


@pytest.mark.parametrize(("method", "mode"), [("lnp", "linear_in_lnp"), ("linear", "linear_in_p"),
                                              ("nearest", "nearest_sfc")])
def test_pressure_levels_match_meteodata_lab_on_ifs(ifs, mdl, method, mode):
    """meteodata-lab's ``interpolate_k2p`` (float64 copies of the same fields). It returns the targets in
    ascending order; nwpflow keeps the order asked for."""
    from meteodatalab.operators.vertical_interpolation import interpolate_k2p

    for name in ("T", "U"):
        expected = interpolate_k2p(mdl[name].astype(np.float64), mode, mdl["P"].astype(np.float64),
                                   list(DEFAULT_PRESSURES), "Pa")
        ours = nwpflow.compute(f"{name}_PL", ifs, method=method)
        np.testing.assert_array_equal(expected["z"].values[::-1], ours["pressure"].values)
        assert_float32_of(ours.values, expected.values[::-1])


def test_geopotential_on_pressure_levels_matches_meteodata_lab(ifs, mdl):
    """HGT_PL is the full-level height (mean of the HHL half levels, meteodata-lab's ``destagger``)
    interpolated linearly in ln p; FI_PL is g times it (one float64 product before the float32 store)."""
    from meteodatalab.operators.destagger import destagger as mdl_destagger
    from meteodatalab.operators.vertical_interpolation import interpolate_k2p

    hfl = mdl_destagger(mdl["HHL"].astype(np.float64), "z")
    hfl = hfl.assign_attrs(origin_z=0.0, vcoord_type="model_level")
    expected = interpolate_k2p(hfl, "linear_in_lnp", mdl["P"].astype(np.float64), list(DEFAULT_PRESSURES),
                               "Pa").values[::-1]
    hgt = nwpflow.compute("HGT_PL", ifs)
    fi = nwpflow.compute("FI_PL", ifs)
    assert hgt.attrs["units"] == "m" and fi.attrs["units"] == "m2 s-2"
    assert_float32_of(hgt.values, expected, atol=1e-9)  # heights to 2e4 m: 1e-15 of them is 2e-11
    assert_float32_of(fi.values, constants.g * expected, atol=1e-8)


def test_below_ground_extrapolation_matches_meteodata_lab(ifs, mdl):
    """With ``below_ground="extrapolate"``, targets below the lowest level take meteodata-lab's FullPos
    rules: T from ``extrapolate_temperature_sfc2p``, the geopotential from
    ``extrapolate_geopotential_sfc2p``, any other field from ``extrapolate_k2p`` (the lowest level's
    value). meteodata-lab leaves the surface temperature to its caller; nwpflow's T* (Trenberth et al.
    1993) is transcribed here and handed to it. Other targets are as without extrapolation."""
    from meteodatalab.operators.vertical_extrapolation import (
        extrapolate_geopotential_sfc2p,
        extrapolate_k2p,
        extrapolate_temperature_sfc2p,
    )

    levels = [100000.0, 92500.0, 85000.0, 50000.0]
    t_low, p_low = (ifs[n].values[-1].astype(np.float64) for n in ("T", "P"))
    ps, zs = (ifs[n].values.astype(np.float64) for n in ("PS", "HSURF"))
    t_surface = t_low * (1.0 + constants.standard_lapse_rate * constants.Rd / constants.g * (ps / p_low - 1.0))
    template = mdl["T"].isel(z=[-1])
    args = {name: template.copy(data=a[None]) for name, a in (("t", t_surface), ("z", zs), ("p", ps))}
    products = {name: nwpflow.compute(f"{name}_PL", ifs, below_ground="extrapolate", levels=levels).values
                for name in ("T", "FI", "HGT", "U")}
    plain = nwpflow.compute("T_PL", ifs, levels=levels).values
    assert (zs[p_low < 1e5] > 2000).sum() > 0  # the reduced lapse rate of high ground is exercised
    for i, target in enumerate(levels):
        below = target > p_low
        assert below.sum() > (20 if target > 8e4 else -1)
        t = extrapolate_temperature_sfc2p(args["t"], args["z"], args["p"], target).values[0]
        fi = extrapolate_geopotential_sfc2p(args["z"], args["t"], args["p"], target).values[0]
        u = extrapolate_k2p(mdl["U"].astype(np.float64), target).values[0]
        assert_float32_of(products["T"][i][below], t[below])
        assert_float32_of(products["FI"][i][below], fi[below], atol=1e-8)
        assert_float32_of(products["HGT"][i][below], fi[below] / constants.g, atol=1e-9)
        np.testing.assert_array_equal(products["U"][i][below], u[below])  # a copy of float32 values
        np.testing.assert_array_equal(products["T"][i][~below], plain[i][~below])
        assert np.all(np.isnan(plain[i][below]))


def test_extrapolation_branches_match_meteodata_lab(mdl):
    """The three lapse-rate branches of the temperature rule (surface below 2000 m, 2000-2500 m, above
    2500 m, with and without the 298 K cap) on synthetic surfaces, kernel against meteodata-lab."""
    from meteodatalab.operators.vertical_extrapolation import (
        extrapolate_geopotential_sfc2p,
        extrapolate_temperature_sfc2p,
    )

    template = mdl["T"].isel(z=[-1])
    shape = template.shape[1:]
    ncol = int(np.prod(shape))
    rng = np.random.default_rng(5)
    zs = np.linspace(-50.0, 4500.0, ncol).astype(np.float32)
    ps = (101325.0 * np.exp(-zs / 8000.0)).astype(np.float32)
    p_low = (ps * 0.998).astype(np.float32)
    t_low = rng.uniform(240.0, 315.0, ncol).astype(np.float32)
    targets = np.array([105000.0, 100000.0, 70000.0])
    index = np.full((targets.size, ncol), BELOW, np.int32)
    t_surface = t_low * (1.0 + constants.standard_lapse_rate * constants.Rd / constants.g
                         * (ps.astype(np.float64) / p_low - 1.0))
    args = {name: template.copy(data=np.asarray(a, np.float64).reshape(1, *shape))
            for name, a in (("t", t_surface), ("z", zs), ("p", ps))}
    t_max, h1, h2 = constants.fullpos_below_ground
    assert np.any(t_surface + constants.standard_lapse_rate * zs > t_max)
    for quantity, oracle in (("temperature", extrapolate_temperature_sfc2p),
                             ("geopotential", extrapolate_geopotential_sfc2p)):
        out = np.full((targets.size, ncol), np.nan, np.float32)
        extrapolate_below(index, targets, t_low, p_low, ps, zs, out, quantity=quantity, rd=constants.Rd,
                          g=constants.g, lapse_rate=constants.standard_lapse_rate, t_max=t_max, h1=h1, h2=h2)
        for i, target in enumerate(targets):
            if quantity == "temperature":
                expected = oracle(args["t"], args["z"], args["p"], target).values.reshape(-1)
            else:
                expected = oracle(args["z"], args["t"], args["p"], target).values.reshape(-1)
            assert_float32_of(out[i], expected, atol=1e-8)


def test_pressure_edge_cases():
    """Single column, single level, all-NaN column, a surface pressure below the target, targets above
    the top; NaN in the field at a bracketing level."""
    p = np.array([[20000.0, 50000.0], [50000.0, 70000.0], [85000.0, 80000.0]], np.float32)  # 3 levels, 2 cols
    t = np.array([[220.0, 230.0], [250.0, 260.0], [280.0, 275.0]], np.float32)
    targets = [10000.0, 20000.0, 85000.0, 90000.0]
    index, weight = brackets(p, targets, LOG)
    # 100 hPa is above the top; 850 hPa is the lowest level of column 0 (inside) and below column 1's
    # lowest level (800 hPa: its surface pressure is below the target); 900 hPa is below both.
    np.testing.assert_array_equal(index, [[MISSING, MISSING], [1, MISSING], [2, BELOW], [BELOW, BELOW]])
    out = interpolate(t, index, weight)
    np.testing.assert_array_equal(out[:, 0], [np.nan, 220.0, 280.0, np.nan])
    np.testing.assert_array_equal(out[:, 1], [np.nan, np.nan, np.nan, np.nan])
    constant = interpolate(t, index, weight, constant_below=True)
    np.testing.assert_array_equal(constant[2:, 1], [275.0, 275.0])
    # Single column: the same result as column 0 of the two-column call.
    one_index, one_weight = brackets(np.ascontiguousarray(p[:, :1]), targets, LOG)
    np.testing.assert_array_equal(interpolate(np.ascontiguousarray(t[:, :1]), one_index, one_weight)[:, 0],
                                  out[:, 0])
    # Single level: only the exact level is inside; below it is BELOW, above MISSING.
    index1, weight1 = brackets(p[2:3], [20000.0, 85000.0, 90000.0])
    np.testing.assert_array_equal(index1, [[MISSING, MISSING], [0, BELOW], [BELOW, BELOW]])
    np.testing.assert_array_equal(interpolate(t[2:3], index1, weight1)[:, 0], [np.nan, 280.0, np.nan])
    # All-NaN column and a NaN at a bracketing level: NaN out, the other column untouched.
    p_nan, t_nan = p.copy(), t.copy()
    p_nan[:, 1] = np.nan
    t_nan[0, 0] = np.nan
    index2, weight2 = brackets(p_nan, targets, LOG)
    assert np.all(index2[:, 1] == MISSING)
    out2 = interpolate(t_nan, index2, weight2, constant_below=True)
    assert np.all(np.isnan(out2[:, 1])) and np.isnan(out2[1, 0]) and out2[2, 0] == 280.0


def test_surface_pressure_below_target_on_product(ifs):
    """Where ps < 1000 hPa the 1000 hPa target is missing, or extrapolated (and then warmer than the
    lowest level for the standard lapse rate, below 2000 m ground)."""
    missing = nwpflow.compute("T_PL", ifs, levels=[100000.0]).values[0]
    filled = nwpflow.compute("T_PL", ifs, levels=[100000.0], below_ground="extrapolate").values[0]
    under = ifs["PS"].values < 1e5
    assert under.sum() > 100
    assert np.all(np.isnan(missing[under])) and np.all(np.isfinite(filled))
    low = under & (ifs["HSURF"].values < 2000)
    assert np.all(filled[low] > ifs["T"].values[-1][low])


# --------------------------------------------------------------------------------------------------
# Height levels
# --------------------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def icon_run(icon_sample):
    files = [icon_sample / "lfff00000000c", icon_sample / "000" / "lfff00010000"]
    return nwpflow.open_run(files, ["P", "T", "QV", "U", "V", "W", "HHL", "HSURF", "PS"])


@pytest.mark.parametrize("reference", ["ground", "sea"])
def test_height_levels_match_metpy(icon_run, reference):
    """U (full levels) and W (half levels, interpolated on the half-level heights) against MetPy's
    ``interpolate_1d`` on every column of the ICON sample."""
    metpy_interpolate = pytest.importorskip("metpy.interpolate")
    hhl = icon_run["HHL"].values.astype(np.float64)
    ground = hhl[-1] if reference == "ground" else 0.0
    heights = {"U": 0.5 * (hhl[:-1] + hhl[1:]) - ground, "W": hhl - ground}
    levels = [0.0, 10.0, 50.0, 300.0, 1000.0, 2500.0, 12000.0, 30000.0]
    for name in ("U", "W"):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            expected = metpy_interpolate.interpolate_1d(np.array(levels), heights[name],
                                                        icon_run[name].values.astype(np.float64), axis=0)
        ours = nwpflow.compute(f"{name}_HL", icon_run, levels=levels, reference=reference)
        assert ours.dims == ("height", "cell") and ours["height"].attrs["units"] == "m"
        assert_float32_of(ours.values, expected)
    w_ground = nwpflow.compute("W_HL", icon_run, levels=[0.0]).values[0]
    np.testing.assert_array_equal(w_ground, icon_run["W"].values[-1])  # the ground is a half level


def test_height_levels_nearest(icon_run):
    """``method="nearest"`` takes the nearer full level, the lower one on a tie."""
    hhl = icon_run["HHL"].values.astype(np.float64)
    z = 0.5 * (hhl[:-1] + hhl[1:]) - hhl[-1]
    levels = [55.0, 777.0]
    ours = nwpflow.compute("T_HL", icon_run, levels=levels, method="nearest").values
    t = icon_run["T"].values
    for i, level in enumerate(levels):
        k = np.argmin(np.abs(z - level) - 1e-9 * np.arange(z.shape[0])[:, None], axis=0)
        np.testing.assert_array_equal(ours[i], t[k, np.arange(t.shape[1])])


# --------------------------------------------------------------------------------------------------
# HZEROCL
# --------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("extrapolate", [False, True])
def test_hzerocl_matches_meteodata_lab_on_ifs(ifs, mdl, extrapolate):
    """meteodata-lab's ``fhzerocl`` on float64 copies. The two differ, by construction, in one place,
    predicted here rather than tolerated: meteodata-lab finds the crossing with ``argmax`` over heights
    whose non-crossing levels are filled with -1, so a crossing whose lower level lies more than 1 m below
    sea level (IFS sea points: HSURF down to -40 m) is lost there (NaN); nwpflow keeps it."""
    from meteodatalab.operators.hzerocl import fhzerocl

    expected = fhzerocl(mdl["T"].astype(np.float64), mdl["HHL"].astype(np.float64), extrapolate=extrapolate).values
    ours = nwpflow.compute("HZEROCL", ifs, extrapolate=extrapolate)
    assert ours.dims == ("y", "x") and ours.attrs["units"] == "m"
    t = ifs["T"].values.astype(np.float64)
    hhl = ifs["HHL"].values.astype(np.float64)
    hfl = 0.5 * (hhl[:-1] + hhl[1:])
    crossing = (t[1:] >= T0) & (t[:-1] < T0)
    k = np.argmax(crossing, axis=0)[None] + 1  # the topmost crossing's lower level
    z1, z2, t1, t2 = (np.take_along_axis(a, i, 0)[0] for a, i in ((hfl, k - 1), (hfl, k), (t, k - 1), (t, k)))
    height = z1 + (z2 - z1) * (T0 - t1) / (t2 - t1)
    lost = crossing.any(axis=0) & (z2 < -1.0) & (height > 0.0)
    assert 0 < lost.sum() < 10
    np.testing.assert_array_equal(np.isnan(expected) != np.isnan(ours.values), lost)
    assert np.all(np.isnan(expected[lost]))
    assert_float32_of(ours.values[~lost], expected[~lost], atol=1e-9)
    frozen = (t < T0).all(axis=0)
    assert frozen.sum() > 50  # the Arctic: columns entirely below freezing
    if extrapolate:
        # Extrapolated where T rises downwards; most Arctic sea columns then reach 0 °C below sea level (NaN).
        assert np.isfinite(ours.values[frozen]).sum() >= 5
    else:
        assert np.all(np.isnan(ours.values[frozen]))


def hzerocl_numpy(t, hhl, limit=None):
    """Transcription: the topmost pair with T[k-1] < T0 <= T[k] whose upper level is within ``limit``."""
    t, hhl = t.astype(np.float64), hhl.astype(np.float64)
    hfl = 0.5 * (hhl[:-1] + hhl[1:])
    out = np.full(t.shape[1], np.nan)
    for j in range(t.shape[1]):
        for k in range(1, t.shape[0]):
            if t[k - 1, j] < T0 <= t[k, j] and (limit is None or hfl[k - 1, j] - hhl[-1, j] <= limit):
                out[j] = hfl[k - 1, j] + (hfl[k, j] - hfl[k - 1, j]) * (T0 - t[k - 1, j]) / (t[k, j] - t[k - 1, j])
                break
    return np.where(out > 0, out, np.nan)


def test_hzerocl_search_limit(ifs):
    """fieldextra's 8000 m limit: a crossing whose upper level is above it is skipped (the next one below
    is taken); on the IFS file no crossing is that high, so the limit changes nothing there."""
    hhl = np.array([[12000.0, 12000.0], [9000.0, 9000.0], [6000.0, 6000.0], [3000.0, 4000.0], [1000.0, 3000.0],
                    [0.0, 2600.0]], np.float32)
    # Full levels at 10500, 7500, 4500, ... m. Column 0: a warm layer at 7500 m (a crossing whose upper
    # level, 10500 m, is above the limit) and the freezing level near 1600 m; column 1: on ground 2600 m
    # high, the upper level is 7900 m above it, inside the limit.
    t = np.array([[250.0] * 2, [275.0] * 2, [265.0] * 2, [271.0] * 2, [280.0] * 2], np.float32)
    out = np.empty(2, np.float32)
    for limit in (None, 8000.0):
        freezing_level_height(t, hhl, out, t0=T0, search_limit=limit)
        assert_float32_of(out, hzerocl_numpy(t, hhl, limit), atol=1e-9)
    assert out[0] < 4000.0 and out[1] > 7500.0
    unlimited = nwpflow.compute("HZEROCL", ifs).values
    np.testing.assert_array_equal(nwpflow.compute("HZEROCL", ifs, search_limit=8000).values, unlimited)


def test_hzerocl_edge_cases():
    """Single column, single level, all-NaN column, a column entirely below freezing (NaN, or extrapolated
    from the two lowest levels — below the ground here — with ``extrapolate=True``), a NaN level above
    the crossing (NaN: the highest crossing is unknown) and below it (no effect)."""
    hhl = np.array([[3000.0] * 5, [2000.0] * 5, [1000.0] * 5, [400.0] * 5], np.float32)
    t = np.array([[265.0, 265.0, np.nan, 265.0, 265.0], [270.0, 268.0, np.nan, np.nan, 276.0],
                  [276.0, 271.0, np.nan, 276.0, np.nan]], np.float32)
    out = np.empty(5, np.float32)
    freezing_level_height(t, hhl, out, t0=T0)
    expected0 = 1500.0 + (700.0 - 1500.0) * (T0 - 270.0) / (276.0 - 270.0)  # full levels 2500, 1500, 700 m
    expected4 = 2500.0 + (1500.0 - 2500.0) * (T0 - 265.0) / (276.0 - 265.0)
    assert_float32_of(out, [expected0, np.nan, np.nan, np.nan, expected4])
    freezing_level_height(t, hhl, out, t0=T0, extrapolate=True)
    # Column 1: the lowest two levels at 1500 and 700 m, +3 K over 800 m: 0 °C at 700 - 800 * 2.15 / 3.
    expected1 = 1500.0 + (700.0 - 1500.0) * (T0 - 268.0) / (271.0 - 268.0)
    assert_float32_of(out, [expected0, expected1, np.nan, np.nan, expected4])
    assert out[1] < 400.0  # below the ground (meteodata-lab semantics)
    single = np.empty(1, np.float32)
    freezing_level_height(np.ascontiguousarray(t[:, :1]), np.ascontiguousarray(hhl[:, :1]), single, t0=T0)
    assert single[0] == out[0]
    freezing_level_height(t[2:], hhl[2:], out, t0=T0, extrapolate=True)  # a single level: nothing to find
    assert np.all(np.isnan(out))
    # Extrapolated below sea level: not above sea level, so missing (meteodata-lab's where(h > 0)).
    freezing_level_height(np.array([[250.0], [260.0]], np.float32), np.array([[900.0], [300.0], [0.0]], np.float32),
                          single, t0=T0, extrapolate=True)
    assert np.isnan(single[0])


# --------------------------------------------------------------------------------------------------
# HPBL
# --------------------------------------------------------------------------------------------------

def hpbl_numpy(brn, hhl, critical):
    """Transcription: scanning up, the first level above the critical value, linear in height between it
    and the level below; the lowest level counts as BRN = 0; NaN met first or no exceedance: NaN."""
    brn, hhl = brn.astype(np.float64), hhl.astype(np.float64)
    z = 0.5 * (hhl[:-1] + hhl[1:]) - hhl[-1]
    nlev = brn.shape[0]
    out = np.full(brn.shape[1], np.nan)
    for j in range(brn.shape[1]):
        for k in range(nlev - 2, -1, -1):
            if np.isnan(brn[k, j]):
                break
            if brn[k, j] > critical:
                below = 0.0 if k + 1 == nlev - 1 else brn[k + 1, j]
                with np.errstate(invalid="ignore"):  # +inf over -inf (zero wind at both): NaN
                    out[j] = z[k + 1, j] + (z[k, j] - z[k + 1, j]) * (critical - below) / (brn[k, j] - below)
                break
    return out


def test_hpbl_matches_numpy_transcription():
    """Random BRN profiles (increasing upwards on average), with zero-wind levels (±inf), a zero-wind lowest
    level (0/0 = NaN, the reference level), NaN inputs, and columns that never exceed the critical value."""
    rng = np.random.default_rng(6)
    nlev, ncol = 40, 2000
    brn = (np.linspace(3.0, 0.0, nlev)[:, None] * rng.uniform(0.0, 1.0, (1, ncol))
           + rng.normal(0.0, 0.05, (nlev, ncol))).astype(np.float32)
    brn[-1] = 0.0
    brn[-1, ::7] = np.nan  # zero wind at the lowest level
    brn[rng.integers(0, nlev - 1, 50), rng.integers(0, ncol, 50)] = np.inf
    brn[rng.integers(0, nlev - 1, 50), rng.integers(0, ncol, 50)] = -np.inf
    brn[rng.integers(0, nlev, 50), rng.integers(0, ncol, 50)] = np.nan
    brn[:, 5] = np.nan  # an all-NaN column
    hsurf = rng.uniform(0.0, 3000.0, ncol)
    hhl = (np.concatenate([np.cumsum(rng.uniform(20, 500, (nlev, ncol))[::-1], axis=0)[::-1],
                           np.zeros((1, ncol))]) + hsurf).astype(np.float32)
    out = np.empty(ncol, np.float32)
    for critical in (0.22, 1.0):
        boundary_layer_height(brn, hhl, out, critical=critical)
        expected = hpbl_numpy(brn, hhl, critical)
        # Heights to 1.5e4 m from float32 HHL: float64 order allowance 1e-9 m.
        assert_float32_of(out, expected, atol=1e-9)
        assert np.isnan(out[5]) and 0.02 < np.isnan(out).mean() < 0.5
    single = np.empty(1, np.float32)
    boundary_layer_height(np.ascontiguousarray(brn[:, :1]), np.ascontiguousarray(hhl[:, :1]), single, critical=1.0)
    assert single[0] == out[0] or (np.isnan(single[0]) and np.isnan(out[0]))
    boundary_layer_height(brn[-1:], hhl[-2:], out, critical=0.22)  # a single level: no level above it
    assert np.all(np.isnan(out))


def test_hpbl_on_icon_sample(icon_run, tmp_path):
    """The sample's boundary layer (1-1.8 km deep, mixed by day, a surface inversion by night): a shallow
    stable layer at 01 local time (lead 1 h, the fixture), a few hundred m to ~2 km at 13 UTC."""
    from nwpflow.io.sample import write_sample

    night = nwpflow.compute("HPBL", icon_run)
    assert night.dims == ("cell",) and night.attrs["standard_name"] == "atmosphere_boundary_layer_thickness"
    assert np.all(np.isfinite(night)) and float(night.median()) < 200.0
    write_sample(tmp_path, "small", members=[0], lead_times=[13])
    day = nwpflow.open_run([tmp_path / "lfff00000000c", tmp_path / "000" / "lfff00130000"],
                           ["P", "T", "QV", "U", "V", "HHL", "HSURF"])
    hpbl = nwpflow.compute("HPBL", day).values
    assert np.all(np.isfinite(hpbl)) and np.all(hpbl > 0) and hpbl.max() < 2500.0
    assert 800.0 < np.median(hpbl) < 2000.0 and np.percentile(hpbl, 25) > 300.0
    higher = nwpflow.compute("HPBL", day, critical=0.5).values
    assert np.all(higher >= hpbl)  # a larger critical value is met higher up (BRN rises through the BL)


# --------------------------------------------------------------------------------------------------
# Determinism, products, options, CLI
# --------------------------------------------------------------------------------------------------

def test_bit_identical_for_any_thread_count():
    rng = np.random.default_rng(7)
    nlev, ncol = 30, 3000
    p = np.sort(rng.uniform(1e3, 1.05e5, (nlev, ncol)), axis=0).astype(np.float32)
    t = rng.uniform(250, 290, (nlev, ncol)).astype(np.float32)
    hhl = np.concatenate([np.sort(rng.uniform(0, 2e4, (nlev, ncol)), axis=0)[::-1], np.zeros((1, ncol))])
    hhl = hhl.astype(np.float32)
    results = []
    for threads in (1, numba.config.NUMBA_NUM_THREADS):
        numba.set_num_threads(threads)
        index, weight = brackets(p, DEFAULT_PRESSURES, LOG)
        z_index, z_weight = brackets(hhl, [100.0, 1500.0], LINEAR, average=True, above_ground=True, height=True)
        out = [interpolate(t, index, weight), interpolate(t, z_index, z_weight), np.empty(ncol, np.float32),
               np.empty(ncol, np.float32)]
        freezing_level_height(t, hhl, out[2], t0=T0, extrapolate=True)
        boundary_layer_height(t - 270.0, hhl, out[3], critical=0.22)
        results.append(b"".join(a.tobytes() for a in (index, weight, z_index, z_weight, *out)))
    numba.set_num_threads(numba.config.NUMBA_NUM_THREADS)
    assert results[0] == results[1]


def test_products_registered_with_options():
    for field in ("T", "QV", "U", "V", "W"):
        assert registry[f"{field}_PL"].options["method"].default == "lnp"
        assert registry[f"{field}_PL"].options["below_ground"].default == "missing"
        assert registry[f"{field}_HL"].options["reference"].default == "ground"
    assert registry["HPBL"].requires == ("BRN",) and registry["HPBL"].options["critical"].default == 0.22
    assert registry["HZEROCL"].options["extrapolate"].default is False
    assert registry["HZEROCL"].options["search_limit"].default is None
    assert {"FI_PL", "HGT_PL"} <= set(registry)


def test_bad_options_name_the_valid_ones(icon_run):
    with pytest.raises(OptionError, match="'lnp', 'linear', 'nearest'"):
        nwpflow.compute("T_PL", icon_run, method="cubic")
    with pytest.raises(OptionError, match="'ground', 'sea'"):
        nwpflow.compute("T_HL", icon_run, reference="model")
    for levels in ([], "85000", [85000.0, -1.0], [math.nan]):
        with pytest.raises(OptionError, match="levels"):
            nwpflow.compute("T_PL", icon_run, levels=levels)
    with pytest.raises(OptionError, match="critical"):
        nwpflow.compute("HPBL", icon_run, critical=-0.1)
    with pytest.raises(OptionError, match="search_limit"):
        nwpflow.compute("HZEROCL", icon_run, search_limit=0)


def test_brackets_are_shared_between_fields(icon_run):
    """One search per set of target levels and method in a job; the interpolation of each field reuses it."""
    cache: dict = {}
    for name in ("T_PL", "U_PL", "QV_PL", "HGT_PL"):
        nwpflow.compute(name, icon_run, cache=cache)
    nwpflow.compute("T_PL", icon_run, cache=cache, method="linear")
    keys = [key for key in cache if key[0] == "levels.pressure_brackets"]
    assert len(keys) == 2


def test_staggered_cosmo_winds_are_destaggered(cosmo_sample):
    """On the COSMO grid U_PL interpolates the mass-point winds, as destaggering by hand does."""
    files = [cosmo_sample / "lfff00000000c", cosmo_sample / "000" / "lfff00010000"]
    ds = nwpflow.open_run(files, ["P", "U"])
    ours = nwpflow.compute("U_PL", ds, levels=[85000.0, 50000.0])
    assert ours.dims == ("pressure", "y", "x")
    u, p = column_arrays(destagger(ds["U"].values, "x"), ds["P"].values)
    index, weight = brackets(p, [85000.0, 50000.0], LOG)
    np.testing.assert_array_equal(ours.values.reshape(2, -1), interpolate(u, index, weight))


def test_cli_end_to_end(icon_sample, icon_run, tmp_path):
    """``nwpflow compute T_PL ... --option T_PL.levels=[...]`` writes the product with its pressure dim."""
    files = [icon_sample / "lfff00000000c", icon_sample / "000" / "lfff00010000"]
    code = main(["compute", "T_PL", "--input", *map(str, files), "--output", str(tmp_path),
                 "--option", "T_PL.levels=[85000, 50000]", "--option", "T_PL.below_ground=extrapolate"])
    assert code == 0
    with xr.open_dataset(tmp_path / "T_PL.nc") as written:
        t_pl = written["T_PL"].load()
    assert t_pl.dims == ("pressure", "cell") and t_pl["pressure"].attrs["units"] == "Pa"
    expected = nwpflow.compute("T_PL", icon_run, levels=[85000, 50000], below_ground="extrapolate")
    np.testing.assert_array_equal(t_pl.values, expected.values)
