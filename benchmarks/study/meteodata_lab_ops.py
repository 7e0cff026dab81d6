"""meteodata-lab's operators for the products both it and nwpflow compute (:mod:`.peers`, :mod:`.end_to_end`).

Light on purpose: the end-to-end job imports it in a fresh interpreter, and only meteodata-lab is its cost.
"""

from __future__ import annotations

from meteodatalab.operators.brn import fbrn
from meteodatalab.operators.hzerocl import fhzerocl
from meteodatalab.operators.relhum import relhum
from meteodatalab.operators.theta import compute_theta
from meteodatalab.operators.thetav import fthetav
from meteodatalab.operators.vertical_interpolation import interpolate_k2p

PRESSURES = [100000.0, 92500.0, 85000.0, 70000.0, 50000.0, 40000.0, 30000.0, 25000.0, 20000.0]
"""Target pressures [Pa] of T on pressure levels (nwpflow's default T_PL levels)."""


def operators(f: dict) -> dict:
    """Product -> a call of meteodata-lab's operator on the DataArrays ``f`` (P, T, QV, U, V, HHL, HSURF as its
    GRIB reader gives them; RELHUM over water without clipping, HZEROCL without extrapolation, T_PL linear in
    ln p)."""
    return {
        "BRN": lambda: fbrn(f["P"], f["T"], f["QV"], f["U"], f["V"], f["HHL"], f["HSURF"]),
        "THETA": lambda: compute_theta(f["P"], f["T"]),
        "THETA_V": lambda: fthetav(f["P"], f["T"], f["QV"]),
        "RELHUM": lambda: relhum(f["QV"] / (1 - f["QV"]), f["T"], f["P"], clipping=False, phase="water"),
        "HZEROCL": lambda: fhzerocl(f["T"], f["HHL"], extrapolate=False),
        "T_PL": lambda: interpolate_k2p(f["T"], "linear_in_lnp", f["P"], PRESSURES, "Pa"),
    }
