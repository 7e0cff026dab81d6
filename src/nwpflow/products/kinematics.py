r"""Kinematic products: bulk wind shear (WSHEAR, WSHEAR_U, WSHEAR_V), storm-relative helicity (SRH) and
the Bunkers storm motion (USTM, VSTM).

The physics and its references are in :mod:`nwpflow.kernels.kinematics`. The shear and the helicity are
computed on a vertical dim ``height`` [m above ground] (option ``heights``), as ICON writes its
``WSHEAR_U``/``WSHEAR_V`` and ``SRH`` on heightAboveGround levels; one kernel call gives the shear's
three rows (kept in the job's cache under ``("WSHEAR", heights)``), one gives the storm motion and the
helicity (``("SRH", heights, mean, mover)``). Winds: ``U``, ``V`` at the mass points, in the frame the
file gives them (a rotated-pole grid's own axes for COSMO): the magnitudes and the helicity do not depend
on the frame, the components and the storm motion are in the winds' frame.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import xarray as xr

from nwpflow import kernels
from nwpflow.kernels import codes
from nwpflow.errors import OptionError
from nwpflow.io.grib2_codes import Grib2Parameter
from nwpflow.products._columns import ModelColumns
from nwpflow.products.levels import HEIGHT, _coordinate
from nwpflow.products.registry import Option, Product, registry

SHEAR_HEIGHTS = (1000.0, 3000.0, 6000.0)
"""Default tops of the shear layers [m above ground] (ICON's wshear heights: 0-1, 0-3, 0-6 km)."""

SRH_HEIGHTS = (1000.0, 3000.0)
"""Default tops of the helicity layers [m above ground]."""


def _heights(product: str, value) -> tuple[float, ...]:
    values = (value,) if isinstance(value, (int, float)) and not isinstance(value, bool) else value
    try:
        heights = tuple(float(v) for v in values)
        ok = len(heights) > 0 and all(math.isfinite(h) and h > 0.0 for h in heights) \
            and not any(isinstance(v, bool) for v in values)
    except (TypeError, ValueError):
        ok = False
    if not ok:
        raise OptionError(f"product {product!r}: option 'heights' must be a non-empty list of heights above "
                          f"ground > 0 m, not {value!r}")
    return heights


def bulk_shear(dataset: xr.Dataset, cache: dict, heights: Sequence[float]) -> tuple[xr.DataArray, ...]:
    """The shear's rows (Δu, Δv, magnitude) as DataArrays on ``height``, computed once per job."""
    key = ("WSHEAR", tuple(heights))
    if key not in cache:
        cols = ModelColumns(dataset, ("U", "V", "HHL"))
        targets = np.asarray(heights, dtype=np.float64)
        out = cols.empty(3, len(heights))
        for i in range(cols.outer):
            kernels.kinematics.bulk_shear(cols["U", i], cols["V", i], cols["HHL", i], targets, out[i])
        coordinate = _coordinate(heights, HEIGHT)
        cache[key] = tuple(cols.wrap(np.ascontiguousarray(out[:, row]), HEIGHT).assign_coords({HEIGHT: coordinate})
                           for row in range(3))
    return cache[key]


def _shear_product(row: int, doc: str):
    def function(dataset: xr.Dataset, *, cache: dict, heights) -> xr.DataArray:
        return bulk_shear(dataset, cache, _heights(_SHEAR_NAMES[row], heights))[row]

    function.__doc__ = doc
    function.__name__ = function.__qualname__ = _SHEAR_NAMES[row].lower()
    return function


_SHEAR_NAMES = ("WSHEAR_U", "WSHEAR_V", "WSHEAR")

_SHEAR_DOC = r"""{what} of the bulk wind shear between the lowest model level and heights above ground [m s-1].

    .. math:: {formula}

    with :math:`\mathbf{{V}}(h)` the wind at :math:`h` above ground (option ``heights``, default 1000,
    3000, 6000 m: the 0-1, 0-3 and 0-6 km shear), linear in height between full levels and taken at the
    lowest full level where :math:`h` lies below it, and :math:`\mathbf{{V}}_N` the wind of the lowest
    model level: ICON's ``compute_field_wshear`` (its bottom wind; MetPy's ``bulk_shear`` takes the
    wind at the bottom of the layer it is given, here the same level). Missing above the highest
    full level.
    """


def storm_motion_and_helicity(dataset: xr.Dataset, cache: dict, heights: Sequence[float], mean: str,
                              mover: str) -> tuple[xr.DataArray, xr.DataArray, xr.DataArray]:
    """(USTM, VSTM, SRH on ``height``) as DataArrays, computed once per job and option set."""
    key = ("SRH", tuple(heights), mean, mover)
    if key not in cache:
        cols = ModelColumns(dataset, ("U", "V", "P", "HHL"))
        targets = np.asarray(heights, dtype=np.float64)
        storm = np.empty((cols.outer, 2, cols.ncol))
        srh = np.empty((cols.outer, len(heights), cols.ncol))
        for i in range(cols.outer):
            kernels.kinematics.storm_relative_helicity(cols["U", i], cols["V", i], cols["P", i], cols["HHL", i],
                                                       targets, storm[i], srh[i], mean=mean, right=mover == "right")
        storm = storm.astype(np.float32)
        coordinate = _coordinate(heights, HEIGHT)
        cache[key] = (cols.wrap(np.ascontiguousarray(storm[:, 0])), cols.wrap(np.ascontiguousarray(storm[:, 1])),
                      cols.wrap(srh.astype(np.float32), HEIGHT).assign_coords({HEIGHT: coordinate}))
    return cache[key]


def _srh(dataset: xr.Dataset, *, cache: dict, heights, mean: str, mover: str) -> xr.DataArray:
    r"""Storm-relative helicity [m2 s-2] from the lowest model level to heights above ground.

    .. math::

        \mathrm{SRH}(h) = -\int_{z_N}^{h} \hat{\mathbf{k}} \cdot (\mathbf{V} - \mathbf{C}) \times
        \frac{\partial \mathbf{V}}{\partial z}\, dz
        = \sum_i \left[(u_{i+1} - C_u)(v_i - C_v) - (u_i - C_u)(v_{i+1} - C_v)\right]

    ([DaviesJones1990]_), exact for a wind linear in height between the full levels (MetPy's
    ``storm_relative_helicity``), from the lowest full level up to :math:`h` (option ``heights``,
    default 1000 and 3000 m above ground; the wind at :math:`h` interpolated linearly in height), with
    :math:`\mathbf{C}` Bunkers' right-mover storm motion ([Bunkers2000]_; USTM, VSTM):

    .. math::

        \mathbf{C} = \bar{\mathbf{V}}_{0-6\,\mathrm{km}} + 7.5\ \mathrm{m\,s^{-1}}\
        \frac{\mathbf{S} \times \hat{\mathbf{k}}}{|\mathbf{S}|}, \qquad
        \mathbf{S} = \bar{\mathbf{V}}_{5.5-6\,\mathrm{km}} - \bar{\mathbf{V}}_{0-0.5\,\mathrm{km}}.

    Options: ``mean`` = ``"height"`` (default: height-weighted means over the model layers' boxes,
    km above ground, ICON's ``compute_field_srh`` and Bunkers' non-pressure-weighted mean) or
    ``"metpy"`` (MetPy's ``bunkers_storm_motion``: :math:`\int u\,dp/\Delta p`, layers measured from
    the lowest level); ``mover`` = ``"right"`` (default) or ``"left"``. ICON integrates a
    centred-difference integrand over layer boxes from the ground instead of from the lowest level
    (:mod:`nwpflow.kernels.kinematics`).
    """
    return storm_motion_and_helicity(dataset, cache, _heights("SRH", heights), mean, mover)[2]


def _storm_component(row: int):
    name = ("USTM", "VSTM")[row]

    def function(dataset: xr.Dataset, *, cache: dict, mean: str, mover: str) -> xr.DataArray:
        return storm_motion_and_helicity(dataset, cache, SRH_HEIGHTS, mean, mover)[row]

    function.__name__ = function.__qualname__ = name.lower()
    function.__doc__ = _STORM_DOC.format(
        what="Eastward" if row == 0 else "Northward",
        formula=r"C_u = \bar u_{0-6} + D S_v / |S|" if row == 0 else r"C_v = \bar v_{0-6} - D S_u / |S|")
    return function


_STORM_DOC = r"""{what} (grid-relative on a rotated grid) component of the Bunkers storm motion [m s-1]
    ([Bunkers2000]_).

    .. math:: {formula}

    with the 0-6 km mean wind, the shear :math:`\mathbf{{S}}` between the means over 5.5-6 km and 0-0.5 km
    above ground and :math:`D` = 7.5 m s-1 (right mover; options ``mean``, ``mover`` as SRH, whose storm
    motion this is).
    """

_STORM_OPTIONS = {
    "mean": Option("height", "layer means of the storm motion: 'height' (height-weighted boxes above ground, "
                             "ICON, Bunkers 2000) or 'metpy' (MetPy's bunkers_storm_motion: integral of u dp over "
                             "the pressure depth, layers from the lowest level)", tuple(codes.STORM_MEANS)),
    "mover": Option("right", "Bunkers' right or left mover", ("right", "left")),
}

_SHEAR_VALIDATION = ("MetPy 1.7.1 bulk_shear on 20 columns of the IFS L137 file (bottom = the lowest level, top = "
                     "the height above ground): 2e-6 m/s + float32 rounding (MetPy interpolates linearly in height "
                     "as the kernel); ICON's algorithm transcribed in numpy on sample columns: float32 rounding")

for _row, (_what, _description, _formula, _grib2) in enumerate((
    ("Eastward component (grid-relative on a rotated grid)", "eastward component of the",
     r"\Delta u(h) = u(\max(h, z_N)) - u_N", Grib2Parameter(2, 208, "WSHEAR_U")),
    ("Northward component (grid-relative on a rotated grid)", "northward component of the",
     r"\Delta v(h) = v(\max(h, z_N)) - v_N", Grib2Parameter(2, 209, "WSHEAR_V")),
    ("Magnitude", "magnitude of the", r"|\Delta\mathbf{V}(h)| = |\mathbf{V}(\max(h, z_N)) - \mathbf{V}_N|",
     Grib2Parameter(2, 202, "WSHEAR_DIFF")),
)):
    registry.register(Product(
        name=_SHEAR_NAMES[_row],
        description=f"{_description} bulk wind shear from the lowest model level to heights above ground",
        units="m s-1",
        inputs=("U", "V", "HHL"),
        function=_shear_product(_row, _SHEAR_DOC.format(what=_what, formula=_formula)),
        grib2=_grib2,
        options={"heights": Option(SHEAR_HEIGHTS, "tops of the layers [m above ground]")},
        reference="ICON mo_opt_nwp_diagnostics.f90 compute_field_wshear (bottom wind: the lowest model level); "
                  "fieldextra WSHEAR_*",
        validation=_SHEAR_VALIDATION,
    ))

registry.register(Product(
    name="SRH",
    description="storm-relative helicity of Bunkers' right mover from the lowest model level to heights above ground",
    units="m2 s-2",
    inputs=("U", "V", "P", "HHL"),
    function=_srh,
    grib2=Grib2Parameter(7, 8, "SRH"),
    options={"heights": Option(SRH_HEIGHTS, "tops of the layers [m above ground]"), **_STORM_OPTIONS},
    reference="[DaviesJones1990]_; storm motion [Bunkers2000]_ as ICON compute_field_srh (0-6 km mean, 0-0.5 and "
              "5.5-6 km shear, D = 7.5 m/s)",
    validation="MetPy 1.7.1 storm_relative_helicity and bunkers_storm_motion on 20 IFS L137 columns (mean='metpy'; "
               "MetPy's depth from the lowest level): storm motion 1e-5 m/s, SRH 1e-4 m2/s2 + 1e-6 relative "
               "(float64 against MetPy's float64, same interpolation); published MetPy test values "
               "(test_storm_relative_helicity, test_bunkers_motion) on their profiles: to their digits; "
               "metrust 0.5.0 compute_srh on the same columns: within its own interpolation differences",
))

for _row, _name in enumerate(("USTM", "VSTM")):
    registry.register(Product(
        name=_name,
        description=f"{'eastward' if _row == 0 else 'northward'} component of the Bunkers storm motion",
        units="m s-1",
        inputs=("U", "V", "P", "HHL"),
        function=_storm_component(_row),
        grib2=Grib2Parameter(2, 27 + _row, _name),
        options=_STORM_OPTIONS,
        reference="[Bunkers2000]_; ICON mo_opt_nwp_diagnostics.f90 compute_field_srh",
        validation="MetPy 1.7.1 bunkers_storm_motion on 20 IFS L137 columns (mean='metpy'): 1e-5 m/s; "
                   "published MetPy test_bunkers_motion: to its digits",
    ))
