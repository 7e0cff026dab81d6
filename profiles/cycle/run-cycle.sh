#!/usr/bin/env bash
# Post-process one model cycle as its files arrive: the call an operational suite makes every few
# minutes while the model runs (cron, a Cylc task, an ecFlow task; profiles/README.md, "Cycle-driven
# operation"). Each call runs Snakemake once with `incremental=true`: it targets the lead times whose
# input files are complete (whole GRIB messages, the completion marker if run.ready_pattern names one,
# run.min_age_s) and computes what has become possible since the last call; what exists is skipped.
#
#   profiles/cycle/run-cycle.sh CYCLE INPUT_DIR [CONFIG_ITEM...]
#   profiles/cycle/run-cycle.sh 2026120500 /store/icon-ch1/2026120500 'members=[0,1,2]' 'lead_times=[0,1,2,3]'
#
# CYCLE names the run (results/<CYCLE>/...; letters, digits, '.', '_', '-'), INPUT_DIR holds its files
# (config run.constants and run.pattern: the MeteoSwiss layout by default). CONFIG_ITEMs are passed to
# `snakemake --config` after the script's own, so they win (members, lead times, products, domain size,
# run.ready_pattern, ...).
#
# Exit status: 0 when the call did its work (or found a previous call of the same cycle still running:
# it then does nothing, so a cron interval shorter than a call is harmless); Snakemake's non-zero status
# when a job failed (Snakemake names the job's log; the next call retries what is missing). When every
# product of the cycle exists, the call says "cycle <CYCLE> complete" and writes <cycle dir>/complete:
# a suite stops calling then (cron: the caller checks the file; Cylc/ecFlow: NWPFLOW_CYCLE_POLL makes
# one call loop until complete).
#
# Environment:
#   NWPFLOW_CYCLE_WORKDIR   base folder (default: the current directory). Products go to
#                           <base>/results/<CYCLE>/, the numba cache to <base>/numba-cache, and each cycle
#                           runs Snakemake in <base>/cycles/<CYCLE>/ (its logs, Snakemake's lock and
#                           metadata, the SLURM logs), so that cycles may overlap.
#   NWPFLOW_PROFILE         Snakemake workflow profile (default: profiles/slurm of this project).
#   NWPFLOW_SNAKEMAKE       the snakemake command (default: .venv/bin/snakemake of this project if it
#                           exists, else snakemake on PATH).
#   NWPFLOW_SNAKEMAKE_ARGS  further snakemake options, split on white space.
#   NWPFLOW_CYCLE_POLL      seconds: call Snakemake again every so many seconds until the cycle is
#                           complete (default 0: one call).
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
usage() { echo "usage: $0 CYCLE INPUT_DIR [CONFIG_ITEM...]" >&2; exit 2; }
(($# >= 2)) || usage
CYCLE=$1
INPUT_DIR=$(cd "$2" 2>/dev/null && pwd) || { echo "run-cycle: input folder $2 does not exist" >&2; exit 2; }
shift 2
[[ $CYCLE =~ ^[A-Za-z0-9._-]+$ ]] || { echo "run-cycle: cycle name '$CYCLE': use letters, digits, '.', '_', '-'" >&2; exit 2; }

BASE=$(mkdir -p "${NWPFLOW_CYCLE_WORKDIR:-.}" && cd "${NWPFLOW_CYCLE_WORKDIR:-.}" && pwd)
CYCLE_DIR=$BASE/cycles/$CYCLE
PROFILE=${NWPFLOW_PROFILE:-$ROOT/profiles/slurm}
if [[ -n ${NWPFLOW_SNAKEMAKE:-} ]]; then
    read -r -a SNAKEMAKE <<<"$NWPFLOW_SNAKEMAKE"
elif [[ -x $ROOT/.venv/bin/snakemake ]]; then
    SNAKEMAKE=("$ROOT/.venv/bin/snakemake")
else
    SNAKEMAKE=(snakemake)
fi
read -r -a EXTRA <<<"${NWPFLOW_SNAKEMAKE_ARGS:-}"
POLL=${NWPFLOW_CYCLE_POLL:-0}
mkdir -p "$CYCLE_DIR"

# One call per cycle at a time: a call that finds the previous one still running leaves it alone.
exec 9>"$CYCLE_DIR/run-cycle.lock"
if ! flock --nonblock 9; then
    echo "run-cycle: cycle $CYCLE: a previous call is still running; nothing to do"
    exit 0
fi

snakemake_cycle() {  # snakemake_cycle INCREMENTAL [OPTION...]
    local incremental=$1
    shift
    "${SNAKEMAKE[@]}" --snakefile "$ROOT/Snakefile" --configfile "$ROOT/config/config.yaml" \
        --directory "$CYCLE_DIR" --workflow-profile "$PROFILE" "${EXTRA[@]}" "$@" \
        --config 'sample={activate: false}' "run={name: $CYCLE, input_dir: $INPUT_DIR}" \
        "output_dir=$BASE/results" "numba_cache_dir=$BASE/numba-cache" "incremental=$incremental" "${CONFIG_ITEMS[@]}"
}
CONFIG_ITEMS=("$@")

while true; do
    echo "run-cycle: cycle $CYCLE: $(date -u +%FT%TZ): processing the lead times that are complete"
    snakemake_cycle true
    # Complete when the whole cycle's target has nothing left to do (a dry run, without incremental:
    # it fails while input files are missing). Read whole before matching: `| grep -q` would stop reading
    # at the match, and Snakemake's next line would fail on the closed pipe (pipefail).
    summary=$(snakemake_cycle false --dry-run --quiet 2>/dev/null || true)
    if [[ $summary == *"Nothing to be done"* ]]; then
        touch "$CYCLE_DIR/complete"
        echo "run-cycle: cycle $CYCLE complete"
        exit 0
    fi
    ((POLL > 0)) || exit 0
    sleep "$POLL"
done
