"""The sample presets: grids and sizes of the synthetic runs."""

from __future__ import annotations

from dataclasses import dataclass

@dataclass(frozen=True)
class IconGrid:
    """An ICON-like unstructured grid: ``ncells`` quasi-uniform cell centres over the domain.

    ``number_of_grid_used`` is written to the GRIB key ``numberOfGridUsed`` (MeteoSwiss: 1 for
    ICON-CH1's grid, 2 for ICON-CH2's; 0 marks a grid that exists only here). The cell centres, and
    the ``uuidOfHGrid`` that names them, depend on ``ncells`` only.
    """

    ncells: int
    number_of_grid_used: int = 0


@dataclass(frozen=True)
class RotatedGrid:
    """A COSMO-like regular grid in rotated coordinates (degrees), mass points.

    ``rlon0``/``rlat0`` is the south-west mass point; U lies ``dlon/2`` east and V ``dlat/2`` north of
    the mass points (Arakawa C grid). The default pole is COSMO-1E's.
    """

    nx: int
    ny: int
    dlon: float
    dlat: float
    rlon0: float
    rlat0: float
    south_pole_lat: float = -43.0
    south_pole_lon: float = 10.0


@dataclass(frozen=True)
class SamplePreset:
    """Sizes of a sample run. ``members``/``lead_times`` (hours) are defaults that
    :func:`write_sample` arguments override."""

    name: str
    description: str
    grid: IconGrid | RotatedGrid
    members: tuple[int, ...]
    lead_times: tuple[int, ...]
    nlev: int = 80


PRESETS: dict[str, SamplePreset] = {
    "small": SamplePreset(
        "small", "ICON-like unstructured grid, 5000 cells, 80 levels, 3 members, 0-3 h (the pipeline's default)",
        IconGrid(ncells=5000), members=(0, 1, 2), lead_times=(0, 1, 2, 3)),
    "cosmo-small": SamplePreset(
        "cosmo-small", "COSMO-like rotated-pole grid 80 x 60 at 0.15 deg (COSMO-1E's domain and pole), "
        "80 levels, C-grid staggered U/V, 2 members, 0-1 h",
        RotatedGrid(nx=80, ny=60, dlon=0.15, dlat=0.15, rlon0=-6.82, rlat0=-4.42), members=(0, 1),
        lead_times=(0, 1)),
    "icon-ch2": SamplePreset(
        "icon-ch2", "ICON-CH2 size: 283,876 cells x 80 levels, one member, +1 h (benchmark)",
        IconGrid(ncells=283_876, number_of_grid_used=2), members=(0,), lead_times=(1,)),
    "icon-ch1": SamplePreset(
        "icon-ch1", "ICON-CH1 size: 1,147,980 cells x 80 levels, one member, +1 h (benchmark)",
        IconGrid(ncells=1_147_980, number_of_grid_used=1), members=(0,), lead_times=(1,)),
}
"""The named sample runs. Use :func:`dataclasses.replace` on one of them for other sizes."""

PACKINGS = ("grid_simple", "grid_ccsds")
"""GRIB2 packings :func:`write_sample` accepts."""


def list_presets() -> list[str]:
    """Return the names of the sample presets, smallest first."""
    return list(PRESETS)

