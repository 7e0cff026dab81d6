r"""Moist thermodynamics: scalar helpers (inlined into kernels) and the kernels of the thermo products.

Scalar helpers
--------------
Float64 scalars in, float64 out, SI units, COSMO/ICON constants (:mod:`nwpflow.constants`). Other
kernels (e.g. :mod:`nwpflow.kernels.convection`) import them; their names are stable:

* :func:`saturation_vapour_pressure_water`, :func:`saturation_vapour_pressure_ice`: COSMO's
  Magnus-Tetens form :math:`e_s = b_1 \exp(b_2 (T - b_3) / (T - b_4))`;
* :func:`vapour_pressure` (from :math:`q_v` and :math:`p`), :func:`mixing_ratio` (from :math:`q_v`),
  :func:`specific_humidity_from_vapour_pressure`;
* :func:`dewpoint_from_vapour_pressure`: the exact inverse of :func:`saturation_vapour_pressure_water`;
* :func:`lcl_temperature`: Bolton (1980) eq. 15;
* :func:`vexp`, :func:`vlog`: ``exp`` and ``log`` that LLVM vectorises (see below), within 2 ulp of
  libm's.

Saturation vapour pressure in general form
------------------------------------------
The kernels take the saturation vapour pressure as four coefficients :math:`(A, a, B, C)` of

.. math:: \ln e_s(T) = A - a \ln T - \frac{B}{T - C},

which holds both forms exactly (:func:`magnus_coefficients`, :func:`ambaum_coefficients`):

* Magnus-Tetens :math:`e_s = b_1 \exp(b_2 (T - b_3)/(T - b_4))`: :math:`A = \ln b_1 + b_2`, :math:`a = 0`,
  :math:`B = b_2 (b_3 - b_4)`, :math:`C = b_4`. Its inverse (the dew point) is closed-form,
  :math:`T = C + B / (A - \ln e)`.
* Ambaum (2020) eqs. 13 and 17, :math:`e_s = e_0 (T_0/T)^{\Delta c / R_v}
  \exp\left(\left(\frac{L_0}{T_0} - \frac{L_0 - \Delta c (T - T_0)}{T}\right) / R_v\right)` with
  :math:`\Delta c = c_{l} - c_{pv}` (water) or :math:`c_i - c_{pv}` (ice):
  :math:`a = \Delta c / R_v`, :math:`B = (L_0 + \Delta c\, T_0) / R_v`, :math:`C = 0`,
  :math:`A = \ln e_0 + a \ln T_0 + (L_0/T_0 + \Delta c)/R_v`. Its inverse takes Newton's method
  (:data:`NEWTON_STEPS` steps from a Magnus-Tetens first guess, converged to float64 round-off).

Why ``vexp``/``vlog``
---------------------
``math.exp``/``math.log`` in a numba loop are calls to libm's scalar functions: LLVM cannot vectorise
them (the llvmlite wheels have no SVML). Measured on this project's 2-core AVX-512 machine, one thread:
6.8 ns per ``math.exp`` and 6.5 ns per ``math.log`` against 1.9 and 1.8 ns for :func:`vexp` and
:func:`vlog` in a vectorised loop, where a multiply-add costs 0.4 ns; with libm, RELHUM and TD were
compute-bound at a quarter of the memory bandwidth. :func:`vexp` and :func:`vlog` are written with
arithmetic and bit operations LLVM does vectorise (Cody-Waite reduction and a degree-13 Taylor
polynomial; exponent extraction and the atanh series, both in Estrin's scheme).
``tests/test_thermo.py::test_vexp_vlog_match_libm`` guards their accuracy.

Kernels
-------
The products are pointwise: the kernels take C-contiguous float32 arrays of any shape (the products pass
``(outer, level, ncol)``), write float32 into a preallocated ``out`` and compute in float64. They see the
arrays as flat and split them into fixed chunks of :data:`CHUNK` consecutive points that ``numba.prange``
distributes, so results are the same bits for any number of threads. A branch on a per-call constant
(Magnus-Tetens or Ambaum, one phase or mixed) is taken outside the inner loop, so that every inner loop
is straight-line code LLVM vectorises. NaN in any input gives NaN out.

References
----------
.. [Bolton1980] Bolton, D., 1980: The computation of equivalent potential temperature. Mon. Wea. Rev.,
   108, 1046-1053.
.. [Ambaum2020] Ambaum, M. H. P., 2020: Accurate, simple equation for saturated vapour pressure over
   water and ice. Q. J. R. Meteorol. Soc., 146, 4252-4258, doi:10.1002/qj.3899.
.. [IFS-CY47R3-PhysicalProcesses] ECMWF, 2021: IFS Documentation CY47R3 - Part IV: Physical processes,
   Chapter 12 (eq. 12.13, mixed-phase saturation).
.. [COSMO-PartII] Doms, G. et al., 2021: A Description of the Nonhydrostatic Regional COSMO-Model,
   Part II: Physical Parameterization (Magnus-Tetens constants b1, b2w, b2i, b3, b4w, b4i).
"""

from __future__ import annotations

import math

import numpy as np
from llvmlite import ir
from numba import prange, types
from numba.extending import intrinsic

from nwpflow import constants
from nwpflow.kernels._jit import BLOCK_COLUMNS, function, inline, kernel
from nwpflow.kernels.power import pow_f32, power_table

# ----------------------------------------------------------------------------------------------------
# Vectorisable exp and log
# ----------------------------------------------------------------------------------------------------


@intrinsic
def _as_int64(typingctx, x):
    """The bits of a float64 as an int64 (an LLVM ``bitcast``: free, and vectorisable)."""
    if isinstance(x, types.Float) and x.bitwidth == 64:
        def codegen(context, builder, signature, args):
            return builder.bitcast(args[0], ir.IntType(64))
        return types.int64(types.float64), codegen
    return None


@intrinsic
def _as_float64(typingctx, x):
    """The float64 whose bits are the int64 ``x``."""
    if isinstance(x, types.Integer) and x.bitwidth == 64:
        def codegen(context, builder, signature, args):
            return builder.bitcast(args[0], ir.DoubleType())
        return types.float64(x), codegen
    return None


_LOG2E = 1.4426950408889634
_LN2_HI = 0.6931471803691238  # ln 2 split so that k * _LN2_HI is exact for |k| < 2^11
_LN2_LO = 1.9082149292705877e-10
_ROUND = 6755399441055744.0  # 1.5 * 2^52: adding and subtracting it rounds to the nearest integer
_SQRT2 = 1.4142135623730951
_MANTISSA = (1 << 52) - 1
_ONE_BITS = 1023 << 52
_TINY = 2.2250738585072014e-308  # smallest normal float64
_TWO54 = 18014398509481984.0


@function
def vexp(x):
    r"""``exp(x)`` for float64 ``x``, within 2 ulp of libm, in operations LLVM vectorises.

    :math:`x = k \ln 2 + r`, :math:`|r| \le \ln 2 / 2` (Cody-Waite, two-part :math:`\ln 2`);
    :math:`e^r` by its Taylor series to :math:`r^{13}` (truncation below 2e-17, Estrin's scheme);
    :math:`2^k` built in the exponent bits. ``x`` >= 709 gives inf, ``x`` <= -708 gives 0 (no subnormal
    results), NaN gives NaN.
    """
    xc = x if x > -708.0 else -708.0  # NaN goes to -708 here; restored at the end
    xc = xc if xc < 709.0 else 709.0
    k = (xc * _LOG2E + _ROUND) - _ROUND
    r = (xc - k * _LN2_HI) - k * _LN2_LO
    # sum_{n=0..13} r^n / n! in Estrin's scheme
    r2 = r * r
    r4 = r2 * r2
    r8 = r4 * r4
    p01 = (1.0 + r) + r2 * (0.5 + r * (1.0 / 6.0))
    p23 = (1.0 / 24.0 + r * (1.0 / 120.0)) + r2 * (1.0 / 720.0 + r * (1.0 / 5040.0))
    p45 = (1.0 / 40320.0 + r * (1.0 / 362880.0)) + r2 * (1.0 / 3628800.0 + r * (1.0 / 39916800.0))
    p6 = 1.0 / 479001600.0 + r * (1.0 / 6227020800.0)
    p = (p01 + r4 * p23) + r8 * (p45 + r4 * p6)
    y = p * _as_float64((np.int64(k) + 1023) << 52)
    return y if x == xc else (math.inf if x > xc else (0.0 if x < xc else x))


@function
def vlog(x):
    r"""``log(x)`` for float64 ``x``, within 2 ulp of libm, in operations LLVM vectorises.

    :math:`x = 2^e m`, :math:`m \in [\sqrt{2}/2, \sqrt{2})`; :math:`\ln m = 2\,\mathrm{atanh}(s)`,
    :math:`s = (m - 1)/(m + 1)`, :math:`|s| \le 0.172`, by its series to :math:`s^{21}`. Subnormal
    inputs are scaled first. 0 gives -inf, inf gives inf, negative numbers and NaN give NaN.
    """
    tiny = x < _TINY
    xs = x * _TWO54 if tiny else x
    bits = _as_int64(xs)
    e = ((bits >> 52) & 0x7FF) - (1077 if tiny else 1023)
    m = _as_float64((bits & _MANTISSA) | _ONE_BITS)
    big = m > _SQRT2
    m = 0.5 * m if big else m
    e = e + 1 if big else e
    f = m - 1.0
    s = f / (2.0 + f)
    z = s * s
    z2 = z * z
    z4 = z2 * z2
    # q = sum_{k=0..9} z^k / (2k + 3) in Estrin's scheme (shorter dependency chain than Horner's: the
    # THETA_E kernel, four logs deep, runs 12 % faster).
    q01 = (1.0 / 3.0 + z * (1.0 / 5.0)) + z2 * (1.0 / 7.0 + z * (1.0 / 9.0))
    q23 = (1.0 / 11.0 + z * (1.0 / 13.0)) + z2 * (1.0 / 15.0 + z * (1.0 / 17.0))
    q = q01 + z4 * (q23 + z4 * (1.0 / 19.0 + z * (1.0 / 21.0)))
    ef = np.float64(e)
    y = ef * _LN2_HI + ((2.0 * s + 2.0 * s * z * q) + ef * _LN2_LO)
    ok = x > 0.0 and x < math.inf
    return y if ok else (-math.inf if x == 0.0 else (x if x == math.inf else math.nan))


# ----------------------------------------------------------------------------------------------------
# Scalar helpers (stable names: other kernels import them)
# ----------------------------------------------------------------------------------------------------

_B1, _B2W, _B3, _B4W = constants.tetens_water
_B2I, _B4I = constants.tetens_ice[1], constants.tetens_ice[3]
_EPSILON = constants.epsilon
_ONE_MINUS_EPSILON = 1.0 - constants.epsilon


@inline
def tetens(t, b1, b2, b3, b4):
    r"""Magnus-Tetens saturation vapour pressure [Pa] at temperature ``t`` [K].

    .. math:: e_s(T) = b_1 \exp\left(b_2 \frac{T - b_3}{T - b_4}\right)

    ``(b1, b2, b3, b4)`` as :data:`nwpflow.constants.tetens_water` (COSMO), ``tetens_ice``,
    ``ifs_tetens_water`` (IFS, earthkit-meteo, meteodata-lab), or Bolton (1980) eq. 10 as MetPy's
    ``dewpoint`` inverts it: (611.2 Pa, 17.67, 273.15 K, 29.65 K).
    """
    return b1 * vexp(b2 * (t - b3) / (t - b4))


@inline
def tetens_inverse(e, b1, b2, b3, b4):
    r"""Temperature [K] at which :func:`tetens` gives ``e`` [Pa]: its exact inverse.

    .. math:: T = \frac{b_3 b_2 - b_4 x}{b_2 - x}, \qquad x = \ln(e / b_1)

    ``e`` → 0 gives :math:`T \to b_4` (finite); ``e`` = 0 and ``e`` < 0 give NaN.
    """
    x = vlog(e / b1)
    t = (b3 * b2 - b4 * x) / (b2 - x)
    return t if e > 0.0 else math.nan


@inline
def saturation_vapour_pressure_water(t):
    r"""Saturation vapour pressure over water [Pa] at ``t`` [K]: COSMO's Magnus-Tetens form.

    .. math:: e_{s,w}(T) = 610.78\,\mathrm{Pa}\, \exp\left(17.2693882 \frac{T - 273.16}{T - 35.86}\right)

    COSMO ``b1, b2w, b3, b4w`` (:data:`nwpflow.constants.tetens_water`).
    """
    return tetens(t, _B1, _B2W, _B3, _B4W)


@inline
def saturation_vapour_pressure_ice(t):
    r"""Saturation vapour pressure over ice [Pa] at ``t`` [K]: COSMO's Magnus-Tetens form.

    .. math:: e_{s,i}(T) = 610.78\,\mathrm{Pa}\, \exp\left(21.8745584 \frac{T - 273.16}{T - 7.66}\right)

    COSMO ``b1, b2i, b3, b4i`` (:data:`nwpflow.constants.tetens_ice`).
    """
    return tetens(t, _B1, _B2I, _B3, _B4I)


@inline
def vapour_pressure(qv, p):
    r"""Water vapour partial pressure [Pa] from specific humidity ``qv`` [kg kg-1] and pressure ``p`` [Pa].

    .. math:: e = \frac{p\, q_v}{\varepsilon + (1 - \varepsilon)\, q_v}, \qquad \varepsilon = R_d / R_v

    (COSMO ``rdv``, ``o_rdv``.)
    """
    return p * qv / (_EPSILON + _ONE_MINUS_EPSILON * qv)


@inline
def mixing_ratio(qv):
    r"""Water vapour mixing ratio [kg kg-1] from specific humidity ``qv`` [kg kg-1]: :math:`r = q_v / (1 - q_v)`."""
    return qv / (1.0 - qv)


@inline
def specific_humidity_from_vapour_pressure(e, p):
    r"""Specific humidity [kg kg-1] from vapour pressure ``e`` [Pa] and pressure ``p`` [Pa].

    .. math:: q_v = \frac{\varepsilon e}{p - (1 - \varepsilon) e}

    The inverse of :func:`vapour_pressure`; with :math:`e = e_s(T)` it is the saturation specific humidity.
    """
    return _EPSILON * e / (p - _ONE_MINUS_EPSILON * e)


@inline
def dewpoint_from_vapour_pressure(e):
    r"""Dew point [K] from vapour pressure ``e`` [Pa]: the exact inverse of
    :func:`saturation_vapour_pressure_water` (COSMO Magnus-Tetens over water).

    .. math:: T_d = \frac{b_3 b_{2w} - b_{4w} x}{b_{2w} - x}, \qquad x = \ln(e / b_1)

    Very dry air (``e`` → 0) gives :math:`T_d \to b_{4w}` = 35.86 K, finite; ``e`` <= 0 gives NaN.
    """
    return tetens_inverse(e, _B1, _B2W, _B3, _B4W)


@inline
def lcl_temperature(t, td):
    r"""Temperature [K] at the lifting condensation level of air at ``t`` [K] with dew point ``td`` [K].

    Bolton (1980), eq. 15:

    .. math:: T_L = \frac{1}{\frac{1}{T_d - 56} + \frac{\ln(T / T_d)}{800}} + 56
    """
    return 1.0 / (1.0 / (td - 56.0) + vlog(t / td) / 800.0) + 56.0


# ----------------------------------------------------------------------------------------------------
# Saturation vapour pressure in the general form ln es = A - a ln T - B / (T - C)
# ----------------------------------------------------------------------------------------------------

NEWTON_STEPS = 5
"""Newton steps of the inverse of the Ambaum form, from Bolton's Magnus-Tetens inverse as first guess.
Converged to float64 round-off for every e >= 1e-30 Pa (T_d >= 63 K; four steps suffice above 1e-20 Pa)
and to 1e-11 in ln e at 1e-45 Pa, the vapour pressure of the smallest float32 humidity
(``tests/test_thermo.py::test_saturation_inverse_is_exact``). The steps are written out, not looped: a
loop inside the point loop stops LLVM from vectorising it (measured 4x slower)."""



def magnus_coefficients(b1: float, b2: float, b3: float, b4: float) -> tuple[float, float, float, float]:
    r"""``(A, a, B, C)`` of the Magnus-Tetens form :math:`b_1 \exp(b_2 (T - b_3)/(T - b_4))`."""
    return (math.log(b1) + b2, 0.0, b2 * (b3 - b4), float(b4))


_G = magnus_coefficients(*constants.bolton_water)
"""Bolton (1980) eq. 10 in the general form: the first guess of the inverse of the Ambaum form."""


def ambaum_coefficients(e0: float, t0: float, l0: float, dc: float, rv: float) -> tuple[float, float, float, float]:
    r"""``(A, a, B, C)`` of the Ambaum (2020) form (eq. 13 over water, eq. 17 over ice).

    ``e0`` [Pa] saturation vapour pressure at ``t0`` [K], ``l0`` [J kg-1] latent heat at ``t0``,
    ``dc`` [J kg-1 K-1] specific heat of the condensate minus that of vapour at constant pressure,
    ``rv`` [J kg-1 K-1] gas constant of water vapour (:data:`nwpflow.constants.ambaum_water`).
    """
    a = dc / rv
    return (math.log(e0) + a * math.log(t0) + (l0 / t0 + dc) / rv, a, (l0 + dc * t0) / rv, 0.0)


@inline
def log_saturation_vapour_pressure(t, ca, a, cb, cc):
    r""":math:`\ln e_s(T)` [ln Pa] of the general form :math:`(A, a, B, C)` at ``t`` [K]."""
    return ca - a * vlog(t) - cb / (t - cc)


@inline
def _log_es_magnus(t, ca, cb, cc):
    return ca - cb / (t - cc)


@inline
def _magnus_inverse(log_e, ca, cb, cc):
    return cc + cb / (ca - log_e)


@inline
def _newton_step(t, log_e, ca, a, cb, cc):
    tc = t - cc
    f = ca - a * vlog(t) - cb / tc - log_e
    return t - f / (cb / (tc * tc) - a / t)


@inline
def saturation_temperature(log_e, ca, a, cb, cc):
    r"""Temperature [K] at which the general form :math:`(A, a, B, C)` gives :math:`\ln e_s` = ``log_e``.

    Closed form for Magnus-Tetens (:math:`a = 0`): :math:`T = C + B / (A - \ln e)`. Otherwise
    :data:`NEWTON_STEPS` Newton steps on :math:`f(T) = A - a \ln T - B/(T - C) - \ln e` from Bolton's
    Magnus-Tetens inverse. (In a kernel, branch on ``a == 0`` outside the column loop and call
    :func:`_magnus_inverse` / :func:`_ambaum_inverse` in it, so that the loop vectorises.)
    """
    if a == 0.0:
        return _magnus_inverse(log_e, ca, cb, cc)
    return _ambaum_inverse(log_e, ca, a, cb, cc)


@inline
def _ambaum_inverse(log_e, ca, a, cb, cc):
    t = _magnus_inverse(log_e, _G[0], _G[2], _G[3])
    t = _newton_step(t, log_e, ca, a, cb, cc)
    t = _newton_step(t, log_e, ca, a, cb, cc)
    t = _newton_step(t, log_e, ca, a, cb, cc)
    t = _newton_step(t, log_e, ca, a, cb, cc)
    return _newton_step(t, log_e, ca, a, cb, cc)


@inline
def _blend(t, es_w, es_i, t_ice, t_water):
    """IFS mixed-phase saturation vapour pressure: α e_w + (1 − α) e_i, α = clip((T − Ti)/(T0 − Ti))²."""
    x = (t - t_ice) / (t_water - t_ice)
    x = x if x > 0.0 else 0.0
    x = x if x < 1.0 else 1.0
    alpha = x * x
    return alpha * es_w + (1.0 - alpha) * es_i


@inline
def _clip(x, lower, upper):
    """``x`` clipped to [lower, upper]; NaN stays NaN."""
    x = x if x > lower else (lower if x == x else x)
    return x if x < upper else (upper if x == x else x)


PHASES = {"water": 0, "ice": 1, "mixed": 2}
"""Phase codes of :func:`relative_humidity`."""

# ----------------------------------------------------------------------------------------------------
# Kernels
# ----------------------------------------------------------------------------------------------------


CHUNK = 64 * BLOCK_COLUMNS
"""Points one ``prange`` iteration of a pointwise kernel handles (128 KiB of each float32 array).

The thermo products are pointwise, so their kernels see the ``(level, ncol)`` arrays as flat arrays
and split them into fixed chunks of consecutive points (fixed, so results are the same bits for any
number of threads). Blocks of columns over every level (as column kernels need) would read each row
in 2 KiB pieces 1.1 MB apart at ICON-CH2 size: on memory not backed by huge pages that defeats the
hardware prefetcher and the TLB, measured 5x slower for TD."""


@kernel
def _theta(p_bits, t, table, p0_kappa, out):
    n = t.size
    for b in prange((n + CHUNK - 1) // CHUNK):
        for i in range(b * CHUNK, min(b * CHUNK + CHUNK, n)):
            out[i] = np.float64(t[i]) * p0_kappa * pow_f32(p_bits[i], table)


@kernel
def _theta_v(p_bits, t, qv, table, p0_kappa, c, out):
    n = t.size
    for b in prange((n + CHUNK - 1) // CHUNK):
        for i in range(b * CHUNK, min(b * CHUNK + CHUNK, n)):
            out[i] = np.float64(t[i]) * (1.0 + c * np.float64(qv[i])) * p0_kappa * pow_f32(p_bits[i], table)


@inline
def _theta_e_point(tt, q, pp, e, td, kappa, log_p0):
    # θe = T (p0/(p - e))^κ (T/T_L)^(0.28 r) exp((3036/T_L - 1.78) r (1 + 0.448 r)), in one exp.
    r = q / (1.0 - q)
    t_lcl = 1.0 / (1.0 / (td - 56.0) + vlog(tt / td) / 800.0) + 56.0
    moist = 0.28 * r * vlog(tt / t_lcl) + (3036.0 / t_lcl - 1.78) * r * (1.0 + 0.448 * r)
    moist = moist if q != 0.0 else 0.0  # dry air: the limit r -> 0 (T_d and T_L are undefined there)
    return tt * vexp(kappa * (log_p0 - vlog(pp - e)) + moist)


@kernel
def _theta_e_bolton(p, t, qv, ca, a, cb, cc, kappa, log_p0, epsilon, out):
    n = t.size
    one_minus_epsilon = 1.0 - epsilon
    for b in prange((n + CHUNK - 1) // CHUNK):
        i0 = b * CHUNK
        i1 = min(i0 + CHUNK, n)
        if a == 0.0:
            for i in range(i0, i1):
                tt, q, pp = np.float64(t[i]), np.float64(qv[i]), np.float64(p[i])
                e = pp * q / (epsilon + one_minus_epsilon * q)
                td = _magnus_inverse(vlog(e), ca, cb, cc)
                out[i] = _theta_e_point(tt, q, pp, e, td, kappa, log_p0)
        else:
            for i in range(i0, i1):
                tt, q, pp = np.float64(t[i]), np.float64(qv[i]), np.float64(p[i])
                e = pp * q / (epsilon + one_minus_epsilon * q)
                td = _ambaum_inverse(vlog(e), ca, a, cb, cc)
                out[i] = _theta_e_point(tt, q, pp, e, td, kappa, log_p0)


@kernel
def _theta_e_fieldextra(p_bits, t, qv, table, p0_kappa, lv_cpd, out):
    n = t.size
    for b in prange((n + CHUNK - 1) // CHUNK):
        for i in range(b * CHUNK, min(b * CHUNK + CHUNK, n)):
            tt = np.float64(t[i])
            q = np.float64(qv[i])
            out[i] = tt * p0_kappa * pow_f32(p_bits[i], table) * vexp(lv_cpd * q / ((1.0 - q) * tt))


@kernel
def _dewpoint(p, qv, ca, a, cb, cc, epsilon, out):
    n = qv.size
    one_minus_epsilon = 1.0 - epsilon
    for b in prange((n + CHUNK - 1) // CHUNK):
        i0 = b * CHUNK
        i1 = min(i0 + CHUNK, n)
        if a == 0.0:
            for i in range(i0, i1):
                q = np.float64(qv[i])
                e = np.float64(p[i]) * q / (epsilon + one_minus_epsilon * q)
                td = _magnus_inverse(vlog(e), ca, cb, cc)
                out[i] = td if e > 0.0 else math.nan
        else:
            for i in range(i0, i1):
                q = np.float64(qv[i])
                e = np.float64(p[i]) * q / (epsilon + one_minus_epsilon * q)
                td = _ambaum_inverse(vlog(e), ca, a, cb, cc)
                out[i] = td if e > 0.0 else math.nan


@kernel
def _relative_humidity(p, t, qv, w, i_, mixed, t_ice, t_water, epsilon, lower, upper, out):
    n = t.size
    one_minus_epsilon = 1.0 - epsilon
    wa, wb, wc, wd = w
    ia, ib, ic, id_ = i_
    for b in prange((n + CHUNK - 1) // CHUNK):
        i0 = b * CHUNK
        i1 = min(i0 + CHUNK, n)
        if not mixed and wb == 0.0:
            for i in range(i0, i1):
                q = np.float64(qv[i])
                e = np.float64(p[i]) * q / (epsilon + one_minus_epsilon * q)
                es = vexp(_log_es_magnus(np.float64(t[i]), wa, wc, wd))
                out[i] = _clip(100.0 * e / es, lower, upper)
        elif not mixed:
            for i in range(i0, i1):
                q = np.float64(qv[i])
                e = np.float64(p[i]) * q / (epsilon + one_minus_epsilon * q)
                es = vexp(log_saturation_vapour_pressure(np.float64(t[i]), wa, wb, wc, wd))
                out[i] = _clip(100.0 * e / es, lower, upper)
        elif wb == 0.0:
            for i in range(i0, i1):
                q = np.float64(qv[i])
                e = np.float64(p[i]) * q / (epsilon + one_minus_epsilon * q)
                tt = np.float64(t[i])
                es = _blend(tt, vexp(_log_es_magnus(tt, wa, wc, wd)), vexp(_log_es_magnus(tt, ia, ic, id_)),
                            t_ice, t_water)
                out[i] = _clip(100.0 * e / es, lower, upper)
        else:
            for i in range(i0, i1):
                q = np.float64(qv[i])
                e = np.float64(p[i]) * q / (epsilon + one_minus_epsilon * q)
                tt = np.float64(t[i])
                es = _blend(tt, vexp(log_saturation_vapour_pressure(tt, wa, wb, wc, wd)),
                            vexp(log_saturation_vapour_pressure(tt, ia, ib, ic, id_)), t_ice, t_water)
                out[i] = _clip(100.0 * e / es, lower, upper)


# ----------------------------------------------------------------------------------------------------
# Python entry points (shape checks here, never in the kernels)
# ----------------------------------------------------------------------------------------------------


def _flat(out: np.ndarray, **arrays: np.ndarray) -> list[np.ndarray]:
    """Flat views of ``arrays`` and ``out`` (last), after checking they are C-contiguous float32 of one shape."""
    if out.dtype != np.float32 or not out.flags.c_contiguous:
        raise ValueError(f"out must be a C-contiguous float32 array, not {out.dtype} {out.shape}")
    for name, a in arrays.items():
        if a.shape != out.shape or a.dtype != np.float32 or not a.flags.c_contiguous:
            raise ValueError(f"{name} must be a C-contiguous float32 array of shape {out.shape}, "
                             f"not {a.dtype} {a.shape}")
    return [a.reshape(-1) for a in (*arrays.values(), out)]


def potential_temperature(p, t, out, *, kappa, p0):
    r"""Potential temperature [K] of every point, written into ``out``.

    .. math:: \theta = T \left(\frac{p_0}{p}\right)^{\kappa}

    Parameters
    ----------
    p, t : ndarray, float32, C-contiguous
        Pressure [Pa] and temperature [K], any shape (the products pass ``(level, ncol)``).
    out : ndarray, float32, same shape
        Result [K]. Non-positive or NaN pressure gives NaN.
    kappa, p0 : float
        :math:`R_d / c_{pd}` [1] and the reference pressure [Pa].
    """
    p, t, flat_out = _flat(out, p=p, t=t)
    _theta(p.view(np.int32), t, power_table(-kappa), p0**kappa, flat_out)
    return out


def virtual_potential_temperature(p, t, qv, out, *, kappa, p0, rv_rd_minus_1):
    r"""Virtual potential temperature [K], written into ``out``.

    .. math:: \theta_v = T \left(1 + \left(\frac{R_v}{R_d} - 1\right) q_v\right) \left(\frac{p_0}{p}\right)^{\kappa}

    ``qv`` specific humidity [kg kg-1], ``rv_rd_minus_1`` = :math:`R_v/R_d - 1` [1]; the rest as
    :func:`potential_temperature`.
    """
    p, t, qv, flat_out = _flat(out, p=p, t=t, qv=qv)
    _theta_v(p.view(np.int32), t, qv, power_table(-kappa), p0**kappa, rv_rd_minus_1, flat_out)
    return out


def equivalent_potential_temperature(p, t, qv, out, *, method, saturation, kappa, p0, epsilon, lv, cpd):
    r"""Equivalent potential temperature [K], written into ``out``.

    ``method="bolton"``: Bolton (1980) eq. 39 with the LCL temperature of eq. 15,

    .. math::

        \theta_e = T \left(\frac{p_0}{p - e}\right)^{\kappa} \left(\frac{T}{T_L}\right)^{0.28 r}
                   \exp\left[\left(\frac{3036}{T_L} - 1.78\right) r (1 + 0.448 r)\right],
        \qquad T_L = \frac{1}{\frac{1}{T_d - 56} + \frac{\ln(T/T_d)}{800}} + 56

    with :math:`r = q_v/(1 - q_v)` [kg kg-1], :math:`e = p q_v / (\varepsilon + (1 - \varepsilon) q_v)`
    and :math:`T_d` the dew point of :math:`e` under the saturation form ``saturation`` (``(A, a, B,
    C)``: :func:`magnus_coefficients`, :func:`ambaum_coefficients`). ``lv`` and ``cpd`` are unused.
    Dry air (:math:`q_v = 0`) gives the limit :math:`T (p_0/p)^\kappa`; :math:`q_v < 0` gives NaN.

    ``method="fieldextra"``:

    .. math:: \theta_e = T \left(\frac{p_0}{p}\right)^{\kappa} \exp\left(\frac{L_v r}{c_{pd} T}\right)

    (``saturation`` and ``epsilon`` unused).

    Arrays as :func:`potential_temperature` (``qv`` specific humidity [kg kg-1]).
    """
    p, t, qv, flat_out = _flat(out, p=p, t=t, qv=qv)
    if method == "bolton":
        _theta_e_bolton(p, t, qv, *map(float, saturation), float(kappa), math.log(p0), float(epsilon), flat_out)
    elif method == "fieldextra":
        _theta_e_fieldextra(p.view(np.int32), t, qv, power_table(-kappa), p0**kappa, lv / cpd, flat_out)
    else:
        raise ValueError(f"method must be 'bolton' or 'fieldextra', not {method!r}")
    return out


def dewpoint(p, qv, out, *, saturation, epsilon):
    r"""Dew point [K] from pressure ``p`` [Pa] and specific humidity ``qv`` [kg kg-1], written into ``out``.

    .. math:: T_d = e_s^{-1}(e), \qquad e = \frac{p\, q_v}{\varepsilon + (1 - \varepsilon) q_v}

    the exact inverse of the saturation form ``saturation`` (``(A, a, B, C)``; closed form for
    Magnus-Tetens, Newton for Ambaum). Very dry air stays finite: every positive float32 ``qv`` gives a
    finite dew point, decreasing with ``qv`` (as :math:`e \to 0`, :math:`T_d \to b_4` = 35.86 K for
    COSMO's Magnus-Tetens, :math:`T_d \to 0` for Ambaum; at 1 Pa and ``qv`` = 1e-45 they give 68 K and
    48 K); ``qv`` <= 0 gives NaN (no dew point exists).
    """
    p, qv, flat_out = _flat(out, p=p, qv=qv)
    _dewpoint(p, qv, *map(float, saturation), float(epsilon), flat_out)
    return out


def relative_humidity(p, t, qv, out, *, phase, water, ice, mixed_range, epsilon, clip=None):
    r"""Relative humidity [%], :math:`100\, e / e_s(T)`, written into ``out``.

    :math:`e` as in :func:`dewpoint`. ``phase``: ``"water"`` (:math:`e_s` = the form ``water``),
    ``"ice"`` (the form ``ice``) or ``"mixed"``, the IFS blend (IFS CY47R3 Part IV eq. 12.13)

    .. math::

        e_s = \alpha e_{s,w} + (1 - \alpha) e_{s,i}, \qquad
        \alpha = \min\left(1, \max\left(0, \frac{T - T_i}{T_0 - T_i}\right)\right)^2

    with ``mixed_range`` = :math:`(T_i, T_0)`. ``water`` and ``ice`` are ``(A, a, B, C)`` forms of the same
    kind. ``clip``: None, or ``(lower, upper)`` bounds [%] applied to non-NaN values.
    """
    p, t, qv, flat_out = _flat(out, p=p, t=t, qv=qv)
    if phase not in PHASES:
        raise ValueError(f"phase must be one of {', '.join(map(repr, PHASES))}, not {phase!r}")
    first = tuple(map(float, ice if phase == "ice" else water))
    lower, upper = (-math.inf, math.inf) if clip is None else map(float, clip)
    _relative_humidity(p, t, qv, first, tuple(map(float, ice)), phase == "mixed", float(mixed_range[0]),
                       float(mixed_range[1]), float(epsilon), lower, upper, flat_out)
    return out
