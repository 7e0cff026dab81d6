"""Snakemake script of rule grid: the run's horizontal grid, written once (see rules/grid.smk)."""

import sys

from nwpflow.jobs.frame import end_job_process
from nwpflow.jobs.grid import run_grid_job

# Not in a `with` block: the traceback of a failure must still find the log open.
sys.stderr = open(snakemake.log[0], "w")  # noqa: F821 (injected by Snakemake)
run_grid_job(list(snakemake.input), snakemake.output[0])  # noqa: F821
end_job_process()  # skips the interpreter's teardown of every module
