"""Names nwpflow gives things, each built and parsed by one pair of functions.

* member and lead-time labels of paths (``000``, ``033``) and the ``DDHH`` code of COSMO/ICON file
  names;
* time products, ``FIELD_sum_3h`` / ``_max_24h`` / ``_min_90min`` / ``_mean_6h``: a statistic of a field
  over lead-time windows;
* ensemble statistics, ``NAME_mean`` / ``_std`` / ``_min`` / ``_max`` / ``_quantile`` /
  ``_exceedance_probability``;
* the file suffix of each output format.

This module imports nothing of nwpflow but its errors, so that every layer may use it.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import NamedTuple

from nwpflow.errors import NwpflowError

# --- members and lead times ----------------------------------------------------------------------


def member_label(member: int) -> str:
    """Return the ``{member}`` label of an ensemble member in paths: three digits.

    Examples
    --------
    >>> member_label(2)
    '002'
    """
    if isinstance(member, bool) or not isinstance(member, int) or not 0 <= member <= 999:
        raise ValueError(f"member must be a whole number in 0..999, got {member!r}")
    return f"{member:03d}"


def lead_label(hours: int) -> str:
    """Return the ``{lead}`` label of a lead time in paths: whole hours on three digits.

    Examples
    --------
    >>> lead_label(33)
    '033'
    """
    if isinstance(hours, bool) or not isinstance(hours, int) or not 0 <= hours <= 999:
        raise ValueError(f"lead time must be a whole number of hours in 0..999, got {hours!r}")
    return f"{hours:03d}"


def parse_label(label: str) -> int:
    """Return the number a ``{member}`` or ``{lead}`` label stands for.

    Examples
    --------
    >>> parse_label("033")
    33
    """
    if not re.fullmatch(r"\d{3}", label):
        raise ValueError(f"expected three digits, got {label!r}")
    return int(label)


def lead_code(hours: int) -> str:
    """Return the ``DDHH`` code of a lead time, as COSMO/ICON output file names carry it.

    Parameters
    ----------
    hours : int
        Lead time in whole hours, 0 or more and below 100 days.

    Returns
    -------
    str
        Days and remaining hours, two digits each.

    Examples
    --------
    >>> lead_code(1)
    '0001'
    >>> lead_code(33)
    '0109'
    """
    if isinstance(hours, bool) or not isinstance(hours, int) or not 0 <= hours < 100 * 24:
        raise ValueError(f"lead time must be a whole number of hours in 0..{100 * 24 - 1}, got {hours!r}")
    days, rest = divmod(hours, 24)
    return f"{days:02d}{rest:02d}"


CONSTANTS_FILE = "lfff00000000c"
"""File name of the constant fields (HHL, HSURF, ...) of a MeteoSwiss ICON/COSMO run and of the sample run."""

MODEL_FILE_PATTERN = "{member:03d}/lfff{ddhh}0000"
"""File of one member and lead time in the MeteoSwiss ICON/COSMO layout (config ``run.pattern``'s default,
and the sample run's): the member on three digits, the lead time as ``DDHH``."""


def model_file_name(member: int, lead: int) -> str:
    """Return the file name of one member and lead time in the layout of :data:`MODEL_FILE_PATTERN`.

    Examples
    --------
    >>> model_file_name(1, 33)
    '001/lfff01090000'
    """
    return MODEL_FILE_PATTERN.format(member=member, ddhh=lead_code(lead))


# --- time products ---------------------------------------------------------------------------------

TIME_SHORT: dict[str, str] = {"accumulation": "sum", "max": "max", "min": "min", "mean": "mean"}
"""Kind of a time product -> how its name spells it."""

_TIME_NAME = re.compile(r"^(?P<field>.+)_(?P<short>sum|max|min|mean)_(?P<length>\d+)(?P<unit>h|min)$")


class TimeProductName(NamedTuple):
    """The parts of a time product's name."""

    field: str
    kind: str
    """``accumulation``, ``max``, ``min`` or ``mean`` (a key of :data:`TIME_SHORT`)."""
    minutes: int
    """The window length."""


def window_label(minutes: int) -> str:
    """Return the label of a window length in names: whole hours, else minutes.

    Examples
    --------
    >>> window_label(180), window_label(90)
    ('3h', '90min')
    """
    if isinstance(minutes, bool) or int(minutes) != minutes or minutes <= 0:
        raise ValueError(f"a window is a whole number of minutes > 0, got {minutes!r}")
    minutes = int(minutes)
    return f"{minutes // 60}h" if minutes % 60 == 0 else f"{minutes}min"


def time_product_name(field: str, kind: str, minutes: int) -> str:
    """Return the name of a time product (its file and variable name).

    Examples
    --------
    >>> time_product_name("TOT_PREC", "accumulation", 180)
    'TOT_PREC_sum_3h'
    >>> time_product_name("VMAX_10M", "max", 90)
    'VMAX_10M_max_90min'
    """
    if kind not in TIME_SHORT:
        raise ValueError(f"kind must be one of {', '.join(TIME_SHORT)}, not {kind!r}")
    return f"{field}_{TIME_SHORT[kind]}_{window_label(minutes)}"


def parse_time_product_name(name: str) -> TimeProductName | None:
    """Return the field, kind and window of a time product's name, or ``None`` for another name.

    Examples
    --------
    >>> parse_time_product_name("TOT_PREC_sum_3h")
    TimeProductName(field='TOT_PREC', kind='accumulation', minutes=180)
    >>> parse_time_product_name("THETA_E") is None
    True
    """
    match = _TIME_NAME.match(name)
    if match is None:
        return None
    kind = next(k for k, short in TIME_SHORT.items() if short == match["short"])
    minutes = int(match["length"]) * (60 if match["unit"] == "h" else 1)
    if minutes <= 0 or time_product_name(match["field"], kind, minutes) != name:  # e.g. "X_max_60min"
        return None
    return TimeProductName(match["field"], kind, minutes)


# --- ensemble statistics ---------------------------------------------------------------------------

ENSEMBLE_STATISTICS = ("mean", "std", "min", "max")
"""Ensemble statistics by name (quantiles and exceedance probabilities are asked for by their lists)."""

QUANTILE = "quantile"
EXCEEDANCE_PROBABILITY = "exceedance_probability"
ENSEMBLE_SUFFIXES = (*ENSEMBLE_STATISTICS, QUANTILE, EXCEEDANCE_PROBABILITY)
"""What an ensemble variable's name ends in: a statistic, ``quantile`` or ``exceedance_probability``."""


def ensemble_variable_name(name: str, statistic: str) -> str:
    """Return the name of the ensemble ``statistic`` (one of :data:`ENSEMBLE_SUFFIXES`) of ``name``.

    Examples
    --------
    >>> ensemble_variable_name("BRN", "quantile")
    'BRN_quantile'
    """
    if statistic not in ENSEMBLE_SUFFIXES:
        raise ValueError(f"statistic must be one of {', '.join(ENSEMBLE_SUFFIXES)}, not {statistic!r}")
    return f"{name}_{statistic}"


def parse_ensemble_variable_name(name: str) -> list[tuple[str, str]]:
    """Return every ``(base name, statistic)`` that ``name`` may be the ensemble variable of, longest
    suffix first (``T_2M_max`` is the maximum of ``T_2M``, but ``T_2M_max_24h`` is no ensemble name).

    Examples
    --------
    >>> parse_ensemble_variable_name("TOT_PREC_sum_3h_quantile")
    [('TOT_PREC_sum_3h', 'quantile')]
    >>> parse_ensemble_variable_name("THETA")
    []
    """
    return [(name[: -len(suffix) - 1], suffix) for suffix in sorted(ENSEMBLE_SUFFIXES, key=len, reverse=True)
            if name.endswith(f"_{suffix}") and len(name) > len(suffix) + 1]


# --- output formats --------------------------------------------------------------------------------

FORMAT_SUFFIXES: dict[str, str] = {"netcdf": ".nc", "grib2": ".grib2"}
"""Output format (config ``formats``) -> suffix of its files; a product's files differ only in suffix."""


def format_of(path: str | os.PathLike) -> str:
    """Return the output format of ``path`` from its suffix (``.grib2``: grib2, anything else: netcdf)."""
    return "grib2" if str(path).endswith(FORMAT_SUFFIXES["grib2"]) else "netcdf"


def format_paths(path: str | os.PathLike, formats: list[str] | tuple[str, ...] | None = None) -> dict[str, Path]:
    """Return ``{format: file}`` of one product: ``path`` with the suffix of each of ``formats``.

    ``formats`` ``None``: the format of ``path`` alone.

    Examples
    --------
    >>> {k: str(v) for k, v in format_paths("out/BRN.nc", ["netcdf", "grib2"]).items()}
    {'netcdf': 'out/BRN.nc', 'grib2': 'out/BRN.grib2'}
    """
    path = Path(path)
    if formats is None:
        return {format_of(path): path}
    unknown = [f for f in formats if f not in FORMAT_SUFFIXES]
    if unknown or not formats:
        raise NwpflowError(f"unknown output format {unknown[0] if unknown else None!r}; allowed: "
                           f"{', '.join(FORMAT_SUFFIXES)}")
    stem = path.with_suffix("") if path.suffix in FORMAT_SUFFIXES.values() else path
    return {f: stem.with_name(stem.name + FORMAT_SUFFIXES[f]) for f in dict.fromkeys(formats)}


__all__ = [
    "CONSTANTS_FILE", "MODEL_FILE_PATTERN", "model_file_name",
    "ENSEMBLE_STATISTICS", "ENSEMBLE_SUFFIXES", "EXCEEDANCE_PROBABILITY", "FORMAT_SUFFIXES", "QUANTILE",
    "TIME_SHORT", "TimeProductName", "ensemble_variable_name", "format_of", "format_paths", "lead_code",
    "lead_label", "member_label", "parse_ensemble_variable_name", "parse_label", "parse_time_product_name",
    "time_product_name", "window_label",
]
