#!/usr/bin/env bash
# Snakemake runs this once inside the new conda environment of envs/nwpflow.yaml (--sdm conda):
# install the nwpflow package from the project that the running workflow comes from.
# NWPFLOW_SOURCE is set by rules/common.smk to the folder of the Snakefile.
set -euo pipefail
pip install --no-deps -e "${NWPFLOW_SOURCE:?NWPFLOW_SOURCE is not set: run this through snakemake --sdm conda}"
