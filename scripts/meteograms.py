"""Snakemake script of rule meteograms: EPSgrams at the configured points and the tidy table of every
member's series there (see rules/report.smk)."""

import sys

from nwpflow.jobs.frame import end_job_process
from nwpflow.jobs.plots import run_meteogram_job

# Not in a `with` block: the traceback of a failure must still find the log open.
sys.stderr = open(snakemake.log[0], "w")  # noqa: F821 (injected by Snakemake)
points = snakemake.params.points  # noqa: F821
files = snakemake.params.files  # noqa: F821
run_meteogram_job(
    points,
    files["model"],
    files["products"],
    files["constants"],
    {point["name"]: path for point, path in zip(points, snakemake.output)},  # noqa: F821
    snakemake.output[-1],  # noqa: F821
    cape=snakemake.params.cape,  # noqa: F821
)
end_job_process()  # skips the interpreter's teardown of every module
