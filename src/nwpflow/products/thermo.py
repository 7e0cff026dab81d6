r"""Thermodynamic products: THETA, THETA_V, THETA_E, TD, RELHUM, RH_ICE.

Each is a pointwise numba kernel (:mod:`nwpflow.kernels.thermo`) on the model-level fields ``P``,
``T`` and ``QV``, with COSMO/ICON constants (:mod:`nwpflow.constants`) by default.

Saturation vapour pressure (option ``saturation`` of THETA_E, TD, RELHUM, RH_ICE):

* ``"tetens"`` (default): COSMO's Magnus-Tetens form [COSMO-PartII]_
  :math:`e_s = b_1 \exp(b_2 (T - b_3)/(T - b_4))` with COSMO's ``b1 = 610.78 Pa``, ``b3 = 273.16 K``
  and over water ``b2w = 17.2693882``, ``b4w = 35.86 K``, over ice ``b2i = 21.8745584``,
  ``b4i = 7.66 K`` (:data:`nwpflow.constants.tetens_water`, ``tetens_ice``). meteodata-lab's ``relhum``
  (through earthkit-meteo) uses the IFS coefficients instead [IFS-CY47R3-PhysicalProcesses]_ (611.21 Pa,
  17.502, 32.19 K; ice 22.587, -0.7 K): :math:`e_s` differs by less than 0.1 % between 270 and 310 K,
  0.7 % at 250 K, 2 % at 230 K (computed in the tests, not tolerated).
* ``"ambaum"``: [Ambaum2020]_ eqs. 13 and 17 with MetPy's constants (:data:`nwpflow.constants.ambaum_water`,
  ``ambaum_ice``), what MetPy >= 1.6 uses. COSMO's Magnus-Tetens is within 0.2 % of it above 270 K, 1 %
  at 250 K.

The vapour pressure is :math:`e = p q_v / (\varepsilon + (1 - \varepsilon) q_v)` with COSMO's
:math:`\varepsilon = R_d/R_v` in both cases.
"""

from __future__ import annotations

import numpy as np
import xarray as xr

from nwpflow import constants, kernels
from nwpflow.errors import InputError
from nwpflow.io.datamodel import FULL
from nwpflow.products._columns import as_field, columns, lead_dims, outer_index
from nwpflow.io.grib2_codes import Grib2Parameter
from nwpflow.products.registry import Option, Product, registry

SATURATION_FORMS = ("tetens", "ambaum")
PHASES = ("water", "ice", "mixed")
CLIPS = ("none", "0-100")

_SATURATION = Option(
    "tetens",
    "saturation vapour pressure: 'tetens' (COSMO/ICON Magnus-Tetens coefficients) or 'ambaum' (Ambaum "
    "2020 with MetPy's constants, as MetPy >= 1.6)",
    SATURATION_FORMS,
)


def saturation_forms(saturation: str) -> tuple[tuple[float, ...], tuple[float, ...]]:
    """``(water, ice)`` coefficients ``(A, a, B, C)`` of the kernels for option ``saturation``."""
    if saturation == "tetens":
        return (kernels.thermo.magnus_coefficients(*constants.tetens_water),
                kernels.thermo.magnus_coefficients(*constants.tetens_ice))
    if saturation == "ambaum":
        return (kernels.thermo.ambaum_coefficients(*constants.ambaum_water),
                kernels.thermo.ambaum_coefficients(*constants.ambaum_ice))
    raise ValueError(f"saturation must be one of {', '.join(map(repr, SATURATION_FORMS))}, not {saturation!r}")


def _pointwise(dataset: xr.Dataset, names: tuple[str, ...], compute) -> xr.DataArray:
    """Apply ``compute(*arrays, out)`` to the float32 fields ``names`` of ``dataset``, point by point.

    The fields are brought to the common ``(outer, [level,] ncol)`` layout (a field without lead dims,
    e.g. a constant one, is used for every member and lead time); the result has the coordinates of the
    field with the most dims.
    """
    fields = [dataset[name] for name in names]
    first = fields[0]
    vertical = FULL if FULL in first.dims else None
    for name, data in zip(names, fields):
        if vertical and data.sizes.get(FULL) != first.sizes[FULL]:
            raise InputError(f"has {data.sizes.get(FULL)} full levels, {names[0]} has {first.sizes[FULL]}",
                             field=name)
        if (FULL in data.dims) != bool(vertical):
            raise InputError(f"has dims {data.dims}, {names[0]} has {first.dims}", field=name)
    leads = lead_dims(fields)
    arrays = [columns(data, leads, vertical) for data in fields]
    ncol = {a.shape[-1] for a in arrays}
    if len(ncol) != 1:
        raise InputError(f"fields {', '.join(names)} are on different grids ({sorted(ncol)} points)")
    outer = max(a.shape[0] for a in arrays)
    out = np.empty((outer, *arrays[0].shape[1:]), dtype=np.float32)
    if all(a.shape[0] == outer for a in arrays):
        compute(*arrays, out)  # one call over every member and lead time: the kernels are pointwise
    else:
        for i in range(outer):
            compute(*(outer_index(a, i) for a in arrays), out[i])
    sizes = {d: n for data in fields for d, n in data.sizes.items()}
    return as_field(out, max(fields, key=lambda data: data.ndim), leads, vertical, sizes)


def _theta(dataset: xr.Dataset, *, cache: dict) -> xr.DataArray:
    r"""Potential temperature [K].

    .. math:: \theta = T \left(\frac{p_0}{p}\right)^{R_d / c_{pd}}

    :math:`p_0` = 1000 hPa, :math:`R_d/c_{pd}` = 287.05/1005 (COSMO/ICON; earthkit-meteo and so
    meteodata-lab use 0.285691, MetPy 2/7) [COSMO-PartII]_. Poisson's equation, e.g. [Bolton1980]_ eq. 7.
    """
    def compute(p, t, out):
        kernels.thermo.potential_temperature(p, t, out, kappa=constants.kappa, p0=constants.p0)
    return _pointwise(dataset, ("P", "T"), compute)


def _theta_v(dataset: xr.Dataset, *, cache: dict) -> xr.DataArray:
    r"""Virtual potential temperature [K].

    .. math::

        \theta_v = T \left(1 + \left(\frac{R_v}{R_d} - 1\right) q_v\right)
                   \left(\frac{p_0}{p}\right)^{R_d / c_{pd}}

    The potential temperature of the virtual temperature ([Stull1988]_ eq. 1.5.1a), COSMO/ICON
    constants (:math:`R_v/R_d - 1` = 0.607769); no condensate loading (as meteodata-lab's ``fthetav``).
    """
    def compute(p, t, qv, out):
        kernels.thermo.virtual_potential_temperature(p, t, qv, out, kappa=constants.kappa, p0=constants.p0,
                                                     rv_rd_minus_1=constants.rv_rd_minus_1)
    return _pointwise(dataset, ("P", "T", "QV"), compute)


def _theta_e(dataset: xr.Dataset, *, cache: dict, method: str, saturation: str) -> xr.DataArray:
    r"""Equivalent potential temperature [K].

    ``method="bolton"`` (default): [Bolton1980]_ eq. 39, with the LCL temperature of eq. 15,

    .. math::

        \theta_e = T \left(\frac{p_0}{p - e}\right)^{\kappa} \left(\frac{T}{T_L}\right)^{0.28 r}
                   \exp\left[\left(\frac{3036}{T_L} - 1.78\right) r (1 + 0.448 r)\right], \qquad
        T_L = \frac{1}{\frac{1}{T_d - 56} + \frac{\ln(T/T_d)}{800}} + 56

    with the mixing ratio :math:`r = q_v / (1 - q_v)` in kg kg-1, the vapour pressure :math:`e` and the
    dew point :math:`T_d` (under option ``saturation``, as TD). :math:`\kappa = R_d/c_{pd}` is COSMO's
    (Bolton used 0.2854, MetPy 2/7). Dry air (:math:`q_v = 0`) gives :math:`\theta`; :math:`q_v < 0` NaN.

    ``method="fieldextra"``: the simpler form [fieldextra]_ offers,

    .. math:: \theta_e = T \left(\frac{p_0}{p}\right)^{R_d/c_{pd}} \exp\left(\frac{L_v r}{c_{pd} T}\right)

    with COSMO's :math:`L_v` = 2.501e6 J kg-1 and :math:`c_{pd}` = 1005 J kg-1 K-1 (``saturation``
    does not enter). It is lower than Bolton's by 0.2 K in cold, dry air (250 K, 0.5 g kg-1) to 4.6 K in
    tropical air (300 K, 18 g kg-1) at 1000 hPa.
    """
    water, _ = saturation_forms(saturation)

    def compute(p, t, qv, out):
        kernels.thermo.equivalent_potential_temperature(
            p, t, qv, out, method=method, saturation=water, kappa=constants.kappa, p0=constants.p0,
            epsilon=constants.epsilon, lv=constants.Lv, cpd=constants.cpd)
    return _pointwise(dataset, ("P", "T", "QV"), compute)


def _td(dataset: xr.Dataset, *, cache: dict, saturation: str) -> xr.DataArray:
    r"""Dew point temperature [K].

    The temperature at which the saturation vapour pressure over water equals the vapour pressure,

    .. math:: e_s(T_d) = e = \frac{p\, q_v}{\varepsilon + (1 - \varepsilon) q_v},

    solved exactly: for ``saturation="tetens"`` in closed form,
    :math:`T_d = (b_3 b_2 - b_4 x)/(b_2 - x)`, :math:`x = \ln(e/b_1)`; for ``"ambaum"`` by Newton's
    method to float64 round-off. (MetPy's ``dewpoint`` inverts Bolton's 1980 eq. 10 instead, not its own
    Ambaum :math:`e_s`.) Very dry air stays finite: every positive :math:`q_v` gives a finite dew point
    (as :math:`q_v \to 0`, :math:`T_d \to b_4` = 35.86 K for Magnus-Tetens, :math:`\to 0` K for Ambaum);
    :math:`q_v \le 0` gives NaN (no dew point exists).
    """
    water, _ = saturation_forms(saturation)

    def compute(p, qv, out):
        kernels.thermo.dewpoint(p, qv, out, saturation=water, epsilon=constants.epsilon)
    return _pointwise(dataset, ("P", "QV"), compute)


def _relhum(dataset: xr.Dataset, *, cache: dict, phase: str, saturation: str, clip: str) -> xr.DataArray:
    r"""Relative humidity [%].

    .. math:: \mathrm{RH} = 100\, \frac{e}{e_s(T)}, \qquad e = \frac{p\, q_v}{\varepsilon + (1 - \varepsilon) q_v}

    (WMO No. 8, Annex 4.A, eq. 4.A.16). ``phase``: :math:`e_s` over ``"water"`` (default), over ``"ice"``
    (as RH_ICE), or ``"mixed"``: the IFS mixed phase ([IFS-CY47R3-PhysicalProcesses]_ eq. 12.13, used by
    earthkit-meteo and [meteodata-lab]_'s ``phase="water+ice"``),

    .. math::

        e_s = \alpha e_{s,w} + (1 - \alpha) e_{s,i}, \qquad
        \alpha = \left(\frac{T - 250.16\,\mathrm{K}}{273.16\,\mathrm{K} - 250.16\,\mathrm{K}}\right)^2

    clipped to :math:`0 \le \alpha \le 1` (ice below 250.16 K, water above 273.16 K). ``clip``:
    ``"none"`` (default; supersaturation gives more than 100 %) or ``"0-100"`` (meteodata-lab's
    default).
    """
    water, ice = saturation_forms(saturation)
    bounds = None if clip == "none" else (0.0, 100.0)

    def compute(p, t, qv, out):
        kernels.thermo.relative_humidity(p, t, qv, out, phase=phase, water=water, ice=ice,
                                         mixed_range=constants.mixed_phase_range, epsilon=constants.epsilon,
                                         clip=bounds)
    return _pointwise(dataset, ("P", "T", "QV"), compute)


def _rh_ice(dataset: xr.Dataset, *, cache: dict, saturation: str, clip: str) -> xr.DataArray:
    r"""Relative humidity over ice [%]: RELHUM with ``phase="ice"``.

    .. math:: \mathrm{RH}_i = 100\, \frac{e}{e_{s,i}(T)}
    """
    return _relhum(dataset, cache=cache, phase="ice", saturation=saturation, clip=clip)


_CLIP = Option("none", "'none' (default: supersaturation shows as more than 100 %) or '0-100' (clip, as "
                       "meteodata-lab's relhum does by default)", CLIPS)

registry.register(Product(
    name="THETA",
    description="potential temperature",
    units="K",
    inputs=("P", "T"),
    function=_theta,
    grib2=Grib2Parameter(0, 2, "PT"),
    standard_name="air_potential_temperature",
    reference="Poisson's equation ([Bolton1980]_ eq. 7) with COSMO/ICON constants, Rd/cpd = 287.05/1005 "
              "[COSMO-PartII]_",
    validation="MetPy 1.7.1 published values (test_potential_temperature, test_pot_temp_scalar, "
               "test_exner_function; kernel with MetPy's kappa = 2/7): to the published digits, and rtol 1e-7 "
               "against MetPy on the same float32 inputs; meteodata-lab compute_theta on the IFS L137 file: "
               "rtol 1e-7 with its kappa = 0.285691, the product equals that times the predicted (p0/p)^dkappa "
               "to rtol 1e-7 (MeteoSwiss's own test allows 1e-6)",
))

registry.register(Product(
    name="THETA_V",
    description="virtual potential temperature",
    units="K",
    inputs=("P", "T", "QV"),
    function=_theta_v,
    grib2=Grib2Parameter(0, 15, "THETA_V"),
    reference="T (1 + (Rv/Rd - 1) qv) (p0/p)^(Rd/cpd) ([Stull1988]_ eq. 1.5.1a) with COSMO/ICON constants",
    validation="MetPy 1.7.1 published values (test_virtual_temperature, test_virtual_potential_temperature; "
               "MetPy's kappa, epsilon): published digits and rtol 1e-7; meteodata-lab fthetav on the IFS L137 "
               "file with earthkit's kappa, epsilon: rtol 1e-7, the product equals that times the predicted "
               "ratio of the constants' terms to rtol 1e-7",
))

registry.register(Product(
    name="THETA_E",
    description="equivalent potential temperature",
    units="K",
    inputs=("P", "T", "QV"),
    function=_theta_e,
    grib2=Grib2Parameter(0, 3, "THETAE"),
    standard_name="equivalent_potential_temperature",
    options={
        "method": Option("bolton", "'bolton' ([Bolton1980]_ eq. 39 with T_L of eq. 15) or 'fieldextra' "
                                   "(T (p0/p)^(Rd/cpd) exp(Lv r / (cpd T)))", ("bolton", "fieldextra")),
        "saturation": _SATURATION,
    },
    reference="[Bolton1980]_ eqs. 15 and 39; [fieldextra]_ variant T (p0/p)^(Rd/cpd) exp(Lv r / (cpd T))",
    validation="MetPy 1.7.1 published values (test_equivalent_potential_temperature and its masked variant, "
               "the docstring example, test_saturation_equivalent_potential_temperature) and MetPy on 55,896 "
               "points of the IFS L137 file (saturation='ambaum', MetPy's kappa, epsilon): rtol 1e-7; the "
               "product against a numpy transcription of eq. 39 with COSMO constants: rtol 1e-7; earthkit-meteo's "
               "published bolton39 table (IFS Tetens, its kappa, epsilon): rtol 1e-7",
))

registry.register(Product(
    name="TD",
    description="dew point temperature",
    units="K",
    inputs=("P", "QV"),
    function=_td,
    grib2=Grib2Parameter(0, 6, "TD"),
    standard_name="dew_point_temperature",
    options={"saturation": _SATURATION},
    reference="exact inverse of the saturation vapour pressure over water: COSMO Magnus-Tetens [COSMO-PartII]_ "
              "or [Ambaum2020]_",
    validation="MetPy 1.7.1 published values (test_dewpoint, test_dewpoint_specific_humidity) and MetPy on "
               "IFS L137 columns, kernel with MetPy's formula (Bolton eq. 10 inverted) and epsilon: 2e-5 K "
               "(float32 output); saturation='ambaum' against a bisection of MetPy's e_s and MetPy's "
               "specific_humidity_from_dewpoint: 2e-5 K",
))

registry.register(Product(
    name="RELHUM",
    description="relative humidity",
    units="%",
    inputs=("P", "T", "QV"),
    function=_relhum,
    grib2=Grib2Parameter(1, 1, "RELHUM"),
    standard_name="relative_humidity",
    options={
        "phase": Option("water", "saturation over 'water', 'ice' or 'mixed' (IFS blend between 250.16 and "
                                 "273.16 K, [IFS-CY47R3-PhysicalProcesses]_)", PHASES),
        "saturation": _SATURATION,
        "clip": _CLIP,
    },
    reference="100 e / e_s(T) (WMO No. 8, eq. 4.A.16) with COSMO Magnus-Tetens e_s [COSMO-PartII]_; mixed "
              "phase [IFS-CY47R3-PhysicalProcesses]_ eq. 12.13",
    validation="MetPy 1.7.1 published values (test_rh_specific_humidity, test_rh_mixing_ratio, "
               "test_relative_humidity_from_dewpoint) and MetPy on IFS L137 columns (saturation='ambaum', "
               "MetPy's epsilon): rtol 1e-7; meteodata-lab relhum (water, ice; water+ice through earthkit as "
               "relhum does) on the IFS file with the IFS coefficients and earthkit's epsilon: rtol 1e-7, the "
               "product equals that times the predicted e_s and e ratios to rtol 2e-7",
))

registry.register(Product(
    name="RH_ICE",
    description="relative humidity over ice",
    units="%",
    inputs=("P", "T", "QV"),
    function=_rh_ice,
    grib2=Grib2Parameter(1, 94, "RH_ICE"),
    options={"saturation": _SATURATION, "clip": _CLIP},
    reference="100 e / e_s,ice(T) with COSMO Magnus-Tetens over ice (b2i, b4i) [COSMO-PartII]_",
    validation="meteodata-lab relhum(phase='ice') on the IFS L137 file (IFS coefficients, earthkit's epsilon): "
               "rtol 1e-7; the product equals that times the predicted e_s and e ratios to rtol 2e-7",
))
