"""Snakemake script of rule quicklook_grid: the map geometry of the run's grid (see rules/report.smk)."""

import sys

from nwpflow.jobs.frame import end_job_process
from nwpflow.jobs.plots import run_grid_job

# Not in a `with` block: the traceback of a failure must still find the log open.
sys.stderr = open(snakemake.log[0], "w")  # noqa: F821 (injected by Snakemake)
run_grid_job(
    snakemake.input[0],  # noqa: F821
    snakemake.output[0],  # noqa: F821
    width=snakemake.params.width,  # noqa: F821
    grid_file=snakemake.params.grid_file,  # noqa: F821
)
end_job_process()  # skips the interpreter's teardown of every module
