"""Thermodynamic products (THETA, THETA_V, THETA_E, TD, RELHUM, RH_ICE) and the moist-thermodynamics helpers.

Oracles:

* MetPy 1.7.1's published test values (``oracles/metpy_1.7.1_expected_values.json``) and MetPy itself,
  run on the same inputs (MetPy >= 1.6: Ambaum 2020 saturation vapour pressure, κ = 2/7, ε = 0.621957;
  its ``dewpoint`` inverts Bolton's eq. 10 instead);
* MetPy on real columns of the IFS L137 file;
* meteodata-lab (THETA, THETA_V, RELHUM), which uses earthkit-meteo's constants and the IFS Tetens
  coefficients;
* earthkit-meteo's published θe table (``oracles/earthkit_meteo_thermo_csv/eqpt.csv``).

Where a library uses other constants, the kernel is run with that library's constants for the tight
comparison; the product (COSMO/ICON constants) then differs by an amount computed from the formulas.

The kernels read float32 and write float32 and compute in float64, so a tight tolerance is the float32
rounding of the output, 2^-24 = 6e-8 relative, plus float64 round-off (< 1e-13): ``RTOL32 = 1e-7``.
"""

from __future__ import annotations

import json

import numba
import numpy as np
import pytest
import xarray as xr

import nwpflow
from nwpflow import constants
from nwpflow.kernels import thermo
from conftest import shared

RTOL32 = 1e-7
"""Float32 rounding of a float64 result (<= 2^-24 = 6.0e-8 relative) plus float64 round-off."""

# MetPy 1.7.1 constants (metpy.constants.nounit), the values its published results were computed with.
MP_KAPPA = 2.0 / 7.0
MP_EPSILON = 18.015268 / 28.96546
MP_DEWPOINT = constants.bolton_water  # Bolton (1980) eq. 10, (611.2 Pa, 17.67, 273.15 K, 29.65 K): MetPy's dewpoint
# earthkit-meteo (and so meteodata-lab) constants.
EK_KAPPA = 0.285691
EK_EPSILON = 0.621981

ICON_INPUTS = ["P", "T", "QV"]


@pytest.fixture(scope="module")
def published():
    with open(shared("oracles/metpy_1.7.1_expected_values.json")) as f:
        return json.load(f)


@pytest.fixture(scope="module")
def mpcalc():
    return pytest.importorskip("metpy.calc")


def f32(*values):
    return [np.atleast_1d(np.asarray(v, dtype=np.float32)) for v in values]


def as64(*arrays):
    """The exact float64 values of float32 arrays (what the kernel really received)."""
    return [np.asarray(a, dtype=np.float64) for a in arrays]


AMBAUM = thermo.ambaum_coefficients(*constants.ambaum_water)
AMBAUM_ICE = thermo.ambaum_coefficients(*constants.ambaum_ice)
TETENS = thermo.magnus_coefficients(*constants.tetens_water)
TETENS_ICE = thermo.magnus_coefficients(*constants.tetens_ice)
IFS = thermo.magnus_coefficients(*constants.ifs_tetens_water)
IFS_ICE = thermo.magnus_coefficients(*constants.ifs_tetens_ice)


def theta(p, t, *, kappa=constants.kappa):
    out = np.empty_like(t)
    return thermo.potential_temperature(p, t, out, kappa=kappa, p0=constants.p0)


def theta_v(p, t, qv, *, kappa=constants.kappa, epsilon=constants.epsilon):
    out = np.empty_like(t)
    return thermo.virtual_potential_temperature(p, t, qv, out, kappa=kappa, p0=constants.p0,
                                                rv_rd_minus_1=1.0 / epsilon - 1.0)


def theta_e(p, t, qv, *, method="bolton", saturation=TETENS, kappa=constants.kappa, epsilon=constants.epsilon):
    out = np.empty_like(t)
    return thermo.equivalent_potential_temperature(p, t, qv, out, method=method, saturation=saturation,
                                                   kappa=kappa, p0=constants.p0, epsilon=epsilon,
                                                   lv=constants.Lv, cpd=constants.cpd)


def dewpoint(p, qv, *, saturation=TETENS, epsilon=constants.epsilon):
    out = np.empty_like(qv)
    return thermo.dewpoint(p, qv, out, saturation=saturation, epsilon=epsilon)


def relhum(p, t, qv, *, phase="water", water=TETENS, ice=TETENS_ICE, epsilon=constants.epsilon, clip=None):
    out = np.empty_like(t)
    return thermo.relative_humidity(p, t, qv, out, phase=phase, water=water, ice=ice,
                                    mixed_range=constants.mixed_phase_range, epsilon=epsilon, clip=clip)


# -- independent numpy transcriptions (float64) -----------------------------------------------------

def tetens_np(t, b1, b2, b3, b4):
    return b1 * np.exp(b2 * (t - b3) / (t - b4))


def tetens_inverse_np(e, b1, b2, b3, b4):
    x = np.log(e / b1)
    return (b3 * b2 - b4 * x) / (b2 - x)


def vapour_pressure_np(qv, p, epsilon):
    return p * qv / (epsilon + (1.0 - epsilon) * qv)


def mixed_np(t, es_w, es_i):
    t_ice, t_water = constants.mixed_phase_range
    alpha = np.clip((t - t_ice) / (t_water - t_ice), 0.0, 1.0) ** 2
    return alpha * es_w + (1.0 - alpha) * es_i


def invert_np(es, e, lo=20.0, hi=400.0):
    """Temperature with es(T) = e for an increasing function es, by bisection (independent of Newton)."""
    lo = np.full(np.shape(e), lo)
    hi = np.full(np.shape(e), hi)
    for _ in range(64):
        mid = 0.5 * (lo + hi)
        above = es(mid) > e
        hi = np.where(above, mid, hi)
        lo = np.where(above, lo, mid)
    return 0.5 * (lo + hi)


def bolton39_np(p, t, qv, td, *, kappa, epsilon):
    """Bolton (1980) eq. 39 with eq. 15, transcribed as MetPy writes it."""
    r = qv / (1.0 - qv)
    e = vapour_pressure_np(qv, p, epsilon)
    t_l = 56.0 + 1.0 / (1.0 / (td - 56.0) + np.log(t / td) / 800.0)
    th_l = t * (constants.p0 / (p - e)) ** kappa * (t / t_l) ** (0.28 * r)
    return th_l * np.exp(r * (1.0 + 0.448 * r) * (3036.0 / t_l - 1.78))


# -- scalar helpers, called in float64 ---------------------------------------------------------------

@numba.njit(cache=True)
def _helpers(t, td, qv, p, e):
    return (thermo.saturation_vapour_pressure_water(t), thermo.saturation_vapour_pressure_ice(t),
            thermo.vapour_pressure(qv, p), thermo.mixing_ratio(qv), thermo.dewpoint_from_vapour_pressure(e),
            thermo.lcl_temperature(t, td), thermo.specific_humidity_from_vapour_pressure(e, p))


@numba.njit(cache=True)
def _inverse(log_e, s):
    return thermo.saturation_temperature(log_e, s[0], s[1], s[2], s[3])


@numba.njit(cache=True)
def _log_es(t, s):
    return thermo.log_saturation_vapour_pressure(t, s[0], s[1], s[2], s[3])


@numba.njit(cache=True)
def _vexp_vlog(x, y, out_exp, out_log):
    for i in range(x.size):
        out_exp[i] = thermo.vexp(x[i])
        out_log[i] = thermo.vlog(y[i])


def test_vexp_vlog_match_libm():
    """vexp and vlog within 2 ulp of numpy's exp/log (4.4e-16 relative), with IEEE special values."""
    rng = np.random.default_rng(0)
    x = np.concatenate([rng.uniform(-700, 700, 200_000), rng.uniform(-1, 1, 100_000), [0.0, -0.0, 1e-300, 708.9]])
    y = np.concatenate([np.exp(rng.uniform(-700, 700, 200_000)), rng.uniform(0.5, 2, 100_000),
                        [1.0, 5e-324, 1e-310, 1.7976931348623157e308]])
    out_exp, out_log = np.empty_like(x), np.empty_like(y)
    _vexp_vlog(x, y, out_exp, out_log)
    assert np.max(np.abs(out_exp - np.exp(x)) / np.spacing(np.exp(x))) <= 2.0
    ref = np.log(y)
    assert np.max(np.abs(out_log - ref) / np.spacing(np.maximum(np.abs(ref), 1e-300))) <= 2.0
    special = np.array([np.nan, np.inf, -np.inf, 0.0, -1.0, 710.0, -710.0])
    out_exp, out_log = np.empty_like(special), np.empty_like(special)
    _vexp_vlog(special, special, out_exp, out_log)
    np.testing.assert_array_equal(out_exp, [np.nan, np.inf, 0.0, 1.0, np.exp(-1.0), np.inf, 0.0])
    np.testing.assert_array_equal(out_log, [np.nan, np.inf, np.nan, -np.inf, np.nan, np.log(710.0), np.nan])


def test_scalar_helpers_match_their_formulas():
    """The helpers other kernels import, against numpy transcriptions of COSMO's formulas (float64)."""
    t, td, qv, p, e = 285.3, 278.1, 0.0071, 85_000.0, 950.0
    es_w, es_i, e_q, r, td_e, t_lcl, q_e = _helpers(t, td, qv, p, e)
    rtol = 1e-15 * 30  # float64 round-off of exp/log of arguments up to ~30
    np.testing.assert_allclose(es_w, tetens_np(t, *constants.tetens_water), rtol=rtol)
    np.testing.assert_allclose(es_i, tetens_np(t, *constants.tetens_ice), rtol=rtol)
    np.testing.assert_allclose(e_q, vapour_pressure_np(qv, p, constants.epsilon), rtol=1e-15)
    np.testing.assert_allclose(r, qv / (1 - qv), rtol=1e-15)
    np.testing.assert_allclose(td_e, tetens_inverse_np(e, *constants.tetens_water), rtol=rtol)
    np.testing.assert_allclose(tetens_np(td_e, *constants.tetens_water), e, rtol=rtol)  # exact inverse
    np.testing.assert_allclose(t_lcl, 56 + 1 / (1 / (td - 56) + np.log(t / td) / 800), rtol=1e-15)
    np.testing.assert_allclose(vapour_pressure_np(q_e, p, constants.epsilon), e, rtol=1e-15)


def test_ambaum_form_is_metpys_saturation_vapour_pressure(mpcalc):
    """The (A, a, B, C) form built from constants.ambaum_water/ice is MetPy's Ambaum (2020) e_s."""
    t = np.linspace(150.0, 330.0, 1000)
    ours_w = np.exp([_log_es(x, AMBAUM) for x in t])
    ours_i = np.exp([_log_es(x, AMBAUM_ICE) for x in t])
    # ln e_s is the sum of terms up to ~40 in size: float64 round-off ~1e-14 relative in e_s.
    np.testing.assert_allclose(ours_w, mpcalc.saturation_vapor_pressure._nounit(t, phase="liquid"), rtol=1e-13)
    np.testing.assert_allclose(ours_i, mpcalc.saturation_vapor_pressure._nounit(t, phase="solid"), rtol=1e-13)


@pytest.mark.parametrize("form", ["ambaum", "ambaum_ice", "tetens"])
def test_saturation_inverse_is_exact(form):
    """e_s(T_d) = e to float64 round-off from e = 1e-30 Pa (T_d ~ 60 K) to 1e4 Pa: NEWTON_STEPS steps
    of the Ambaum inverse have converged; the Magnus-Tetens inverse is closed-form. Down to 1e-45 Pa
    (the smallest float32 humidity) the error stays below 1e-10 in ln e, i.e. 3e-11 K."""
    s = {"ambaum": AMBAUM, "ambaum_ice": AMBAUM_ICE, "tetens": TETENS}[form]
    log_e = np.log(np.geomspace(1e-30, 1e4, 400))
    t = np.array([_inverse(x, s) for x in log_e])
    back = np.array([_log_es(x, s) for x in t])
    # ln e_s is a difference of terms up to ~130 in size (B/T at 60 K): absolute round-off < 1e-13.
    np.testing.assert_allclose(back, log_e, rtol=0, atol=1e-13)
    extreme = np.log([1e-45, 1e-40])
    back = np.array([_log_es(_inverse(x, s), s) for x in extreme])
    np.testing.assert_allclose(back, extreme, rtol=0, atol=1e-10)
    if form == "ambaum":  # and against a bisection of MetPy's own function (independent of Newton)
        mp = pytest.importorskip("metpy.calc")
        bisected = invert_np(lambda x: mp.saturation_vapor_pressure._nounit(x), np.exp(log_e), lo=1.0)
        np.testing.assert_allclose(t, bisected, rtol=1e-13)


# -- MetPy's published values -------------------------------------------------------------------------

def assert_published(ours, published, live32, live64, decimal):
    """Three links, each with its own tolerance.

    ``ours`` is the kernel on float32 inputs; ``live32`` MetPy on the same (float32-rounded) inputs in
    float64; ``live64`` MetPy on the exact published inputs.
    1. ours against MetPy on the same inputs: float32 output rounding, RTOL32.
    2. MetPy against its published value at the decimal MetPy's own test uses (the oracle is this MetPy).
    3. ours against the published value directly, after adding the computed effect of rounding the
       inputs to float32 (live32 - live64), at the same decimal.
    """
    np.testing.assert_allclose(ours, live32, rtol=RTOL32)
    np.testing.assert_array_almost_equal(live64, published, decimal)
    np.testing.assert_array_almost_equal(np.asarray(ours, float) - (live32 - live64), published, decimal)


def test_potential_temperature_published(published, mpcalc):
    """THETA kernel with MetPy's κ = 2/7 against MetPy's test_potential_temperature / test_pot_temp_scalar
    / test_exner_function values; with COSMO's κ the difference is θ ln(p0/p) Δκ, computed."""
    from metpy.units import units

    case = published["potential_temperature"]
    p, t = f32(np.array(case["p_hPa"]) * 100.0, case["T_K"])
    ours = theta(p, t, kappa=MP_KAPPA)
    live = lambda pp, tt: mpcalc.potential_temperature(pp * units.Pa, tt * units.K).m  # noqa: E731
    assert_published(ours, case["theta_K"], live(*as64(p, t)), live(np.array(case["p_hPa"]) * 100.0,
                                                                      np.array(case["T_K"], float)), case["decimal"])
    scalar = published["potential_temperature_scalar"]
    p1, t1 = f32(scalar["p_hPa"] * 100.0, scalar["T_K"])
    np.testing.assert_allclose(theta(p1, t1, kappa=MP_KAPPA), scalar["theta_K"], atol=0.5e-4 + 3e-5)  # 4 decimals
    # Exner: 1/θ(T = 1 K); published to 8 digits (decimal 5 in MetPy), float32 output 6e-8.
    exner = published["exner"]
    pe, one = f32(np.array(exner["p_hPa"]) * 100.0, np.ones(len(exner["p_hPa"])))
    np.testing.assert_allclose(1.0 / theta(pe, one, kappa=MP_KAPPA).astype(float), exner["exner"], rtol=RTOL32,
                               atol=0.5e-8)
    # COSMO κ (the product): θ_COSMO / θ_MetPy = (p0/p)^(κ_COSMO - 2/7), predicted exactly.
    predicted = ours * (constants.p0 / p.astype(float)) ** (constants.kappa - MP_KAPPA)
    np.testing.assert_allclose(theta(p, t), predicted, rtol=RTOL32)
    assert abs(theta(p, t)[-1] - ours[-1]) > 0.1  # at 100 hPa the constants differ by 0.12 K


def test_saturation_vapour_pressure_published(published, mpcalc):
    """Ambaum form against MetPy's test_sat_vapor_pressure (es to 2 decimals in hPa)."""
    case = published["saturation_vapor_pressure_liquid"]
    t = np.array(case["T_C"], float) + 273.15
    es = np.exp([_log_es(x, AMBAUM) for x in t]) / 100.0
    np.testing.assert_array_almost_equal(es, case["es_hPa"], case["decimal"])
    # COSMO's Magnus-Tetens differs from Ambaum by 0.01-0.3 % between 5 and 25 °C (computed, not tolerated).
    tetens = np.exp([_log_es(x, TETENS) for x in t]) / 100.0
    np.testing.assert_allclose(tetens, tetens_np(t, *constants.tetens_water) / 100.0, rtol=1e-13)
    assert np.all(np.abs(tetens / es - 1) < 3e-3)


def test_dewpoint_published(published, mpcalc):
    """TD with MetPy's dew-point formula (Bolton eq. 10 inverted, MetPy's ε) against test_dewpoint and
    test_dewpoint_specific_humidity; with saturation='ambaum' TD is the exact inverse of MetPy's e_s,
    checked by MetPy's own specific_humidity_from_dewpoint."""
    from metpy.units import units

    # e = 6.112 hPa -> 0 °C: the kernel takes (p, q): q from e at p = 1000 hPa with MetPy's ε.
    case = published["dewpoint_from_e"]
    p = 1e5
    q = MP_EPSILON * case["e_hPa"] * 100 / (p - (1 - MP_EPSILON) * case["e_hPa"] * 100)
    pp, qq = f32(p, q)
    td = dewpoint(pp, qq, saturation=thermo.magnus_coefficients(*MP_DEWPOINT), epsilon=MP_EPSILON)
    # float32 q (6e-8 relative) moves T_d by 6e-8 / (d ln e/dT = 0.073 K-1) ~ 1e-6 K: far below 2 decimals.
    np.testing.assert_array_almost_equal(td - 273.15, case["Td_C"], case["decimal"])
    # Ambaum: e_s(273.16 K) = 611.2 Pa by construction, so TD is 273.16 K (0.01 K above MetPy's value).
    td_ambaum = dewpoint(pp, qq, saturation=AMBAUM, epsilon=MP_EPSILON)
    np.testing.assert_allclose(td_ambaum, 273.16, atol=3e-5)  # float32 output (half ulp 1.5e-5 K) + q rounding

    case = published["dewpoint_from_specific_humidity"]
    p, q = f32(case["p_hPa"] * 100.0, case["q"])
    ours = dewpoint(p, q, saturation=thermo.magnus_coefficients(*MP_DEWPOINT), epsilon=MP_EPSILON)
    live = lambda pp, qq: mpcalc.dewpoint_from_specific_humidity(pp * units.Pa, qq).m_as("K")  # noqa: E731
    assert_published(ours, case["Td_C"] + 273.15, live(*as64(p, q)), live(case["p_hPa"] * 100.0, case["q"]),
                     case["decimal"])

    ambaum = dewpoint(p, q, saturation=AMBAUM, epsilon=MP_EPSILON)
    back = mpcalc.specific_humidity_from_dewpoint(p.astype(float) * units.Pa, ambaum.astype(float) * units.K).m
    # T_d stored as float32 (half ulp 1.5e-5 K) moves q by d ln e/dT (0.063 K-1) x 1.5e-5 = 1e-6.
    np.testing.assert_allclose(back, q.astype(float), rtol=1.5e-6)
    # test_specific_humidity_from_dewpoint: q(1013.25 hPa, 16.973 °C) = 0.012 to 3 decimals only. Its
    # exact q, made by MetPy, goes back to 16.973 °C through TD 'ambaum' to float32 precision (the q
    # rounding moves T_d by 6e-8 / 0.063 K-1 = 1e-6 K).
    case = published["specific_humidity_from_dewpoint"]
    q_live = mpcalc.specific_humidity_from_dewpoint(case["p_hPa"] * units.hPa, case["Td_C"] * units.degC).m
    np.testing.assert_array_almost_equal(q_live, case["q"], case["decimal"])
    p, q = f32(case["p_hPa"] * 100.0, q_live)
    np.testing.assert_allclose(dewpoint(p, q, saturation=AMBAUM, epsilon=MP_EPSILON), case["Td_C"] + 273.15,
                               rtol=0, atol=1.5e-5 + 1e-6)


def test_relative_humidity_published(published, mpcalc):
    """RELHUM (saturation='ambaum', MetPy's ε) against test_rh_specific_humidity, test_rh_mixing_ratio and
    test_relative_humidity_from_dewpoint."""
    from metpy.units import units

    live = lambda p, t, q: mpcalc.relative_humidity_from_specific_humidity(  # noqa: E731
        p * units.Pa, t * units.K, q).m_as("percent")
    for key, humidity in (("relative_humidity_from_specific_humidity", "q"),
                          ("relative_humidity_from_mixing_ratio", "w")):
        case = published[key]
        q = case[humidity] if humidity == "q" else case["w"] / (1 + case["w"])
        p, t, qq = f32(case["p_hPa"] * 100.0, case["T_C"] + 273.15, q)
        ours = relhum(p, t, qq, water=AMBAUM, ice=AMBAUM_ICE, epsilon=MP_EPSILON)
        assert_published(ours, case["rh_percent"], live(*as64(p, t, qq)),
                         live(case["p_hPa"] * 100.0, case["T_C"] + 273.15, q), case["decimal"])
    case = published["relative_humidity_from_dewpoint"]  # RH = e_s(T_d)/e_s(T): q from T_d at 1000 hPa
    e = mpcalc.saturation_vapor_pressure._nounit(case["Td_C"] + 273.15)
    p, t, qq = f32(1e5, case["T_C"] + 273.15, MP_EPSILON * e / (1e5 - (1 - MP_EPSILON) * e))
    ours = relhum(p, t, qq, water=AMBAUM, ice=AMBAUM_ICE, epsilon=MP_EPSILON)
    np.testing.assert_allclose(ours, live(*as64(p, t, qq)), rtol=RTOL32)
    np.testing.assert_array_almost_equal(ours, case["rh_percent"], 1)  # published to 1 decimal (53.8)


def test_virtual_temperatures_published(published, mpcalc):
    """THETA_V with MetPy's κ and ε against test_virtual_temperature (p = p0, so θv = Tv) and
    test_virtual_potential_temperature; MetPy writes T (w + ε)/(ε (1 + w)), the same as T (1 + (1/ε - 1) q)."""
    from metpy.units import units

    case = published["virtual_temperature"]
    w = case["qv_mixing_ratio"]
    p, t, q = f32(1e5, case["T_K"], w / (1 + w))
    ours = theta_v(p, t, q, kappa=MP_KAPPA, epsilon=MP_EPSILON)
    live = mpcalc.virtual_temperature(case["T_K"] * units.K, w).m
    np.testing.assert_allclose(ours, live, rtol=RTOL32)  # T and q exact enough in float32 (288 K, 0.0016)
    np.testing.assert_array_almost_equal(ours, case["Tv_K"], case["decimal"])
    case = published["virtual_potential_temperature"]
    w = case["w"]
    p, t, q = f32(case["p_hPa"] * 100.0, case["T_K"], w / (1 + w))
    ours = theta_v(p, t, q, kappa=MP_KAPPA, epsilon=MP_EPSILON)
    pp, tt, qq = as64(p, t, q)
    live32 = mpcalc.virtual_potential_temperature(pp * units.Pa, tt * units.K, qq / (1 - qq)).m
    live64 = mpcalc.virtual_potential_temperature(case["p_hPa"] * units.hPa, case["T_K"] * units.K, w).m
    assert_published(ours, case["theta_v_K"], live32, live64, case["decimal"])


def _q_from_dewpoint(p, td, mpcalc):
    """Specific humidity whose vapour pressure is MetPy's e_s(T_d) (Ambaum), with MetPy's ε."""
    e = mpcalc.saturation_vapor_pressure._nounit(np.asarray(td, float))
    return MP_EPSILON * e / (p - (1 - MP_EPSILON) * e)


def test_equivalent_potential_temperature_published(published, mpcalc):
    """THETA_E (Bolton, saturation='ambaum', MetPy's κ and ε) against test_equivalent_potential_temperature,
    its masked variant, the docstring example and test_saturation_equivalent_potential_temperature.

    MetPy takes (p, T, T_d); the kernel takes q, made from T_d with MetPy's e_s and ε. The kernel's
    T_d (Newton inverse of the same e_s) then equals MetPy's input, so the formulas meet exactly.
    """
    from metpy.units import units

    def live(p, t, td):
        return mpcalc.equivalent_potential_temperature(p * units.Pa, t * units.K, td * units.K).m

    cases = [published["equivalent_potential_temperature_bolton"], published["equivalent_potential_temperature_masked"]]
    doc = published["equivalent_potential_temperature_docstring"]
    cases.append({"p_hPa": doc["p_hPa"], "T_K": doc["T_C"] + 273.15, "Td_K": doc["Td_C"] + 273.15,
                  "theta_e_K": doc["theta_e_K"], "decimal": 5})  # docstring prints 6 decimals
    for case in cases:
        p64 = np.full(np.shape(case["T_K"]), case["p_hPa"] * 100.0)
        t64, td64 = np.asarray(case["T_K"], float), np.asarray(case["Td_K"], float)
        q64 = _q_from_dewpoint(p64, td64, mpcalc)
        p, t, q = f32(p64, t64, q64)
        ours = theta_e(p, t, q, saturation=AMBAUM, kappa=MP_KAPPA, epsilon=MP_EPSILON)
        pp, tt, qq = as64(p, t, q)
        td32 = invert_np(lambda x: mpcalc.saturation_vapor_pressure._nounit(x), vapour_pressure_np(qq, pp, MP_EPSILON))
        assert_published(ours, case["theta_e_K"], live(pp, tt, td32), live(p64, t64, td64), case["decimal"])
    # Saturated air: q = q_s(T) makes T_d = T_L = T, MetPy's saturation θe (700 hPa, 263.15 K).
    case = published["saturation_equivalent_potential_temperature"]
    p, t = case["p_hPa"] * 100.0, case["T_K"]
    pp, tt, qq = f32(p, t, _q_from_dewpoint(p, t, mpcalc))
    ours = theta_e(pp, tt, qq, saturation=AMBAUM, kappa=MP_KAPPA, epsilon=MP_EPSILON)
    live = mpcalc.saturation_equivalent_potential_temperature(p * units.Pa, t * units.K).m
    # float32 T and q: T_d and T differ by up to 2e-5 K, so T_L != T by as much: 1e-6 K, inside 3 decimals.
    np.testing.assert_allclose(ours, live, rtol=RTOL32, atol=1e-5)
    np.testing.assert_array_almost_equal(ours, case["theta_es_K"], case["decimal"])


def test_lcl_temperature_against_metpy_lcl(published):
    """lcl_temperature is Bolton's eq. 15 (0.1 K accurate by Bolton's own estimate); MetPy's LCL is
    iterative (Romps-like, its constants). For MetPy's two test cases they agree within 0.02 K."""
    for key in ("lcl", "lcl_kelvin"):
        case = published[key]
        t = case.get("T_K", case.get("T_C", 0) + 273.15)
        td = case.get("Td_K", case.get("Td_C", 0) + 273.15)
        expected = case.get("T_lcl_K", case.get("T_lcl_C", 0) + 273.15)
        t_lcl = _helpers(t, td, 0.0, 1e5, 1.0)[5]
        assert abs(t_lcl - expected) < 0.02


# -- MetPy on real IFS columns --------------------------------------------------------------------------

@pytest.fixture(scope="module")
def ifs(ifs_file):
    return nwpflow.open_run(ifs_file, ICON_INPUTS)


@pytest.fixture(scope="module")
def ifs_columns(ifs):
    """Every 4th column of the 34 x 48 grid, all 137 levels (55 896 points, 1 Pa to 1030 hPa)."""
    p, t, q = (np.ascontiguousarray(ifs[name].values.reshape(137, -1)[:, ::4]) for name in ICON_INPUTS)
    return p, t, q


def test_relhum_matches_metpy_on_ifs_columns(ifs_columns, mpcalc):
    """RELHUM with saturation='ambaum' and MetPy's ε is MetPy's relative_humidity_from_specific_humidity
    to float32 rounding; with 'tetens' it differs by the ratio of the e_s forms, and with COSMO's ε by the
    ratio of the vapour pressures — both computed."""
    from metpy.units import units

    p, t, q = ifs_columns
    pp, tt, qq = as64(p, t, q)
    with pytest.warns(UserWarning, match="Saturation mixing ratio is undefined"):
        expected = mpcalc.relative_humidity_from_specific_humidity(pp * units.Pa, tt * units.K, qq).m_as("percent")
    ours = relhum(p, t, q, water=AMBAUM, ice=AMBAUM_ICE, epsilon=MP_EPSILON)
    es_ambaum = mpcalc.saturation_vapor_pressure._nounit(tt)
    # MetPy gives NaN where e_s >= p (saturation impossible: the top levels, p < 2 hPa); nwpflow keeps
    # 100 e / e_s there, finite. Everywhere else: float32 rounding.
    undefined = es_ambaum >= pp
    np.testing.assert_array_equal(np.isnan(expected), undefined)
    assert 0 < undefined.sum() and np.all(pp[undefined] < 200) and np.all(np.isfinite(ours))
    expected = np.where(undefined, 100 * vapour_pressure_np(qq, pp, MP_EPSILON) / es_ambaum, expected)
    np.testing.assert_allclose(ours, expected, rtol=RTOL32)
    tetens = relhum(p, t, q, epsilon=MP_EPSILON)
    np.testing.assert_allclose(tetens, expected * es_ambaum / tetens_np(tt, *constants.tetens_water), rtol=RTOL32)
    product = relhum(p, t, q)
    ratio = vapour_pressure_np(qq, pp, constants.epsilon) / vapour_pressure_np(qq, pp, MP_EPSILON)
    np.testing.assert_allclose(product, tetens * ratio, rtol=2 * RTOL32)  # two float32 roundings
    # The size of the choice, for the record: COSMO's Tetens vs Ambaum differ by 0.1-1 % above 250 K,
    # but by up to 28 % at 190 K (the Magnus-Tetens fit is for the meteorological range).
    difference = np.abs(tetens / ours - 1)
    assert 1e-3 < np.max(difference[tt > 250]) < 1.5e-2 and np.max(difference) < 0.3


def test_dewpoint_matches_metpy_on_ifs_columns(ifs_columns, mpcalc):
    """TD with MetPy's formula (Bolton eq. 10 inverted) and ε against MetPy's dewpoint_from_specific_humidity;
    the product (COSMO Tetens inverse, COSMO ε) against a numpy transcription; 'ambaum' against a bisection
    of MetPy's own e_s."""
    from metpy.units import units

    p, t, q = ifs_columns
    pp, qq = as64(p, q)
    expected = mpcalc.dewpoint_from_specific_humidity(pp * units.Pa, qq).m_as("K")
    ours = dewpoint(p, q, saturation=thermo.magnus_coefficients(*MP_DEWPOINT), epsilon=MP_EPSILON)
    # float32 output: half an ulp of 150-300 K is 0.8e-5-1.5e-5 K; float64 round-off far below.
    np.testing.assert_allclose(ours, expected, rtol=0, atol=2e-5)
    product = dewpoint(p, q)
    np.testing.assert_allclose(product, tetens_inverse_np(vapour_pressure_np(qq, pp, constants.epsilon),
                                                          *constants.tetens_water), rtol=0, atol=2e-5)
    ambaum = dewpoint(p, q, saturation=AMBAUM, epsilon=MP_EPSILON)
    bisected = invert_np(lambda x: mpcalc.saturation_vapor_pressure._nounit(x), vapour_pressure_np(qq, pp, MP_EPSILON))
    np.testing.assert_allclose(ambaum, bisected, rtol=0, atol=2e-5)
    # For the record: COSMO's Tetens against MetPy's Bolton inverse, 0.01-3 K apart (most at the dry top).
    assert 0.01 < np.max(np.abs(product - expected)) < 5.0


def test_theta_e_matches_metpy_on_ifs_columns(ifs_columns, mpcalc):
    """THETA_E (Bolton, 'ambaum', MetPy's κ and ε) against MetPy's equivalent_potential_temperature, given
    the dew point of the same q (bisection of MetPy's e_s); the product (COSMO constants, Tetens) against a
    numpy transcription of eq. 39 with those constants; 'fieldextra' against its formula."""
    from metpy.units import units

    p, t, q = ifs_columns
    pp, tt, qq = as64(p, t, q)
    td = invert_np(lambda x: mpcalc.saturation_vapor_pressure._nounit(x), vapour_pressure_np(qq, pp, MP_EPSILON))
    expected = mpcalc.equivalent_potential_temperature(pp * units.Pa, tt * units.K, td * units.K).m
    ours = theta_e(p, t, q, saturation=AMBAUM, kappa=MP_KAPPA, epsilon=MP_EPSILON)
    np.testing.assert_allclose(ours, expected, rtol=RTOL32)
    product = theta_e(p, t, q)
    td_cosmo = tetens_inverse_np(vapour_pressure_np(qq, pp, constants.epsilon), *constants.tetens_water)
    np.testing.assert_allclose(product, bolton39_np(pp, tt, qq, td_cosmo, kappa=constants.kappa,
                                                    epsilon=constants.epsilon), rtol=RTOL32)
    fieldextra = theta_e(p, t, q, method="fieldextra")
    r = qq / (1 - qq)
    np.testing.assert_allclose(fieldextra, tt * (constants.p0 / pp) ** constants.kappa
                               * np.exp(constants.Lv * r / (constants.cpd * tt)), rtol=RTOL32)
    # For the record: the constants (κ above all, at the 1 Pa model top) against MetPy's.
    low = pp > 5e4
    assert np.max(np.abs(product - ours)[low]) < 0.5


def test_theta_e_matches_earthkit_table():
    """THETA_E with earthkit-meteo's constants and IFS Tetens against its published Bolton eq. 39 table
    (``eqpt.csv``, column bolton39_q, inputs t_hum_p_data.csv); the float32 rounding of the inputs is
    taken out with earthkit itself."""
    ek = pytest.importorskip("earthkit.meteo.thermo.array")
    data = np.loadtxt(shared("oracles/earthkit_meteo_thermo_csv/t_hum_p_data.csv"), delimiter=",")
    table = np.loadtxt(shared("oracles/earthkit_meteo_thermo_csv/eqpt.csv"), delimiter=",")
    t64, q64, p64 = data[:, 0], data[:, 3], data[:, 4]
    published_q = table[:, 5]
    p, t, q = f32(p64, t64, q64)
    ours = theta_e(p, t, q, saturation=IFS, kappa=EK_KAPPA, epsilon=EK_EPSILON)
    live32 = ek.ept_from_specific_humidity(*as64(t, q, p), method="bolton39")
    live64 = ek.ept_from_specific_humidity(t64, q64, p64, method="bolton39")
    np.testing.assert_allclose(live64, published_q, rtol=1e-12)  # the table is this earthkit
    np.testing.assert_allclose(ours, live32, rtol=RTOL32)
    np.testing.assert_allclose(ours - (live32 - live64), published_q, rtol=RTOL32)


# -- meteodata-lab on the IFS file ---------------------------------------------------------------------

@pytest.fixture(scope="module")
def monkeypatch_module():
    with pytest.MonkeyPatch.context() as patch:
        yield patch


@pytest.fixture(scope="module")
def mdl(ifs_file, ifs, monkeypatch_module):
    """meteodata-lab's own reading of T and QV, plus P from nwpflow (an IFS file has no pressure field),
    all as float64 copies so that meteodata-lab's float32 arithmetic does not blur the comparison."""
    pytest.importorskip("meteodatalab")
    from meteodatalab import data_source, grib_decoder

    from nwpflow.io.eccodes_env import DEFINITION_PATH

    monkeypatch_module.setenv("ECCODES_DEFINITION_PATH", DEFINITION_PATH)
    source = data_source.FileDataSource(datafiles=[str(ifs_file)])
    fields = grib_decoder.load(source, {"param": ["T", "QV"], "levtype": "ml"})
    fields = {k: v.squeeze(("ref_time", "lead_time")) for k, v in fields.items()}
    for name in ("T", "QV"):  # the same values reached both implementations
        np.testing.assert_array_equal(fields[name].values, ifs[name].values)
    fields["P"] = fields["T"].copy(data=ifs["P"].values)
    return {k: v.astype(np.float64) for k, v in fields.items()}


def _flat(ifs, name):
    return np.ascontiguousarray(ifs[name].values)


def test_theta_and_theta_v_match_meteodata_lab(ifs, mdl):
    """compute_theta and fthetav (earthkit κ = 0.285691, ε = 0.621981): RTOL32 with those constants
    (MeteoSwiss's own THETA test allows 1e-6); the products (COSMO κ, Rv/Rd) differ by
    (p0/p)^Δκ and (1 + c q)/(1 + c' q), predicted."""
    from meteodatalab.operators.theta import compute_theta
    from meteodatalab.operators.thetav import fthetav

    p, t, q = (_flat(ifs, n) for n in ICON_INPUTS)
    expected = compute_theta(mdl["P"], mdl["T"]).values
    np.testing.assert_allclose(theta(p, t, kappa=EK_KAPPA), expected, rtol=RTOL32)
    shift = (constants.p0 / p.astype(float)) ** (constants.kappa - EK_KAPPA)
    product = nwpflow.compute("THETA", ifs).values
    np.testing.assert_allclose(product, expected * shift, rtol=RTOL32)
    assert np.max(np.abs(product - expected)) > 1.0  # κ matters: > 1 K at the 1 Pa model top

    expected = fthetav(mdl["P"], mdl["T"], mdl["QV"]).values
    np.testing.assert_allclose(theta_v(p, t, q, kappa=EK_KAPPA, epsilon=EK_EPSILON), expected, rtol=RTOL32)
    qq = q.astype(float)
    shift *= (1 + constants.rv_rd_minus_1 * qq) / (1 + (1 / EK_EPSILON - 1) * qq)
    np.testing.assert_allclose(nwpflow.compute("THETA_V", ifs).values, expected * shift, rtol=RTOL32)


@pytest.mark.parametrize(("phase", "mdl_phase"), [("water", "water"), ("ice", "ice"), ("mixed", "water+ice")])
def test_relhum_matches_meteodata_lab(ifs, mdl, phase, mdl_phase):
    """meteodata-lab's relhum (clipping off) uses earthkit-meteo's IFS Tetens coefficients and ε: with
    those the kernel agrees to RTOL32; the product (COSMO coefficients and ε) differs by the ratio of the
    saturation and vapour pressures, computed from the formulas."""
    from meteodatalab.operators.relhum import relhum as mdl_relhum

    p, t, q = (_flat(ifs, n) for n in ICON_INPUTS)
    w = mdl["QV"] / (1 - mdl["QV"])
    if phase == "mixed":
        # relhum's arithmetic works, but labelling the result RH_MIX_EC fails with the COSMO GRIB
        # definitions (ecCodes "Concept no match"); do what relhum.py does: earthkit-meteo's e / e_s(mixed).
        ek = pytest.importorskip("earthkit.meteo.thermo.array")
        qq = (w / (1 + w)).values
        expected = (100 * ek.vapour_pressure_from_specific_humidity(qq, mdl["P"].values)
                    / ek.saturation_vapour_pressure(mdl["T"].values, phase="mixed"))
    else:
        expected = mdl_relhum(w, mdl["T"], mdl["P"], clipping=False, phase=mdl_phase).values
    ours = relhum(p, t, q, phase=phase, water=IFS, ice=IFS_ICE, epsilon=EK_EPSILON)
    np.testing.assert_allclose(ours, expected, rtol=RTOL32)

    tt, qq, pp = as64(t, q, p)
    es = {"water": lambda c_w, c_i: tetens_np(tt, *c_w), "ice": lambda c_w, c_i: tetens_np(tt, *c_i),
          "mixed": lambda c_w, c_i: mixed_np(tt, tetens_np(tt, *c_w), tetens_np(tt, *c_i))}[phase]
    ratio = (es(constants.ifs_tetens_water, constants.ifs_tetens_ice)
             / es(constants.tetens_water, constants.tetens_ice)
             * vapour_pressure_np(qq, pp, constants.epsilon) / vapour_pressure_np(qq, pp, EK_EPSILON))
    product = nwpflow.compute("RH_ICE" if phase == "ice" else "RELHUM", ifs,
                              **({} if phase == "ice" else {"phase": phase})).values
    np.testing.assert_allclose(product, expected * ratio, rtol=2 * RTOL32)
    assert np.max(np.abs(ratio - 1)) > 1e-3  # COSMO's and the IFS's coefficients differ by 0.1-1 %


# -- products, edge cases, determinism -------------------------------------------------------------------

def _dataset(p, t, q):
    dims = ("level", "cell")
    return xr.Dataset({"P": (dims, p), "T": (dims, t), "QV": (dims, q)})


ALL = [("THETA", {}), ("THETA_V", {}), ("THETA_E", {}), ("THETA_E", {"method": "fieldextra"}),
       ("THETA_E", {"saturation": "ambaum"}), ("TD", {}), ("TD", {"saturation": "ambaum"}), ("RELHUM", {}),
       ("RELHUM", {"phase": "mixed"}), ("RELHUM", {"saturation": "ambaum", "phase": "ice"}), ("RH_ICE", {})]


def _profile(nlev=6, ncol=4):
    p = np.linspace(30_000, 100_000, nlev, dtype=np.float32)[:, None].repeat(ncol, 1)
    t = np.linspace(230, 295, nlev, dtype=np.float32)[:, None].repeat(ncol, 1)
    q = np.linspace(1e-4, 1.2e-2, nlev, dtype=np.float32)[:, None].repeat(ncol, 1)
    return np.ascontiguousarray(p), np.ascontiguousarray(t), np.ascontiguousarray(q)


@pytest.mark.parametrize(("name", "options"), ALL)
def test_products_single_column_single_level_and_nan(name, options):
    """Every product on one column, on one level, and with an all-NaN column: the same values as the
    full profile for the points they share, NaN exactly where an input is NaN."""
    p, t, q = _profile()
    full = nwpflow.compute(name, _dataset(p, t, q), **options)
    assert full.dtype == np.float32 and full.dims == ("level", "cell") and np.all(np.isfinite(full))
    one_column = nwpflow.compute(name, _dataset(p[:, :1], t[:, :1], q[:, :1]), **options)
    np.testing.assert_array_equal(one_column.values, full.values[:, :1])
    one_level = nwpflow.compute(name, _dataset(p[3:4], t[3:4], q[3:4]), **options)
    np.testing.assert_array_equal(one_level.values, full.values[3:4])
    t_nan, q_nan = t.copy(), q.copy()
    t_nan[:, 1] = np.nan
    q_nan[:, 1] = np.nan
    p_nan = p.copy()
    p_nan[2, 2] = np.nan
    with_nan = nwpflow.compute(name, _dataset(p_nan, t_nan, q_nan), **options).values
    expected_nan = np.zeros_like(with_nan, dtype=bool)
    expected_nan[:, 1] = True
    expected_nan[2, 2] = True
    np.testing.assert_array_equal(np.isnan(with_nan), expected_nan)
    np.testing.assert_array_equal(with_nan[~expected_nan], full.values[~expected_nan])


def test_supersaturation_and_clip():
    """Supersaturated air (q above q_s): RH above 100 % (clip='0-100' caps it), T_d above T, θe finite."""
    t = np.array([[280.0, 280.0]], np.float32)
    p = np.array([[90_000.0, 90_000.0]], np.float32)
    qs = tetens_np(280.0, *constants.tetens_water)
    qs = constants.epsilon * qs / (90_000 - (1 - constants.epsilon) * qs)
    q = np.array([[qs * 1.1, qs]], np.float32)
    rh = relhum(p, t, q)
    assert rh[0, 0] > 109.9 and abs(rh[0, 1] - 100.0) < 1e-4
    np.testing.assert_allclose(relhum(p, t, q, clip=(0.0, 100.0)), [[100.0, rh[0, 1]]])
    td = dewpoint(p, q)
    assert td[0, 0] > 280.0 and abs(td[0, 1] - 280.0) < 2e-5
    assert np.all(np.isfinite(theta_e(p, t, q)))
    ds = _dataset(p, t, q)
    assert float(nwpflow.compute("RELHUM", ds, clip="0-100").max()) == 100.0


def test_very_dry_air():
    """q -> 0: T_d stays finite and decreasing for every positive float32 q, down to the subnormal 1e-45
    at 1 Pa (limits: b4 = 35.86 K for Magnus-Tetens, 0 K for Ambaum); q = 0 and q < 0: T_d is NaN (no dew
    point exists); θe of dry air is θ; RH -> 0 (negative for negative q: reported, not hidden)."""
    q = np.array([[1e-3, 1e-8, 1e-20, 1e-38, 1e-45, 0.0, -1e-7]] * 2, np.float32)
    p = np.array([[50_000.0] * 7, [1.0] * 7], np.float32)
    t = np.full_like(q, 250.0)
    for saturation, limit in ((TETENS, constants.tetens_water[3]), (AMBAUM, 0.0)):
        td = dewpoint(p, q, saturation=saturation)
        assert np.all(np.isfinite(td[:, :5])) and np.all(td[:, :5] > limit + 10)
        assert np.all(np.diff(td[:, :5], axis=1) < 0)  # monotonic in q
        assert np.all(np.isnan(td[:, 5:]))
    th = theta(p, t)
    te = theta_e(p, t, q)
    np.testing.assert_array_equal(te[:, 5], th[:, 5])
    np.testing.assert_allclose(te[:, 2:5], th[:, 2:5], rtol=RTOL32)  # r <= 1e-20: no moist term left
    np.testing.assert_allclose(te[:, 1], th[:, 1], rtol=1e-6)  # r = 1e-8: (3036/T_L - 1.78) r ~ 3e-7
    assert np.all(np.isnan(te[:, 6]))
    rh = relhum(p, t, q)
    assert np.all(rh[:, :6] >= 0) and np.all(rh[:, 5] == 0.0) and np.all(rh[:, 6] < 0)


def test_column_below_freezing_mixed_phase():
    """A column entirely below 250.16 K: mixed phase is RH over ice; above 273.16 K it is over water; in
    between the IFS blend, against a numpy transcription."""
    t = np.array([[200.0, 230.0, 250.0, 250.16, 255.0, 265.0, 273.0, 273.16, 290.0]], np.float32)
    p = np.full_like(t, 70_000.0)
    q = np.full_like(t, 2e-5)
    mixed = relhum(p, t, q, phase="mixed")
    ice = relhum(p, t, q, phase="ice")
    water = relhum(p, t, q, phase="water")
    np.testing.assert_array_equal(mixed[0, :4], ice[0, :4])
    np.testing.assert_array_equal(mixed[0, 7:], water[0, 7:])
    tt = t.astype(float)
    e = vapour_pressure_np(q.astype(float), p.astype(float), constants.epsilon)
    expected = 100 * e / mixed_np(tt, tetens_np(tt, *constants.tetens_water), tetens_np(tt, *constants.tetens_ice))
    np.testing.assert_allclose(mixed, expected, rtol=RTOL32)
    assert np.all(ice[0, :7] > water[0, :7])  # e_s over ice is lower below 0 °C


def test_bit_identical_for_any_thread_count():
    """Several chunks (CHUNK = 32768 points) of every kernel: the same bits with 1 and 2 threads."""
    rng = np.random.default_rng(5)
    shape = (7, 30_000)
    p = rng.uniform(1e3, 1.05e5, shape).astype(np.float32)
    t = rng.uniform(190, 310, shape).astype(np.float32)
    q = rng.uniform(0, 0.02, shape).astype(np.float32)
    runs = []
    for threads in (1, min(2, numba.config.NUMBA_NUM_THREADS)):
        numba.set_num_threads(threads)
        runs.append([theta(p, t), theta_v(p, t, q), theta_e(p, t, q), theta_e(p, t, q, saturation=AMBAUM),
                     theta_e(p, t, q, method="fieldextra"), dewpoint(p, q), dewpoint(p, q, saturation=AMBAUM),
                     relhum(p, t, q), relhum(p, t, q, phase="mixed", water=AMBAUM, ice=AMBAUM_ICE)])
    numba.set_num_threads(numba.config.NUMBA_NUM_THREADS)
    for a, b in zip(*runs):
        assert a.tobytes() == b.tobytes()


def test_product_is_the_kernel_with_cosmo_constants(ifs):
    """The wrapper passes COSMO/ICON constants and the chosen options, and keeps the grid."""
    p, t, q = (_flat(ifs, n) for n in ICON_INPUTS)
    te = nwpflow.compute("THETA_E", ifs, saturation="ambaum")
    assert te.dims == ifs["T"].dims and te.attrs["standard_name"] == "equivalent_potential_temperature"
    np.testing.assert_array_equal(te.values, theta_e(p, t, q, saturation=AMBAUM))
    np.testing.assert_array_equal(nwpflow.compute("TD", ifs).values, dewpoint(p, q))
    with pytest.raises(nwpflow.OptionError, match="'water', 'ice', 'mixed'"):
        nwpflow.compute("RELHUM", ifs, phase="liquid")


def test_cli_end_to_end_on_icon_sample(icon_sample, tmp_path):
    """``nwpflow compute THETA_E --option THETA_E.method=fieldextra`` on the ICON-like sample (2 members,
    2 lead times) writes what nwpflow.compute gives."""
    from nwpflow.cli import main

    files = [icon_sample / "lfff00000000c", icon_sample / "000" / "lfff00010000"]
    assert main(["compute", "THETA_E", "RELHUM", "--input", *map(str, files), "--output", str(tmp_path),
                 "--option", "THETA_E.method=fieldextra", "--option", "RELHUM.phase=mixed"]) == 0
    ds = nwpflow.open_run(files, ICON_INPUTS)
    for name, options in (("THETA_E", {"method": "fieldextra"}), ("RELHUM", {"phase": "mixed"})):
        with xr.open_dataset(tmp_path / f"{name}.nc") as written:
            expected = nwpflow.compute(name, ds, **options)
            np.testing.assert_array_equal(written[name].values, expected.values)
            assert written[name].attrs["units"] == expected.attrs["units"]
    assert expected.sizes["level"] == 80 and np.all(np.isfinite(expected))
    assert 0 < float(expected.min()) and float(expected.max()) < 130  # RH of the sample, %
