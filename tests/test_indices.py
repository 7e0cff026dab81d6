"""Stability indices: MetPy's published values (its docstring soundings), MetPy on real IFS columns, ICON's
lapse rate transcribed in numpy, the products on the sample and thread determinism.

As in tests/test_convection.py the kernels are run with MetPy's saturation vapour pressure (Ambaum 2020),
its constants and its LCL (Romps 2017): what remains is MetPy's LSODA integration of the pseudo-adiabat
(off the converged path by up to ~3e-4 K; the kernel's Runge-Kutta by 2e-6 K) and float32 inputs. The
soundings' dew points enter the kernels as the specific humidity that gives them back exactly (the kernel's
dew point is the exact inverse of the saturation form).
"""

from __future__ import annotations

import numba
import numpy as np
import pytest

import nwpflow
from nwpflow.kernels import indices
from nwpflow.kernels.codes import LINEAR, LOG

from test_convection import AMBAUM, METPY, dewpoint, specific_humidity

mpcalc = pytest.importorskip("metpy.calc")
from metpy.units import units  # noqa: E402

P_A = [1008., 1000., 950., 900., 850., 800., 750., 700., 650., 600., 550., 500., 450., 400., 350., 300., 250., 200.,
       175., 150., 125., 100., 80., 70., 60., 50., 40., 30., 25., 20.]
T_A = [29.3, 28.1, 23.5, 20.9, 18.4, 15.9, 13.1, 10.1, 6.7, 3.1, -0.5, -4.5, -9.0, -14.8, -21.5, -29.7, -40.0, -52.4,
       -59.2, -66.5, -74.1, -78.5, -76.0, -71.6, -66.7, -61.3, -56.3, -51.7, -50.7, -47.5]
RH_A = [.85, .65, .36, .39, .82, .72, .75, .86, .65, .22, .52, .66, .64, .20, .05, .75, .76, .45, .25, .48, .76, .88,
        .56, .88, .39, .67, .15, .04, .94, .35]
"""MetPy 1.7.1's docstring sounding of k_index, total_totals_index and showalter_index (hPa, degC, 1)."""


def sounding(p_hpa, t_c, rh):
    """(p [Pa], T [K], q [kg/kg]) top first as float32 (nlev, 1) columns, and MetPy's T_d [K] bottom first."""
    p = np.asarray(p_hpa) * 100.0
    t = np.asarray(t_c) + 273.15
    td = mpcalc.dewpoint_from_relative_humidity(t * units.K, np.asarray(rh) * units.dimensionless).to("K").m
    q = specific_humidity(p, td)
    column = [np.ascontiguousarray(a[::-1, None], dtype=np.float32) for a in (p, t, q)]
    return column, td


def test_k_index_and_total_totals_published():
    """35.9211365 and 42.6618283 (MetPy's docstring): 2e-5 K, the float32 rounding of the inputs."""
    (p, t, q), _ = sounding(P_A, T_A, RH_A)
    out = np.empty((2, 1), np.float32)
    indices.classic_indices(p, t, q, out, saturation=AMBAUM, epsilon=METPY.epsilon, t0=273.15, method=LINEAR)
    assert abs(out[0, 0] - 35.9211365) < 2e-5 and abs(out[1, 0] - 42.6618283) < 2e-5


def test_showalter_published():
    """0.51436699 (MetPy's docstring), to 2e-3 K: MetPy's LSODA pseudo-adiabat from 850 to 500 hPa against
    the kernel's converged one (MetPy's parcel_profile on the same start, at the kernel's pressures, is
    compared below to the kernel's path to the same 2e-3 K)."""
    (p, t, q), _ = sounding(P_A, T_A, RH_A)
    out = np.empty(1, np.float32)
    indices.showalter_index(p, t, q, out, saturation=AMBAUM, parcel_constants=METPY, method=LINEAR)
    assert abs(out[0] - 0.51436699) < 2e-3


def test_dcape_published():
    """MetPy's docstring DCAPE, 1220.67097 J/kg, and the start of the descent (the minimum θe point of
    700-500 hPa and its wet-bulb temperature, 17.52017969 degC at the surface after descending): DCAPE to
    1e-3 relative, the parcel at 600 hPa start to 2e-3 K (MetPy's LSODA descent)."""
    rh = [.85, .75, .56, .39, .82, .72, .75, .86, .65, .22, .52, .66, .64, .20, .05, .75, .76, .45, .25, .48, .76,
          .88, .56, .88, .39, .67, .15, .04, .94, .35]
    temps = list(T_A)
    temps[2] = 25.5
    (p, t, q), _ = sounding(P_A, temps, rh)
    out = np.empty(1, np.float32)
    start = np.empty((2, 1))
    indices.downdraft_cape(p, t, q, out, saturation=AMBAUM, parcel_constants=METPY, start=start)
    assert abs(out[0] / 1220.67097 - 1) < 1e-3
    assert start[0, 0] == 60000.0 and abs(start[1, 0] - (273.15 - 4.28036902)) < 2e-3


def _ifs_columns(ifs, names=("P", "T", "QV", "HHL", "HSURF")):
    return [np.ascontiguousarray(ifs[n].values.reshape(ifs[n].shape[0], -1) if ifs[n].ndim == 3
                                 else ifs[n].values.reshape(-1)) for n in names]


@pytest.fixture(scope="module")
def ifs(ifs_file):
    return nwpflow.open_run(ifs_file, ["P", "T", "QV", "HHL", "HSURF"])


def _picked(ncol, seed):
    return np.random.default_rng(seed).choice(ncol, 20, replace=False)


def test_classic_indices_match_metpy_on_ifs(ifs):
    """The KI and TT products against MetPy's ``k_index`` / ``total_totals_index`` on 20 IFS columns, MetPy
    given the products' own dew points (COSMO's ε, Ambaum's form: ``saturation="ambaum"``) and their
    interpolation (``"linear"``): 1e-4 K. Where 850 hPa is below the lowest level the products are missing."""
    from nwpflow import constants

    p, t, q, _, _ = _ifs_columns(ifs)
    ki = nwpflow.compute("KI", ifs, saturation="ambaum", interpolation="linear").values.ravel()
    tt = nwpflow.compute("TT", ifs, saturation="ambaum", interpolation="linear").values.ravel()
    for j in _picked(p.shape[1], 5):
        pj, tj = p[::-1, j].astype(float), t[::-1, j].astype(float)
        td = dewpoint(pj, q[::-1, j].astype(float), epsilon=constants.epsilon)
        if pj[0] < 85000.0:
            assert np.isnan(ki[j]) and np.isnan(tt[j])
            continue
        args = (pj * units.Pa, tj * units.K, td * units.K)
        assert abs(ki[j] - mpcalc.k_index(*args).m) < 1e-4
        assert abs(tt[j] - mpcalc.total_totals_index(*args).m) < 1e-4


def test_parcel_indices_match_metpy_on_ifs(ifs):
    """On 20 IFS columns, kernels with MetPy's constants and saturation form:

    * SI against ``showalter_index`` (pressures in Pa: in hPa MetPy's LSODA path is off by up to 0.01 K),
      1e-4 K (measured 1.2e-5). Where T and T_d interpolated separately to 850 hPa give T_d > T (a saturated
      layer), MetPy's LCL lies below the start and its path starts cooler: 0.04 K measured, < 0.1 K asserted;
    * the surface SLI against ``lifted_index`` with ``parcel_profile`` from the lowest level, 500 hPa
      inserted into MetPy's profile (MetPy interpolates the parcel's temperature linearly between its
      levels, the kernel computes it at 500 hPa): 1e-4 K;
    * DCAPE against ``downdraft_cape`` with pressures in hPa (given Pa, MetPy 1.7.1 appends its 700/500 hPa
      bounds as 700 and 500 Pa: ``get_layer`` mixes the units of the bound and the profile): 0.01 J/kg
      (measured 2.2e-3)."""
    p, t, q, hhl, hs = _ifs_columns(ifs)
    si, sli, dcape = (np.empty(p.shape[1], np.float32) for _ in range(3))
    indices.showalter_index(p, t, q, si, saturation=AMBAUM, parcel_constants=METPY, method=LINEAR)
    indices.lifted_index(p, t, q, hhl, hs, sli, parcel="surface", saturation=AMBAUM, parcel_constants=METPY,
                         method=LINEAR)
    indices.downdraft_cape(p, t, q, dcape, saturation=AMBAUM, parcel_constants=METPY)
    supersaturated = 0
    for j in _picked(p.shape[1], 6):
        pj, tj, qj = p[::-1, j].astype(float), t[::-1, j].astype(float), q[::-1, j].astype(float)
        td = dewpoint(pj, qj)
        if pj[0] >= 85000.0:
            theirs = mpcalc.showalter_index(pj * units.Pa, tj * units.K, td * units.K).m[0]
            saturated = np.interp(-85000.0, -pj, td) > np.interp(-85000.0, -pj, tj)
            supersaturated += saturated
            assert abs(si[j] - theirs) < (0.1 if saturated else 1e-4), j
        k = np.searchsorted(-pj, -50000.0)
        profile = [np.insert(a, k, np.interp(-50000.0, -pj, a)) for a in (pj, tj, td)]
        parcel = mpcalc.parcel_profile(profile[0] * units.Pa, tj[0] * units.K, td[0] * units.K)
        assert abs(sli[j] - mpcalc.lifted_index(profile[0] * units.Pa, profile[1] * units.K, parcel).m[0]) < 1e-4
        if pj[0] >= 70000.0:
            theirs = mpcalc.downdraft_cape(pj / 100.0 * units.hPa, tj * units.K, td * units.K)[0].m
            assert abs(dcape[j] - theirs) < 0.01, j
    assert supersaturated <= 3


def test_lapse_rate_is_icons(icon_sample):
    """LAPSE_RATE_700_500 against ICON's ``compute_field_lapserate`` transcribed in numpy (pressures capped at
    the third-lowest level's, heights linear in ln p, temperatures linear in height) on every sample
    column: 1e-9 K/m. LAPSE_RATE_0_3KM against the same numpy rule on heights: 1e-9 K/m."""
    ds = nwpflow.open_run([icon_sample / "lfff00000000c", icon_sample / "000" / "lfff00010000"], ["P", "T", "HHL"])
    p, t, hhl = (ds[n].values.astype(np.float64) for n in ("P", "T", "HHL"))
    z = 0.5 * (hhl[:-1] + hhl[1:])
    nlev = p.shape[0]
    limit = nlev - 3

    def at(target):
        zz = np.full(p.shape[1], np.nan)
        tt = np.full(p.shape[1], np.nan)
        for jk in range(limit, 0, -1):
            pa, pb = p[jk - 1], p[jk]
            hit = (pa < target) & (target <= pb) & np.isnan(zz)
            zu = z[jk - 1] + (z[jk] - z[jk - 1]) / (np.log(pb) - np.log(pa)) * (np.log(target) - np.log(pa))
            tu = t[jk - 1] + (t[jk] - t[jk - 1]) / (z[jk] - z[jk - 1]) * (zu - z[jk - 1])
            zz, tt = np.where(hit, zu, zz), np.where(hit, tu, tt)
        return zz, tt

    zu, tu = at(np.minimum(50000.0, p[limit]))
    zl, tl = at(np.minimum(70000.0, p[limit]))
    np.testing.assert_allclose(nwpflow.compute("LAPSE_RATE_700_500", ds).values, (tu - tl) / (zu - zl), atol=1e-9)
    target = hhl[-1] + 3000.0
    t3 = np.array([np.interp(target[j], z[::-1, j], t[::-1, j]) for j in range(p.shape[1])])
    np.testing.assert_allclose(nwpflow.compute("LAPSE_RATE_0_3KM", ds).values, (t3 - t[-1]) / (target - z[-1]),
                               atol=1e-9)


def test_lapse_rate_of_a_standard_atmosphere():
    """A column at 6.5 K/km from 288.15 K, hydrostatic pressures: both lapse rates -6.5e-3 K/m (ICON's
    sign) to 1e-7 (float32 inputs)."""
    hhl = np.linspace(20000.0, 0.0, 81)
    z = 0.5 * (hhl[:-1] + hhl[1:])
    t = 288.15 - 0.0065 * z
    p = 101325.0 * (t / 288.15) ** (9.80665 / (287.05 * 0.0065))
    f32 = lambda a: np.ascontiguousarray(a[:, None], dtype=np.float32)  # noqa: E731
    out = np.empty(1, np.float32)
    indices.lapse_rate_pressure(f32(p), f32(t), f32(hhl), out, p_upper=50000.0, p_lower=70000.0)
    assert abs(out[0] + 0.0065) < 1e-7
    indices.lapse_rate_height(f32(t), f32(hhl), out, height=3000.0)
    assert abs(out[0] + 0.0065) < 1e-7


def test_products_on_the_sample(icon_sample):
    """Plausible values on the ICON-like sample: the unstable south has negative lifted indices, K index
    above 30 and Total Totals above 50 somewhere; DCAPE of several hundred J/kg; the mixed-layer parcel's
    lifted index differs from the surface parcel's; log-p and linear interpolation agree to 0.2 K."""
    ds = nwpflow.open_run([icon_sample / "lfff00000000c", icon_sample / "000" / "lfff00010000"],
                          ["P", "T", "QV", "HHL", "HSURF"])
    cache: dict = {}
    sli = nwpflow.compute("SLI", ds, cache=cache).values
    ml = nwpflow.compute("SLI", ds, cache=cache, parcel="mixed_layer").values
    assert np.nanmin(sli) < -2.0 and np.nanmax(sli) > 2.0 and np.nanmax(np.abs(ml - sli)) > 0.5
    assert np.nanmax(nwpflow.compute("KI", ds, cache=cache).values) > 30.0
    assert np.nanmax(nwpflow.compute("TT", ds, cache=cache).values) > 50.0
    dcape = nwpflow.compute("DCAPE", ds).values
    assert 200.0 < np.nanmedian(dcape) < 1500.0 and np.nanmin(dcape) >= 0.0
    linear = nwpflow.compute("SI", ds, interpolation="linear").values
    assert np.nanmax(np.abs(linear - nwpflow.compute("SI", ds).values)) < 0.2


def test_bit_identical_for_any_thread_count(ifs):
    p, t, q, hhl, hs = _ifs_columns(ifs)
    runs = []
    for threads in (1, numba.config.NUMBA_NUM_THREADS):
        numba.set_num_threads(threads)
        outs = [np.empty(p.shape[1], np.float32) for _ in range(5)]
        classic = np.empty((2, p.shape[1]), np.float32)
        indices.lifted_index(p, t, q, hhl, hs, outs[0], parcel="mixed_layer", saturation=AMBAUM,
                             parcel_constants=METPY, method=LOG)
        indices.showalter_index(p, t, q, outs[1], saturation=AMBAUM, parcel_constants=METPY)
        indices.downdraft_cape(p, t, q, outs[2], saturation=AMBAUM, parcel_constants=METPY)
        indices.lapse_rate_pressure(p, t, hhl, outs[3], p_upper=50000.0, p_lower=70000.0)
        indices.lapse_rate_height(t, hhl, outs[4], height=3000.0)
        indices.classic_indices(p, t, q, classic, saturation=AMBAUM, epsilon=METPY.epsilon, t0=273.15)
        runs.append(b"".join(o.tobytes() for o in outs) + classic.tobytes())
    numba.set_num_threads(numba.config.NUMBA_NUM_THREADS)
    assert runs[0] == runs[1]
