"""Column and layer integrals and extremes: meteodata-lab's integrate_k / minmax_k on the real IFS file (the
difference of their midpoint rule computed and added back), ICON's box integral transcribed in numpy, MetPy's
precipitable_water on IFS columns, thread determinism, options and units."""

from __future__ import annotations

import numba
import numpy as np
import pytest
import xarray as xr

import nwpflow
from nwpflow import constants
from nwpflow.kernels import layers

# the meteodata-lab fixtures of test_levels: T and U as meteodata-lab reads the IFS file, P and HHL from nwpflow
from test_levels import ifs, mdl, monkeypatch_module  # noqa: F401

F32 = 2.0**-24
BOUNDS = [(1000.0, 3000.0), (250.0, 9000.0), (1600.0, 1700.0)]
"""Layers [m above sea level]: a deep one, one from below the lowest level of high ground, one inside one box."""


def flat(values):
    return np.ascontiguousarray(values.reshape(values.shape[0], -1))


def midpoint_rule_difference(f, hhl, bottom, top):
    """What the box integral has and meteodata-lab's integrate_k has not (``f``, ``hhl``: (nlev[+1], ncol)
    float64): the part inside the layer of a box cut by a bound whose midpoint lies outside the layer; and,
    for a layer inside one box whose midpoint lies in it, integrate_k's thickness ``upper - bottom`` (its
    second ``xr.where`` overrides the first) where the box part is ``top - bottom``."""
    upper, lower = hhl[:-1], hhl[1:]
    mid = 0.5 * (upper + lower)
    within = (lower <= bottom) & (top <= upper)  # the whole layer inside one box
    cut_top = (lower < top) & (top < upper) & (mid > top) & ~within
    cut_bottom = (lower < bottom) & (bottom < upper) & (mid < bottom) & ~within
    return (np.where(cut_top, f * (top - lower), 0.0) + np.where(cut_bottom, f * (upper - bottom), 0.0)
            + np.where(within & ((mid < bottom) | (mid > top)), f * (top - bottom), 0.0)
            + np.where(within & (mid >= bottom) & (mid <= top), f * (top - upper), 0.0)).sum(axis=0)


@pytest.mark.parametrize("bounds", BOUNDS)
def test_integral_and_mean_match_meteodata_lab(ifs, mdl, bounds):  # noqa: F811
    """LAYER_INTEGRAL and the height-weighted LAYER_MEAN of T and U (heights above sea level) against
    meteodata-lab 0.8.2's ``integrate_k`` (``integral``, ``normed_integral``, mode ``z2z``, float64 copies of
    the same values) plus :func:`midpoint_rule_difference`: 1e-6 relative (float64 sums of ~137 terms against
    xarray's, and the float32 product). Where no level's midpoint lies inside the layer (a layer inside one
    box) meteodata-lab gives NaN, the kernel the box's part.""" 
    from meteodatalab.operators.vertical_reduction import integrate_k

    bottom, top = bounds
    hhl = flat(ifs["HHL"].values).astype(np.float64)
    for name in ("T", "U"):
        field = mdl[name].astype(np.float64)
        theirs = integrate_k(field, "integral", "z2z", mdl["HHL"].astype(np.float64), [bottom, top]).values.ravel()
        theirs = np.where(np.isnan(theirs), 0.0, theirs)  # no level midpoint inside the layer: meteodata-lab NaN
        f = flat(ifs[name].values).astype(np.float64)
        expected = theirs + midpoint_rule_difference(f, hhl, bottom, top)
        inside = hhl[-1] < bottom  # the whole layer above the ground: meteodata-lab's integral is complete
        ours = nwpflow.compute("LAYER_INTEGRAL", ifs, field=name, coordinate="height_above_sea", bottom=bottom,
                               top=top).values.ravel()
        np.testing.assert_allclose(ours[inside], expected[inside], rtol=1e-6, atol=1e-6 * np.abs(expected).max())
        mean = nwpflow.compute("LAYER_MEAN", ifs, field=name, coordinate="height_above_sea", bottom=bottom,
                               top=top).values.ravel()
        np.testing.assert_allclose(mean[inside], expected[inside] / (top - bottom), rtol=1e-6,
                                   atol=1e-6 * np.abs(expected).max() / (top - bottom))
        assert inside.sum() > 100


@pytest.mark.parametrize("statistic", ["max", "min"])
def test_extremes_match_meteodata_lab(ifs, mdl, statistic):  # noqa: F811
    """The extremes kernel against meteodata-lab's ``minmax_k`` (``z2z``, full-level heights as its
    ``destagger`` of HHL) on 40 IFS columns, T and U, over the layer between the heights of full levels
    N-40 and N-10 of each column: the float32 rounding of the values (2**-24 relative).

    The layer is bounded by level heights because meteodata-lab's values at bounds between levels are wrong
    (:func:`test_meteodata_lab_minmax_bound_values`); it is given one column at a time, without its ``z``
    coordinate, because its ``dropna("z")`` drops a level outside the layer in any column and xarray's exact
    alignment rejects the shifted ``z`` labels it builds."""
    from meteodatalab.operators.destagger import destagger
    from meteodatalab.operators.vertical_reduction import minmax_k

    heights = destagger(mdl["HHL"].astype(np.float64), "z").values
    hhl = flat(ifs["HHL"].values)
    z = heights.reshape(heights.shape[0], -1)
    bottom, top = np.ascontiguousarray(z[-11]), np.ascontiguousarray(z[-41])
    operator = "maximum" if statistic == "max" else "minimum"
    rng = np.random.default_rng(4)
    for name in ("T", "U"):
        ours = np.empty(hhl.shape[1], np.float32)
        layers.layer_statistic(flat(ifs[name].values), hhl, bottom, top, ours, statistic=statistic)
        field = mdl[name].astype(np.float64).drop_vars("z", errors="ignore")
        for j in rng.choice(hhl.shape[1], 40, replace=False):
            iy, ix = divmod(int(j), ifs.sizes["x"])
            column = field.isel({"y": [iy], "x": [ix]})
            height = column.copy(data=heights[:, iy:iy + 1, ix:ix + 1])
            theirs = float(minmax_k(column, operator, "z2z", height, [bottom[j], top[j]]).values.ravel()[0])
            assert abs(ours[j] - theirs) <= F32 * abs(theirs) + 1e-12, (name, j)


def test_meteodata_lab_minmax_bound_values():
    """On f = z / 1000 (levels at 1-5 km) the maximum over 1.5-3.5 km is 3.5, at the top bound: the kernel
    gives it; meteodata-lab 0.8.2's ``minmax_k`` gives 4.5 (its value at a bound is ``f + df/dz (z - z_b)``
    with the sign of the correction reversed), and 2.0 for the minimum instead of 1.5 (its value at the bottom
    bound, 2.5, takes the slope of the pair above). The products follow the linear interpolation."""
    from meteodatalab.operators.vertical_reduction import minmax_k

    levels = np.array([5000.0, 4000.0, 3000.0, 2000.0, 1000.0])
    f = xr.DataArray(levels[:, None] / 1000.0, dims=("z", "x"), attrs={"vcoord_type": "model_level", "origin_z": 0.0})
    h = f.copy(data=levels[:, None])
    assert minmax_k(f, "maximum", "z2z", h, [1500.0, 3500.0]).values.item() == pytest.approx(4.5)
    assert minmax_k(f, "minimum", "z2z", h, [1500.0, 3500.0]).values.item() == pytest.approx(2.0)
    hhl = np.ascontiguousarray(np.r_[5500.0, 4500.0, 3500.0, 2500.0, 1500.0, 500.0][:, None].astype(np.float32))
    out = np.empty(1, np.float32)
    for statistic, expected in (("max", 3.5), ("min", 1.5)):
        layers.layer_statistic(np.ascontiguousarray(f.values.astype(np.float32)), hhl, np.array([1500.0]),
                               np.array([3500.0]), out, statistic=statistic)
        assert out[0] == pytest.approx(expected)


def test_box_integral_is_icons(icon_sample):
    """ICON's ``vert_integral_vec_1d`` transcribed in numpy (the boxes between half levels cut by the bounds,
    above ground) for QC's integral over 0-6 km and the density-weighted TQV / TQC / TQI over the whole
    column (:math:`\\rho = p/(R_d T (1 + 0.6078 q_v))`): 1e-6 relative (float32 storage, float64 sums)."""
    ds = nwpflow.open_run([icon_sample / "lfff00000000c", icon_sample / "000" / "lfff00010000"],
                          ["HHL", "P", "T", "QV", "QC", "QI"])
    hhl = flat(ds["HHL"].values).astype(np.float64)
    p, t, qv, qc, qi = (flat(ds[n].values).astype(np.float64) for n in ("P", "T", "QV", "QC", "QI"))
    ground = hhl[-1]
    d = np.clip(np.minimum(hhl[:-1] - ground, 6000.0) - np.maximum(hhl[1:] - ground, 0.0), 0.0, None)
    expected = (qc * d).sum(axis=0)
    np.testing.assert_allclose(nwpflow.compute("LAYER_INTEGRAL", ds).values, expected, rtol=1e-6, atol=1e-12)
    rho = p / (constants.Rd * t * (1.0 + constants.rv_rd_minus_1 * qv))
    dz = hhl[:-1] - hhl[1:]
    for name, q in (("TQV", qv), ("TQC", qc), ("TQI", qi)):
        np.testing.assert_allclose(nwpflow.compute(name, ds).values, (rho * q * dz).sum(axis=0), rtol=1e-6,
                                   atol=1e-12)
    assert np.nanmax(nwpflow.compute("TQC", ds).values) > 0.1  # the sample's clouds hold water


def test_tqv_against_metpy_precipitable_water(ifs_file):
    """MetPy's ``precipitable_water`` on 20 IFS L137 columns, fed the dew point that is the exact inverse of
    its own saturation vapour pressure (so that its mixing ratio is the file's): MetPy's value is the
    trapezoid of the mixing ratio r over pressure, -∫ r dp / g, to 1e-6 relative. TQV integrates q = r/(1+r)
    with the density over the model layers' boxes, from the ground: 0-1 % more than -∫ q dp / g here (the
    layer between the ground and the lowest level, and the boxes against trapezoids), and so within
    [-1 %, +1 %] of MetPy's value once MetPy's r - q (computed) is taken off."""
    mpcalc = pytest.importorskip("metpy.calc")
    from metpy import constants as mpconst
    from metpy.units import units

    from test_convection import dewpoint as ambaum_dewpoint

    ds = nwpflow.open_run(ifs_file, ["P", "T", "QV", "HHL"])
    tqv = nwpflow.compute("TQV", ds).values.ravel()
    p, q = (flat(ds[n].values).astype(np.float64) for n in ("P", "QV"))
    g, rho_l = float(mpconst.nounit.g), mpconst.rho_l.m_as("kg/m^3")
    for j in np.random.default_rng(3).choice(p.shape[1], 20, replace=False):
        pj, qj = p[::-1, j], q[::-1, j]
        td = ambaum_dewpoint(pj, qj)
        pw = mpcalc.precipitable_water(pj * units.Pa, td * units.K).to("m").m * rho_l  # kg m-2
        r = qj / (1.0 - qj)
        assert abs(pw / (-np.trapezoid(r, pj) / g) - 1.0) < 1e-6
        by_q = -np.trapezoid(qj, pj) / g
        assert 0.0 < tqv[j] / by_q - 1.0 < 0.01, j
        assert abs(tqv[j] / (pw - (-np.trapezoid(r - qj, pj) / g)) - 1.0) < 0.01


def test_pressure_bounds_are_log_pressure_heights(ifs):  # noqa: F811
    """A layer in pressure is the layer between the heights of the two pressures (linear in ln p between
    full levels): LAYER_MEAN over 850-500 hPa equals the mean over those heights (1e-6 relative)."""
    p = flat(ifs["P"].values)
    hhl = flat(ifs["HHL"].values)
    heights = np.empty((2, p.shape[1]))
    layers.pressure_heights(p, hhl, np.array([85000.0, 50000.0]), heights)
    by_pressure = nwpflow.compute("LAYER_MEAN", ifs, field="T", coordinate="pressure", bottom=85000.0, top=50000.0)
    out = np.empty(p.shape[1], np.float32)
    layers.layer_statistic(flat(ifs["T"].values), hhl, heights[0], heights[1], out, statistic="mean")
    inside = np.isfinite(out)
    np.testing.assert_allclose(by_pressure.values.ravel()[inside], out[inside], rtol=1e-6)
    zf = 0.5 * (hhl[:-1].astype(np.float64) + hhl[1:])
    lp = np.log(p.astype(np.float64))
    j = int(np.flatnonzero(p[-1] > 90000.0)[0])
    assert abs(heights[1, j] - np.interp(np.log(50000.0), lp[:, j], zf[:, j])) < 1e-6


def test_options_units_and_missing_layers(icon_sample):
    """The generic operators take their units from the field (LAYER_INTEGRAL: times m), record their options,
    refuse an empty layer, and give a missing value where the layer is above the model top."""
    ds = nwpflow.open_run([icon_sample / "lfff00000000c", icon_sample / "000" / "lfff00010000"],
                          ["HHL", "P", "T", "QV", "W"])
    assert nwpflow.compute("LAYER_MEAN", ds, field="T").attrs["units"] == "K"
    integral = nwpflow.compute("LAYER_INTEGRAL", ds, field="W")
    assert integral.attrs["units"] == "m s-1 m" and "field='W'" in integral.attrs["nwpflow_options"]
    assert nwpflow.compute("LAYER_MAX", ds).attrs["units"] == "m s-1"  # W, on half levels, averaged
    with pytest.raises(nwpflow.OptionError, match="bottom < top"):
        nwpflow.compute("LAYER_MEAN", ds, bottom=3000.0, top=1000.0)
    with pytest.raises(nwpflow.OptionError, match="top < bottom"):
        nwpflow.compute("LAYER_MEAN", ds, coordinate="pressure", bottom=50000.0, top=85000.0)
    high = nwpflow.compute("LAYER_MEAN", ds, field="T", coordinate="height_above_sea", bottom=60000.0, top=70000.0)
    assert np.isnan(high.values).all()
    mass = nwpflow.compute("LAYER_MEAN", ds, field="T", weight="mass", bottom=0.0, top=5000.0).values
    height = nwpflow.compute("LAYER_MEAN", ds, field="T", bottom=0.0, top=5000.0).values
    assert np.all(mass > height)  # the denser, warmer lower air weighs more


def test_bit_identical_for_any_thread_count(ifs):  # noqa: F811
    t, hhl = flat(ifs["T"].values), flat(ifs["HHL"].values)
    p, qv = flat(ifs["P"].values), flat(ifs["QV"].values)
    zb, zt = hhl[-1] + 100.0, hhl[-1] + 5000.0
    runs = []
    for threads in (1, numba.config.NUMBA_NUM_THREADS):
        numba.set_num_threads(threads)
        result = b""
        for statistic in ("integral", "mean", "max", "min"):
            out = np.empty(t.shape[1], np.float32)
            layers.layer_statistic(t, hhl, zb.astype(float), zt.astype(float), out, statistic=statistic,
                                   density=(p, t, qv, constants.Rd, constants.rv_rd_minus_1))
            result += out.tobytes()
        runs.append(result)
    numba.set_num_threads(numba.config.NUMBA_NUM_THREADS)
    assert runs[0] == runs[1]


def test_layer_kernel_propagates_nan():
    """A NaN inside the layer (its box, or a level the bounds interpolate from) makes the column's statistic
    NaN; outside the layer it does not matter. (meteodata-lab's xarray reductions skip NaN instead.)"""
    hhl = np.ascontiguousarray(np.array([[3000.0], [2000.0], [1000.0], [0.0]], np.float32))
    field = np.ascontiguousarray(np.array([[np.nan], [2.0], [3.0]], np.float32))  # full levels at 2500, 1500, 500
    out = np.empty(1, np.float32)
    for statistic, expected in (("integral", 2.0 * 400 + 3.0 * 500), ("mean", 2300.0 / 900.0), ("max", 3.0),
                                ("min", 2.1)):
        layers.layer_statistic(field, hhl, np.array([500.0]), np.array([1400.0]), out, statistic=statistic)
        assert abs(out[0] - expected) < 1e-5, statistic
    for statistic in ("integral", "mean", "max", "min"):
        layers.layer_statistic(field, hhl, np.array([500.0]), np.array([2600.0]), out, statistic=statistic)
        assert np.isnan(out[0]), statistic
