r"""Convection products: CAPE and CIN of a mixed-layer and a most-unstable parcel, with the heights of
their lifting condensation level, level of free convection and equilibrium level.

=========  ===============================================================================  =========
product    what                                                                             units
=========  ===============================================================================  =========
CAPE_ML    convective available potential energy of the mixed-layer parcel                  J kg-1
CIN_ML     convective inhibition of the mixed-layer parcel (>= 0; NaN where it has no LFC)  J kg-1
LCL_ML     lifting condensation level of the mixed-layer parcel, above ground               m
LFC_ML     level of free convection of the mixed-layer parcel, above ground                 m
EL_ML      equilibrium level of the mixed-layer parcel, above ground                        m
CAPE_MU    CAPE of the most-unstable parcel                                                  J kg-1
CIN_MU     CIN of the most-unstable parcel                                                   J kg-1
LCL_MU     LCL of the most-unstable parcel, above ground                                     m
LFC_MU     LFC of the most-unstable parcel, above ground                                     m
EL_MU      EL of the most-unstable parcel, above ground                                      m
=========  ===============================================================================  =========

CAPE_ML, CIN_ML, CAPE_MU, CIN_MU, LCL_ML and LFC_ML are COSMO/ICON shortNames; the others follow their
pattern. One parcel ascent (:func:`nwpflow.kernels.convection.cape_cin`) gives all five products of a
parcel: it is computed once per job and option set and kept in the job's ``cache`` under the key
``("CAPE_ML", depth, virtual, definition, saturation)`` (``"CAPE_MU"`` for the most-unstable parcel).

The physics, its references and the conventions (``definition``) are in
:mod:`nwpflow.kernels.convection`. Inputs: ``P``, ``T``, ``QV`` on full model levels, ``HHL`` (half
levels) and ``HSURF``; COSMO/ICON constants (:mod:`nwpflow.constants`).
"""

from __future__ import annotations

import numpy as np
import xarray as xr

from nwpflow import constants, kernels
from nwpflow.errors import InputError, OptionError
from nwpflow.io.datamodel import FULL, HALF
from nwpflow.kernels import codes
from nwpflow.products._columns import as_field, columns, lead_dims, outer_index
from nwpflow.io.grib2_codes import LCL_OF_MEAN_LAYER, LFC_OF_MEAN_LAYER, MEAN_LAYER, MOST_UNSTABLE, Grib2Parameter, \
    local
from nwpflow.products.registry import Option, Product, registry

INPUTS = ("P", "T", "QV", "HHL", "HSURF")

SATURATION_FORMS = {
    "tetens": lambda: kernels.thermo.magnus_coefficients(*constants.tetens_water),
    "ambaum": lambda: kernels.thermo.ambaum_coefficients(*constants.ambaum_water),
}

PARCELS = {"ML": ("mixed_layer", "depth", 5000.0), "MU": ("most_unstable", "search_depth", 30000.0)}
"""Parcel suffix -> (kernel parcel, name of its depth option, default depth [Pa])."""

REFERENCE = ("Bolton (1980) MWR 108 eqs. 15, 39 (LCL estimate, θe of the most-unstable search); Romps (2017) "
             "JAS 74 (exact LCL); Doswell and Rasmussen (1994) WAF 9 (virtual temperature, positive area); "
             "Bakhshaii and Stull (2013) JAMC 52 (pseudo-adiabat dT/dp); Huntrieser et al. (1997) WAF 12 "
             "(50 hPa mixed layer); COSMO pp_utilities.f90 cal_conv_ind / ICON mo_opt_nwp_diagnostics "
             "cal_cape_cin")

VALIDATION = (
    "definition='metpy', saturation='ambaum' with MetPy's constants, against MetPy 1.7.1: its published lcl, lfc, "
    "el, surface_based / most_unstable / mixed_layer cape_cin values, and mixed_layer_cape_cin (50 hPa) and "
    "most_unstable_cape_cin (300 hPa) on 20 columns of the IFS L137 file. MetPy's cape_cin fed the kernel's parcel "
    "path gives the kernel's CAPE/CIN to 1e-6 relative + 2e-4 J/kg (measured: 8e-5 J/kg, 5e-8), LCL/LFC/EL "
    "pressures to 2e-7 relative / 0.02 Pa (measured 3e-3 Pa); the rest of the difference to MetPy (measured "
    "<= 6.4e-3 J/kg, 0.25 Pa) is that of MetPy's LSODA parcel path (<= 3e-4 K off the converged one; the kernel's "
    "RK4 <= 5e-6 K), computed in the tests. The default definition against a numpy transcription of its formula "
    "on 12 columns of the ICON-like sample: 1e-5 relative + 1e-3 J/kg, heights 0.2 m"
)


def _options(parcel: str) -> dict[str, Option]:
    _, depth_name, default = PARCELS[parcel]
    what = ("depth of the mixed layer above the surface pressure [Pa] (COSMO/ICON: 5000)" if parcel == "ML"
            else "depth above the surface pressure in which the most unstable parcel is searched [Pa] (COSMO: 30000)")
    return {
        depth_name: Option(default, what, bounds=(0.0, None)),
        "virtual": Option(True, "buoyancy from virtual temperatures (True, Doswell and Rasmussen 1994; COSMO, ICON, "
                                "MetPy) or temperatures (False)", (True, False)),
        "definition": Option("positive", "'positive': CAPE the positive area above the LFC, CIN the negative area "
                                         "below it, NaN without LFC (COSMO/ICON); 'metpy': MetPy's cape_cin "
                                         "(net areas, bottom LFC, top EL, CIN 0 without LFC)",
                             tuple(codes.DEFINITIONS)),
        "saturation": Option("tetens", "saturation vapour pressure over water: 'tetens' (COSMO/ICON Magnus-Tetens) "
                                       "or 'ambaum' (Ambaum 2020 with MetPy's constants, as MetPy >= 1.6)",
                             tuple(SATURATION_FORMS)),
    }


def ascent(dataset: xr.Dataset, *, cache: dict, parcel: str, depth: float, virtual: bool, definition: str,
           saturation: str) -> xr.DataArray:
    """The kernel's output rows (:data:`nwpflow.kernels.convection.OUTPUTS`) as a DataArray with an
    ``output`` dim, from ``cache`` or computed and cached."""
    key = (f"CAPE_{parcel}", float(depth), bool(virtual), definition, saturation)
    if key in cache:
        return cache[key]
    if isinstance(depth, bool) or not isinstance(depth, (int, float)) or not depth >= 0:
        raise OptionError(f"product CAPE_{parcel}: option {PARCELS[parcel][1]!r} must be a pressure difference "
                          f">= 0 in Pa, not {depth!r}")
    fields = {name: dataset[name] for name in ("P", "T", "QV")}
    hhl, hsurf = dataset["HHL"], dataset["HSURF"]
    nlev = fields["T"].sizes.get(FULL)
    if nlev is None:
        raise InputError(f"has no {FULL!r} dim (dims {fields['T'].dims}): CAPE needs model levels", field="T")
    for name, data in fields.items():
        if data.sizes.get(FULL) != nlev:
            raise InputError(f"has {data.sizes.get(FULL)} full levels, T has {nlev}", field=name)
    if hhl.sizes.get(HALF) != nlev + 1:
        raise InputError(f"has {hhl.sizes.get(HALF)} half levels; {nlev + 1} are needed for {nlev} full levels",
                         field="HHL")
    leads = lead_dims([*fields.values(), hhl, hsurf])
    arrays = {name: columns(data, leads, FULL) for name, data in fields.items()}
    z_half = columns(hhl, leads, HALF)
    z_surface = columns(hsurf, leads, None)
    ncol = {a.shape[-1] for a in (*arrays.values(), z_half, z_surface)}
    if len(ncol) != 1:
        raise InputError(f"P, T, QV, HHL and HSURF are on different grids ({sorted(ncol)} points)")
    outer = max(a.shape[0] for a in (*arrays.values(), z_half, z_surface))
    out = np.empty((outer, len(codes.OUTPUTS), ncol.pop()), dtype=np.float32)
    for i in range(outer):
        kernels.convection.cape_cin(
            *(outer_index(arrays[name], i) for name in ("P", "T", "QV")), outer_index(z_half, i),
            outer_index(z_surface, i), out[i], parcel=PARCELS[parcel][0], depth=float(depth), virtual=virtual,
            definition=definition, saturation=SATURATION_FORMS[saturation](),
        )
    sizes = {d: n for data in (*fields.values(), hhl, hsurf) for d, n in data.sizes.items()}
    rows = [as_field(out[:, r], fields["T"], leads, None, sizes) for r in range(len(codes.OUTPUTS))]
    result = xr.concat(rows, dim="output").assign_coords(output=list(codes.OUTPUTS))
    cache[key] = result
    return result


def _product(parcel: str, output: str):
    depth_name = PARCELS[parcel][1]

    def function(dataset: xr.Dataset, *, cache: dict, virtual: bool, definition: str, saturation: str,
                 **depth) -> xr.DataArray:
        result = ascent(dataset, cache=cache, parcel=parcel, depth=depth[depth_name], virtual=virtual,
                        definition=definition, saturation=saturation)
        return result.sel(output=output, drop=True)

    function.__doc__ = _DOC.format(parcel=_PARCEL_DOC[parcel], output=_OUTPUT_DOC[output])
    function.__name__ = function.__qualname__ = f"_{output.split('_')[0]}_{parcel.lower()}"
    return function


_PARCEL_DOC = {
    "ML": r"""The mixed-layer parcel: the pressure-weighted means :math:`\bar\theta`, :math:`\bar q_v` of the layer
    from the surface pressure :math:`p_s` up to :math:`p_s - \Delta p` (option ``depth``, 50 hPa as COSMO/ICON),
    lifted from :math:`p_s` (the lowest level's pressure extrapolated hydrostatically to ``HSURF``).""",
    "MU": r"""The most-unstable parcel: the model level of highest equivalent potential temperature
    ([Bolton1980]_ eq. 39) with :math:`p \ge p_s - \Delta p` (option ``search_depth``, 300 hPa), lifted
    from that level.""",
}

_OUTPUT_DOC = {
    "cape": "CAPE [J kg-1]: the positively buoyant area above the LFC (``definition='positive'``).",
    "cin": "CIN [J kg-1], >= 0: the negatively buoyant area between the parcel's start and its LFC; NaN where "
           "the parcel has no LFC (``definition='positive'``, as COSMO/ICON).",
    "lcl_height": "The lifting condensation level [m above ground], solved exactly (not Bolton's estimate); "
                  "NaN where the parcel does not saturate below the model top.",
    "lfc_height": "The level of free convection [m above ground]: the lowest point at or above the LCL where "
                  "the parcel becomes buoyant; NaN where there is none.",
    "el_height": "The equilibrium level [m above ground]: the highest point above the LFC where the parcel "
                 "stops being buoyant; NaN without LFC or where it is still buoyant at the model top.",
}

_DOC = r"""{output}

    {parcel}

    Dry adiabatic ascent to the LCL, pseudo-adiabatic above it,

    .. math::

        \frac{{dT}}{{dp}} = \frac{{1}}{{p}} \frac{{R_d T + L_v r_s}}{{c_{{pd}} + L_v^2 r_s \varepsilon / (R_d T^2)}}

    integrated in float64 by 4th-order Runge-Kutta steps of at most 5 % in pressure (within 2e-6 K of
    the converged solution). With the buoyancy :math:`b = T_{{v,\mathrm{{parcel}}}} - T_{{v,\mathrm{{env}}}}`
    (option ``virtual``; Doswell and Rasmussen 1994) linear in :math:`\ln p` between the model levels and
    the LCL,

    .. math::

        \mathrm{{CAPE}} = R_d \int_{{p_\mathrm{{top}}}}^{{p_{{LFC}}}} \max(b, 0) \, d\ln p, \qquad
        \mathrm{{CIN}} = -R_d \int_{{p_{{LFC}}}}^{{p_\mathrm{{start}}}} \min(b, 0) \, d\ln p

    (MetPy's :math:`\ln p` form of :math:`\int g\, b / T_{{v,\mathrm{{env}}}}\, dz`, identical for a
    hydrostatic environment; [Emanuel1994]_ ch. 6). Saturation over water: COSMO's Magnus-Tetens
    ([COSMO-PartII]_) or, with ``saturation='ambaum'``, [Ambaum2020]_ with MetPy's constants.
    ``definition='metpy'`` reproduces MetPy's ``cape_cin`` conventions instead (net areas between
    the lowest LFC above the LCL and the highest EL, CIN 0 without LFC). Details, and what differs from
    COSMO's ``cal_conv_ind``: :mod:`nwpflow.kernels.convection`.
    """


_DESCRIPTIONS = {
    "cape": ("CAPE", "convective available potential energy of the {} parcel", "J kg-1",
             "atmosphere_convective_available_potential_energy"),
    "cin": ("CIN", "convective inhibition of the {} parcel (>= 0; NaN without LFC)", "J kg-1",
            "atmosphere_convective_inhibition"),
    "lcl_height": ("LCL", "lifting condensation level of the {} parcel above ground", "m", None),
    "lfc_height": ("LFC", "level of free convection of the {} parcel above ground", "m", None),
    "el_height": ("EL", "equilibrium level of the {} parcel above ground", "m", None),
}

_PARCEL_NAMES = {"ML": "mixed-layer (lowest 50 hPa)", "MU": "most-unstable (highest θe in the lowest 300 hPa)"}

_GRIB2 = {
    "CAPE_ML": Grib2Parameter(7, 6, "CAPE_ML", MEAN_LAYER),
    "CIN_ML": Grib2Parameter(7, 7, "CIN_ML", MEAN_LAYER),
    "LCL_ML": Grib2Parameter(3, 6, "LCL_ML", LCL_OF_MEAN_LAYER),
    "LFC_ML": Grib2Parameter(3, 6, "LFC_ML", LFC_OF_MEAN_LAYER),
    "EL_ML": local(192),
    "CAPE_MU": Grib2Parameter(7, 6, "CAPE_MU", MOST_UNSTABLE),
    "CIN_MU": Grib2Parameter(7, 7, "CIN_MU", MOST_UNSTABLE),
    "LCL_MU": local(193),
    "LFC_MU": local(194),
    "EL_MU": local(195),
}
"""GRIB2 parameters: COSMO's where its definitions have one, else nwpflow's local ones."""

for _parcel, _what in _PARCEL_NAMES.items():
    for _output, (_prefix, _description, _units, _standard_name) in _DESCRIPTIONS.items():
        registry.register(Product(
            name=f"{_prefix}_{_parcel}",
            description=_description.format(_what),
            units=_units,
            inputs=INPUTS,
            function=_product(_parcel, _output),
            standard_name=_standard_name,
            grib2=_GRIB2[f"{_prefix}_{_parcel}"],
            options=_options(_parcel),
            reference=REFERENCE,
            validation=VALIDATION,
        ))
