# Where the config meets the code: validation, wildcard constraints, input functions.
#
# The logic lives in the package (src/nwpflow/workflow/, unit-tested in
# tests/test_workflow_helpers.py); the get_* functions here only pass `config` and wildcards on.

import os
import re

from snakemake.persistence import ParamsChange
from snakemake.utils import validate

from nwpflow import workflow as nwf


# Snakemake 9.27 lists the first output of every job under `--list-changes params`, changed or not:
# ParamsChange.__iter__ yields its files even when it holds no change (the fix of snakemake#3288, PR
# #3313, merges an unchanged record's files). The params carry nwpflow's code identity (rules/products.smk),
# so that listing must name exactly the outputs whose params changed.
ParamsChange.__iter__ = lambda self: iter(self.files if self else ())


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
# The config's digest, for the provenance record of every file (an environment variable, not a rule
# parameter: a config change that does not concern a product must not re-run it).
os.environ.update(nwf.config_env(config))


envvars:
    "NUMBA_CACHE_DIR",
    "NWPFLOW_CONFIG_DIGEST",


# With the SLURM executor: a job cancelled with scancel counts as failed (sacct: "CANCELLED by <uid>"),
# instead of being waited for (nwpflow.workflow.slurm).
nwf.patch_cancelled_state()


wildcard_constraints:
    **nwf.wildcard_constraints(config),


# Computed once per parse (they import the product registry or stat files).
WRITTEN_PRODUCTS = nwf.written_products(config)
TIME_PRODUCTS = nwf.time_products(config)
# The stamp rule warm_cache writes once every kernel is in numba's cache (rules/cache.smk), named by
# the content identity of the code it compiled. It is a target of the `all` rule, not an input of any job;
# a new warm-up makes no product out of date, and a job never waits for one (each kernel is compiled
# once, by whichever process needs it first, under a lock: nwpflow.kernels._cache).
WARM_STAMP = nwf.warm_stamp(config)
# The run's horizontal grid, written once (rules/grid.smk); every product file on ICON cells names it.
GRID_FILE = nwf.grid_template(config)
# Recipe files: one per written product (and the fan-in products), named by the content identity of its
# code, options and formats, an input of each of its jobs. Written here where missing: a new one is newer
# than the product's files, so its jobs run again (nwpflow.workflow.identity).
nwf.write_recipes(config, WRITTEN_PRODUCTS)
# Local disk a job asks for (MB): the jobs write only their output files, atomically, next to them.
DISK_MB = 1000
# {product: path} of the ensemble products one job per lead time writes (rules/fanin.smk).
ENSEMBLE_OUTPUTS = nwf.ensemble_lead_outputs(config)


def get_final_output():
    """What the default target builds: every product file, asked for by one file per job (a bundle
    job makes all of its files; nwpflow.workflow.target_files), and the warm-up of numba's cache."""
    return [*nwf.target_files(config), WARM_STAMP]


def get_damaged(templates):
    """Input function: a redo marker, written now, for each output of the job that exists but is not whole
    (truncated: nwpflow.workflow.damaged_markers), so that Snakemake runs the job again; usually none."""
    templates = list(templates)

    def get(wildcards):
        return nwf.damaged_markers(config, templates, dict(wildcards.items()))

    return get


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


# Looking at the products (rules/report.smk): checks beyond the schema, and the input functions.
import sys

from nwpflow.workflow import quicklooks as nwq

nwq.check_report_config(config)
if nwq.meteograms_skipped(config):
    print(f"nwpflow: no meteograms: {nwq.meteograms_skipped(config)}", file=sys.stderr)


def get_report_output():
    """What rule all asks for of the plotting rules (nothing where they are switched off)."""
    return nwq.report_targets(config)


def get_quicklook_files(wildcards):
    """{group: {product: file}} of the quicklook job of a lead time."""
    return nwq.quicklook_inputs(config, wildcards.run, wildcards.lead)


def get_quicklook_time_files(wildcards):
    """{group: {time product: file}} of the time products' quicklook job."""
    return nwq.quicklook_time_inputs(config, wildcards.run)


def get_quicklook_input(wildcards):
    """The product files of a lead time's quicklook job, and the map geometry."""
    return {"products": nwq.flat_files(get_quicklook_files(wildcards)),
            "geometry": nwq.grid_file(config).format(run=wildcards.run)}


def get_quicklook_time_input(wildcards):
    """The time products' files of their quicklook job, and the map geometry."""
    return {"products": nwq.flat_files(get_quicklook_time_files(wildcards)),
            "geometry": nwq.grid_file(config).format(run=wildcards.run)}


def get_quicklook_subcategory(wildcards):
    """The report's subcategory of a quicklook: its member, or the ensemble statistic."""
    if wildcards.group == nwf.ENSEMBLE_LABEL:
        return f"ensemble {wildcards.variant.split('-')[0]}"
    return f"member {wildcards.group}"


def get_quicklook_labels(wildcards, output):
    """The report's labels of a quicklook (member, lead and valid time, level, range), from its folder's frames.json."""
    return nwq.frame_labels(output[0], wildcards.group, wildcards.product, wildcards.variant)
