"""The vertical coordinate of every field read from GRIB: which levels it must have, and its dim.

A field is never returned with levels missing or dropped:

* **model levels** (``hybrid``, ``generalVerticalLayer``, ``generalVertical``): a field on full levels must
  have every level ``1..N`` of the model, a field on half levels ``1..N+1``. ``N`` comes from the hybrid
  coefficients of IFS messages (the ``pv`` key, ``N + 1`` A and ``N + 1`` B values), from the vertical
  grid's half levels that ICON and COSMO messages state (``nlev``, ``N + 1``: the levels of ``HHL``), else
  from the run's other fields: the highest full level, and one less than the highest half level (``HHL``,
  ``W``). A field with a level missing or outside ``1..N`` is refused, naming the file, the field and the
  levels (:func:`missing_levels_error`): a file cut at a message boundary, or a model still writing it,
  looks whole to a reader that does not know ``N``.
* **other level types** (pressure, height above ground, soil depth, ...): a field keeps its levels on a dim
  with their values (``pressure`` in Pa, ``height`` in m, else the GRIB ``typeOfLevel``), a single level
  too: geopotential on 500 hPa alone reads as ``FI(..., pressure=[50000], ...)``, not as a field without a
  level. Fields on the same levels share the dim; where fields of one level type are on different levels,
  each gets a dim of its own, ``<dim>_<field>``, so that no level of one is aligned away by another's.
  A field without a vertical dim is one whose level says nothing: level 0 of a surface-like type
  (``surface``, ``entireAtmosphere``, ``meanSea``, ...), or the level at which the data model defines
  the field (``T_2M`` at 2 m above ground: :data:`nwpflow.io.datamodel.FIELDS`).
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field

import numpy as np
import xarray as xr

from nwpflow.errors import InputError
from nwpflow.io.datamodel import FIELDS, FULL, HALF, OTHER_LEVEL_DIMS, SURFACE
from nwpflow.io import grib2_codes
from nwpflow.io.grib2_codes import SURFACE_LEVEL_TYPES


@dataclass
class Vertical:
    """The vertical layout of one variable."""

    dims: tuple[str, ...]
    """``()`` or ``(dim,)``."""
    levels: list[int]
    """The GRIB levels the variable must have, in the order of its dim (one level where it has no dim)."""
    coords: dict = field(default_factory=dict)
    source: str = ""
    """Where ``levels`` come from, for messages (model levels only)."""


def level_ranges(levels) -> str:
    """``"1-3, 7, 9-12"`` for levels 1, 2, 3, 7, 9, 10, 11, 12.

    Examples
    --------
    >>> level_ranges([69, 70, 71, 137, 5])
    '5, 69-71, 137'
    """
    levels = sorted(set(int(v) for v in levels))
    parts, start = [], None
    for i, level in enumerate(levels):
        if start is None:
            start = level
        if i + 1 == len(levels) or levels[i + 1] != level + 1:
            parts.append(str(start) if start == level else f"{start}-{level}")
            start = None
    return ", ".join(parts)


def model_levels(messages, kinds: dict[tuple[str, str], str]) -> tuple[int | None, str]:
    """The number of full model levels ``N`` of a run and where it comes from.

    Parameters
    ----------
    messages : list of nwpflow.io.grib.Message
        Every message of the run's files (not only those read: the others are evidence too).
    kinds : dict
        ``{(name, typeOfLevel): FULL | HALF | SURFACE}`` of the run's fields.

    Returns
    -------
    tuple
        ``(N, source)``, ``(None, "")`` where the run has no model levels.
    """
    with_pv = [m for m in messages if m.pv is not None]
    if with_pv:
        first = with_pv[0]
        for other in with_pv[1:]:
            if other.pv.shape != first.pv.shape or not np.array_equal(other.pv, first.pv):
                raise InputError(f"{other.where()} has other hybrid coefficients (pv key) than {first.where()} of "
                                 f"{first.path!r}: the message is corrupt", path=other.path, field=other.name)
        if first.pv.size < 4 or first.pv.size % 2:
            raise InputError(f"{first.where()} has {first.pv.size} hybrid coefficients (pv key); levels need "
                             "2 (N + 1) of them: the message is corrupt", path=first.path, field=first.name)
        count = first.pv.size // 2 - 1
        return count, f"from the hybrid coefficients (pv key) of {first.where()} of {first.path!r}"
    with_nlev = [m for m in messages if m.nlev is not None]
    if with_nlev:
        first = with_nlev[0]
        other = next((m for m in with_nlev if m.nlev != first.nlev), None)
        if other is not None or first.nlev < 2:
            culprit = other or first
            raise InputError(f"{culprit.where()} says the vertical grid has {culprit.nlev} half levels (nlev), "
                             f"{first.where()} of {first.path!r} {first.nlev}: the message is corrupt",
                             path=culprit.path, field=culprit.name)
        return first.nlev - 1, (f"from the vertical grid's {first.nlev} half levels (nlev) of {first.where()} of "
                                f"{first.path!r}")
    full = [m.level for m in messages if kinds.get((m.name, m.type_of_level)) == FULL]
    half = [(m.level, m.name) for m in messages if kinds.get((m.name, m.type_of_level)) == HALF]
    if not full and not half:
        return None, ""
    top_full = max(full, default=0)
    top_half, half_name = max(half, default=(0, ""))
    if top_half - 1 > top_full:
        return top_half - 1, f"from the {top_half} half levels of {half_name}"
    return top_full, f"from the highest full level ({top_full}) of the run's fields"


def implied_by_name(name: str, type_of_level: str, level: int) -> bool:
    """Whether the level of a single-level field says nothing beyond its name: the ground, a data-model
    field on its own surface (``T_2M`` at 2 m), or a product of nwpflow whose GRIB2 encoding fixes its
    surface or layer (``FF_10M`` at 10 m, ``LAPSE_RATE_700_500`` between 700 and 500 hPa; declared by the
    product registry, :func:`nwpflow.io.grib2_codes.declare`)."""
    if type_of_level not in OTHER_LEVEL_DIMS and level == 0:
        return True
    for product in grib2_codes.declared_names():
        parameter = grib2_codes.declared(product)
        if name in (product, parameter.short_name) and parameter.surface != grib2_codes.SURFACE:
            surface = parameter.surface
            if SURFACE_LEVEL_TYPES.get(surface.type_of_first) != type_of_level or surface.value in (None, level):
                return True
    info = FIELDS.get(name)
    if info is None or info.vertical != SURFACE:
        return False
    surface = info.grib2.surface if info.grib2 is not None else None
    return (surface is not None and SURFACE_LEVEL_TYPES.get(surface.type_of_first) == type_of_level
            and surface.value == level)


def vertical_layouts(variables, model_count: int | None, model_source: str) -> dict[str, Vertical]:
    """The :class:`Vertical` of each variable (``{name: variable}``, each with ``kind``, ``type_of_level``
    and ``messages``); model-level variables must have ``model_count`` full levels."""
    layouts: dict[str, Vertical] = {}
    others = defaultdict(dict)  # dim -> {variable name: levels}
    for name, variable in variables.items():
        check_surface(variable.messages)
        levels = sorted({m.level for m in variable.messages})
        if variable.kind in (FULL, HALF):
            count = (model_count or 0) + (variable.kind == HALF)
            expected = list(range(1, count + 1))
            layouts[name] = Vertical((variable.kind,), expected,
                                     {variable.kind: np.asarray(expected, dtype=np.int32)}, model_source)
        elif len(levels) == 1 and (variable.type_of_level == "hybrid"  # lnsp, FI of IFS files on level 1
                                   or implied_by_name(variable.messages[0].name, variable.type_of_level, levels[0])):
            layouts[name] = Vertical((), levels)
        else:
            dim = OTHER_LEVEL_DIMS.get(variable.type_of_level, (variable.type_of_level,))[0]
            others[dim][name] = levels
    for dim, members in others.items():
        shared = len({tuple(levels) for levels in members.values()}) == 1
        for name, levels in members.items():
            dim_name = dim if shared else f"{dim}_{name}"
            _, factor, attrs = OTHER_LEVEL_DIMS.get(variables[name].type_of_level, (dim, 1, {}))
            coordinate = xr.Variable(dim_name, np.asarray(levels) * factor, attrs)
            layouts[name] = Vertical((dim_name,), levels, {dim_name: coordinate})
    return layouts


def check_surface(messages) -> None:
    """Refuse a message of a surface field of the data model (``T_2M``, ``TOT_PREC``, ...) that is not on
    the field's surface (``FieldInfo.grib2``: 2 m above ground, the ground, ...)."""
    info = FIELDS.get(messages[0].name)
    if info is None or info.vertical != SURFACE or info.grib2 is None:
        return
    surface = info.grib2.surface
    kind = SURFACE_LEVEL_TYPES.get(surface.type_of_first)
    level = 0 if surface.value is None else surface.value
    for m in messages:
        if m.type_of_level != kind or m.level != level:
            raise InputError(f"{m.where()} is on {m.type_of_level} {m.level}; the data model's {m.name} is on {kind} "
                             f"{level:g}: the message is corrupt or mislabelled", path=m.path, field=m.name)


def check_levels(name: str, vertical: Vertical, messages) -> None:
    """Refuse messages of a model-level field at a level outside ``1..N`` (:func:`model_levels`)."""
    if not vertical.source:
        return
    allowed = set(vertical.levels)
    outside = sorted({m.level for m in messages} - allowed)
    if outside:
        example = next(m for m in messages if m.level == outside[0])
        raise InputError(f"{example.where()} is on level {level_ranges(outside)}, outside the levels 1-"
                         f"{len(vertical.levels)} of the model ({vertical.source}): the message is corrupt or "
                         "belongs to another model", path=example.path, field=name)


def missing_levels_error(name: str, vertical: Vertical, missing: dict[tuple, list[int]], lead_dims, messages,
                         ) -> InputError:
    """The error for a field that lacks levels: ``missing`` is ``{(member, time, step) values of the
    lead dims: [levels]}``."""
    files = sorted({m.path for m in messages})
    where = []
    for combo, levels in sorted(missing.items(), key=lambda item: str(item[0]))[:3]:
        at = ", ".join(f"{dim} {value}" for dim, value in zip(lead_dims, combo))
        where.append(f"levels {level_ranges(levels)}{' at ' + at if at else ''}")
    more = f" and at {len(missing) - 3} more {'/'.join(lead_dims)} combinations" if len(missing) > 3 else ""
    held = len(vertical.levels) - len(next(iter(missing.values())))
    expected = f"{len(vertical.levels)} levels" + (f" ({vertical.source})" if vertical.source else
                                                   " (those of its other messages)")
    hint = (": the file is truncated, or the model is still writing it; wait for it to be complete, or fix it"
            if vertical.source else ": the file is incomplete or corrupt")
    shown = "" if len(files) == 1 else f" (files: {', '.join(files)})"
    return InputError(f"has {held} of its {expected}; missing {'; '.join(where)}{more}{shown}{hint}",
                      path=files[0] if len(files) == 1 else None, field=name)


__all__ = ["Vertical", "check_levels", "check_surface", "implied_by_name", "level_ranges", "missing_levels_error", "model_levels", "vertical_layouts"]
