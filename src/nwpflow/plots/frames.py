"""From product files to quicklook frames: which levels, which statistic, what the titles say.

A product file (``results/{run}/{member}/{lead}h/PRODUCT.nc``), an ensemble file (variables
``PRODUCT_mean`` ...) or a time product (one field per window end, dim ``step``) is read through
:func:`nwpflow.io.read_field`; every 2-D field is one frame, a 3-D one gives a frame per configured
level (config ``quicklooks.levels``: by vertical dim, ``lowest`` for the model level nearest the ground).
"""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping, Sequence

import numpy as np

from nwpflow.errors import InputError
from nwpflow.plots.grid import MapGeometry, coordinates_digest
from nwpflow.plots.quicklook import Frame
from nwpflow.plots.style import style_for

log = logging.getLogger("nwpflow.plots")

HORIZONTAL_DIMS = ("cell", "y", "x")
MODEL_LEVEL_DIMS = ("level", "half_level")
"""Vertical dims numbered from the model top: ``lowest`` is the largest number."""

DEFAULT_LEVELS = {"level": ["lowest"], "half_level": ["lowest"], "pressure": [85000.0, 50000.0], "height": []}
"""Levels drawn by default (config ``quicklooks.levels``): the lowest model level, 850 and 500 hPa."""


def level_text(dim: str, value: float) -> tuple[str, str]:
    """Return the title text and the file-name part of one level.

    Examples
    --------
    >>> level_text("pressure", 85000.0), level_text("level", 80), level_text("height", 500.0)
    (('850 hPa', '850hPa'), ('model level 80', 'level80'), ('500 m', '500m'))
    """
    if dim == "pressure":
        return f"{value / 100:g} hPa", f"{value / 100:g}hPa"
    if dim in MODEL_LEVEL_DIMS:
        name = "model level" if dim == "level" else "half level"
        return f"{name} {int(value)}", f"{dim.replace('_', '')}{int(value)}"
    return f"{value:g} m", f"{value:g}m"


def choose_levels(dim: str, available: np.ndarray, wanted: Sequence) -> list[float]:
    """Return the values of ``available`` (a vertical coordinate) that ``wanted`` names: numbers, or
    ``lowest`` (model levels: the largest number) and ``highest``; absent ones are skipped (logged)."""
    chosen = []
    for item in wanted:
        if item in ("lowest", "highest"):
            if dim not in MODEL_LEVEL_DIMS:
                raise InputError(f"'{item}' only names model levels, not {dim} levels", field=dim)
            value = available.max() if item == "lowest" else available.min()
        else:
            matches = available[np.isclose(available, float(item), rtol=0.0, atol=1e-6)]
            if matches.size == 0:
                log.warning("%s level %s is not in the file (it has %s): skipped", dim, item, list(available))
                continue
            value = matches[0]
        if value not in chosen:
            chosen.append(float(value))
    return chosen


def time_text(value) -> str:
    """Return a time as ``YYYY-MM-DD HH:MM UTC``.

    Examples
    --------
    >>> time_text(np.datetime64("2026-07-15T01:00"))
    '2026-07-15 01:00 UTC'
    """
    return f"{np.datetime_as_string(np.datetime64(value, 'm'), unit='m').replace('T', ' ')} UTC"


def _hours(step) -> float:
    return float(np.timedelta64(step, "s").astype(np.int64)) / 3600.0


def field_frames(path: str | os.PathLike, variable: str, *, product: str, geometry: MapGeometry, member: str,
                 description: str = "", statistic: str | None = None,
                 levels: Mapping[str, Sequence] | None = None,
                 styles: Mapping[str, Mapping] | None = None) -> list[tuple[str, Frame]]:
    """Return ``[(file name, frame)]`` of one variable of one file: one frame per chosen level and step.

    Parameters
    ----------
    path : path-like
        A product, ensemble or time-product file.
    variable : str
        The variable to draw (``T_PL``, ``T_PL_mean``, ``TOT_PREC_sum_1h``).
    product : str
        Its product (the style's and the report category's name).
    geometry : MapGeometry
        The map; the file must be on its grid (same number of points, and the same coordinates where the
        file has them).
    member : str
        What the title calls the member: ``member 000``, ``ensemble mean``.
    description : str
        The product's description (the registry's), for the title.
    statistic : str, optional
        The ensemble statistic drawn (its style: :func:`~nwpflow.plots.style.style_for`).
    levels : Mapping, optional
        Levels by vertical dim (:data:`DEFAULT_LEVELS`).
    styles : Mapping, optional
        Config ``quicklooks.styles``.
    """
    from nwpflow.io import read_field

    from nwpflow.io.netcdf import DIM_NAMES

    data, _ = read_field(path, variable)
    data = data.rename({d: DIM_NAMES[d] for d in data.dims if d in DIM_NAMES})  # cfgrib-made files' dims
    single = [d for d in data.dims if data.sizes[d] == 1 and d not in (*HORIZONTAL_DIMS, "step")]
    data = data.squeeze(single, drop=False)
    _check_grid(data, geometry, path, variable)
    levels = DEFAULT_LEVELS if levels is None else levels
    horizontal = [d for d in data.dims if d in HORIZONTAL_DIMS]
    vertical = [d for d in data.dims if d not in HORIZONTAL_DIMS and d != "step"]
    if len(vertical) > 1:
        raise InputError(f"has several vertical dims {vertical}: cannot choose a level to draw", path=str(path),
                         field=variable)
    units = str(data.attrs.get("units", ""))
    reference = data.coords["time"].values if "time" in data.coords else None
    steps = data["step"].values.reshape(-1) if "step" in data.coords else [None]
    level_choices: list[tuple[str | None, float | None]] = [(None, None)]
    if vertical:
        dim = vertical[0]
        level_choices = [(dim, v) for v in choose_levels(dim, np.asarray(data[dim].values, np.float64),
                                                         levels.get(dim, []))]
    frames = []
    for index, step in enumerate(steps):
        at_step = data.isel(step=index) if "step" in data.dims else data
        valid = at_step.coords["valid_time"].values if "valid_time" in at_step.coords else None
        for dim, value in level_choices:
            field = at_step if dim is None else at_step.sel({dim: value})
            field = field.transpose(*horizontal)
            level_title, level_part = level_text(dim, value) if dim else ("", "2d")
            lead = _hours(step) if step is not None else None
            if "step" in data.dims:
                level_part = f"{int(round(lead)):03d}h"
            name = f"{product}/{statistic + '-' if statistic else ''}{level_part}.png"
            what = " ".join(p for p in (product, level_title) if p)
            title = f"{what} · {description}" if description else what
            parts = []
            if reference is not None:
                parts.append(f"run {time_text(reference)}")
            parts.append(member)
            if lead is not None:
                parts.append(f"+{lead:g} h")
            if valid is not None:
                parts.append(f"valid {time_text(valid)}")
            record = {"file": name, "product": product, "variable": variable, "statistic": statistic,
                      "member": member, "level": level_title or None, "lead_h": lead,
                      "run": time_text(reference) if reference is not None else None,
                      "valid_time": time_text(valid) if valid is not None else None, "source": os.fspath(path)}
            style = style_for(product, units, level=value if dim == "pressure" else None, statistic=statistic,
                              overrides=styles)
            frames.append((name, Frame(values=np.asarray(field.values, dtype=np.float32).reshape(-1), style=style,
                                       title=title, subtitle=" · ".join(parts), units=units, record=record)))
    return frames


def _check_grid(data, geometry: MapGeometry, path, variable: str) -> None:
    points = int(np.prod([data.sizes[d] for d in data.dims if d in HORIZONTAL_DIMS]))
    if points != geometry.points:
        raise InputError(f"has {points} grid points, the run's grid {geometry.points}: not on the map's grid",
                         path=os.fspath(path), field=variable)
    if "latitude" in data.coords and "longitude" in data.coords:
        digest = coordinates_digest(data["latitude"].values, data["longitude"].values)
        if digest != geometry.digest:
            raise InputError("its latitudes and longitudes differ from those of the run's grid (the map's "
                             "geometry): not on the map's grid", path=os.fspath(path), field=variable)




def describe(product: str) -> str:
    """Return what a product is, for titles: its registry description, or a time product's statistic.

    Examples
    --------
    >>> describe("TOT_PREC_sum_3h")
    'TOT_PREC accumulated over 3 h'
    >>> describe("T_PL")
    'temperature on pressure levels'
    """
    from nwpflow.naming import parse_time_product_name
    from nwpflow.products import registry

    if product in registry:
        return registry[product].description
    parsed = parse_time_product_name(product)
    if parsed is not None:
        kind = {"accumulation": "accumulated"}.get(parsed.kind, parsed.kind)
        return f"{parsed.field} {kind} over {parsed.minutes / 60:g} h"
    return ""


__all__ = ["DEFAULT_LEVELS", "choose_levels", "describe", "field_frames", "level_text", "time_text"]
