r"""Horizontal wind speed and direction, and the rotation of grid-relative winds (numba kernels).

Speed and meteorological direction (where the wind blows *from*, clockwise from north, in degrees):

.. math::

    \mathrm{FF} = \sqrt{u^2 + v^2}, \qquad
    \mathrm{DD} = \frac{180}{\pi} \operatorname{atan2}(-u, -v) \pmod{360} \in (0, 360],

with :math:`\mathrm{DD} = 360` for a wind from due north and :math:`\mathrm{DD} = 0` for calm
(:math:`u = v = 0`): the WMO convention ([WMO306]_, code table 0877: 00 calm, 36 north) that MetPy's
``wind_direction`` also follows.

On a rotated-pole grid COSMO writes the wind components along the rotated grid's axes. They are turned
to geographic east/north by the angle β of the grid's meridian at each point, COSMO's ``uvrot2uv``
([COSMO-PartI]_; meteodata-lab ``operators/gis.py::_vref_rot2geolatlon``):

.. math::

    a_1 = \cos\varphi_p \sin(\lambda_p - \lambda), \qquad
    a_2 = \sin\varphi_p \cos\varphi - \cos\varphi_p \sin\varphi \cos(\lambda_p - \lambda),
    \qquad \beta = \operatorname{atan2}(a_1, a_2),

    u_g = u \cos\beta + v \sin\beta, \qquad v_g = -u \sin\beta + v \cos\beta,

with :math:`(\varphi, \lambda)` the geographic latitude and longitude of the grid point and
:math:`(\varphi_p, \lambda_p)` those of the rotated north pole. That is a clockwise rotation of the wind
vector by β, so the geographic direction is the grid-relative one plus β:

.. math::

    \mathrm{DD} = \mathrm{DD}_{grid} + \beta \pmod{360}.

The kernel adds β (computed once per grid point by :func:`grid_rotation`) to the direction rather than
rotating the components: the same angle to float64 rounding (``tests/test_wind.py::
test_grid_rotation_inverts_cosmo_uv2uvrot``), two additions per value instead of four multiplications
and two additions. The speed needs no rotation.

Why a hand-written arctangent: ``math.atan2`` in a numba loop is a call to libm that LLVM cannot
vectorise (the PyPI llvmlite has no SVML); on the ICON-CH2 domain it made the direction kernel
compute-bound at a fraction of the memory bandwidth. :func:`_direction` is Cephes' ``atan``
([Moshier1989]_: reduction to :math:`|x| \le 0.66`, rational approximation of degree 4/5, peak relative
error 2.6e-18) written branch-free with selects, so the loop vectorises. Its error against numpy's
``arctan2`` is a few float64 ulp (``tests/test_wind.py::test_kernels_match_metpy_on_edge_rich_random_winds``),
far below the float32 storage of the result (1.5e-5 degrees at 360).
"""

from __future__ import annotations

import math

import numpy as np
from numba import prange

from nwpflow.kernels._jit import BLOCK_COLUMNS, inline, kernel

# Cephes atan.c: atan(x) = x + x^3 P(x^2) / Q(x^2) on 0 <= x <= 0.66 (Q monic, degree 5).
_P0, _P1, _P2, _P3, _P4 = (-8.750608600031904122785e-1, -1.615753718733365076637e1, -7.500855792314704667340e1,
                           -1.228866684490136173410e2, -6.485021904942025371773e1)
_Q0, _Q1, _Q2, _Q3, _Q4 = (2.485846490142306297962e1, 1.650270098316988542046e2, 4.328810604912902668951e2,
                           4.853903996359136964868e2, 1.945506571482613964425e2)
_MOREBITS = 6.123233995736765886130e-17  # pi/2 - float64(pi/2)
_PIO4 = math.pi / 4.0
_PIO2 = math.pi / 2.0
_TWO_PI = 2.0 * math.pi
_DEGREES = 180.0 / math.pi
_NO_ROTATION = np.zeros(0, dtype=np.float32)


@inline
def _direction(u, v, beta):
    """Meteorological direction [degrees] of the float64 wind (u, v) plus the angle ``beta`` [degrees]:
    (0, 360], 0 for calm, NaN for NaN."""
    au = abs(u)
    av = abs(v)
    # Not min()/max(): they drop a NaN (min(1, nan) is 1); here a NaN in either component ends up in the
    # quotient below and so in the result (tests/test_wind.py::
    # test_edge_cases_zero_wind_single_column_single_level_and_nan).
    swap = au > av
    lo = av if swap else au
    hi = au if swap else av
    # alpha = atan(lo / hi) in [0, pi/4]; above lo/hi = 0.66, Cephes' reduction atan(x) = pi/4 + atan((x-1)/(x+1)),
    # taken from lo and hi directly (one division instead of two).
    reduce = lo > 0.66 * hi
    x = ((lo - hi) if reduce else lo) / ((lo + hi) if reduce else hi)
    z = x * x
    p = (((_P0 * z + _P1) * z + _P2) * z + _P3) * z + _P4
    q = ((((z + _Q0) * z + _Q1) * z + _Q2) * z + _Q3) * z + _Q4
    r = x + x * (z * p / q)
    alpha = (_PIO4 + (r + 0.5 * _MOREBITS)) if reduce else r
    # angle of the from-vector (-u, -v) to north, in [0, pi/2]
    alpha = ((_PIO2 - alpha) + _MOREBITS) if swap else alpha
    # quadrant, clockwise from north. u = 0 goes with u > 0: there alpha = 0, so a wind from due north
    # (v < 0) gets 2 pi - 0 = 360 and one from due south pi + 0 = 180, as MetPy has them.
    if u < 0.0:
        d = alpha if v <= 0.0 else math.pi - alpha
    else:
        d = _TWO_PI - alpha if v <= 0.0 else math.pi + alpha
    d = d * _DEGREES + beta  # beta = 0 adds exactly nothing
    d = d + 360.0 if d <= 0.0 else (d - 360.0 if d > 360.0 else d)
    return 0.0 if ((u == 0.0) & (v == 0.0)) else d


# Element-wise kernels: one prange task is one level of one block of BLOCK_COLUMNS columns, tasks in memory
# order, so each thread streams through contiguous memory (1.7x faster than whole columns per task for FF,
# which is memory-bound). The task's values go to an inlined loop over 1-D row slices: indexing the 2-D
# arrays inside the prange body instead costs 1.5x the CPU time (measured on DD). Every value is computed
# by itself, so any partition gives the same bits.

@inline
def _speed_row(u, v, out):
    for j in range(u.shape[0]):
        uu = np.float64(u[j])
        vv = np.float64(v[j])
        # Products of float32 values are exact in float64: one rounding in the sum, one in the root.
        out[j] = math.sqrt(uu * uu + vv * vv)


@inline
def _direction_row(u, v, out):
    for j in range(u.shape[0]):
        out[j] = _direction(np.float64(u[j]), np.float64(v[j]), 0.0)


@inline
def _rotated_direction_row(u, v, beta_hi, beta_lo, out):
    for j in range(u.shape[0]):
        out[j] = _direction(np.float64(u[j]), np.float64(v[j]), np.float64(beta_hi[j]) + np.float64(beta_lo[j]))


@kernel
def _wind_speed(u, v, out):
    nlev, ncol = u.shape
    nblocks = (ncol + BLOCK_COLUMNS - 1) // BLOCK_COLUMNS
    for task in prange(nlev * nblocks):
        k = task // nblocks
        j0 = (task % nblocks) * BLOCK_COLUMNS
        j1 = min(j0 + BLOCK_COLUMNS, ncol)
        _speed_row(u[k, j0:j1], v[k, j0:j1], out[k, j0:j1])


@kernel
def _wind_direction(u, v, beta_hi, beta_lo, out):
    nlev, ncol = u.shape
    rotate = beta_hi.shape[0] == ncol
    nblocks = (ncol + BLOCK_COLUMNS - 1) // BLOCK_COLUMNS
    for task in prange(nlev * nblocks):
        k = task // nblocks
        j0 = (task % nblocks) * BLOCK_COLUMNS
        j1 = min(j0 + BLOCK_COLUMNS, ncol)
        if rotate:
            _rotated_direction_row(u[k, j0:j1], v[k, j0:j1], beta_hi[j0:j1], beta_lo[j0:j1], out[k, j0:j1])
        else:
            _direction_row(u[k, j0:j1], v[k, j0:j1], out[k, j0:j1])


@kernel
def _grid_rotation(lat, lon, sin_pole, cos_pole, pole_lon, out):
    ncol = lat.shape[0]
    nblocks = (ncol + BLOCK_COLUMNS - 1) // BLOCK_COLUMNS
    for b in prange(nblocks):
        j0 = b * BLOCK_COLUMNS
        for j in range(j0, min(j0 + BLOCK_COLUMNS, ncol)):
            phi = math.radians(lat[j])
            dlon = math.radians(pole_lon - lon[j])
            a1 = cos_pole * math.sin(dlon)
            a2 = sin_pole * math.cos(phi) - cos_pole * math.sin(phi) * math.cos(dlon)
            out[j] = math.degrees(math.atan2(a1, a2))


def wind_speed(u, v, out):
    """Horizontal wind speed :math:`\\sqrt{u^2 + v^2}` of every column, written into ``out``.

    Parameters
    ----------
    u, v : ndarray, float32, (nlev, ncol), C-contiguous
        Wind components at the mass points [m s-1] (any horizontal frame: the speed does not depend on it).
    out : ndarray, float32, (nlev, ncol)
        Result [m s-1]. NaN in ``u`` or ``v`` gives NaN.

    Notes
    -----
    Float64 arithmetic, float32 result: within half a float32 ulp of the exact value (the float64 sum
    and root add at most 2 float64 ulp). Element-wise, so the same bits for any number of threads.
    """
    _wind_speed(u, v, out)
    return out


def wind_direction(u, v, out, rotation=None):
    """Meteorological wind direction (where the wind blows from, degrees clockwise from north).

    Parameters
    ----------
    u, v : ndarray, float32, (nlev, ncol), C-contiguous
        Wind components at the mass points [m s-1]: geographic east/north, or along the axes of a rotated
        grid when ``rotation`` is given.
    out : ndarray, float32, (nlev, ncol)
        Result [degrees] in (0, 360]: 90 from the east, 180 from the south, 270 from the west, 360 from
        the north; 0 for calm (``u == v == 0``, WMO and MetPy convention). NaN in ``u`` or ``v`` gives NaN.
    rotation : ndarray, float64, (ncol,), optional
        Angle β [degrees] of each grid point from :func:`grid_rotation`, added to the direction of
        grid-relative components. None: ``u``, ``v`` are geographic.

    Notes
    -----
    Float64 arithmetic (a vectorised Cephes arctangent, see the module docstring), float32 result.
    Element-wise, so the same bits for any number of threads.
    """
    if rotation is None:
        beta_hi = beta_lo = _NO_ROTATION
    else:
        # β as a pair of float32, hi + lo, exact to 2^-48 of β (1e-13 degrees): with a float64 array in
        # the loop LLVM chooses 256-bit instead of 512-bit vectors (measured 3.2 against 2.4 ns a value).
        beta_hi = rotation.astype(np.float32)
        beta_lo = (rotation - beta_hi).astype(np.float32)
    _wind_direction(u, v, beta_hi, beta_lo, out)
    return out


def grid_rotation(lat, lon, *, pole_latitude, pole_longitude, out=None):
    """Angle β [degrees] that turns winds along a rotated lat-lon grid's axes to geographic east/north.

    Parameters
    ----------
    lat, lon : ndarray, float64, (ncol,)
        Geographic latitude and longitude of the grid points [degrees].
    pole_latitude, pole_longitude : float
        Geographic latitude and longitude of the rotated grid's north pole [degrees] (CF
        ``grid_north_pole_latitude``/``grid_north_pole_longitude``; COSMO ``pollat``/``pollon``).
    out : ndarray, float64, (ncol,), optional
        Where to write the result.

    Returns
    -------
    ndarray, float64, (ncol,)
        β in (−180, 180]: ``u_g = u cos β + v sin β``, ``v_g = −u sin β + v cos β`` (COSMO ``uvrot2uv``,
        [COSMO-PartI]_), and the geographic wind direction is the grid-relative one plus β.
    """
    lat = np.ascontiguousarray(lat, dtype=np.float64)
    lon = np.ascontiguousarray(lon, dtype=np.float64)
    if out is None:
        out = np.empty(lat.shape[0], dtype=np.float64)
    pole = math.radians(pole_latitude)
    _grid_rotation(lat, lon, math.sin(pole), math.cos(pole), float(pole_longitude), out)
    return out
