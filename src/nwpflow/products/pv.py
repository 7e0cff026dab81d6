r"""Potential vorticity: Ertel PV on model levels (PV), on isentropic levels with the isentropes' pressure
(PV_TH, P_TH), and the height and pressure of a PV surface, the 2-PVU dynamic tropopause (H_PV, P_PV).

PV is meteodata-lab's ``pot_vortic`` (:mod:`nwpflow.kernels.pv`): the full Ertel PV with terrain-following
derivatives. Its horizontal derivatives need the grid's geometry:

* a regular or rotated lat-lon grid (COSMO, IFS): centred differences along the grid's rows and columns,
  from its coordinates (``rlat``/``rlon`` of a rotated grid, whose winds are grid-relative as COSMO writes
  them; ``latitude``/``longitude`` otherwise);
* ICON's unstructured grid: least-squares gradients over each cell's edge neighbours, from the ICON grid
  file (``neighbor_cell_index``, ``clat``, ``clon``): option ``grid_file``, or else the NetCDF file beside
  the run's files whose ``uuidOfHGrid`` is the run's. Without one the product stops before any value is
  read, saying what it needs (:func:`preflight`).

The isentropic and PV-surface products find the isosurfaces of θ and of :math:`|\mathrm{PV}|` with
:func:`nwpflow.products.surfaces.isosurface` (meteodata-lab ``interpolate_k2theta``; the absolute value
makes the dynamic tropopause of both hemispheres).
"""

from __future__ import annotations

import math
import os
from collections.abc import Mapping, Sequence

import numpy as np
import xarray as xr

from nwpflow import constants, kernels
from nwpflow.errors import InputError, OptionError
from nwpflow.io.grib2_codes import FixedSurface, Grib2Parameter, local
from nwpflow.products._columns import ModelColumns, horizontal_dims, number_option
from nwpflow.products.registry import Option, Product, registry
from nwpflow.products.surfaces import isosurface

THETA = "theta"
"""The vertical dim of fields on isentropic levels (coordinate in K; ecCodes' typeOfLevel ``theta``)."""

DEFAULT_THETA = (300.0, 310.0, 315.0, 320.0, 330.0, 340.0, 350.0)
"""Default isentropic levels [K]."""

PVU = 1.0e-6
"""One potential vorticity unit [K m2 kg-1 s-1]."""

FOLDS = ("low", "high", "undefined")
"""Where θ crosses a level more than once: the lowest crossing, the highest, or missing (meteodata-lab's
``low_fold``, ``high_fold``, ``undef_fold``)."""


# ----------------------------------------------------------------------------------------------------
# The grid's geometry
# ----------------------------------------------------------------------------------------------------

def _grid_file(grid_file, sources: Sequence[str], uuid: str | None):
    """The ICON grid file to use: the option's, else the one beside the run's files with its uuid."""
    from nwpflow.io import icon_grid  # reads NetCDF: loaded only for ICON runs

    if grid_file is not None:
        return grid_file
    if uuid is None:
        return None
    return icon_grid.find_grid_file([os.path.dirname(os.fspath(s)) for s in sources], uuid)


def _missing_grid(uuid: str | None, ncell: int, sources) -> InputError:
    return InputError(
        f"product 'PV' on ICON's unstructured grid ({ncell} cells, uuidOfHGrid {uuid or 'unknown'}) needs the grid's "
        "neighbour table for its horizontal derivatives, and no grid file was found: give the ICON grid file "
        "(icon_grid_*.nc with clat, clon and neighbor_cell_index, the run's uuidOfHGrid) as option grid_file, "
        "e.g. config product_options: {PV: {grid_file: /path/to/icon_grid_0001_R19B08_mch.nc}}, or put it beside "
        f"the run's files ({', '.join(sorted({os.path.dirname(os.fspath(s)) or '.' for s in sources}))})",
        field="PV")


def preflight(options: Mapping, facts: Mapping) -> None:
    """Before a job reads values: on an ICON run (``facts["grid_type"]``), the grid file must be there."""
    if facts.get("grid_type") != "unstructured_grid":
        return
    sources = facts.get("sources", ())
    path = _grid_file(options.get("grid_file"), sources, facts.get("uuid"))
    if path is None:
        raise _missing_grid(facts.get("uuid"), facts.get("ncell", 0), sources)
    if not os.path.isfile(path):
        raise InputError("no such ICON grid file (option grid_file of product 'PV')", path=path)


def _uniform_step(values: np.ndarray, name: str) -> float:
    steps = np.diff(np.asarray(values, dtype=np.float64))
    if steps.size == 0 or not np.allclose(steps, steps[0], rtol=1e-6, atol=1e-9):
        raise InputError(f"PV needs a grid with uniform spacing along {name}; its steps are {np.unique(steps)[:5]}",
                         field=name)
    return float(steps[0])


def geometry(dataset: xr.Dataset, like: xr.DataArray, cache: dict, grid_file) -> tuple[tuple, np.ndarray]:
    """The derivative stencil and metric terms of the run's grid (:mod:`nwpflow.kernels.pv`), once per job."""
    hdims = horizontal_dims(like)
    key = ("PV", "geometry", hdims, tuple(like.sizes[d] for d in hdims), grid_file)
    if key in cache:
        return cache[key]
    if hdims == ("cell",):
        from nwpflow.io import icon_grid

        ncell = like.sizes["cell"]
        sources = dataset.attrs.get("source_files") or []
        uuid = dataset.attrs.get("uuidOfHGrid")
        path = _grid_file(grid_file, sources, uuid)
        if path is None:
            raise _missing_grid(uuid, ncell, sources)
        grid = icon_grid.read_grid_file(path, uuid=uuid if grid_file is None else None, ncell=ncell)
        for name, values in (("latitude", grid.latitude), ("longitude", grid.longitude)):
            if name in dataset.coords and dataset[name].dims == ("cell",):
                ours = dataset[name].values.astype(np.float64)
                off = np.abs(((ours - values) + 180.0) % 360.0 - 180.0) if name == "longitude" else np.abs(ours - values)
                if not np.all(off < 1e-3):
                    raise InputError(f"the cells of grid file {grid.path!r} are not the run's: {name} differs by up to "
                                     f"{off.max():.3g} degrees", field="PV")
        stencil = kernels.pv.lsq_stencil(grid.latitude, grid.longitude, grid.neighbours)
        metric = kernels.pv.metric_terms(grid.latitude, grid.latitude)
    else:
        ny, nx = like.sizes["y"], like.sizes["x"]
        if "rlat" in dataset.coords and "rlon" in dataset.coords:  # rotated: the grid's own latitude
            grid_lat = np.broadcast_to(dataset["rlat"].values[:, None], (ny, nx))
            dlat, dlon = _uniform_step(dataset["rlat"].values, "rlat"), _uniform_step(dataset["rlon"].values, "rlon")
        else:
            lat = dataset["latitude"].transpose(*[d for d in ("y", "x") if d in dataset["latitude"].dims]).values
            lon = dataset["longitude"].transpose(*[d for d in ("y", "x") if d in dataset["longitude"].dims]).values
            lat_rows = lat if lat.ndim == 1 else lat[:, 0]
            lon_cols = lon if lon.ndim == 1 else lon[0]
            grid_lat = np.broadcast_to(lat_rows[:, None], (ny, nx))
            dlat, dlon = _uniform_step(lat_rows, "latitude"), _uniform_step(lon_cols, "longitude")
        geographic = np.broadcast_to(dataset["latitude"].transpose(*[d for d in ("y", "x")
                                                                     if d in dataset["latitude"].dims]).values,
                                     (ny, nx)) if dataset["latitude"].ndim == 2 else grid_lat
        stencil = kernels.pv.grid_stencil(ny, nx, dlon, dlat)
        metric = kernels.pv.metric_terms(np.ravel(grid_lat), np.ravel(geographic))
    cache[key] = (stencil, metric)
    return cache[key]


def _pv(dataset: xr.Dataset, *, cache: dict, grid_file) -> xr.DataArray:
    r"""Ertel potential vorticity on model levels [K m2 kg-1 s-1] (1 PVU = 1e-6), meteodata-lab's ``pot_vortic``.

    .. math:: \mathrm{PV} = \frac{1}{\rho}\, (\nabla \times \mathbf{v} + 2\boldsymbol{\Omega}) \cdot \nabla\theta

    in the shallow atmosphere's spherical coordinates, every derivative at constant height through the
    terrain-following transformation, with :math:`\theta` from ``P``, ``T`` (COSMO's :math:`R_d/c_{pd}`),
    the moist air's density :math:`\rho = p / (R_d T (1 + (R_v/R_d - 1) q_v))` (meteodata-lab's
    ``rho_tot`` also loads the condensate, :math:`q_c + q_i + \ldots`: a PV larger by that fraction, under
    0.1 %), ``W`` on half levels. Formulas and discretisation: :mod:`nwpflow.kernels.pv`. On ICON's grid
    the horizontal derivatives are least-squares gradients over each cell's neighbours from the ICON grid
    file (option ``grid_file``, or the file beside the run's files with the run's ``uuidOfHGrid``);
    missing on the domain's outermost cells (ICON: the cells without three neighbours) and rows.
    """
    cols = ModelColumns(dataset, ("U", "V", "W", "P", "T", "QV", "HHL"))
    stencil, metric = geometry(dataset, cols.like, cache, grid_file)
    out = cols.empty(cols.nlev)
    theta = np.empty((cols.nlev, cols.ncol), dtype=np.float32)
    for i in range(cols.outer):
        p, t, qv = cols["P", i], cols["T", i], cols["QV", i]
        kernels.thermo.potential_temperature(p, t, theta, kappa=constants.kappa, p0=constants.p0)
        rho = (p.astype(np.float64) / (constants.Rd * t * (1.0 + constants.rv_rd_minus_1 * qv.astype(np.float64))))
        kernels.pv.potential_vorticity(cols["U", i], cols["V", i], cols["W", i], theta, rho.astype(np.float32),
                                       cols["HHL", i], stencil, metric, out[i])
    return cols.wrap(out, "level")


def _theta_levels(product: str, value) -> tuple[float, ...]:
    values = (value,) if isinstance(value, (int, float)) and not isinstance(value, bool) else value
    try:
        levels = tuple(sorted(float(v) for v in values))
        ok = len(levels) > 0 and all(math.isfinite(v) and 1.0 <= v <= 1000.0 for v in levels) \
            and not any(isinstance(v, bool) for v in values)
    except (TypeError, ValueError):
        ok = False
    if not ok:
        raise OptionError(f"product {product!r}: option 'levels' must be a non-empty list of potential temperatures "
                          f"in 1..1000 K, not {value!r}")
    return levels


def on_isentropes(dataset: xr.Dataset, cache: dict, levels, fold: str, product: str) -> dict[str, xr.DataArray]:
    """PV and P on the isentropic ``levels`` (``{"PV": ..., "P": ...}`` on dim ``theta``), once per job."""
    levels = _theta_levels(product, levels)
    key = ("PV_TH", levels, fold)
    if key not in cache:
        cols = ModelColumns(dataset, ("P", "T", "HHL", "PV"))
        result = {name: cols.empty(len(levels)) for name in ("PV", "P")}
        theta = np.empty((cols.nlev, cols.ncol), dtype=np.float32)
        for i in range(cols.outer):
            kernels.thermo.potential_temperature(cols["P", i], cols["T", i], theta, kappa=constants.kappa,
                                                 p0=constants.p0)
            found = isosurface(cols, i, theta, levels, ["PV", "P"], from_top=fold == "high")
            if fold == "undefined":  # more than one crossing: missing (meteodata-lab undef_fold)
                other = isosurface(cols, i, theta, levels, ["P"], from_top=True)["P"]
                ambiguous = ~(found["P"] == other)
                for values in found.values():
                    values[ambiguous] = np.nan
            for name in result:
                result[name][i] = found[name]
        coordinate = xr.DataArray(np.asarray(levels), dims=(THETA,),
                                  attrs={"units": "K", "standard_name": "air_potential_temperature",
                                         "long_name": "potential temperature", "positive": "up"})
        cache[key] = {name: cols.wrap(values, THETA).assign_coords({THETA: coordinate}) for name, values in result.items()}
    return cache[key]


_ISENTROPIC_DOC = r"""{what} on isentropic levels [{units}] (option ``levels``, K).

    Where the potential temperature :math:`\theta = T (p_0/p)^{{R_d/c_{{pd}}}}` crosses each level between two
    full levels, {what_lower} is interpolated linearly in θ (meteodata-lab ``interpolate_k2theta``,
    fieldextra ``intpl_k2theta``). ``fold``: where θ crosses a level more than once (a superadiabatic or
    folded layer), the lowest crossing (``"low"``, default), the highest (``"high"``) or missing
    (``"undefined"``). Missing where θ does not cross the level.
    """


def _pv_th(dataset: xr.Dataset, *, cache: dict, levels, fold: str) -> xr.DataArray:
    return on_isentropes(dataset, cache, levels, fold, "PV_TH")["PV"]


def _p_th(dataset: xr.Dataset, *, cache: dict, levels, fold: str) -> xr.DataArray:
    return on_isentropes(dataset, cache, levels, fold, "P_TH")["P"]


_pv_th.__doc__ = _ISENTROPIC_DOC.format(what="Potential vorticity", what_lower="PV", units="K m2 kg-1 s-1")
_p_th.__doc__ = _ISENTROPIC_DOC.format(what="Pressure", what_lower="the pressure", units="Pa")


def pv_surface(dataset: xr.Dataset, cache: dict, value) -> dict[str, xr.DataArray]:
    """Height and pressure of the surface :math:`|PV|` = ``value``, searched from the top, once per job."""
    value = number_option("H_PV", "value", value)
    if not value > 0.0:
        raise OptionError(f"product 'H_PV'/'P_PV': option 'value' must be a PV > 0 [K m2 kg-1 s-1], not {value!r}")
    key = ("H_PV", value)
    if key not in cache:
        cols = ModelColumns(dataset, ("P", "HHL", "PV"))
        result = {name: cols.empty() for name in ("HHL", "P")}
        for i in range(cols.outer):
            found = isosurface(cols, i, np.abs(cols["PV", i]), [value], ["HHL", "P"], from_top=True)
            for name in result:
                result[name][i] = found[name][0]
        cache[key] = {name: cols.wrap(values) for name, values in result.items()}
    return cache[key]


_SURFACE_DOC = r"""{what} of the dynamic tropopause: the surface :math:`|\mathrm{{PV}}|` = ``value`` (default 2 PVU)
    [{units}].

    Searching down from the model top, the first pair of full levels between which :math:`|\mathrm{{PV}}|`
    crosses the value; {what_lower} interpolated linearly in PV between them (meteodata-lab
    ``interpolate_k2any``, fieldextra ``intpl_k2pv``). The absolute value gives the southern
    hemisphere's tropopause too. Missing where :math:`|\mathrm{{PV}}|` stays on one side of the value.
    """


def _h_pv(dataset: xr.Dataset, *, cache: dict, value) -> xr.DataArray:
    return pv_surface(dataset, cache, value)["HHL"]


def _p_pv(dataset: xr.Dataset, *, cache: dict, value) -> xr.DataArray:
    return pv_surface(dataset, cache, value)["P"]


_h_pv.__doc__ = _SURFACE_DOC.format(what="Height above sea level", what_lower="the height", units="m")
_p_pv.__doc__ = _SURFACE_DOC.format(what="Pressure", what_lower="the pressure", units="Pa")

_PV_SURFACE = FixedSurface(109, 2.0 * PVU)
"""The 2-PVU surface (code table 4.5: 109, potential vorticity surface, K m2 kg-1 s-1)."""

registry.register(Product(
    name="PV",
    description="Ertel potential vorticity",
    units="K m2 kg-1 s-1",
    inputs=("U", "V", "W", "P", "T", "QV", "HHL"),
    function=_pv,
    standard_name="ertel_potential_vorticity",
    grib2=Grib2Parameter(2, 14, "POT_VORTIC"),
    options={"grid_file": Option(None, "ICON runs: the ICON grid file (clat, clon, neighbor_cell_index); None: the "
                                       "NetCDF file beside the run's files whose uuidOfHGrid is the run's",
                                       text=True)},
    preflight=preflight,
    reference="[Ertel1942]_; meteodata-lab operators/pot_vortic.py, curl.py, total_diff.py; ICON grid files "
              "(neighbor_cell_index) for the least-squares gradients",
    validation="meteodata-lab 0.8.2 compute_pot_vortic on the COSMO-like rotated sample (its float32 arithmetic): "
               "1e-4 relative + 1e-3 PVU; least-squares gradients on the real ICON grid file subset (R19B08): exact "
               "for linear fields (1e-12); MetPy 1.7.1 potential_vorticity_baroclinic on the IFS L137 file's "
               "pressure levels above 50 hPa (pure-pressure hybrid levels): 2 % (the discretisations differ)",
))

for _name, _function, _units, _standard, _grib2 in (
    ("PV_TH", _pv_th, "K m2 kg-1 s-1", "ertel_potential_vorticity", Grib2Parameter(2, 14, "POT_VORTIC")),
    ("P_TH", _p_th, "Pa", "air_pressure", Grib2Parameter(3, 0, "PTHETA")),
):
    registry.register(Product(
        name=_name,
        description=f"{'potential vorticity' if _name == 'PV_TH' else 'pressure'} on isentropic levels",
        units=_units,
        inputs=("P", "T", "HHL"),
        requires=("PV",),
        function=_function,
        standard_name=_standard,
        grib2=_grib2,
        options={"levels": Option(DEFAULT_THETA, "isentropic levels [K]"),
                 "fold": Option("low", "where theta crosses a level more than once: the lowest crossing, the highest, "
                                       "or missing (meteodata-lab low_fold, high_fold, undef_fold)", FOLDS)},
        reference="meteodata-lab operators/vertical_interpolation.py interpolate_k2theta; fieldextra intpl_k2theta",
        validation="meteodata-lab 0.8.2 interpolate_k2theta (low_fold, high_fold, undef_fold) on the ICON-like sample: "
                   "float32 rounding",
    ))

for _name, _function, _units, _grib2 in (
    # ecCodes reads WMO's height and pressure on a PV surface back as the generic h and P: local numbers
    ("H_PV", _h_pv, "m", local(203, _PV_SURFACE)),
    ("P_PV", _p_pv, "Pa", local(204, _PV_SURFACE)),
):
    registry.register(Product(
        name=_name,
        description=f"{'height above sea level' if _name == 'H_PV' else 'pressure'} of the 2-PVU dynamic tropopause",
        units=_units,
        inputs=("P", "HHL"),
        requires=("PV",),
        function=_function,
        grib2=_grib2,
        options={"value": Option(2.0 * PVU, "the PV of the surface [K m2 kg-1 s-1] (2e-6: 2 PVU)")},
        reference="the dynamic tropopause [Hoskins1985]_; meteodata-lab interpolate_k2any; fieldextra intpl_k2pv",
        validation="meteodata-lab 0.8.2 interpolate_k2any (high_fold) of the height and the pressure on |PV| of the "
                   "ICON-like sample: float32 rounding",
    ))
