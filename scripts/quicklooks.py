"""Snakemake script of rules quicklooks and quicklooks_time: the quicklooks of one lead time (its members
and the ensemble), or of the time products (see rules/report.smk)."""

import sys

from nwpflow.jobs.frame import end_job_process
from nwpflow.jobs.plots import run_quicklook_job

# Not in a `with` block: the traceback of a failure must still find the log open.
sys.stderr = open(snakemake.log[0], "w")  # noqa: F821 (injected by Snakemake)
run_quicklook_job(
    snakemake.params.files,  # noqa: F821
    snakemake.input.geometry,  # noqa: F821
    snakemake.output[0],  # noqa: F821
    statistics=snakemake.params.statistics,  # noqa: F821
    levels=snakemake.params.levels,  # noqa: F821
    styles=snakemake.params.styles,  # noqa: F821
)
end_job_process()  # skips the interpreter's teardown of every module
