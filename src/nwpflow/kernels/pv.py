r"""Ertel potential vorticity on model levels (numba kernels), on regular, rotated and ICON grids.

.. math::

    \mathrm{PV} = \frac{1}{\rho}\, \boldsymbol{\omega}_a \cdot \nabla\theta,

with the absolute vorticity :math:`\boldsymbol{\omega}_a` of the shallow atmosphere in spherical
coordinates and all derivatives at constant height, written as meteodata-lab's ``pot_vortic``
(``operators/curl.py``, ``total_diff.py``):

.. math::

    \mathrm{PV} = \frac{1}{\rho}\left[\theta_\lambda\, c_1 + \theta_\varphi\, (c_2 + \frac{2\Omega}{a}\cos\phi)
        - \theta_\zeta\, (c_3 + 2\Omega \sin\phi)\right],

    c_1 = \frac{1}{a\cos\varphi}\left(\frac{w_\varphi}{a} + v_\zeta - \frac{v}{a}\right), \quad
    c_2 = \frac{1}{a}\left(-u_\zeta - \frac{w_\lambda}{a\cos\varphi} + \frac{u}{a}\right), \quad
    c_3 = \frac{v_\lambda}{a\cos\varphi} - \frac{1}{a}\left(u_\varphi - u\tan\varphi\right),

where :math:`f_\lambda`, :math:`f_\varphi` are the derivatives along the grid's longitude and latitude
(rotated ones on a rotated grid, :math:`\varphi` its latitude) at constant height and
:math:`f_\zeta = -\partial f / \partial z`, through the terrain-following transformation

.. math::

    f_\lambda = \left.\frac{\partial f}{\partial \lambda}\right|_k - \frac{\partial f / \partial k}
        {\partial z / \partial k} \left.\frac{\partial z}{\partial \lambda}\right|_k, \qquad
    f_\zeta = -\frac{\partial f / \partial k}{\partial z / \partial k},

:math:`\phi` the geographic latitude (Coriolis), :math:`\Omega` = 7.2921e-5 s-1, :math:`a` = 6371229 m
(meteodata-lab's constants). :math:`\partial/\partial k` is numpy's ``gradient`` over the levels
(centred, one-sided at the top and bottom level), :math:`\partial z/\partial k` the difference of the two
half levels of a layer, :math:`\partial z/\partial\lambda|_k` the mean of the two half levels'; ``W``
(half levels) enters as the mean of two half levels and its vertical derivative as their difference.

The horizontal derivatives come from a stencil: for each point, neighbours and weights with
:math:`\partial f/\partial\lambda|_k \approx \sum_n w^\lambda_n (f_n - f_0)`:

* regular and rotated lat-lon grids (:func:`grid_stencil`): centred differences
  :math:`(f_{i+1} - f_{i-1}) / (2 \Delta\lambda)`, missing on the outermost rows and columns (as
  meteodata-lab);
* ICON's triangles (:func:`lsq_stencil`): the linear least-squares gradient over the cells that share
  an edge with the cell (the grid file's ``neighbor_cell_index``), in the local east/north plane
  (:math:`x = a\cos\phi_0\,\Delta\lambda`, :math:`y = a\,\Delta\phi`), exact for a field linear in x
  and y; a cell with fewer than two neighbours (the domain's edge) gets no value.
"""

from __future__ import annotations

import math

import numpy as np
from numba import prange

from nwpflow.kernels._jit import BLOCK_COLUMNS, inline, kernel

OMEGA = 7.2921e-5
"""Angular velocity of the Earth [s-1] (meteodata-lab ``physical_constants.omega``)."""

RADIUS = 6371229.0
"""Radius of the Earth [m] (COSMO/ICON GRIB, meteodata-lab ``earth_radius``)."""


@inline
def _horizontal(f, k, j, nb, weights):
    total = 0.0
    f0 = np.float64(f[k, j])
    for n in range(nb.shape[0]):
        i = nb[n, j]
        if i < 0:
            return math.nan
        w = weights[n, j]
        if w != 0.0:
            total += w * (np.float64(f[k, i]) - f0)
    return total


@inline
def _half_mean_horizontal(h, k, j, nb, weights):
    return 0.5 * (_horizontal(h, k, j, nb, weights) + _horizontal(h, k + 1, j, nb, weights))


@inline
def _gradient_k(f, k, j, nlev):
    """numpy.gradient over the level index: centred inside, one-sided at the ends."""
    if k == 0:
        return np.float64(f[1, j]) - np.float64(f[0, j])
    if k == nlev - 1:
        return np.float64(f[nlev - 1, j]) - np.float64(f[nlev - 2, j])
    return 0.5 * (np.float64(f[k + 1, j]) - np.float64(f[k - 1, j]))


@kernel
def _pv(u, v, w, theta, rho, hhl, nb, w_lam, w_phi, acrlat, tgrlat, cor2, cor3, radius, out):
    nlev, ncol = u.shape
    r = 1.0 / radius
    nblocks = (ncol + BLOCK_COLUMNS - 1) // BLOCK_COLUMNS
    for task in prange(nlev * nblocks):
        k = task // nblocks
        j0 = (task % nblocks) * BLOCK_COLUMNS
        for j in range(j0, min(j0 + BLOCK_COLUMNS, ncol)):
            sqrtg = -1.0 / (np.float64(hhl[k + 1, j]) - np.float64(hhl[k, j]))
            zeta_lam = sqrtg * _half_mean_horizontal(hhl, k, j, nb, w_lam)
            zeta_phi = sqrtg * _half_mean_horizontal(hhl, k, j, nb, w_phi)
            uu = np.float64(u[k, j])
            vv = np.float64(v[k, j])
            du_dk = _gradient_k(u, k, j, nlev)
            dv_dk = _gradient_k(v, k, j, nlev)
            dt_dk = _gradient_k(theta, k, j, nlev)
            dw_dk = np.float64(w[k + 1, j]) - np.float64(w[k, j])
            du_dphi = _horizontal(u, k, j, nb, w_phi) + du_dk * zeta_phi
            dv_dlam = _horizontal(v, k, j, nb, w_lam) + dv_dk * zeta_lam
            dw_dlam = _half_mean_horizontal(w, k, j, nb, w_lam) + dw_dk * zeta_lam
            dw_dphi = _half_mean_horizontal(w, k, j, nb, w_phi) + dw_dk * zeta_phi
            ac = acrlat[j]
            curl1 = ac * (r * dw_dphi + dv_dk * sqrtg - r * vv)
            curl2 = r * (-du_dk * sqrtg - ac * dw_dlam + r * uu)
            curl3 = ac * dv_dlam + r * (-du_dphi + tgrlat[j] * uu)
            dt_dlam = _horizontal(theta, k, j, nb, w_lam) + dt_dk * zeta_lam
            dt_dphi = _horizontal(theta, k, j, nb, w_phi) + dt_dk * zeta_phi
            dt_dzeta = dt_dk * sqrtg
            out[k, j] = (dt_dlam * curl1 + dt_dphi * (curl2 + cor2[j]) - dt_dzeta * (curl3 + cor3[j])) \
                / np.float64(rho[k, j])


def potential_vorticity(u, v, w, theta, rho, hhl, stencil, metric, out):
    r"""Ertel potential vorticity [K m2 kg-1 s-1] on full levels (module docstring).

    Parameters
    ----------
    u, v : ndarray, float32, (nlev, ncol)
        Wind along the grid's axes at the mass points [m s-1] (a rotated grid's own components; ICON's
        eastward and northward).
    w : ndarray, float32, (nlev + 1, ncol)
        Vertical wind on half levels [m s-1].
    theta : ndarray, float32, (nlev, ncol)
        Potential temperature [K].
    rho : ndarray, float32, (nlev, ncol)
        Air density [kg m-3].
    hhl : ndarray, float32, (nlev + 1, ncol)
        Half-level heights [m above sea level].
    stencil : (ndarray int32 (nnb, ncol), ndarray float64 (nnb, ncol), ndarray float64 (nnb, ncol))
        Neighbours (-1: none) and weights of the derivatives along λ and φ [rad-1]
        (:func:`grid_stencil`, :func:`lsq_stencil`).
    metric : ndarray, float64, (4, ncol)
        Per point :math:`1/(a\cos\varphi)`, :math:`\tan\varphi` (the grid's latitude φ),
        :math:`2\Omega\cos\phi/a`, :math:`2\Omega\sin\phi` (geographic φ): :func:`metric_terms`.
    out : ndarray, float32, (nlev, ncol)
        Result; NaN where a neighbour is missing or an input is NaN.
    """
    nb, w_lam, w_phi = stencil
    _pv(u, v, w, theta, rho, hhl, nb, w_lam, w_phi, metric[0], metric[1], metric[2], metric[3], RADIUS, out)
    return out


def metric_terms(grid_latitude, latitude, *, radius=RADIUS, omega=OMEGA):
    r"""The ``metric`` of :func:`potential_vorticity`: rows :math:`1/(a\cos\varphi)`, :math:`\tan\varphi`,
    :math:`2\Omega\cos\phi/a`, :math:`2\Omega\sin\phi` from the grid's latitude :math:`\varphi` and the
    geographic latitude :math:`\phi` [degrees] of each point (ncol,)."""
    rlat = np.radians(np.asarray(grid_latitude, dtype=np.float64))
    lat = np.radians(np.asarray(latitude, dtype=np.float64))
    return np.ascontiguousarray(np.stack([1.0 / (np.cos(rlat) * radius), np.tan(rlat),
                                          2.0 * omega / radius * np.cos(lat), 2.0 * omega * np.sin(lat)]))


def grid_stencil(ny, nx, dlon, dlat):
    """Centred differences on a regular (or rotated) ny x nx lat-lon grid, points in C order (x fastest):
    neighbours x-1, x+1, y-1, y+1 and weights -1/(2 dλ), 1/(2 dλ) along λ, -1/(2 dφ), 1/(2 dφ) along φ
    [rad-1] (``dlon``, ``dlat`` in degrees); no neighbour on the outermost rows and columns."""
    y, x = np.divmod(np.arange(ny * nx), nx)
    j = np.arange(ny * nx)
    nb = np.stack([np.where(x > 0, j - 1, -1), np.where(x < nx - 1, j + 1, -1),
                   np.where(y > 0, j - nx, -1), np.where(y < ny - 1, j + nx, -1)]).astype(np.int32)
    lam = 0.5 / math.radians(dlon)
    phi = 0.5 / math.radians(dlat)
    zeros = np.zeros(ny * nx)
    w_lam = np.stack([np.full(ny * nx, -lam), np.full(ny * nx, lam), zeros, zeros])
    w_phi = np.stack([zeros, zeros, np.full(ny * nx, -phi), np.full(ny * nx, phi)])
    return nb, np.ascontiguousarray(w_lam), np.ascontiguousarray(w_phi)


@kernel
def _lsq(lat, lon, nb, w_lam, w_phi):
    nnb, ncol = nb.shape
    nblocks = (ncol + BLOCK_COLUMNS - 1) // BLOCK_COLUMNS
    for b in prange(nblocks):
        for j in range(b * BLOCK_COLUMNS, min(b * BLOCK_COLUMNS + BLOCK_COLUMNS, ncol)):
            phi0 = math.radians(lat[j])
            c0 = math.cos(phi0)
            sxx = 0.0
            sxy = 0.0
            syy = 0.0
            count = 0
            for n in range(nnb):
                i = nb[n, j]
                if i >= 0:
                    dl = math.radians(((lon[i] - lon[j] + 180.0) % 360.0) - 180.0)
                    x = c0 * dl
                    y = math.radians(lat[i]) - phi0
                    sxx += x * x
                    sxy += x * y
                    syy += y * y
                    count += 1
            det = sxx * syy - sxy * sxy
            ok = count >= 2 and det > 1e-30 * (sxx + syy) * (sxx + syy)
            for n in range(nnb):
                i = nb[n, j]
                if ok and i >= 0:
                    dl = math.radians(((lon[i] - lon[j] + 180.0) % 360.0) - 180.0)
                    x = c0 * dl
                    y = math.radians(lat[i]) - phi0
                    # gradient in (x, y) = (cos φ0 Δλ, Δφ) [per radian of arc], then along λ: times cos φ0
                    gx = (syy * x - sxy * y) / det
                    gy = (sxx * y - sxy * x) / det
                    w_lam[n, j] = gx * c0
                    w_phi[n, j] = gy
                else:
                    w_lam[n, j] = 0.0
                    w_phi[n, j] = 0.0
                    if not ok:
                        nb[n, j] = -1


def lsq_stencil(lat, lon, neighbours):
    r"""Least-squares gradient stencil of an unstructured grid (ICON): for each cell, the weights along λ
    and φ [rad-1] of :math:`\nabla f \approx G^{-1} \sum_n \mathbf{d}_n (f_n - f_0)`,
    :math:`G = \sum_n \mathbf{d}_n \mathbf{d}_n^T`, :math:`\mathbf{d}_n = (\cos\phi_0\,\Delta\lambda_n,
    \Delta\phi_n)`.

    Parameters
    ----------
    lat, lon : ndarray, float64, (ncol,)
        Cell centres [degrees].
    neighbours : ndarray, int, (nnb, ncol)
        0-based indices of each cell's neighbours, -1 for none (ICON's ``neighbor_cell_index`` minus 1).

    Returns
    -------
    (nb, w_lam, w_phi)
        For :func:`potential_vorticity`; a cell with fewer than two neighbours (or collinear ones) has
        every neighbour set to -1, so that its derivatives are missing.
    """
    nb = np.ascontiguousarray(neighbours, dtype=np.int32).copy()
    w_lam = np.empty(nb.shape)
    w_phi = np.empty(nb.shape)
    _lsq(np.ascontiguousarray(lat, dtype=np.float64), np.ascontiguousarray(lon, dtype=np.float64), nb, w_lam, w_phi)
    return nb, w_lam, w_phi


__all__ = ["OMEGA", "RADIUS", "grid_stencil", "lsq_stencil", "metric_terms", "potential_vorticity"]
