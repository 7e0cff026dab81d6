"""How each product is encoded in GRIB2: one declarative table (cfgrib's key tables are the model).

Every registered product has an entry in :data:`PARAMETERS`: its GRIB2 parameter (discipline, category,
number) and, for products without a vertical dimension, the fixed surface it is on. The vertical
coordinate of the other products comes from their dims (:data:`VERTICAL_SURFACES`), the horizontal grid
and the time and ensemble keys from the model run (:mod:`nwpflow.io.grib_writer`).

Where ecCodes with the COSMO/ICON definitions knows the parameter, the entry uses the parameter of those
definitions and records the ``shortName`` ecCodes reads back (``T_PL`` is ``T`` on isobaric levels,
``FF`` is COSMO's ``SP``). Where it does not, the product gets a **local** parameter of nwpflow's own:
discipline 0, category :data:`LOCAL_CATEGORY` (240, in WMO's local-use range 192-254 and used by neither
the COSMO nor the DWD local tables), numbers from 192 on. ecCodes reads these as ``shortName =
"unknown"``; :func:`local_name` gives their product name back (the reader uses it). A local number,
once given, is never reused for another product.
"""

from __future__ import annotations

from dataclasses import dataclass

LOCAL_CATEGORY = 240
"""nwpflow's local parameter category (discipline 0), in the WMO local-use range 192-254."""


@dataclass(frozen=True)
class FixedSurface:
    """A GRIB2 fixed surface (WMO code table 4.5, COSMO local types 192-194), as section 4 encodes it.

    ``value`` is in the surface's own unit (m for 103), ``None`` where the type has no value.
    """

    type_of_first: int
    value: float | None = None
    type_of_second: int | None = None


SURFACE = FixedSurface(1)
"""Ground or water surface (4.5: 1): 2-D diagnostics such as the boundary-layer height."""
ISOTHERM_ZERO = FixedSurface(4, type_of_second=101)
"""0 degC isotherm (4.5: 4), height above mean sea level (second surface 101), as COSMO's HZEROCL."""
MEAN_LAYER = FixedSurface(192)
"""COSMO local type 192: the mixed (mean) layer parcel (CAPE_ML, CIN_ML)."""
MOST_UNSTABLE = FixedSurface(193)
"""COSMO local type 193: the most-unstable parcel (CAPE_MU, CIN_MU)."""
LCL_OF_MEAN_LAYER = FixedSurface(5, type_of_second=192)
"""Level of adiabatic condensation (4.5: 5) of the mixed-layer parcel (second surface 192), COSMO's LCL_ML."""
LFC_OF_MEAN_LAYER = FixedSurface(194, type_of_second=192)
"""COSMO local type 194, level of free convection, of the mixed-layer parcel: COSMO's LFC_ML."""
HEIGHT_10M = FixedSurface(103, 10.0)
"""10 m above ground (4.5: 103)."""
HEIGHT_2M = FixedSurface(103, 2.0)
"""2 m above ground (4.5: 103)."""

VERTICAL_SURFACES: dict[str, str] = {
    "level": "generalVerticalLayer",  # 150/150: model full level k between half levels k and k+1
    "half_level": "generalVertical",  # 150: model half level
    "pressure": "isobaricInhPa",  # 100, in hPa; isobaricInPa where a level is no whole hPa
    "height": "heightAboveGround",  # 103, m; heightAboveSea (102) for a coordinate of standard_name altitude
}
"""Vertical dim of a product -> the ecCodes ``typeOfLevel`` of its messages (one message per level)."""


@dataclass(frozen=True)
class Grib2Parameter:
    """The GRIB2 encoding of one product."""

    category: int
    number: int
    short_name: str
    """What ecCodes (COSMO/ICON definitions) calls the encoded parameter; ``"unknown"`` for local ones."""
    surface: FixedSurface = SURFACE
    """Fixed surface of a product without a vertical dim (ignored for products with one)."""
    discipline: int = 0

    @property
    def local(self) -> bool:
        """Whether this is one of nwpflow's local parameters."""
        return self.category == LOCAL_CATEGORY


def _local(number: int, surface: FixedSurface = SURFACE) -> Grib2Parameter:
    return Grib2Parameter(LOCAL_CATEGORY, number, "unknown", surface)


PARAMETERS: dict[str, Grib2Parameter] = {
    # convection (discipline 0, category 7: thermodynamic stability; 3: mass)
    "CAPE_ML": Grib2Parameter(7, 6, "CAPE_ML", MEAN_LAYER),
    "CIN_ML": Grib2Parameter(7, 7, "CIN_ML", MEAN_LAYER),
    "LCL_ML": Grib2Parameter(3, 6, "LCL_ML", LCL_OF_MEAN_LAYER),
    "LFC_ML": Grib2Parameter(3, 6, "LFC_ML", LFC_OF_MEAN_LAYER),
    "EL_ML": _local(192),
    "CAPE_MU": Grib2Parameter(7, 6, "CAPE_MU", MOST_UNSTABLE),
    "CIN_MU": Grib2Parameter(7, 7, "CIN_MU", MOST_UNSTABLE),
    "LCL_MU": _local(193),
    "LFC_MU": _local(194),
    "EL_MU": _local(195),
    # fields on pressure and height levels: the model field's own parameter
    "T_PL": Grib2Parameter(0, 0, "T"),
    "T_HL": Grib2Parameter(0, 0, "T"),
    "QV_PL": Grib2Parameter(1, 0, "QV"),
    "QV_HL": Grib2Parameter(1, 0, "QV"),
    "U_PL": Grib2Parameter(2, 2, "U"),
    "U_HL": Grib2Parameter(2, 2, "U"),
    "V_PL": Grib2Parameter(2, 3, "V"),
    "V_HL": Grib2Parameter(2, 3, "V"),
    "W_PL": Grib2Parameter(2, 9, "W"),
    "W_HL": Grib2Parameter(2, 9, "W"),
    "FI_PL": Grib2Parameter(3, 4, "FI"),
    "HGT_PL": Grib2Parameter(3, 5, "GH"),
    # levels and stability
    "HZEROCL": Grib2Parameter(3, 6, "HZEROCL", ISOTHERM_ZERO),
    "HPBL": Grib2Parameter(3, 18, "HPBL", SURFACE),
    "BRN": Grib2Parameter(7, 16, "BRN"),
    # thermodynamics on model levels
    "THETA": Grib2Parameter(0, 2, "PT"),
    "THETA_V": Grib2Parameter(0, 15, "THETA_V"),
    "THETA_E": Grib2Parameter(0, 3, "THETAE"),
    "TD": Grib2Parameter(0, 6, "TD"),
    "RELHUM": Grib2Parameter(1, 1, "RELHUM"),
    "RH_ICE": Grib2Parameter(1, 94, "RH_ICE"),
    # wind
    "FF": Grib2Parameter(2, 1, "SP"),
    "FF_10M": Grib2Parameter(2, 1, "SP_10M", HEIGHT_10M),
    "DD": Grib2Parameter(2, 0, "DD"),
    "DD_10M": Grib2Parameter(2, 0, "DD_10M", HEIGHT_10M),
}
"""Product -> its GRIB2 parameter. A new product needs an entry here to be written as GRIB2
(``tests/test_grib_output.py`` checks that every registered product has one)."""


MODEL_FIELDS: dict[str, Grib2Parameter] = {
    "TOT_PREC": Grib2Parameter(1, 52, "TOT_PREC", SURFACE),
    "T_2M": Grib2Parameter(0, 0, "T_2M", HEIGHT_2M),
    "TD_2M": Grib2Parameter(0, 6, "TD_2M", HEIGHT_2M),
    "U_10M": Grib2Parameter(2, 2, "U_10M", HEIGHT_10M),
    "V_10M": Grib2Parameter(2, 3, "V_10M", HEIGHT_10M),
    "VMAX_10M": Grib2Parameter(2, 22, "VMAX_10M", HEIGHT_10M),
    "PS": Grib2Parameter(3, 0, "PS", SURFACE),
}
"""Fields of the model files that time products (and their ensemble statistics) are made of -> their
GRIB2 parameter, as in the ICON/COSMO input (``short_name``: what ecCodes calls the field in the
input; the statistical templates of the fan-in output may read back under another COSMO name, see
``docs/data-model.md``)."""


def parameter_of(name: str) -> Grib2Parameter | None:
    """The GRIB2 parameter of a product (:data:`PARAMETERS`) or model field (:data:`MODEL_FIELDS`)."""
    return PARAMETERS.get(name) or MODEL_FIELDS.get(name)


def local_name(discipline: int, category: int, number: int) -> str | None:
    """Return the product a local parameter of nwpflow encodes, or ``None``.

    Parameters
    ----------
    discipline, category, number : int
        ``discipline``, ``parameterCategory`` and ``parameterNumber`` of a GRIB2 message.
    """
    if discipline != 0 or category != LOCAL_CATEGORY:
        return None
    return _LOCAL_NAMES.get(number)


_LOCAL_NAMES = {p.number: name for name, p in PARAMETERS.items() if p.local}
if len(_LOCAL_NAMES) != sum(p.local for p in PARAMETERS.values()):
    raise ImportError("nwpflow.products.grib2: two products share a local parameter number")

__all__ = ["LOCAL_CATEGORY", "MODEL_FIELDS", "PARAMETERS", "parameter_of", "VERTICAL_SURFACES", "FixedSurface", "Grib2Parameter", "local_name"]
