"""Snakemake script of the product rules: compute one product for one member and lead time
(see rules/products.smk)."""

import sys

from nwpflow.jobs.compute import run_product_job
from nwpflow.jobs.frame import end_job_process

# Not in a `with` block: the traceback of a failure must still find the log open.
sys.stderr = open(snakemake.log[0], "w")  # noqa: F821 (injected by Snakemake)
run_product_job(
    snakemake.params.product,  # noqa: F821
    [*snakemake.input.data, *snakemake.input.requires],  # noqa: F821
    snakemake.output[0],  # noqa: F821
    threads=snakemake.threads,  # noqa: F821
    options=snakemake.params.options,  # noqa: F821
    formats=snakemake.params.formats,  # noqa: F821
    grib2=snakemake.params.grib2,  # noqa: F821
    **snakemake.params.read,  # noqa: F821 (member, lead time, invalid_values)
    grid=snakemake.input.grid,  # noqa: F821
)
end_job_process()  # skips the interpreter's teardown of every module
