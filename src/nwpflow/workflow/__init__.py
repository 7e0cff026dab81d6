"""What the Snakemake rules need while Snakemake parses the workflow: plain functions of the config.

Everything ``rules/*.smk`` derives from the config is computed here and unit-tested
(``tests/test_workflow_helpers.py``, ``tests/test_workflow_config.py``), so that the ``.smk`` files only
wire things together. The rules import this package as ``nwf``; each function lives in one module:

* :mod:`~nwpflow.workflow.config` — values from ``snakemake --config`` and checks beyond the JSON schema;
* :mod:`~nwpflow.workflow.plan` — the products, their requirements, bundles, ensemble and time products;
* :mod:`~nwpflow.workflow.paths` — input files, outputs, logs and benchmark tables;
* :mod:`~nwpflow.workflow.targets` — what rule ``all`` asks for, one file per job;
* :mod:`~nwpflow.workflow.incremental` — which inputs are complete (``incremental``);
* :mod:`~nwpflow.workflow.resources` — memory of each kind of job, grown on each retry;
* :mod:`~nwpflow.workflow.cache` — numba's shared cache and the stamp of its warm-up;
* :mod:`~nwpflow.workflow.slurm` — a correction to the SLURM executor plugin's reading of job states.

Importing it loads the product registry and the data model's tables, but no numba, ecCodes or netCDF4
(``tests/test_architecture.py``); what runs inside a job is :mod:`nwpflow.jobs`.
"""

from nwpflow.errors import ConfigError
from nwpflow.naming import lead_code, lead_label, member_label, parse_label
from nwpflow.workflow.cache import numba_cache_env, package_fingerprint, warm_stamp
from nwpflow.workflow.config import KEY_HINTS, check_config, check_known_keys, coerce_config, load_schema, preset
from nwpflow.workflow.incremental import available_inputs, input_complete
from nwpflow.workflow.paths import (
    BENCHMARK_DIR,
    ENSEMBLE_LABEL,
    JOB_PATH,
    LOG_DIR,
    PATTERN_FIELDS,
    SAMPLE_CONSTANTS,
    SAMPLE_PATTERN,
    TIME_LABEL,
    benchmark_template,
    bundle_benchmark_template,
    bundle_log_template,
    ensemble_lead_inputs,
    ensemble_lead_outputs,
    ensemble_outputs,
    ensemble_template,
    ensemble_time_template,
    fanin_formats,
    fanin_output_templates,
    grib_template_inputs,
    input_file_name,
    input_layout,
    job_inputs,
    log_template,
    output_template,
    output_templates,
    product_formats,
    product_outputs,
    required_files,
    sample_files,
    time_inputs,
    time_outputs,
    time_template,
    wildcard_constraints,
)
from nwpflow.workflow.plan import (
    bundle_of,
    bundles,
    configured_products,
    ensemble_members,
    ensemble_products,
    ensemble_thresholds,
    ensemble_time_products,
    is_activated,
    product_inputs,
    product_names,
    product_options,
    product_requires,
    required_products,
    rule_products,
    time_products,
    written_products,
)
from nwpflow.workflow.resources import (
    bundle_mem_mb,
    domain_size,
    ensemble_mem_mb,
    estimate_mem_mb,
    product_mem_mb,
    retried,
    time_mem_mb,
)
from nwpflow.workflow.slurm import patch_cancelled_state
from nwpflow.workflow.targets import final_outputs, target_files

__all__ = [
    "BENCHMARK_DIR",
    "ConfigError",
    "ENSEMBLE_LABEL",
    "JOB_PATH",
    "KEY_HINTS",
    "LOG_DIR",
    "PATTERN_FIELDS",
    "SAMPLE_CONSTANTS",
    "SAMPLE_PATTERN",
    "TIME_LABEL",
    "available_inputs",
    "benchmark_template",
    "bundle_benchmark_template",
    "bundle_log_template",
    "bundle_mem_mb",
    "bundle_of",
    "bundles",
    "check_config",
    "check_known_keys",
    "coerce_config",
    "configured_products",
    "domain_size",
    "ensemble_lead_inputs",
    "ensemble_lead_outputs",
    "ensemble_mem_mb",
    "ensemble_members",
    "ensemble_outputs",
    "ensemble_products",
    "ensemble_template",
    "ensemble_thresholds",
    "ensemble_time_products",
    "ensemble_time_template",
    "estimate_mem_mb",
    "fanin_formats",
    "fanin_output_templates",
    "final_outputs",
    "grib_template_inputs",
    "input_complete",
    "input_file_name",
    "input_layout",
    "is_activated",
    "job_inputs",
    "lead_code",
    "lead_label",
    "load_schema",
    "log_template",
    "member_label",
    "numba_cache_env",
    "output_template",
    "output_templates",
    "package_fingerprint",
    "parse_label",
    "patch_cancelled_state",
    "preset",
    "product_formats",
    "product_inputs",
    "product_mem_mb",
    "product_names",
    "product_options",
    "product_outputs",
    "product_requires",
    "required_files",
    "required_products",
    "retried",
    "rule_products",
    "sample_files",
    "target_files",
    "time_inputs",
    "time_mem_mb",
    "time_outputs",
    "time_products",
    "time_template",
    "warm_stamp",
    "wildcard_constraints",
    "written_products",
]
