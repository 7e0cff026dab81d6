#!/usr/bin/env bash
# Stop the test cluster that tests/slurm/start-cluster.sh started: slurmd, slurmctld, slurmdbd,
# MariaDB and (only if that script started it) munged, each by the pid in its pid file, and remove the
# link /etc/slurm/slurm.conf -> <state dir>/slurm.conf. Running jobs are cancelled. The state
# directory ($NWPFLOW_SLURM_DIR, default /tmp/nwpflow-slurm) is kept, logs and the accounting
# database included (the next start finds its jobs, cluster and account again); `--purge` removes it
# as well. Safe to run when nothing is running.
set -uo pipefail

STATE=${NWPFLOW_SLURM_DIR:-/tmp/nwpflow-slurm}
export SLURM_CONF=$STATE/slurm.conf
export PATH=$PATH:/usr/sbin:/sbin

say() { echo "stop-cluster: $*"; }

stop() {  # stop the daemon of pid file $2 (name $1): TERM, wait up to 15 s, then KILL
    local name=$1 pidfile=$2 pid
    if [[ ! -s $pidfile ]] || ! kill -0 "$(cat "$pidfile")" 2>/dev/null; then
        say "$name not running"
        rm -f "$pidfile"
        return
    fi
    pid=$(cat "$pidfile")
    kill -TERM "$pid"
    for _ in $(seq 30); do
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.5
    done
    if kill -0 "$pid" 2>/dev/null; then
        say "$name ($pid) still running after 15 s, killing it"
        kill -KILL "$pid" 2>/dev/null
    fi
    rm -f "$pidfile"
    say "stopped $name ($pid)"
}

if [[ -f $SLURM_CONF ]] && command -v scancel >/dev/null 2>&1; then
    timeout 10 scancel --full --quiet --partition "$(timeout 10 sinfo --noheader --format=%R 2>/dev/null | head -n 1)" \
        >/dev/null 2>&1 || true
fi
stop slurmd "$STATE/run/slurmd.pid"
stop slurmctld "$STATE/run/slurmctld.pid"
stop slurmdbd "$STATE/run/slurmdbd.pid"
stop MariaDB "$STATE/run/mysqld/mysqld.pid"
if [[ -f $STATE/run/munged.ours ]]; then
    stop munged /run/munge/munged.pid
    rm -f "$STATE/run/munged.ours"
else
    say "munged was not started by start-cluster.sh: left running"
fi
if [[ -L /etc/slurm/slurm.conf && $(readlink /etc/slurm/slurm.conf) == "$SLURM_CONF" ]]; then
    rm -f /etc/slurm/slurm.conf
    say "removed the link /etc/slurm/slurm.conf"
fi
if [[ ${1:-} == --purge ]]; then
    rm -rf "$STATE"
    say "removed $STATE"
fi
