"""Plausibility of decoded values: every field against its physical range, checked while decoding.

The ranges are the data model's (``FieldInfo.valid_range`` in :data:`nwpflow.io.datamodel.FIELDS`); a field
without one is checked for non-finite values only. What happens to a bad value is the reader's
``invalid_values`` (config ``invalid_values``, ``nwpflow compute --invalid-values``):

* ``"error"`` (default): :class:`~nwpflow.errors.ImplausibleValuesError`, naming the file, the message,
  the field, how many values are bad and the range;
* ``"missing"``: the bad values become NaN (missing), with a warning that says as much;
* ``"ignore"``: the values are kept as decoded, with the same warning (data the ranges do not fit, such
  as anomalies stored under a model field's name).

Missing values (GRIB bitmap, NetCDF fill) are not checked: they stay missing. The check costs two
reductions over each decoded field (its minimum and maximum, which NaN and infinities fall out of) and
looks at single values only where those fail; its cost is measured in docs/benchmarks.md.
"""

from __future__ import annotations

import logging

import numpy as np

from nwpflow.errors import ImplausibleValuesError, OptionError
from nwpflow.io.datamodel import FIELDS

INVALID_VALUES = ("error", "missing", "ignore")
"""What the reader does with values outside their field's range or not finite (module docstring)."""

FINITE = float(np.finfo(np.float64).max)
"""The bound of a field without a range: every finite value lies within it, infinities do not."""

log = logging.getLogger("nwpflow")


def invalid_values_mode(mode: str) -> str:
    """Return ``mode`` if it is one of :data:`INVALID_VALUES`, else raise :class:`~nwpflow.errors.OptionError`."""
    if mode not in INVALID_VALUES:
        raise OptionError(f"invalid_values must be one of {', '.join(INVALID_VALUES)}, not {mode!r}")
    return mode


def valid_range(field: str) -> tuple[float, float]:
    """The physical range of data-model field ``field`` (every finite value where it has none)."""
    info = FIELDS.get(field)
    if info is None or info.valid_range is None:
        return -FINITE, FINITE
    return info.valid_range


def check_values(values: np.ndarray, field: str, *, path: str, where: str, invalid: str = "error",
                 missing: np.ndarray | None = None, nan_is_missing: bool = False,
                 report: list | None = None) -> int:
    """Check decoded values of one field against its physical range (:func:`valid_range`).

    Parameters
    ----------
    values : numpy.ndarray
        The decoded values (float32); with ``invalid="missing"`` bad values are set to NaN in place.
    field : str
        The field's data-model name (the range's key).
    path, where : str
        The file, and the place in it (``"message 12"``, ``"variable 't'"``), for the message.
    invalid : {"error", "missing", "ignore"}
        What to do with bad values (:data:`INVALID_VALUES`).
    missing : numpy.ndarray of bool, optional
        Points that are missing (a GRIB bitmap's): left out of the check, and set to NaN.
    nan_is_missing : bool
        Whether a NaN is a missing value (NetCDF's fill) rather than a bad one (a decoded NaN of GRIB).
    report : list, optional
        Where ``(path, field, count, description)`` of bad values that were masked or kept go, for the caller
        to warn once per field (:func:`warn`); ``None``: a warning here.

    Returns
    -------
    int
        The number of bad values (0 unless ``invalid`` is ``"missing"`` or ``"ignore"``).

    Raises
    ------
    ImplausibleValuesError
        With ``invalid="error"``, where a value is out of range or not finite.
    """
    if values.size == 0:
        return 0
    lowest, highest = map(np.float64, valid_range(field))  # float64 scalars: never cast to the values' type
    # fast path: a minimum and a maximum (a NaN makes both NaN, which fail the test, as do infinities:
    # both bounds are finite); the points a bitmap leaves out hold a value within the range meanwhile
    # (numpy's masked reductions are 10-100 times slower than plain ones)
    if missing is not None:
        np.copyto(values, np.float32(0.0 if highest >= FINITE else (lowest + highest) / 2), where=missing)
    if nan_is_missing:
        smallest, largest = np.fmin.reduce(values, axis=None), np.fmax.reduce(values, axis=None)
    else:
        smallest, largest = values.min(), values.max()
    if missing is not None:
        np.copyto(values, np.float32(np.nan), where=missing)
    if (lowest <= smallest and largest <= highest) or (nan_is_missing and np.isnan(smallest)):
        return 0  # every value within the range (or, NetCDF, every value missing)
    considered = values if missing is None else values[~missing]
    with np.errstate(invalid="ignore"):
        bad = ~((considered >= lowest) & (considered <= highest))
    if nan_is_missing:
        bad &= ~np.isnan(considered)
    count = int(np.count_nonzero(bad))
    if count == 0:
        return 0
    wrong = considered[bad].astype(np.float64)
    finite = wrong[np.isfinite(wrong)]
    units = FIELDS[field].units if field in FIELDS else ""
    nonfinite = count - finite.size
    if highest < FINITE:
        found = [f"{nonfinite} not finite"] if nonfinite else []
        if finite.size:
            found.append(f"lowest {finite.min():.6g}, highest {finite.max():.6g}")
        span = f"its range {lowest:g} to {highest:g} {units}".rstrip()
        what = f"{where}: {count} of {considered.size} values outside {span} ({'; '.join(found)})"
    else:
        what = f"{where}: {count} of {considered.size} values not finite"
    if invalid == "error":
        raise ImplausibleValuesError(
            f"{what}: the data are corrupt or not what the field's name says; check the file, or read it with "
            "invalid_values=missing (CLI --invalid-values missing) to treat such values as missing",
            path=path, field=field, where=where, count=count, valid_range=(lowest, highest))
    if invalid == "missing":
        if missing is None:
            values[bad] = np.nan
        else:
            full = np.zeros(values.shape, dtype=bool)
            full[~missing] = bad
            values[full] = np.nan
    if report is None:
        warn([(path, field, count, what)], invalid)
    else:
        report.append((path, field, count, what))
    return count


def warn(reports: list, invalid: str) -> None:
    """Log one warning per file and field of the bad values :func:`check_values` masked or kept."""
    by_field: dict[tuple[str, str], list] = {}
    for path, field, count, what in reports:
        by_field.setdefault((path, field), []).append((count, what))
    done = "set to missing (invalid_values=missing)" if invalid == "missing" else "kept (invalid_values=ignore)"
    for (path, field), found in by_field.items():
        total = sum(count for count, _ in found)
        first = min(found, key=lambda item: item[1])[1]
        log.warning("file %r, field %r: %d values %s, in %d messages or variables, e.g. %s", path, field, total,
                    done, len(found), first)


__all__ = ["INVALID_VALUES", "check_values", "invalid_values_mode", "valid_range", "warn"]
