"""Snakemake script of the bundle rules: compute several products of one member and lead time as one
dask.delayed graph (see rules/bundles.smk)."""

import sys

from nwpflow.jobs.bundle import run_bundle_job
from nwpflow.jobs.frame import end_job_process

# Not in a `with` block: the traceback of a failure must still find the log open.
sys.stderr = open(snakemake.log[0], "w")  # noqa: F821 (injected by Snakemake)
run_bundle_job(
    snakemake.params.products,  # noqa: F821
    [*snakemake.input.data, *snakemake.input.requires],  # noqa: F821
    {product: snakemake.output[product] for product in snakemake.params.products},  # noqa: F821
    threads=snakemake.threads,  # noqa: F821
    options=snakemake.params.options,  # noqa: F821
    formats=snakemake.params.formats,  # noqa: F821
    grib2=snakemake.params.grib2,  # noqa: F821
    **snakemake.params.read,  # noqa: F821 (member, lead time, invalid_values)
    grid=snakemake.input.grid,  # noqa: F821
)
end_job_process()  # skips the interpreter's teardown of every module
