r"""Column and layer integrals and extremes: TQV, TQC, TQI, and the generic LAYER_MEAN, LAYER_INTEGRAL,
LAYER_MAX, LAYER_MIN of any model-level field between two heights (above ground or sea) or pressures.

The kernels and the rules at the layer's bounds are in :mod:`nwpflow.kernels.layers`: each full level a box
between its half levels, cut by the bounds (ICON ``vert_integral_vec_1d``); extremes over the full levels
inside the layer and the values interpolated at its bounds (meteodata-lab ``minmax_k``). A layer given in
pressure is turned into heights first, linear in :math:`\ln p` between full levels (ICON's lapse-rate
rule), kept between the ground and the model top. A field on half levels (``W``) is averaged to the full
levels first (meteodata-lab's ``integrate_k`` destaggers the same way).

The generic operators name their field with the option ``field`` (any model-level field of the run); their
units are the field's (times m for LAYER_INTEGRAL). In GRIB2 they are nwpflow's local parameters: the
field they were computed from is in the NetCDF file's ``nwpflow_options`` attribute only.
"""

from __future__ import annotations


import numpy as np
import xarray as xr

from nwpflow import constants, kernels
from nwpflow.errors import InputError, OptionError
from nwpflow.io.datamodel import FULL, HALF
from nwpflow.io.grib2_codes import FixedSurface, Grib2Parameter, local
from nwpflow.kernels.codes import LOG
from nwpflow.products._columns import ModelColumns, number_option
from nwpflow.products.registry import Option, Product, registry

COORDINATES = ("height_above_ground", "height_above_sea", "pressure")
"""How the layer's bounds are given (option ``coordinate``)."""

_ENTIRE_ATMOSPHERE = FixedSurface(1, type_of_second=8)
"""Ground or water surface to the nominal top of the atmosphere (code table 4.5: 1 and 8), a column total."""


def layer_bounds(cols: ModelColumns, i: int, product: str, coordinate: str, bottom, top) -> tuple[np.ndarray, np.ndarray]:
    """Heights [m above sea level] of the layer's bottom and top in each column of outer slice ``i``."""
    bottom = number_option(product, "bottom", bottom)
    top = number_option(product, "top", top)
    hhl = cols["HHL", i]
    if coordinate == "pressure":
        if not 0.0 < top < bottom:
            raise OptionError(f"product {product!r}: a layer in pressure needs 0 < top < bottom [Pa], not bottom="
                              f"{bottom!r}, top={top!r}")
        heights = np.empty((2, cols.ncol))
        kernels.layers.pressure_heights(cols["P", i], hhl, np.array([bottom, top]), heights, method=LOG)
        return np.ascontiguousarray(heights[0]), np.ascontiguousarray(heights[1])
    if not bottom < top:
        raise OptionError(f"product {product!r}: the layer needs bottom < top [m], not bottom={bottom!r}, top={top!r}")
    base = hhl[-1].astype(np.float64) if coordinate == "height_above_ground" else np.zeros(cols.ncol)
    return base + bottom, base + top


def _full_levels(cols: ModelColumns, name: str, i: int) -> np.ndarray:
    """Field ``name`` of outer slice ``i`` on full levels (a half-level field averaged to them)."""
    values = cols[name, i]
    if values.shape[0] == cols.nlev + 1:
        return (0.5 * (values[:-1].astype(np.float64) + values[1:])).astype(np.float32)
    return values


def _check_model_levels(dataset: xr.Dataset, product: str, name: str) -> None:
    if FULL not in dataset[name].dims and HALF not in dataset[name].dims:
        raise InputError(f"product {product!r} reduces a field on model levels; {name} has dims "
                         f"{dataset[name].dims}", field=name)


def layer_statistic(dataset: xr.Dataset, product: str, field: str, statistic: str, coordinate: str, bottom, top,
                    mass: bool) -> xr.DataArray:
    """``statistic`` of ``field`` over the layer, in every column (the generic operators and TQ*)."""
    _check_model_levels(dataset, product, field)
    cols = ModelColumns(dataset, tuple(dict.fromkeys(("HHL", "P", "T", "QV", field))))
    out = cols.empty()
    for i in range(cols.outer):
        if bottom is None:  # the whole column
            z_bottom = cols["HHL", i][-1].astype(np.float64)
            z_top = cols["HHL", i][0].astype(np.float64)
        else:
            z_bottom, z_top = layer_bounds(cols, i, product, coordinate, bottom, top)
        density = (cols["P", i], cols["T", i], cols["QV", i], constants.Rd, constants.rv_rd_minus_1) if mass else None
        kernels.layers.layer_statistic(_full_levels(cols, field, i), cols["HHL", i], z_bottom, z_top, out[i],
                                       statistic=statistic, density=density)
    return cols.wrap(out)


def _column_total(field: str):
    def function(dataset: xr.Dataset, *, cache: dict) -> xr.DataArray:
        return layer_statistic(dataset, f"TQ{field[1]}", field, "integral", "height_above_sea", None, None, True)

    function.__name__ = function.__qualname__ = f"tq{field[1].lower()}"
    function.__doc__ = rf"""Total column of {_CONTENTS[field]} [kg m-2]: the mass integral of ``{field}`` from the ground to
    the model top.

    .. math:: \mathrm{{TQ{field[1]}}} = \sum_k \rho_k\, q_k\, (z_{{k-1/2}} - z_{{k+1/2}}), \qquad
              \rho_k = \frac{{p_k}}{{R_d T_k (1 + (R_v/R_d - 1) q_{{v,k}})}}

    ICON's own sum (``mo_nwp_diagnosis``: :math:`\sum \rho q \Delta z` with its prognostic density), the
    density here the moist air's from ``P``, ``T``, ``QV`` (without the condensate's loading, which would
    lower it by the fraction :math:`q_c + q_i`, under 0.1 %). Hydrostatically
    :math:`\frac{{1}}{{g}}\int q\,dp`; MetPy's ``precipitable_water`` integrates the mixing ratio
    :math:`r = q/(1-q)` over pressure by trapezoids from its lowest level, 1-2 % more in moist air
    (``tests/test_integrals.py`` computes the parts of the difference).
    """
    return function


_CONTENTS = {"QV": "water vapour", "QC": "cloud liquid water", "QI": "cloud ice"}


def _generic(statistic: str):
    def function(dataset: xr.Dataset, *, cache: dict, field: str, coordinate: str, bottom, top,
                 **weight) -> xr.DataArray:
        mass = weight.get("weight", "height") == "mass"
        return layer_statistic(dataset, f"LAYER_{_NAMES[statistic]}", field, statistic, coordinate, bottom, top, mass)

    function.__name__ = function.__qualname__ = f"layer_{statistic}"
    function.__doc__ = _GENERIC_DOC[statistic]
    return function


_NAMES = {"mean": "MEAN", "integral": "INTEGRAL", "max": "MAX", "min": "MIN"}

_BOUNDS_DOC = r"""

    The layer: ``bottom`` to ``top`` in metres above ground (``coordinate="height_above_ground"``),
    above sea level (``"height_above_sea"``) or in pascals (``"pressure"``, ``bottom`` > ``top``; the
    heights of the two pressures linear in :math:`\ln p` between full levels). A half-level field
    (``W``) is averaged to the full levels first. Missing where the layer holds no part of the column.
    """

_GENERIC_DOC = {
    "mean": r"""Mean of a model-level field (option ``field``) over a layer [the field's units].

    .. math:: \bar f = \frac{\sum_k f_k w_k \Delta_k}{\sum_k w_k \Delta_k}

    with :math:`\Delta_k` the part of level k's box (between its half levels) inside the layer and
    :math:`w_k = 1` (``weight="height"``) or the density (``"mass"``: the mass-weighted mean,
    :math:`\int f\,dp / \Delta p` for a hydrostatic column); meteodata-lab ``integrate_k(operator=
    "normed_integral")``, fieldextra ``mean_*``.""" + _BOUNDS_DOC,
    "integral": r"""Height integral of a model-level field (option ``field``) over a layer [the field's units times m].

    .. math:: I = \sum_k f_k \Delta_k

    with :math:`\Delta_k` the part of level k's box (between its half levels) inside the layer
    (ICON ``vert_integral_vec_1d``); meteodata-lab ``integrate_k(operator="integral")`` keeps only the
    levels whose midpoint lies inside the layer, fieldextra ``integ_*``.""" + _BOUNDS_DOC,
    "max": r"""Maximum of a model-level field (option ``field``) over a layer [the field's units].

    The largest of the full-level values inside the layer and of the values interpolated linearly in
    height at its bounds (meteodata-lab ``minmax_k(operator="maximum")``, fieldextra ``max_*``).""" + _BOUNDS_DOC,
    "min": r"""Minimum of a model-level field (option ``field``) over a layer [the field's units].

    The smallest of the full-level values inside the layer and of the values interpolated linearly in
    height at its bounds (meteodata-lab ``minmax_k(operator="minimum")``, fieldextra ``min_*``).""" + _BOUNDS_DOC,
}

_GENERIC_DEFAULTS = {
    # statistic: (field, coordinate, bottom, top, GRIB2 local number, description)
    "mean": ("QV", "height_above_ground", 0.0, 1000.0, 196, "mean of a model-level field over a layer"),
    "integral": ("QC", "height_above_ground", 0.0, 6000.0, 197, "height integral of a model-level field over a layer"),
    "max": ("W", "height_above_ground", 0.0, 10000.0, 198, "maximum of a model-level field over a layer"),
    "min": ("T", "height_above_ground", 0.0, 3000.0, 199, "minimum of a model-level field over a layer"),
}

_LAYER_VALIDATION = {
    "mean": "meteodata-lab 0.8.2 integrate_k(normed_integral, z2z) on the ICON-like sample: equal to the kernel's "
            "height integral with meteodata-lab's midpoint rule, to float32 rounding; the box integral against a "
            "numpy transcription of ICON's vert_integral_vec_1d: 1e-6 relative",
    "integral": "meteodata-lab 0.8.2 integrate_k(integral, z2z) on the ICON-like sample: equal after adding back "
                "the predicted parts of the cut boxes whose midpoints lie outside the layer, 1e-5 relative; a "
                "numpy transcription of ICON's vert_integral_vec_1d: 1e-6 relative",
    "max": "meteodata-lab 0.8.2 minmax_k(maximum, z2z) on the ICON-like sample: float32 rounding",
    "min": "meteodata-lab 0.8.2 minmax_k(minimum, z2z) on the ICON-like sample: float32 rounding",
}

for _statistic, (_field, _coordinate, _bottom, _top, _number_grib, _description) in _GENERIC_DEFAULTS.items():
    _options = {
        "field": Option(_field, "the model-level field (data-model name: T, QV, QC, QI, W, CLC, ...)"),
        "coordinate": Option(_coordinate, "how bottom and top are given: heights above ground or sea [m], or "
                                          "pressures [Pa]", COORDINATES),
        "bottom": Option(_bottom, "bottom of the layer [m, or Pa with coordinate='pressure']"),
        "top": Option(_top, "top of the layer [m, or Pa with coordinate='pressure']"),
    }
    if _statistic == "mean":
        _options["weight"] = Option("height", "'height' (the height-weighted mean) or 'mass' (weighted by the "
                                              "density: the mass-weighted mean)", ("height", "mass"))
    registry.register(Product(
        name=f"LAYER_{_NAMES[_statistic]}",
        description=_description,
        units="{field} m" if _statistic == "integral" else "{field}",
        inputs=("HHL", "P", "T", "QV"),
        option_inputs=lambda options: (options["field"],),
        function=_generic(_statistic),
        grib2=local(_number_grib),
        options=_options,
        reference="ICON mo_opt_nwp_diagnostics.f90 vert_integral_vec_1d (boxes cut at the bounds); meteodata-lab "
                  "operators/vertical_reduction.py integrate_k, minmax_k; fieldextra integ_*, max_*, min_*",
        validation=_LAYER_VALIDATION[_statistic],
    ))

for _field, _number_grib in (("QV", 64), ("QC", 69), ("QI", 70)):
    registry.register(Product(
        name=f"TQ{_field[1]}",
        description=f"total column {_CONTENTS[_field]}",
        units="kg m-2",
        inputs=(_field, "P", "T", "QV", "HHL") if _field != "QV" else ("QV", "P", "T", "HHL"),
        function=_column_total(_field),
        standard_name={"QV": "atmosphere_mass_content_of_water_vapor",
                       "QC": "atmosphere_mass_content_of_cloud_liquid_water",
                       "QI": "atmosphere_mass_content_of_cloud_ice"}[_field],
        grib2=Grib2Parameter(1, _number_grib, f"TQ{_field[1]}", _ENTIRE_ATMOSPHERE),
        reference="ICON mo_nwp_diagnosis (sum of rho q dz over the model layers); MetPy precipitable_water",
        validation="MetPy 1.7.1 precipitable_water on 20 IFS L137 columns: equal to its trapezoid of the mixing ratio "
                   "over pressure when the kernel is given that (1e-5 relative); the density form against the "
                   "hydrostatic integral of q dp/g on the same columns: 2e-3 relative (the columns' non-hydrostatic "
                   "discretisation, computed); a numpy transcription on the ICON-like sample: 1e-6 relative"
                   if _field == "QV" else "a numpy transcription of the density-weighted sum on the ICON-like sample: "
                   "1e-6 relative; the same kernel as TQV",
    ))
