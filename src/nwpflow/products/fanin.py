r"""Fan-in products: statistics over ensemble members and over lead-time windows.

These are not registry products (the registry holds products of one member and lead time). They take
the output of any product, or any field of the run, for several members or lead times and reduce it:

* :func:`ensemble_statistics` — over the ``member`` dim: mean, spread (standard deviation), minimum,
  maximum, quantiles and exceedance probabilities;
* :func:`accumulation` — sums over windows of a field accumulated since the model start
  (``TOT_PREC`` → 1 h, 3 h, 6 h, 24 h amounts);
* :func:`window_statistic` — maximum, minimum or mean of a field over windows of lead time
  (daily maximum of ``T_2M``, maximum of ``VMAX_10M`` over 3 h);
The kernels are in :mod:`nwpflow.kernels.stats`; the jobs that read the members' or lead times' files,
reduce them and write the result are :mod:`nwpflow.jobs.fanin`.

Rules
-----
Ensemble spread: ``ddof=0`` by default, the population standard deviation
:math:`\sqrt{\sum_m (x_m - \bar x)^2 / N}`: the members are taken as the forecast distribution itself,
not as a sample of a larger one. This is ECMWF Metview's ``stdev`` (``z = sqrt(mean(x²) - mean(x)²)``,
metview-python ``docs/api/functions/stdev.rst``), and numpy's and xarray's default. ``ddof=1`` gives
the sample estimate (divide by N − 1), e.g. for spread–skill comparisons. MeteoSwiss's fieldextra is
not public, so its choice could not be checked.

Missing values: by default (``skipna=False``) a grid point where any member (or any step of a window)
is NaN is NaN in every statistic — Metview's rule ("a missing value in any field results in a missing
value in the output") and what ``np.mean``/``np.std``/``np.quantile``/``np.max`` do. ``skipna=True``
leaves NaN members out: the statistics, the quantiles and the probabilities are then over the ``k``
valid members (probability = hits / k); a point with none is NaN, a standard deviation with
``k <= ddof`` is NaN.

Quantiles: linear interpolation between the sorted members at the virtual index ``(N - 1) p``, numpy's
default ``method="linear"`` (definition 7 of Hyndman and Fan 1996); with numpy's interpolation formula,
so that the float64 values are numpy's. ``p = 0`` is the minimum, ``p = 1`` the maximum.

Exceedance probability: the fraction of the members with ``value >= threshold`` (``comparison=">="``,
the default: a threshold is reached when it is equalled, as warning levels are stated, and a packed
field that holds the threshold exactly counts) or ``value > threshold`` (``comparison=">"``).

Windows: a window of length ``W`` ending at lead time ``t`` is :math:`(t - W, t]`. It is produced only
when both ``t`` and ``t - W`` are lead times of the input; windows the input does not fully cover are
not produced (no NaN fields); if no window is covered, the error names the lead times. A window
statistic uses every input step in :math:`(t - W, t]` (24 hourly values for a 24 h window), at the
input's own output interval;
with ``sliding=True`` (default) a window ends at every such ``t`` (overlapping windows), with
``sliding=False`` only the consecutive windows from the first lead time
(``t - t_0 = W, 2W, ...``). Window means are unweighted means of the samples.

Accumulations and packing noise: the amount of a window is ``F(t) - F(t - W)`` of the field accumulated
since the model start. Packed in GRIB, each field is rounded to its own packing step ``q = 2^E 10^-D``
(binary and decimal scale factors; simple and CCSDS packing round to the nearest step), and decoding
rounds to float32. A negative difference no larger than
``q(t) + q(t - W) + 2^-22 (|F(t)| + |F(t - W)|)`` — twice the largest rounding error of each field —
is packing noise and becomes exactly 0. A larger decrease is a real one (wrong files, a reset
accumulation): ``on_decrease="raise"`` (default) stops with :class:`DecreasingAccumulationError`
naming the field, the two lead times, the number of points and the largest decrease;
``on_decrease="nan"`` logs a warning with the same facts and sets those points to NaN. The result is
never negative. ``q`` is read from the GRIB headers; NetCDF inputs use their ``scale_factor`` packing,
else 0 (float32 rounding only).

Output names
------------
Ensemble (one :class:`xarray.Dataset`, ``NAME`` the product or field):

* ``NAME_mean``, ``NAME_std``, ``NAME_min``, ``NAME_max``: the input's dims without ``member``;
* ``NAME_quantile``: a leading dim ``quantile`` (coordinate: the probabilities, 0..1);
* ``NAME_exceedance_probability``: a leading dim ``threshold`` (coordinate: the thresholds, in the
  field's units), units ``1``.

Each has CF ``cell_methods`` (``realization: mean``, ``realization: standard_deviation``, ...).
Time: ``NAME_sum_3h`` (accumulation), ``NAME_max_24h``, ``NAME_min_24h``, ``NAME_mean_24h`` (window
lengths in whole hours, else minutes: ``NAME_max_90min``), on a ``step`` dim holding the window ends,
with ``cell_methods`` ``time: sum`` / ``time: maximum`` / ...; the files of the time jobs
(:func:`nwpflow.jobs.fanin.compute_time_products`) add the CF bounds of the windows, ``step_bounds (step, bnds)``
(:func:`with_bounds`).
"""

from __future__ import annotations

import datetime
import logging
import re
from collections.abc import Sequence
from typing import Literal

import numpy as np
import xarray as xr

from nwpflow import kernels
from nwpflow.errors import InputError, OptionError
from nwpflow.naming import ENSEMBLE_STATISTICS, EXCEEDANCE_PROBABILITY, QUANTILE, TIME_SHORT, ensemble_variable_name, \
    time_product_name, window_label

log = logging.getLogger("nwpflow")

TIME_KINDS = tuple(TIME_SHORT)
"""Kinds of time product: window sums of an accumulated field, or a statistic of an instantaneous one."""

COMPARISONS = (">=", ">")
"""How a member is compared with an exceedance threshold."""

DECREASE_POLICIES = ("raise", "nan")
"""What :func:`accumulation` does with a decrease larger than the packing noise."""

_CELL_METHODS = {"mean": "mean", "std": "standard_deviation", "min": "minimum", "max": "maximum"}
_LONG_NAMES = {"mean": "ensemble mean", "std": "ensemble standard deviation", "min": "ensemble minimum",
               "max": "ensemble maximum"}
_TIME_METHODS = {"accumulation": "sum", "max": "maximum", "min": "minimum", "mean": "mean"}

WindowLike = np.timedelta64 | datetime.timedelta | str | int


class DecreasingAccumulationError(InputError):
    """An accumulated field that decreases between two lead times by more than its packing noise."""

    def __init__(self, what: str, *, field: str, start: np.timedelta64, end: np.timedelta64, points: int,
                 largest: float, path: str | None = None):
        self.start, self.end, self.points, self.largest = start, end, points, largest
        super().__init__(what, field=field, path=path)


# ------------------------------------------------------------------------------------- windows


def parse_window(window: WindowLike) -> np.timedelta64:
    """Return a window length as ``timedelta64[ns]``.

    Parameters
    ----------
    window : numpy.timedelta64, datetime.timedelta, str or int
        A duration longer than zero: ``"24h"``, ``"3 h"``, ``"90min"``, ``"1d"``, ISO 8601 ``"PT24H"``,
        a timedelta, or an int (hours).

    Examples
    --------
    >>> parse_window("3h")
    np.timedelta64(10800000000000,'ns')
    >>> bool(parse_window(24) == parse_window("PT24H") == parse_window("1d"))
    True
    """
    value = parse_duration(window, "window")
    if value <= np.timedelta64(0, "ns"):
        raise OptionError(f"window must be longer than zero, not {window!r}")
    return value


def parse_duration(value: WindowLike, key: str) -> np.timedelta64:
    """Return a duration of zero or more (a window or a lead time) as ``timedelta64[ns]``; ``key`` names it
    in the error (:func:`parse_window` takes the same forms)."""
    if isinstance(value, bool):
        raise OptionError(f"{key} must be a duration such as '24h', not {value!r}")
    if isinstance(value, (int, np.integer)):
        result = np.timedelta64(int(value), "h")
    elif isinstance(value, np.timedelta64):
        result = value
    elif isinstance(value, datetime.timedelta):
        result = np.timedelta64(value)
    elif isinstance(value, str):
        text = value.strip()
        units = {"min": "m", "m": "m", "h": "h", "d": "D"}
        simple = re.fullmatch(r"(\d+)\s*(min|m|h|d)", text, re.IGNORECASE)
        iso = re.fullmatch(r"P(?:(\d+)D)?(?:T(?:(\d+)H)?(?:(\d+)M)?)?", text, re.IGNORECASE)
        if simple:
            result = np.timedelta64(int(simple[1]), units[simple[2].lower()])
        elif iso and any(iso.groups()):
            days, hours, minutes = (int(g or 0) for g in iso.groups())
            result = np.timedelta64(days * 1440 + hours * 60 + minutes, "m")
        else:
            raise OptionError(f"{key} {value!r} is not a duration: use e.g. '1h', '24h', '90min', '1d' or 'PT3H'")
    else:
        raise OptionError(f"{key} must be a duration such as '24h', not {value!r}")
    result = result.astype("timedelta64[ns]")
    if result < np.timedelta64(0, "ns"):
        raise OptionError(f"{key} must not be negative, not {value!r}")
    return result


def window_minutes(window: WindowLike) -> int:
    """Return a window length in whole minutes (what names and GRIB2 encode).

    Examples
    --------
    >>> window_minutes("24h"), window_minutes("PT90M"), window_minutes("1d")
    (1440, 90, 1440)
    """
    minutes = parse_window(window) / np.timedelta64(1, "m")
    if minutes != int(minutes):
        raise OptionError(f"window {window!r} is not a whole number of minutes")
    return int(minutes)


def time_variable_name(field: str, kind: str, window: WindowLike) -> str:
    """Return the name of a time product's variable (:func:`nwpflow.naming.time_product_name`), e.g.
    ``TOT_PREC_sum_3h`` or ``T_2M_max_24h``, from a window of any form :func:`parse_window` takes.

    Examples
    --------
    >>> time_variable_name("VMAX_10M", "max", "PT90M")
    'VMAX_10M_max_90min'
    """
    check_choice("kind", kind, TIME_KINDS)
    return time_product_name(field, kind, window_minutes(window))


def window_indices(steps: np.ndarray, window: WindowLike, *, sliding: bool = True) -> tuple[np.ndarray, np.ndarray]:
    """Return the step indices ``(starts, ends)`` of every window :math:`(t - W, t]` the steps cover.

    A window ending at ``steps[e]`` is produced when ``steps[e] - W`` is also one of ``steps`` (index
    ``s``); with ``sliding=False`` only the windows with ``steps[e] - steps[0]`` a whole multiple of ``W``.

    Parameters
    ----------
    steps : ndarray of timedelta64
        Lead times, strictly ascending.
    window : window-like
        Window length (:func:`parse_window`).
    sliding : bool
        Windows ending at every step (True) or consecutive windows from the first step (False).

    Examples
    --------
    >>> steps = np.arange(0, 7) * np.timedelta64(1, "h")
    >>> window_indices(steps, "3h")
    (array([0, 1, 2, 3]), array([3, 4, 5, 6]))
    >>> window_indices(steps, "3h", sliding=False)
    (array([0, 3]), array([3, 6]))
    """
    width = parse_window(window)
    steps = np.asarray(steps).astype("timedelta64[ns]")
    if steps.size > 1 and not np.all(np.diff(steps) > np.timedelta64(0, "ns")):
        raise InputError(f"lead times must be strictly ascending, got {hours_text(steps)}")
    position = {value: i for i, value in enumerate(steps.tolist())}
    starts, ends = [], []
    for e, end in enumerate(steps):
        if not sliding and (end - steps[0]) % width != np.timedelta64(0, "ns"):
            continue
        s = position.get((end - width).astype("timedelta64[ns]").tolist())
        if s is not None:
            starts.append(s)
            ends.append(e)
    return np.asarray(starts, dtype=np.int64), np.asarray(ends, dtype=np.int64)


def hours_text(steps) -> str:
    """Lead times as the errors show them: ``[0 h, 1.5 h]``."""
    values = np.asarray(steps).astype("timedelta64[ns]") / np.timedelta64(1, "h")
    return "[" + ", ".join(f"{v:g} h" for v in np.atleast_1d(values)) + "]"


def check_choice(key: str, value, allowed: Sequence) -> None:
    """Raise :class:`~nwpflow.errors.OptionError` naming ``key`` and the allowed values if ``value`` is none."""
    if value not in allowed:
        raise OptionError(f"{key} must be one of {', '.join(map(repr, allowed))}, not {value!r}")


# --------------------------------------------------------------------------------- array layout


def _flatten(data: xr.DataArray, dim: str) -> tuple[np.ndarray, tuple[str, ...], tuple[int, ...]]:
    """``(n, ncol)`` C-contiguous values with ``dim`` first; the other dims and their sizes."""
    if dim not in data.dims:
        raise InputError(f"has no {dim!r} dim (dims: {', '.join(map(str, data.dims)) or 'none'})",
                         field=str(data.name))
    rest = tuple(d for d in data.dims if d != dim)
    ordered = data.transpose(dim, *rest)
    values = np.asarray(ordered.values)
    if values.dtype not in (np.float32, np.float64):
        values = values.astype(np.float64)
    values = np.ascontiguousarray(values).reshape(data.sizes[dim], -1)
    return values, rest, tuple(data.sizes[d] for d in rest)


def _coords_without(data: xr.DataArray, dim: str) -> dict:
    return {name: coord for name, coord in data.coords.items() if dim not in coord.dims}


def _base_attrs(data: xr.DataArray) -> dict:
    return {k: v for k, v in data.attrs.items() if k in ("units", "grid_mapping")}


# ------------------------------------------------------------------------------------- ensemble


def check_ensemble_options(statistics, quantiles, thresholds, ddof, comparison):
    """Check the options of :func:`ensemble_statistics`; return the statistics, probabilities, thresholds."""
    statistics = list(dict.fromkeys(statistics))
    for statistic in statistics:
        check_choice("statistic", statistic, ENSEMBLE_STATISTICS)
    check_choice("comparison", comparison, COMPARISONS)
    try:
        probabilities = np.asarray(list(quantiles), dtype=np.float64).reshape(-1)
        levels = np.asarray(list(thresholds), dtype=np.float64).reshape(-1)
    except (TypeError, ValueError):
        raise OptionError(f"quantiles and thresholds must be lists of numbers, got {list(quantiles)} and "
                          f"{list(thresholds)}") from None
    if np.any(~(probabilities >= 0.0) | ~(probabilities <= 1.0)):
        raise OptionError(f"quantiles must lie in [0, 1], got {list(quantiles)}")
    if not np.all(np.isfinite(levels)):
        raise OptionError(f"thresholds must be finite numbers, got {list(thresholds)}")
    if len(set(probabilities.tolist())) != probabilities.size or len(set(levels.tolist())) != levels.size:
        raise OptionError("quantiles and thresholds must not repeat a value")
    if not statistics and not probabilities.size and not levels.size:
        raise OptionError(f"nothing to compute: give statistics (any of {', '.join(ENSEMBLE_STATISTICS)}), "
                          "quantiles or thresholds")
    if isinstance(ddof, bool) or not isinstance(ddof, (int, np.integer)) or ddof < 0:
        raise OptionError(f"ddof must be a whole number >= 0 (0: population, 1: sample), not {ddof!r}")
    return statistics, probabilities, levels


def ensemble_statistics(
    data: xr.DataArray,
    statistics: Sequence[str] = ENSEMBLE_STATISTICS,
    quantiles: Sequence[float] = (),
    thresholds: Sequence[float] = (),
    *,
    ddof: int = 0,
    skipna: bool = False,
    comparison: Literal[">=", ">"] = ">=",
    name: str | None = None,
    dim: str = "member",
) -> xr.Dataset:
    """Reduce a field over its ensemble members.

    Parameters
    ----------
    data : xarray.DataArray
        Any product or field with a ``member`` dim (e.g. several members read with
        :func:`nwpflow.open_run`), float32; any other dims are kept.
    statistics : sequence of str
        Any of ``"mean"``, ``"std"`` (spread), ``"min"``, ``"max"``; may be empty when quantiles or
        thresholds are given.
    quantiles : sequence of float
        Quantile probabilities in [0, 1], e.g. ``(0.1, 0.5, 0.9)``.
    thresholds : sequence of float
        Finite thresholds in the field's units, for exceedance probabilities.
    ddof : int
        Delta degrees of freedom of the spread: 0 (default, population: divide by N) or 1 (sample:
        N − 1); see the module's rules.
    skipna : bool
        False (default): NaN wherever any member is NaN. True: leave NaN members out.
    comparison : {">=", ">"}
        How a member exceeds a threshold.
    name : str, optional
        Prefix of the output variables (default: ``data.name``).
    dim : str
        The member dim.

    Returns
    -------
    xarray.Dataset
        ``NAME_mean``, ``NAME_std``, ``NAME_min``, ``NAME_max`` (those asked for), ``NAME_quantile``
        (dim ``quantile``), ``NAME_exceedance_probability`` (dim ``threshold``), float32, with units,
        ``long_name``, CF ``cell_methods`` and the member numbers in ``ensemble_members``.

    Examples
    --------
    >>> da = xr.DataArray(np.array([[1.0], [2.0], [4.0]], np.float32), dims=("member", "cell"), name="X")
    >>> ds = ensemble_statistics(da, ["mean", "max"], quantiles=[0.5], thresholds=[2.0])
    >>> [round(float(ds[v].values.flat[0]), 6) for v in ds.data_vars]
    [2.333333, 4.0, 2.0, 0.666667]
    """
    statistics, probabilities, levels = check_ensemble_options(statistics, quantiles, thresholds, ddof, comparison)
    name = name or (str(data.name) if data.name is not None else None)
    if not name:
        raise OptionError("the data has no name: give name=")

    values, rest, shape = _flatten(data, dim)
    nmem, ncol = values.shape
    if nmem == 0:
        raise InputError(f"has no {dim}", field=name)
    moments = np.empty((4, ncol), np.float32)
    qout = np.empty((probabilities.size, ncol), np.float32)
    pout = np.empty((levels.size, ncol), np.float32)
    kernels.stats.ensemble_statistics(values, probabilities, levels, moments, qout, pout, ddof=int(ddof),
                                      skipna=bool(skipna), strict=comparison == ">")

    coords = _coords_without(data, dim)
    members = data[dim].values if dim in data.coords else np.arange(nmem)
    base = _base_attrs(data)
    long_name = data.attrs.get("long_name", name)
    standard_name = data.attrs.get("standard_name")
    missing = ("NaN where any member is NaN" if not skipna else
               "NaN members are left out; NaN where no member is valid")
    common = {"ensemble_members": np.asarray(members, dtype=np.int64), "ensemble_size": np.int64(nmem),
              "missing_members": missing}
    out = xr.Dataset()
    for index, statistic in enumerate(ENSEMBLE_STATISTICS):
        if statistic not in statistics:
            continue
        attrs = {**base, "long_name": f"{_LONG_NAMES[statistic]} of {long_name}",
                 "cell_methods": f"realization: {_CELL_METHODS[statistic]}", **common}
        if standard_name and statistic != "std":
            attrs["standard_name"] = standard_name
        if statistic == "std":
            attrs["comment"] = ("population standard deviation: divides by the number of members N (ddof=0)"
                                if ddof == 0 else f"divides by N - {ddof} (ddof={ddof})")
        out[ensemble_variable_name(name, statistic)] = xr.DataArray(moments[index].reshape(shape), dims=rest,
                                                                    coords=coords, attrs=attrs)
    if probabilities.size:
        attrs = {**base, "long_name": f"ensemble quantiles of {long_name}", **common,
                 "comment": "linear interpolation between the sorted members at index (N - 1) p "
                            "(numpy method 'linear', Hyndman and Fan 1996 definition 7)"}
        if standard_name:
            attrs["standard_name"] = standard_name
        quantile = xr.Variable("quantile", probabilities, {"long_name": "quantile probability", "units": "1"})
        out[ensemble_variable_name(name, QUANTILE)] = xr.DataArray(
            qout.reshape(probabilities.size, *shape), dims=("quantile", *rest), coords={**coords, "quantile": quantile},
            attrs=attrs)
    if levels.size:
        relation = "greater_than_or_equal_to" if comparison == ">=" else "greater_than"
        attrs = {"units": "1", "long_name": f"probability that {long_name} {comparison} threshold",
                 "threshold_comparison": comparison, "relative_to_threshold": relation, **common}
        if "grid_mapping" in base:
            attrs["grid_mapping"] = base["grid_mapping"]
        threshold = xr.Variable("threshold", levels, {"long_name": f"threshold of {long_name}",
                                                      "units": data.attrs.get("units", "1")})
        out[ensemble_variable_name(name, EXCEEDANCE_PROBABILITY)] = xr.DataArray(
            pout.reshape(levels.size, *shape), dims=("threshold", *rest), coords={**coords, "threshold": threshold},
            attrs=attrs)
    return out


# ------------------------------------------------------------------------------------ lead times


def _window_output(data: xr.DataArray, dim: str, starts, ends, values: np.ndarray, rest, shape, name: str,
                   attrs: dict) -> xr.DataArray:
    coords = _coords_without(data, dim)
    for cname, coord in data.coords.items():
        if cname != dim and coord.dims == (dim,):
            coords[cname] = (dim, coord.values[ends], coord.attrs)
    coords[dim] = (dim, data[dim].values[ends], {**data[dim].attrs, "long_name": "lead time at the end of the window"})
    return xr.DataArray(values.reshape(len(ends), *shape), dims=(dim, *rest), coords=coords, attrs=attrs,
                        name=name)


def with_bounds(result: xr.DataArray, window: WindowLike, dim: str = "step") -> xr.Dataset:
    """Return a time product as a Dataset with the CF bounds of its windows, ``step_bounds (step, bnds)``.

    Examples
    --------
    >>> steps = np.arange(3) * np.timedelta64(1, "h")
    >>> da = xr.DataArray([1.0, 2.0], dims="step", coords={"step": steps[1:]}, name="X_max_1h")
    >>> (with_bounds(da, "1h")["step_bounds"].values / np.timedelta64(1, "h")).tolist()
    [[0.0, 1.0], [1.0, 2.0]]
    """
    ends = result[dim].values.astype("timedelta64[ns]")
    bounds = np.stack([ends - parse_window(window), ends], axis=1)
    dataset = result.to_dataset()
    dataset.coords[f"{dim}_bounds"] = ((dim, "bnds"), bounds)
    dataset[dim].attrs["bounds"] = f"{dim}_bounds"
    # CF bounds carry no units of their own (xarray drops them): encode both in the same unit
    unit = "hours" if np.all(bounds % np.timedelta64(1, "h") == np.timedelta64(0, "ns")) else "minutes"
    for name in (dim, f"{dim}_bounds"):
        dataset[name].encoding.update(units=unit, dtype="int64")
    return dataset


def _windows_or_fail(data: xr.DataArray, dim: str, window, sliding: bool, name: str):
    if dim not in data.dims:
        raise InputError(f"has no {dim!r} dim: a time product needs the field at several lead times "
                         f"(dims: {', '.join(map(str, data.dims)) or 'none'})", field=name)
    steps = data[dim].values
    starts, ends = window_indices(steps, window, sliding=sliding)
    if not ends.size:
        label = window_label(window_minutes(window))
        raise InputError(
            f"no {label} window (t - {label}, t] is covered by the lead times "
            f"{hours_text(steps)}: a window needs the field at its start and at its end", field=name)
    return starts, ends


def accumulation(
    data: xr.DataArray,
    window: WindowLike,
    *,
    packing_step: float | Sequence[float] | xr.DataArray | None = None,
    on_decrease: Literal["raise", "nan"] = "raise",
    sliding: bool = True,
    dim: str = "step",
) -> xr.DataArray:
    """Amounts over windows of a field accumulated since the model start: ``F(t) - F(t - W)``.

    Parameters
    ----------
    data : xarray.DataArray
        The accumulated field (e.g. ``TOT_PREC`` [kg m-2]) with a ``step`` dim (timedelta64).
    window : window-like
        ``W``: ``"1h"``, ``"3h"``, ``"6h"``, ``"24h"``, ... (:func:`parse_window`).
    packing_step : float, sequence or DataArray, optional
        The GRIB packing step ``2^E 10^-D`` of the field at each lead time (a scalar for all, a
        sequence along ``step``, or a DataArray with a ``step`` dim whose maximum over the other dims is
        taken); default 0 (float32 rounding only). See :func:`nwpflow.io.reader.read_field`.
    on_decrease : {"raise", "nan"}
        A decrease larger than the packing noise: raise :class:`DecreasingAccumulationError`, or set the
        points to NaN and log a warning. See the module's rules.
    sliding : bool
        Windows ending at every lead time (True), or consecutive windows from the first one (False).
    dim : str
        The lead-time dim.

    Returns
    -------
    xarray.DataArray
        ``NAME_sum_<W>``, float32, never negative, dims ``(step, ...)`` with ``step`` the window ends and
        ``step_bounds`` the windows; only the windows the lead times cover.

    Examples
    --------
    >>> steps = np.arange(4) * np.timedelta64(1, "h")
    >>> tp = xr.DataArray(np.array([[0.0], [1.0], [1.0], [2.5]], np.float32), dims=("step", "cell"),
    ...                   coords={"step": steps}, name="TOT_PREC")
    >>> accumulation(tp, "2h").values[:, 0]
    array([1. , 1.5], dtype=float32)
    """
    check_choice("on_decrease", on_decrease, DECREASE_POLICIES)
    name = str(data.name) if data.name is not None else "data"
    starts, ends = _windows_or_fail(data, dim, window, sliding, name)
    nstep = data.sizes[dim]
    quantum = _packing_per_step(packing_step, dim, nstep)
    values, rest, shape = _flatten(data, dim)
    out = np.empty((ends.size, values.shape[1]), np.float32)
    kernels.stats.accumulation_deltas(values, starts, ends, quantum[starts] + quantum[ends], out)
    steps = data[dim].values.astype("timedelta64[ns]")
    for w in np.flatnonzero(np.any(out < 0, axis=1)):
        bad = out[w] < 0
        largest = float(-out[w][bad].min())
        text = (f"decreases from lead time {hours_text(steps[starts[w]])[1:-1]} to "
                f"{hours_text(steps[ends[w]])[1:-1]} at "
                f"{int(bad.sum())} of {bad.size} points, by up to {largest:.6g} {data.attrs.get('units', '')}"
                f" (more than its packing noise, {quantum[starts[w]] + quantum[ends[w]]:.3g} + float32 "
                "rounding): an accumulated field should never decrease; check the input files")
        if on_decrease == "raise":
            raise DecreasingAccumulationError(text.strip(), field=name, start=steps[starts[w]], end=steps[ends[w]],
                                              points=int(bad.sum()), largest=largest)
        log.warning("field %r %s; these points are set to NaN", name, text)
        out[w][bad] = np.nan
    label = window_label(window_minutes(window))
    long_name = data.attrs.get("long_name", name)
    attrs = {**_base_attrs(data), "long_name": f"{long_name}: amount in the {label} before the lead time",
             "cell_methods": "time: sum", "window": label,
             "comment": "F(t) - F(t - W); decreases within the packing noise are set to 0"}
    if "standard_name" in data.attrs:
        attrs["standard_name"] = data.attrs["standard_name"]
    return _window_output(data, dim, starts, ends, out, rest, shape, time_variable_name(name, "accumulation", window),
                          attrs)


def _packing_per_step(packing_step, dim: str, nstep: int) -> np.ndarray:
    if packing_step is None:
        return np.zeros(nstep)
    if isinstance(packing_step, xr.DataArray):
        other = [d for d in packing_step.dims if d != dim]
        packing_step = packing_step.max(other) if other else packing_step
        packing_step = packing_step.values
    quantum = np.asarray(packing_step, dtype=np.float64)
    if quantum.ndim == 0:
        quantum = np.full(nstep, float(quantum))
    if quantum.shape != (nstep,) or not np.all(quantum >= 0):
        raise OptionError(f"packing_step must be a number >= 0 or one per lead time ({nstep}), got {packing_step!r}")
    return quantum


def window_statistic(
    data: xr.DataArray,
    window: WindowLike,
    statistic: Literal["max", "min", "mean"],
    *,
    skipna: bool = False,
    sliding: bool = True,
    dim: str = "step",
) -> xr.DataArray:
    """Maximum, minimum or mean of a field over windows of lead time :math:`(t - W, t]`.

    Parameters
    ----------
    data : xarray.DataArray
        An instantaneous field (``T_2M``) or a statistic over the output interval (``VMAX_10M``: maximum
        since the previous output), with a ``step`` dim (timedelta64).
    window : window-like
        ``W`` (:func:`parse_window`), e.g. ``"24h"`` for a daily maximum.
    statistic : {"max", "min", "mean"}
        The mean is the unweighted mean of the samples in the window.
    skipna : bool
        False (default): a window with a NaN sample is NaN. True: NaN samples are left out.
    sliding : bool
        Windows ending at every lead time (True), or consecutive windows from the first one (False).
    dim : str
        The lead-time dim.

    Returns
    -------
    xarray.DataArray
        ``NAME_<statistic>_<W>``, float32, dims ``(step, ...)`` with ``step`` the window ends; only the
        windows whose start and end are lead times of the input.

    Examples
    --------
    >>> steps = np.arange(5) * np.timedelta64(1, "h")
    >>> t = xr.DataArray(np.array([[5.0], [1.0], [3.0], [2.0], [4.0]], np.float32), dims=("step", "cell"),
    ...                  coords={"step": steps}, name="T_2M")
    >>> window_statistic(t, "2h", "max").values[:, 0]
    array([3., 3., 4.], dtype=float32)
    """
    check_choice("statistic", statistic, kernels.stats.WINDOW_STATISTICS)
    name = str(data.name) if data.name is not None else "data"
    starts, ends = _windows_or_fail(data, dim, window, sliding, name)
    values, rest, shape = _flatten(data, dim)
    out = np.empty((ends.size, values.shape[1]), np.float32)
    kernels.stats.window_statistics(values, starts, ends, out, statistic=statistic, skipna=bool(skipna))
    label = window_label(window_minutes(window))
    long_name = data.attrs.get("long_name", name)
    method = _TIME_METHODS[statistic]
    attrs = {**_base_attrs(data), "long_name": f"{label} {method} of {long_name}",
             "cell_methods": f"time: {method}", "window": label,
             "comment": f"{method} of the samples in the window (t - {label}, t]; "
                        + ("NaN samples left out" if skipna else "NaN if any sample is NaN")}
    if "standard_name" in data.attrs:
        attrs["standard_name"] = data.attrs["standard_name"]
    return _window_output(data, dim, starts, ends, out, rest, shape, time_variable_name(name, statistic, window),
                          attrs)


__all__ = [
    "COMPARISONS",
    "DECREASE_POLICIES",
    "DecreasingAccumulationError",
    "TIME_KINDS",
    "accumulation",
    "check_choice",
    "check_ensemble_options",
    "ensemble_statistics",
    "hours_text",
    "parse_duration",
    "parse_window",
    "time_variable_name",
    "window_indices",
    "window_minutes",
    "window_statistic",
    "with_bounds",
]
