r"""Vertical products: fields on pressure and height levels, the 0 °C isotherm and the boundary-layer height.

* ``<FIELD>_PL`` (``T``, ``QV``, ``U``, ``V``, ``W``) and the geopotential ``FI_PL`` / geopotential
  height ``HGT_PL``: model-level fields interpolated to pressure levels (new dim ``pressure`` [Pa]);
* ``<FIELD>_HL``: the same fields interpolated to heights above ground or above sea level (new dim
  ``height`` [m]);
* ``HZEROCL``: height of the 0 °C isotherm [m above sea level];
* ``HPBL``: boundary-layer height from the bulk Richardson number [m above ground].

The search for the bracketing levels is done once per set of target levels (kernel
:func:`~nwpflow.kernels.vertical.vertical_brackets`) and kept in the job's cache, so that every field
interpolated to the same levels in one job reuses it (:func:`~nwpflow.kernels.vertical.apply_brackets`).

Choices, each documented where it is made:

* the ground is the lowest half level of ``HHL`` (equal to ``HSURF`` in ICON, COSMO and the IFS files
  nwpflow reads), the full-level height the mean of the two half levels (as meteodata-lab);
* ``W`` lives on half levels: to pressure levels it is first averaged to the full levels (meteodata-lab
  destaggers it the same way before ``interpolate_k2p``); to height levels it is interpolated on the
  half-level heights themselves, so that its value at the ground (0 m above ground) is defined;
* the geopotential on model levels is :math:`g z` (COSMO and ICON use a constant g), so ``HGT_PL`` is
  the full-level height ``HFL`` interpolated to pressure, and ``FI_PL`` is g times it;
* ``T_PL``, ``FI_PL`` and ``HGT_PL`` list ``PS`` and ``HSURF`` (and FI/HGT ``T``) among their inputs
  because ``below_ground="extrapolate"`` needs them; a product's inputs do not depend on its options.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import xarray as xr

from nwpflow import constants, kernels
from nwpflow.errors import InputError, OptionError
from nwpflow.io.datamodel import FIELDS, FULL, HALF, OTHER_LEVEL_DIMS
from nwpflow.kernels.codes import LINEAR, LOG, NEAREST
from nwpflow.products._columns import as_field, at_mass_points, columns, lead_dims, outer_index
from nwpflow.io.grib2_codes import ISOTHERM_ZERO, Grib2Parameter
from nwpflow.products.registry import Option, Product, registry

PRESSURE = "pressure"
"""The vertical dim of fields on pressure levels (coordinate in Pa)."""

HEIGHT = "height"
"""The vertical dim of fields on height levels (coordinate in m)."""

DEFAULT_PRESSURES = (100000.0, 92500.0, 85000.0, 70000.0, 50000.0, 40000.0, 30000.0, 25000.0, 20000.0)
"""Default target pressures [Pa]: 1000, 925, 850, 700, 500, 400, 300, 250, 200 hPa."""

DEFAULT_HEIGHTS = (50.0, 100.0, 200.0, 500.0, 1000.0, 2000.0, 3000.0, 5000.0, 10000.0)
"""Default target heights [m]. Not 10 m: ICON's lowest full level is at about 10 m above ground, and a
target below the lowest level is missing."""

INTERPOLATED_FIELDS = ("T", "QV", "U", "V", "W")
"""Model-level fields with a ``_PL`` and a ``_HL`` product."""

PRESSURE_METHODS = {"lnp": LOG, "linear": LINEAR, "nearest": NEAREST}
HEIGHT_METHODS = {"linear": LINEAR, "nearest": NEAREST}


# ----------------------------------------------------------------------------------------------------
# Options and inputs
# ----------------------------------------------------------------------------------------------------

def _target_levels(product: str, value, *, positive: bool) -> tuple[float, ...]:
    """``levels`` as a tuple of floats, or an :class:`OptionError` that says what is wrong."""
    values = (value,) if isinstance(value, (int, float)) and not isinstance(value, bool) else value
    if isinstance(values, (str, bytes)) or not isinstance(values, Sequence | np.ndarray):
        values = None
    try:
        levels = tuple(float(v) for v in values if not isinstance(v, bool))
        ok = len(levels) == len(values) and len(levels) > 0
    except (TypeError, ValueError):
        ok = False
    if not ok or not all(math.isfinite(v) and (v > 0 or not positive) for v in levels):
        kind = "positive pressures in Pa" if positive else "heights in m"
        raise OptionError(f"product {product!r}: option 'levels' must be a non-empty list of {kind}, "
                          f"not {value!r}")
    return levels


def _positive_number(product: str, name: str, value) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not (math.isfinite(value) and value > 0):
        raise OptionError(f"product {product!r}: option {name!r} must be a positive number, not {value!r}")
    return float(value)


def _vertical_of(data: xr.DataArray, name: str) -> str:
    for dim in (FULL, HALF):
        if dim in data.dims:
            return dim
    raise InputError(f"has no model-level dim ({FULL!r} or {HALF!r}): dims {data.dims}", field=name)


def _check_levels(data: xr.DataArray, name: str, dim: str, size: int, what: str) -> None:
    if data.sizes.get(dim) != size:
        raise InputError(f"has {data.sizes.get(dim)} {dim} levels; {size} are needed ({what})", field=name)


def _coordinate(values: Sequence[float], dim: str, reference: str | None = None) -> xr.DataArray:
    if dim == PRESSURE:
        attrs = {**OTHER_LEVEL_DIMS["isobaricInPa"][2], "long_name": "pressure"}
    elif reference == "sea":
        attrs = {"units": "m", "standard_name": "altitude", "positive": "up", "long_name": "height above sea level"}
    else:
        attrs = {**OTHER_LEVEL_DIMS["heightAboveGround"][2], "long_name": "height above ground"}
    return xr.DataArray(np.asarray(values, dtype=np.float64), dims=(dim,), attrs=attrs)


# ----------------------------------------------------------------------------------------------------
# Brackets, shared through the job's cache
# ----------------------------------------------------------------------------------------------------

def _brackets(coord: np.ndarray, targets: np.ndarray, method: int, **flags) -> tuple[np.ndarray, np.ndarray]:
    outer, ncol = coord.shape[0], coord.shape[-1]
    index = np.empty((outer, targets.size, ncol), dtype=np.int32)
    weight = np.empty((outer, targets.size, ncol), dtype=np.float64)
    for i in range(outer):
        kernels.vertical.vertical_brackets(coord[i], targets, index[i], weight[i], method=method, **flags)
    return index, weight


def pressure_brackets(dataset: xr.Dataset, cache: dict, leads: tuple[str, ...], levels: tuple[float, ...],
                      method: str) -> tuple[np.ndarray, np.ndarray]:
    """Bracketing levels and weights of the pressure ``levels`` in every column, computed once per job.

    Returns ``index`` (int32) and ``weight`` (float64), both ``(outer, ntarget, ncol)``; see
    :func:`nwpflow.kernels.vertical.vertical_brackets`.
    """
    key = ("levels.pressure_brackets", leads, levels, method)
    if key not in cache:
        p = columns(dataset["P"], leads, FULL)
        cache[key] = _brackets(p, np.asarray(levels, dtype=np.float64), PRESSURE_METHODS[method])
    return cache[key]


def height_brackets(dataset: xr.Dataset, cache: dict, leads: tuple[str, ...], levels: tuple[float, ...],
                    method: str, reference: str, full: bool) -> tuple[np.ndarray, np.ndarray]:
    """Bracketing levels and weights of height ``levels`` (full levels, or half levels with ``full=False``)."""
    key = ("levels.height_brackets", leads, levels, method, reference, full)
    if key not in cache:
        z = columns(dataset["HHL"], leads, HALF)
        cache[key] = _brackets(z, np.asarray(levels, dtype=np.float64), HEIGHT_METHODS[method], average=full,
                               above_ground=reference == "ground", height=True)
    return cache[key]


# ----------------------------------------------------------------------------------------------------
# Pressure levels
# ----------------------------------------------------------------------------------------------------

def _to_pressure(dataset: xr.Dataset, cache: dict, name: str, levels, method: str, below_ground: str) -> xr.DataArray:
    levels = _target_levels(f"{name}_PL", levels, positive=True)
    p = dataset["P"]
    nlev = p.sizes[FULL]
    geopotential = name in ("FI", "HGT")
    field = dataset["HHL"] if geopotential else at_mass_points(dataset[name])
    source = "HHL" if geopotential else name
    vertical = _vertical_of(field, source)
    half = vertical == HALF
    _check_levels(field, source, vertical, nlev + 1 if half else nlev, f"P has {nlev} full levels")
    extrapolate = below_ground == "extrapolate"
    quantity = "geopotential" if geopotential else "temperature" if name == "T" else None

    surface = {}
    if extrapolate and quantity:
        for extra in ("T", "PS", "HSURF"):
            surface[extra] = dataset[extra]
        _check_levels(surface["T"], "T", FULL, nlev, f"P has {nlev} full levels")
    leads = lead_dims([p, field, *surface.values()])
    index, weight = pressure_brackets(dataset, cache, leads, levels, method)
    values = columns(field, leads, vertical)
    if surface:
        t_columns = columns(surface["T"], leads, FULL)
        p_columns = columns(p, leads, FULL)
        ps = columns(surface["PS"], leads, None)
        zs = columns(surface["HSURF"], leads, None)
    targets = np.asarray(levels, dtype=np.float64)
    scale = constants.g if name == "FI" else 1.0
    outer = max(index.shape[0], values.shape[0], *(a.shape[0] for a in ([ps, zs, t_columns] if surface else [])))
    out = np.empty((outer, len(levels), values.shape[-1]), dtype=np.float32)
    t_max, h1, h2 = constants.fullpos_below_ground
    for i in range(outer):
        idx = outer_index(index, i)
        kernels.vertical.apply_brackets(outer_index(values, i), idx, outer_index(weight, i), out[i], half=half,
                                        constant_below=extrapolate, scale=scale)
        if surface:
            kernels.vertical.extrapolate_below(
                idx, targets, outer_index(t_columns, i)[nlev - 1], outer_index(p_columns, i)[nlev - 1],
                outer_index(ps, i), outer_index(zs, i), out[i], quantity=quantity, rd=constants.Rd, g=constants.g,
                lapse_rate=constants.standard_lapse_rate, t_max=t_max, h1=h1, h2=h2,
                factor=1.0 / constants.g if name == "HGT" else 1.0)
    sizes = {**p.sizes, **field.sizes, PRESSURE: len(levels)}
    for data in surface.values():
        sizes.update(data.sizes)
    result = as_field(out, p, leads, PRESSURE, sizes)
    return result.assign_coords({PRESSURE: _coordinate(levels, PRESSURE)})


_PRESSURE_DOC = r"""{description} on pressure levels.

    The field is interpolated between the two model levels that bracket each target pressure
    :math:`p_*` (the topmost such pair, scanning down from the model top):

    .. math::

        f(p_*) = (1 - w) f_{{k-1}} + w f_k, \qquad
        w = \frac{{\ln p_* - \ln p_{{k-1}}}}{{\ln p_k - \ln p_{{k-1}}}} \ \text{{(lnp)}}, \quad
        \frac{{p_* - p_{{k-1}}}}{{p_k - p_{{k-1}}}} \ \text{{(linear)}}, \quad
        w \in \{{0, 1\}} \ \text{{(nearest, ties to the lower level)}}

    (meteodata-lab ``interpolate_k2p``; MetPy ``log_interpolate_1d`` / ``interpolate_1d``). A target
    above the top level is missing. A target below the lowest model level (pressure greater than the
    lowest level's, in particular below the ground where :math:`p_s < p_*`) is missing with
    ``below_ground="missing"``; with ``"extrapolate"`` {below}

    Parameters
    ----------
    levels : list of float
        Target pressures [Pa] (default 1000, 925, 850, 700, 500, 400, 300, 250, 200 hPa).
    method : {{"lnp", "linear", "nearest"}}
    below_ground : {{"missing", "extrapolate"}}

    Returns
    -------
    DataArray
        {units}, dims ``(*leads, pressure, *horizontal)``.

    References
    ----------
    IFS FullPos below-ground rules as implemented by meteodata-lab
    ``operators/vertical_extrapolation.py``; surface temperature after Trenberth, Berry and Buja (1993),
    NCAR/TN-396+STR (see :mod:`nwpflow.kernels.vertical`).
    """

_BELOW = {
    "T": r"""it follows IFS FullPos: from the surface temperature
    :math:`T_* = T_N (1 + \Gamma_0 R_d/g \, (p_s/p_N - 1))`,
    :math:`T = T_* (1 + y + y^2/2 + y^3/6)`, :math:`y = \Gamma R_d/g \ln(p_*/p_s)`, with
    :math:`\Gamma = \Gamma_0` = 0.0065 K/m below 2000 m surface height and reduced above it
    (:func:`nwpflow.kernels.vertical.extrapolate_below`).""",
    "FI": r"""it follows IFS FullPos:
    :math:`\Phi = g z_s - R_d T_* \ln(p_*/p_s) (1 + y/2 + y^2/6)`, :math:`y = \Gamma_0 R_d/g \ln(p_*/p_s)`,
    with :math:`T_*` the surface temperature extrapolated from the lowest level
    (:func:`nwpflow.kernels.vertical.extrapolate_below`).""",
    None: "it is the value of the lowest model level (meteodata-lab ``extrapolate_k2p``, constant).",
}


def _pressure_function(name: str, description: str, units: str):
    def function(dataset: xr.Dataset, *, cache: dict, levels, method: str, below_ground: str) -> xr.DataArray:
        return _to_pressure(dataset, cache, name, levels, method, below_ground)

    below = _BELOW["T" if name == "T" else "FI" if name in ("FI", "HGT") else None]
    function.__name__ = function.__qualname__ = f"{name.lower()}_on_pressure_levels"
    function.__doc__ = _PRESSURE_DOC.format(description=description[0].upper() + description[1:], below=below,
                                            units=units)
    return function


def _pressure_options(name: str) -> dict[str, Option]:
    return {
        "levels": Option(DEFAULT_PRESSURES, "target pressures [Pa]", bounds=FIELDS["P"].valid_range),
        "method": Option("lnp", "interpolation linear in ln p (lnp), in p (linear), or the nearest level (nearest)",
                         tuple(PRESSURE_METHODS)),
        "below_ground": Option("missing", "targets below the lowest model level: missing (NaN) or extrapolate ("
                               + ("IFS FullPos rule)" if name in ("T", "FI", "HGT") else "value of the lowest level)"),
                               ("missing", "extrapolate")),
    }


# ----------------------------------------------------------------------------------------------------
# Height levels
# ----------------------------------------------------------------------------------------------------

def _to_height(dataset: xr.Dataset, cache: dict, name: str, levels, method: str, reference: str) -> xr.DataArray:
    levels = _target_levels(f"{name}_HL", levels, positive=False)
    hhl = dataset["HHL"]
    field = at_mass_points(dataset[name])
    vertical = _vertical_of(field, name)
    full = vertical == FULL
    nhalf = hhl.sizes[HALF]
    _check_levels(field, name, vertical, nhalf - 1 if full else nhalf, f"HHL has {nhalf} half levels")
    leads = lead_dims([field, hhl])
    index, weight = height_brackets(dataset, cache, leads, levels, method, reference, full)
    values = columns(field, leads, vertical)
    outer = max(index.shape[0], values.shape[0])
    out = np.empty((outer, len(levels), values.shape[-1]), dtype=np.float32)
    for i in range(outer):
        kernels.vertical.apply_brackets(outer_index(values, i), outer_index(index, i), outer_index(weight, i), out[i])
    sizes = {**hhl.sizes, **field.sizes, HEIGHT: len(levels)}
    result = as_field(out, field, leads, HEIGHT, sizes)
    return result.assign_coords({HEIGHT: _coordinate(levels, HEIGHT, reference)})


_HEIGHT_DOC = r"""{description} on height levels.

    Interpolated linearly in height (or the nearest level, ties to the lower one) between the two model
    levels that bracket each target height :math:`z_*`:

    .. math::

        f(z_*) = (1 - w) f_{{k-1}} + w f_k, \qquad w = \frac{{z_* - z_{{k-1}}}}{{z_k - z_{{k-1}}}},

    with full-level heights :math:`z_k = \tfrac12 (z_{{k-1/2}} + z_{{k+1/2}})` from ``HHL`` (half-level
    fields such as ``W`` use the half-level heights), measured from the ground (the lowest half level,
    ``reference="ground"``) or from sea level (``"sea"``). Targets above the top or below the lowest
    level are missing (NaN).

    Parameters
    ----------
    levels : list of float
        Target heights [m].
    method : {{"linear", "nearest"}}
    reference : {{"ground", "sea"}}

    Returns
    -------
    DataArray
        {units}, dims ``(*leads, height, *horizontal)``.
    """


def _height_function(name: str, description: str, units: str):
    def function(dataset: xr.Dataset, *, cache: dict, levels, method: str, reference: str) -> xr.DataArray:
        return _to_height(dataset, cache, name, levels, method, reference)

    function.__name__ = function.__qualname__ = f"{name.lower()}_on_height_levels"
    function.__doc__ = _HEIGHT_DOC.format(description=description[0].upper() + description[1:], units=units)
    return function


# ----------------------------------------------------------------------------------------------------
# HZEROCL and HPBL
# ----------------------------------------------------------------------------------------------------

def freezing_level(dataset: xr.Dataset, *, cache: dict, extrapolate: bool, search_limit) -> xr.DataArray:
    r"""Height of the 0 °C isotherm [m above sea level].

    Scanning down from the model top, the first pair of full levels with :math:`T_{k-1} < T_0 \le T_k`
    (the highest crossing), linear in height between them:

    .. math::

        z_0 = z_{k-1} + (z_k - z_{k-1}) \frac{T_0 - T_{k-1}}{T_k - T_{k-1}}, \qquad T_0 = 273.15\ \mathrm{K},

    with full-level heights :math:`z_k` the mean of the two ``HHL`` half levels. No crossing gives a
    missing value; so does a missing temperature met before the crossing (the highest crossing is then
    unknown; meteodata-lab skips such levels instead), and a height not above sea level (as
    meteodata-lab's ``fhzerocl``, which this follows; fieldextra's algorithm).

    Parameters
    ----------
    extrapolate : bool
        Default False. True: where the whole column is below freezing and the temperature rises
        downwards between the two lowest levels, extrapolate linearly from them below the lowest level
        (meteodata-lab ``extrapolate=True``); the height may then be below the ground.
    search_limit : float or None
        Default None (the whole column). A height above ground [m]: only crossings whose upper level is
        at most that high count. fieldextra limits its search to 8000 m above ground
        (``search_limit=8000``); 0 °C crossings that high do not occur in practice, so the two agree.

    References
    ----------
    MeteoSwiss fieldextra; meteodata-lab ``operators/hzerocl.py``.
    """
    if search_limit is not None:
        search_limit = _positive_number("HZEROCL", "search_limit", search_limit)
    t, hhl = dataset["T"], dataset["HHL"]
    nlev = t.sizes[FULL]
    _check_levels(hhl, "HHL", HALF, nlev + 1, f"T has {nlev} full levels")
    leads = lead_dims([t, hhl])
    temperature = columns(t, leads, FULL)
    heights = columns(hhl, leads, HALF)
    outer = max(temperature.shape[0], heights.shape[0])
    out = np.empty((outer, temperature.shape[-1]), dtype=np.float32)
    for i in range(outer):
        kernels.vertical.freezing_level_height(outer_index(temperature, i), outer_index(heights, i), out[i],
                                               t0=constants.T0, extrapolate=bool(extrapolate),
                                               search_limit=search_limit)
    return as_field(out, t, leads, None, {**hhl.sizes, **t.sizes})


def pbl_height(dataset: xr.Dataset, *, cache: dict, critical) -> xr.DataArray:
    r"""Boundary-layer height [m above ground] from the bulk Richardson number.

    Scanning up from the lowest model level, the first level :math:`k` where
    :math:`\mathrm{BRN}_k > \mathrm{Ri}_c`, linear in height between it and the level below:

    .. math::

        h = z_{k+1} + (z_k - z_{k+1})
            \frac{\mathrm{Ri}_c - \mathrm{BRN}_{k+1}}{\mathrm{BRN}_k - \mathrm{BRN}_{k+1}} - z_s,

    with :math:`z_k` the full-level heights, :math:`z_s` the ground (lowest ``HHL`` half level) and
    :math:`\mathrm{BRN}_N = 0` at the lowest level, BRN's reference level (product ``BRN``). Where no
    level exceeds :math:`\mathrm{Ri}_c` the height is missing (NaN), not the model top: a boundary
    layer as deep as the model is no diagnosis. A missing BRN below the first exceedance gives a
    missing height.

    Parameters
    ----------
    critical : float
        Critical Richardson number :math:`\mathrm{Ri}_c` (default 0.22, MeteoSwiss).

    References
    ----------
    Vogelezang, D. H. P. and A. A. M. Holtslag, 1996: Evaluation and model impacts of alternative
    boundary-layer height formulations. Boundary-Layer Meteorol., 81, 245-269 (the bulk Richardson
    method); BRN as MeteoSwiss fieldextra / meteodata-lab ``operators/brn.py``.
    """
    critical = _positive_number("HPBL", "critical", critical)
    brn, hhl = dataset["BRN"], dataset["HHL"]
    nlev = brn.sizes[FULL]
    _check_levels(hhl, "HHL", HALF, nlev + 1, f"BRN has {nlev} full levels")
    leads = lead_dims([brn, hhl])
    values = columns(brn, leads, FULL)
    heights = columns(hhl, leads, HALF)
    outer = max(values.shape[0], heights.shape[0])
    out = np.empty((outer, values.shape[-1]), dtype=np.float32)
    for i in range(outer):
        kernels.vertical.boundary_layer_height(outer_index(values, i), outer_index(heights, i), out[i],
                                               critical=critical)
    return as_field(out, brn, leads, None, {**hhl.sizes, **brn.sizes})


# ----------------------------------------------------------------------------------------------------
# Registration
# ----------------------------------------------------------------------------------------------------

_INTERPOLATION_VALIDATION = {
    "PL": ("MetPy 1.7.1 log_interpolate_1d published values (decimal 7 in float64; float32 storage "
           "otherwise); MetPy log_interpolate_1d/interpolate_1d and meteodata-lab interpolate_k2p "
           "(lnp, linear, nearest) on the IFS L137 file: float32 rounding (2**-24 relative); "
           "below-ground extrapolation against meteodata-lab extrapolate_k2p / "
           "extrapolate_temperature_sfc2p / extrapolate_geopotential_sfc2p: float32 rounding"),
    "HL": "MetPy 1.7.1 interpolate_1d on the heights of the ICON sample columns: float32 rounding (2**-24 relative)",
}

for _name in INTERPOLATED_FIELDS:
    _info = FIELDS[_name]
    registry.register(Product(
        name=f"{_name}_PL",
        description=f"{_info.long_name} on pressure levels",
        units=_info.units,
        inputs=("P", _name, "PS", "HSURF") if _name == "T" else ("P", _name),
        function=_pressure_function(_name, _info.long_name, _info.units),
        standard_name=_info.standard_name,
        grib2=_info.grib2,
        options=_pressure_options(_name),
        reference="meteodata-lab operators/vertical_interpolation.py::interpolate_k2p; below ground: IFS "
                  "FullPos (meteodata-lab operators/vertical_extrapolation.py)"
                  + ("; T* after Trenberth, Berry and Buja 1993 (NCAR/TN-396+STR)" if _name == "T" else ""),
        validation=_INTERPOLATION_VALIDATION["PL"],
    ))
    registry.register(Product(
        name=f"{_name}_HL",
        description=f"{_info.long_name} on height levels",
        units=_info.units,
        inputs=(_name, "HHL"),
        function=_height_function(_name, _info.long_name, _info.units),
        standard_name=_info.standard_name,
        grib2=_info.grib2,
        options={
            "levels": Option(DEFAULT_HEIGHTS, "target heights [m]", bounds=FIELDS["HHL"].valid_range),
            "method": Option("linear", "interpolation linear in height (linear) or the nearest level (nearest)",
                             tuple(HEIGHT_METHODS)),
            "reference": Option("ground", "heights above ground (ground) or above sea level (sea)", ("ground", "sea")),
        },
        reference="linear interpolation in height; full-level heights as meteodata-lab (mean of HHL half levels)",
        validation=_INTERPOLATION_VALIDATION["HL"],
    ))

for _name, _description, _units, _standard, _grib2 in (
    ("FI", "geopotential on pressure levels", "m2 s-2", "geopotential", Grib2Parameter(3, 4, "FI")),
    ("HGT", "geopotential height on pressure levels", "m", "geopotential_height", Grib2Parameter(3, 5, "GH")),
):
    registry.register(Product(
        name=f"{_name}_PL",
        description=_description,
        units=_units,
        inputs=("P", "HHL", "T", "PS", "HSURF"),
        function=_pressure_function(_name, _description.removesuffix(" on pressure levels"), _units),
        standard_name=_standard,
        grib2=_grib2,
        options=_pressure_options(_name),
        reference="full-level height interpolated with meteodata-lab's interpolate_k2p; below ground: IFS FullPos "
                  "(meteodata-lab extrapolate_geopotential_sfc2p)",
        validation="meteodata-lab interpolate_k2p of the full-level height and extrapolate_geopotential_sfc2p on the "
                   "IFS L137 file: float32 rounding (2**-24 relative)",
    ))

registry.register(Product(
    name="HZEROCL",
    description="height of the 0 degC isotherm above sea level",
    units="m",
    inputs=("T", "HHL"),
    function=freezing_level,
    grib2=Grib2Parameter(3, 6, "HZEROCL", ISOTHERM_ZERO),
    options={
        "extrapolate": Option(False, "extrapolate below the lowest level where the whole column is below freezing "
                                     "(meteodata-lab semantics)", (False, True)),
        "search_limit": Option(None, "only crossings at most this high above ground [m] (fieldextra: 8000); "
                                     "None: the whole column"),
    },
    reference="MeteoSwiss fieldextra; meteodata-lab operators/hzerocl.py::fhzerocl",
    validation="meteodata-lab fhzerocl (extrapolate False and True) on the IFS L137 file: float32 rounding "
               "(2**-24 relative)",
))

registry.register(Product(
    name="HPBL",
    description="boundary-layer height above ground from the bulk Richardson number",
    units="m",
    inputs=("HHL",),
    function=pbl_height,
    standard_name="atmosphere_boundary_layer_thickness",
    grib2=Grib2Parameter(3, 18, "HPBL"),
    options={"critical": Option(0.22, "critical bulk Richardson number")},
    requires=("BRN",),
    reference="bulk Richardson method, Vogelezang and Holtslag 1996 (BLM 81); BRN as MeteoSwiss fieldextra",
    validation="numpy transcription on random columns: float32 rounding; ICON sample: heights of a few hundred m "
               "to ~2 km",
))
