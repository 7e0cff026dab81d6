r"""Bulk wind shear, Bunkers storm motion and storm-relative helicity on model columns (numba kernels).

Conventions as :mod:`nwpflow.kernels.vertical` (arrays ``(level, ncol)``, level 0 = model top, half-level
heights ``HHL`` above sea level whose lowest one is the ground, full-level heights the mean of two half
levels, float64 arithmetic, fixed column blocks: the same bits for any number of threads). Winds are the
components at the mass points in one horizontal frame (the shear's and the helicity's magnitudes do not
depend on it; the storm motion is in the frame of the winds).

Bulk shear (ICON ``compute_field_wshear``, ``mo_opt_nwp_diagnostics.f90``)
------------------------------------------------------------------------------
The wind at height :math:`h` above ground, linear in height between full levels (at the lowest full
level where :math:`h` lies below it), minus the wind of the lowest model level:

.. math:: \Delta\mathbf{V}(h) = \mathbf{V}(\max(h, z_N)) - \mathbf{V}_N, \qquad |\Delta\mathbf{V}|.

Bunkers storm motion ([Bunkers2000]_, ICON ``compute_field_srh``)
-----------------------------------------------------------------
.. math::

    \mathbf{C} = \bar{\mathbf{V}}_{0-6} \pm D\, \frac{\mathbf{S} \times \hat{\mathbf{k}}}{|\mathbf{S}|},
    \qquad \mathbf{S} = \bar{\mathbf{V}}_{5.5-6} - \bar{\mathbf{V}}_{0-0.5}, \qquad D = 7.5\ \mathrm{m\,s^{-1}},

``+`` for the right mover: :math:`C_u = \bar u + D S_v/|S|`, :math:`C_v = \bar v - D S_u/|S|`. The layer
means (km above ground) are height-weighted box means over the model layers (``mean="height"``: ICON's
``vert_integral_vec_1d``, and Bunkers' "0-6-km non-pressure-weighted mean wind"), or MetPy's
``weighted_continuous_average`` (``mean="metpy"``): :math:`\int u\, dp / \Delta p` by trapezoids over the
full levels inside the layer and its bounds, the layer's heights measured from the lowest full level, the
bounds' pressures linear in height and their winds linear in :math:`\ln p` (MetPy ``get_layer``).

Storm-relative helicity ([DaviesJones1990]_)
-------------------------------------------
.. math::

    \mathrm{SRH} = -\int_{z_N}^{h} \hat{\mathbf{k}} \cdot (\mathbf{V} - \mathbf{C}) \times
    \frac{\partial \mathbf{V}}{\partial z}\, dz
    = \sum_i \left[(u_{i+1} - C_u)(v_i - C_v) - (u_i - C_u)(v_{i+1} - C_v)\right],

exact for a wind linear in height between the nodes: the full levels from the lowest one up to
:math:`h` [m above ground], the wind at :math:`h` interpolated linearly in height (MetPy's
``storm_relative_helicity``). ICON's ``compute_field_srh`` integrates a centred-difference estimate of
the same integrand over the model layers' boxes from the ground instead; ``tests/test_kinematics.py``
computes the difference on the sample.
"""

from __future__ import annotations

import math

import numpy as np
from numba import prange

from nwpflow.kernels._jit import BLOCK_COLUMNS, function, inline, kernel
from nwpflow.kernels.codes import STORM_MEANS

BUNKERS_DEVIATION = 7.5
"""Deviation D [m s-1] of the supercell motion from the mean wind ([Bunkers2000]_)."""

BUNKERS_LAYERS = (6000.0, 500.0, 5500.0)
"""Bunkers' layers [m above ground]: the mean wind over 0 to 6000 m, the shear between the means over 0 to
500 m and 5500 to 6000 m."""

MEANS = STORM_MEANS


@inline
def _z_full(hhl, k, j):
    return 0.5 * (np.float64(hhl[k, j]) + np.float64(hhl[k + 1, j]))


@inline
def _at_height(f, hhl, j, z):
    """``f`` interpolated linearly in height to ``z`` [m above sea level] between the full levels; NaN
    outside their range."""
    nlev = f.shape[0]
    for k in range(nlev - 1, 0, -1):
        z_low = _z_full(hhl, k, j)
        z_up = _z_full(hhl, k - 1, j)
        if z_low <= z and z <= z_up:
            f_low = np.float64(f[k, j])
            return f_low + (np.float64(f[k - 1, j]) - f_low) * (z - z_low) / (z_up - z_low)
    return math.nan


@kernel
def _shear(u, v, hhl, heights, out):
    nlev, ncol = u.shape
    nblocks = (ncol + BLOCK_COLUMNS - 1) // BLOCK_COLUMNS
    for b in prange(nblocks):
        for j in range(b * BLOCK_COLUMNS, min(b * BLOCK_COLUMNS + BLOCK_COLUMNS, ncol)):
            ground = np.float64(hhl[nlev, j])
            z_lowest = _z_full(hhl, nlev - 1, j)
            u0 = np.float64(u[nlev - 1, j])
            v0 = np.float64(v[nlev - 1, j])
            for i in range(heights.shape[0]):
                z = ground + heights[i]
                z = z if z > z_lowest else z_lowest
                du = _at_height(u, hhl, j, z) - u0
                dv = _at_height(v, hhl, j, z) - v0
                out[0, i, j] = du
                out[1, i, j] = dv
                out[2, i, j] = math.sqrt(du * du + dv * dv)


def bulk_shear(u, v, hhl, heights, out):
    r"""Bulk wind shear between the lowest model level and heights above ground, in every column.

    Parameters
    ----------
    u, v : ndarray, float32, (nlev, ncol)
        Wind components at the mass points [m s-1].
    hhl : ndarray, float32, (nlev + 1, ncol)
        Half-level heights [m above sea level].
    heights : ndarray, float64, (nheight,)
        Heights above ground [m] (ICON: 1000, 3000, 6000).
    out : ndarray, float32, (3, nheight, ncol)
        Rows :math:`\Delta u`, :math:`\Delta v` and :math:`|\Delta \mathbf{V}|` [m s-1]; NaN above the
        highest full level or where a wind is NaN.
    """
    _shear(u, v, hhl, np.ascontiguousarray(heights, dtype=np.float64), out)
    return out


@inline
def _box_mean(f, hhl, j, z_bottom, z_top):
    """Height-weighted mean of ``f`` over [z_bottom, z_top] [m above sea level], each full level a box
    between its half levels (ICON ``vert_integral_vec_1d`` with ``l_calc_mean``)."""
    total = 0.0
    depth = 0.0
    for k in range(f.shape[0]):
        upper = np.float64(hhl[k, j])
        lower = np.float64(hhl[k + 1, j])
        d = (upper if upper < z_top else z_top) - (lower if lower > z_bottom else z_bottom)
        if d > 0.0:
            total += np.float64(f[k, j]) * d
            depth += d
    return total / depth if depth > 0.0 else math.nan


@inline
def _log_value(f, p, j, p_target):
    """``f`` linear in ln p at ``p_target`` between the two full levels around it (MetPy
    ``log_interpolate_1d``); NaN outside their range."""
    for k in range(f.shape[0] - 1, 0, -1):
        pa = np.float64(p[k, j])
        pb = np.float64(p[k - 1, j])
        if pb <= p_target and p_target <= pa:
            fa = np.float64(f[k, j])
            w = (math.log(p_target) - math.log(pa)) / (math.log(pb) - math.log(pa))
            return fa + (np.float64(f[k - 1, j]) - fa) * w
    return math.nan


@inline
def _continuous_mean(f, p, hhl, j, z_bottom, z_top):
    """MetPy's ``weighted_continuous_average`` of ``f`` over [z_bottom, z_top] [m above sea level]:
    trapezoids in pressure through the layer's bottom, the full levels inside it and its top, over the
    layer's pressure depth; the bounds' pressures linear in height, their values linear in ln p."""
    p_bottom = _at_height(p, hhl, j, z_bottom)
    p_top = _at_height(p, hhl, j, z_top)
    p_prev = p_bottom
    f_prev = _log_value(f, p, j, p_bottom)
    total = 0.0
    for k in range(f.shape[0] - 1, -1, -1):
        pk = np.float64(p[k, j])
        if pk >= p_bottom:
            continue
        if pk <= p_top:
            break
        fk = np.float64(f[k, j])
        total += 0.5 * (f_prev + fk) * (p_prev - pk)
        p_prev = pk
        f_prev = fk
    total += 0.5 * (f_prev + _log_value(f, p, j, p_top)) * (p_prev - p_top)
    return total / (p_bottom - p_top)


@function
def _storm(u, v, p, hhl, j, mean, right, deviation, layers):
    """Bunkers storm motion (u, v) [m s-1] of column j."""
    nlev = u.shape[0]
    depth, low, high = layers[0], layers[1], layers[2]
    if mean == 0:
        base = np.float64(hhl[nlev, j])
        um = _box_mean(u, hhl, j, base, base + depth)
        vm = _box_mean(v, hhl, j, base, base + depth)
        su = _box_mean(u, hhl, j, base + high, base + depth) - _box_mean(u, hhl, j, base, base + low)
        sv = _box_mean(v, hhl, j, base + high, base + depth) - _box_mean(v, hhl, j, base, base + low)
    else:
        base = _z_full(hhl, nlev - 1, j)
        um = _continuous_mean(u, p, hhl, j, base, base + depth)
        vm = _continuous_mean(v, p, hhl, j, base, base + depth)
        su = _continuous_mean(u, p, hhl, j, base + high, base + depth) - _continuous_mean(u, p, hhl, j, base, base + low)
        sv = _continuous_mean(v, p, hhl, j, base + high, base + depth) - _continuous_mean(v, p, hhl, j, base, base + low)
    scale = (deviation if right else -deviation) / math.sqrt(su * su + sv * sv)
    return um + scale * sv, vm - scale * su


@function
def _helicity(u, v, hhl, j, cu, cv, top):
    """Storm-relative helicity [m2 s-2] of column j from the lowest full level to ``top`` [m above sea level]."""
    nlev = u.shape[0]
    k = nlev - 1
    if _z_full(hhl, k, j) > top:
        return math.nan
    su = np.float64(u[k, j]) - cu
    sv = np.float64(v[k, j]) - cv
    total = 0.0
    for k in range(nlev - 2, -1, -1):
        z = _z_full(hhl, k, j)
        if z >= top:
            z_low = _z_full(hhl, k + 1, j)
            w = (top - z_low) / (z - z_low)
            u_top = np.float64(u[k + 1, j]) + w * (np.float64(u[k, j]) - np.float64(u[k + 1, j])) - cu
            v_top = np.float64(v[k + 1, j]) + w * (np.float64(v[k, j]) - np.float64(v[k + 1, j])) - cv
            return total + (u_top * sv - su * v_top)
        un = np.float64(u[k, j]) - cu
        vn = np.float64(v[k, j]) - cv
        total += un * sv - su * vn
        su = un
        sv = vn
    return math.nan


@kernel
def _srh(u, v, p, hhl, heights, mean, right, deviation, layers, given, storm, srh):
    nlev, ncol = u.shape
    nblocks = (ncol + BLOCK_COLUMNS - 1) // BLOCK_COLUMNS
    for b in prange(nblocks):
        for j in range(b * BLOCK_COLUMNS, min(b * BLOCK_COLUMNS + BLOCK_COLUMNS, ncol)):
            if given:
                cu, cv = storm[0, j], storm[1, j]
            else:
                cu, cv = _storm(u, v, p, hhl, j, mean, right, deviation, layers)
                storm[0, j] = cu
                storm[1, j] = cv
            ground = np.float64(hhl[nlev, j])
            for i in range(heights.shape[0]):
                srh[i, j] = _helicity(u, v, hhl, j, cu, cv, ground + heights[i])


def storm_relative_helicity(u, v, p, hhl, heights, storm, srh, *, mean="height", right=True,
                            deviation=BUNKERS_DEVIATION, layers=BUNKERS_LAYERS, given_storm=False):
    r"""Bunkers storm motion and storm-relative helicity of every column.

    Parameters
    ----------
    u, v : ndarray, float32, (nlev, ncol)
        Wind components at the mass points [m s-1].
    p : ndarray, float32, (nlev, ncol)
        Full-level pressure [Pa] (used by ``mean="metpy"`` only).
    hhl : ndarray, float32, (nlev + 1, ncol)
        Half-level heights [m above sea level].
    heights : ndarray, float64, (nheight,)
        Tops of the helicity layers [m above ground] (1000, 3000).
    storm : ndarray, float64, (2, ncol)
        Output: the storm motion :math:`(C_u, C_v)` [m s-1] (module docstring); input with ``given_storm``.
    srh : ndarray, float64, (nheight, ncol)
        Output: SRH [m2 s-2] from the lowest full level to each height; NaN where the height is below
        the lowest or above the highest full level.
    mean : {"height", "metpy"}
        Layer means of the storm motion: height-weighted boxes above ground (ICON, Bunkers) or MetPy's.
    right : bool
        The right mover (True) or the left mover.
    deviation : float
        D [m s-1].
    layers : (float, float, float)
        Bunkers' layers [m]: mean-wind depth, depth of the lower shear layer, bottom of the upper one.
    given_storm : bool
        Use the storm motion in ``storm`` (e.g. an observed one) instead of Bunkers'.
    """
    layers = np.asarray(layers, dtype=np.float64)
    _srh(u, v, p, hhl, np.ascontiguousarray(heights, dtype=np.float64), MEANS[mean], bool(right), float(deviation),
         layers, bool(given_storm), storm, srh)
    return storm, srh


__all__ = ["BUNKERS_DEVIATION", "BUNKERS_LAYERS", "MEANS", "bulk_shear", "storm_relative_helicity"]
