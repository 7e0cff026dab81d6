"""Snakemake script of rule run_record: the run's config, the provenance of its products and the runtimes
of its jobs, for the report (see rules/report.smk)."""

import sys

from nwpflow.jobs.frame import end_job_process
from nwpflow.jobs.plots import run_record_job

# Not in a `with` block: the traceback of a failure must still find the log open.
sys.stderr = open(snakemake.log[0], "w")  # noqa: F821 (injected by Snakemake)
run_record_job(
    snakemake.params.config,  # noqa: F821
    list(snakemake.input.products),  # noqa: F821
    snakemake.params.benchmarks,  # noqa: F821
    dict(snakemake.output.items()),  # noqa: F821
)
end_job_process()  # skips the interpreter's teardown of every module
