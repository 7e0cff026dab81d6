r"""Wet-bulb temperature (numba kernels): Normand's construction on the CAPE ascent's pseudo-adiabat, and
the closed form ICON's snowfall limit uses.

``method="normand"`` (Normand's rule, [Normand1938]_; MetPy's ``wet_bulb_temperature``): lift the air dry
adiabatically to its lifting condensation level, then bring it down the pseudo-adiabat through the LCL to
its own pressure,

.. math:: T_w = T_\mathrm{pseudo}(p;\ p_{LCL}, T_{LCL}),

the LCL and the pseudo-adiabat being those of the CAPE/CIN ascent
(:func:`nwpflow.kernels.convection.parcel_lcl`, :func:`~nwpflow.kernels.convection.pseudo_adiabat`): the
LCL solved to float64 round-off, the pseudo-adiabat by Runge-Kutta steps of at most 5 % in pressure,
within 2e-6 K of the converged solution. This is the (pseudo-)adiabatic wet-bulb temperature; the
isobaric (psychrometric) one differs from it by up to a few tenths of a kelvin in warm, dry air.

``method="icon"``: the closed form of ICON's ``calsnowlmt`` (``mo_opt_nwp_diagnostics.f90``), "after
Egger/Joss" (MeteoSwiss), with its own Magnus dew point (:math:`\log_{10}`, hPa):

.. math::

    C = \log_{10} e - 0.78588481, \quad T_d = \frac{33.45\, C - 2066.92605}{C - 7.567}, \quad
    x = 10 (T - T_0),\ x_d = 10 (T_d - T_0),\ \delta = x - x_d,

    z_t = x_d + \tfrac12 \delta \left(0.6 - \frac{x_d}{700}\right), \qquad
    T_w - T_0 = 0.1 \left(x_d + \frac{\delta}{1 + 6400\, e^{11.564 z_t / (1742 + z_t)} / (10\, p_\mathrm{hPa})}\right)

with :math:`e = \max(10^{-10}, q_v)\, p_\mathrm{hPa} / (0.622 + 0.378 \max(10^{-10}, q_v))` [hPa]. Against
Normand's construction (``tests/test_wetbulb.py``, IFS points, 240-310 K): within 1 K, 0.35 K at the 99th
percentile, where the relative humidity is at least 5 %; up to 8 K too cold in drier air.

Pointwise kernels on flat views of C-contiguous float32 arrays in fixed chunks (as
:mod:`nwpflow.kernels.thermo`), float64 arithmetic; the same bits for any number of threads.
"""

from __future__ import annotations

import math

import numpy as np
from numba import prange

from nwpflow.kernels._jit import inline, kernel
from nwpflow.kernels.codes import WET_BULB_METHODS
from nwpflow.kernels.convection import parcel_lcl, pseudo_adiabat
from nwpflow.kernels.thermo import CHUNK, vexp, vlog

METHODS = WET_BULB_METHODS

_LOG10 = math.log(10.0)


@inline
def icon_wet_bulb(p, t, qv, t0):
    """Wet-bulb temperature [K] of ICON's ``calsnowlmt`` at ``p`` [Pa], ``t`` [K], ``qv`` [kg kg-1]."""
    zp = p / 100.0
    q = qv if qv > 1.0e-10 else 1.0e-10
    ep = q * zp / (0.622 + 0.378 * q)
    ep = ep if ep > 1.0e-10 else 1.0e-10
    const = vlog(ep) / _LOG10 - 0.78588481
    td = (33.45 * const - 2066.92605) / (const - 7.567)
    tl = (t - t0) * 10.0
    tp = (td - t0) * 10.0
    deltat = tl - tp
    zt = tp + 0.5 * deltat * (0.6 - tp / 700.0)
    return t0 + 0.1 * (tp + deltat / (1.0 + 6400.0 * vexp(11.564 * zt / (1742.0 + zt)) / (zp * 10.0)))


@inline
def normand_wet_bulb(p, t, qv, s, c):
    """Wet-bulb temperature [K] by Normand's rule (module docstring); NaN for ``qv <= 0``."""
    p_lcl, t_lcl = parcel_lcl(p, t, qv, s, c)
    if p_lcl >= p:
        return t
    return pseudo_adiabat(p_lcl, t_lcl, p, s, c) if p_lcl > 0.0 else math.nan


@kernel
def _wet_bulb(p, t, qv, method, s, c, t0, out):
    n = t.size
    for b in prange((n + CHUNK - 1) // CHUNK):
        i1 = min(b * CHUNK + CHUNK, n)
        if method == 0:
            for i in range(b * CHUNK, i1):
                out[i] = normand_wet_bulb(np.float64(p[i]), np.float64(t[i]), np.float64(qv[i]), s, c)
        else:
            for i in range(b * CHUNK, i1):
                out[i] = icon_wet_bulb(np.float64(p[i]), np.float64(t[i]), np.float64(qv[i]), t0)


def wet_bulb_temperature(p, t, qv, out, *, method, saturation, parcel_constants, t0):
    """Wet-bulb temperature [K] of every point, written into ``out``.

    Parameters
    ----------
    p, t, qv : ndarray, float32, C-contiguous, one shape
        Pressure [Pa], temperature [K], specific humidity [kg kg-1].
    out : ndarray, float32, same shape
        Result [K]; NaN where an input is NaN (and, for ``"normand"``, where ``qv <= 0``).
    method : {"normand", "icon"}
        Module docstring.
    saturation : sequence of 4 floats
        Saturation vapour pressure over water ``(A, a, B, C)`` of the LCL and the pseudo-adiabat
        (``"normand"``).
    parcel_constants : ParcelConstants
        Constants of the ascent (``"normand"``).
    t0 : float
        Melting point [K] (``"icon"``).
    """
    for name, a in (("p", p), ("t", t), ("qv", qv)):
        if a.shape != out.shape or a.dtype != np.float32 or not a.flags.c_contiguous:
            raise ValueError(f"{name} must be a C-contiguous float32 array of shape {out.shape}")
    if out.dtype != np.float32 or not out.flags.c_contiguous:
        raise ValueError("out must be a C-contiguous float32 array")
    _wet_bulb(p.reshape(-1), t.reshape(-1), qv.reshape(-1), METHODS[method], tuple(map(float, saturation)),
              tuple(float(x) for x in parcel_constants), float(t0), out.reshape(-1))
    return out


__all__ = ["METHODS", "icon_wet_bulb", "normand_wet_bulb", "wet_bulb_temperature"]
