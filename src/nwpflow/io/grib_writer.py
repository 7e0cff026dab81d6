"""Write products as GRIB2 on the model run's own grid, atomically (a temporary name, then rename).

The horizontal grid is not described anew: every message starts as a copy of a message of the model
run (:class:`GribTemplate`), so that its section 3 — an ICON unstructured grid (template 101,
``numberOfGridUsed``, ``uuidOfHGrid``) or a rotated lat-lon COSMO grid, with the centre and the table
versions of section 1 — is exactly the input's. Section 4 is written from scratch:

* the parameter: the product's (``Product.grib2``, declared to :mod:`nwpflow.io.grib2_codes`) or the model
  field's (:data:`nwpflow.io.datamodel.FIELDS`);
* the level from the product's vertical dim (:data:`nwpflow.io.grib2_codes.VERTICAL_SURFACES`; model
  levels with the run's ``nlev``, ``numberOfVGridUsed`` and ``uuidOfVGrid``) or, for a 2-D product, its
  fixed surface;
* the reference time (coordinate ``time``) and the lead time (``step``, in hours where whole);
* for a run with members, product definition template 1 with ``perturbationNumber`` and the run's
  ``typeOfEnsembleForecast`` and ``numberOfForecastsInEnsemble``; else template 0.

Fan-in products (:mod:`nwpflow.products.fanin`) are recognised by their variable names
(:mod:`nwpflow.naming`) and attributes (:func:`fanin_kind`) and get the WMO templates of statistics (code
tables 4.0, 4.7, 4.9, 4.10):

* ensemble ``NAME_mean`` / ``_std`` / ``_min`` / ``_max``: template 2 (derived forecast, ``derivedForecast``
  0 unweighted mean, 4 spread, 8 minimum, 9 maximum of all members; ``numberOfForecastsInEnsemble`` the
  members combined); ``NAME_quantile``: template 6 (``percentileValue`` in whole percent; a quantile that
  is no whole percent is refused); ``NAME_exceedance_probability``: template 5 (``probabilityType`` 3,
  above the lower limit, for nwpflow's ``>=``; 1, above the upper limit, for ``>``; the threshold as
  scaled value and factor in the field's units; values are fractions 0-1, as in the NetCDF file);
* a time product of a member ``FIELD_sum_3h`` / ``_max_24h`` / ``_min_`` / ``_mean_``: template 11 (8 without
  a member), ``typeOfStatisticalProcessing`` 1 / 2 / 3 / 0 over the window ``(t - W, t]``: ``forecastTime`` is
  the window start, ``lengthOfTimeRange`` the window, the end of the overall interval the reference time
  plus ``t`` (``stepRange`` ``"t-W-t"``, ecCodes' ``endStep`` = ``t``);
* ensemble statistics of a time product: templates 12, 10 and 9, the same keys and the time range.

Packing (:data:`PACKINGS`): ``ieee`` (default; 32-bit IEEE floats, float32 values round-trip bit for
bit), ``simple`` (``grid_simple``) or ``ccsds`` (``grid_ccsds``, lossless compression of the
``bits_per_value`` integers). NaN becomes a missing value (bitmap).
"""

from __future__ import annotations

import os
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import xarray as xr

from nwpflow.errors import NwpflowError
from nwpflow.io import grib
from nwpflow.io.datamodel import FIELDS, HORIZONTAL_DIMS, LEAD_DIMS
from nwpflow.io.eccodes_env import eccodes
from nwpflow.io.formats import file_format
from nwpflow.io.grib2_codes import VERTICAL_SURFACES, FixedSurface, Grib2Parameter, declared, declared_names
from nwpflow.io.writer import atomic_output
from nwpflow.naming import ENSEMBLE_STATISTICS, EXCEEDANCE_PROBABILITY, QUANTILE, parse_ensemble_variable_name, \
    parse_time_product_name

PACKINGS: dict[str, str] = {"ieee": "grid_ieee", "simple": "grid_simple", "ccsds": "grid_ccsds"}
"""Config name -> ecCodes ``packingType``."""

DEFAULT_BITS_PER_VALUE = 16
"""``bitsPerValue`` of ``simple`` and ``ccsds`` packing when none is given."""

MODEL_LEVEL_TYPES = ("generalVertical", "generalVerticalLayer")
ENSEMBLE_KEYS = ("typeOfEnsembleForecast", "numberOfForecastsInEnsemble")
VERTICAL_GRID_KEYS = ("nlev", "numberOfVGridUsed", "uuidOfVGrid")


class Grib2OutputError(NwpflowError, ValueError):
    """A product cannot be written as GRIB2: the message names the product and what is wrong."""

    def __init__(self, what: str, *, field: str | None = None, path: str | os.PathLike | None = None):
        where = ", ".join(x for x in (f"product {field!r}" if field else "",
                                      f"output {os.fspath(path)!r}" if path is not None else "") if x)
        super().__init__(f"GRIB2 output, {where}: {what}" if where else f"GRIB2 output: {what}")


@dataclass(frozen=True)
class GribTemplate:
    """What GRIB2 output takes from the model run: a message on its grid and its ensemble and vertical keys.

    Build it once with :meth:`from_files` and pass it to every :func:`write_grib2` of a job; it holds
    plain bytes and values, so threads may share it.
    """

    message: bytes
    """A message of the run on its mass-point grid (preferably a surface field): sections 1 and 3."""
    source: str
    vertical: dict
    """``nlev``, ``numberOfVGridUsed``, ``uuidOfVGrid`` of the run's model levels (empty: none found)."""
    ensemble: dict
    """``typeOfEnsembleForecast``, ``numberOfForecastsInEnsemble`` of an ensemble message (empty: none)."""
    grid_type: str
    size: int

    @classmethod
    def from_files(cls, paths: str | os.PathLike | Iterable[str | os.PathLike]) -> GribTemplate:
        """Take the template from the GRIB files among ``paths`` (other files are skipped).

        The grid is the one most messages are on (COSMO's staggered ``U``/``V`` are not); the base
        message is a field on a single surface where there is one, so that it carries no vertical
        coordinate of its own.
        """
        if isinstance(paths, (str, os.PathLike)):
            paths = [paths]
        files = [os.fspath(p) for p in paths if file_format(p) == "grib"]
        if not files:
            raise Grib2OutputError(
                "no GRIB file of the model run to take the grid from (template); give the run's constants "
                f"file or one of its model files, not only {', '.join(map(str, paths)) or 'nothing'}")
        messages: list[grib.Message] = []
        try:
            for path in files:
                messages.extend(grib.scan(path, threads=1))
            grid = Counter((m.grid_type, m.grid) for m in messages).most_common(1)[0][0]
            on_grid = [m for m in messages if (m.grid_type, m.grid) == grid]
            flat = [m for m in on_grid if m.type_of_level not in (*MODEL_LEVEL_TYPES, "hybrid")]
            base = (flat or on_grid)[0]
            vertical = {}
            for m in messages:
                if m.type_of_level in MODEL_LEVEL_TYPES:
                    vertical = {key: eccodes.codes_get(m.handle, key) for key in VERTICAL_GRID_KEYS
                                if eccodes.codes_is_defined(m.handle, key)}
                    break
            ensemble = {}
            for m in messages:
                if m.member is not None and all(eccodes.codes_is_defined(m.handle, k) for k in ENSEMBLE_KEYS):
                    ensemble = {key: eccodes.codes_get_long(m.handle, key) for key in ENSEMBLE_KEYS}
                    break
            return cls(message=bytes(eccodes.codes_get_message(base.handle)), source=base.path,
                       vertical=vertical, ensemble=ensemble, grid_type=base.grid_type, size=base.size)
        finally:
            grib.release(messages)


DERIVED_FORECASTS = dict(zip(ENSEMBLE_STATISTICS, (0, 4, 8, 9)))
"""Ensemble statistic -> ``derivedForecast`` (code table 4.7): unweighted mean, spread (nwpflow's standard
deviation, ``ddof=0`` population by default), minimum, maximum of all members."""
STATISTICAL_PROCESSING = {"accumulation": 1, "max": 2, "min": 3, "mean": 0}
"""Time product kind -> ``typeOfStatisticalProcessing`` (code table 4.10)."""
PROBABILITY_TYPES = {">=": 3, ">": 1}
"""nwpflow's exceedance comparison -> ``probabilityType`` (code table 4.9): ``>=`` is "above lower limit"
(3, the lower limit belongs to the event), ``>`` "above upper limit" (1, the limit itself does not)."""


@dataclass(frozen=True)
class FaninKind:
    """How a (fan-in) variable is encoded: its parameter and the templates' keys (:func:`fanin_kind`)."""

    field: str
    """The product or model field whose GRIB2 parameter the messages carry."""
    parameter: object
    ensemble: str | None = None
    """``None``, ``"derived"``, ``"percentile"`` or ``"probability"``."""
    derived: int | None = None
    statistic: int | None = None
    """``typeOfStatisticalProcessing`` of a time product (``None``: not one)."""
    window_minutes: int | None = None

    @property
    def extra_dim(self) -> str | None:
        return {"percentile": "quantile", "probability": "threshold"}.get(self.ensemble)

    def template_number(self, member) -> int:
        timed = self.statistic is not None
        if self.ensemble == "derived":
            return 12 if timed else 2
        if self.ensemble == "percentile":
            return 10 if timed else 6
        if self.ensemble == "probability":
            return 9 if timed else 5
        if timed:
            return 8 if member is None else 11
        return 0 if member is None else 1


def parameter_of(name: str) -> Grib2Parameter | None:
    """The GRIB2 parameter of a product (declared by its registry entry) or of a model field (the data
    model's field table), or ``None``."""
    parameter = declared(name)
    if parameter is None and name in FIELDS:
        parameter = FIELDS[name].grib2
    return parameter


def fanin_kind(name: str, data: xr.DataArray | None = None) -> FaninKind | None:
    """Return how variable ``name`` is encoded, or ``None`` where it has no GRIB2 parameter.

    A product or model field is itself (:func:`parameter_of`); a time product (``FIELD_sum_3h``,
    :func:`nwpflow.naming.parse_time_product_name`) the statistic of its field; an ensemble variable
    (``X_mean``/``_std``/``_min``/``_max``/``_quantile``/``_exceedance_probability``,
    :func:`nwpflow.naming.parse_ensemble_variable_name`) with the ``ensemble_size`` attribute of
    :func:`nwpflow.products.fanin.ensemble_statistics` (or without ``data``) the ensemble statistic of ``X``.

    Examples
    --------
    >>> k = fanin_kind("TOT_PREC_sum_3h_quantile")
    >>> (k.field, k.ensemble, k.statistic, k.window_minutes)
    ('TOT_PREC', 'percentile', 1, 180)
    """
    if (parameter := parameter_of(name)) is not None:
        return FaninKind(name, parameter)
    base, ensemble, derived = name, None, None
    if data is None or "ensemble_size" in data.attrs:
        for candidate, statistic in parse_ensemble_variable_name(name):
            if statistic == QUANTILE:
                base, ensemble = candidate, "percentile"
            elif statistic == EXCEEDANCE_PROBABILITY:
                base, ensemble = candidate, "probability"
            elif fanin_kind(candidate) is not None:
                base, ensemble, derived = candidate, "derived", DERIVED_FORECASTS[statistic]
            else:
                continue
            break
    statistic = window = None
    field = base
    if parameter_of(base) is None and (parts := parse_time_product_name(base)) is not None:
        field = parts.field
        statistic = STATISTICAL_PROCESSING[parts.kind]
        window = parts.minutes
    parameter = parameter_of(field)
    if parameter is None or (ensemble is None and statistic is None):
        return None
    return FaninKind(field, parameter, ensemble, derived, statistic, window)


def write_grib2(
    obj: xr.DataArray | xr.Dataset,
    path: str | os.PathLike,
    *,
    template: GribTemplate | str | os.PathLike | Sequence[str | os.PathLike],
    packing: str = "ieee",
    bits_per_value: int | None = None,
) -> Path:
    """Write ``obj`` to ``path`` as GRIB2 on the model run's grid and return the path.

    Parameters
    ----------
    obj : xarray.DataArray or xarray.Dataset
        A product (its data variables, each named by a product of
        :func:`parameter_of`), dims ``([member,] [time,] [step,] [vertical,]
        *horizontal)``, with coordinates ``time`` (reference time) and ``step`` (lead time).
    path : path-like
        GRIB2 file to write; an existing file is replaced only by a complete new one.
    template : GribTemplate or path-like or sequence of path-like
        The model run's GRIB files (e.g. the job's inputs), or a :class:`GribTemplate` made from them.
    packing : {"ieee", "simple", "ccsds"}
        ``ieee``: 32-bit IEEE floats, exact for float32 data; ``simple``: linear quantisation to
        ``bits_per_value`` bits (error at most half the packing step, ``2**E * 10**-D / 2``); ``ccsds``:
        the same integers, losslessly compressed.
    bits_per_value : int, optional
        Bits per value of ``simple`` and ``ccsds`` packing, 1-32 (default 16); not allowed with ``ieee``.

    Returns
    -------
    Path
        The file written.

    Raises
    ------
    Grib2OutputError
        Unknown packing, a product without a GRIB2 parameter, a dim or grid the run's template does not
        describe, a missing reference or lead time.
    """
    path = Path(path)
    packing_type, bits = resolve_packing(packing, bits_per_value, path)
    if not isinstance(template, GribTemplate):
        template = GribTemplate.from_files(template)
    dataset = obj.to_dataset() if isinstance(obj, xr.DataArray) else obj
    if not dataset.data_vars:
        raise Grib2OutputError("nothing to write (no data variable)", path=path)
    fields = []
    for name, data in dataset.data_vars.items():
        kind = fanin_kind(str(name), data)
        if kind is None:
            raise Grib2OutputError(
                "no GRIB2 parameter is defined for it; give its registry entry a `grib2` parameter "
                f"(products with one: {', '.join(declared_names())}; model fields: "
                f"{', '.join(n for n, f in FIELDS.items() if f.grib2)})", field=str(name), path=path)
        fields.append((str(name), data, kind))
    with atomic_output(path) as temporary, open(temporary, "wb") as out:
        for name, data, kind in fields:
            for message in _messages(name, data, kind, template, packing_type, bits, path):
                out.write(message)
    return path


def resolve_packing(packing: str, bits_per_value: int | None, path: Path) -> tuple[str, int | None]:
    """ecCodes' ``packingType`` and bits per value of config ``grib2``; :class:`Grib2OutputError` naming
    ``path`` for an unknown packing or bits that do not fit it."""
    if packing not in PACKINGS:
        raise Grib2OutputError(f"unknown packing {packing!r}; allowed: {', '.join(PACKINGS)}", path=path)
    if packing == "ieee":
        if bits_per_value not in (None, 32):
            raise Grib2OutputError(f"bits_per_value {bits_per_value!r} cannot be used with ieee packing (32-bit "
                                   "floats); use packing simple or ccsds", path=path)
        return PACKINGS[packing], None
    bits = DEFAULT_BITS_PER_VALUE if bits_per_value is None else bits_per_value
    if isinstance(bits, bool) or not isinstance(bits, (int, np.integer)) or not 1 <= bits <= 32:
        raise Grib2OutputError(f"bits_per_value must be a whole number 1-32, not {bits!r}", path=path)
    return PACKINGS[packing], int(bits)


def _vertical_dim(data: xr.DataArray) -> str | None:
    found = [d for d in data.dims if d in VERTICAL_SURFACES]
    return found[0] if found else None


def _layout(name: str, data: xr.DataArray, template: GribTemplate, path: Path, extra: str | None = None):
    """Check the dims against the template; return (lead dims, vertical dim, horizontal dims)."""
    horizontal = next((h for h in HORIZONTAL_DIMS if all(d in data.dims for d in h)), None)
    if horizontal is None:
        raise Grib2OutputError(f"dims {data.dims} have no horizontal dims (cell, or y and x)", field=name, path=path)
    size = int(np.prod([data.sizes[d] for d in horizontal]))
    if size != template.size or (horizontal == ("cell",)) != (template.grid_type == "unstructured_grid"):
        raise Grib2OutputError(
            f"its grid ({' x '.join(f'{d}={data.sizes[d]}' for d in horizontal)}) is not the model run's "
            f"({template.grid_type}, {template.size} points, in {template.source!r})", field=name, path=path)
    vertical = _vertical_dim(data)
    lead = [d for d in ((extra,) if extra else ()) + LEAD_DIMS if d in data.dims]
    other = [d for d in data.dims if d not in (*lead, *horizontal) and d != vertical]
    if other:
        raise Grib2OutputError(f"dim(s) {', '.join(map(repr, other))} have no GRIB2 encoding (allowed: "
                               "member, time, step, level, half_level, pressure, height, theta, cell, y, x)",
                               field=name, path=path)
    if data.ndim != len(lead) + (vertical is not None) + len(horizontal):
        raise Grib2OutputError(f"dims {data.dims}: more than one vertical dim", field=name, path=path)
    for coord in ("time", "step"):
        if coord not in data.coords:
            raise Grib2OutputError(f"no {coord!r} coordinate ({'reference' if coord == 'time' else 'lead'} "
                                   "time), which GRIB2 needs", field=name, path=path)
    if template.grid_type in ("regular_ll", "rotated_ll") and "latitude" in data.coords:
        coords = _template_coordinates(template)
        for key in ("latitude", "longitude"):
            if key in coords and not np.allclose(data[key].values, coords[key], atol=1e-4):
                raise Grib2OutputError(f"its {key}s differ from the model run's grid in {template.source!r}",
                                       field=name, path=path)
    return lead, vertical, horizontal


def _template_coordinates(template: GribTemplate) -> dict:
    handle = eccodes.codes_new_from_message(template.message)
    try:
        message = grib.Message(path=template.source, index=0, name="", short_name="", type_of_level="", level=0,
                               member=None, step_minutes=0, reference=np.datetime64("NaT"),
                               grid_type=template.grid_type, grid=(), size=template.size, bitmap=False,
                               handle=handle)
        return {k: v[1] for k, v in grib.grid_coordinates(message).items()}
    finally:
        eccodes.codes_release(handle)


def _set(handle, key: str, value) -> None:
    eccodes.codes_set(handle, key, value)


def _scaled(value: float) -> tuple[int, int]:
    """(scale factor, scaled value) with ``value = scaled / 10**factor``, at most 6 decimals."""
    for factor in range(7):
        scaled = value * 10**factor
        if abs(scaled - round(scaled)) < 1e-6 * max(1.0, abs(scaled)):
            return factor, int(round(scaled))
    raise ValueError(f"level {value!r} needs more than 6 decimals")


def _set_surface(handle, surface, value: float | None = None) -> None:
    _set(handle, "typeOfFirstFixedSurface", surface.type_of_first)
    value = surface.value if value is None else value
    if value is None:
        _set(handle, "scaleFactorOfFirstFixedSurface", 255)  # missing
        _set(handle, "scaledValueOfFirstFixedSurface", 0xFFFFFFFF)
    else:
        factor, scaled = _scaled(float(value))
        _set(handle, "scaleFactorOfFirstFixedSurface", factor)
        _set(handle, "scaledValueOfFirstFixedSurface", scaled)
    _set(handle, "typeOfSecondFixedSurface", 255 if surface.type_of_second is None else surface.type_of_second)
    _set(handle, "scaleFactorOfSecondFixedSurface", 255)
    _set(handle, "scaledValueOfSecondFixedSurface", 0xFFFFFFFF)


def _reference(value) -> tuple[int, int]:
    stamp = np.datetime64(value, "m").astype(object)
    return int(f"{stamp:%Y%m%d}"), int(f"{stamp:%H%M}")


def _step(value, name: str, path: Path) -> tuple[int, int]:
    """(indicatorOfUnitOfTimeRange, forecastTime): hours where whole, else minutes."""
    minutes = np.timedelta64(value, "ns").astype("timedelta64[s]").astype(np.int64) / 60.0
    if minutes != int(minutes) or minutes < 0:
        raise Grib2OutputError(f"lead time {value} is not a whole number of minutes >= 0", field=name, path=path)
    minutes = int(minutes)
    return (1, minutes // 60) if minutes % 60 == 0 else (0, minutes)


def _header(name, kind: FaninKind, template: GribTemplate, member, reference, step, path: Path,
            extra=None, extra_index: int = 0, extra_count: int = 0, attrs=None) -> int:
    """A handle with sections 1, 3 (the template's) and the level-independent keys of section 4."""
    parameter = kind.parameter
    attrs = attrs or {}
    handle = eccodes.codes_new_from_message(template.message)
    try:
        generating = eccodes.codes_get_long(handle, "generatingProcessIdentifier") \
            if eccodes.codes_is_defined(handle, "generatingProcessIdentifier") else 255
        date, time = _reference(reference)
        _set(handle, "dataDate", date)
        _set(handle, "dataTime", time)
        number = kind.template_number(member)
        if kind.ensemble is not None:
            # code tables 1.4 and 4.3: derived from the ensemble; probabilities are event probabilities
            probability = kind.ensemble == "probability"
            _set(handle, "typeOfProcessedData", 8 if probability else 5)
            _set(handle, "productDefinitionTemplateNumber", number)
            _set(handle, "typeOfGeneratingProcess", 5 if probability else 4)
        elif member is None:
            _set(handle, "typeOfProcessedData", 1)  # forecast (code table 1.4)
            _set(handle, "productDefinitionTemplateNumber", number)
            _set(handle, "typeOfGeneratingProcess", 2)  # forecast (code table 4.3)
        else:
            _set(handle, "typeOfProcessedData", 5)  # control and perturbed forecast, as MeteoSwiss's runs
            _set(handle, "productDefinitionTemplateNumber", number)
            _set(handle, "typeOfGeneratingProcess", 4)  # ensemble forecast
            # the run's ensemble keys where the template has them, else 255 (missing)
            _set(handle, "typeOfEnsembleForecast", template.ensemble.get("typeOfEnsembleForecast", 255))
            _set(handle, "numberOfForecastsInEnsemble", template.ensemble.get("numberOfForecastsInEnsemble", 255))
            _set(handle, "perturbationNumber", int(member))
        _set(handle, "generatingProcessIdentifier", generating)
        _set(handle, "discipline", parameter.discipline)
        _set(handle, "parameterCategory", parameter.category)
        _set(handle, "parameterNumber", parameter.number)
        if kind.ensemble == "derived":
            _set(handle, "derivedForecast", kind.derived)
            _set(handle, "numberOfForecastsInEnsemble", int(attrs.get("ensemble_size", 255)))
        elif kind.ensemble == "percentile":
            _set(handle, "percentileValue", _percent(float(extra), name, path))
        elif kind.ensemble == "probability":
            _set_probability(handle, float(extra), attrs.get("threshold_comparison", ">="), extra_index,
                             extra_count, name, path)
        if kind.statistic is None:
            unit, forecast_time = _step(step, name, path)
            _set(handle, "indicatorOfUnitOfTimeRange", unit)
            _set(handle, "forecastTime", forecast_time)
        else:
            _set_time_range(handle, kind, step, name, path)
        return handle
    except BaseException:
        eccodes.codes_release(handle)
        raise


def _percent(quantile: float, name: str, path: Path) -> int:
    """``percentileValue``: the quantile in whole percent; a quantile that is no whole percent is refused
    (GRIB2 has no finer percentile)."""
    percent = quantile * 100.0
    if not 0.0 <= percent <= 100.0 or abs(percent - round(percent)) > 1e-9:
        raise Grib2OutputError(f"quantile {quantile!r} is no whole percent: GRIB2's percentileValue holds whole "
                               "percents 0-100; use quantiles such as 0.1, 0.25, 0.5", field=name, path=path)
    return int(round(percent))


def _set_probability(handle, threshold: float, comparison: str, index: int, count: int, name: str,
                     path: Path) -> None:
    if comparison not in PROBABILITY_TYPES:
        raise Grib2OutputError(f"unknown threshold comparison {comparison!r}", field=name, path=path)
    try:
        factor, scaled = _scaled(threshold)
    except ValueError:
        raise Grib2OutputError(f"threshold {threshold!r} needs more than 6 decimals", field=name, path=path) from None
    if abs(scaled) >= 2**31:
        raise Grib2OutputError(f"threshold {threshold!r} is too large for GRIB2", field=name, path=path)
    _set(handle, "forecastProbabilityNumber", index + 1)
    _set(handle, "totalNumberOfForecastProbabilities", count)
    kind = PROBABILITY_TYPES[comparison]
    _set(handle, "probabilityType", kind)
    used, unused = ("Lower", "Upper") if kind == 3 else ("Upper", "Lower")
    _set(handle, f"scaleFactorOf{used}Limit", factor)
    _set(handle, f"scaledValueOf{used}Limit", scaled)
    eccodes.codes_set_missing(handle, f"scaleFactorOf{unused}Limit")
    eccodes.codes_set_missing(handle, f"scaledValueOf{unused}Limit")


def _set_time_range(handle, kind: FaninKind, step, name: str, path: Path) -> None:
    """Statistical processing over the window (t - W, t]: start, length and end of the overall interval."""
    unit, end = _step(step, name, path)
    end_minutes = end * 60 if unit == 1 else end
    window = kind.window_minutes
    start_minutes = end_minutes - window
    if start_minutes < 0:
        raise Grib2OutputError(f"window of {window} min ends at lead time {end_minutes} min, before the "
                               "model start", field=name, path=path)
    hours = end_minutes % 60 == 0 and window % 60 == 0
    scale = 60 if hours else 1
    _set(handle, "typeOfStatisticalProcessing", kind.statistic)
    _set(handle, "stepUnits", "h" if hours else "m")
    # stepRange sets forecastTime (the start), lengthOfTimeRange and the end of the overall time interval
    _set(handle, "stepRange", f"{start_minutes // scale}-{end_minutes // scale}")
    _set(handle, "indicatorOfUnitForTimeRange", 1 if hours else 0)
    _set(handle, "lengthOfTimeRange", window // scale)


def _levels(name: str, data: xr.DataArray, vertical: str | None, template: GribTemplate, path: Path):
    """(typeOfLevel or None, [(level value, second value or None), ...]) of the product's messages."""
    if vertical is None:
        return None, [None]
    values = np.asarray(data[vertical].values if vertical in data.coords else np.arange(1, data.sizes[vertical] + 1),
                        dtype=np.float64)
    kind = VERTICAL_SURFACES[vertical]
    if vertical in ("level", "half_level"):
        if not template.vertical:
            raise Grib2OutputError(f"is on model levels, but the model run's GRIB files ({template.source!r} ...) "
                                   "have no generalVertical(Layer) message to take nlev and uuidOfVGrid from",
                                   field=name, path=path)
        if np.any(values < 1) or np.any(values != np.round(values)):
            raise Grib2OutputError(f"model levels must be whole numbers >= 1, not {values}", field=name, path=path)
    elif vertical == "pressure":
        if np.any(values <= 0):
            raise Grib2OutputError(f"pressure levels must be > 0 Pa, not {values}", field=name, path=path)
        whole_hpa = np.all(values % 100.0 == 0.0)
        kind = "isobaricInhPa" if whole_hpa else "isobaricInPa"
        values = values / 100.0 if whole_hpa else values
        if np.any(values != np.round(values)):
            raise Grib2OutputError(f"pressure levels must be whole Pa, not {values}", field=name, path=path)
    elif vertical == "height" and data[vertical].attrs.get("standard_name") == "altitude":
        kind = "heightAboveSea"
    return kind, [float(v) for v in values]


def _encode_level(header: int, kind: str | None, parameter, level: float | None, template: GribTemplate) -> int:
    """A copy of ``header`` on level type ``kind`` (with the run's vertical grid keys) at ``level``."""
    handle = eccodes.codes_clone(header)
    try:
        if kind in MODEL_LEVEL_TYPES:
            _set(handle, "typeOfLevel", kind)
            for key in VERTICAL_GRID_KEYS:
                if key in template.vertical:
                    _set(handle, key, template.vertical[key])
        _set_level(handle, kind, parameter, level)
        return handle
    except BaseException:
        eccodes.codes_release(handle)
        raise


def _set_level(handle: int, kind: str | None, parameter, level: float | None) -> None:
    """Set the keys that differ between the levels of one field (its level type is set already)."""
    if kind is None:
        _set_surface(handle, parameter.surface)
    elif kind in MODEL_LEVEL_TYPES:
        _set(handle, "scaledValueOfFirstFixedSurface", int(level))
        if kind == "generalVerticalLayer":
            _set(handle, "scaledValueOfSecondFixedSurface", int(level) + 1)
    else:
        first = {"isobaricInhPa": 100, "isobaricInPa": 100, "heightAboveGround": 103, "heightAboveSea": 102,
                 "theta": 107}[kind]
        value = level * 100.0 if kind == "isobaricInhPa" else level  # section 4 holds Pa
        _set_surface(handle, FixedSurface(first), value)


def _messages(name, data: xr.DataArray, kind: FaninKind, template: GribTemplate, packing_type: str, bits,
              path: Path):
    """Yield the encoded messages of one product: one per ([quantile | threshold,] member, time, step, level)."""
    parameter = kind.parameter
    extra_dim = kind.extra_dim
    if extra_dim is not None and extra_dim not in data.dims:
        raise Grib2OutputError(f"has no {extra_dim!r} dim", field=name, path=path)
    lead, vertical, horizontal = _layout(name, data, template, path, extra_dim)
    level_type, levels = _levels(name, data, vertical, template, path)
    order = [*lead, *([vertical] if vertical else []), *horizontal]
    values = np.asarray(data.transpose(*order).values)
    if not np.issubdtype(values.dtype, np.floating):
        values = values.astype(np.float64)
    lead_shape = tuple(data.sizes[d] for d in lead)
    npoints = template.size
    values = values.reshape(lead_shape + (len(levels), npoints))
    for index in np.ndindex(*lead_shape):
        at = dict(zip(lead, index))

        def coordinate(dim, at=at):
            if dim not in data.coords:
                return None
            coord = data[dim]
            return coord.values[at[dim]] if dim in at else coord.values

        member = None if kind.ensemble else coordinate("member")
        extra = coordinate(extra_dim) if extra_dim else None
        header = _header(name, kind, template, member, coordinate("time"), coordinate("step"), path, extra=extra,
                         extra_index=at.get(extra_dim, 0), extra_count=data.sizes.get(extra_dim, 0),
                         attrs=data.attrs)
        # One handle for every level: cloning a handle and setting the level type and packing (ecCodes
        # re-evaluates its concepts) cost ~1.1 ms a message, setting a level's keys and values ~0.1 ms.
        handle = None
        try:
            handle = _encode_level(header, level_type, parameter, levels[0], template)
            _set_packing(handle, packing_type, bits)
            for k, level in enumerate(levels):
                if k:
                    _set_level(handle, level_type, parameter, level)
                yield _pack(handle, values[index + (k,)], packing_type, name, path)
        finally:
            if handle is not None:
                eccodes.codes_release(handle)
            eccodes.codes_release(header)


def _set_packing(handle: int, packing_type: str, bits: int | None) -> None:
    _set(handle, "packingType", packing_type)
    if packing_type == "grid_ieee":
        _set(handle, "precision", 1)  # 32-bit IEEE: float32 data exactly
    else:
        _set(handle, "bitsPerValue", bits)


def _pack(handle: int, field: np.ndarray, packing_type: str, name: str, path: Path) -> bytes:
    """Encode ``field`` (NaN: missing, under a bitmap) into ``handle`` and return the message."""
    missing = np.isnan(field)
    if np.any(np.isinf(field)):
        raise Grib2OutputError("holds infinite values, which GRIB2 cannot encode", field=name, path=path)
    values = field.astype(np.float64)
    if missing.all():
        # the whole field missing: a constant 0 under a bitmap of zeros
        values = np.zeros_like(values)
    missing_value = 9999.0
    while np.any(values[~missing] == missing_value):  # a value that no data value equals
        missing_value = missing_value * 10.0 + 9.0
    if missing.any():
        _set(handle, "bitmapPresent", 1)
        _set(handle, "missingValue", missing_value)
        values = np.where(missing, missing_value, values)
    else:
        _set(handle, "bitmapPresent", 0)
    try:
        eccodes.codes_set_values(handle, np.ascontiguousarray(values))
    except eccodes.CodesInternalError as error:
        raise Grib2OutputError(f"ecCodes cannot encode its values with {packing_type}: {error}",
                               field=name, path=path) from None
    return bytes(eccodes.codes_get_message(handle))


__all__ = ["DEFAULT_BITS_PER_VALUE", "DERIVED_FORECASTS", "PACKINGS", "PROBABILITY_TYPES", "STATISTICAL_PROCESSING",
           "FaninKind", "Grib2OutputError", "GribTemplate", "fanin_kind", "parameter_of", "write_grib2"]
