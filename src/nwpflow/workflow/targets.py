"""What the default target builds: every product, ensemble and time product file, one target per job."""

from __future__ import annotations

from collections.abc import Mapping

from nwpflow.naming import lead_label
from nwpflow.workflow.incremental import available_inputs
from nwpflow.workflow.paths import (
    _format_job,
    ensemble_lead_outputs,
    ensemble_outputs,
    output_template,
    product_outputs,
    time_outputs,
)
from nwpflow.workflow.plan import bundles

def final_outputs(config: Mapping) -> list[str]:
    """Return every file the default target builds: products, then ensemble products, then time products.

    Parameters
    ----------
    config : Mapping
        The validated workflow config.

    Returns
    -------
    list of str
        :func:`product_outputs`, :func:`ensemble_outputs` and :func:`time_outputs`; with
        ``incremental`` only those whose inputs are complete now (:func:`available_inputs`).
    """
    available = available_inputs(config) if config.get("incremental") else None
    return (product_outputs(config, available) + ensemble_outputs(config, available)
            + time_outputs(config, available))


def target_files(config: Mapping) -> list[str]:
    """Return the inputs of rule ``all``: :func:`final_outputs`, with one file per job.

    A job that writes several files (a bundle, the ensemble products of a lead time) is asked for by one
    of them; Snakemake reruns a job when any of its outputs is missing, so the others are made all the
    same. This keeps the number of targets, which Snakemake's DAG building pays for one by one, at the
    number of jobs (an ICON-CH1-EPS day with the catalogue bundled: 7,106 product files, 374 jobs).
    """
    outputs = final_outputs(config)
    run = config["run"]["name"]
    job_of = {}  # path -> the job that writes it, for the files of jobs with several outputs
    for name, products in bundles(config).items():
        for product in products:
            template = output_template(config, product)
            for member in config["members"]:
                for lead in config["lead_times"]:
                    job_of[_format_job(template, config, member, lead)] = (name, member, lead)
    for template in ensemble_lead_outputs(config).values():
        for lead in config["lead_times"]:
            job_of[template.format(run=run, lead=lead_label(lead))] = ("ensemble", lead)
    seen = set()
    targets = []
    for path in outputs:
        job = job_of.get(path)
        if job is None or job not in seen:
            targets.append(path)
            seen.add(job)
    return targets
