r"""CAPE, CIN, LCL, LFC and EL of a lifted air parcel on model levels (numba kernel).

One kernel call lifts one parcel per column (mixed-layer or most-unstable) and returns everything that
ascent determines: CAPE, CIN and the heights and pressures of the LCL, the LFC and the EL.

The parcel
----------
* **Mixed layer** (``parcel="mixed_layer"``): the pressure-weighted (mass-weighted) means
  :math:`\bar\theta`, :math:`\bar q_v` of the layer between the surface pressure :math:`p_s` and
  :math:`p_s - \Delta p` (``depth``, 50 hPa by default as COSMO/ICON, Huntrieser et al. 1997),

  .. math:: \bar x = \frac{1}{\Delta p} \int_{p_s - \Delta p}^{p_s} x \, dp,

  by the trapezoidal rule over the model levels inside the layer, the values at the top bound
  interpolated linearly in :math:`\ln p` and the lowest level's :math:`\theta`, :math:`q_v` held down to
  the surface; the parcel starts at :math:`p_s` with :math:`T = \bar\theta (p_s/p_0)^\kappa`. The surface
  pressure is the lowest full level's pressure extrapolated hydrostatically to ``HSURF``,
  :math:`p_s = p_N \exp(g (z_N - z_s) / (R_d T_{v,N}))`.
* **Most unstable** (``parcel="most_unstable"``): the model level of highest equivalent potential
  temperature (Bolton 1980 eq. 39, as MetPy's ``most_unstable_parcel``) among the levels with
  :math:`p \ge p_s - \Delta p` (``depth`` = 300 hPa by default), the lowest level always included; the
  parcel starts at that level with its :math:`T`, :math:`q_v`. On ties the lowest level wins.

The ascent
----------
Dry adiabatic, :math:`T = T_0 (p/p_0)^{R_d/c_{pd}}` with :math:`q_v` conserved, up to the lifting
condensation level. The LCL is solved exactly, not approximated: the temperature at which the lifted
parcel's vapour pressure :math:`e = e_0 (T/T_0)^{1/\kappa_l}` equals :math:`e_s(T)`, by Newton's method on
:math:`\ln e - \ln e_s(T)` from Bolton's (1980, eq. 15) estimate. :math:`\kappa_l = R_d/c_{pd}` (the dry
adiabat the parcel follows); Romps' (2017) :math:`R_m/c_{pm}` of moist air when ``lcl_cpv`` is set
(MetPy's ``lcl``, for comparisons). Above the LCL the parcel follows the pseudo-adiabat (over liquid
water, condensate removed),

.. math::

    \frac{dT}{dp} = \frac{1}{p}\,
        \frac{R_d T + L_v r_s}{c_{pd} + \dfrac{L_v^2 r_s \varepsilon}{R_d T^2}},
    \qquad r_s = \frac{\varepsilon e_s(T)}{p - e_s(T)}

(the saturated adiabatic lapse rate of the AMS Glossary; Bakhshaii and Stull 2013, as MetPy's
``moist_lapse``), integrated in float64 by the classical 4th-order Runge-Kutta scheme in :math:`p` with
fixed steps: each layer between two levels is divided into :math:`n = \lceil (p_a - p_b) / (h\, p_b) \rceil`
equal steps, :data:`MAX_STEP` :math:`h` = 0.05. Against a converged reference the parcel temperature
is then within 2e-6 K at 100 hPa (``tests/test_convection.py::test_moist_ascent_converged``).

CAPE and CIN
------------
The buoyancy :math:`b = T_{v,\mathrm{parcel}} - T_{v,\mathrm{env}}` (``virtual=True``: the virtual
temperature correction of Doswell and Rasmussen 1994, as COSMO, ICON and MetPy do; ``virtual=False``:
:math:`T_\mathrm{parcel} - T_\mathrm{env}`) is taken at the model levels above the parcel's start and at
the LCL (inserted as a node, the environment interpolated to it), and is linear in :math:`\ln p` between
these nodes. Areas are integrated in :math:`\ln p` (MetPy's form),

.. math:: A = -R_d \int b \; d\ln p,

exactly for the piecewise-linear :math:`b` (trapezoids, split where :math:`b` changes sign). For a
hydrostatic environment this equals the height form
:math:`\int g\, (T_{v,p} - T_{v,e}) / T_{v,e}\, dz` of COSMO/ICON (:math:`g\,dz = -R_d T_{v,e}\, d\ln p`);
on model levels the two differ as far as the full-level heights are not hydrostatic with the
full-level pressures: on the IFS L137 columns the height form gives 0.08-0.21 % more CAPE
(``tests/test_convection.py::test_ifs_default_definition``). The :math:`\ln p` form needs no heights
(they only place the LCL, LFC and EL, linear in :math:`\ln p` between the nodes) and is MetPy's.

``definition="positive"`` (default):

* LFC: the lowest point at or above the LCL where the parcel becomes positively buoyant (the LCL itself
  if the parcel is buoyant there);
* CAPE: the sum of all positively buoyant areas above the LFC (COSMO/ICON ``ascent``, Doswell and
  Rasmussen 1994), negative layers between them not subtracted;
* CIN: the magnitude of the negatively buoyant area between the parcel's start and the LFC
  (:math:`\ge 0`, COSMO/ICON/ECMWF sign);
* EL: the highest point above the LFC where the buoyancy turns negative; NaN if the parcel is still
  buoyant at the model top;
* no LFC: CAPE = 0, CIN = NaN (missing, as COSMO/ICON), LFC = EL = NaN.

COSMO's ``cal_conv_ind`` adds a heuristic (``cc_comp``) that moves the LFC above a strong capping
inversion; it is not reproduced.

``definition="metpy"`` reproduces MetPy's ``cape_cin`` (``which_lfc="bottom"``, ``which_el="top"``)
and ``mixed_layer_cape_cin``:

* LFC: the lowest crossing to positive buoyancy above the LCL, else the LCL if the parcel is buoyant
  anywhere above it; the LCL used for this test is MetPy's: computed from the parcel's *virtual*
  temperature when ``virtual=True`` (a few hundred metres above the true LCL);
* CAPE: the *net* area between that LFC and the highest EL (or the model top if the parcel is buoyant
  there), negative layers between them subtracted; CIN: the magnitude of the net area below the LFC,
  0 where that area is positive; no LFC: CAPE = CIN = 0;
* mixed layer: the mixing ratio (not :math:`q_v`) is averaged, the parcel's dew point passes through
  MetPy's ``dewpoint`` (Bolton's inverse, ``dewpoint_saturation``), and the environment inside the
  mixed layer is replaced by the parcel (MetPy drops those levels);
* at the LCL node the environment's :math:`T` and :math:`T_d` are interpolated linearly in :math:`p`
  (MetPy's ``_insert_lcl_level``) instead of :math:`T` and :math:`q_v` linearly in :math:`\ln p`.

NaN in any input of a column (or a non-positive pressure) gives NaN in every output of that column.

Speed
-----
Columns go in fixed blocks of :data:`~nwpflow.kernels._jit.BLOCK_COLUMNS` to the threads (so the
result is the same bits for any number of threads, and a column's result never depends on the others).
Within a block the ascents advance together level by level, each stage a loop over the block's columns
that LLVM vectorises: the Runge-Kutta steps (each column its own number, the others masked), the
buoyancy, the θe search, and the trapezoid of every column whose buoyancy keeps its sign. Only the rare
events (the LCL inside the layer, a change of sign, MetPy's LFC threshold) take a scalar path.
ICON-CH2 size (283,876 columns x 80 levels), both parcels (all of CAPE_ML, CIN_ML, CAPE_MU, CIN_MU):
2.7 s on 2 otherwise idle cores, 8-9 µs of one core per column and parcel; a first, column-by-column
version took 55 µs.

References
----------
.. [Bolton1980] Bolton, D., 1980: The computation of equivalent potential temperature. Mon. Wea. Rev.,
   108, 1046-1053 (eqs. 15, 39).
.. [Romps2017] Romps, D. M., 2017: Exact expression for the lifting condensation level. J. Atmos. Sci.,
   74, 3891-3900.
.. [DoswellRasmussen1994] Doswell, C. A. and E. N. Rasmussen, 1994: The effect of neglecting the virtual
   temperature correction on CAPE calculations. Wea. Forecasting, 9, 625-629.
.. [Bakhshaii2013] Bakhshaii, A. and R. Stull, 2013: Saturated pseudoadiabats - a noniterative
   approximation. J. Appl. Meteor. Climatol., 52, 5-15.
.. [Huntrieser1997] Huntrieser, H., H. H. Schiesser, W. Schmid and A. Waldvogel, 1997: Comparison of
   traditional and newly developed thunderstorm indices for Switzerland. Wea. Forecasting, 12, 108-125.
"""

from __future__ import annotations

import math
from typing import NamedTuple

import numpy as np
from numba import prange

from nwpflow import constants
from nwpflow.kernels._jit import BLOCK_COLUMNS, function, inline, kernel
from nwpflow.kernels.codes import DEFINITIONS, OUTPUTS, PARCELS
from nwpflow.kernels.power import pow_f32, power_table
from nwpflow.kernels.thermo import (
    lcl_temperature,
    log_saturation_vapour_pressure,
    magnus_coefficients,
    saturation_temperature,
    vexp,
    vlog,
)

MAX_STEP = 0.05
"""Largest relative pressure step :math:`\\Delta p / p` of the Runge-Kutta integration of the
pseudo-adiabat. 0.05 keeps the parcel temperature within 2e-6 K of the converged solution; 0.1 gives
3e-5 K (``tests/test_convection.py::test_moist_ascent_converged``)."""

LCL_NEWTON_STEPS = 5
"""Newton steps of the LCL equation. From Bolton's eq. 15 estimate (within 0.15 K) the step falls to
1e-2, 1e-4, 1e-10 K and float64 round-off by the fourth, also for parcels as dry as q = 1e-6; the fifth
is margin (``tests/test_convection.py::test_lcl_solves_the_saturation_equation``)."""



class ParcelConstants(NamedTuple):
    """Physical constants of the parcel ascent (SI units).

    ``lcl_cpv`` and ``lcl_rv`` (> 0) switch the LCL to Romps' (2017) moist-air exponent
    :math:`R_m/c_{pm}` with :math:`c_{pm} = c_{pd} + q (c_{pv} - c_{pd})`, :math:`R_m = R_d + q (R_v - R_d)`,
    as MetPy's ``lcl``; 0 (default) uses the dry :math:`R_d/c_{pd}` the parcel is lifted with.
    """

    Rd: float
    cpd: float
    Lv: float
    epsilon: float
    g: float
    p0: float
    lcl_cpv: float = 0.0
    lcl_rv: float = 0.0


COSMO = ParcelConstants(constants.Rd, constants.cpd, constants.Lv, constants.epsilon, constants.g, constants.p0)
"""COSMO/ICON constants (:mod:`nwpflow.constants`)."""

# Rows of the per-column state of a block: the previous node (pressure, ln p, parcel and environment
# T and q, buoyancy, height), the parcel (dry-adiabat constant θ' = T p^-κ, q below the LCL, LCL
# pressure, temperature, T on the dry adiabat there and buoyancy term there, MetPy's LFC threshold) and
# the integrals and events of the ascent.
(_P, _LNP, _TP, _TE, _QE, _B, _Z, _THETA, _Q0, _PLCL, _TLCL, _TDLCL, _TVLCL, _LNTHR, _SAT, _S,
 _LFC, _LFC_S, _LFC_Z, _LFC_LNP, _CAPE, _CIN, _EL, _EL_S, _EL_Z, _EL_LNP, _POS, _BELOW_S, _ABOVE,
 _ABOVE_S, _THR_Z, _THR_SET, _NSTATE) = range(33)

_CAPE_ROW, _CIN_ROW, _LCL_Z, _LFC_Z_ROW, _EL_Z_ROW, _LCL_P, _LFC_P, _EL_P = range(8)


# ----------------------------------------------------------------------------------------------------
# Scalar helpers
# ----------------------------------------------------------------------------------------------------


@inline
def _log_es(t, s):
    """ln es [ln Pa] of the general saturation form ``s = (A, a, B, C)`` (:mod:`nwpflow.kernels.thermo`);
    -inf (es = 0) at and below its pole T = C, as ICON's ``esat_water``: a parcel lifted to the top of a
    model reaching the mesosphere (IFS L137: 1 Pa) cools below the 35.86 K of COSMO's Magnus-Tetens form,
    where the form would turn from 0 to infinity (``tests/test_convection.py::test_ifs_default_definition``)."""
    y = log_saturation_vapour_pressure(t, s[0], s[1], s[2], s[3])
    return y if t > s[3] else -math.inf


@inline
def _saturation_temperature(log_e, s):
    """The inverse of :func:`_log_es`: the temperature [K] (dew point) at which ln es = ``log_e``."""
    return saturation_temperature(log_e, s[0], s[1], s[2], s[3])


@inline
def _log_es_as(t, s, magnus):
    """:func:`_log_es`; with ``magnus`` (a literal: the form has a = 0) the same value without the ln T
    term, so that column loops of the Magnus-Tetens form take no logarithm (1.7x faster ascent)."""
    if magnus:
        y = s[0] - s[2] / (t - s[3])
        return y if t > s[3] else -math.inf
    return _log_es(t, s)


@inline
def _saturation_temperature_as(log_e, s, magnus):
    """:func:`_saturation_temperature`; with ``magnus`` (a = 0) its closed form C + B / (A - ln e)."""
    if magnus:
        return s[3] + s[2] / (s[0] - log_e)
    return _saturation_temperature(log_e, s)


@inline
def _dlog_es_dt(t, s):
    """d ln es / dT [K-1] of the general saturation form ``s = (A, a, B, C)``."""
    tc = t - s[3]
    return s[2] / (tc * tc) - s[1] / t


@inline
def _saturation_mixing_ratio(p, t, s, epsilon, magnus):
    es = vexp(_log_es_as(t, s, magnus))
    return epsilon * es / (p - es)


@inline
def _virtual(t, r, epsilon):
    """Virtual temperature [K] from temperature and mixing ratio: T (r + ε) / (ε (1 + r))."""
    return t * (r + epsilon) / (epsilon * (1.0 + r))


@inline
def _dtdp(p, t, s, rd, cpd, lv, epsilon, magnus):
    r"""dT/dp [K Pa-1] of the pseudo-adiabat.

    :math:`\frac{R_d T + L_v r_s}{p (c_{pd} + L_v^2 r_s \varepsilon / (R_d T^2))}` with
    :math:`r_s = \varepsilon e_s / (p - e_s)`, written over one common denominator (one division).
    """
    es = vexp(_log_es_as(t, s, magnus))
    d = p - es
    rt2 = rd * t * t
    return rt2 * (rd * t * d + lv * epsilon * es) / (p * (cpd * rt2 * d + lv * lv * epsilon * epsilon * es))


@inline
def _rk4_step(p, t, h, s, rd, cpd, lv, epsilon, magnus):
    """One classical Runge-Kutta step of the pseudo-adiabat from (p, t) to p + h."""
    k1 = _dtdp(p, t, s, rd, cpd, lv, epsilon, magnus)
    k2 = _dtdp(p + 0.5 * h, t + 0.5 * h * k1, s, rd, cpd, lv, epsilon, magnus)
    k3 = _dtdp(p + 0.5 * h, t + 0.5 * h * k2, s, rd, cpd, lv, epsilon, magnus)
    k4 = _dtdp(p + h, t + h * k3, s, rd, cpd, lv, epsilon, magnus)
    return t + h / 6.0 * (k1 + 2.0 * k2 + 2.0 * k3 + k4)


@inline
def _steps(p_a, p_b):
    """Number of Runge-Kutta steps between p_a and p_b (either way): each at most MAX_STEP times the
    lower of the two pressures (at least 1)."""
    n = int(abs(p_a - p_b) / (MAX_STEP * min(p_a, p_b))) + 1
    return n if n < 1000 else 1000


@function
def _moist_ascent(p_a, t_a, p_b, s, rd, cpd, lv, epsilon):
    """Parcel temperature [K] at ``p_b`` on the pseudo-adiabat through (``p_a``, ``t_a``), above or
    below it (a descent takes the same steps backwards)."""
    n = _steps(p_a, p_b)
    h = (p_b - p_a) / n
    t = t_a
    for i in range(n):
        t = _rk4_step(p_a + i * h, t, h, s, rd, cpd, lv, epsilon, False)
    return t


@function
def _lcl(p0, t0, q0, s, c):
    """(p, T) [Pa, K] of the lifting condensation level of a parcel (p0, t0, specific humidity q0).

    (p0, t0) when the parcel is saturated already; (-1, NaN) when it holds no vapour (never saturates).
    """
    epsilon = c[3]
    e0 = p0 * q0 / (epsilon + (1.0 - epsilon) * q0)
    if not e0 > 0.0:
        return -1.0, math.nan
    log_e0 = vlog(e0)
    if log_e0 >= _log_es(t0, s):
        return p0, t0
    if c[6] > 0.0:  # Romps (2017): moist-air heat capacity and gas constant
        inv_kappa = (c[1] + q0 * (c[6] - c[1])) / (c[0] + q0 * (c[7] - c[0]))
    else:
        inv_kappa = c[1] / c[0]
    log_t0 = vlog(t0)
    t = lcl_temperature(t0, _saturation_temperature(log_e0, s))
    for _ in range(LCL_NEWTON_STEPS):
        f = log_e0 + inv_kappa * (vlog(t) - log_t0) - _log_es(t, s)
        step = f / (inv_kappa / t - _dlog_es_dt(t, s))
        t = t - step if math.fabs(step) < 50.0 else t - math.copysign(50.0, step)
    return p0 * vexp(inv_kappa * (vlog(t) - log_t0)), t


@inline
def _theta_e(p, t, q, s, kappa, log_p0, epsilon, magnus):
    """Equivalent potential temperature [K], Bolton (1980) eq. 39 with T_L of eq. 15 (as MetPy); the limit
    of dry air for q <= 0. Branch-free, so that loops over columns vectorise."""
    r = q / (1.0 - q)
    e = p * q / (epsilon + (1.0 - epsilon) * q)
    wet = e > 0.0
    e = e if wet else 1.0
    t_l = lcl_temperature(t, _saturation_temperature_as(vlog(e), s, magnus))
    moist = 0.28 * r * vlog(t / t_l) + (3036.0 / t_l - 1.78) * r * (1.0 + 0.448 * r)
    moist = moist if wet else 0.0
    e = e if wet else 0.0
    return t * vexp(kappa * (log_p0 - vlog(p - e)) + moist)


@inline
def _specific_from_dewpoint(p, td, s, epsilon):
    e = vexp(_log_es(td, s))
    return epsilon * e / (p - (1.0 - epsilon) * e)


@inline
def _dewpoint(p, q, s, epsilon):
    return _saturation_temperature(vlog(p * q / (epsilon + (1.0 - epsilon) * q)), s)


# ----------------------------------------------------------------------------------------------------
# The ascent's pieces that other kernels use (stable names: the parcel indices, the wet-bulb temperature)
# ----------------------------------------------------------------------------------------------------


@inline
def parcel_lcl(p0, t0, q0, s, c):
    """(p [Pa], T [K]) of the lifting condensation level of a parcel at ``p0`` [Pa], ``t0`` [K] with
    specific humidity ``q0`` [kg kg-1], as the CAPE/CIN ascent solves it; ``s`` the saturation form
    (A, a, B, C), ``c`` the :class:`ParcelConstants` as a tuple. (p0, t0) for a saturated parcel,
    (-1, NaN) for one without vapour."""
    return _lcl(p0, t0, q0, s, c)


@inline
def pseudo_adiabat(p_a, t_a, p_b, s, c):
    """Temperature [K] at ``p_b`` [Pa] on the pseudo-adiabat through (``p_a`` [Pa], ``t_a`` [K]), up or
    down: the ascent's Runge-Kutta steps (:data:`MAX_STEP`)."""
    return _moist_ascent(p_a, t_a, p_b, s, c[0], c[1], c[2], c[3])


@inline
def lifted_temperature(p_start, t_start, q_start, p, s, c):
    """Temperature [K] at ``p`` [Pa] of a parcel lifted from (``p_start``, ``t_start``, ``q_start``):
    dry adiabatic to its LCL, pseudo-adiabatic above it (descending, the same paths backwards)."""
    kappa = c[0] / c[1]
    p_lcl, t_lcl = _lcl(p_start, t_start, q_start, s, c)
    if p >= p_lcl:
        return t_start * vexp(kappa * (vlog(p) - vlog(p_start)))
    t_dry_lcl = t_start * vexp(kappa * (vlog(p_lcl) - vlog(p_start)))
    return _moist_ascent(p_lcl, t_dry_lcl, p, s, c[0], c[1], c[2], c[3])


@inline
def parcel_theta_e(p, t, q, s, c):
    """Equivalent potential temperature [K] (Bolton 1980 eq. 39, T_L of eq. 15) of air at ``p`` [Pa],
    ``t`` [K], ``q`` [kg kg-1]: the most-unstable parcel's criterion."""
    return _theta_e(p, t, q, s, c[0] / c[1], math.log(c[5]), c[3], False)


@function
def parcel_start(j0, n, p, p_bits, t, qv, hhl, hsurf, s, c, theta_table, parcel, depth, out):
    """Start (p [Pa], T [K], q [kg kg-1]) of the CAPE/CIN ascent's parcel (``parcel`` 0: mixed layer of
    ``depth`` Pa, 1: most unstable within ``depth`` Pa) for the columns j0 .. j0 + n - 1, into
    ``out[0:3, jj]`` (NaN where a column has a NaN or a non-positive pressure)."""
    st = np.zeros((_NSTATE, n))
    valid = np.ones(n, dtype=np.bool_)
    kstart = np.full(n, t.shape[0], dtype=np.int64)
    p_skip = np.full(n, math.inf)
    ps = np.empty(n)
    _surface(j0, n, p, t, qv, hhl, hsurf, c, valid, ps)
    if parcel == 0:
        _mixed_layer_parcel(j0, n, p, p_bits, t, qv, hsurf, s, s, c, theta_table, depth, 0, valid, ps, st, p_skip)
    else:
        _most_unstable_parcel(j0, n, p, t, qv, hhl, s, c, depth, valid, ps, st, kstart)
    for jj in range(n):
        ok = valid[jj]
        out[0, jj] = st[_P, jj] if ok else math.nan
        out[1, jj] = st[_TP, jj] if ok else math.nan
        out[2, jj] = st[_Q0, jj] if ok else math.nan


# ----------------------------------------------------------------------------------------------------
# Integration of the buoyancy between nodes (per-column state in st[:, jj])
# ----------------------------------------------------------------------------------------------------


@inline
def _piece(st, jj, lnp0, lnp1, z0, z1, area, definition):
    """Add the area of a piece of constant sign between nodes at ln p ``lnp0`` >= ``lnp1``."""
    if definition == 0:
        if st[_LFC, jj] == 0.0:
            if area < 0.0:
                st[_CIN, jj] += area
        elif area > 0.0:
            st[_CAPE, jj] += area
        return
    lnthr = st[_LNTHR, jj]
    if lnp0 >= lnthr and lnthr >= lnp1 and st[_THR_SET, jj] == 0.0:
        w = (lnp0 - lnthr) / (lnp0 - lnp1) if lnp0 > lnp1 else 0.0
        st[_THR_Z, jj] = z0 + w * (z1 - z0)
        st[_THR_SET, jj] = 1.0
    st[_S, jj] += area
    if lnp1 >= lnthr:
        st[_BELOW_S, jj] = st[_S, jj]
    if lnp1 <= lnthr and st[_ABOVE, jj] == 0.0:
        st[_ABOVE_S, jj] = st[_S, jj]
        st[_ABOVE, jj] = 1.0


@inline
def _crossing(st, jj, lnp, z, rising, above_lcl, definition):
    """The buoyancy changes sign at ln p ``lnp`` (height ``z``): LFC and EL candidates."""
    if definition == 0:
        if rising:
            if above_lcl and st[_LFC, jj] == 0.0:
                st[_LFC, jj] = 1.0
                st[_LFC_Z, jj] = z
                st[_LFC_LNP, jj] = lnp
        elif st[_LFC, jj] != 0.0:
            st[_EL, jj] = 1.0
            st[_EL_Z, jj] = z
            st[_EL_LNP, jj] = lnp
        return
    if lnp < st[_LNTHR, jj]:
        if rising:
            if st[_LFC, jj] == 0.0:
                st[_LFC, jj] = 1.0
                st[_LFC_S, jj] = st[_S, jj]
                st[_LFC_Z, jj] = z
                st[_LFC_LNP, jj] = lnp
        else:
            st[_EL, jj] = 1.0
            st[_EL_S, jj] = st[_S, jj]
            st[_EL_Z, jj] = z
            st[_EL_LNP, jj] = lnp


@inline
def _advance(st, jj, lnp, b, z, above_lcl, definition, rd):
    """Integrate the buoyancy from the previous node (in ``st``) to the node (``lnp``, ``b``, ``z``)."""
    lnp_a = st[_LNP, jj]
    b_a = st[_B, jj]
    z_a = st[_Z, jj]
    d = lnp_a - lnp
    if (b_a > 0.0) != (b > 0.0):
        f = b_a / (b_a - b)
        lnp_c = lnp_a - f * d
        z_c = z_a + f * (z - z_a)
        _piece(st, jj, lnp_a, lnp_c, z_a, z_c, 0.5 * rd * b_a * f * d, definition)
        _crossing(st, jj, lnp_c, z_c, b > 0.0, above_lcl, definition)
        _piece(st, jj, lnp_c, lnp, z_c, z, 0.5 * rd * b * (1.0 - f) * d, definition)
    else:
        _piece(st, jj, lnp_a, lnp, z_a, z, 0.5 * rd * (b_a + b) * d, definition)
    if definition == 1 and b > 0.0 and lnp < st[_LNTHR, jj]:
        st[_POS, jj] = 1.0
    st[_LNP, jj] = lnp
    st[_B, jj] = b
    st[_Z, jj] = z


# ----------------------------------------------------------------------------------------------------
# The kernel: one call of _block per block of columns; _block calls one function per stage
# ----------------------------------------------------------------------------------------------------


@kernel
def _cape_cin(p, p_bits, t, qv, hhl, hsurf, s, s_dew, c, kappa_table, theta_table, parcel, depth, virtual,
              definition, out):
    ncol = t.shape[1]
    nblocks = (ncol + BLOCK_COLUMNS - 1) // BLOCK_COLUMNS
    for blk in prange(nblocks):
        _block(blk * BLOCK_COLUMNS, p, p_bits, t, qv, hhl, hsurf, s, s_dew, c, kappa_table, theta_table, parcel,
               depth, virtual, definition, out)


@function
def _block(j0, p, p_bits, t, qv, hhl, hsurf, s, s_dew, c, kappa_table, theta_table, parcel, depth, virtual,
           definition, out):
    """The columns j0 .. j0 + BLOCK_COLUMNS - 1: the stages of the ascent, each a loop over the columns."""
    nlev, ncol = t.shape
    n = min(BLOCK_COLUMNS, ncol - j0)
    st = np.zeros((_NSTATE, n))
    valid = np.ones(n, dtype=np.bool_)
    kstart = np.full(n, nlev, dtype=np.int64)  # the ascent's nodes are the levels k < kstart
    p_skip = np.full(n, math.inf)  # ... with p < p_skip (metpy: no levels inside the mixed layer)
    ps = np.empty(n)
    _surface(j0, n, p, t, qv, hhl, hsurf, c, valid, ps)
    if parcel == 0:
        _mixed_layer_parcel(j0, n, p, p_bits, t, qv, hsurf, s, s_dew, c, theta_table, depth, definition, valid,
                            ps, st, p_skip)
    else:
        _most_unstable_parcel(j0, n, p, t, qv, hhl, s, c, depth, valid, ps, st, kstart)
    _start(j0, n, hsurf, s, c, virtual, definition, valid, st, out)
    tp = np.empty(n)
    b = np.empty(n)
    lnp = np.empty(n)
    z = np.empty(n)
    t_moist = np.empty(n)
    p_moist = np.empty(n)
    h = np.empty(n)
    steps = np.empty(n, dtype=np.int64)
    path = np.empty(n, dtype=np.int8)
    for k in range(nlev - 1, -1, -1):
        _parcel_at_level(k, j0, n, p, p_bits, t, qv, hhl, s, c, kappa_table, virtual, st, t_moist, p_moist, h,
                         steps, tp, b, lnp, z)
        _nodes_at_level(k, j0, n, p, t, qv, hsurf, s, c, virtual, definition, valid, kstart, p_skip, st, tp, b,
                        lnp, z, path, out)
    _results(j0, n, hsurf, definition, valid, st, out)


@function
def _surface(j0, n, p, t, qv, hhl, hsurf, c, valid, ps):
    """Column validity (NaN anywhere, or p <= 0, makes every output NaN) and the surface pressure: the
    lowest level's pressure extrapolated hydrostatically to HSURF, p_N exp(g (z_N - z_s) / (Rd Tv_N))."""
    nlev = t.shape[0]
    for k in range(nlev):
        for jj in range(n):
            j = j0 + jj
            x = np.float64(p[k, j]) + np.float64(t[k, j]) + np.float64(qv[k, j]) + np.float64(hhl[k, j])
            valid[jj] = valid[jj] & (x - x == 0.0) & (p[k, j] > 0.0)
    kb = nlev - 1
    for jj in range(n):
        j = j0 + jj
        x = np.float64(hhl[nlev, j]) + np.float64(hsurf[j])
        valid[jj] = valid[jj] & (x - x == 0.0)
        q = np.float64(qv[kb, j])
        tv = _virtual(np.float64(t[kb, j]), q / (1.0 - q), c[3])
        z = 0.5 * (np.float64(hhl[kb, j]) + np.float64(hhl[kb + 1, j]))
        ps[jj] = np.float64(p[kb, j]) * vexp(c[4] * (z - np.float64(hsurf[j])) / (c[0] * tv))


@function
def _mixed_layer_parcel(j0, n, p, p_bits, t, qv, hsurf, s, s_dew, c, theta_table, depth, definition, valid, ps,
                        st, p_skip):
    """Start of the mixed-layer parcel: pressure-weighted means of θ and q (metpy: mixing ratio) between
    ps and ps - depth (trapezoids; the top values linear in ln p; the lowest level's values down to ps)."""
    nlev = t.shape[0]
    kb = nlev - 1
    epsilon = c[3]
    kappa = c[0] / c[1]
    p0_kappa = c[5] ** kappa
    sum_th = np.zeros(n)
    sum_x = np.zeros(n)
    p_prev = ps.copy()
    th_prev = np.empty(n)
    x_prev = np.empty(n)
    done = np.empty(n, dtype=np.bool_)
    for jj in range(n):
        j = j0 + jj
        q = np.float64(qv[kb, j])
        th_prev[jj] = np.float64(t[kb, j]) * p0_kappa * pow_f32(p_bits[kb, j], theta_table)
        x_prev[jj] = q if definition == 0 else q / (1.0 - q)
        done[jj] = not valid[jj]
    remaining = n - int(done.sum())
    for k in range(nlev - 1, -1, -1):
        if remaining == 0:
            break
        for jj in range(n):
            if done[jj]:
                continue
            j = j0 + jj
            pk = np.float64(p[k, j])
            q = np.float64(qv[k, j])
            th = np.float64(t[k, j]) * p0_kappa * pow_f32(p_bits[k, j], theta_table)
            x = q if definition == 0 else q / (1.0 - q)
            top = ps[jj] - depth
            if pk > top:
                sum_th[jj] += 0.5 * (th_prev[jj] + th) * (p_prev[jj] - pk)
                sum_x[jj] += 0.5 * (x_prev[jj] + x) * (p_prev[jj] - pk)
                p_prev[jj] = pk
                th_prev[jj] = th
                x_prev[jj] = x
            else:
                lp = vlog(p_prev[jj])
                w = (lp - vlog(top)) / (lp - vlog(pk)) if p_prev[jj] > pk else 0.0
                th_top = th_prev[jj] + w * (th - th_prev[jj])
                x_top = x_prev[jj] + w * (x - x_prev[jj])
                sum_th[jj] += 0.5 * (th_prev[jj] + th_top) * (p_prev[jj] - top)
                sum_x[jj] += 0.5 * (x_prev[jj] + x_top) * (p_prev[jj] - top)
                p_prev[jj] = top
                done[jj] = True
                remaining -= 1
    for jj in range(n):
        if not valid[jj]:
            continue
        j = j0 + jj
        layer = ps[jj] - p_prev[jj]
        if layer > 0.0:
            theta = sum_th[jj] / layer
            x = sum_x[jj] / layer
        else:  # a layer of zero depth: the lowest level's values
            theta = th_prev[jj]
            x = x_prev[jj]
        q0 = x
        if definition == 1:
            # MetPy: the parcel's dew point through its Bolton inverse, then es of the saturation form
            e = ps[jj] * x / (epsilon + x)
            q0 = _specific_from_dewpoint(ps[jj], _saturation_temperature(vlog(e), s_dew), s, epsilon)
            p_skip[jj] = ps[jj] - depth
        t0 = theta * vexp(kappa * (vlog(ps[jj]) - vlog(c[5])))
        st[_P, jj] = ps[jj]
        st[_TP, jj] = t0
        st[_Q0, jj] = q0
        st[_Z, jj] = np.float64(hsurf[j])
        if definition == 0:  # the model's environment at the surface: θ and q of the lowest level
            pb = np.float64(p[kb, j])
            st[_TE, jj] = np.float64(t[kb, j]) * vexp(kappa * (vlog(ps[jj]) - vlog(pb)))
            st[_QE, jj] = np.float64(qv[kb, j])
        else:  # MetPy: the environment at the start is the mixed parcel
            st[_TE, jj] = t0
            st[_QE, jj] = q0


@function
def _most_unstable_parcel(j0, n, p, t, qv, hhl, s, c, depth, valid, ps, st, kstart):
    """Start of the most-unstable parcel: the level of highest θe with p >= ps - depth (the lowest level
    always a candidate; the lowest of equal maxima)."""
    nlev = t.shape[0]
    kb = nlev - 1
    kappa = c[0] / c[1]
    log_p0 = math.log(c[5])
    best = np.full(n, -math.inf)
    for jj in range(n):
        kstart[jj] = kb
    for k in range(nlev - 1, -1, -1):
        if s[1] == 0.0:
            searching = _search_level(k, j0, n, p, t, qv, s, c, kappa, log_p0, depth, ps, best, kstart, True)
        else:
            searching = _search_level(k, j0, n, p, t, qv, s, c, kappa, log_p0, depth, ps, best, kstart, False)
        if not searching:
            break
    for jj in range(n):
        if not valid[jj]:
            continue
        j = j0 + jj
        k = kstart[jj]
        st[_P, jj] = np.float64(p[k, j])
        st[_TP, jj] = np.float64(t[k, j])
        st[_Q0, jj] = np.float64(qv[k, j])
        st[_TE, jj] = st[_TP, jj]
        st[_QE, jj] = st[_Q0, jj]
        st[_Z, jj] = 0.5 * (np.float64(hhl[k, j]) + np.float64(hhl[k + 1, j]))


@inline
def _search_level(k, j0, n, p, t, qv, s, c, kappa, log_p0, depth, ps, best, kstart, magnus):
    """θe at level k of every column inside its search layer; keep the highest. Whether any column was."""
    kb = t.shape[0] - 1
    searching = False
    for jj in range(n):
        j = j0 + jj
        pk = np.float64(p[k, j])
        inside = (pk >= ps[jj] - depth) | (k == kb)  # | and &, not or/and: no branches, so it vectorises
        th_e = _theta_e(pk, np.float64(t[k, j]), np.float64(qv[k, j]), s, kappa, log_p0, c[3], magnus)
        better = inside & (th_e > best[jj])
        best[jj] = th_e if better else best[jj]
        kstart[jj] = k if better else kstart[jj]
        searching = searching | inside
    return searching


@function
def _start(j0, n, hsurf, s, c, virtual, definition, valid, st, out):
    """The parcel's LCL, MetPy's LFC threshold, the buoyancy at the start (the first node)."""
    epsilon = c[3]
    kappa = c[0] / c[1]
    for jj in range(n):
        j = j0 + jj
        for row in range(len(OUTPUTS)):
            out[row, j] = math.nan
        if not valid[jj]:
            continue
        p_start = st[_P, jj]
        t_start = st[_TP, jj]
        q_start = st[_Q0, jj]
        p_lcl, t_lcl = _lcl(p_start, t_start, q_start, s, c)
        theta = t_start * vexp(-kappa * vlog(p_start))  # T = θ' p^κ on the dry adiabat
        st[_THETA, jj] = theta
        st[_PLCL, jj] = p_lcl
        st[_TLCL, jj] = t_lcl
        if p_lcl > 0.0:
            # the moist ascent starts from the dry adiabat at the LCL: t_lcl itself, except with Romps'
            # moist LCL exponent (MetPy), whose parcel path has this step at the LCL node
            st[_TDLCL, jj] = theta * vexp(kappa * vlog(p_lcl))
            r_lcl = _saturation_mixing_ratio(p_lcl, t_lcl, s, epsilon, False)
            st[_TVLCL, jj] = _virtual(t_lcl, r_lcl, epsilon) if virtual else t_lcl
        r_start = q_start / (1.0 - q_start)
        if p_lcl >= p_start:
            st[_SAT, jj] = 1.0
            out[_LCL_Z, j] = st[_Z, jj] - np.float64(hsurf[j])
            out[_LCL_P, j] = p_start
            r_start = _saturation_mixing_ratio(p_start, t_start, s, epsilon, False)
        if definition == 1:
            if virtual:  # MetPy's lfc()/el() take the LCL of the parcel's virtual temperature
                p_thr = _lcl(p_start, _virtual(t_start, r_start, epsilon), q_start, s, c)[0]
            else:
                p_thr = p_lcl
            st[_LNTHR, jj] = vlog(p_thr) if p_thr > 0.0 else -math.inf
        q_env = st[_QE, jj]
        if virtual:
            b = _virtual(t_start, r_start, epsilon) - _virtual(st[_TE, jj], q_env / (1.0 - q_env), epsilon)
        else:
            b = t_start - st[_TE, jj]
        lnp = vlog(p_start)
        st[_LNP, jj] = lnp
        st[_B, jj] = b
        if definition == 0 and st[_SAT, jj] == 1.0 and b > 0.0:
            st[_LFC, jj] = 1.0
            st[_LFC_Z, jj] = st[_Z, jj]
            st[_LFC_LNP, jj] = lnp
        if definition == 1 and lnp <= st[_LNTHR, jj]:
            st[_ABOVE, jj] = 1.0
            st[_THR_SET, jj] = 1.0
            st[_THR_Z, jj] = st[_Z, jj]


@function
def _parcel_at_level(k, j0, n, p, p_bits, t, qv, hhl, s, c, kappa_table, virtual, st, t_moist, p_moist, h, steps,
                     tp, b, lnp, z):
    """Parcel temperature and buoyancy at level k of every column of the block (branch-free loops that
    vectorise): on the dry adiabat, or by Runge-Kutta steps from the previous node (or from the LCL when
    it lies in this layer). Each column takes its own number of steps; the loop over steps masks the
    columns that are done, so a column's result never depends on the others."""
    most = 0
    for jj in range(n):
        j = j0 + jj
        pk = np.float64(p[k, j])
        saturated = st[_SAT, jj] != 0.0
        moist = saturated | (pk <= st[_PLCL, jj])
        p_a = st[_P, jj] if saturated else st[_PLCL, jj]
        t_a = st[_TP, jj] if saturated else st[_TDLCL, jj]
        p_a = p_a if moist else pk
        t_a = t_a if moist else 250.0
        m = _steps(p_a, pk) if moist else 0
        steps[jj] = m
        p_moist[jj] = p_a
        t_moist[jj] = t_a
        h[jj] = (pk - p_a) / m if moist else 0.0
        most = m if m > most else most
    magnus = s[1] == 0.0
    for i in range(most):
        if magnus:
            _rk4_sweep(i, n, s, c, p_moist, t_moist, h, steps, True)
        else:
            _rk4_sweep(i, n, s, c, p_moist, t_moist, h, steps, False)
    if magnus:
        _buoyancy_at_level(k, j0, n, p, p_bits, t, qv, hhl, s, c, kappa_table, virtual, st, t_moist, steps, tp, b,
                           lnp, z, True)
    else:
        _buoyancy_at_level(k, j0, n, p, p_bits, t, qv, hhl, s, c, kappa_table, virtual, st, t_moist, steps, tp, b,
                           lnp, z, False)


@inline
def _rk4_sweep(i, n, s, c, p_moist, t_moist, h, steps, magnus):
    """Runge-Kutta step i of every column that takes more than i steps (the others keep their value)."""
    for jj in range(n):
        t_next = _rk4_step(p_moist[jj] + i * h[jj], t_moist[jj], h[jj], s, c[0], c[1], c[2], c[3], magnus)
        t_moist[jj] = t_next if i < steps[jj] else t_moist[jj]


@inline
def _buoyancy_at_level(k, j0, n, p, p_bits, t, qv, hhl, s, c, kappa_table, virtual, st, t_moist, steps, tp, b,
                       lnp, z, magnus):
    """Parcel temperature, buoyancy, ln p and height at level k of every column."""
    epsilon = c[3]
    for jj in range(n):
        j = j0 + jj
        pk = np.float64(p[k, j])
        tk = np.float64(t[k, j])
        qk = np.float64(qv[k, j])
        moist = steps[jj] > 0
        t_parcel = t_moist[jj] if moist else st[_THETA, jj] * pow_f32(p_bits[k, j], kappa_table)
        r_sat = _saturation_mixing_ratio(pk, t_parcel, s, epsilon, magnus)
        q0 = st[_Q0, jj]
        r_parcel = r_sat if moist else q0 / (1.0 - q0)
        tv_env = _virtual(tk, qk / (1.0 - qk), epsilon)
        buoyancy = _virtual(t_parcel, r_parcel, epsilon) - tv_env if virtual else t_parcel - tk
        tp[jj] = t_parcel
        b[jj] = buoyancy
        lnp[jj] = vlog(pk)
        z[jj] = 0.5 * (np.float64(hhl[k, j]) + np.float64(hhl[k + 1, j]))


@function
def _nodes_at_level(k, j0, n, p, t, qv, hsurf, s, c, virtual, definition, valid, kstart, p_skip, st, tp, b, lnp, z,
                    path, out):
    """Integrate every column of the block up to level k: through the LCL node first where the LCL lies
    in this layer, then to the level.

    Most columns at most levels only add one trapezoid: they take a branch-free loop that vectorises.
    The others (the LCL in the layer, a change of sign of the buoyancy, MetPy's LFC threshold in the
    layer) take the general path, column by column. Both give the same numbers: the branch-free loop is
    the general path's arithmetic where none of those events occurs.
    """
    rd, epsilon = c[0], c[3]
    for jj in range(n):
        j = j0 + jj
        pk = np.float64(p[k, j])
        active = valid[jj] & (k < kstart[jj]) & (pk < p_skip[jj])
        event = ((st[_SAT, jj] == 0.0) & (pk <= st[_PLCL, jj])) | ((st[_B, jj] > 0.0) != (b[jj] > 0.0))
        if definition == 1:
            event = event | ((st[_LNP, jj] >= st[_LNTHR, jj]) & (st[_LNTHR, jj] >= lnp[jj]))
        path[jj] = 0 if not active else (2 if event else 1)
    for jj in range(n):
        if path[jj] != 2:
            continue
        j = j0 + jj
        pk = np.float64(p[k, j])
        tk = np.float64(t[k, j])
        qk = np.float64(qv[k, j])
        if st[_SAT, jj] == 0.0 and pk <= st[_PLCL, jj]:
            # the LCL lies in this layer: a node of its own, the environment interpolated to it
            p_l = st[_PLCL, jj]
            lnp_l = vlog(p_l)
            lnp_a = st[_LNP, jj]
            p_a = st[_P, jj]
            w = (lnp_a - lnp_l) / (lnp_a - lnp[jj]) if lnp_a > lnp[jj] else 0.0
            if definition == 0:  # T and q linear in ln p
                t_env = st[_TE, jj] + w * (tk - st[_TE, jj])
                q_env = st[_QE, jj] + w * (qk - st[_QE, jj])
            else:  # MetPy: T and Td linear in p
                wp = (p_a - p_l) / (p_a - pk) if p_a > pk else 0.0
                t_env = st[_TE, jj] + wp * (tk - st[_TE, jj])
                td_a = _dewpoint(p_a, st[_QE, jj], s, epsilon)
                td_k = _dewpoint(pk, qk, s, epsilon)
                q_env = _specific_from_dewpoint(p_l, td_a + wp * (td_k - td_a), s, epsilon)
            z_l = st[_Z, jj] + w * (z[jj] - st[_Z, jj])
            if virtual:
                b_l = st[_TVLCL, jj] - _virtual(t_env, q_env / (1.0 - q_env), epsilon)
            else:
                b_l = st[_TVLCL, jj] - t_env
            _advance(st, jj, lnp_l, b_l, z_l, False, definition, rd)
            out[_LCL_Z, j] = z_l - np.float64(hsurf[j])
            out[_LCL_P, j] = p_l
            st[_SAT, jj] = 1.0
            if definition == 0 and b_l > 0.0 and st[_LFC, jj] == 0.0:
                st[_LFC, jj] = 1.0
                st[_LFC_Z, jj] = z_l
                st[_LFC_LNP, jj] = lnp_l
        _advance(st, jj, lnp[jj], b[jj], z[jj], st[_SAT, jj] != 0.0, definition, rd)
        st[_P, jj] = pk
        st[_TP, jj] = tp[jj]
        st[_TE, jj] = tk
        st[_QE, jj] = qk
    if definition == 0:
        _plain_nodes(k, j0, n, p, t, qv, rd, st, tp, b, lnp, z, path, False)
    else:
        _plain_nodes(k, j0, n, p, t, qv, rd, st, tp, b, lnp, z, path, True)


@inline
def _plain_nodes(k, j0, n, p, t, qv, rd, st, tp, b, lnp, z, path, metpy):
    """The trapezoid to level k of every column on the plain path (``path == 1``), branch-free: what
    :func:`_advance` does when the buoyancy keeps its sign (and, for MetPy, the threshold is not
    crossed)."""
    for jj in range(n):
        j = j0 + jj
        plain = path[jj] == 1
        area = 0.5 * rd * (st[_B, jj] + b[jj]) * (st[_LNP, jj] - lnp[jj])
        if metpy:
            total = st[_S, jj] + area
            st[_S, jj] = total if plain else st[_S, jj]
            below = plain & (lnp[jj] >= st[_LNTHR, jj])
            st[_BELOW_S, jj] = total if below else st[_BELOW_S, jj]
            buoyant = plain & (b[jj] > 0.0) & (lnp[jj] < st[_LNTHR, jj])
            st[_POS, jj] = 1.0 if buoyant else st[_POS, jj]
        else:
            lfc = st[_LFC, jj] != 0.0
            cin = st[_CIN, jj] + (0.0 if lfc else min(area, 0.0))
            cape = st[_CAPE, jj] + (max(area, 0.0) if lfc else 0.0)
            st[_CIN, jj] = cin if plain else st[_CIN, jj]
            st[_CAPE, jj] = cape if plain else st[_CAPE, jj]
        st[_LNP, jj] = lnp[jj] if plain else st[_LNP, jj]
        st[_B, jj] = b[jj] if plain else st[_B, jj]
        st[_Z, jj] = z[jj] if plain else st[_Z, jj]
        st[_P, jj] = np.float64(p[k, j]) if plain else st[_P, jj]
        st[_TP, jj] = tp[jj] if plain else st[_TP, jj]
        st[_TE, jj] = np.float64(t[k, j]) if plain else st[_TE, jj]
        st[_QE, jj] = np.float64(qv[k, j]) if plain else st[_QE, jj]


@function
def _results(j0, n, hsurf, definition, valid, st, out):
    """CAPE, CIN, LFC and EL of every column from the integrals and events of its ascent."""
    for jj in range(n):
        if not valid[jj]:
            continue
        j = j0 + jj
        zs = np.float64(hsurf[j])
        if definition == 0:
            if st[_LFC, jj] != 0.0:
                out[_CAPE_ROW, j] = st[_CAPE, jj]
                out[_CIN_ROW, j] = -st[_CIN, jj]
                out[_LFC_Z_ROW, j] = st[_LFC_Z, jj] - zs
                out[_LFC_P, j] = vexp(st[_LFC_LNP, jj])
                if st[_B, jj] <= 0.0 and st[_EL, jj] != 0.0:
                    out[_EL_Z_ROW, j] = st[_EL_Z, jj] - zs
                    out[_EL_P, j] = vexp(st[_EL_LNP, jj])
            else:
                out[_CAPE_ROW, j] = 0.0
            continue
        if st[_LFC, jj] != 0.0:  # metpy: the lowest crossing above the threshold ...
            s_cape = st[_LFC_S, jj]
            s_cin = s_cape
            lfc_z = st[_LFC_Z, jj]
            lfc_lnp = st[_LFC_LNP, jj]
        elif st[_POS, jj] != 0.0:  # ... else the threshold itself, if the parcel is buoyant above it
            s_cape = st[_ABOVE_S, jj]
            s_cin = st[_BELOW_S, jj]
            lfc_z = st[_THR_Z, jj]
            lfc_lnp = st[_LNTHR, jj]
        else:
            out[_CAPE_ROW, j] = 0.0
            out[_CIN_ROW, j] = 0.0
            continue
        if st[_B, jj] > 0.0 or st[_EL, jj] == 0.0:  # buoyant at the top: CAPE up to the model top
            s_el = st[_S, jj]
        else:
            s_el = st[_EL_S, jj]
            out[_EL_Z_ROW, j] = st[_EL_Z, jj] - zs
            out[_EL_P, j] = vexp(st[_EL_LNP, jj])
        out[_CAPE_ROW, j] = s_el - s_cape
        out[_CIN_ROW, j] = -s_cin if s_cin < 0.0 else 0.0
        out[_LFC_Z_ROW, j] = lfc_z - zs
        out[_LFC_P, j] = vexp(lfc_lnp)


# ----------------------------------------------------------------------------------------------------
# Python entry points (validation here, never in the kernel)
# ----------------------------------------------------------------------------------------------------


def _coefficients(saturation) -> tuple[float, float, float, float]:
    values = tuple(float(v) for v in saturation)
    if len(values) != 4:
        raise ValueError(f"saturation must be the 4 coefficients (A, a, B, C) of the general form, not {saturation!r}")
    return values


BOLTON_DEWPOINT = magnus_coefficients(*constants.bolton_water)
"""The inverse MetPy's ``dewpoint`` uses (Bolton 1980 eq. 10), in the general form (A, a, B, C)."""


def cape_cin(p, t, qv, hhl, hsurf, out=None, *, parcel, depth, virtual=True, definition="positive",
             saturation, dewpoint_saturation=None, parcel_constants=COSMO):
    r"""Lift a parcel in every column and return its CAPE, CIN, LCL, LFC and EL.

    Parameters
    ----------
    p, t, qv : ndarray, float32, (nlev, ncol), C-contiguous
        Pressure [Pa], temperature [K], specific humidity [kg kg-1] on full levels, level 0 = model top.
    hhl : ndarray, float32, (nlev + 1, ncol)
        Half-level heights [m above sea level]; full-level heights are the means of two half levels.
    hsurf : ndarray, float32, (ncol,)
        Surface height [m above sea level].
    out : ndarray, float32, (8, ncol), optional
        Result rows :data:`OUTPUTS`: CAPE [J kg-1], CIN [J kg-1] (>= 0), LCL, LFC, EL heights [m above
        ground] and pressures [Pa]. Allocated when not given.
    parcel : {"mixed_layer", "most_unstable"}
        Which parcel (see the module docstring).
    depth : float
        Mixed-layer depth or most-unstable search depth above the surface pressure [Pa].
    virtual : bool
        Buoyancy from virtual temperatures (True) or temperatures (False).
    definition : {"positive", "metpy"}
        CAPE/CIN/LFC/EL conventions (see the module docstring).
    saturation : sequence of 4 floats
        Saturation vapour pressure over water in the general form ``(A, a, B, C)`` of
        :mod:`nwpflow.kernels.thermo` (:func:`~nwpflow.kernels.thermo.magnus_coefficients`,
        :func:`~nwpflow.kernels.thermo.ambaum_coefficients`).
    dewpoint_saturation : sequence of 4 floats, optional
        ``definition="metpy"`` only: the form whose inverse turns the mixed parcel's vapour pressure into
        its dew point (MetPy: :data:`BOLTON_DEWPOINT`, the default).
    parcel_constants : ParcelConstants
        Constants of the ascent; :data:`COSMO` by default.

    Returns
    -------
    out : ndarray, float32, (8, ncol)

    Notes
    -----
    Columns are computed in fixed blocks, so the result is the same bits for any number of threads.
    """
    if parcel not in PARCELS:
        raise ValueError(f"parcel must be one of {', '.join(map(repr, PARCELS))}, not {parcel!r}")
    if definition not in DEFINITIONS:
        raise ValueError(f"definition must be one of {', '.join(map(repr, DEFINITIONS))}, not {definition!r}")
    if t.ndim != 2:
        raise ValueError(f"t must be (level, ncol), not shape {t.shape}")
    nlev, ncol = t.shape
    for name, a, shape in (("p", p, (nlev, ncol)), ("t", t, (nlev, ncol)), ("qv", qv, (nlev, ncol)),
                           ("hhl", hhl, (nlev + 1, ncol)), ("hsurf", hsurf, (ncol,))):
        if a.shape != shape or a.dtype != np.float32 or not a.flags.c_contiguous:
            raise ValueError(f"{name} must be a C-contiguous float32 array of shape {shape}, not {a.dtype} {a.shape}")
    if out is None:
        out = np.empty((len(OUTPUTS), ncol), dtype=np.float32)
    elif out.shape != (len(OUTPUTS), ncol) or out.dtype != np.float32 or not out.flags.c_contiguous:
        raise ValueError(f"out must be a C-contiguous float32 array of shape {(len(OUTPUTS), ncol)}")
    if not depth >= 0.0:
        raise ValueError(f"depth must be a pressure difference >= 0 [Pa], not {depth!r}")
    c = tuple(float(v) for v in parcel_constants)
    kappa = c[0] / c[1]
    dew = BOLTON_DEWPOINT if dewpoint_saturation is None else dewpoint_saturation
    _cape_cin(p, p.view(np.int32), t, qv, hhl, hsurf, _coefficients(saturation), _coefficients(dew), c,
              power_table(kappa), power_table(-kappa), PARCELS[parcel], float(depth), bool(virtual),
              DEFINITIONS[definition], out)
    return out


def lifting_condensation_level(p, t, qv, *, saturation, parcel_constants=COSMO):
    """Pressure [Pa] and temperature [K] of the LCL of air at ``p`` [Pa], ``t`` [K], ``qv`` [kg kg-1].

    Float64 arrays of any (equal) shape; the solver the kernel uses (see the module docstring).
    """
    p, t, qv = (np.array(a, dtype=np.float64) for a in np.broadcast_arrays(p, t, qv))
    p_out = np.empty(p.shape)
    t_out = np.empty(p.shape)
    _lcl_many(p.reshape(-1), t.reshape(-1), qv.reshape(-1), _coefficients(saturation),
              tuple(float(v) for v in parcel_constants), p_out.reshape(-1), t_out.reshape(-1))
    return p_out, t_out


@kernel
def _lcl_many(p, t, qv, s, c, p_out, t_out):
    for i in prange(p.size):
        p_out[i], t_out[i] = _lcl(p[i], t[i], qv[i], s, c)


def parcel_temperature(p, p_start, t_start, q_start, *, saturation, parcel_constants=COSMO):
    """Temperature [K] of parcels lifted from (``p_start`` [Pa], ``t_start`` [K], ``q_start`` [kg kg-1]).

    ``p``: pressures [Pa], (npoint,) or (nparcel, npoint), decreasing, all <= the parcel's ``p_start``
    (scalars or (nparcel,)). The ascent the kernel makes: dry adiabat to the LCL, then the pseudo-adiabat
    with the same Runge-Kutta steps between consecutive pressures, starting at the LCL. For tests and
    for plotting a parcel's path.
    """
    p = np.asarray(p, dtype=np.float64)
    p2 = np.ascontiguousarray(np.atleast_2d(p))
    starts = [np.ascontiguousarray(np.broadcast_to(np.asarray(a, dtype=np.float64), p2.shape[:1]))
              for a in (p_start, t_start, q_start)]
    out = np.empty_like(p2)
    _parcel_path(p2, *starts, _coefficients(saturation), tuple(float(v) for v in parcel_constants), out)
    return out.reshape(p.shape)


@kernel
def _parcel_path(p, p_start, t_start, q_start, s, c, out):
    kappa = c[0] / c[1]
    for i in prange(p.shape[0]):
        p_lcl, _ = _lcl(p_start[i], t_start[i], q_start[i], s, c)
        theta = t_start[i] * vexp(-kappa * vlog(p_start[i]))
        p_prev = p_lcl
        t_prev = theta * vexp(kappa * vlog(p_lcl)) if p_lcl > 0.0 else math.nan
        for m in range(p.shape[1]):
            if p[i, m] >= p_lcl:
                out[i, m] = theta * vexp(kappa * vlog(p[i, m]))
            else:
                t_prev = _moist_ascent(p_prev, t_prev, p[i, m], s, c[0], c[1], c[2], c[3])
                p_prev = p[i, m]
                out[i, m] = t_prev
