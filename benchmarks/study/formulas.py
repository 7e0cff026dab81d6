r"""Array-expression versions of the study's products, for the models that do not use nwpflow's kernels.

The same code runs on numpy arrays (product-level ``dask.delayed`` tasks, model (b)), on dask arrays
chunked over the horizontal (model (a), the seed's xarray + dask baseline) and on cuPyNumeric arrays
(Legate): each function takes the array module ``xp`` (``numpy``, ``dask.array`` or ``cupynumeric``).
Arrays are (level, cell), level 0 the model top, float32 in; arithmetic in float64 (as nwpflow's kernels),
float32 out. Constants are COSMO/ICON's (:mod:`nwpflow.constants`), so the results are comparable with
nwpflow's products to float32 rounding (checked in :mod:`benchmarks.study.models`).

* THETA :math:`\theta = T (p_0/p)^{\kappa}`;
* THETA_V :math:`\theta_v = \theta (1 + (R_v/R_d - 1) q_v)`;
* RELHUM :math:`100\, e / e_s(T)`, :math:`e = p q_v / (\varepsilon + (1 - \varepsilon) q_v)`, Magnus-Tetens
  :math:`e_s = b_1 \exp(b_2 (T - b_3)/(T - b_4))` over water;
* TD the inverse of that :math:`e_s`: :math:`T_d = (b_3 b_2 - b_4 x)/(b_2 - x)`, :math:`x = \ln(e/b_1)`;
* FF :math:`\sqrt{u^2 + v^2}`;
* BRN :math:`g (z_k - z_s)(\theta_{v,k} - \theta_{v,N}) / (\overline{\theta_v}_{k..N} (u_k^2 + v_k^2))`
  (:mod:`nwpflow.kernels.brn`).
"""

from __future__ import annotations

import numpy as np

from nwpflow import constants as c

PRODUCT_SET = ("THETA", "THETA_V", "RELHUM", "TD", "FF", "BRN")
"""The study's product set: the θ-type products, a wind product and BRN (all memory-bound or θ-like)."""

INPUTS = {"THETA": ("P", "T"), "THETA_V": ("P", "T", "QV"), "RELHUM": ("P", "T", "QV"), "TD": ("P", "QV"),
          "FF": ("U", "V"), "BRN": ("P", "T", "QV", "U", "V", "HHL", "HSURF")}


def theta(xp, p, t):
    return (t.astype(np.float64) * (c.p0 / p.astype(np.float64)) ** c.kappa).astype(np.float32)


def _theta_v64(xp, p, t, qv):
    p, t, qv = (a.astype(np.float64) for a in (p, t, qv))
    return t * (1.0 + c.rv_rd_minus_1 * qv) * (c.p0 / p) ** c.kappa


def theta_v(xp, p, t, qv):
    return _theta_v64(xp, p, t, qv).astype(np.float32)


def _vapour_pressure(xp, p, qv):
    qv = qv.astype(np.float64)
    return p.astype(np.float64) * qv / (c.epsilon + (1.0 - c.epsilon) * qv)


def relhum(xp, p, t, qv):
    b1, b2, b3, b4 = c.tetens_water
    t = t.astype(np.float64)
    return (100.0 * _vapour_pressure(xp, p, qv) / (b1 * xp.exp(b2 * (t - b3) / (t - b4)))).astype(np.float32)


def dewpoint(xp, p, qv):
    b1, b2, b3, b4 = c.tetens_water
    x = xp.log(_vapour_pressure(xp, p, qv) / b1)
    return ((b3 * b2 - b4 * x) / (b2 - x)).astype(np.float32)


def wind_speed(xp, u, v):
    u, v = u.astype(np.float64), v.astype(np.float64)
    return xp.sqrt(u * u + v * v).astype(np.float32)


def brn(xp, p, t, qv, u, v, hhl, hsurf):
    thv = _theta_v64(xp, p, t, qv)
    nlev = thv.shape[0]
    layers = xp.arange(nlev, 0, -1, dtype=np.float64)[:, None]  # N - k + 1 levels from k down to N
    total = xp.cumsum(thv, axis=0)  # from the top; cuPyNumeric has no reversed (step -1) slices
    mean = (total[-1:] - total + thv) / layers  # sum over k..N
    hhl = hhl.astype(np.float64)
    height = 0.5 * (hhl[:-1] + hhl[1:]) - hsurf.astype(np.float64)[None, :]
    u, v = u.astype(np.float64), v.astype(np.float64)
    return (c.g * height * (thv - thv[-1:]) / (mean * (u * u + v * v))).astype(np.float32)


FUNCTIONS = {"THETA": theta, "THETA_V": theta_v, "RELHUM": relhum, "TD": dewpoint, "FF": wind_speed, "BRN": brn}


def compute(xp, product: str, fields: dict):
    """``product`` from ``fields`` (name -> array) with the array module ``xp``."""
    return FUNCTIONS[product](xp, *(fields[name] for name in INPUTS[product]))
