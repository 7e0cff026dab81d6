# nwpflow: post-processing of ICON/COSMO model output. This file only wires things together:
# config in config/config.yaml (schema config/schema.yaml), rules in rules/, job scripts in
# scripts/, the logic in the nwpflow package.

from snakemake.utils import min_version

min_version("9.0")


configfile: "config/config.yaml"


include: "rules/common.smk"
include: "rules/sample.smk"
include: "rules/cache.smk"
include: "rules/grid.smk"
include: "rules/products.smk"
include: "rules/bundles.smk"
include: "rules/fanin.smk"
include: "rules/report.smk"


rule all:
    default_target: True
    input:
        get_final_output(),
        get_report_output(),
