"""The grid job (rule ``grid``): the run's horizontal grid, written once into its output folder."""

from __future__ import annotations

import logging
import os
from collections.abc import Sequence
from pathlib import Path

from nwpflow import provenance
from nwpflow.io.grid import read_grid, write_grid
from nwpflow.jobs.frame import job
from nwpflow.products.identity import grid_identity

log = logging.getLogger("nwpflow")


def write_run_grid(inputs: Sequence[str | os.PathLike], output: str | os.PathLike) -> Path:
    """Read the horizontal grid of the run's files ``inputs`` (:func:`nwpflow.io.grid.read_grid`) and write
    it to ``output`` with its provenance record; return the path."""
    paths = [os.fspath(p) for p in inputs]
    origin = provenance.JobProvenance.start(paths, 1)
    grid = read_grid(paths)
    record = origin.record("grid", {}, grid_identity(), formats=["netcdf"], kind="grid")
    written = write_grid(grid, output, history=f"grid from {' '.join(map(os.path.basename, paths))}",
                         attributes={provenance.ATTRIBUTE: provenance.to_json(record)})
    log.info("grid (%s, %d cells%s) written to %s", grid.attrs.get("grid_type"), grid.sizes.get("cell", 0),
             ", with vertices" if "mesh" in grid else "", written)
    return written


def run_grid_job(inputs: Sequence[str | os.PathLike], output: str | os.PathLike) -> Path:
    """The grid job: :func:`write_run_grid` inside the frame of every job (its log)."""
    with job():
        return write_run_grid(inputs, output)


__all__ = ["run_grid_job", "write_run_grid"]
