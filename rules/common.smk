# Where the config meets the code: validation, wildcard constraints, input functions.
#
# The logic lives in the package (src/nwpflow/workflow.py, unit-tested in
# tests/test_workflow_helpers.py); the get_* functions here only pass `config` and wildcards on.

import os

from snakemake.utils import validate

from nwpflow import workflow as nwf


# `snakemake --config members=[0,1]` hands list and mapping items over as strings: convert those
# the schema types as numbers or booleans. Then check the config's shape and fill in defaults
# (config/schema.yaml), then what a schema cannot check: product names against the registry, the
# sample preset, members and lead times.
nwf.coerce_config(config, nwf.load_schema(workflow.source_path("../config/schema.yaml")))
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


def get_final_output():
    """Every product file the default target builds."""
    return nwf.final_outputs(config)


def get_sample_output():
    """Every file of the sample run the configured members and lead times need."""
    return nwf.sample_files(config)


def get_product_input(wildcards):
    """The model-output file and the constants file of one member and lead time."""
    return nwf.job_inputs(
        config, nwf.parse_label(wildcards.member), nwf.parse_label(wildcards.lead)
    )


def get_product_mem_mb(product):
    """The mem_mb resource of one job of `product`."""
    return nwf.product_mem_mb(config, product)
