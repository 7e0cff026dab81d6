"""Snakemake script of rule `sample`: write the embedded sample run (see rules/sample.smk)."""

import sys

from nwpflow.jobs.frame import end_job_process
from nwpflow.jobs.sample import run_sample_job

# Not in a `with` block: the traceback of a failure must still find the log open.
sys.stderr = open(snakemake.log[0], "w")  # noqa: F821 (injected by Snakemake)
run_sample_job(
    snakemake.params.directory,  # noqa: F821
    preset=snakemake.params.preset,  # noqa: F821
    members=snakemake.params.members,  # noqa: F821
    lead_times=snakemake.params.lead_times,  # noqa: F821
    expected=list(snakemake.output),  # noqa: F821
)
end_job_process()  # skips the interpreter's teardown of every module
