"""Snakemake script of rule time_product: a statistic over lead-time windows of one member
(see rules/fanin.smk)."""

import sys

from nwpflow.jobs.fanin import run_time_job
from nwpflow.jobs.frame import end_job_process

# Not in a `with` block: the traceback of a failure must still find the log open.
sys.stderr = open(snakemake.log[0], "w")  # noqa: F821 (injected by Snakemake)
run_time_job(
    list(snakemake.input.fields),  # noqa: F821
    snakemake.output[0],  # noqa: F821
    **snakemake.params.spec,  # noqa: F821
    lead_times=snakemake.params.lead_times,  # noqa: F821
    threads=snakemake.threads,  # noqa: F821
    formats=snakemake.params.formats,  # noqa: F821
    grib2=snakemake.params.grib2,  # noqa: F821
    grid=snakemake.input.grid,  # noqa: F821
    template=list(snakemake.input.template),  # noqa: F821
    invalid_values=snakemake.params.invalid_values,  # noqa: F821
)
end_job_process()  # skips the interpreter's teardown of every module
