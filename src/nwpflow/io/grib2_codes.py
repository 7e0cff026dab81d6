"""How fields and products are identified in GRIB2: parameters, fixed surfaces, vertical level types.

A :class:`Grib2Parameter` is the GRIB2 identity of one quantity: discipline, category and number (and,
for a quantity without a vertical dim, the fixed surface it is on). Model fields carry theirs in the
data model's field table (:data:`nwpflow.io.datamodel.FIELDS`), products on their registry entry
(``Product.grib2``); the registry declares them here (:func:`declare`), so that the GRIB2 writer and the
reader find both without knowing the products.

Where ecCodes with the COSMO/ICON definitions knows the parameter, an entry uses the parameter of those
definitions and records the ``shortName`` ecCodes reads back (``T_PL`` is ``T`` on isobaric levels,
``FF`` is COSMO's ``SP``). Where it does not, a product gets a **local** parameter of nwpflow's own
(:func:`local`): discipline 0, category :data:`LOCAL_CATEGORY` (240, in WMO's local-use range 192-254
and used by neither the COSMO nor the DWD local tables), numbers from 192 on. ecCodes reads these as
``shortName = "unknown"``; :func:`local_name` gives the product's name back (the reader uses it). A local
number, once given, is never reused for another product.
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

SURFACE_LEVEL_TYPES: dict[int, str] = {1: "surface", 103: "heightAboveGround"}
"""Type of a fixed surface (code table 4.5) -> ecCodes' ``typeOfLevel`` of a field on it."""

VERTICAL_SURFACES: dict[str, str] = {
    "level": "generalVerticalLayer",  # 150/150: model full level k between half levels k and k+1
    "half_level": "generalVertical",  # 150: model half level
    "pressure": "isobaricInhPa",  # 100, in hPa; isobaricInPa where a level is no whole hPa
    "height": "heightAboveGround",  # 103, m; heightAboveSea (102) for a coordinate of standard_name altitude
    "theta": "theta",  # 107, isentropic level, K
}
"""Vertical dim of a field or product -> the ecCodes ``typeOfLevel`` of its messages (one per level)."""


@dataclass(frozen=True)
class Grib2Parameter:
    """The GRIB2 identity of one field or product."""

    category: int
    number: int
    short_name: str
    """What ecCodes (COSMO/ICON definitions) calls the encoded parameter; ``"unknown"`` for local ones."""
    surface: FixedSurface = SURFACE
    """Fixed surface of a quantity without a vertical dim (ignored for those with one)."""
    discipline: int = 0

    @property
    def local(self) -> bool:
        """Whether this is one of nwpflow's local parameters."""
        return self.discipline == 0 and self.category == LOCAL_CATEGORY

    @property
    def type_of_level(self) -> str:
        """ecCodes' ``typeOfLevel`` of :attr:`surface`, for a quantity without a vertical dim."""
        return SURFACE_LEVEL_TYPES[self.surface.type_of_first]


def local(number: int, surface: FixedSurface = SURFACE) -> Grib2Parameter:
    """Return nwpflow's local parameter ``number`` (192-254) of category :data:`LOCAL_CATEGORY`."""
    if not 192 <= number <= 254:
        raise ValueError(f"a local parameter number lies in 192-254, not {number!r}")
    return Grib2Parameter(LOCAL_CATEGORY, number, "unknown", surface)


_DECLARED: dict[str, Grib2Parameter] = {}
_LOCAL_NAMES: dict[int, str] = {}


def declare(name: str, parameter: Grib2Parameter) -> None:
    """Declare the GRIB2 parameter of product ``name`` (the product registry calls this); a local number
    that another product has already is refused."""
    if parameter.local:
        other = _LOCAL_NAMES.get(parameter.number)
        if other is not None and other != name:
            raise ValueError(f"GRIB2 local parameter {parameter.number} of {name!r} is already {other!r}'s")
        _LOCAL_NAMES[parameter.number] = name
    _DECLARED[name] = parameter


def declared(name: str) -> Grib2Parameter | None:
    """The GRIB2 parameter declared for product ``name`` (:func:`declare`), or ``None``."""
    return _DECLARED.get(name)


def declared_names() -> list[str]:
    """The products that declared a GRIB2 parameter."""
    return sorted(_DECLARED)


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


__all__ = [
    "HEIGHT_10M", "HEIGHT_2M", "ISOTHERM_ZERO", "LCL_OF_MEAN_LAYER", "LFC_OF_MEAN_LAYER", "LOCAL_CATEGORY",
    "MEAN_LAYER", "MOST_UNSTABLE", "SURFACE", "SURFACE_LEVEL_TYPES", "VERTICAL_SURFACES", "FixedSurface",
    "Grib2Parameter", "declare", "declared", "declared_names", "local", "local_name",
]
