"""Destaggering of C-grid (Arakawa C) fields to the mass points (numba kernels).

COSMO writes ``U`` half a grid length east of the mass point and ``V`` half a grid length north. The
mass-point value is the mean of the two neighbouring staggered values,

.. math::

    u_{i} = \\tfrac12 (u_{i-1/2} + u_{i+1/2}),

stored as ``u[i-1]`` and ``u[i]``. At the western (southern) boundary, where ``u[i-1]`` is outside the
domain, the value of the first staggered point is kept — as meteodata-lab's
``operators/destagger.py`` does (``interpolate_midpoint(..., extend="left")``).
"""

from __future__ import annotations

import numpy as np
from numba import prange

from nwpflow.kernels._jit import kernel


@kernel
def _destagger_x(field, out):
    nouter, ny, nx = field.shape
    for r in prange(nouter * ny):
        o = r // ny
        y = r % ny
        out[o, y, 0] = field[o, y, 0]
        for x in range(1, nx):
            out[o, y, x] = 0.5 * (np.float64(field[o, y, x - 1]) + np.float64(field[o, y, x]))


@kernel
def _destagger_y(field, out):
    nouter, ny, nx = field.shape
    for r in prange(nouter * ny):
        o = r // ny
        y = r % ny
        if y == 0:
            for x in range(nx):
                out[o, 0, x] = field[o, 0, x]
        else:
            for x in range(nx):
                out[o, y, x] = 0.5 * (np.float64(field[o, y - 1, x]) + np.float64(field[o, y, x]))


def destagger(field: np.ndarray, axis: str, out: np.ndarray | None = None) -> np.ndarray:
    """Average a field staggered along ``axis`` (``"x"`` or ``"y"``) to the mass points.

    ``field`` is C-contiguous with the horizontal dims last, ``(..., y, x)``; float64 arithmetic, the
    result has ``field``'s dtype.
    """
    if axis not in ("x", "y"):
        raise ValueError(f"axis must be 'x' or 'y', not {axis!r}")
    if field.ndim < 2:
        raise ValueError("destagger needs a field with (y, x) as its last dims")
    shaped = np.ascontiguousarray(field).reshape((-1,) + field.shape[-2:])
    result = np.empty_like(shaped) if out is None else out.reshape(shaped.shape)
    (_destagger_x if axis == "x" else _destagger_y)(shaped, result)
    return result.reshape(field.shape)
