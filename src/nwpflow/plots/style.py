"""One colour map and one fixed range per product, so that quicklooks compare across lead times and members.

A frame's colours never depend on its values: the range of a product is a constant of this table (per
level for fields on pressure levels, whose values change with height), of config
``quicklooks.styles``, or of its units (:data:`BY_UNITS`, for a product this table does not name, e.g.
one from a plugin). Colour maps are matplotlib's by name; none of them holds the grey that marks missing
values (:data:`MISSING_COLOUR`).

Ensemble statistics share their product's style (``mean``, ``min``, ``max``), except the standard
deviation, drawn from 0 to a quarter of the product's range (:func:`style_for`).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace

from nwpflow.naming import parse_time_product_name

MISSING_COLOUR = "#8c8c8c"
"""Colour of a cell whose value is missing (NaN): a mid grey that no colour map of this table contains."""

OUTSIDE_COLOUR = "#ffffff"
"""Colour of the map outside the model domain."""


@dataclass(frozen=True)
class Style:
    """How a product is coloured: a matplotlib colour map and the fixed range ``[vmin, vmax]`` it spans
    (values beyond it get the colour bar's end colours, marked by its triangles)."""

    colormap: str
    vmin: float
    vmax: float
    source: str = "table"
    """Where the range comes from: ``table`` (:data:`STYLES`), ``config`` or ``units``."""

    def __post_init__(self) -> None:
        if not self.vmin < self.vmax:
            raise ValueError(f"a style's range must be increasing, not [{self.vmin}, {self.vmax}]")


_T = "RdYlBu_r"
_WIND = "viridis"
_SIGNED = "RdBu_r"
_HEIGHT = "viridis"
_MOIST = "YlGnBu"
_DIRECTION = "hsv"  # cyclic; matplotlib's "twilight" ends in a light grey close to the missing colour

STYLES: dict[str, Style | dict[float, Style]] = {
    "CAPE_ML": Style("YlOrRd", 0.0, 2000.0), "CAPE_MU": Style("YlOrRd", 0.0, 3000.0),
    "CIN_ML": Style("PuBu", 0.0, 400.0), "CIN_MU": Style("PuBu", 0.0, 400.0),
    "LCL_ML": Style(_HEIGHT, 0.0, 4000.0), "LCL_MU": Style(_HEIGHT, 0.0, 4000.0),
    "LFC_ML": Style(_HEIGHT, 0.0, 8000.0), "LFC_MU": Style(_HEIGHT, 0.0, 8000.0),
    "EL_ML": Style(_HEIGHT, 0.0, 14000.0), "EL_MU": Style(_HEIGHT, 0.0, 14000.0),
    "HZEROCL": Style(_HEIGHT, 0.0, 5000.0), "HPBL": Style(_HEIGHT, 0.0, 3000.0),
    "BRN": Style(_SIGNED, -2.0, 2.0),
    "THETA": Style(_T, 270.0, 320.0), "THETA_V": Style(_T, 270.0, 320.0), "THETA_E": Style(_T, 280.0, 360.0),
    "TD": Style(_T, 250.0, 300.0), "T_HL": Style(_T, 250.0, 310.0),
    "RELHUM": Style(_MOIST, 0.0, 100.0), "RH_ICE": Style(_MOIST, 0.0, 120.0),
    "QV_HL": Style(_MOIST, 0.0, 0.02),
    "FF": Style(_WIND, 0.0, 20.0), "FF_10M": Style(_WIND, 0.0, 20.0),
    "DD": Style(_DIRECTION, 0.0, 360.0), "DD_10M": Style(_DIRECTION, 0.0, 360.0),
    "U_HL": Style(_SIGNED, -20.0, 20.0), "V_HL": Style(_SIGNED, -20.0, 20.0), "W_HL": Style(_SIGNED, -2.0, 2.0),
    # pressure levels [Pa]: 850 and 500 hPa (the default quicklook levels), the nearest of them otherwise
    "T_PL": {85000.0: Style(_T, 265.0, 300.0), 50000.0: Style(_T, 240.0, 275.0)},
    "QV_PL": {85000.0: Style(_MOIST, 0.0, 0.016), 50000.0: Style(_MOIST, 0.0, 0.005)},
    "U_PL": {85000.0: Style(_SIGNED, -20.0, 20.0), 50000.0: Style(_SIGNED, -40.0, 40.0)},
    "V_PL": {85000.0: Style(_SIGNED, -20.0, 20.0), 50000.0: Style(_SIGNED, -40.0, 40.0)},
    "W_PL": {85000.0: Style(_SIGNED, -2.0, 2.0), 50000.0: Style(_SIGNED, -2.0, 2.0)},
    "FI_PL": {85000.0: Style(_HEIGHT, 13000.0, 16000.0), 50000.0: Style(_HEIGHT, 53000.0, 59000.0)},
    "HGT_PL": {85000.0: Style(_HEIGHT, 1300.0, 1650.0), 50000.0: Style(_HEIGHT, 5400.0, 6000.0)},
    # issue 13's products
    "WSHEAR": Style(_WIND, 0.0, 30.0), "WSHEAR_U": Style(_SIGNED, -30.0, 30.0), "WSHEAR_V": Style(_SIGNED, -30.0, 30.0),
    "SRH": Style(_SIGNED, -300.0, 300.0), "USTM": Style(_SIGNED, -20.0, 20.0), "VSTM": Style(_SIGNED, -20.0, 20.0),
    "TQV": Style(_MOIST, 0.0, 50.0), "TQC": Style(_MOIST, 0.0, 1.0), "TQI": Style(_MOIST, 0.0, 1.0),
    "LAYER_MEAN": Style(_T, 250.0, 310.0), "LAYER_MAX": Style(_T, 250.0, 310.0), "LAYER_MIN": Style(_T, 250.0, 310.0),
    "LAYER_INTEGRAL": Style(_T, 2.5e5, 3.1e5),
    "SLI": Style("RdBu", -10.0, 10.0), "SI": Style("RdBu", -10.0, 10.0), "DCAPE": Style("YlOrRd", 0.0, 1500.0),
    "KI": Style(_T, 0.0, 45.0), "TT": Style(_T, 30.0, 60.0),
    "LAPSE_RATE_700_500": Style(_SIGNED, -0.0098, 0.0), "LAPSE_RATE_0_3KM": Style(_SIGNED, -0.0098, 0.0),
    "TW": Style(_T, 250.0, 300.0), "HWBZ": Style(_HEIGHT, 0.0, 5000.0), "SNOWLMT": Style(_HEIGHT, 0.0, 5000.0),
    "PV": Style(_SIGNED, -5.0e-6, 5.0e-6), "PV_TH": Style(_SIGNED, -5.0e-6, 5.0e-6),
    "P_TH": Style(_HEIGHT, 10000.0, 105000.0), "H_PV": Style(_HEIGHT, 5000.0, 16000.0),
    "P_PV": Style(_HEIGHT, 10000.0, 50000.0),
    "HEIGHT_OF_VALUE": Style(_HEIGHT, 0.0, 12000.0), "CLOUD_BASE": Style(_HEIGHT, 0.0, 12000.0),
    "CLOUD_TOP": Style(_HEIGHT, 0.0, 12000.0), "ECHOTOP": Style(_HEIGHT, 0.0, 14000.0),
    # model fields that time products are made of
    "T_2M": Style(_T, 260.0, 310.0), "VMAX_10M": Style(_WIND, 0.0, 40.0), "TOT_PREC": Style("YlGnBu", 0.0, 20.0),
}
"""Styles of nwpflow's products (and of the model fields its time products summarise), from the values of
a Central European summer day (ICON-CH1/2 and the sample run)."""

BY_UNITS: dict[str, Style] = {
    "K": Style(_T, 230.0, 320.0, "units"), "%": Style(_MOIST, 0.0, 100.0, "units"),
    "m": Style(_HEIGHT, 0.0, 5000.0, "units"), "m s-1": Style(_SIGNED, -30.0, 30.0, "units"),
    "J kg-1": Style("YlOrRd", 0.0, 2000.0, "units"), "kg kg-1": Style(_MOIST, 0.0, 0.02, "units"),
    "degree": Style(_DIRECTION, 0.0, 360.0, "units"), "m2 s-2": Style(_HEIGHT, 0.0, 100000.0, "units"),
    "kg m-2": Style("YlGnBu", 0.0, 20.0, "units"), "Pa": Style(_HEIGHT, 50000.0, 105000.0, "units"),
    "1": Style(_SIGNED, -1.0, 1.0, "units"), "K m-1": Style(_SIGNED, -0.01, 0.01, "units"),
    "K m2 kg-1 s-1": Style(_SIGNED, -5.0e-6, 5.0e-6, "units"),
}
"""Styles by units, for a product without an entry in :data:`STYLES` (a plugin's)."""

PRECIPITATION_RANGE_1H = 10.0
"""Top of the colour range of precipitation summed over one hour [kg m-2]; a window of ``n`` hours
spans ``10 * sqrt(n)`` (20 mm in 3 h, 49 mm in 24 h): sums grow slower than the window."""


def style_for(product: str, units: str | None, *, level: float | None = None, statistic: str | None = None,
              overrides: Mapping[str, Mapping] | None = None) -> Style:
    """Return the fixed style of ``product`` (a product, a time product or a model field).

    Parameters
    ----------
    product : str
        Product name, e.g. ``T_PL`` or ``TOT_PREC_sum_3h``.
    units : str or None
        The product's units (used where no table entry names the product).
    level : float, optional
        Pressure [Pa] of a field on pressure levels: its range is that of the nearest tabulated level.
    statistic : str, optional
        Ensemble statistic drawn: ``std`` spans ``[0, (vmax - vmin) / 4]`` of the product's colour
        range with ``viridis``; the others the product's style.
    overrides : Mapping, optional
        Config ``quicklooks.styles``, ``{product: {colormap: name, range: [vmin, vmax]}}``.

    Returns
    -------
    Style

    Raises
    ------
    KeyError
        Neither the table, the config nor the units give a style.

    Examples
    --------
    >>> style_for("T_PL", "K", level=85000.0)
    Style(colormap='RdYlBu_r', vmin=265.0, vmax=300.0, source='table')
    >>> style_for("TOT_PREC_sum_3h", "kg m-2").vmax
    17.32...
    >>> style_for("THETA", "K", statistic="std")
    Style(colormap='viridis', vmin=0.0, vmax=12.5, source='table')
    >>> style_for("MY_PRODUCT", "J kg-1").source
    'units'
    """
    style = _base_style(product, units, level)
    given = (overrides or {}).get(product)
    if given:
        vmin, vmax = given.get("range", (style.vmin, style.vmax))
        style = Style(given.get("colormap", style.colormap), float(vmin), float(vmax), "config")
    if statistic == "std":
        return replace(style, colormap="viridis", vmin=0.0, vmax=(style.vmax - style.vmin) / 4.0)
    return style


def _base_style(product: str, units: str | None, level: float | None) -> Style:
    entry = STYLES.get(product)
    if isinstance(entry, dict):
        nearest = min(entry, key=lambda tabulated: abs(tabulated - (level if level is not None else tabulated)))
        return entry[nearest]
    if entry is not None:
        return entry
    time_product = parse_time_product_name(product)
    if time_product is not None and time_product.field in STYLES:
        style = STYLES[time_product.field]
        if time_product.kind == "accumulation":
            hours = time_product.minutes / 60.0
            return replace(style, vmax=PRECIPITATION_RANGE_1H * hours**0.5)
        return style
    if units in BY_UNITS:
        return BY_UNITS[units]
    raise KeyError(f"no colour style for {product!r} (units {units!r}): give one in config quicklooks.styles")


__all__ = ["BY_UNITS", "MISSING_COLOUR", "OUTSIDE_COLOUR", "STYLES", "Style", "style_for"]
