r"""Statistics over ensemble members and over lead-time windows (numba kernels).

Every kernel takes a C-contiguous ``(n, ncol)`` array: ``n`` members or lead times along the first axis,
every grid point of the flattened field (levels, cells, reference times, ...) along the second. Each
grid point is independent: the columns are split into fixed blocks of
:data:`~nwpflow.kernels._jit.BLOCK_COLUMNS` spread over numba's threads, the member (or lead-time) loop
runs in a fixed order inside a block, and no reduction crosses columns, so the results are the same
bits for any number of threads. Arithmetic is float64; inputs are float32 (or float64), outputs float32.
The inner loops run over one contiguous row slice of a block (``values[m, j0:j0 + n]``) and are
branch-free (selects), which lets LLVM vectorise them: 2-3x faster than indexing ``values[m, j]``
(measured for the window maximum, ``benchmarks/bench_fanin.py``).

Validation and the choice of rules (ddof, NaN policy, ``>=`` or ``>``, which windows exist) live in the
wrappers of :mod:`nwpflow.products.fanin`; the kernels only apply them.

Ensemble (:func:`ensemble_statistics`), over the ``k`` valid members :math:`x_1 \dots x_k` of a point:

.. math::

    \bar x = \frac1k \sum_m x_m, \qquad
    s = \sqrt{\frac{1}{k - \mathrm{ddof}} \sum_m (x_m - \bar x)^2}, \qquad
    P(x \ge \tau) = \frac{\#\{m : x_m \ge \tau\}}{k}

(two passes for the variance, as numbagg's ``nanvar``: one pass, E[x²] − E[x]², cancels
catastrophically when the spread is small against the mean; ``test_fanin.py::test_std_two_pass_is_stable``
guards it).
Quantiles interpolate linearly between order statistics :math:`x_{(1)} \le \dots \le x_{(k)}`
at the virtual index :math:`h = (k - 1) p` — numpy's default ``method="linear"``, definition 7 of
[HyndmanFan1996]_, with numpy's own interpolation formula, so the float64 values equal numpy's.

Lead-time windows (:func:`window_statistics`, :func:`accumulation_deltas`): window ``w`` covers the
steps ``starts[w] + 1 .. ends[w]`` (indices into the step axis), i.e. :math:`(t - W, t]`.
"""

from __future__ import annotations

import numpy as np
from numba import prange

from nwpflow.kernels._jit import BLOCK_COLUMNS, kernel

FLOAT32_DECODING_ERROR = 2.0**-22
"""Relative bound used for the rounding of decoded values to float32 (half an ulp is 2**-24; the factor
4 covers decoders that round more than once)."""


# --------------------------------------------------------------------------------------- ensemble


@kernel
def _ensemble(values, probabilities, thresholds, ddof, skipna, strict, moments, quantiles, exceedance):
    nmem, ncol = values.shape
    nq = probabilities.shape[0]
    nt = thresholds.shape[0]
    nblocks = (ncol + BLOCK_COLUMNS - 1) // BLOCK_COLUMNS
    for b in prange(nblocks):
        j0 = b * BLOCK_COLUMNS
        n = min(BLOCK_COLUMNS, ncol - j0)
        # Branch-free inner loops over the block's columns (selects, no jumps), so that LLVM vectorises
        # them; NaN never enters an accumulator: "x < acc" is False for NaN.
        count = np.zeros(n)
        total = np.zeros(n)
        low = np.full(n, np.inf)
        high = np.full(n, -np.inf)
        ordered = np.empty((nmem if nq > 0 else 0, n))
        for m in range(nmem):
            row = values[m, j0:j0 + n]
            for jj in range(n):
                x = np.float64(row[jj])
                valid = x == x
                count[jj] += 1.0 if valid else 0.0
                total[jj] += x if valid else 0.0
                low[jj] = x if x < low[jj] else low[jj]
                high[jj] = x if x > high[jj] else high[jj]
            if nq > 0:
                for jj in range(n):
                    x = np.float64(row[jj])
                    ordered[m, jj] = x if x == x else np.inf  # NaN sorts last, after the k valid members
        mean = np.empty(n)
        for jj in range(n):
            mean[jj] = total[jj] / count[jj]
        squares = np.zeros(n)
        for m in range(nmem):
            row = values[m, j0:j0 + n]
            for jj in range(n):
                x = np.float64(row[jj])
                d = x - mean[jj]
                squares[jj] += d * d if x == x else 0.0
        undefined = np.empty(n, dtype=np.bool_)
        for jj in range(n):
            k = count[jj]
            undefined[jj] = k == 0.0 or (not skipna and k < nmem)
            j = j0 + jj
            if undefined[jj]:
                for r in range(4):
                    moments[r, j] = np.nan
                continue
            moments[0, j] = mean[jj]
            moments[1, j] = np.sqrt(squares[jj] / (k - ddof)) if k > ddof else np.nan
            moments[2, j] = low[jj]
            moments[3, j] = high[jj]
        if nt > 0:
            hits = np.empty(n)
            for r in range(nt):
                threshold = thresholds[r]
                for jj in range(n):
                    hits[jj] = 0.0
                for m in range(nmem):
                    row = values[m, j0:j0 + n]
                    for jj in range(n):
                        x = np.float64(row[jj])  # NaN compares False: never a hit
                        hit = x > threshold if strict else x >= threshold
                        hits[jj] += 1.0 if hit else 0.0
                for jj in range(n):
                    exceedance[r, j0 + jj] = np.nan if undefined[jj] else hits[jj] / count[jj]
        if nq > 0:
            # Odd-even transposition sort of every column at once (nmem passes sort nmem values): each
            # compare-exchange is a vector min/max across the block, far faster than a branchy
            # insertion sort per column (bench_fanin.py).
            for sweep in range(nmem):
                for m in range(sweep % 2, nmem - 1, 2):
                    first = ordered[m]
                    second = ordered[m + 1]
                    for jj in range(n):
                        a = first[jj]
                        c = second[jj]
                        first[jj] = c if c < a else a
                        second[jj] = a if c < a else c
            for jj in range(n):
                j = j0 + jj
                if undefined[jj]:
                    for r in range(nq):
                        quantiles[r, j] = np.nan
                    continue
                k = int(count[jj])
                for r in range(nq):
                    # numpy's method="linear": virtual index (k - 1) p, lerp as numpy's _lerp
                    h = (k - 1) * probabilities[r]
                    below = np.floor(h)
                    gamma = h - below
                    i = min(int(below), k - 1)
                    a = ordered[i, jj]
                    c = ordered[min(i + 1, k - 1), jj]
                    diff = c - a
                    if gamma >= 0.5:
                        quantiles[r, j] = c - diff * (1.0 - gamma)
                    else:
                        quantiles[r, j] = a + diff * gamma


def ensemble_statistics(values, probabilities, thresholds, moments, quantiles, exceedance, *,
                        ddof=0, skipna=False, strict=False):
    """Mean, standard deviation, minimum, maximum, quantiles and exceedance probabilities over members.

    Parameters
    ----------
    values : ndarray, float32 or float64, (nmem, ncol), C-contiguous
        The members of every grid point; NaN marks a missing value.
    probabilities : ndarray, float64, (nq,)
        Quantile probabilities in [0, 1] (empty: no quantiles).
    thresholds : ndarray, float64, (nt,)
        Finite thresholds, in the units of ``values`` (empty: no probabilities).
    moments : ndarray, float32, (4, ncol)
        Output: mean, standard deviation, minimum, maximum.
    quantiles : ndarray, float32, (nq, ncol)
        Output: the quantiles, in the order of ``probabilities``.
    exceedance : ndarray, float32, (nt, ncol)
        Output: fraction of the members ``>= threshold`` (``> threshold`` with ``strict``).
    ddof : int
        Delta degrees of freedom of the standard deviation: it divides by ``k - ddof``; NaN if
        ``k <= ddof``.
    skipna : bool
        False: a point where any member is NaN gets NaN for every statistic. True: NaN members are left
        out (``k`` counts the others); a point with no valid member is NaN.
    strict : bool
        Count members ``> threshold`` instead of ``>= threshold``.
    """
    _ensemble(values, probabilities, thresholds, ddof, skipna, strict, moments, quantiles, exceedance)


# ------------------------------------------------------------------------------------- lead times


@kernel
def _window(values, starts, ends, statistic, skipna, out):
    nstep, ncol = values.shape
    nwin = starts.shape[0]
    nblocks = (ncol + BLOCK_COLUMNS - 1) // BLOCK_COLUMNS
    for b in prange(nblocks):
        j0 = b * BLOCK_COLUMNS
        n = min(BLOCK_COLUMNS, ncol - j0)
        count = np.empty(n)
        acc = np.empty(n)
        for w in range(nwin):
            initial = -np.inf if statistic == 0 else (np.inf if statistic == 1 else 0.0)
            for jj in range(n):
                count[jj] = 0.0
                acc[jj] = initial
            # one branch-free (vectorisable) loop per statistic; NaN never enters acc ("x > acc" is False)
            for s in range(starts[w] + 1, ends[w] + 1):
                row = values[s, j0:j0 + n]
                if statistic == 0:
                    for jj in range(n):
                        x = np.float64(row[jj])
                        count[jj] += 1.0 if x == x else 0.0
                        acc[jj] = x if x > acc[jj] else acc[jj]
                elif statistic == 1:
                    for jj in range(n):
                        x = np.float64(row[jj])
                        count[jj] += 1.0 if x == x else 0.0
                        acc[jj] = x if x < acc[jj] else acc[jj]
                else:
                    for jj in range(n):
                        x = np.float64(row[jj])
                        valid = x == x
                        count[jj] += 1.0 if valid else 0.0
                        acc[jj] += x if valid else 0.0
            samples = ends[w] - starts[w]
            for jj in range(n):
                if count[jj] == 0.0 or (not skipna and count[jj] < samples):
                    out[w, j0 + jj] = np.nan
                elif statistic == 2:
                    out[w, j0 + jj] = acc[jj] / count[jj]
                else:
                    out[w, j0 + jj] = acc[jj]


WINDOW_STATISTICS = ("max", "min", "mean")
"""Statistics :func:`window_statistics` computes, in the order of its ``statistic`` codes."""


def window_statistics(values, starts, ends, out, *, statistic, skipna=False):
    """Maximum, minimum or mean of every lead-time window of every grid point.

    Parameters
    ----------
    values : ndarray, float32 or float64, (nstep, ncol), C-contiguous
        The field at each lead time (ascending); NaN marks a missing value.
    starts, ends : ndarray, int64, (nwin,)
        Window ``w`` covers the steps ``starts[w] + 1 .. ends[w]`` (the window :math:`(t - W, t]`).
    out : ndarray, float32, (nwin, ncol)
        Output.
    statistic : str
        ``"max"``, ``"min"`` or ``"mean"`` (unweighted mean of the samples in the window).
    skipna : bool
        False: a window with a NaN sample is NaN. True: NaN samples are left out; a window with no valid
        sample is NaN.
    """
    _window(values, starts, ends, WINDOW_STATISTICS.index(statistic), skipna, out)


@kernel
def _accumulate(values, starts, ends, quanta, relative, out):
    nstep, ncol = values.shape
    nwin = starts.shape[0]
    nblocks = (ncol + BLOCK_COLUMNS - 1) // BLOCK_COLUMNS
    for b in prange(nblocks):
        j0 = b * BLOCK_COLUMNS
        n = min(BLOCK_COLUMNS, ncol - j0)
        for w in range(nwin):
            s0 = starts[w]
            s1 = ends[w]
            quantum = quanta[w]
            first = values[s0, j0:j0 + n]
            last = values[s1, j0:j0 + n]
            target = out[w, j0:j0 + n]
            for jj in range(n):
                before = np.float64(first[jj])
                after = np.float64(last[jj])
                delta = after - before
                noise = delta < 0.0 and -delta <= quantum + relative * (abs(after) + abs(before))
                target[jj] = 0.0 if noise else delta


def accumulation_deltas(values, starts, ends, quanta, out, *, relative=FLOAT32_DECODING_ERROR):
    """Amount accumulated in every window, ``F(t) - F(t - W)``, with packing noise clipped to zero.

    Parameters
    ----------
    values : ndarray, float32 or float64, (nstep, ncol), C-contiguous
        A field accumulated since the model start, at each lead time (ascending).
    starts, ends : ndarray, int64, (nwin,)
        Step indices of the window's start :math:`t - W` and end :math:`t`.
    quanta : ndarray, float64, (nwin,)
        The packing noise allowed in window ``w``: the sum of the packing steps of the two fields
        (0 where unknown).
    out : ndarray, float32, (nwin, ncol)
        Output. A negative difference whose magnitude is at most
        ``quanta[w] + relative * (|F(t)| + |F(t - W)|)`` is packing noise and becomes 0; a larger decrease
        is left negative for the caller to report. NaN in either field gives NaN.
    relative : float
        Relative bound of the float32 rounding of the decoded values.
    """
    _accumulate(values, starts, ends, quanta, relative, out)
