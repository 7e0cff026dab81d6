r"""Column reductions and isosurfaces on model levels (numba kernels): layer integrals, means and
extremes between two heights, and where a field crosses a value.

Conventions as :mod:`nwpflow.kernels.vertical`: arrays ``(level, ncol)``, C-contiguous, level 0 = model
top; half-level heights ``HHL`` ``(nlev + 1, ncol)`` above sea level, the lowest one the ground;
full-level heights :math:`z_k = \tfrac12 (z_{k-1/2} + z_{k+1/2})`; float64 arithmetic; columns in fixed
blocks of :data:`~nwpflow.kernels._jit.BLOCK_COLUMNS`, so results are the same bits for any number of
threads. Validation is the Python callers'.

Layer integrals and means
-------------------------
Each full level stands for the layer between its half levels (a box, as ICON's ``vert_integral_vec_1d``
in ``mo_opt_nwp_diagnostics.f90``); the bounds :math:`z_b < z_t` cut the boxes they fall into:

.. math::

    I = \sum_k f_k\, w_k\, \Delta_k, \qquad
    \Delta_k = \max\left(0,\ \min(z_{k-1/2}, z_t) - \max(z_{k+1/2}, z_b)\right), \qquad
    \bar f = \frac{\sum_k f_k w_k \Delta_k}{\sum_k w_k \Delta_k},

with weights :math:`w_k = 1` (height integral and mean) or the density
:math:`w_k = \rho_k = p_k / (R_d T_{v,k})` (mass integral and mass-weighted mean; the virtual temperature
of moist air, without condensate loading). meteodata-lab's ``integrate_k`` uses the same boxes but keeps only
the levels whose *midpoint* lies inside :math:`[z_b, z_t]`, dropping the part of a cut box whose
midpoint is outside; ``tests/test_layers.py`` computes that difference and checks it exactly.

Layer extremes
--------------
The largest (smallest) of the full-level values with :math:`z_b \le z_k \le z_t` and of the values
interpolated linearly in height at :math:`z_b` and :math:`z_t` where these lie between two full levels
(meteodata-lab ``minmax_k``).

Isosurfaces
-----------
:func:`isosurface_brackets` finds in every column the pair of adjacent full levels :math:`(k-1, k)`
between which a field :math:`c` crosses a target value :math:`c_*` (either way: :math:`c_{k-1} \le c_*
\le c_k` or :math:`c_{k-1} \ge c_* \ge c_k`, meteodata-lab ``interpolate_k2any`` / ``interpolate_k2theta``
and fieldextra ``find_value``), the first one met scanning down from the model top or up from the lowest
level, and the weight :math:`w = (c_* - c_{k-1}) / (c_k - c_{k-1})` (0 where :math:`c_k = c_{k-1}`,
meteodata-lab's rule). :func:`nwpflow.kernels.vertical.apply_brackets` then interpolates any field to
the surface, :math:`f_* = (1 - w) f_{k-1} + w f_k`: the height (``HHL`` with ``half=True``), the
pressure, the potential vorticity on an isentrope.
"""

from __future__ import annotations

import math

import numpy as np
from numba import prange

from nwpflow.kernels._jit import BLOCK_COLUMNS, inline, kernel
from nwpflow.kernels.codes import LAYER_STATISTICS, LINEAR, LOG, MISSING

STATISTICS = LAYER_STATISTICS


@inline
def _z_full(hhl, k, j):
    return 0.5 * (np.float64(hhl[k, j]) + np.float64(hhl[k + 1, j]))


# ----------------------------------------------------------------------------------------------------
# Layer bounds
# ----------------------------------------------------------------------------------------------------


@kernel
def _pressure_heights(p, hhl, targets, method, out):
    nlev, ncol = p.shape
    nblocks = (ncol + BLOCK_COLUMNS - 1) // BLOCK_COLUMNS
    for b in prange(nblocks):
        for j in range(b * BLOCK_COLUMNS, min(b * BLOCK_COLUMNS + BLOCK_COLUMNS, ncol)):
            ground = np.float64(hhl[nlev, j])
            top = np.float64(hhl[0, j])
            for i in range(targets.shape[0]):
                target = targets[i]
                # the pair of full levels around the target, or the nearest pair (extrapolation)
                k = nlev - 1
                while k > 1 and np.float64(p[k - 1, j]) >= target:
                    k -= 1
                pa = np.float64(p[k - 1, j])
                pb = np.float64(p[k, j])
                if method == LOG:
                    w = (math.log(target) - math.log(pa)) / (math.log(pb) - math.log(pa))
                else:
                    w = (target - pa) / (pb - pa)
                za = _z_full(hhl, k - 1, j)
                z = za + w * (_z_full(hhl, k, j) - za)
                z = z if z > ground else ground
                out[i, j] = z if z < top else top


def pressure_heights(p, hhl, targets, out, *, method=LOG):
    r"""Height [m above sea level] of each target pressure in every column.

    Interpolated between the two full levels around the target, linear in :math:`\ln p` (``method=LOG``,
    as ICON's ``compute_field_lapserate``) or in :math:`p` (``LINEAR``), extrapolated from the nearest
    pair outside the full levels' range and kept between the ground and the model top:

    .. math:: z(p_*) = z_{k-1} + (z_k - z_{k-1}) \frac{\ln p_* - \ln p_{k-1}}{\ln p_k - \ln p_{k-1}}

    Parameters
    ----------
    p : ndarray, float32, (nlev, ncol)
        Full-level pressure [Pa] (nlev >= 2, increasing downwards).
    hhl : ndarray, float32, (nlev + 1, ncol)
        Half-level heights [m above sea level].
    targets : ndarray, float64, (ntarget,)
        Pressures [Pa].
    out : ndarray, float64, (ntarget, ncol)
        Result [m above sea level]; NaN where a pressure in the pair is NaN.
    """
    _pressure_heights(p, hhl, np.ascontiguousarray(targets, dtype=np.float64), method, out)
    return out


# ----------------------------------------------------------------------------------------------------
# Layer statistics
# ----------------------------------------------------------------------------------------------------


@kernel
def _layer(field, hhl, p, t, qv, weighted, rd, vapour, z_bottom, z_top, statistic, out):
    nlev, ncol = field.shape
    nblocks = (ncol + BLOCK_COLUMNS - 1) // BLOCK_COLUMNS
    for b in prange(nblocks):
        for j in range(b * BLOCK_COLUMNS, min(b * BLOCK_COLUMNS + BLOCK_COLUMNS, ncol)):
            zb = z_bottom[j]
            zt = z_top[j]
            if statistic <= 1:
                total = 0.0
                mass = 0.0
                for k in range(nlev):
                    upper = np.float64(hhl[k, j])
                    lower = np.float64(hhl[k + 1, j])
                    d = (upper if upper < zt else zt) - (lower if lower > zb else zb)
                    if d > 0.0:
                        if weighted:  # the density p / (Rd T (1 + (Rv/Rd - 1) q))
                            d *= np.float64(p[k, j]) / (rd * np.float64(t[k, j]) * (1.0 + vapour * np.float64(qv[k, j])))
                        total += np.float64(field[k, j]) * d
                        mass += d
                if statistic == 0:
                    out[j] = total if mass > 0.0 else np.nan
                else:
                    out[j] = total / mass if mass > 0.0 else np.nan
                continue
            sign = 1.0 if statistic == 2 else -1.0
            best = -np.inf
            found = False
            for k in range(nlev):
                z = _z_full(hhl, k, j)
                f = sign * np.float64(field[k, j])
                if zb <= z and z <= zt:
                    best = f if f > best or f != f else best
                    found = True
                if k > 0:
                    z_up = _z_full(hhl, k - 1, j)
                    f_up = sign * np.float64(field[k - 1, j])
                    for bound in (zb, zt):
                        if z < bound and bound < z_up:
                            g = f + (f_up - f) * (bound - z) / (z_up - z)
                            best = g if g > best or g != g else best
                            found = True
            out[j] = sign * best if found else np.nan


def layer_statistic(field, hhl, z_bottom, z_top, out, *, statistic, density=None):
    r"""Integral, mean, maximum or minimum of ``field`` between two heights in every column.

    Parameters
    ----------
    field : ndarray, float32, (nlev, ncol)
        The field on full levels.
    hhl : ndarray, float32, (nlev + 1, ncol)
        Half-level heights [m above sea level].
    z_bottom, z_top : ndarray, float64, (ncol,)
        The layer's bounds [m above sea level], ``z_bottom < z_top``.
    out : ndarray, float32, (ncol,)
        Result: :math:`\sum_k f_k w_k \Delta_k` (``"integral"``: units of the field times m, or times
        kg m-2 with ``density``), the weighted mean (``"mean"``), or the extreme of the full levels inside
        the layer and of the values at its bounds (``"max"``, ``"min"``; module docstring). NaN where
        the layer holds no part of the column; NaN in the field propagates.
    statistic : {"integral", "mean", "max", "min"}
    density : (p, t, qv, rd, vapour), optional
        Weigh the integral and the mean by the density :math:`\rho = p / (R_d T (1 + c\, q_v))`:
        pressure [Pa], temperature [K], specific humidity [kg kg-1] (float32, (nlev, ncol)),
        :math:`R_d` [J kg-1 K-1] and :math:`c = R_v/R_d - 1`; ``None``: :math:`w_k = 1`.
    """
    if density is None:
        p = t = qv = field
        rd = vapour = 0.0
    else:
        p, t, qv, rd, vapour = density
    _layer(field, hhl, p, t, qv, density is not None, float(rd), float(vapour), z_bottom, z_top,
           STATISTICS[statistic], out)
    return out


# ----------------------------------------------------------------------------------------------------
# Isosurfaces
# ----------------------------------------------------------------------------------------------------


@kernel
def _isosurface(coord, hhl, limited, z_min, z_max, targets, from_top, start_inside, index, weight):
    nlev, ncol = coord.shape
    ntarget = targets.shape[0]
    nblocks = (ncol + BLOCK_COLUMNS - 1) // BLOCK_COLUMNS
    for b in prange(nblocks):
        for j in range(b * BLOCK_COLUMNS, min(b * BLOCK_COLUMNS + BLOCK_COLUMNS, ncol)):
            # the levels searched: all, or those whose full-level height lies in [z_min, z_max]
            first = 0
            last = nlev - 1
            if limited:
                while first < nlev and _z_full(hhl, first, j) > z_max:
                    first += 1
                while last >= 0 and _z_full(hhl, last, j) < z_min:
                    last -= 1
            for i in range(ntarget):
                target = targets[i]
                k_found = MISSING
                w_found = np.nan
                if first <= last:
                    start = first if from_top else last
                    c0 = np.float64(coord[start, j])
                    if start_inside and c0 >= target:
                        # the search starts inside the region where the field has reached the target
                        k_found = start if start >= 1 else 1
                        w_found = 1.0 if start >= 1 else 0.0
                    else:
                        for step in range(last - first):
                            k = first + 1 + step if from_top else last - step
                            c1 = np.float64(coord[k - 1, j])
                            c2 = np.float64(coord[k, j])
                            if ((c2 >= target) & (c1 <= target)) | ((c2 <= target) & (c1 >= target)):
                                k_found = k
                                w_found = (target - c1) / (c2 - c1) if abs(c2 - c1) > 0.0 else 0.0
                                break
                index[i, j] = k_found
                weight[i, j] = w_found


def isosurface_brackets(coord, targets, index, weight, *, from_top, hhl=None, z_range=None, start_inside=False):
    r"""Where a (not necessarily monotonic) field crosses target values: bracketing levels and weights.

    For each target :math:`c_*` the first pair of adjacent full levels :math:`(k-1, k)` with
    :math:`c_{k-1} \le c_* \le c_k` or :math:`c_{k-1} \ge c_* \ge c_k`, scanning down from the top
    (``from_top``: the highest crossing, meteodata-lab's ``high_fold``) or up from the lowest level
    (the lowest crossing, ``low_fold``), and the weight of level :math:`k`,
    :math:`w = (c_* - c_{k-1}) / (c_k - c_{k-1})` (0 where the two values are equal). A NaN in a
    pair hides a crossing there.

    Parameters
    ----------
    coord : ndarray, float32, (nlev, ncol)
        The field whose isosurfaces are sought, on full levels.
    targets : ndarray, float64, (ntarget,)
        Target values, in the units of ``coord``.
    index : ndarray, int32, (ntarget, ncol)
        Output for :func:`nwpflow.kernels.vertical.apply_brackets`: level :math:`k` of the pair, or
        :data:`~nwpflow.kernels.codes.MISSING` where there is no crossing.
    weight : ndarray, float64, (ntarget, ncol)
        Output: the weight :math:`w` of level :math:`k` (NaN where there is no crossing).
    from_top : bool
        Scan down from the model top (True) or up from the lowest level (False).
    hhl : ndarray, float32, (nlev + 1, ncol), optional
        Half-level heights [m above sea level]; needed with ``z_range``.
    z_range : (float, float), optional
        Only the full levels with :math:`z_{min} \le z_k \le z_{max}` [m above sea level] are searched.
    start_inside : bool
        Where the first level searched already has :math:`c \ge c_*`, the surface is that level itself
        (cloud base of fog, cloud top of a cloud at the top of the search), not a crossing further on.
    """
    limited = z_range is not None
    if limited and hhl is None:
        raise ValueError("a search range in height (z_range) needs the half-level heights (hhl)")
    z_min, z_max = (float(z_range[0]), float(z_range[1])) if limited else (0.0, 0.0)
    _isosurface(coord, hhl if limited else coord, limited, z_min, z_max, np.ascontiguousarray(targets, dtype=np.float64),
                bool(from_top), bool(start_inside), index, weight)
    return index, weight


__all__ = ["LINEAR", "LOG", "STATISTICS", "isosurface_brackets", "layer_statistic", "pressure_heights"]
