r"""A vectorisable :math:`x^a` for float32 inputs, exact to a few units in the last place of float64.

``x ** a`` in a numba loop is a call to libm's scalar ``pow``: LLVM cannot vectorise it (the llvmlite
wheels on PyPI have no SVML), and on the ICON-CH1 domain it makes θ-type kernels compute-bound at ~10 %
of the memory bandwidth. Here the power is built from operations LLVM does vectorise (integer bit
operations, table gathers and fused polynomial arithmetic), using that the inputs are float32:

.. math::

    x = 2^{e} \, m, \qquad m = m_i (1 + t), \qquad
    x^a = \underbrace{2^{a e}}_{\text{table } E[e]} \;
          \underbrace{m_i^{a}}_{\text{table } M[i]} \; (1 + t)^a

where :math:`e` is the float32 exponent, :math:`m_i` the centre of the bin of the 10 leading mantissa bits
(:math:`|t| \le 2^{-11}`), and :math:`(1 + t)^a` its binomial series to :math:`t^5` (truncation error
below :math:`10^{-19}`). The tables are computed once per exponent with numpy's correctly rounded power.
The result is within 4 ulp of float64 ``pow`` (``tests/test_kernels_power.py``), i.e. ~1e-15 relative —
far below the float32 storage precision of the outputs (6e-8).

Zero, negative, subnormal, infinite and NaN inputs give NaN (for a pressure these are all invalid).
"""

from __future__ import annotations

import functools

import numpy as np

from nwpflow.kernels._jit import inline

MANTISSA_INDEX_BITS = 10
_SHIFT = 23 - MANTISSA_INDEX_BITS
_HALF_BIN = 1 << (_SHIFT - 1)
_REMAINDER_MASK = (1 << _SHIFT) - 1
_INDEX_MASK = (1 << MANTISSA_INDEX_BITS) - 1
_ULP = 2.0**-23

# Layout of the one table array the kernels take: exponent table (512: sign bit + 8 exponent bits),
# mantissa-bin table, reciprocal bin centres, series coefficients.
_E0 = 0
_M0 = 512
_I0 = _M0 + (1 << MANTISSA_INDEX_BITS)
_C0 = _I0 + (1 << MANTISSA_INDEX_BITS)
_SIZE = _C0 + 6


@functools.lru_cache(maxsize=16)
def _tables(exponent: float) -> np.ndarray:
    table = np.empty(_SIZE, dtype=np.float64)
    biased = np.arange(512, dtype=np.float64)
    e_table = np.power(2.0, exponent * (biased - 127.0))
    e_table[0] = np.nan  # zero and subnormals
    e_table[255:] = np.nan  # inf/NaN and every negative number (sign bit set)
    table[_E0:_M0] = e_table
    centres = 1.0 + (np.arange(1 << MANTISSA_INDEX_BITS) + 0.5) / (1 << MANTISSA_INDEX_BITS)
    table[_M0:_I0] = np.power(centres, exponent)
    table[_I0:_C0] = 1.0 / centres
    coefficient = 1.0
    for n in range(6):
        table[_C0 + n] = coefficient
        coefficient *= (exponent - n) / (n + 1)
    table.setflags(write=False)
    return table


def power_table(exponent: float) -> np.ndarray:
    """Return the lookup table of :func:`pow_f32` for ``x ** exponent`` (cached per exponent)."""
    return _tables(float(exponent))


@inline
def pow_f32(bits, table):
    """``x ** a`` in float64 for the float32 ``x`` whose bit pattern (int32) is ``bits``.

    ``table`` is :func:`power_table` ``(a)``. Inline this into kernel loops; pass the int32 view of the
    float32 input array (``x.view(np.int32)``).
    """
    e = (bits >> 23) & 0x1FF
    i = (bits >> _SHIFT) & _INDEX_MASK
    t = ((bits & _REMAINDER_MASK) - _HALF_BIN) * _ULP * table[_I0 + i]
    t2 = t * t
    series = (table[_C0] + table[_C0 + 1] * t) + t2 * (
        (table[_C0 + 2] + table[_C0 + 3] * t) + t2 * (table[_C0 + 4] + table[_C0 + 5] * t)
    )
    return table[_E0 + e] * table[_M0 + i] * series
