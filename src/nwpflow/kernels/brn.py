r"""Bulk Richardson number on model levels (numba kernel).

.. math::

    \mathrm{BRN}_k = \frac{g \, (z_k - z_s)\,(\theta_{v,k} - \theta_{v,N})}
                          {\overline{\theta_v}_{k..N} \; (u_k^2 + v_k^2)},
    \qquad
    \overline{\theta_v}_{k..N} = \frac{1}{N - k + 1} \sum_{j=k}^{N} \theta_{v,j}

for full levels :math:`k = 1` (model top) … :math:`N` (lowest), with :math:`z_k` the full-level height
(mean of the two half levels), :math:`z_s` the surface height and the virtual potential temperature

.. math::

    \theta_v = T \, \left(1 + \left(\frac{R_v}{R_d} - 1\right) q_v\right) \left(\frac{p_0}{p}\right)^{\kappa}.

This is MeteoSwiss's definition (fieldextra; meteodata-lab ``operators/brn.py``), which uses the lowest
model level as the reference level and averages θv over the layer between it and level k.
"""

from __future__ import annotations

import numpy as np
from numba import prange

from nwpflow.kernels._jit import inline, kernel
from nwpflow.kernels.power import pow_f32, power_table


BLOCK_COLUMNS = 8192
"""Columns per ``prange`` iteration. Larger than the package default: each block walks all 80 levels of
seven arrays, and short rows (512 columns = 2 KB) touch a new memory page per row and array, so the
TLB, not the bandwidth, limited the kernel (measured 0.34 -> 0.39-0.44 of the triad at ICON-CH1 size).
The partition is still fixed, so results do not depend on the number of threads."""


@kernel
def _brn(p_bits, t, qv, u, v, hhl, hsurf, table, p0_kappa, rv_rd_minus_1, g, out):
    nlev, ncol = t.shape
    nblocks = (ncol + BLOCK_COLUMNS - 1) // BLOCK_COLUMNS
    for b in prange(nblocks):
        j0 = b * BLOCK_COLUMNS
        n = min(BLOCK_COLUMNS, ncol - j0)
        theta_v_bottom = np.empty(n)
        theta_v_sum = np.zeros(n)
        k = nlev - 1
        for jj in range(n):
            j = j0 + jj
            theta_v_bottom[jj] = _theta_v(t[k, j], qv[k, j], p_bits[k, j], table, p0_kappa, rv_rd_minus_1)
        for k in range(nlev - 1, -1, -1):
            layers = nlev - k
            for jj in range(n):
                j = j0 + jj
                theta_v = _theta_v(t[k, j], qv[k, j], p_bits[k, j], table, p0_kappa, rv_rd_minus_1)
                theta_v_sum[jj] += theta_v
                uu = np.float64(u[k, j])
                vv = np.float64(v[k, j])
                height = 0.5 * (np.float64(hhl[k, j]) + np.float64(hhl[k + 1, j])) - np.float64(hsurf[j])
                out[k, j] = (
                    g * height * (theta_v - theta_v_bottom[jj]) * layers
                    / (theta_v_sum[jj] * (uu * uu + vv * vv))
                )


@inline
def _theta_v(t, qv, p_bits, table, p0_kappa, rv_rd_minus_1):
    return np.float64(t) * (1.0 + rv_rd_minus_1 * np.float64(qv)) * p0_kappa * pow_f32(p_bits, table)


def bulk_richardson_number(p, t, qv, u, v, hhl, hsurf, out, *, kappa, rv_rd_minus_1, g, p0):
    """Bulk Richardson number of every column, written into ``out``.

    Parameters
    ----------
    p, t, qv, u, v : ndarray, float32, (nlev, ncol), C-contiguous
        Pressure [Pa], temperature [K], specific humidity [kg kg-1], wind components at the mass
        points [m s-1] (destagger COSMO winds first: :mod:`nwpflow.kernels.stagger`), on full levels,
        level 0 = model top.
    hhl : ndarray, float32, (nlev + 1, ncol)
        Half-level heights [m above sea level].
    hsurf : ndarray, float32, (ncol,)
        Surface height [m above sea level].
    out : ndarray, float32, (nlev, ncol)
        Result [1]. Zero wind gives ±inf (0/0 at the lowest level gives NaN), as IEEE division does;
        NaN in any input gives NaN at that level and every level above it (it enters the θv mean).
    kappa, rv_rd_minus_1, g, p0 : float
        Rd/cpd [1], Rv/Rd − 1 [1], gravity [m s-2], reference pressure [Pa].

    Notes
    -----
    Columns are computed in fixed blocks, so the result is the same bits for any number of threads.
    """
    _brn(p.view(np.int32), t, qv, u, v, hhl, hsurf, power_table(-kappa), p0**kappa, rv_rd_minus_1, g, out)
    return out
