r"""Wind products: speed (FF, FF_10M) and meteorological direction (DD, DD_10M).

COSMO's C-grid staggered ``U``/``V`` are averaged to the mass points first (:func:`at_mass_points`,
meteodata-lab's rule); on a rotated-pole grid the direction is taken after turning the grid-relative
components to geographic east/north (COSMO ``uvrot2uv``, :func:`nwpflow.kernels.wind.grid_rotation`).
The speed does not depend on the frame and is never rotated.

Names: ``FF``/``FF_10M`` are fieldextra's names for the speed; the DWD/MeteoSwiss GRIB definitions call
it ``SP``/``SP_10M`` (as meteodata-lab's ``operators/wind.py::speed`` does). ``DD``/``DD_10M`` are the
same in both.
"""

from __future__ import annotations

import numpy as np
import xarray as xr

from nwpflow import kernels
from nwpflow.errors import InputError
from nwpflow.io.datamodel import FULL
from nwpflow.products._columns import as_field, at_mass_points, columns, horizontal_dims, lead_dims
from nwpflow.io.grib2_codes import HEIGHT_10M, Grib2Parameter
from nwpflow.products.registry import Option, Product, registry

ROTATED_POLE = "rotated_latitude_longitude"
"""CF ``grid_mapping_name`` of a rotated-pole grid."""


def _components(dataset: xr.Dataset, u_name: str, v_name: str):
    """Mass-point ``(outer, nlev, ncol)`` float32 columns of the two components, and how to wrap results."""
    u = at_mass_points(dataset[u_name])
    v = at_mass_points(dataset[v_name])
    vertical = FULL if FULL in u.dims else None
    if (FULL in v.dims) != (vertical is not None) or u.shape != v.shape or u.dims != v.dims:
        raise InputError(f"has dims {dict(v.sizes)}, {u_name} has {dict(u.sizes)} (after destaggering)",
                         field=v_name)
    leads = lead_dims([u, v])
    arrays = []
    for data in (u, v):
        values = columns(data, leads, vertical)
        arrays.append(values if vertical else values[:, None, :])
    return arrays, u, leads, vertical


def _speed(dataset: xr.Dataset, u_name: str, v_name: str) -> xr.DataArray:
    (u, v), like, leads, vertical = _components(dataset, u_name, v_name)
    out = np.empty(u.shape, dtype=np.float32)
    for i in range(out.shape[0]):
        kernels.wind.wind_speed(u[i], v[i], out[i])
    return as_field(out, like, leads, vertical, dict(like.sizes))


def _rotated_pole(dataset: xr.Dataset, field: xr.DataArray) -> tuple[float, float] | None:
    """(latitude, longitude) of the rotated north pole when ``field`` is on a rotated-pole grid, else None."""
    name = field.attrs.get("grid_mapping")
    if name is None and "rotated_pole" in dataset.variables:
        name = "rotated_pole"
    if name is None or name not in dataset.variables:
        return None
    mapping = dataset[name].attrs
    if mapping.get("grid_mapping_name") != ROTATED_POLE:
        return None
    if float(mapping.get("north_pole_grid_longitude", 0.0)) != 0.0:
        raise InputError(
            f"is on a rotated-pole grid with north_pole_grid_longitude = {mapping['north_pole_grid_longitude']} "
            "(an extra rotation about the new pole, GRIB angleOfRotation); only 0 is supported, as in COSMO",
            field=str(field.name))
    return float(mapping["grid_north_pole_latitude"]), float(mapping["grid_north_pole_longitude"])


def _rotation(dataset: xr.Dataset, like: xr.DataArray, cache: dict, components: str) -> np.ndarray | None:
    """The angle β [degrees] of each grid point of a rotated-pole grid (computed once per job), or None."""
    if components == "geographic":
        return None
    pole = _rotated_pole(dataset, like)
    if pole is None:
        return None
    hdims = horizontal_dims(like)
    key = ("DD", "rotation", pole, hdims, tuple(like.sizes[d] for d in hdims))
    if key not in cache:
        for name in ("latitude", "longitude"):
            if name not in dataset.coords or set(dataset[name].dims) != set(hdims):
                raise InputError(f"a rotated-pole grid needs the coordinate {name!r} on {hdims} to rotate the "
                                 "winds to geographic north", field=str(like.name))
        lat, lon = (dataset[name].transpose(*hdims).values.ravel() for name in ("latitude", "longitude"))
        cache[key] = kernels.wind.grid_rotation(lat, lon, pole_latitude=pole[0], pole_longitude=pole[1])
    return cache[key]


def _direction(dataset: xr.Dataset, u_name: str, v_name: str, cache: dict, components: str) -> xr.DataArray:
    (u, v), like, leads, vertical = _components(dataset, u_name, v_name)
    rotation = _rotation(dataset, like, cache, components)
    out = np.empty(u.shape, dtype=np.float32)
    for i in range(out.shape[0]):
        kernels.wind.wind_direction(u[i], v[i], out[i], rotation)
    return as_field(out, like, leads, vertical, dict(like.sizes))


def _ff(dataset: xr.Dataset, *, cache: dict) -> xr.DataArray:
    r"""Horizontal wind speed on model levels [m s-1].

    .. math::

        \mathrm{FF} = \sqrt{u^2 + v^2}

    from ``U``, ``V`` at the mass points (COSMO's staggered winds are destaggered first). The speed is
    the same in any horizontal frame, so rotated-pole winds are not rotated. Float64 arithmetic, float32
    result within half a float32 ulp of the exact value.
    """
    return _speed(dataset, "U", "V")


def _ff_10m(dataset: xr.Dataset, *, cache: dict) -> xr.DataArray:
    r"""Wind speed at 10 m above ground [m s-1], :math:`\sqrt{u_{10}^2 + v_{10}^2}` from ``U_10M``, ``V_10M``."""
    return _speed(dataset, "U_10M", "V_10M")


def _dd(dataset: xr.Dataset, *, cache: dict, components: str) -> xr.DataArray:
    r"""Wind direction on model levels: where the wind blows from, degrees clockwise from geographic north.

    .. math::

        \mathrm{DD} = \frac{180}{\pi} \operatorname{atan2}(-u_g, -v_g) \pmod{360} \in (0, 360]

    90 is a wind from the east, 180 from the south, 270 from the west, 360 from the north, and 0 is calm
    (:math:`u = v = 0`): the WMO convention ([WMO306]_, code table 0877) that MetPy's
    ``wind_direction`` follows. meteodata-lab gives 180 for calm (:math:`180 + \operatorname{atan2}(0, 0)`).

    :math:`(u_g, v_g)` are the geographic components: on a rotated-pole grid (a ``grid_mapping`` with
    ``grid_mapping_name = rotated_latitude_longitude``) the grid-relative ``U``, ``V`` — at the mass
    points, destaggered first — are turned by the angle β of the grid's meridian at each point, COSMO's
    ``uvrot2uv`` ([COSMO-PartI]_, rotated spherical coordinates):

    .. math::

        u_g = u \cos\beta + v \sin\beta, \qquad v_g = -u \sin\beta + v \cos\beta,
        \qquad \mathrm{DD} = \mathrm{DD}_{grid} + \beta \pmod{360}

    (see :mod:`nwpflow.kernels.wind` for β). Option ``components``: ``"auto"`` treats the winds of a
    rotated-pole grid as grid-relative (COSMO writes them so, GRIB ``uvRelativeToGrid = 1``) and those of
    any other grid as geographic; ``"geographic"`` never rotates (for files whose rotated-grid winds were
    already turned to geographic north).
    """
    return _direction(dataset, "U", "V", cache, components)


def _dd_10m(dataset: xr.Dataset, *, cache: dict, components: str) -> xr.DataArray:
    r"""Wind direction at 10 m above ground (degrees from north, wind from), from ``U_10M``, ``V_10M``.

    .. math::

        \mathrm{DD\_10M} = \frac{180}{\pi} \operatorname{atan2}(-u_{10,g}, -v_{10,g}) \pmod{360} \in (0, 360]

    As ``DD`` (calm is 0, north 360; rotated-pole winds turned to geographic north first).
    """
    return _direction(dataset, "U_10M", "V_10M", cache, components)


_COMPONENTS = Option(
    "auto",
    "frame of the input wind components: 'auto' = grid-relative on a rotated-pole grid (COSMO, rotated to "
    "geographic north first), geographic otherwise; 'geographic' = never rotate",
    ("auto", "geographic"),
)

_SPEED_VALIDATION = (
    "MetPy 1.7.1 wind_speed on the IFS L137 file: half a float32 ulp (the float32 result; 100 % equal to "
    "MetPy rounded to float32); meteodata-lab 0.8.2 operators/wind.py speed on the COSMO-like sample after its "
    "own decoding and destaggering: half a float32 ulp + 2^-24 |v| (nwpflow keeps destaggered winds in float32)"
)
_DIRECTION_VALIDATION = (
    "MetPy 1.7.1 published test_direction values (calm -> 0, north -> 360): exact; MetPy wind_direction on "
    "the IFS L137 file: half a float32 ulp + 2e-13 deg, modulo 360; meteodata-lab 0.8.2 operators/wind.py "
    "direction with its rotated-pole rotation on the COSMO-like sample: half a float32 ulp + 2^-24 rad "
    "(float32 destaggered winds) + the rotation-angle change from ecCodes' grid coordinates (<= 2e-6 deg off, "
    "computed per point) + 1e-9 deg; calm differs by convention (meteodata-lab: 180)"
)

registry.register(Product(
    name="FF",
    description="wind speed",
    units="m s-1",
    inputs=("U", "V"),
    function=_ff,
    standard_name="wind_speed",
    grib2=Grib2Parameter(2, 1, "SP"),
    reference="fieldextra FF; meteodata-lab operators/wind.py speed (GRIB shortName SP)",
    validation=_SPEED_VALIDATION,
))

registry.register(Product(
    name="FF_10M",
    description="wind speed at 10 m",
    units="m s-1",
    inputs=("U_10M", "V_10M"),
    function=_ff_10m,
    standard_name="wind_speed",
    grib2=Grib2Parameter(2, 1, "SP_10M", HEIGHT_10M),
    reference="fieldextra FF_10M; meteodata-lab operators/wind.py speed (GRIB shortName SP_10M)",
    validation=_SPEED_VALIDATION.replace("on the IFS L137 file", "on the ICON-like sample"),
))

registry.register(Product(
    name="DD",
    description="wind direction (from, clockwise from north; 0 = calm)",
    units="degree",
    inputs=("U", "V"),
    function=_dd,
    standard_name="wind_from_direction",
    grib2=Grib2Parameter(2, 0, "DD"),
    options={"components": _COMPONENTS},
    reference="COSMO uvrot2uv [COSMO-PartI]_; calm and north convention [WMO306]_ (as MetPy); "
              "vectorised Cephes arctangent [Moshier1989]_",
    validation=_DIRECTION_VALIDATION,
))

registry.register(Product(
    name="DD_10M",
    description="wind direction at 10 m (from, clockwise from north; 0 = calm)",
    units="degree",
    inputs=("U_10M", "V_10M"),
    function=_dd_10m,
    standard_name="wind_from_direction",
    grib2=Grib2Parameter(2, 0, "DD_10M", HEIGHT_10M),
    options={"components": _COMPONENTS},
    reference="COSMO uvrot2uv [COSMO-PartI]_; calm and north convention [WMO306]_ (as MetPy); "
              "vectorised Cephes arctangent [Moshier1989]_",
    validation=_DIRECTION_VALIDATION.replace("on the IFS L137 file", "on the ICON-like sample"),
))
