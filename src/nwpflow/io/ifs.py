"""IFS files on hybrid model levels in the data model: ``P``, ``PS``, ``HHL``, ``HSURF`` and ``FIS`` from the
A/B coefficients (``pv`` key), ``lnsp``, ``T``, ``QV`` and the surface geopotential, with
:mod:`nwpflow.kernels.hybrid`. The derived fields are checked against their physical ranges like decoded
ones (:func:`nwpflow.io.checks.check_values`): a corrupt ``lnsp`` gives no surface pressure of 7e26 Pa.
"""

from __future__ import annotations

import numpy as np
import xarray as xr

from nwpflow import constants, kernels
from nwpflow.errors import InputError
from nwpflow.io.checks import check_values
from nwpflow.io.datamodel import FIELDS, FULL, HALF

HYBRID_SURFACE_FIELDS = {"lnsp", "FI"}
"""Fields that IFS files put on hybrid level 1 although they are surface fields."""

HYBRID_DERIVED: dict[str, tuple[str, ...]] = {
    "P": ("lnsp",),
    "PS": ("lnsp",),
    "HHL": ("lnsp", "T", "QV", "FI"),
    "HSURF": ("FI",),
    "FIS": ("FI",),
}
"""Data-model fields computed from the raw fields of an IFS hybrid-level file."""


def derive_hybrid(dataset: xr.Dataset, variables, wanted, paths, invalid: str = "error") -> xr.Dataset:
    """Turn the raw fields of an IFS hybrid-level file into P, PS, HHL, HSURF and FIS.

    ``variables``: ``{name: variable}`` of the reader, each with its ``messages`` (the ``pv`` key and where
    a bad derived value comes from); ``invalid``: as :func:`nwpflow.io.checks.check_values`.
    """
    want = set(wanted) if wanted is not None else set(HYBRID_DERIVED)
    want &= set(HYBRID_DERIVED)
    want -= {name for name in want if name in dataset and name not in HYBRID_SURFACE_FIELDS}
    if not want:
        return dataset
    pv = next((m.pv for v in variables.values() for m in v.messages if m.pv is not None), None)
    if pv is None:
        raise InputError("hybrid-level messages carry no A/B coefficients (pv key)", path=", ".join(paths),
                         field="pv")
    nhalf = pv.size // 2
    a, b = pv[:nhalf].astype(np.float64), pv[nhalf:].astype(np.float64)
    for name in sorted({raw for derived in want for raw in HYBRID_DERIVED[derived]}):
        if name not in dataset:
            held = ", ".join(sorted(dataset.data_vars))
            raise InputError(
                f"needed to compute {', '.join(sorted(d for d in want if name in HYBRID_DERIVED[d]))} on hybrid "
                f"levels but not found in {', '.join(repr(p) for p in paths)} (they hold: {held})",
                field=name,
            )

    def source(*names: str) -> tuple[str, str]:
        messages = [m for name in names if name in variables for m in variables[name].messages]
        shown = ", ".join(m.where() for m in messages[:3]) + (", ..." if len(messages) > 3 else "")
        return messages[0].path, f"computed from {' and '.join(names)} ({shown})"

    def checked(name: str, array: xr.DataArray, *raw: str) -> xr.DataArray:
        array = array.astype(np.float32)
        values = np.ascontiguousarray(array.values)
        path, where = source(*raw)
        check_values(values, name, path=path, where=where, invalid=invalid)
        return array.copy(data=values)

    out = {}
    if "lnsp" in dataset:
        with np.errstate(over="ignore"):  # an absurd lnsp gives inf, which the check reports
            surface_pressure = np.exp(dataset["lnsp"].astype(np.float64))
        out["PS"] = checked("PS", surface_pressure, "lnsp")
    if "FI" in dataset:
        fis = dataset["FI"]
        out["FIS"] = checked("FIS", fis, "FI")
        out["HSURF"] = checked("HSURF", xr.apply_ufunc(
            lambda phi: kernels.hybrid.geometric_height(np.ascontiguousarray(phi, dtype=np.float64),
                                                        constants.earth_radius, constants.g).astype(np.float32),
            out["FIS"],
        ), "FI")
    if want & {"P", "HHL"}:
        nlev = nhalf - 1
        p_full, z_half = _hybrid_columns(a, b, surface_pressure, dataset, nlev, "HHL" in want)
        out["P"] = checked("P", p_full, "lnsp")
        if z_half is not None:
            out["HHL"] = checked("HHL", z_half, "lnsp", "T", "QV", "FI")
    for name in ("lnsp", "FI"):
        if name in dataset:
            dataset = dataset.drop_vars(name)
    for name, array in out.items():
        if wanted is not None and name not in wanted:
            continue
        info = FIELDS[name]
        array = array.astype(np.float32)
        array.attrs = {"units": info.units, "long_name": info.long_name,
                       "standard_name": info.standard_name, "derived_from": "IFS hybrid levels"}
        dataset[name] = array
    return dataset


def _hybrid_columns(a, b, surface_pressure: xr.DataArray, dataset: xr.Dataset, nlev: int, with_heights: bool):
    """Full-level pressure and half-level heights for every (member, step) of the run (``surface_pressure``:
    float64, ``exp(lnsp)``)."""
    ps = surface_pressure
    hdims = [d for d in ps.dims if d in ("cell", "y", "x")]
    lead = [d for d in ps.dims if d not in hdims]
    ps_np = ps.transpose(*lead, *hdims).values
    ncol = int(np.prod([ps.sizes[d] for d in hdims]))
    lead_shape = ps_np.shape[: len(lead)]
    p_full = np.empty(lead_shape + (nlev, ncol), np.float32)
    z_half = np.empty(lead_shape + (nlev + 1, ncol), np.float32) if with_heights else None
    if with_heights:
        t = dataset["T"].transpose(*lead, FULL, *hdims).values.reshape(lead_shape + (nlev, ncol))
        q = dataset["QV"].transpose(*lead, FULL, *hdims).values.reshape(lead_shape + (nlev, ncol))
        fis = dataset["FI"]
        fis_lead = [d for d in fis.dims if d not in hdims]
        fis_np = fis.transpose(*fis_lead, *hdims).values.reshape(-1, ncol)
    for index in np.ndindex(*lead_shape):
        ps_col = ps_np[index].reshape(ncol)
        if with_heights:
            fis_col = fis_np[0] if fis_np.shape[0] == 1 else fis_np[np.ravel_multi_index(index, lead_shape)]
            pf, zh = kernels.hybrid.hybrid_pressure_and_height(
                a, b, ps_col, t[index], q[index], fis_col,
                constants.ifs_Rd, constants.ifs_Rv / constants.ifs_Rd - 1.0, constants.earth_radius, constants.g,
            )
            z_half[index] = zh
        else:
            pf = kernels.hybrid.full_level_pressure(kernels.hybrid.half_level_pressure(a, b, ps_col))
        p_full[index] = pf
    level = np.arange(1, nlev + 1, dtype=np.int32)
    dims_full = (*lead, FULL, *hdims)
    hshape = tuple(ps.sizes[d] for d in hdims)
    coords = {d: ps[d] for d in lead if d in ps.coords}
    p_da = xr.DataArray(p_full.reshape(lead_shape + (nlev,) + hshape), dims=dims_full,
                        coords={**coords, FULL: level})
    z_da = None
    if with_heights:
        z_da = xr.DataArray(z_half.reshape(lead_shape + (nlev + 1,) + hshape), dims=(*lead, HALF, *hdims),
                            coords={**coords, HALF: np.arange(1, nlev + 2, dtype=np.int32)})
    return p_da, z_da


__all__ = ["HYBRID_DERIVED", "HYBRID_SURFACE_FIELDS", "derive_hybrid"]
