r"""Threshold surfaces: the height where a field first reaches a value (HEIGHT_OF_VALUE), cloud base and
cloud top (CLOUD_BASE, CLOUD_TOP) and the echo top (ECHOTOP).

Each searches the column for the first pair of full levels between which the field crosses the value,
from the model top down or from the lowest level up, and interpolates the height linearly in the field
between them (:func:`nwpflow.kernels.layers.isosurface_brackets`; meteodata-lab ``interpolate_k2any``,
fieldextra ``find_value``). :func:`isosurface` is the one place where products do that search; the
wet-bulb zero, the snowfall limit and the dynamic tropopause use it too.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import xarray as xr

from nwpflow import kernels
from nwpflow.errors import InputError
from nwpflow.io.datamodel import FULL
from nwpflow.io.grib2_codes import FixedSurface, Grib2Parameter, local
from nwpflow.products._columns import ModelColumns, number_option
from nwpflow.products.registry import Option, Product, registry

DIRECTIONS = ("from_top", "from_bottom")
REFERENCES = ("sea", "ground")


def isosurface(cols: ModelColumns, i: int, coord: np.ndarray, targets: Sequence[float], fields: Sequence[str], *,
               from_top: bool, z_range: tuple[float, float] | None = None, start_inside: bool = False,
               ground: bool = False) -> dict[str, np.ndarray]:
    """Fields of outer slice ``i`` at the isosurfaces ``coord == target``: ``{name: (ntarget, ncol)}`` float32.

    ``fields`` are names in ``cols`` (``"HHL"`` gives the height, [m above sea level], or above ground with
    ``ground``; a half-level field is averaged to the full levels); the search as
    :func:`nwpflow.kernels.layers.isosurface_brackets`.
    """
    hhl = cols["HHL", i]
    targets = np.asarray(targets, dtype=np.float64)
    index = np.empty((targets.size, cols.ncol), dtype=np.int32)
    weight = np.empty((targets.size, cols.ncol))
    kernels.layers.isosurface_brackets(coord, targets, index, weight, from_top=from_top, hhl=hhl, z_range=z_range,
                                       start_inside=start_inside)
    result = {}
    for name in fields:
        values = cols[name, i]
        out = np.empty((targets.size, cols.ncol), dtype=np.float32)
        kernels.vertical.apply_brackets(values, index, weight, out, half=values.shape[0] == cols.nlev + 1)
        if name == "HHL" and ground:
            out -= hhl[-1]
        result[name] = out
    return result


def _height_of_value(dataset: xr.Dataset, *, cache: dict, field: str, value, direction: str,
                     reference: str) -> xr.DataArray:
    r"""Height where a model-level field (option ``field``) first reaches a value (option ``value``), searching
    from the model top down (``direction="from_top"``, the highest crossing) or from the lowest level up
    (``"from_bottom"``, the lowest) [m above sea level, or above ground with ``reference="ground"``].

    .. math:: z_* = (1 - w)\, z_{k-1} + w\, z_k, \qquad w = \frac{c_* - c_{k-1}}{c_k - c_{k-1}}

    for the first pair of full levels with :math:`c_{k-1} \le c_* \le c_k` or :math:`c_{k-1} \ge c_* \ge c_k`
    (meteodata-lab ``interpolate_k2any`` with the height as the interpolated field: ``high_fold`` from
    the top, ``low_fold`` from the bottom; fieldextra ``find_value``). Missing where the field does not
    cross the value. Default: the -10 °C isotherm (T = 263.15 K) from the top.
    """
    target = number_option("HEIGHT_OF_VALUE", "value", value)
    if FULL not in dataset[field].dims:
        raise InputError(f"product 'HEIGHT_OF_VALUE' searches a field on full model levels; {field} has dims "
                         f"{dataset[field].dims}", field=field)
    cols = ModelColumns(dataset, tuple(dict.fromkeys(("HHL", field))))
    out = cols.empty()
    for i in range(cols.outer):
        out[i] = isosurface(cols, i, cols[field, i], [target], ["HHL"], from_top=direction == "from_top",
                            ground=reference == "ground")["HHL"][0]
    return cols.wrap(out)


def _cloud_fields(options) -> tuple[str, ...]:
    return ("CLC",) if options["source"] == "cover" else ("QC", "QI")


def _cloud(dataset: xr.Dataset, from_top: bool, source: str, threshold, reference: str) -> xr.DataArray:
    names = _cloud_fields({"source": source})
    default = 50.0 if source == "cover" else 1.0e-6
    target = default if threshold is None else number_option("CLOUD_TOP" if from_top else "CLOUD_BASE", "threshold",
                                                       threshold)
    cols = ModelColumns(dataset, ("HHL", *names))
    out = cols.empty()
    for i in range(cols.outer):
        if source == "cover":
            coord = cols["CLC", i]
        else:
            coord = (cols["QC", i].astype(np.float64) + cols["QI", i]).astype(np.float32)
        out[i] = isosurface(cols, i, coord, [target], ["HHL"], from_top=from_top, start_inside=True,
                            ground=reference == "ground")["HHL"][0]
    return cols.wrap(out)


_CLOUD_DOC = r"""Cloud {which} [m above sea level, or above ground with ``reference="ground"``].

    The {first} height, searching {search}, where the cloud cover ``CLC`` reaches ``threshold``
    (``source="cover"``, default 50 %, the threshold of ICON's ``cal_cloudtop`` and ``CEILING``) or the
    cloud condensate :math:`q_c + q_i` does (``source="condensate"``, default 1e-6 kg kg-1), interpolated
    linearly in the field between the two full levels around it; where the first level searched is
    already cloudy, that level's height ({example}). ICON's ``cal_cloudtop`` takes the height of the
    first cloudy full level instead (no interpolation: up to half a layer apart). Missing in a
    cloud-free column.
    """


def _cloud_base(dataset: xr.Dataset, *, cache: dict, source: str, threshold, reference: str) -> xr.DataArray:
    return _cloud(dataset, False, source, threshold, reference)


def _cloud_top(dataset: xr.Dataset, *, cache: dict, source: str, threshold, reference: str) -> xr.DataArray:
    return _cloud(dataset, True, source, threshold, reference)


_cloud_base.__doc__ = _CLOUD_DOC.format(which="base", first="lowest", search="up from the lowest model level",
                                        example="fog: the lowest level")
_cloud_top.__doc__ = _CLOUD_DOC.format(which="top", first="highest", search="down from the model top",
                                       example="a cloud reaching the model top")


def _echo_top(dataset: xr.Dataset, *, cache: dict, threshold) -> xr.DataArray:
    r"""Echo top: the highest height where the radar reflectivity ``DBZ`` reaches ``threshold`` (default
    15 dBZ) [m above sea level], as ICON's ``compute_field_echotopinm``.

    Searching down from the model top, the first full level with :math:`Z \ge Z_*` and the one above it;
    the height interpolated linearly in :math:`Z^{2/3}` (ICON's "reflectivity-equivalent normalized rain
    rate"; :math:`Z = 10^{\mathrm{dBZ}/10}`) between them. Missing without echo.
    """
    target = number_option("ECHOTOP", "threshold", threshold)
    cols = ModelColumns(dataset, ("HHL", "DBZ"))
    out = cols.empty()
    for i in range(cols.outer):
        rate = np.power(10.0, cols["DBZ", i].astype(np.float64) / 15.0).astype(np.float32)
        out[i] = isosurface(cols, i, rate, [10.0 ** (target / 15.0)], ["HHL"], from_top=True,
                            start_inside=True)["HHL"][0]
    return cols.wrap(out)


_REFERENCE = Option("sea", "heights above sea level ('sea') or above ground ('ground')", REFERENCES)
_CLOUD_OPTIONS = {
    "source": Option("cover", "'cover' (CLC reaches the threshold, %) or 'condensate' (QC + QI reaches it, "
                              "kg kg-1)", ("cover", "condensate")),
    "threshold": Option(None, "the threshold in the source's units; None: 50 % cloud cover, or 1e-6 kg kg-1 of "
                              "condensate"),
    "reference": _REFERENCE,
}
_SURFACE_VALIDATION = ("meteodata-lab 0.8.2 interpolate_k2any ({fold}) with the full-level height as the interpolated "
                       "field, on the ICON-like sample: float32 rounding of the height")

registry.register(Product(
    name="HEIGHT_OF_VALUE",
    description="height where a model-level field first reaches a value",
    units="m",
    inputs=("HHL",),
    option_inputs=lambda options: (options["field"],),
    function=_height_of_value,
    grib2=local(201),
    options={
        "field": Option("T", "the model-level field searched (data-model name)"),
        "value": Option(263.15, "the value, in the field's units (default: -10 degC)"),
        "direction": Option("from_top", "search down from the model top (the highest crossing) or up from the lowest "
                                        "level (the lowest)", DIRECTIONS),
        "reference": _REFERENCE,
    },
    reference="meteodata-lab operators/vertical_interpolation.py interpolate_k2any; fieldextra find_value",
    validation=_SURFACE_VALIDATION.format(fold="high_fold and low_fold"),
))

for _name, _function, _grib2, _fold in (
    ("CLOUD_BASE", _cloud_base, Grib2Parameter(6, 11, "CDCB"), "low_fold"),
    ("CLOUD_TOP", _cloud_top, Grib2Parameter(6, 12, "CDCT"), "high_fold"),
):
    registry.register(Product(
        name=_name,
        description=f"height of the cloud {_name.split('_')[1].lower()} (cloud cover or condensate threshold)",
        units="m",
        inputs=("HHL",),
        option_inputs=_cloud_fields,
        function=_function,
        grib2=_grib2,
        options=_CLOUD_OPTIONS,
        reference="ICON mo_opt_nwp_diagnostics.f90 cal_cloudtop (CLC > 50 %), with the crossing interpolated as "
                  "meteodata-lab interpolate_k2any",
        validation=_SURFACE_VALIDATION.format(fold=_fold) + "; clear columns missing, fog and clouds at the top of "
                   "the search at their first level (tests)",
    ))

registry.register(Product(
    name="ECHOTOP",
    description="echo top: highest height of a radar reflectivity threshold",
    units="m",
    inputs=("DBZ", "HHL"),
    function=_echo_top,
    grib2=Grib2Parameter(3, 6, "ECHOTOPinM", FixedSurface(25)),
    options={"threshold": Option(15.0, "reflectivity threshold [dBZ]")},
    reference="ICON mo_opt_nwp_diagnostics.f90 compute_field_echotopinm (interpolation in Z^(2/3))",
    validation="a numpy transcription of ICON's compute_field_echotopinm on the ICON-like sample: 1e-3 m",
))
