r"""The wet-bulb family: wet-bulb temperature TW on model levels, the height of the wet-bulb zero HWBZ,
and the snowfall limit SNOWLMT as ICON computes it.

The wet-bulb temperature is Normand's construction on the CAPE ascent's LCL and pseudo-adiabat
(``method="normand"``, MetPy's definition) or the closed form of ICON's ``calsnowlmt`` (``"icon"``);
:mod:`nwpflow.kernels.wetbulb` gives both and their accuracy. The heights are isosurfaces of TW
(:func:`nwpflow.products.surfaces.isosurface`).
"""

from __future__ import annotations

import xarray as xr

from nwpflow import constants, kernels
from nwpflow.io.datamodel import FULL
from nwpflow.io.grib2_codes import ISOTHERM_ZERO, Grib2Parameter, local
from nwpflow.kernels.codes import WET_BULB_METHODS
from nwpflow.products._columns import ModelColumns, number_option
from nwpflow.products.convection import SATURATION_FORMS
from nwpflow.products.registry import Option, Product, registry
from nwpflow.products.surfaces import isosurface

SNOW_LIMIT_WET_BULB = constants.T0 + 1.3
"""Wet-bulb temperature of the snowfall limit [K]: +1.3 °C (ICON ``calsnowlmt``, after P. Haechler,
MeteoSwiss)."""

SNOW_LIMIT_SEARCH_TOP = 8000.0
"""Height [m above sea level] from which ICON searches the snowfall limit downwards."""


def wet_bulb(dataset: xr.Dataset, cache: dict, method: str, saturation: str) -> tuple[ModelColumns, object]:
    """(columns of P, T, QV and HHL, the wet-bulb temperature (outer, nlev, ncol) float32), once per job."""
    key = ("TW", method, saturation)
    if key not in cache:
        cols = ModelColumns(dataset, ("P", "T", "QV", "HHL"))
        out = cols.empty(cols.nlev)
        for i in range(cols.outer):
            kernels.wetbulb.wet_bulb_temperature(cols["P", i], cols["T", i], cols["QV", i], out[i], method=method,
                                                 saturation=SATURATION_FORMS[saturation](),
                                                 parcel_constants=kernels.convection.COSMO, t0=constants.T0)
        cache[key] = (cols, out)
    return cache[key]


def _tw(dataset: xr.Dataset, *, cache: dict, method: str, saturation: str) -> xr.DataArray:
    r"""Wet-bulb temperature on model levels [K].

    ``method="normand"`` (default; Normand's rule, [Normand1938]_, MetPy's ``wet_bulb_temperature``): the
    temperature of the air lifted dry adiabatically to its LCL and brought back down the pseudo-adiabat
    to its own pressure,

    .. math:: T_w = T_\mathrm{pseudo}(p;\ p_{LCL}, T_{LCL}),

    with the LCL and the pseudo-adiabat of CAPE/CIN (exact LCL; Runge-Kutta, within 2e-6 K of the
    converged pseudo-adiabat; saturation form ``saturation``); supersaturated air gives its own
    temperature (MetPy puts the LCL below such air and returns more). ``"icon"``: the closed form of ICON's
    ``calsnowlmt`` ("after Egger/Joss"): against Normand's, within 1 K (0.35 K at the 99th percentile)
    between 240 and 310 K where the relative humidity is at least 5 %, but up to 8 K too cold in drier
    air (``tests/test_wetbulb.py`` measures it on the IFS file; kernels: :mod:`nwpflow.kernels.wetbulb`).
    """
    cols, values = wet_bulb(dataset, cache, method, saturation)
    return cols.wrap(values, FULL)


def _hwbz(dataset: xr.Dataset, *, cache: dict, method: str, saturation: str) -> xr.DataArray:
    r"""Height of the wet-bulb zero [m above sea level]: the highest height where the wet-bulb temperature
    (``method`` as TW) crosses 0 °C, searching down from the model top, linear in TW between the two
    full levels around it (the rule of HZEROCL for the temperature). Missing where TW does not cross 0 °C.
    """
    cols, values = wet_bulb(dataset, cache, method, saturation)
    out = cols.empty()
    for i in range(cols.outer):
        out[i] = isosurface(cols, i, values[i], [constants.T0], ["HHL"], from_top=True)["HHL"][0]
    return cols.wrap(out)


def _snowlmt(dataset: xr.Dataset, *, cache: dict, method: str, saturation: str, threshold) -> xr.DataArray:
    r"""Snowfall limit [m above sea level], as ICON's ``calsnowlmt``.

    Searching down from 8000 m above sea level (the full levels below it), the first level where the
    wet-bulb temperature reaches the threshold (1.3 °C, MeteoSwiss), interpolated linearly in the wet-bulb
    temperature between it and the level above:

    .. math:: z_{snow} = z_k + (z_{k-1} - z_k) \frac{T_{w,*} - T_{w,k}}{T_{w,k-1} - T_{w,k}}

    With ICON's closed-form wet-bulb temperature (``method="icon"``, default) or Normand's. ICON places
    the 8000 m with the levels' reference heights (the same everywhere); here each column's own heights
    (over high ground the search starts a level or two lower; a wet-bulb temperature of 1.3 °C above
    7 km does not occur). Missing (ICON: -999) where the column is colder throughout.
    """
    target = number_option("SNOWLMT", "threshold", threshold)
    cols, values = wet_bulb(dataset, cache, method, saturation)
    out = cols.empty()
    for i in range(cols.outer):
        out[i] = isosurface(cols, i, values[i], [target], ["HHL"], from_top=True,
                            z_range=(-1.0e9, SNOW_LIMIT_SEARCH_TOP))["HHL"][0]
    return cols.wrap(out)


_METHOD = Option("normand", "'normand' (Normand's rule on the CAPE ascent's pseudo-adiabat, MetPy) or 'icon' (ICON "
                            "calsnowlmt's closed form, Egger/Joss)", tuple(WET_BULB_METHODS))
_SATURATION = Option("tetens", "saturation vapour pressure over water of the 'normand' method: 'tetens' (COSMO/ICON) "
                               "or 'ambaum' (MetPy)", tuple(SATURATION_FORMS))
_TW_VALIDATION = ("MetPy 1.7.1 wet_bulb_temperature on IFS L137 points and its published test_wet_bulb_temperature "
                  "values (saturation='ambaum', MetPy's constants and LCL): 3e-4 K (MetPy's LSODA moist adiabat, "
                  "computed); the closed form against a numpy transcription of ICON's calsnowlmt: 1e-5 K")

registry.register(Product(
    name="TW",
    description="wet-bulb temperature",
    units="K",
    inputs=("P", "T", "QV"),
    function=_tw,
    standard_name="wet_bulb_temperature",
    grib2=Grib2Parameter(0, 27, "TW"),
    options={"method": _METHOD, "saturation": _SATURATION},
    reference="[Normand1938]_ (MetPy wet_bulb_temperature) with the CAPE ascent's LCL and pseudo-adiabat; ICON "
              "mo_opt_nwp_diagnostics.f90 calsnowlmt (method='icon')",
    validation=_TW_VALIDATION,
))

registry.register(Product(
    name="HWBZ",
    description="height of the wet-bulb zero above sea level",
    units="m",
    inputs=("P", "T", "QV", "HHL"),
    function=_hwbz,
    grib2=local(202),
    options={"method": _METHOD, "saturation": _SATURATION},
    reference="the 0 degC crossing of TW, searched as HZEROCL (fieldextra, meteodata-lab fhzerocl)",
    validation="the wet-bulb temperature as TW; its 0 degC crossing against meteodata-lab interpolate_k2any (high_fold) "
               "of the full-level height on the ICON-like sample: float32 rounding",
))

registry.register(Product(
    name="SNOWLMT",
    description="snowfall limit above sea level (wet-bulb temperature 1.3 degC), as ICON",
    units="m",
    inputs=("P", "T", "QV", "HHL"),
    function=_snowlmt,
    grib2=Grib2Parameter(1, 204, "SNOWLMT", ISOTHERM_ZERO),
    options={"method": Option("icon", _METHOD.description, _METHOD.choices), "saturation": _SATURATION,
             "threshold": Option(SNOW_LIMIT_WET_BULB, "wet-bulb temperature of the snowfall limit [K]")},
    reference="ICON mo_opt_nwp_diagnostics.f90 calsnowlmt (wbl = 1.3 degC after P. Haechler, MeteoSwiss)",
    validation="a numpy transcription of ICON's calsnowlmt on the ICON-like sample: 1e-3 m",
))
