"""Snakemake script of rule ensemble_time_product: statistics over the members of one time product
(see rules/fanin.smk)."""

import sys

from nwpflow.jobs.fanin import run_ensemble_job
from nwpflow.jobs.frame import end_job_process

# Not in a `with` block: the traceback of a failure must still find the log open.
sys.stderr = open(snakemake.log[0], "w")  # noqa: F821 (injected by Snakemake)
run_ensemble_job(
    {snakemake.wildcards.name: list(snakemake.input.members)},  # noqa: F821
    {snakemake.wildcards.name: snakemake.output[0]},  # noqa: F821
    statistics=snakemake.params.statistics,  # noqa: F821
    quantiles=snakemake.params.quantiles,  # noqa: F821
    thresholds=snakemake.params.thresholds,  # noqa: F821
    threads=snakemake.threads,  # noqa: F821
    formats=snakemake.params.formats,  # noqa: F821
    grib2=snakemake.params.grib2,  # noqa: F821
    grid=snakemake.input.grid,  # noqa: F821
    template=list(snakemake.input.template),  # noqa: F821
    invalid_values=snakemake.params.invalid_values,  # noqa: F821
)
end_job_process()  # skips the interpreter's teardown of every module
