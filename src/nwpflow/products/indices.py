r"""Stability indices: the surface (or mixed-layer) lifted index SLI, the Showalter index SI, downdraft CAPE
(DCAPE), the K index (KI), Total Totals (TT) and temperature lapse rates between 700 and 500 hPa and from
the lowest level to 3 km above ground.

The parcels are those of the CAPE/CIN ascent (:mod:`nwpflow.kernels.convection`): its LCL, its
pseudo-adiabat, its mixed layer, its saturation forms (option ``saturation``). The definitions, and what
differs between ICON, fieldextra and MetPy, are in :mod:`nwpflow.kernels.indices`.
"""

from __future__ import annotations

import xarray as xr

from nwpflow import constants, kernels
from nwpflow.io.grib2_codes import FixedSurface, Grib2Parameter, local
from nwpflow.kernels.codes import LIFTED_PARCELS, LINEAR, LOG
from nwpflow.products._columns import ModelColumns
from nwpflow.products.convection import SATURATION_FORMS
from nwpflow.products.registry import Option, Product, registry

INTERPOLATIONS = {"lnp": LOG, "linear": LINEAR}

_SATURATION = Option("tetens", "saturation vapour pressure over water: 'tetens' (COSMO/ICON Magnus-Tetens) or "
                               "'ambaum' (Ambaum 2020 with MetPy's constants)", tuple(SATURATION_FORMS))
_INTERPOLATION = Option("lnp", "temperature and dew point at the pressure levels: linear in ln p ('lnp', as the _PL "
                               "products) or in p ('linear', MetPy's interpolate_1d)", tuple(INTERPOLATIONS))

def _constants():
    """COSMO/ICON constants of the parcel ascent (a function: the registry is imported without numba)."""
    return kernels.convection.COSMO


def _lifted(dataset: xr.Dataset, *, cache: dict, parcel: str, saturation: str, interpolation: str) -> xr.DataArray:
    r"""Lifted index at 500 hPa [K] ([Galway1956]_).

    .. math:: \mathrm{SLI} = T(500\,\mathrm{hPa}) - T_\mathrm{parcel}(500\,\mathrm{hPa})

    The parcel (option ``parcel``): ``"surface"`` (default), the air of the lowest model level as ICON's
    ``cal_si_sli_swiss``; ``"mixed_layer"``, CAPE_ML's parcel (the mass-weighted means of θ and
    :math:`q_v` over the lowest 50 hPa, lifted from the surface pressure). Lifted dry adiabatically to its
    LCL and pseudo-adiabatically above it (the CAPE ascent's). :math:`T(500)` is interpolated between
    the full levels around 500 hPa (``interpolation``); ICON takes the first model level at or above
    500 hPa instead, and MetPy interpolates linearly in pressure. Temperatures, not virtual ones (ICON,
    MetPy). Positive: stable.
    """
    cols = ModelColumns(dataset, ("P", "T", "QV", "HHL", "HSURF"))
    out = cols.empty()
    for i in range(cols.outer):
        kernels.indices.lifted_index(cols["P", i], cols["T", i], cols["QV", i], cols["HHL", i], cols["HSURF", i],
                                     out[i], parcel=parcel, saturation=SATURATION_FORMS[saturation](),
                                     parcel_constants=_constants(), method=INTERPOLATIONS[interpolation])
    return cols.wrap(out)


def _showalter(dataset: xr.Dataset, *, cache: dict, saturation: str, interpolation: str) -> xr.DataArray:
    r"""Showalter index [K] ([Showalter1953]_).

    .. math:: \mathrm{SI} = T(500\,\mathrm{hPa}) - T_\mathrm{parcel}(500\,\mathrm{hPa})

    for the parcel that starts at 850 hPa with the environment's temperature and dew point there
    (interpolated between the full levels around it, ``interpolation``; ICON starts from the first model
    level at or below 850 hPa), lifted as CAPE's. Missing where 850 hPa lies below the lowest level (ICON
    too). MetPy's ``showalter_index`` interpolates linearly in pressure (``interpolation="linear"``).
    """
    cols = ModelColumns(dataset, ("P", "T", "QV"))
    out = cols.empty()
    for i in range(cols.outer):
        kernels.indices.showalter_index(cols["P", i], cols["T", i], cols["QV", i], out[i],
                                        saturation=SATURATION_FORMS[saturation](), parcel_constants=_constants(),
                                        method=INTERPOLATIONS[interpolation])
    return cols.wrap(out)


def classic_indices(dataset: xr.Dataset, cache: dict, saturation: str, interpolation: str) -> tuple[xr.DataArray, ...]:
    """(K index, Total Totals), computed once per job and option set."""
    key = ("KI", saturation, interpolation)
    if key not in cache:
        cols = ModelColumns(dataset, ("P", "T", "QV"))
        out = cols.empty(2)
        for i in range(cols.outer):
            kernels.indices.classic_indices(cols["P", i], cols["T", i], cols["QV", i], out[i],
                                            saturation=SATURATION_FORMS[saturation](), epsilon=constants.epsilon,
                                            t0=constants.T0, method=INTERPOLATIONS[interpolation])
        cache[key] = tuple(cols.wrap(out[:, row].copy()) for row in range(2))
    return cache[key]


def _k_index(dataset: xr.Dataset, *, cache: dict, saturation: str, interpolation: str) -> xr.DataArray:
    r"""K index [K] ([George1960]_).

    .. math:: \mathrm{KI} = (T_{850} - T_{500}) + T_{d,850} - (T_{700} - T_{d,700})

    temperatures and dew points interpolated to the pressure levels (``interpolation``), the dew point
    the exact inverse of the saturation form (``saturation``). One absolute temperature remains in the
    sum: it is taken in °C, so the values are the familiar ones (MetPy returns them in °C; 20-40 mean
    growing thunderstorm chances). Missing where 850 hPa lies below the lowest level.
    """
    return classic_indices(dataset, cache, saturation, interpolation)[0]


def _total_totals(dataset: xr.Dataset, *, cache: dict, saturation: str, interpolation: str) -> xr.DataArray:
    r"""Total Totals index [K] ([Miller1972]_).

    .. math:: \mathrm{TT} = (T_{850} - T_{500}) + (T_{d,850} - T_{500})

    as KI: temperatures and dew points interpolated to the pressure levels. Missing where 850 hPa lies
    below the lowest level.
    """
    return classic_indices(dataset, cache, saturation, interpolation)[1]


def _dcape(dataset: xr.Dataset, *, cache: dict, saturation: str, virtual: bool) -> xr.DataArray:
    r"""Downdraft CAPE [J kg-1] (MetPy's ``downdraft_cape``, [Emanuel1994]_).

    .. math:: \mathrm{DCAPE} = R_d \int_{\ln p_s}^{\ln p_N} (T_{v,e} - T_{v,p})\, d\ln p

    The parcel starts at the point of minimum :math:`\theta_e` (Bolton eq. 39) among the model levels
    between 700 and 500 hPa and the two bounds (their T and T_d linear in :math:`\ln p`), at its wet-bulb
    temperature (Normand's rule on the CAPE ascent's pseudo-adiabat, as TW), and descends
    pseudo-adiabatically, saturated, through every model level below down to the lowest one; trapezoids
    in :math:`\ln p` over those levels. ``virtual``: buoyancy from virtual temperatures (default, MetPy)
    or temperatures. Missing where 700 hPa lies below the lowest level.
    """
    cols = ModelColumns(dataset, ("P", "T", "QV"))
    out = cols.empty()
    for i in range(cols.outer):
        kernels.indices.downdraft_cape(cols["P", i], cols["T", i], cols["QV", i], out[i],
                                       saturation=SATURATION_FORMS[saturation](), parcel_constants=_constants(),
                                       virtual=virtual)
    return cols.wrap(out)


def _lapse_700_500(dataset: xr.Dataset, *, cache: dict) -> xr.DataArray:
    r"""Temperature lapse rate between 700 and 500 hPa [K m-1], ICON's ``compute_field_lapserate``.

    .. math:: \gamma = \frac{T(500) - T(700)}{z(500) - z(700)}

    with the heights of the two pressures linear in :math:`\ln p` between full levels and the
    temperatures linear in height there, both pressures capped at the third-lowest model level's (so that
    over high ground the layer starts a few levels above it, ICON's rule). ICON's sign: :math:`dT/dz`,
    negative where the temperature falls with height (the AMS lapse rate is :math:`-\gamma`; -6.5e-3 is
    the standard atmosphere, below -9.8e-3 is superadiabatic). Missing where the two heights coincide.
    """
    cols = ModelColumns(dataset, ("P", "T", "HHL"))
    out = cols.empty()
    for i in range(cols.outer):
        kernels.indices.lapse_rate_pressure(cols["P", i], cols["T", i], cols["HHL", i], out[i], p_upper=50000.0,
                                            p_lower=70000.0)
    return cols.wrap(out)


def _lapse_0_3km(dataset: xr.Dataset, *, cache: dict) -> xr.DataArray:
    r"""Temperature lapse rate from the lowest model level to 3 km above ground [K m-1].

    .. math:: \gamma = \frac{T(3000\,\mathrm{m}) - T_N}{z(3000\,\mathrm{m}) - z_N}

    :math:`T(3000\,\mathrm{m})` linear in height between full levels, :math:`T_N`, :math:`z_N` the
    lowest model level's (about 10 m above ground in ICON); ICON's sign, as LAPSE_RATE_700_500.
    """
    cols = ModelColumns(dataset, ("T", "HHL"))
    out = cols.empty()
    for i in range(cols.outer):
        kernels.indices.lapse_rate_height(cols["T", i], cols["HHL", i], out[i], height=3000.0)
    return cols.wrap(out)


_PARCEL_VALIDATION = ("MetPy 1.7.1 {name} on 20 columns of the IFS L137 file (saturation='ambaum', "
                      "interpolation='linear', MetPy's constants and LCL): {tolerance}; published MetPy values "
                      "({published}): to their digits within the same tolerance")

registry.register(Product(
    name="SLI",
    description="lifted index at 500 hPa of the surface (or mixed-layer) parcel",
    units="K",
    inputs=("P", "T", "QV", "HHL", "HSURF"),
    function=_lifted,
    grib2=Grib2Parameter(7, 10, "SLI", FixedSurface(10)),
    options={"parcel": Option("surface", "'surface' (the lowest model level's air, ICON) or 'mixed_layer' (CAPE_ML's "
                                         "parcel)", tuple(LIFTED_PARCELS)),
             "saturation": _SATURATION, "interpolation": _INTERPOLATION},
    reference="[Galway1956]_; ICON mo_opt_nwp_diagnostics.f90 cal_si_sli_swiss; parcel as CAPE/CIN",
    validation=_PARCEL_VALIDATION.format(name="lifted_index with parcel_profile (surface and mixed_parcel)",
                                         tolerance="3e-3 K (MetPy's LSODA moist adiabat, computed)",
                                         published="test_lifted_index, test_lifted_index_500hpa_missing"),
))

registry.register(Product(
    name="SI",
    description="Showalter index (parcel lifted from 850 to 500 hPa)",
    units="K",
    inputs=("P", "T", "QV"),
    function=_showalter,
    grib2=Grib2Parameter(7, 13, "SI"),
    options={"saturation": _SATURATION, "interpolation": _INTERPOLATION},
    reference="[Showalter1953]_; ICON mo_opt_nwp_diagnostics.f90 cal_si_sli_swiss",
    validation=_PARCEL_VALIDATION.format(name="showalter_index", tolerance="3e-3 K", published="test_showalter_index"),
))

for _name, _function, _description, _grib2, _reference, _published in (
    ("KI", _k_index, "K index", Grib2Parameter(7, 2, "KX"), "[George1960]_", "test_k_index"),
    ("TT", _total_totals, "Total Totals index", Grib2Parameter(7, 4, "TOTALX"), "[Miller1972]_", "test_total_totals"),
):
    registry.register(Product(
        name=_name,
        description=_description,
        units="K",
        inputs=("P", "T", "QV"),
        function=_function,
        grib2=_grib2,
        options={"saturation": _SATURATION, "interpolation": _INTERPOLATION},
        reference=f"{_reference}; MetPy {'k_index' if _name == 'KI' else 'total_totals_index'}",
        validation=f"MetPy 1.7.1 {'k_index' if _name == 'KI' else 'total_totals_index'} on 20 IFS L137 columns "
                   f"(saturation='ambaum', interpolation='linear'): 1e-4 K (float32 inputs; MetPy's dew point "
                   f"inverts Bolton's e_s, computed) and MetPy's published {_published}: to its digits",
    ))

registry.register(Product(
    name="DCAPE",
    description="downdraft CAPE of the minimum-theta_e parcel between 700 and 500 hPa",
    units="J kg-1",
    inputs=("P", "T", "QV"),
    function=_dcape,
    grib2=local(200),
    options={"saturation": _SATURATION,
             "virtual": Option(True, "buoyancy from virtual temperatures (MetPy) or temperatures", (True, False))},
    reference="[Emanuel1994]_; MetPy downdraft_cape; parcel physics as CAPE/CIN",
    validation="MetPy 1.7.1 downdraft_cape on 20 IFS L137 columns and its published test_dcape values "
               "(saturation='ambaum', MetPy's constants and LCL): 0.5 J/kg + 1e-3 relative (MetPy's LSODA "
               "moist adiabat; the start point and wet-bulb temperature agree to 1e-3 K)",
))

registry.register(Product(
    name="LAPSE_RATE_700_500",
    description="temperature lapse rate dT/dz between 700 and 500 hPa",
    units="K m-1",
    inputs=("P", "T", "HHL"),
    function=_lapse_700_500,
    grib2=Grib2Parameter(0, 8, "LAPSE_RATE", FixedSurface(100, 50000.0, type_of_second=100)),
    reference="ICON mo_opt_nwp_diagnostics.f90 compute_field_lapserate",
    validation="a numpy transcription of ICON's compute_field_lapserate on the ICON-like sample: 1e-9 K/m; on a "
               "standard-atmosphere column: -6.5e-3 K/m to 1e-7",
))

registry.register(Product(
    name="LAPSE_RATE_0_3KM",
    description="temperature lapse rate dT/dz from the lowest model level to 3 km above ground",
    units="K m-1",
    inputs=("T", "HHL"),
    function=_lapse_0_3km,
    grib2=Grib2Parameter(0, 8, "LAPSE_RATE", FixedSurface(103, 3000.0, type_of_second=103)),
    reference="(T(3 km) - T_N) / (z(3 km) - z_N) with ICON's sign (compute_field_lapserate)",
    validation="a numpy transcription on the ICON-like sample: 1e-9 K/m; on a standard-atmosphere column: -6.5e-3 "
               "K/m to 1e-7",
))
