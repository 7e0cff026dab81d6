"""Codes and names that kernels and their callers share, in a module without numba.

The product registry declares its options with these before any kernel is loaded (Snakemake's parse and
``nwpflow products`` import the registry, not numba); the kernel modules re-export them.
"""

from __future__ import annotations

# --- vertical interpolation (nwpflow.kernels.vertical) ---------------------------------------------

MISSING = -1
"""Bracket index of a target with no bracketing levels (above the model top, NaN in the column)."""

BELOW = -2
"""Bracket index of a target below the lowest model level (pressure above it, height under it)."""

LINEAR = 0
"""Weight linear in the coordinate (pressure or height)."""

LOG = 1
"""Weight linear in the logarithm of the coordinate (pressure only)."""

NEAREST = 2
"""Weight 0 or 1: the nearer of the two bracketing levels, the lower one on a tie (meteodata-lab
``nearest_sfc``)."""

# --- parcel ascent (nwpflow.kernels.convection) ----------------------------------------------------

OUTPUTS = ("cape", "cin", "lcl_height", "lfc_height", "el_height", "lcl_pressure", "lfc_pressure",
           "el_pressure")
"""Rows of the CAPE/CIN kernel's output: CAPE [J kg-1], CIN [J kg-1, >= 0], heights above ground [m] and
pressures [Pa] of the LCL, LFC and EL."""

PARCELS = {"mixed_layer": 0, "most_unstable": 1}
"""Parcel of the ascent -> its code in the kernel."""

DEFINITIONS = {"positive": 0, "metpy": 1}
"""Definition of CAPE and CIN -> its code in the kernel."""

# --- storm motion (nwpflow.kernels.kinematics) -------------------------------------------------------

STORM_MEANS = {"height": 0, "metpy": 1}
"""Layer means of the Bunkers storm motion -> their code in the kernel: height-weighted boxes above ground
(ICON, Bunkers 2000), or MetPy's continuous average over pressure."""

# --- wet-bulb temperature (nwpflow.kernels.wetbulb) --------------------------------------------------

WET_BULB_METHODS = {"normand": 0, "icon": 1}
"""Wet-bulb temperature methods -> their code in the kernel: Normand's rule on the CAPE ascent's
pseudo-adiabat, or the closed form of ICON's snowfall limit (Egger/Joss)."""

# --- layer statistics (nwpflow.kernels.layers) -------------------------------------------------------

LAYER_STATISTICS = {"integral": 0, "mean": 1, "max": 2, "min": 3}
"""Statistics over a layer -> their code in the kernel."""

LIFTED_PARCELS = {"surface": 2, "mixed_layer": 0}
"""Parcels of the lifted index -> their code (0 and 1 are the CAPE ascent's mixed-layer and most-unstable
parcels)."""
