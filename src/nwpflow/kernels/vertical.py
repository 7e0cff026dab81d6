r"""Vertical products on model columns (numba kernels): interpolation to pressure and height levels,
the height of the 0 °C isotherm and the boundary-layer height from the bulk Richardson number.

Conventions (as every nwpflow kernel): arrays ``(level, ncol)``, C-contiguous, level 0 = model top;
half-level arrays (``HHL``, ``W``) have one level more than full-level arrays; SI units; float64
arithmetic; float32 outputs written into preallocated arrays; columns in fixed blocks of
:data:`~nwpflow.kernels._jit.BLOCK_COLUMNS` spread over threads with ``numba.prange``, so that every
result is the same bits for any number of threads. Full-level heights are the mean of the two
half-level heights, :math:`z_k = \tfrac12 (z_{k-1/2} + z_{k+1/2})`, as meteodata-lab's
``destagger(hhl, "z")``. Validation (shapes, option values) is the caller's.

Vertical interpolation is split in two kernels so that the search is done once per column and target
and shared by every field on the same levels:

* :func:`vertical_brackets` finds, for every target level and column, the *topmost* pair of adjacent
  levels :math:`(k-1, k)` that brackets the target (the search of meteodata-lab's ``interpolate_k2p``:
  from the model top down) and its weight :math:`w` on level :math:`k`;
* :func:`apply_brackets` forms :math:`f = (1 - w) f_{k-1} + w f_k` for any field (the expression
  meteodata-lab evaluates), and :func:`extrapolate_below` fills targets below the lowest model level
  with IFS FullPos' temperature and geopotential rules (meteodata-lab ``vertical_extrapolation.py``).

References
----------
.. [Trenberth1993] Trenberth, K. E., J. C. Berry and L. E. Buja, 1993: Vertical interpolation and
   truncation of model-coordinate data. NCAR Technical Note NCAR/TN-396+STR, doi:10.5065/D6HX19NH.
.. [FullPos] Yessad, K., 2016: FULL-POS in the cycle 46T1R1 of ARPEGE/IFS (ykfpos46t1r1.pdf,
   Météo-France/CNRM), extrapolations below the model surface; the reference meteodata-lab's
   ``operators/vertical_extrapolation.py`` implements.
.. [VogelezangHoltslag1996] Vogelezang, D. H. P. and A. A. M. Holtslag, 1996: Evaluation and model
   impacts of alternative boundary-layer height formulations. Boundary-Layer Meteorol., 81, 245-269.
"""

from __future__ import annotations

import math

import numpy as np
from numba import prange

from nwpflow.kernels._jit import BLOCK_COLUMNS, inline, kernel
from nwpflow.kernels.codes import BELOW, LINEAR, LOG, MISSING, NEAREST

__all__ = [
    "BELOW",
    "LINEAR",
    "LOG",
    "MISSING",
    "NEAREST",
    "apply_brackets",
    "boundary_layer_height",
    "extrapolate_below",
    "freezing_level_height",
    "vertical_brackets",
]


_TEMPERATURE = 0
_GEOPOTENTIAL = 1

_MIN_EXTRAPOLATION_DT = 1e-10
"""[K] meteodata-lab's ``fhzerocl`` extrapolates below the lowest level only where the temperature
rises downwards by more than this between the two lowest levels (a numerical threshold, not physics)."""


@inline
def _coordinate(coord, k, j, average):
    """Level ``k`` of a coordinate or field: ``coord[k]``, or the mean of half levels ``k`` and ``k + 1``."""
    if average:
        return 0.5 * (np.float64(coord[k, j]) + np.float64(coord[k + 1, j]))
    return np.float64(coord[k, j])


@kernel
def _brackets(coord, average, above_ground, sign, method, targets, index, weight):
    ncol = coord.shape[1]
    nlev = coord.shape[0] - 1 if average else coord.shape[0]
    ntarget = targets.shape[0]
    nblocks = (ncol + BLOCK_COLUMNS - 1) // BLOCK_COLUMNS
    keys = np.empty(ntarget)
    logs = np.empty(ntarget)
    for i in range(ntarget):
        keys[i] = sign * targets[i]
        logs[i] = math.log(targets[i]) if method == LOG else 0.0
    for b in prange(nblocks):
        j0 = b * BLOCK_COLUMNS
        n = min(BLOCK_COLUMNS, ncol - j0)
        # The search works on key = sign * (coordinate - ground), which increases downwards: pressure
        # (sign +1) or minus the height (sign -1).
        ground = np.zeros(n)
        if above_ground:
            for jj in range(n):
                ground[jj] = np.float64(coord[coord.shape[0] - 1, j0 + jj])
        found = np.full((ntarget, n), MISSING, dtype=np.int32)
        upper = np.empty(n)
        lower = np.empty(n)
        lowest = np.empty(n)
        lower_max = -np.inf
        for jj in range(n):
            lower[jj] = sign * (_coordinate(coord, nlev - 1, j0 + jj, average) - ground[jj])
            lowest[jj] = lower[jj]
            lower_max = lower[jj] if lower[jj] > lower_max else lower_max  # a NaN column is left out
        # Every pair (k-1, k) from the bottom up; the last hit is the topmost pair that brackets the
        # target (both ends included). Branch-free over the block's columns, so that it vectorises; a
        # pair no column of the block can hit (target outside the block's range of the pair) is skipped,
        # which leaves ~2 of the ~80 pairs per target to test (measured 4x faster than testing all).
        for k in range(nlev - 1, 0, -1):
            upper_min = np.inf
            upper_max = -np.inf
            for jj in range(n):
                value = sign * (_coordinate(coord, k - 1, j0 + jj, average) - ground[jj])
                upper[jj] = value
                upper_min = value if value < upper_min else upper_min
                upper_max = value if value > upper_max else upper_max
            for i in range(ntarget):
                key = keys[i]
                if upper_min <= key and key <= lower_max:
                    for jj in range(n):
                        hit = (upper[jj] <= key) & (key <= lower[jj])
                        found[i, jj] = np.int32(k) if hit else found[i, jj]
            for jj in range(n):
                lower[jj] = upper[jj]
            lower_max = upper_max
        for i in range(ntarget):
            key = keys[i]
            for jj in range(n):
                j = j0 + jj
                k = found[i, jj]
                if k == MISSING:
                    if key > lowest[jj]:
                        k = BELOW
                    elif nlev == 1 and key == lowest[jj]:
                        k = 0  # a single level: only an exact match is inside the column
                index[i, j] = k
                if k >= 1:
                    a = sign * (_coordinate(coord, k - 1, j, average) - ground[jj])
                    c = sign * (_coordinate(coord, k, j, average) - ground[jj])
                    if c == a:
                        w = 1.0
                    elif method == LOG:
                        # (ln p0 - ln p1) / (ln p2 - ln p1): meteodata-lab's expression, sign is +1.
                        w = (logs[i] - math.log(a)) / (math.log(c) - math.log(a))
                    elif method == NEAREST:
                        w = 1.0 if abs(key - a) >= abs(key - c) else 0.0
                    else:
                        w = (key - a) / (c - a)
                    weight[i, j] = w
                elif k == 0:
                    weight[i, j] = 1.0
                else:
                    weight[i, j] = np.nan


def vertical_brackets(coord, targets, index, weight, *, method=LINEAR, average=False, above_ground=False,
                      height=False):
    r"""Bracketing levels and weights of target levels in every column (the search, done once).

    For target :math:`c_*` the topmost pair of adjacent levels :math:`(k-1, k)` with
    :math:`c_{k-1} \le c_* \le c_k` (pressure) or :math:`z_{k-1} \ge z_* \ge z_k` (height) is found
    scanning down from the model top, and the weight of level :math:`k` is

    .. math::

        w = \frac{c_* - c_{k-1}}{c_k - c_{k-1}} \;(\text{LINEAR}), \qquad
        w = \frac{\ln p_* - \ln p_{k-1}}{\ln p_k - \ln p_{k-1}} \;(\text{LOG}), \qquad
        w = [\,|c_* - c_{k-1}| \ge |c_* - c_k|\,] \;(\text{NEAREST}),

    (``w = 1`` where both levels have the same coordinate).

    Parameters
    ----------
    coord : ndarray, float32, (nlev, ncol) or (nlev + 1, ncol)
        The vertical coordinate: full-level pressure [Pa], or half-level heights ``HHL`` [m above sea
        level] (``height=True``).
    targets : ndarray, float64, (ntarget,)
        Target levels: pressure [Pa] or height [m], any order.
    index : ndarray, int32, (ntarget, ncol)
        Output: level :math:`k` (1 … nlev − 1) of the lower bracketing level; 0 for an exact match of
        the only level of a one-level column; :data:`BELOW` for a target below the lowest level;
        :data:`MISSING` for a target above the top level or in a column whose NaN hides it.
    weight : ndarray, float64, (ntarget, ncol)
        Output: the weight :math:`w` of level :math:`k` (NaN where there is no bracket).
    method : int
        :data:`LINEAR`, :data:`LOG` (pressure only) or :data:`NEAREST`.
    average : bool
        ``coord`` holds half levels and the levels searched are full levels (the mean of two half
        levels); otherwise the levels of ``coord`` themselves are searched.
    above_ground : bool
        Heights only: measure the coordinate from the lowest half level of ``coord`` (the ground).
    height : bool
        ``coord`` is a height (decreasing downwards) rather than a pressure (increasing downwards).

    Notes
    -----
    A target equal to the lowest level is inside the column (MetPy's ``interpolate_1d`` includes both
    ends; meteodata-lab's ``interpolate_k2p``, which excludes the lowest, differs only there).
    """
    _brackets(coord, average, above_ground, -1.0 if height else 1.0, method, targets, index, weight)
    return index, weight


@kernel
def _apply(field, half, index, weight, constant_below, scale, out):
    ncol = field.shape[1]
    nlev = field.shape[0] - 1 if half else field.shape[0]
    ntarget = index.shape[0]
    nblocks = (ncol + BLOCK_COLUMNS - 1) // BLOCK_COLUMNS
    for b in prange(nblocks):
        j0 = b * BLOCK_COLUMNS
        n = min(BLOCK_COLUMNS, ncol - j0)
        for i in range(ntarget):
            for jj in range(n):
                j = j0 + jj
                k = index[i, j]
                if k >= 0:
                    w = weight[i, j]
                    f1 = _coordinate(field, max(k - 1, 0), j, half)
                    f2 = _coordinate(field, k, j, half)
                    out[i, j] = scale * ((1.0 - w) * f1 + w * f2)
                elif k == BELOW and constant_below:
                    out[i, j] = scale * _coordinate(field, nlev - 1, j, half)
                else:
                    out[i, j] = np.nan


def apply_brackets(field, index, weight, out, *, half=False, constant_below=False, scale=1.0):
    r"""Interpolate ``field`` to the target levels found by :func:`vertical_brackets`.

    .. math::

        f_* = s \, \big( (1 - w) \, f_{k-1} + w \, f_k \big)

    Parameters
    ----------
    field : ndarray, float32, (nlev, ncol) or (nlev + 1, ncol)
        The field on the levels the brackets were found on; or on half levels with ``half=True``, the
        full-level value then being the mean of the two half levels (e.g. ``W`` to pressure levels).
    index, weight : ndarray, (ntarget, ncol)
        From :func:`vertical_brackets`.
    out : ndarray, float32, (ntarget, ncol)
        Result, in the units of ``field`` times ``scale``. NaN where the target has no bracket, or
        where a bracketing value is NaN; below the lowest level NaN, or with ``constant_below`` the
        value of the lowest level (meteodata-lab ``extrapolate_k2p(mode="constant")``).
    scale : float
        Factor :math:`s` (e.g. g to turn heights into geopotential).
    """
    _apply(field, half, index, weight, constant_below, scale, out)
    return out


@kernel
def _extrapolate(kind, index, targets, t_low, p_low, ps, zs, rd, g, lapse_rate, t_max, h1, h2, factor, out):
    ntarget, ncol = index.shape
    nblocks = (ncol + BLOCK_COLUMNS - 1) // BLOCK_COLUMNS
    alpha = lapse_rate * rd / g
    for b in prange(nblocks):
        j0 = b * BLOCK_COLUMNS
        n = min(BLOCK_COLUMNS, ncol - j0)
        for i in range(ntarget):
            for jj in range(n):
                j = j0 + jj
                if index[i, j] != BELOW:
                    continue
                p_surface = np.float64(ps[j])
                z_surface = np.float64(zs[j])
                t_level = np.float64(t_low[j])
                # Surface temperature T* from the lowest level and the standard lapse rate.
                t_surface = t_level * (1.0 + alpha * (p_surface / np.float64(p_low[j]) - 1.0))
                log_ratio = math.log(targets[i] / p_surface)
                if kind == _TEMPERATURE:
                    t_sea = t_surface + lapse_rate * z_surface
                    t_min = min(t_sea, t_max)
                    t_prime = t_min if z_surface > h2 else t_min * 0.5 + t_sea * 0.5
                    gamma = lapse_rate if z_surface < h1 else 1.0 / z_surface * max(t_prime - t_surface, 0.0)
                    y = gamma * rd / g * log_ratio
                    out[i, j] = t_surface * (1.0 + y + y * y / 2.0 + y * y * y / 6.0)
                else:
                    y = lapse_rate * rd / g * log_ratio
                    phi = z_surface * g - rd * t_surface * log_ratio * (1.0 + y / 2.0 + y * y / 6.0)
                    out[i, j] = factor * phi


def extrapolate_below(index, targets, t_low, p_low, ps, zs, out, *, quantity, rd, g, lapse_rate, t_max, h1, h2,
                      factor=1.0):
    r"""Overwrite the targets below the lowest model level (:data:`BELOW`) with FullPos' extrapolation.

    The surface temperature is the lowest level's extrapolated to the surface with the standard lapse
    rate :math:`\Gamma_0` ([Trenberth1993]_, the rule of the ECMWF mean-sea-level pressure reduction):

    .. math::

        T_* = T_N \left(1 + \frac{\Gamma_0 R_d}{g} \left(\frac{p_s}{p_N} - 1\right)\right),
        \qquad y = \frac{\Gamma R_d}{g} \ln\frac{p}{p_s},

    and below it, with the expressions of meteodata-lab ``operators/vertical_extrapolation.py``
    ([FullPos]_),

    .. math::

        T(p) = T_* \left(1 + y + \frac{y^2}{2} + \frac{y^3}{6}\right), \qquad
        \Phi(p) = g z_s - R_d T_* \ln\frac{p}{p_s} \left(1 + \frac{y}{2} + \frac{y^2}{6}\right),

    where for Φ :math:`\Gamma = \Gamma_0` and for T :math:`\Gamma = \Gamma_0` below :math:`h_1` = 2000 m,
    else :math:`\max(T_0' - T_*, 0) / z_s` with :math:`T_0' = \min(T_* + \Gamma_0 z_s, T_{max})` above
    :math:`h_2` = 2500 m and the mean of that and :math:`T_* + \Gamma_0 z_s` in between.

    Parameters
    ----------
    index : ndarray, int32, (ntarget, ncol)
        From :func:`vertical_brackets` on pressure.
    targets : ndarray, float64, (ntarget,)
        Target pressures [Pa].
    t_low, p_low : ndarray, float32, (ncol,)
        Temperature [K] and pressure [Pa] of the lowest full level.
    ps, zs : ndarray, float32, (ncol,)
        Surface pressure [Pa] and surface height [m above sea level].
    out : ndarray, float32, (ntarget, ncol)
        Updated in place where ``index`` is :data:`BELOW`: temperature [K], or ``factor`` × geopotential
        [m2 s-2].
    quantity : {"temperature", "geopotential"}
    rd, g, lapse_rate, t_max, h1, h2 : float
        R_d [J kg-1 K-1], g [m s-2], Γ0 [K m-1], T_max [K], h1 and h2 [m].
    factor : float
        Multiplies the geopotential (1/g gives the geopotential height).
    """
    kind = {"temperature": _TEMPERATURE, "geopotential": _GEOPOTENTIAL}[quantity]
    _extrapolate(kind, index, targets, t_low, p_low, ps, zs, rd, g, lapse_rate, t_max, h1, h2, factor, out)
    return out


@kernel
def _hzerocl(t, hhl, t0, extrapolate, use_limit, limit, out):
    nlev, ncol = t.shape
    nblocks = (ncol + BLOCK_COLUMNS - 1) // BLOCK_COLUMNS
    for b in prange(nblocks):
        j0 = b * BLOCK_COLUMNS
        n = min(BLOCK_COLUMNS, ncol - j0)
        # found: level k of the crossing pair (k-1, k); -1 not yet; -2 a NaN met before any crossing.
        found = np.empty(n, dtype=np.int32)
        warm = np.empty(n, dtype=np.int32)  # some level at or above t0 (no extrapolation then)
        for jj in range(n):
            tk = np.float64(t[0, j0 + jj])
            found[jj] = -2 if tk != tk else -1
            warm[jj] = 1 if tk >= t0 else 0
        # Top down, branch-free over the block's columns (vectorises); the block stops at the level where
        # every column has its crossing (measured 1.5x faster than scanning whole columns).
        k = 1
        while k < nlev:
            remaining = 0
            for jj in range(n):
                j = j0 + jj
                tk = np.float64(t[k, j])
                hit = (tk >= t0) & (np.float64(t[k - 1, j]) < t0)
                if use_limit:  # only pairs whose upper level is within the limit count
                    z = _coordinate(hhl, k - 1, j, True) - np.float64(hhl[nlev, j])
                    hit = hit & (z <= limit)
                new = np.int32(-2) if tk != tk else (np.int32(k) if hit else np.int32(-1))
                f = new if found[jj] == -1 else found[jj]
                found[jj] = f
                warm[jj] |= tk >= t0
                remaining += f == -1
            if remaining == 0:
                break
            k += 1
        for jj in range(n):
            j = j0 + jj
            k = found[jj]
            if k == -1 and extrapolate and warm[jj] == 0 and nlev >= 2 and \
                    np.float64(t[nlev - 1, j]) - np.float64(t[nlev - 2, j]) > _MIN_EXTRAPOLATION_DT:
                k = nlev - 1
            if k < 1:
                out[j] = np.nan
                continue
            h1 = _coordinate(hhl, k - 1, j, True)
            h2 = _coordinate(hhl, k, j, True)
            t1 = np.float64(t[k - 1, j])
            t2 = np.float64(t[k, j])
            h = h1 + (h2 - h1) * (t0 - t1) / (t2 - t1)
            out[j] = h if h > 0.0 else np.nan


def freezing_level_height(t, hhl, out, *, t0, extrapolate=False, search_limit=None):
    r"""Height of the 0 °C isotherm [m above sea level] of every column (meteodata-lab ``fhzerocl``).

    Scanning down from the model top, the first pair of full levels with :math:`T_{k-1} < T_0 \le T_k`
    (the highest crossing: full-level heights decrease downwards), linear in height:

    .. math::

        z_0 = z_{k-1} + (z_k - z_{k-1}) \frac{T_0 - T_{k-1}}{T_k - T_{k-1}}.

    Parameters
    ----------
    t : ndarray, float32, (nlev, ncol)
        Temperature [K] on full levels.
    hhl : ndarray, float32, (nlev + 1, ncol)
        Half-level heights [m above sea level]; the lowest one is the ground.
    out : ndarray, float32, (ncol,)
        Result [m above sea level]. NaN where no level pair crosses :math:`T_0`, where a NaN
        temperature is met before the crossing (scanning down from the top: the highest crossing is then
        unknown; NaN below it does not matter), and where the height is not above sea level
        (meteodata-lab's ``where(hzerocl > 0)``).
    t0 : float
        Melting point [K].
    extrapolate : bool
        Where the whole column is below :math:`T_0` and the temperature rises downwards between the two
        lowest levels (by more than 1e-10 K), extrapolate linearly from those two levels (meteodata-lab
        ``extrapolate=True``); the height may be below the ground.
    search_limit : float or None
        Only crossings whose upper level is at most this height above the ground [m] count (fieldextra
        searches up to 8000 m above ground); ``None``: the whole column.
    """
    use_limit = search_limit is not None
    _hzerocl(t, hhl, t0, extrapolate, use_limit, float(search_limit) if use_limit else 0.0, out)
    return out


@kernel
def _hpbl(brn, hhl, critical, out):
    nlev, ncol = brn.shape
    nblocks = (ncol + BLOCK_COLUMNS - 1) // BLOCK_COLUMNS
    for b in prange(nblocks):
        j0 = b * BLOCK_COLUMNS
        n = min(BLOCK_COLUMNS, ncol - j0)
        found = np.full(n, -1, dtype=np.int64)  # -1: not yet, -2: NaN below any exceedance
        undecided = n
        k = nlev - 2
        while k >= 0 and undecided > 0:
            for jj in range(n):
                if found[jj] == -1:
                    value = brn[k, j0 + jj]
                    if value != value:
                        found[jj] = -2
                        undecided -= 1
                    elif value > critical:
                        found[jj] = k
                        undecided -= 1
            k -= 1
        for jj in range(n):
            j = j0 + jj
            k = found[jj]
            if k < 0:
                out[j] = np.nan
                continue
            ground = np.float64(hhl[nlev, j])
            z_up = _coordinate(hhl, k, j, True) - ground
            z_low = _coordinate(hhl, k + 1, j, True) - ground
            b_up = np.float64(brn[k, j])
            # The lowest level is BRN's reference level, where BRN = 0 by definition (its stored value
            # is 0/0 = NaN under zero wind; any NaN input makes every level above NaN as well).
            b_low = 0.0 if k + 1 == nlev - 1 else np.float64(brn[k + 1, j])
            out[j] = z_low + (z_up - z_low) * (critical - b_low) / (b_up - b_low)


def boundary_layer_height(brn, hhl, out, *, critical):
    r"""Boundary-layer height [m above ground] from the bulk Richardson number of every column.

    Scanning up from the lowest level, the first full level :math:`k` with
    :math:`\mathrm{BRN}_k > \mathrm{Ri}_c`, linear in height between it and the level below
    ([VogelezangHoltslag1996]_):

    .. math::

        h = z_{k+1} + (z_k - z_{k+1})
            \frac{\mathrm{Ri}_c - \mathrm{BRN}_{k+1}}{\mathrm{BRN}_k - \mathrm{BRN}_{k+1}} - z_s,

    with :math:`\mathrm{BRN}_N = 0` at the lowest level (BRN's reference level).

    Parameters
    ----------
    brn : ndarray, float32, (nlev, ncol)
        Bulk Richardson number [1] on full levels (:func:`nwpflow.kernels.brn.bulk_richardson_number`).
    hhl : ndarray, float32, (nlev + 1, ncol)
        Half-level heights [m]; the lowest one is the ground :math:`z_s`.
    out : ndarray, float32, (ncol,)
        Result [m above ground]. NaN where no level exceeds :math:`\mathrm{Ri}_c` (a boundary layer as
        deep as the model is not diagnosed) and where a NaN is met before the first exceedance. A level
        with zero wind has BRN = ±inf; +inf exceeds, and the height is then that of the level below.
    critical : float
        :math:`\mathrm{Ri}_c` [1], positive.
    """
    _hpbl(brn, hhl, float(critical), out)
    return out
