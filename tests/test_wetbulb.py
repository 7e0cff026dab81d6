"""Wet-bulb temperature, wet-bulb zero and snowfall limit: MetPy's published value and MetPy on IFS points,
ICON's calsnowlmt transcribed in numpy, the accuracy of ICON's closed form, the products on the sample and
thread determinism."""

from __future__ import annotations

import numba
import numpy as np
import pytest

import nwpflow
from nwpflow import constants
from nwpflow.kernels import wetbulb

from test_convection import AMBAUM, METPY, TETENS, dewpoint, specific_humidity

mpcalc = pytest.importorskip("metpy.calc")
from metpy.units import units  # noqa: E402


def tw(p, t, q, method="normand", saturation=AMBAUM, parcel_constants=METPY):
    arrays = [np.ascontiguousarray(np.atleast_1d(a), dtype=np.float32) for a in (p, t, q)]
    out = np.empty_like(arrays[0])
    return wetbulb.wet_bulb_temperature(*arrays, out, method=method, saturation=saturation,
                                        parcel_constants=parcel_constants, t0=constants.T0)


def icon_wet_bulb_numpy(p, t, qv):
    """ICON's ``calsnowlmt`` wet-bulb temperature [K], transcribed line by line (tmelt = 273.15 K)."""
    zp = p / 100.0
    ep = np.maximum(1.0e-10, qv) * zp / (0.622 + 0.378 * np.maximum(1.0e-10, qv))
    ep = np.maximum(ep, 1.0e-10)
    const = np.log10(ep) - 0.78588481
    td = (33.45 * const - 2066.92605) / (const - 7.567)
    tl = (t - 273.15) * 10.0
    tp = (td - 273.15) * 10.0
    ppp = zp * 10.0
    deltat = tl - tp
    zt = tp + 0.5 * deltat * (0.6 - tp / 700.0)
    return 273.15 + 0.1 * (tp + (deltat / (1.0 + 6400.0 * np.exp(11.564 * zt / (1742.0 + zt)) / ppp)))


def test_published_wet_bulb():
    """MetPy's docstring value: 993 hPa, 32 degC, dew point 15 degC -> 20.3937601 degC; the kernel (MetPy's
    constants, saturation form and LCL) to 1e-3 K (MetPy's LSODA descent; the float32 output is 2e-6 K)."""
    q = specific_humidity(99300.0, 288.15)
    assert abs(tw(99300.0, 305.15, q)[0] - (273.15 + 20.3937601)) < 1e-3


def test_matches_metpy_on_ifs_points(ifs_file):
    """MetPy's ``wet_bulb_temperature`` on 300 points of the IFS file (levels below 200 hPa), given the dew
    point that is the exact inverse of its own saturation vapour pressure: 1e-4 K (measured 1.2e-5). At a
    supersaturated point (dew point above the temperature) MetPy puts the LCL below the air and returns a
    wet-bulb temperature above the air temperature (0.55 K above, at one point here); the kernel's is the
    air temperature itself (saturated air)."""
    ds = nwpflow.open_run(ifs_file, ["P", "T", "QV"])
    p, t, q = (ds[n].values.ravel().astype(np.float64) for n in ("P", "T", "QV"))
    rng = np.random.default_rng(7)
    pick = rng.choice(np.flatnonzero(p > 20000.0), 300, replace=False)
    td = dewpoint(p[pick], q[pick])
    theirs = mpcalc.wet_bulb_temperature(p[pick] * units.Pa, t[pick] * units.K, td * units.K).to("K").m
    ours = tw(p[pick], t[pick], q[pick])
    saturated = td >= t[pick]
    assert np.max(np.abs(ours - theirs)[~saturated]) < 1e-4
    np.testing.assert_array_equal(ours[saturated], t[pick][saturated].astype(np.float32))
    assert np.all(theirs[saturated] > t[pick][saturated])
    assert np.all(ours <= t[pick] + 1e-4) and np.all(ours >= np.minimum(td, t[pick]) - 1e-4)


def test_icon_closed_form_and_its_accuracy(ifs_file):
    """``method="icon"`` is ICON's closed form (its numpy transcription: 1e-5 K, float32 output). Against
    Normand's construction (COSMO's constants) on the IFS points between 240 and 310 K below 200 hPa: within
    1 K, 0.35 K at the 99th percentile, where the relative humidity is at least 5 % — the accuracy TW's
    docstring states; in drier air the closed form fails (8.4 K too cold at 840 hPa, 7 degC, q = 1e-5)."""
    ds = nwpflow.open_run(ifs_file, ["P", "T", "QV"])
    p, t, q = (ds[n].values.ravel().astype(np.float64) for n in ("P", "T", "QV"))
    ours = tw(p, t, q, method="icon")
    np.testing.assert_allclose(ours, icon_wet_bulb_numpy(p, t, q), atol=1e-5)
    normand = tw(p, t, q, saturation=TETENS, parcel_constants=nwpflow.kernels.convection.COSMO)
    rh = nwpflow.compute("RELHUM", ds).values.ravel()
    moist = (t > 240.0) & (t < 310.0) & (p > 20000.0) & (rh >= 5.0)
    error = np.abs(ours - normand)
    assert error[moist].max() < 1.0 and np.percentile(error[moist], 99) < 0.35
    dry = (t > 240.0) & (t < 310.0) & (p > 20000.0) & (rh < 5.0)
    assert error[dry].max() > 5.0


def test_snowlmt_is_icons(icon_sample):
    """SNOWLMT against ICON's ``calsnowlmt`` transcribed in numpy (levels whose full-level height is at most
    8000 m, the first level from the top with TW >= 1.3 degC, interpolated with the level above): 1e-3 m
    (float32). No crossing in the sample lies within 500 m of 8 km, where ICON's reference-height rule for
    the search's top level could differ."""
    ds = nwpflow.open_run([icon_sample / "lfff00000000c", icon_sample / "000" / "lfff00010000"], ["P", "T", "QV", "HHL"])
    p, t, q, hhl = (ds[n].values.astype(np.float64) for n in ("P", "T", "QV", "HHL"))
    wb = icon_wet_bulb_numpy(p, t, q).astype(np.float32).astype(np.float64)  # the kernel's float32 field
    z = 0.5 * (hhl[:-1] + hhl[1:])
    wbl = 273.15 + 1.3
    expected = np.full(p.shape[1], np.nan)
    for j in range(p.shape[1]):
        levels = np.flatnonzero(z[:, j] <= 8000.0)
        for k in levels[1:]:
            if wb[k, j] >= wbl:
                dt = (wbl - wb[k, j]) / (wb[k - 1, j] - wb[k, j])
                expected[j] = z[k, j] + (z[k - 1, j] - z[k, j]) * dt
                break
    got = nwpflow.compute("SNOWLMT", ds).values
    np.testing.assert_allclose(got, expected, atol=1e-3)
    assert np.all(np.abs(got[np.isfinite(got)] - 8000.0) > 500.0)
    assert np.isfinite(got).mean() > 0.9


def test_products_on_the_sample(icon_sample):
    """TW between the dew point and the temperature at every point; the wet-bulb zero lies below the 0 degC
    isotherm and above the snowfall limit's 1.3 degC wet-bulb level, everywhere both exist."""
    ds = nwpflow.open_run([icon_sample / "lfff00000000c", icon_sample / "000" / "lfff00010000"], ["P", "T", "QV", "HHL"])
    cache: dict = {}
    values = nwpflow.compute("TW", ds, cache=cache).values
    td = nwpflow.compute("TD", ds).values
    assert np.all(values <= ds["T"].values + 1e-3) and np.all(values >= td - 1e-3)
    hwbz = nwpflow.compute("HWBZ", ds, cache=cache).values
    freezing = nwpflow.compute("HZEROCL", ds).values
    snow = nwpflow.compute("SNOWLMT", ds, cache=cache, method="normand").values
    both = np.isfinite(hwbz) & np.isfinite(freezing) & np.isfinite(snow)
    assert both.mean() > 0.9
    assert np.all(hwbz[both] <= freezing[both] + 1.0) and np.all(snow[both] < hwbz[both])


def test_bit_identical_for_any_thread_count(ifs_file):
    ds = nwpflow.open_run(ifs_file, ["P", "T", "QV"])
    arrays = [np.ascontiguousarray(ds[n].values) for n in ("P", "T", "QV")]
    runs = []
    for threads in (1, numba.config.NUMBA_NUM_THREADS):
        numba.set_num_threads(threads)
        result = b""
        for method in ("normand", "icon"):
            out = np.empty_like(arrays[0])
            wetbulb.wet_bulb_temperature(*arrays, out, method=method, saturation=TETENS,
                                         parcel_constants=nwpflow.kernels.convection.COSMO, t0=constants.T0)
            result += out.tobytes()
        runs.append(result)
    numba.set_num_threads(numba.config.NUMBA_NUM_THREADS)
    assert runs[0] == runs[1]
