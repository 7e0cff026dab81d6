"""Bring data-model fields into the ``(outer, level, ncol)`` float32 layout the kernels take, and back."""

from __future__ import annotations

import math

import numpy as np
import xarray as xr

from nwpflow import kernels
from nwpflow.errors import InputError, OptionError
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


class ModelColumns:
    """Fields of a run as float32 ``(outer, [level,] ncol)`` kernel arrays with one set of lead dims.

    ``ModelColumns(dataset, names)`` brings each field to the mass points (:func:`at_mass_points`) and
    to the kernels' layout (:func:`columns`), full-level fields on ``level``, half-level ones on
    ``half_level`` (one more), surface fields without a vertical dim, and checks that they agree:
    the same number of levels, one grid. ``self[name, i]`` is slice ``i`` of the outer dim (the only
    one of a constant field); :meth:`wrap` turns kernel output back into a DataArray.
    """

    def __init__(self, dataset: xr.Dataset, names: tuple[str, ...] | list[str]):
        fields = {name: at_mass_points(dataset[name]) for name in names}
        self.nlev = None
        for name, data in fields.items():
            if FULL in data.dims:
                self.nlev = self.nlev or data.sizes[FULL]
                if data.sizes[FULL] != self.nlev:
                    raise InputError(f"has {data.sizes[FULL]} full levels, {names[0]} has {self.nlev}", field=name)
        for name, data in fields.items():
            if HALF in data.dims and self.nlev is not None and data.sizes[HALF] != self.nlev + 1:
                raise InputError(f"has {data.sizes[HALF]} half levels; {self.nlev + 1} are needed for {self.nlev} "
                                 "full levels", field=name)
        self.leads = lead_dims(list(fields.values()))
        self.arrays = {name: columns(data, self.leads, FULL if FULL in data.dims else HALF if HALF in data.dims else None)
                       for name, data in fields.items()}
        ncol = {a.shape[-1] for a in self.arrays.values()}
        if len(ncol) != 1:
            raise InputError(f"fields {', '.join(names)} are on different grids ({sorted(ncol)} points)")
        self.ncol = ncol.pop()
        self.outer = max(a.shape[0] for a in self.arrays.values())
        self.like = next((d for d in fields.values() if FULL in d.dims), next(iter(fields.values())))
        self.sizes = {d: n for data in fields.values() for d, n in data.sizes.items()}

    def __getitem__(self, key: tuple[str, int]) -> np.ndarray:
        name, i = key
        return outer_index(self.arrays[name], i)

    def empty(self, *shape: int) -> np.ndarray:
        """A float32 ``(outer, *shape, ncol)`` output array."""
        return np.empty((self.outer, *shape, self.ncol), dtype=np.float32)

    def wrap(self, values: np.ndarray, vertical: str | None = None, size: int | None = None) -> xr.DataArray:
        """``values`` ``(outer, [vertical,] ncol)`` as a DataArray on the run's lead and horizontal dims."""
        sizes = dict(self.sizes)
        if vertical is not None:
            sizes[vertical] = size if size is not None else values.shape[1]
        return as_field(values, self.like, self.leads, vertical, sizes)


def number_option(product: str, name: str, value) -> float:
    """Option ``name`` of ``product`` as a finite float, or an :class:`~nwpflow.errors.OptionError` saying so."""
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise OptionError(f"product {product!r}: option {name!r} must be a number, not {value!r}")
    return float(value)
