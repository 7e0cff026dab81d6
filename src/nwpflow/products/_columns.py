"""Bring data-model fields into the ``(outer, level, ncol)`` float32 layout the kernels take, and back."""

from __future__ import annotations

import numpy as np
import xarray as xr

from nwpflow import kernels
from nwpflow.errors import InputError
from nwpflow.io.datamodel import FULL, HALF

HORIZONTAL_DIMS = ("cell", "y", "x")


def horizontal_dims(data: xr.DataArray) -> tuple[str, ...]:
    return tuple(d for d in data.dims if d in HORIZONTAL_DIMS)


def lead_dims(fields: list[xr.DataArray]) -> tuple[str, ...]:
    """Leading (member, time, step, ...) dims of the run, in the order the first field has them."""
    seen: dict[str, int] = {}
    for data in fields:
        for d in data.dims:
            if d not in HORIZONTAL_DIMS and d not in (FULL, HALF):
                seen.setdefault(d, data.sizes[d])
    return tuple(seen)


def at_mass_points(data: xr.DataArray) -> xr.DataArray:
    """Destagger a C-grid staggered field (attribute ``staggering``) to the mass points."""
    axis = data.attrs.get("staggering")
    if axis is None:
        return data
    ordered = data.transpose(..., "y", "x")
    values = kernels.stagger.destagger(np.ascontiguousarray(ordered.values), axis)
    attrs = {k: v for k, v in data.attrs.items() if k != "staggering"}
    return ordered.copy(data=values).assign_attrs(attrs)


def columns(data: xr.DataArray, leads: tuple[str, ...], vertical: str | None) -> np.ndarray:
    """Float32, C-contiguous ``(outer, [level,] ncol)`` view of ``data``, broadcast over ``leads``.

    A constant field (no lead dims, e.g. ``HHL`` of the constants file) is not copied per member or
    lead time: its outer dimension has length 1.
    """
    hdims = horizontal_dims(data)
    present = [d for d in leads if d in data.dims]
    if present and present != list(leads):
        raise InputError(f"has lead dims {present}, the run has {list(leads)}", field=str(data.name))
    order = [*present, *([vertical] if vertical else []), *hdims]
    extra = [d for d in data.dims if d not in order]
    if extra:
        raise InputError(f"has unexpected dims {extra} (expected {order})", field=str(data.name))
    values = np.ascontiguousarray(data.transpose(*order).values, dtype=np.float32)
    ncol = int(np.prod([data.sizes[d] for d in hdims]))
    nlev = (data.sizes[vertical],) if vertical else ()
    return values.reshape((-1, *nlev, ncol))


def outer_index(array: np.ndarray, i: int) -> np.ndarray:
    """Slice ``i`` of the outer dim, or the only one of a constant field."""
    return array[0] if array.shape[0] == 1 else array[i]


def as_field(values: np.ndarray, like: xr.DataArray, leads: tuple[str, ...], vertical: str | None,
             sizes: dict[str, int]) -> xr.DataArray:
    """Wrap kernel output ``(outer, [level,] ncol)`` as a DataArray with ``like``'s coordinates."""
    hdims = horizontal_dims(like)
    dims = (*leads, *([vertical] if vertical else []), *hdims)
    shape = tuple(sizes[d] for d in dims)
    coords = {name: coord for name, coord in like.coords.items() if set(coord.dims) <= set(dims)}
    return xr.DataArray(values.reshape(shape), dims=dims, coords=coords)
