r"""Stability indices on model columns (numba kernels): the lifted indices (surface or mixed-layer parcel,
Showalter), downdraft CAPE, K index and Total Totals, and temperature lapse rates.

The parcels follow the CAPE/CIN ascent of :mod:`nwpflow.kernels.convection` (its LCL, its
pseudo-adiabat, its mixed-layer parcel): one parcel physics for every product. Conventions as there:
arrays ``(level, ncol)``, level 0 = model top, SI units, float64 arithmetic, fixed column blocks (the same
bits for any number of threads), saturation over water in the general form ``(A, a, B, C)`` of
:mod:`nwpflow.kernels.thermo` (COSMO's Magnus-Tetens by default), constants as a
:class:`~nwpflow.kernels.convection.ParcelConstants` tuple.

Values at a pressure level :math:`p_*` (500, 700, 850 hPa) are interpolated between the two full levels
around it, linear in :math:`\ln p` (``method=LOG``, as the ``_PL`` products) or in :math:`p` (``LINEAR``,
MetPy's ``interpolate_1d``); the dew point is interpolated, not the humidity (MetPy's choice: the
indices' inputs are T and T_d). A level below the lowest full level or above the highest is missing.

Definitions
-----------
* lifted index ([Galway1956]_): :math:`\mathrm{LI} = T(500) - T_\mathrm{parcel}(500)`, the parcel lifted
  from the lowest model level (ICON ``cal_si_sli_swiss``' SLI) or the mixed layer of CAPE_ML;
* Showalter index ([Showalter1953]_): the parcel starts at 850 hPa with :math:`T(850)`, :math:`T_d(850)`;
* K index ([George1960]_): :math:`(T_{850} - T_{500}) + T_{d,850} - (T_{700} - T_{d,700})`, given as
  MetPy does (°C: the absolute temperatures enter once, so the index is the Kelvin sum minus 273.15);
* Total Totals ([Miller1972]_): :math:`T_{850} + T_{d,850} - 2 T_{500}`;
* DCAPE (MetPy's ``downdraft_cape``, [Emanuel1994]_): the level of minimum :math:`\theta_e` (Bolton eq. 39)
  between 700 and 500 hPa (the model levels in between and the two bounds, interpolated linearly in
  :math:`\ln p`); its wet-bulb temperature; that saturated parcel lowered pseudo-adiabatically through
  every model level below the start down to the lowest one;

  .. math:: \mathrm{DCAPE} = R_d \int_{\ln p_1}^{\ln p_N} (T_{v,e} - T_{v,p})\, d\ln p

  by trapezoids over those levels;
* lapse rate between pressures (ICON ``compute_field_lapserate``): the heights of :math:`p_u`, :math:`p_l`
  linear in :math:`\ln p` between full levels, the temperatures linear in height there,
  :math:`\gamma = (T_u - T_l)/(z_u - z_l)` [K m-1] (ICON's sign: negative where the temperature falls with
  height), both pressures capped at the third-lowest level's (ICON: "to avoid effects of extreme
  near-surface profiles"); between heights above ground: from the lowest full level to :math:`h`.
"""

from __future__ import annotations

import math

import numpy as np
from numba import prange

from nwpflow.kernels._jit import BLOCK_COLUMNS, inline, kernel
from nwpflow.kernels.codes import LIFTED_PARCELS, LINEAR, LOG
from nwpflow.kernels.convection import lifted_temperature, parcel_lcl, parcel_start, parcel_theta_e, pseudo_adiabat
from nwpflow.kernels.power import power_table
from nwpflow.kernels.thermo import log_saturation_vapour_pressure, saturation_temperature, vexp, vlog

LI_PARCELS = LIFTED_PARCELS


@inline
def _dewpoint(p, q, s, epsilon):
    e = p * q / (epsilon + (1.0 - epsilon) * q)
    return saturation_temperature(vlog(e), s[0], s[1], s[2], s[3]) if e > 0.0 else math.nan


@inline
def _specific_humidity(p, td, s, epsilon):
    e = vexp(log_saturation_vapour_pressure(td, s[0], s[1], s[2], s[3]))
    return epsilon * e / (p - (1.0 - epsilon) * e)


@inline
def _bracket(p, j, target):
    """Level k with p[k - 1] <= target <= p[k] (the pair around ``target``, scanning up from the lowest
    level), or -1."""
    for k in range(p.shape[0] - 1, 0, -1):
        if np.float64(p[k - 1, j]) <= target and target <= np.float64(p[k, j]):
            return k
    return -1


@inline
def _weight(p, j, k, target, method):
    pa = np.float64(p[k - 1, j])
    pb = np.float64(p[k, j])
    if method == LOG:
        return (math.log(target) - math.log(pa)) / (math.log(pb) - math.log(pa))
    return (target - pa) / (pb - pa)


@inline
def _temperature_and_dewpoint(p, t, qv, j, target, method, s, epsilon):
    """T and T_d [K] interpolated to ``target`` [Pa]; NaN where it lies outside the column."""
    k = _bracket(p, j, target)
    if k < 0:
        return math.nan, math.nan
    w = _weight(p, j, k, target, method)
    ta = np.float64(t[k - 1, j])
    tda = _dewpoint(np.float64(p[k - 1, j]), np.float64(qv[k - 1, j]), s, epsilon)
    tdb = _dewpoint(np.float64(p[k, j]), np.float64(qv[k, j]), s, epsilon)
    return ta + w * (np.float64(t[k, j]) - ta), tda + w * (tdb - tda)


@inline
def _temperature(p, t, j, target, method):
    k = _bracket(p, j, target)
    if k < 0:
        return math.nan
    ta = np.float64(t[k - 1, j])
    return ta + _weight(p, j, k, target, method) * (np.float64(t[k, j]) - ta)


# ----------------------------------------------------------------------------------------------------
# Lifted indices
# ----------------------------------------------------------------------------------------------------


@kernel
def _lifted(p, p_bits, t, qv, hhl, hsurf, s, c, theta_table, parcel, depth, p_end, method, out):
    nlev, ncol = t.shape
    nblocks = (ncol + BLOCK_COLUMNS - 1) // BLOCK_COLUMNS
    for b in prange(nblocks):
        j0 = b * BLOCK_COLUMNS
        n = min(BLOCK_COLUMNS, ncol - j0)
        start = np.empty((3, n))
        if parcel == 2:
            for jj in range(n):
                start[0, jj] = np.float64(p[nlev - 1, j0 + jj])
                start[1, jj] = np.float64(t[nlev - 1, j0 + jj])
                start[2, jj] = np.float64(qv[nlev - 1, j0 + jj])
        else:
            parcel_start(j0, n, p, p_bits, t, qv, hhl, hsurf, s, c, theta_table, parcel, depth, start)
        for jj in range(n):
            j = j0 + jj
            t_env = _temperature(p, t, j, p_end, method)
            out[j] = t_env - lifted_temperature(start[0, jj], start[1, jj], start[2, jj], p_end, s, c)


def lifted_index(p, t, qv, hhl, hsurf, out, *, parcel, saturation, parcel_constants, depth=5000.0, method=LOG,
                 p_end=50000.0):
    r"""Lifted index [K] of every column: :math:`T(p_e) - T_\mathrm{parcel}(p_e)`, :math:`p_e` = 500 hPa.

    Parameters
    ----------
    p, t, qv : ndarray, float32, (nlev, ncol)
        Pressure [Pa], temperature [K], specific humidity [kg kg-1] on full levels.
    hhl : ndarray, float32, (nlev + 1, ncol)
        Half-level heights [m above sea level].
    hsurf : ndarray, float32, (ncol,)
        Surface height [m above sea level].
    out : ndarray, float32, (ncol,)
        Result [K]; positive where the lifted parcel is colder than its environment (stable). NaN where
        :math:`p_e` is outside the column or an input is NaN.
    parcel : {"surface", "mixed_layer"}
        The lowest model level's air (ICON's SLI), or the mixed-layer parcel of CAPE_ML (mass-weighted
        means of θ and q over ``depth`` Pa above the surface pressure, lifted from the surface pressure).
    saturation : sequence of 4 floats
        Saturation vapour pressure over water, ``(A, a, B, C)``.
    parcel_constants : ParcelConstants
        Constants of the ascent.
    depth : float
        Depth of the mixed layer [Pa].
    method : int
        :data:`~nwpflow.kernels.codes.LOG` or :data:`~nwpflow.kernels.codes.LINEAR` interpolation of
        the environment's temperature to :math:`p_e`.
    p_end : float
        :math:`p_e` [Pa].
    """
    c = tuple(float(x) for x in parcel_constants)
    _lifted(p, p.view(np.int32), t, qv, hhl, hsurf, tuple(map(float, saturation)), c, power_table(-c[0] / c[1]),
            LI_PARCELS[parcel], float(depth), float(p_end), method, out)
    return out


@kernel
def _showalter(p, t, qv, s, c, p_start, p_end, method, out):
    ncol = t.shape[1]
    nblocks = (ncol + BLOCK_COLUMNS - 1) // BLOCK_COLUMNS
    for b in prange(nblocks):
        for j in range(b * BLOCK_COLUMNS, min(b * BLOCK_COLUMNS + BLOCK_COLUMNS, ncol)):
            t0, td0 = _temperature_and_dewpoint(p, t, qv, j, p_start, method, s, c[3])
            q0 = _specific_humidity(p_start, td0, s, c[3])
            out[j] = _temperature(p, t, j, p_end, method) - lifted_temperature(p_start, t0, q0, p_end, s, c)


def showalter_index(p, t, qv, out, *, saturation, parcel_constants, method=LOG, p_start=85000.0, p_end=50000.0):
    r"""Showalter index [K] of every column: the lifted index of a parcel starting at 850 hPa with the
    environment's temperature and dew point there (interpolated, ``method``); NaN where 850 hPa is below
    the lowest full level. Arguments as :func:`lifted_index`."""
    c = tuple(float(x) for x in parcel_constants)
    _showalter(p, t, qv, tuple(map(float, saturation)), c, float(p_start), float(p_end), method, out)
    return out


# ----------------------------------------------------------------------------------------------------
# K index and Total Totals
# ----------------------------------------------------------------------------------------------------


@kernel
def _classic(p, t, qv, s, epsilon, t0, method, out):
    ncol = t.shape[1]
    nblocks = (ncol + BLOCK_COLUMNS - 1) // BLOCK_COLUMNS
    for b in prange(nblocks):
        for j in range(b * BLOCK_COLUMNS, min(b * BLOCK_COLUMNS + BLOCK_COLUMNS, ncol)):
            t850, td850 = _temperature_and_dewpoint(p, t, qv, j, 85000.0, method, s, epsilon)
            t700, td700 = _temperature_and_dewpoint(p, t, qv, j, 70000.0, method, s, epsilon)
            t500 = _temperature(p, t, j, 50000.0, method)
            out[0, j] = (t850 - t500) + (td850 - t0) - (t700 - td700)
            out[1, j] = (t850 - t500) + (td850 - t500)


def classic_indices(p, t, qv, out, *, saturation, epsilon, t0, method=LOG):
    r"""K index and Total Totals [K] of every column (module docstring).

    ``out`` : ndarray, float32, (2, ncol): rows K index (the absolute dew point at 850 hPa taken in °C,
    ``t0`` = 273.15 K, so that the index has its usual values) and Total Totals; NaN where 850 hPa is
    below the lowest full level. Other arguments as :func:`lifted_index`.
    """
    _classic(p, t, qv, tuple(map(float, saturation)), float(epsilon), float(t0), method, out)
    return out


# ----------------------------------------------------------------------------------------------------
# Downdraft CAPE
# ----------------------------------------------------------------------------------------------------


@kernel
def _dcape(p, t, qv, s, c, virtual, p_bottom, p_top, out, start):
    nlev, ncol = t.shape
    epsilon = c[3]
    vapour = 1.0 / epsilon - 1.0  # T_v = T (1 + (Rv/Rd - 1) q)
    nblocks = (ncol + BLOCK_COLUMNS - 1) // BLOCK_COLUMNS
    for b in prange(nblocks):
        for j in range(b * BLOCK_COLUMNS, min(b * BLOCK_COLUMNS + BLOCK_COLUMNS, ncol)):
            # the start: minimum θe over the bottom bound, the levels inside the layer (upwards) and the
            # top bound, MetPy's order (the first of equal minima wins)
            best = math.inf
            ps = math.nan
            ts = math.nan
            qs = math.nan
            for i in range(nlev + 2):
                if i == 0 or i == nlev + 1:
                    pc = p_bottom if i == 0 else p_top
                    tc, tdc = _temperature_and_dewpoint(p, t, qv, j, pc, LOG, s, epsilon)
                    qc = _specific_humidity(pc, tdc, s, epsilon)
                else:
                    pc = np.float64(p[nlev - i, j])
                    if not (p_top < pc and pc < p_bottom):
                        continue
                    tc = np.float64(t[nlev - i, j])
                    qc = np.float64(qv[nlev - i, j])
                th = parcel_theta_e(pc, tc, qc, s, c)
                if th < best or th != th:
                    best = th
                    ps, ts, qs = pc, tc, qc
            start[0, j] = ps
            start[1, j] = math.nan
            if not best < math.inf:
                out[j] = math.nan
                continue
            # its wet-bulb temperature (down the pseudo-adiabat from its LCL), then down to every level
            p_lcl, t_lcl = parcel_lcl(ps, ts, qs, s, c)
            p_prev = ps
            t_prev = pseudo_adiabat(p_lcl, t_lcl, ps, s, c) if p_lcl < ps else ts
            start[1, j] = t_prev
            lnp_prev = math.nan
            diff_prev = math.nan
            total = 0.0
            for k in range(nlev):
                pk = np.float64(p[k, j])
                if pk < ps:
                    continue
                t_prev = pseudo_adiabat(p_prev, t_prev, pk, s, c)
                p_prev = pk
                tk = np.float64(t[k, j])
                if virtual:
                    es = vexp(log_saturation_vapour_pressure(t_prev, s[0], s[1], s[2], s[3]))
                    q_parcel = epsilon * es / (pk - (1.0 - epsilon) * es)
                    diff = tk * (1.0 + vapour * np.float64(qv[k, j])) - t_prev * (1.0 + vapour * q_parcel)
                else:
                    diff = tk - t_prev
                lnp = vlog(pk)
                if lnp_prev == lnp_prev:
                    total += 0.5 * (diff_prev + diff) * (lnp - lnp_prev)
                lnp_prev = lnp
                diff_prev = diff
            out[j] = c[0] * total


def downdraft_cape(p, t, qv, out, *, saturation, parcel_constants, virtual=True, p_bottom=70000.0, p_top=50000.0,
                   start=None):
    r"""Downdraft CAPE [J kg-1] of every column (module docstring; MetPy's ``downdraft_cape``).

    Parameters
    ----------
    p, t, qv : ndarray, float32, (nlev, ncol)
        Pressure [Pa], temperature [K], specific humidity [kg kg-1] on full levels.
    out : ndarray, float32, (ncol,)
        DCAPE [J kg-1], >= 0 where the descending parcel stays colder than its environment; NaN where
        the 700-500 hPa layer is not inside the column.
    saturation, parcel_constants
        As :func:`lifted_index`.
    virtual : bool
        Buoyancy from virtual temperatures (MetPy) or temperatures.
    p_bottom, p_top : float
        The layer searched for the start [Pa].
    start : ndarray, float64, (2, ncol), optional
        Output: the start's pressure [Pa] and wet-bulb temperature [K] (for tests).
    """
    if start is None:
        start = np.empty((2, t.shape[1]))
    c = tuple(float(x) for x in parcel_constants)
    _dcape(p, t, qv, tuple(map(float, saturation)), c, bool(virtual), float(p_bottom), float(p_top), out, start)
    return out


# ----------------------------------------------------------------------------------------------------
# Lapse rates
# ----------------------------------------------------------------------------------------------------


@inline
def _z_full(hhl, k, j):
    return 0.5 * (np.float64(hhl[k, j]) + np.float64(hhl[k + 1, j]))


@inline
def _height_and_temperature_at(p, t, hhl, j, target, k_low):
    """ICON's height (linear in ln p) and temperature (linear in height) at pressure ``target``, searching
    the pairs above level ``k_low``; (NaN, NaN) where none brackets it."""
    for k in range(k_low, 0, -1):
        pa = np.float64(p[k - 1, j])
        pb = np.float64(p[k, j])
        if pa < target and target <= pb:
            za = _z_full(hhl, k - 1, j)
            zb = _z_full(hhl, k, j)
            z = za + (zb - za) / (math.log(pb) - math.log(pa)) * (math.log(target) - math.log(pa))
            ta = np.float64(t[k - 1, j])
            return z, ta + (np.float64(t[k, j]) - ta) / (zb - za) * (z - za)
    return math.nan, math.nan


@kernel
def _lapse_pressure(p, t, hhl, p_upper, p_lower, out):
    nlev, ncol = t.shape
    k_limit = nlev - 3
    nblocks = (ncol + BLOCK_COLUMNS - 1) // BLOCK_COLUMNS
    for b in prange(nblocks):
        for j in range(b * BLOCK_COLUMNS, min(b * BLOCK_COLUMNS + BLOCK_COLUMNS, ncol)):
            cap = np.float64(p[k_limit, j])
            zu, tu = _height_and_temperature_at(p, t, hhl, j, min(p_upper, cap), k_limit)
            zl, tl = _height_and_temperature_at(p, t, hhl, j, min(p_lower, cap), k_limit)
            out[j] = (tu - tl) / (zu - zl) if abs(zu - zl) >= 1e-6 else math.nan


def lapse_rate_pressure(p, t, hhl, out, *, p_upper, p_lower):
    r"""Temperature lapse rate :math:`(T_u - T_l)/(z_u - z_l)` [K m-1] between two pressures, as ICON's
    ``compute_field_lapserate`` (module docstring); NaN where the two heights coincide (both pressures
    capped at the third-lowest level; ICON writes 0) or are not found. ``p``, ``t`` (nlev >= 4), ``hhl``
    as :func:`lifted_index`; ``out`` float32 (ncol,)."""
    _lapse_pressure(p, t, hhl, float(p_upper), float(p_lower), out)
    return out


@kernel
def _lapse_height(t, hhl, height, out):
    nlev, ncol = t.shape
    nblocks = (ncol + BLOCK_COLUMNS - 1) // BLOCK_COLUMNS
    for b in prange(nblocks):
        for j in range(b * BLOCK_COLUMNS, min(b * BLOCK_COLUMNS + BLOCK_COLUMNS, ncol)):
            z0 = _z_full(hhl, nlev - 1, j)
            t0 = np.float64(t[nlev - 1, j])
            target = np.float64(hhl[nlev, j]) + height
            out[j] = math.nan
            for k in range(nlev - 1, 0, -1):
                z_low = _z_full(hhl, k, j)
                z_up = _z_full(hhl, k - 1, j)
                if z_low <= target and target <= z_up:
                    t_low = np.float64(t[k, j])
                    tz = t_low + (np.float64(t[k - 1, j]) - t_low) * (target - z_low) / (z_up - z_low)
                    out[j] = (tz - t0) / (target - z0)
                    break


def lapse_rate_height(t, hhl, out, *, height):
    r"""Temperature lapse rate :math:`(T(h) - T_N)/(z(h) - z_N)` [K m-1] from the lowest full level to
    ``height`` [m above ground] (the temperature there linear in height); NaN where ``height`` is not
    above the lowest full level. ICON's sign (negative where the temperature falls with height)."""
    _lapse_height(t, hhl, float(height), out)
    return out


__all__ = ["LI_PARCELS", "LINEAR", "LOG", "classic_indices", "downdraft_cape", "lapse_rate_height",
           "lapse_rate_pressure", "lifted_index", "showalter_index"]
