"""A correction to snakemake-executor-plugin-slurm's reading of job states, applied while Snakemake parses.

The plugin (2.6.1 to 2.8.0, the newest release) reads each job's state with ``sacct -X --parsable2
--format=JobIdRaw,State`` and compares it with fixed names (``COMPLETED``, ``FAILED``, ``CANCELLED``, ...).
A job cancelled by a person or by a suite (``scancel``) has the state ``CANCELLED by <uid>`` in sacct, which
matches no name: the plugin takes the job for a running one and waits for it forever (seen on the test
cluster, SLURM 22.05; the pre-plugin Snakemake SLURM profile fixed the same case, Snakemake-Profiles/slurm
PR 22). :func:`patch_cancelled_state` makes the plugin see the first word of each state only, so such a job
is reported as failed (and retried per ``--retries``). It changes nothing where the plugin is not loaded (a
local run), and nothing else in the plugin.
"""

from __future__ import annotations

import sys

PLUGIN = "snakemake_executor_plugin_slurm"
"""The executor plugin's module; Snakemake imports it at start-up wherever it is installed."""


def job_state(state: str) -> str:
    """Return the state name of a sacct ``State`` value: ``"CANCELLED by 1000"`` -> ``"CANCELLED"``."""
    return state.split(" ", 1)[0]


def patch_cancelled_state() -> bool:
    """Make the loaded SLURM executor plugin read ``CANCELLED by <uid>`` as ``CANCELLED``.

    Wraps the plugin's ``query_job_status`` (the coroutine behind its status checks, sacct or squeue) so
    that every state it returns goes through :func:`job_state`. Idempotent. Returns whether the plugin is
    loaded (and now wrapped).
    """
    plugin = sys.modules.get(PLUGIN)
    if plugin is None or not hasattr(plugin, "query_job_status"):
        return False
    original = plugin.query_job_status
    if getattr(original, "nwpflow_job_state", False):
        return True

    async def query_job_status(command, logger):
        states, duration = await original(command, logger)
        if states is not None:
            states = {job: job_state(state) for job, state in states.items()}
        return states, duration

    query_job_status.nwpflow_job_state = True
    plugin.query_job_status = query_job_status
    return True


__all__ = ["PLUGIN", "job_state", "patch_cancelled_state"]
