# Where the config meets the code: validation, wildcard constraints, input functions.
#
# The logic lives in the package (src/nwpflow/workflow/, unit-tested in
# tests/test_workflow_helpers.py); the get_* functions here only pass `config` and wildcards on.

import os
import re

from snakemake.utils import validate

from nwpflow import workflow as nwf


# Unknown top-level keys first (the message names the allowed keys). `snakemake --config
# members=[0,1]` hands list and mapping items over as strings: convert those the schema types as
# numbers or booleans. Then check the config's shape and fill in defaults
# (config/schema.yaml), then what a schema cannot check: product names against the registry, the
# sample preset, members and lead times.
SCHEMA = nwf.load_schema(workflow.source_path("../config/schema.yaml"))
nwf.check_known_keys(config, SCHEMA)
nwf.coerce_config(config, SCHEMA)
validate(config, schema="../config/schema.yaml")
nwf.check_config(config)


# One on-disk numba cache for every job (config: numba_cache_dir), so that only the first job
# compiles the kernels: jobs are separate processes and inherit this process's environment (on
# SLURM each job re-parses this file and sets it again). Absolute, so a job's working directory
# does not matter. `envvars:` declares it, which makes Snakemake pass it on to remote jobs too.
os.environ.update(nwf.numba_cache_env(config))
# Where the nwpflow package is, for envs/nwpflow.post-deploy.sh (snakemake --sdm conda).
os.environ.update(NWPFLOW_SOURCE=workflow.basedir)


envvars:
    "NUMBA_CACHE_DIR",


wildcard_constraints:
    **nwf.wildcard_constraints(config),


# Computed once per parse (they import the product registry or stat files).
WRITTEN_PRODUCTS = nwf.written_products(config)
TIME_PRODUCTS = nwf.time_products(config)
# The stamp rule warm_cache writes once every kernel is in numba's cache (rules/cache.smk). Every
# job that runs kernels has it as an input, marked ancient(): it orders the warm-up before them, and
# a new warm-up (after a change of the code) does not make finished products out of date.
WARM_STAMP = nwf.warm_stamp(config)
# Local disk a job asks for (MB): the jobs write only their output files, atomically, next to them.
DISK_MB = 1000
# {product: path} of the ensemble products one job per lead time writes (rules/fanin.smk).
ENSEMBLE_OUTPUTS = nwf.ensemble_lead_outputs(config)


def get_final_output():
    """What the default target builds: every product file, asked for by one file per job (a bundle
    job makes all of its files; nwpflow.workflow.target_files)."""
    return nwf.target_files(config)


def get_sample_output():
    """Every file of the sample run the configured members and lead times need."""
    return nwf.sample_files(config)


def get_product_input(wildcards):
    """The model-output file and the constants file of one member and lead time."""
    return nwf.job_inputs(
        config, nwf.parse_label(wildcards.member), nwf.parse_label(wildcards.lead)
    )


def get_read_request(wildcards):
    """What a product or bundle job's inputs must hold (its member and lead time) and what the reader does
    with implausible values (config invalid_values): keyword arguments of nwpflow.open_run."""
    return {
        "members": [nwf.parse_label(wildcards.member)],
        "lead_times": [nwf.parse_label(wildcards.lead)],
        "invalid_values": config["invalid_values"],
    }


def get_product_mem_mb(product):
    """The mem_mb resource of one job of `product`."""
    return nwf.product_mem_mb(config, product)


def get_required_input(products):
    """Input function: the files of the products that `products` require and do not compute
    themselves (HPBL's job reads BRN.nc), for the job's member and lead time. A plain [] where there
    are none: Snakemake evaluates no function then (DAG building of ~10,000 jobs counts every call)."""
    inside = set(products)
    if not any(r not in inside for p in products for r in nwf.product_requires(p)):
        return []

    def get(wildcards):
        return nwf.required_files(
            config, products, nwf.parse_label(wildcards.member), nwf.parse_label(wildcards.lead)
        )

    return get


def get_ensemble_input(wildcards):
    """{product: its file of each member} of the ensemble products of the job's lead time."""
    return nwf.ensemble_lead_inputs(config, wildcards.run, wildcards.lead)


def get_ensemble_time_input(wildcards):
    """One time-product file per member, of the job's time product."""
    template = nwf.time_template(config)
    return [
        template.format(run=wildcards.run, member=nwf.member_label(m), name=wildcards.name)
        for m in nwf.ensemble_members(config)
    ]


def get_time_input(wildcards):
    """The field of the job's time product at every lead time of its member."""
    return nwf.time_inputs(config, wildcards.name, nwf.parse_label(wildcards.member))


def get_time_params(wildcards):
    """Field, kind and window (hours) of the job's time product."""
    field, kind, window = TIME_PRODUCTS[wildcards.name]
    return {"field": field, "kind": kind, "window": window}


def get_ensemble_time_thresholds(wildcards):
    """{time product: exceedance thresholds} of the job's time product (config ensemble.thresholds)."""
    return {wildcards.name: nwf.ensemble_thresholds(config, wildcards.name)}


def get_time_mem_mb(wildcards):
    """The mem_mb resource of one job of a time product."""
    return nwf.time_mem_mb(config, wildcards.name)


def exactly(names):
    """A wildcard constraint matching exactly `names` (nothing at all where there are none)."""
    return "|".join(re.escape(n) for n in names) or "(?!)"
