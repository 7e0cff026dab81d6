"""Read CF NetCDF files (through the netCDF4 library) into the normalised data model.

Handles NetCDF converted from ICON/COSMO GRIB (cfgrib/iconarray style: ``generalVerticalLayer`` dims,
ECMWF short names, ``clat``/``clon`` in radians), and nwpflow's own outputs.
"""

from __future__ import annotations

import numpy as np
import xarray as xr

from nwpflow.errors import InputError
from nwpflow.io.checks import check_values
from nwpflow.io.datamodel import FIELDS, FULL, HALF, OTHER_LEVEL_DIMS, canonical_name
from nwpflow.io.vertical import implied_by_name

LEVEL_DIM_NAMES = {spec[0] for spec in OTHER_LEVEL_DIMS.values()}
"""The data model's dims of levels other than model levels (``pressure``, ``height``)."""

NETCDF_LEVEL_TYPES = {**{kind: kind for kind in OTHER_LEVEL_DIMS}, "pressure": "isobaricInPa",
                      "height": "heightAboveGround"}
"""Level coordinates of NetCDF files (cfgrib's ``typeOfLevel`` names, the data model's dims) -> the GRIB
``typeOfLevel`` whose units their values are in."""

LEAD_NAMES = ("number", "member", "time", "step", "forecast_reference_time", "valid_time")
"""Leading dims of NetCDF variables, before their levels."""

DIM_NAMES = {
    "generalVerticalLayer": FULL,
    "generalVertical": HALF,
    "hybrid": FULL,
    "ncells": "cell",
    "ncells2": "cell",
    "rlat": "y",
    "rlon": "x",
}
"""NetCDF dimension names -> data-model dims."""

UNIT_CONVERSIONS: dict[tuple[str, str], tuple[float, float]] = {
    ("Pa", "hPa"): (100.0, 0.0),
    ("K", "degC"): (1.0, 273.15),
    ("K", "C"): (1.0, 273.15),
    ("kg kg-1", "g kg-1"): (1e-3, 0.0),
    ("kg kg-1", "g/kg"): (1e-3, 0.0),
    ("m", "km"): (1e3, 0.0),
}
"""(data-model units, file units) -> (factor, offset) to SI."""

SI_SPELLINGS = {"kg kg-1": {"kg kg-1", "kg kg**-1", "kg/kg", "1"}, "m s-1": {"m s-1", "m s**-1", "m/s"}}
"""Other spellings of the same units; '1' is what cfgrib writes for dimensionless GRIB units."""

COORDINATE_NAMES = {"clat": "latitude", "clon": "longitude", "lat": "latitude", "lon": "longitude"}


def _to_si(name: str, data: xr.DataArray, path: str) -> xr.DataArray:
    info = FIELDS.get(name)
    if info is None:
        return data
    units = data.attrs.get("units")
    if units in (None, info.units, "1") or units in SI_SPELLINGS.get(info.units, ()):
        return data
    conversion = UNIT_CONVERSIONS.get((info.units, units))
    if conversion is None:
        raise InputError(f"units {units!r} cannot be converted to {info.units!r}", path=path, field=name)
    factor, offset = conversion
    return data * factor + offset


def open_netcdf(paths: list[str], wanted: list[str] | None, invalid: str = "error") -> xr.Dataset:
    """Read NetCDF files and merge them; every data variable is kept (under its data-model name), every
    level too (:func:`level_dims`), and the values of model fields are checked against their physical
    range (:func:`nwpflow.io.checks.check_values`; ``invalid`` as there; fill values are missing, not bad)."""
    parts = []
    for path in paths:
        try:
            raw = xr.open_dataset(path, engine="netcdf4", decode_timedelta=True)
            with raw:
                raw = raw.load()
        except (OSError, ValueError, RuntimeError) as error:
            raise InputError(f"cannot be read as NetCDF: {error}", path=path) from None
        parts.append(_normalise(level_dims(raw), path, wanted, invalid))
    try:
        return xr.merge(parts, compat="no_conflicts", join="exact", combine_attrs="drop_conflicts")
    except ValueError as error:
        raise InputError(f"the NetCDF files do not fit together: {error}", path=", ".join(paths)) from None


def level_dims(raw: xr.Dataset) -> xr.Dataset:
    """Levels of cfgrib-made NetCDF (``isobaricInhPa``, ``heightAboveGround``, ...) on the data model's dims
    and in its units (:data:`~nwpflow.io.datamodel.OTHER_LEVEL_DIMS`: ``pressure`` in Pa, ``height`` in m);
    a scalar level coordinate becomes a dim of one level of the variables that have it, so that
    geopotential on 500 hPa keeps its level (except where the level is the field's own: ``T_2M`` at 2 m)."""
    for source in [name for name in raw.coords if name in NETCDF_LEVEL_TYPES]:
        kind = NETCDF_LEVEL_TYPES[source]
        dim, factor, attrs = OTHER_LEVEL_DIMS[kind]
        coordinate = raw[source]
        values = np.atleast_1d(np.asarray(coordinate.values, dtype=np.float64)) * factor
        if coordinate.dims == (source,) and source != dim:
            raw = raw.drop_vars(source).rename_dims({source: dim}).assign_coords({dim: (dim, values, attrs)})
        elif coordinate.ndim == 0:
            raw = raw.drop_vars(source)
            for name in list(raw.data_vars):
                variable = raw[name]
                field_name = canonical_name(variable.attrs.get("GRIB_shortName", name))
                if (source in variable.encoding.get("coordinates", source).split() and dim not in variable.dims
                        and not implied_by_name(field_name, kind, float(coordinate.values))):
                    axis = sum(d in LEAD_NAMES for d in variable.dims)
                    raw[name] = variable.expand_dims({dim: values}, axis=axis)
            if dim in raw.coords:
                raw[dim].attrs.update(attrs)
    return raw


def _normalise(raw: xr.Dataset, path: str, wanted: list[str] | None, invalid: str) -> xr.Dataset:
    raw = raw.rename_dims({d: DIM_NAMES[d] for d in raw.dims if d in DIM_NAMES})
    for dim in [d for d in ("time",) if d in raw.dims and raw.sizes[d] == 1]:
        raw = raw.isel({dim: 0})
    dataset = xr.Dataset(attrs={k: v for k, v in raw.attrs.items() if not k.startswith("GRIB_")})
    for source in raw.data_vars:
        variable = raw[source]
        name = canonical_name(variable.attrs.get("GRIB_shortName", source))
        if name in ("unknown",) or source.endswith("_bnds"):
            name = source
        if name in COORDINATE_NAMES or source in COORDINATE_NAMES:
            continue
        if wanted is not None and name not in wanted:
            continue
        if name in dataset:
            raise InputError(f"variables {source!r} and another both map to {name!r}", path=path, field=name)
        values = _to_si(name, variable, path)
        info = FIELDS.get(name)
        attrs = {k: v for k, v in variable.attrs.items() if k not in ("coordinates",)}
        if info is not None:
            attrs.update(units=info.units, long_name=info.long_name)
            if info.standard_name:
                attrs["standard_name"] = info.standard_name
        data = np.asarray(values.values)
        if np.issubdtype(data.dtype, np.floating):
            data = data.astype(np.float32)
            if info is not None:
                check_values(data, name, path=path, where=f"variable {source!r}", invalid=invalid,
                             nan_is_missing=True)
        coords = {dim: raw[dim] for dim in variable.dims if dim in raw.coords and dim not in (FULL, HALF)
                  and dim in LEVEL_DIM_NAMES}
        dataset[name] = xr.DataArray(data, dims=variable.dims, coords=coords, attrs=attrs)
    for level_dim in (FULL, HALF):
        if level_dim in dataset.dims:
            # nwpflow's own outputs already carry the data-model dim (and its coordinate).
            source_dim = next((k for k, v in DIM_NAMES.items() if v == level_dim and k in raw.coords), level_dim)
            levels = raw[source_dim].values if source_dim in raw.coords else np.arange(1, dataset.sizes[level_dim] + 1)
            dataset.coords[level_dim] = (level_dim, np.asarray(levels, dtype=np.int32))
    for source, target in COORDINATE_NAMES.items():
        if source in raw.variables and raw[source].ndim >= 1:
            coord = raw[source]
            values = np.asarray(coord.values, dtype=np.float64)
            if coord.attrs.get("units") in ("radian", "radians", "rad"):
                values = np.degrees(values)
            units = "degrees_north" if target == "latitude" else "degrees_east"
            name = target if coord.dims[0] == "cell" or source in ("lat", "lon") else f"{target}_{coord.dims[0]}"
            dataset.coords[name] = (coord.dims, values, {"units": units, "standard_name": target})
    scalars = {"number": "member", "forecast_reference_time": "time", "step": "step", "time": "valid_time",
               "valid_time": "valid_time"}
    if "valid_time" in raw.variables or "member" in raw.variables:
        # cfgrib's and nwpflow's own convention: `time` is the reference time, `valid_time` the valid time.
        scalars = {"number": "member", "member": "member", "time": "time", "step": "step",
                   "valid_time": "valid_time"}
    for scalar, target in scalars.items():
        if scalar in raw.coords or scalar in raw.variables:
            value = raw[scalar]
            if value.ndim == 0:
                if target not in dataset.coords:
                    dataset.coords[target] = value.values
    return dataset
