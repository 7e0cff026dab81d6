"""Snakemake script of rule warm_cache: compile every kernel into numba's shared on-disk cache, once
(see rules/cache.smk)."""

import sys

from nwpflow.jobs.frame import end_job_process
from nwpflow.jobs.warm import run_warm_job

# Not in a `with` block: the traceback of a failure must still find the log open.
sys.stderr = open(snakemake.log[0], "w")  # noqa: F821 (injected by Snakemake)
run_warm_job(
    snakemake.output[0],  # noqa: F821
    products=snakemake.params.products,  # noqa: F821
    options=snakemake.params.options,  # noqa: F821
    ensemble=snakemake.params.ensemble,  # noqa: F821
    time_products=snakemake.params.time_products,  # noqa: F821
    threads=snakemake.threads,  # noqa: F821
)
end_job_process()  # skips the interpreter's teardown of every module
