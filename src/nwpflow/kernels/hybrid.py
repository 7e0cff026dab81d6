"""Pressure, geopotential and height of IFS hybrid model levels (numba kernels).

These kernels reconstruct what the IFS computed on its hybrid sigma-pressure levels from the fields
an IFS model-level GRIB file carries: the A/B coefficients of the half levels (``pv`` key), the
surface pressure (``exp(lnsp)``), temperature, specific humidity and the surface geopotential. They
follow the IFS finite-difference scheme of Simmons and Burridge (1981) as documented in
[IFS-CY47R3-Dyn]_, Part III, Chapter 2, Section 2.2.1 (eqs. 2.11-2.23), which is also what
earthkit-meteo implements (``earthkit.meteo.vertical.array``); the tests compare against it.

Conventions shared by every function here:

* arrays are ``(level, ncol)``, C-contiguous, level 0 is the model top; half-level arrays have one
  level more than full-level arrays (``nlev + 1`` against ``nlev``), half level ``k + 1/2`` of the
  IFS numbering (``k = 0 .. nlev``) is row ``k`` and full level ``k`` (``k = 1 .. nlev``) is row
  ``k - 1``;
* inputs may be float32 or float64; every value is widened to float64 before any arithmetic and
  the outputs are float64 (the caller stores float32);
* SI units: Pa, K, kg kg-1, m2 s-2, m;
* the columns are split into blocks of a fixed size (:data:`BLOCK_COLUMNS`) that ``numba.prange``
  distributes over threads. A column's result depends only on that column's inputs and the block
  partition does not depend on the number of threads, so results are bit-identical for any number
  of threads (``tests/test_kernels_hybrid.py::test_bit_identical_for_any_thread_count``). Within a
  block the loops run level-outer, column-inner, so that the inner loop reads contiguous memory.

The public functions are plain Python: they check the array shapes (numba does not check bounds, and
a shape mismatch would otherwise read or write outside the arrays silently), allocate the outputs and
pass them, last, to the private kernels.

References
----------
.. [IFS-CY47R3-Dyn] ECMWF, 2021: IFS Documentation CY47R3 - Part III: Dynamics and numerical
   procedures. IFS Documentation CY47R3, ECMWF, Chapter 2, Section 2.2.1.
.. [SimmonsBurridge1981] Simmons, A. J. and D. M. Burridge, 1981: An energy and angular-momentum
   conserving vertical finite-difference scheme and hybrid vertical coordinates. Mon. Wea. Rev.,
   109, 758-766.
"""

from __future__ import annotations

import math

import numpy as np
from numba import prange

from nwpflow.kernels._jit import function, inline, kernel

__all__ = [
    "BLOCK_COLUMNS",
    "P_TOP_ZERO",
    "full_level_geopotential",
    "full_level_pressure",
    "geometric_height",
    "half_level_geopotential",
    "half_level_pressure",
    "hybrid_pressure_and_height",
]

BLOCK_COLUMNS = 256
"""Number of columns one ``prange`` iteration handles [1]. Fixed, so that the partition of the
columns, and with it every result, is the same for any number of threads."""

P_TOP_ZERO = 0.1
"""Top half-level pressure [Pa] at or below which the model top is treated as ``p = 0``, where
``ln(p_{3/2} / p_{1/2})`` is infinite and the IFS sets ``alpha_1 = ln 2`` (earthkit-meteo's
``PRESSURE_TOA`` in ``pressure_on_hybrid_levels``). The IFS L137 (and L91, L60) levels have
``A_{1/2} = B_{1/2} = 0``."""

_LN2 = math.log(2.0)


# --------------------------------------------------------------------------------------------------
# Block helpers: one block of columns, arrays of shape (level, nb), outputs passed in last. The kernels
# below call them on column slices, so all of them share one implementation of each formula.
# --------------------------------------------------------------------------------------------------


@function
def _half_level_pressure_block(a, b, ps, p_half):
    for k in range(p_half.shape[0]):
        ak = np.float64(a[k])
        bk = np.float64(b[k])
        for c in range(p_half.shape[1]):
            p_half[k, c] = ak + bk * np.float64(ps[c])


@function
def _full_level_pressure_block(p_half, p_full):
    for k in range(p_full.shape[0]):
        for c in range(p_full.shape[1]):
            p_full[k, c] = 0.5 * (np.float64(p_half[k, c]) + np.float64(p_half[k + 1, c]))


@inline
def _moist_rtv(t, qv, rd, rv_rd_minus_1):
    """R_d T_v = R_d T (1 + (R_v/R_d - 1) q) [J kg-1 = m2 s-2], in float64."""
    return rd * (np.float64(t) * (1.0 + rv_rd_minus_1 * np.float64(qv)))


@function
def _geopotential_block(p_half, t, qv, fis, rd, rv_rd_minus_1, phi_half, phi_full):
    """Integrate the hydrostatic equation upward through one block of columns.

    ``phi_half`` (nlev + 1, nb) is always filled: it carries the integration. ``phi_full`` (nlev, nb)
    is filled only when it has rows; pass an array of shape (0, nb) to skip the full levels.
    """
    nlev = t.shape[0]
    nb = t.shape[1]
    want_full = phi_full.shape[0] > 0
    for c in range(nb):
        phi_half[nlev, c] = np.float64(fis[c])
    # Layers nlev .. 2 (rows nlev - 1 .. 1), bottom to top.
    for k in range(nlev - 1, 0, -1):
        for c in range(nb):
            p_above = np.float64(p_half[k, c])
            p_below = np.float64(p_half[k + 1, c])
            rtv = _moist_rtv(t[k, c], qv[k, c], rd, rv_rd_minus_1)
            delta = math.log(p_below / p_above)
            phi_below = phi_half[k + 1, c]
            phi_half[k, c] = phi_below + rtv * delta
            if want_full:
                alpha = 1.0 - p_above / (p_below - p_above) * delta
                phi_full[k, c] = phi_below + alpha * rtv
    # Top layer (row 0). With p_{1/2} = 0 its log-pressure thickness is infinite: the IFS uses
    # alpha_1 = ln 2 for the full level, and the top half level is placed so that the full level is
    # the mean of the layer's two half levels.
    for c in range(nb):
        p_above = np.float64(p_half[0, c])
        p_below = np.float64(p_half[1, c])
        rtv = _moist_rtv(t[0, c], qv[0, c], rd, rv_rd_minus_1)
        phi_below = phi_half[1, c]
        if p_above <= P_TOP_ZERO:
            phi_top_full = phi_below + _LN2 * rtv
            phi_half[0, c] = 2.0 * phi_top_full - phi_below
        else:
            delta = math.log(p_below / p_above)
            alpha = 1.0 - p_above / (p_below - p_above) * delta
            phi_top_full = phi_below + alpha * rtv
            phi_half[0, c] = phi_below + rtv * delta
        if want_full:
            phi_full[0, c] = phi_top_full


@inline
def _geometric_height_value(phi, radius, g):
    gh = np.float64(phi) / g
    return radius * gh / (radius - gh)


# --------------------------------------------------------------------------------------------------
# Kernels: outputs passed in last
# --------------------------------------------------------------------------------------------------


@kernel
def _half_level_pressure(a, b, ps, p_half):
    ncol = ps.shape[0]
    nblock = (ncol + BLOCK_COLUMNS - 1) // BLOCK_COLUMNS
    for ib in prange(nblock):
        c0 = ib * BLOCK_COLUMNS
        c1 = min(c0 + BLOCK_COLUMNS, ncol)
        _half_level_pressure_block(a, b, ps[c0:c1], p_half[:, c0:c1])


@kernel
def _full_level_pressure(p_half, p_full):
    ncol = p_half.shape[1]
    nblock = (ncol + BLOCK_COLUMNS - 1) // BLOCK_COLUMNS
    for ib in prange(nblock):
        c0 = ib * BLOCK_COLUMNS
        c1 = min(c0 + BLOCK_COLUMNS, ncol)
        _full_level_pressure_block(p_half[:, c0:c1], p_full[:, c0:c1])


@kernel
def _half_level_geopotential(p_half, t, qv, fis, rd, rv_rd_minus_1, phi_half):
    ncol = t.shape[1]
    nblock = (ncol + BLOCK_COLUMNS - 1) // BLOCK_COLUMNS
    for ib in prange(nblock):
        c0 = ib * BLOCK_COLUMNS
        c1 = min(c0 + BLOCK_COLUMNS, ncol)
        no_full = np.empty((0, c1 - c0), dtype=np.float64)
        _geopotential_block(p_half[:, c0:c1], t[:, c0:c1], qv[:, c0:c1], fis[c0:c1], rd,
                            rv_rd_minus_1, phi_half[:, c0:c1], no_full)


@kernel
def _full_level_geopotential(p_half, t, qv, fis, rd, rv_rd_minus_1, phi_full):
    nlev = t.shape[0]
    ncol = t.shape[1]
    nblock = (ncol + BLOCK_COLUMNS - 1) // BLOCK_COLUMNS
    for ib in prange(nblock):
        c0 = ib * BLOCK_COLUMNS
        c1 = min(c0 + BLOCK_COLUMNS, ncol)
        phi_half = np.empty((nlev + 1, c1 - c0), dtype=np.float64)
        _geopotential_block(p_half[:, c0:c1], t[:, c0:c1], qv[:, c0:c1], fis[c0:c1], rd,
                            rv_rd_minus_1, phi_half, phi_full[:, c0:c1])


@kernel
def _geometric_height(phi, radius, g, out):
    """``phi`` and ``out`` flat."""
    n = phi.shape[0]
    nblock = (n + BLOCK_COLUMNS - 1) // BLOCK_COLUMNS
    for ib in prange(nblock):
        i0 = ib * BLOCK_COLUMNS
        i1 = min(i0 + BLOCK_COLUMNS, n)
        for i in range(i0, i1):
            out[i] = _geometric_height_value(phi[i], radius, g)


@kernel
def _hybrid_pressure_and_height(a, b, ps, t, qv, fis, rd, rv_rd_minus_1, radius, g, p_full, z_half):
    nlev = a.shape[0] - 1
    ncol = ps.shape[0]
    nblock = (ncol + BLOCK_COLUMNS - 1) // BLOCK_COLUMNS
    for ib in prange(nblock):
        c0 = ib * BLOCK_COLUMNS
        c1 = min(c0 + BLOCK_COLUMNS, ncol)
        nb = c1 - c0
        p_half = np.empty((nlev + 1, nb), dtype=np.float64)
        _half_level_pressure_block(a, b, ps[c0:c1], p_half)
        _full_level_pressure_block(p_half, p_full[:, c0:c1])
        z_blk = z_half[:, c0:c1]
        _geopotential_block(p_half, t[:, c0:c1], qv[:, c0:c1], fis[c0:c1], rd, rv_rd_minus_1, z_blk,
                            np.empty((0, nb), dtype=np.float64))
        for k in range(nlev + 1):
            for c in range(nb):
                z_blk[k, c] = _geometric_height_value(z_blk[k, c], radius, g)


# --------------------------------------------------------------------------------------------------
# Python entry points (shape checks here, never in the kernels)
# --------------------------------------------------------------------------------------------------


def _check_ab(a, b, ps):
    if a.ndim != 1 or b.ndim != 1 or ps.ndim != 1:
        raise ValueError("a, b must be 1-D (nlev + 1,) and ps 1-D (ncol,)")
    if a.shape[0] != b.shape[0]:
        raise ValueError("a and b must have the same length nlev + 1")
    if a.shape[0] < 2:
        raise ValueError("a and b need at least two half levels (nlev >= 1)")


def _check_columns(nhalf, ncol, t, qv, fis):
    """Check t, qv (nlev, ncol) and fis (ncol,) against the half levels' (nhalf, ncol)."""
    if t.shape != qv.shape:
        raise ValueError("t and qv must have the same shape (nlev, ncol)")
    if t.ndim != 2 or fis.ndim != 1:
        raise ValueError("t and qv must be 2-D (nlev, ncol) and fis 1-D (ncol,)")
    if nhalf != t.shape[0] + 1 or ncol != t.shape[1]:
        raise ValueError("the half levels must have the shape (nlev + 1, ncol) of t with one level more")
    if fis.shape[0] != t.shape[1]:
        raise ValueError("fis must have the shape (ncol,)")
    if t.shape[0] < 1:
        raise ValueError("at least one full level is needed (nlev >= 1)")


def _check_p_half(p_half):
    if p_half.ndim != 2:
        raise ValueError("p_half must be 2-D (nlev + 1, ncol)")


def half_level_pressure(a, b, ps):
    r"""Calculate the pressure of the hybrid half levels.

    Parameters
    ----------
    a : ndarray, shape (nlev + 1,)
        Hybrid coefficients :math:`A_{k+1/2}` of the half levels, model top first (Pa). In GRIB
        they are the first half of the ``pv`` key.
    b : ndarray, shape (nlev + 1,)
        Hybrid coefficients :math:`B_{k+1/2}` of the half levels, model top first (1). The second
        half of the ``pv`` key.
    ps : ndarray, shape (ncol,)
        Surface pressure (Pa), e.g. ``exp(lnsp)``.

    Returns
    -------
    ndarray, shape (nlev + 1, ncol), float64
        Half-level pressure :math:`p_{k+1/2}` (Pa); row 0 is the model top, the last row is
        ``ps``.

    See Also
    --------
    full_level_pressure

    Notes
    -----
    .. math:: p_{k+1/2} = A_{k+1/2} + B_{k+1/2} \, p_s, \qquad k = 0, \dots, N_{lev}

    [IFS-CY47R3-Dyn]_, Section 2.2.1; [SimmonsBurridge1981]_.

    Examples
    --------
    >>> import numpy as np
    >>> half_level_pressure(np.array([0.0, 5000.0, 0.0]), np.array([0.0, 0.5, 1.0]),
    ...                     np.array([100000.0]))
    array([[     0.],
           [ 55000.],
           [100000.]])
    """
    _check_ab(a, b, ps)
    p_half = np.empty((a.shape[0], ps.shape[0]), dtype=np.float64)
    _half_level_pressure(a, b, ps, p_half)
    return p_half


def full_level_pressure(p_half):
    r"""Calculate the pressure of the hybrid full levels as the mean of the two half levels.

    Parameters
    ----------
    p_half : ndarray, shape (nlev + 1, ncol)
        Half-level pressure (Pa), model top first (see :func:`half_level_pressure`).

    Returns
    -------
    ndarray, shape (nlev, ncol), float64
        Full-level pressure :math:`p_k` (Pa), model top first.

    Notes
    -----
    .. math:: p_k = \tfrac{1}{2} \left( p_{k-1/2} + p_{k+1/2} \right), \qquad k = 1, \dots, N_{lev}

    The ECMWF convention for the pressure of a model level, used for IFS output and by
    earthkit-meteo's ``pressure_on_hybrid_levels``; [IFS-CY47R3-Dyn]_, Section 2.2.1.

    Examples
    --------
    >>> import numpy as np
    >>> full_level_pressure(np.array([[0.0], [55000.0], [100000.0]]))
    array([[27500.],
           [77500.]])
    """
    if p_half.ndim != 2 or p_half.shape[0] < 2:
        raise ValueError("p_half must be 2-D (nlev + 1, ncol) with nlev >= 1")
    p_full = np.empty((p_half.shape[0] - 1, p_half.shape[1]), dtype=np.float64)
    _full_level_pressure(p_half, p_full)
    return p_full


def half_level_geopotential(p_half, t, qv, fis, rd, rv_rd_minus_1):
    r"""Calculate the geopotential of the hybrid half levels by hydrostatic integration.

    Parameters
    ----------
    p_half : ndarray, shape (nlev + 1, ncol)
        Half-level pressure (Pa), model top first (see :func:`half_level_pressure`).
    t : ndarray, shape (nlev, ncol)
        Temperature on the full levels (K).
    qv : ndarray, shape (nlev, ncol)
        Specific humidity on the full levels (kg kg-1).
    fis : ndarray, shape (ncol,)
        Surface geopotential (m2 s-2).
    rd : float
        Gas constant of dry air (J kg-1 K-1); :data:`nwpflow.constants.ifs_Rd` for IFS output.
    rv_rd_minus_1 : float
        :math:`R_v / R_d - 1` (1), e.g. ``ifs_Rv / ifs_Rd - 1``.

    Returns
    -------
    ndarray, shape (nlev + 1, ncol), float64
        Geopotential :math:`\Phi_{k+1/2}` of the half levels (m2 s-2); the last row is ``fis``.

    See Also
    --------
    full_level_geopotential, geometric_height

    Notes
    -----
    With the virtual temperature :math:`T_v = T \left(1 + (R_v/R_d - 1)\, q\right)`, the
    geopotential is integrated upward from the surface,

    .. math::

        \Phi_{N_{lev}+1/2} = \Phi_s, \qquad
        \Phi_{k-1/2} = \Phi_{k+1/2} + R_d T_{v,k} \ln\frac{p_{k+1/2}}{p_{k-1/2}},
        \quad k = N_{lev}, \dots, 2

    ([IFS-CY47R3-Dyn]_, Section 2.2.1; [SimmonsBurridge1981]_). At the model top
    :math:`p_{1/2} = 0` and the logarithm is infinite: the IFS defines no geopotential there,
    only the full-level value :math:`\Phi_1 = \Phi_{3/2} + \ln 2 \, R_d T_{v,1}`. nwpflow places
    the top half level so that the full level is the mean of the top layer's two half levels,

    .. math:: \Phi_{1/2} = 2 \Phi_1 - \Phi_{3/2} = \Phi_{3/2} + 2 \ln 2 \, R_d T_{v,1}

    (a convention, needed for a finite ``HHL`` at the model top; all other half levels are the
    IFS values). Where :math:`p_{1/2}` exceeds :data:`P_TOP_ZERO` the top layer is integrated
    like the others.
    """
    _check_p_half(p_half)
    _check_columns(p_half.shape[0], p_half.shape[1], t, qv, fis)
    phi_half = np.empty((t.shape[0] + 1, t.shape[1]), dtype=np.float64)
    _half_level_geopotential(p_half, t, qv, fis, float(rd), float(rv_rd_minus_1), phi_half)
    return phi_half


def full_level_geopotential(p_half, t, qv, fis, rd, rv_rd_minus_1):
    r"""Calculate the geopotential of the hybrid full levels as the IFS defines it.

    Parameters
    ----------
    p_half : ndarray, shape (nlev + 1, ncol)
        Half-level pressure (Pa), model top first (see :func:`half_level_pressure`).
    t : ndarray, shape (nlev, ncol)
        Temperature on the full levels (K).
    qv : ndarray, shape (nlev, ncol)
        Specific humidity on the full levels (kg kg-1).
    fis : ndarray, shape (ncol,)
        Surface geopotential (m2 s-2).
    rd : float
        Gas constant of dry air (J kg-1 K-1); :data:`nwpflow.constants.ifs_Rd` for IFS output.
    rv_rd_minus_1 : float
        :math:`R_v / R_d - 1` (1), e.g. ``ifs_Rv / ifs_Rd - 1``.

    Returns
    -------
    ndarray, shape (nlev, ncol), float64
        Geopotential :math:`\Phi_k` of the full levels (m2 s-2), model top first.

    See Also
    --------
    half_level_geopotential, geometric_height

    Notes
    -----
    .. math::

        \Phi_k = \Phi_{k+1/2} + \alpha_k R_d T_{v,k}, \qquad
        \alpha_k = 1 - \frac{p_{k-1/2}}{p_{k+1/2} - p_{k-1/2}} \ln\frac{p_{k+1/2}}{p_{k-1/2}},
        \qquad \alpha_1 = \ln 2

    with :math:`\Phi_{k+1/2}` and :math:`T_v` as in :func:`half_level_geopotential`
    ([IFS-CY47R3-Dyn]_, Section 2.2.1; [SimmonsBurridge1981]_). :math:`\alpha_1 = \ln 2` applies
    where the model top is at :math:`p_{1/2} \le` :data:`P_TOP_ZERO`, as in the IFS and
    earthkit-meteo (``alpha_top="ifs"``); otherwise the general formula is used for the top layer
    too. This is earthkit-meteo's ``geopotential_on_hybrid_levels``.
    """
    _check_p_half(p_half)
    _check_columns(p_half.shape[0], p_half.shape[1], t, qv, fis)
    phi_full = np.empty(t.shape, dtype=np.float64)
    _full_level_geopotential(p_half, t, qv, fis, float(rd), float(rv_rd_minus_1), phi_full)
    return phi_full


def geometric_height(phi, radius, g):
    r"""Convert geopotential to geometric height above sea level.

    Parameters
    ----------
    phi : ndarray, any shape, C-contiguous
        Geopotential (m2 s-2).
    radius : float
        Radius of the Earth (m); :data:`nwpflow.constants.earth_radius`.
    g : float
        Standard gravity (m s-2); :data:`nwpflow.constants.g`.

    Returns
    -------
    ndarray, shape of ``phi``, float64
        Geometric height (m).

    Notes
    -----
    .. math:: z = \frac{R \, \Phi / g}{R - \Phi / g}

    for a spherical Earth of radius :math:`R` with gravity falling off as :math:`1/r^2`; the
    inverse of :math:`\Phi = g R z / (R + z)`. The same formula as earthkit-meteo's
    ``geometric_height_from_geopotential``.

    Examples
    --------
    >>> import numpy as np
    >>> geometric_height(np.array([[9806.65]]), 6371229.0, 9.80665)
    array([[1000.15698023]])
    """
    out = np.empty(phi.shape, dtype=np.float64)
    _geometric_height(phi.reshape(-1), float(radius), float(g), out.reshape(-1))
    return out


def hybrid_pressure_and_height(a, b, ps, t, qv, fis, rd, rv_rd_minus_1, radius, g):
    r"""Calculate full-level pressure and half-level geometric height of hybrid levels in one pass.

    The fused form of :func:`half_level_pressure`, :func:`full_level_pressure`,
    :func:`half_level_geopotential` and :func:`geometric_height` (same block helpers, so the
    results are bit-identical to calling them one after the other) for building ``P`` and ``HHL``
    from an IFS model-level file: each block of columns is finished while it is in cache, and
    neither the half-level pressure nor the geopotential is stored for the whole domain.

    Parameters
    ----------
    a, b : ndarray, shape (nlev + 1,)
        Hybrid coefficients of the half levels, model top first (Pa and 1); the ``pv`` key.
    ps : ndarray, shape (ncol,)
        Surface pressure (Pa).
    t : ndarray, shape (nlev, ncol)
        Temperature on the full levels (K).
    qv : ndarray, shape (nlev, ncol)
        Specific humidity on the full levels (kg kg-1).
    fis : ndarray, shape (ncol,)
        Surface geopotential (m2 s-2).
    rd : float
        Gas constant of dry air (J kg-1 K-1).
    rv_rd_minus_1 : float
        :math:`R_v / R_d - 1` (1).
    radius : float
        Radius of the Earth (m).
    g : float
        Standard gravity (m s-2).

    Returns
    -------
    p_full : ndarray, shape (nlev, ncol), float64
        Full-level pressure (Pa).
    z_half : ndarray, shape (nlev + 1, ncol), float64
        Geometric height of the half levels above sea level (m), ``HHL``; the last row is the
        surface height ``HSURF`` (``geometric_height(fis, radius, g)``).

    Notes
    -----
    See the four functions above for the formulas and the top-half-level convention.
    """
    _check_ab(a, b, ps)
    nlev = a.shape[0] - 1
    ncol = ps.shape[0]
    _check_columns(nlev + 1, ncol, t, qv, fis)
    p_full = np.empty((nlev, ncol), dtype=np.float64)
    z_half = np.empty((nlev + 1, ncol), dtype=np.float64)
    _hybrid_pressure_and_height(a, b, ps, t, qv, fis, float(rd), float(rv_rd_minus_1), float(radius), float(g),
                                p_full, z_half)
    return p_full, z_half
