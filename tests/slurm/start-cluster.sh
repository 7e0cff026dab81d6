#!/usr/bin/env bash
# Start a single-node SLURM cluster on this machine for tests/test_slurm.py (and for trying
# profiles/slurm by hand): munged, slurmctld and slurmd, all on this host.
#
#   bash tests/slurm/start-cluster.sh        # install if missing, write the conf, start, wait for the node
#   sinfo; squeue --states=all                       # /etc/slurm/slurm.conf points at the test cluster
#   bash tests/slurm/stop-cluster.sh
#
# Everything lives in one state directory, $NWPFLOW_SLURM_DIR (default /tmp/nwpflow-slurm):
# slurm.conf, the daemons' logs, pid files, spool and saved state. /etc/slurm/slurm.conf (SLURM's
# compiled-in default) becomes a symbolic link to <state dir>/slurm.conf, so every SLURM command finds
# the cluster without SLURM_CONF: SLURM_CONF alone is not enough, because the plugin's job step
# (snakemake-executor-plugin-slurm-jobstep 0.6) removes every SLURM_* variable but the job's id from the
# environment of the `srun` it runs inside each job, and that srun then finds no configuration. An
# existing /etc/slurm/slurm.conf that is not such a link (a real cluster's) is never replaced: the
# script stops with an error instead. stop-cluster.sh removes the link.
#
# Needs root (the daemons run as root, SlurmUser=root) and, when SLURM is not installed, apt-get: it
# installs the Debian packages slurmctld, slurmd, slurm-client and munge (22.05 on bookworm).
# Idempotent: when the cluster already answers, it says so and exits 0.
#
# Environment:
#   NWPFLOW_SLURM_DIR        state directory (default /tmp/nwpflow-slurm)
#   NWPFLOW_SLURM_PARTITION  the partition's name (default debug)
#   NWPFLOW_SLURM_PORT       slurmctld's port; slurmd uses the next one (default 6817)
#   NWPFLOW_SLURM_TIMEOUT    seconds to wait for the node to come up (default 60)
set -euo pipefail

STATE=${NWPFLOW_SLURM_DIR:-/tmp/nwpflow-slurm}
PARTITION=${NWPFLOW_SLURM_PARTITION:-debug}
PORT=${NWPFLOW_SLURM_PORT:-6817}
TIMEOUT=${NWPFLOW_SLURM_TIMEOUT:-60}
CONF=$STATE/slurm.conf
export SLURM_CONF=$CONF

say() { echo "start-cluster: $*"; }
die() { echo "start-cluster: ERROR: $*" >&2; exit 1; }

tails() {  # the last lines of every log, for an error message
    local f
    for f in "$STATE"/log/*.log /var/log/munge/munged.log; do
        [[ -s $f ]] || continue
        echo "----- tail of $f" >&2
        tail -n 25 "$f" >&2
    done
}

node_state() {  # the node's state as sinfo reports it (idle, mixed, down*, ...), empty if no answer
    timeout 10 sinfo --noheader --format=%T 2>/dev/null | head -n 1 || true
}

[[ $(id -u) -eq 0 ]] || die "must run as root (the test cluster's daemons run as root); skipping the cluster"
mkdir -p "$STATE"/{log,spool/slurmd,state,run}

# --- 1. install --------------------------------------------------------------------------------
missing=()
for exe in slurmctld slurmd sinfo munged; do
    command -v "$exe" >/dev/null 2>&1 || [[ -x /usr/sbin/$exe ]] || missing+=("$exe")
done
if ((${#missing[@]})); then
    command -v apt-get >/dev/null 2>&1 \
        || die "SLURM is not installed (${missing[*]} missing) and apt-get is unavailable"
    say "installing slurmctld slurmd slurm-client munge (missing: ${missing[*]})"
    export DEBIAN_FRONTEND=noninteractive
    APT_LOG=$STATE/log/apt.txt
    apt_install() { apt-get install -y --no-install-recommends slurmctld slurmd slurm-client munge >>"$APT_LOG" 2>&1; }
    # Keep the packages' scripts from starting the daemons with the system's (absent) configuration:
    # a policy-rc.d that denies every start, for the install only (docker images ship one).
    own_policy=""
    if [[ ! -e /usr/sbin/policy-rc.d ]]; then
        printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d && chmod +x /usr/sbin/policy-rc.d && own_policy=1
    fi
    # The package index may be absent on a fresh machine (e.g. a docker image): update once if needed.
    ok=1
    apt_install || { apt-get update >>"$APT_LOG" 2>&1 && apt_install; } || ok=""
    [[ -z $own_policy ]] || rm -f /usr/sbin/policy-rc.d
    if [[ -z $ok ]]; then
        tail -n 20 "$APT_LOG" >&2
        die "apt-get install failed (full log: $APT_LOG)"
    fi
fi
export PATH=$PATH:/usr/sbin:/sbin

# --- 2. already up? ----------------------------------------------------------------------------
if [[ -f $CONF ]]; then
    state=$(node_state)
    case $state in
        idle* | mixed* | alloc* | completing*)
            if [[ -L /etc/slurm/slurm.conf && $(readlink /etc/slurm/slurm.conf) == "$CONF" ]]; then
                say "a cluster is already up (node $state, conf $CONF)"
                exit 0
            fi ;;
    esac
fi

# --- 3. slurm.conf -----------------------------------------------------------------------------
NODE=$(hostname -s)
CPUS=$(nproc)
total_mb=$(awk '/^MemTotal:/ {print int($2 / 1024)}' /proc/meminfo)
# A bit below the machine's memory: slurmd drains a node that has less than RealMemory.
MEM_MB=$((total_mb * 95 / 100))
cat >"$CONF" <<EOF
# Single-node test cluster of nwpflow, written by tests/slurm/start-cluster.sh: do not edit by hand.
ClusterName=nwpflow
SlurmctldHost=$NODE(127.0.0.1)
SlurmctldPort=$PORT
SlurmdPort=$((PORT + 1))
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
CredType=cred/munge
StateSaveLocation=$STATE/state
SlurmdSpoolDir=$STATE/spool/slurmd
SlurmctldPidFile=$STATE/run/slurmctld.pid
SlurmdPidFile=$STATE/run/slurmd.pid
SlurmctldLogFile=$STATE/log/slurmctld.log
SlurmdLogFile=$STATE/log/slurmd.log
SlurmctldDebug=info
SlurmdDebug=info
# No cgroups in a container: track processes by parent id, no task binding, no accounting.
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
JobCompType=jobcomp/none
# Consumable cores and memory: jobs share the node, each gets the cpus and memory it asks for.
SchedulerType=sched/backfill
SelectType=select/cons_tres
SelectTypeParameters=CR_Core_Memory
# Keep finished jobs in slurmctld for 10 minutes: without accounting, snakemake-executor-plugin-slurm
# reads job states with \`squeue --states=all\`, which needs them (its threshold is 3 x 40 s).
MinJobAge=600
ReturnToService=2
SlurmctldTimeout=30
SlurmdTimeout=60
InactiveLimit=0
KillWait=10
MpiDefault=none
MailProg=/bin/true
NodeName=$NODE NodeAddr=127.0.0.1 CPUs=$CPUS RealMemory=$MEM_MB State=UNKNOWN
PartitionName=$PARTITION Nodes=$NODE Default=YES MaxTime=INFINITE State=UP
EOF
say "wrote $CONF (node $NODE, $CPUS cpus, $MEM_MB MB, partition $PARTITION)"
SYSTEM_CONF=/etc/slurm/slurm.conf
if [[ -L $SYSTEM_CONF && $(readlink "$SYSTEM_CONF") == "$CONF" ]]; then
    :
elif [[ -e $SYSTEM_CONF ]] && ! grep -q "^# Single-node test cluster of nwpflow" "$SYSTEM_CONF" 2>/dev/null; then
    die "$SYSTEM_CONF exists and is not the test cluster's: not replacing it (this machine has a SLURM set-up)"
else
    mkdir -p /etc/slurm
    ln -sfn "$CONF" "$SYSTEM_CONF"
    say "linked $SYSTEM_CONF -> $CONF"
fi

# --- 4. munge ----------------------------------------------------------------------------------
if munge -n 2>/dev/null | unmunge >/dev/null 2>&1; then
    say "munged already running"
else
    if [[ ! -s /etc/munge/munge.key ]]; then
        say "creating /etc/munge/munge.key"
        mkdir -p /etc/munge
        if command -v mungekey >/dev/null 2>&1; then
            mungekey --create --keyfile=/etc/munge/munge.key --force
        else
            dd if=/dev/urandom of=/etc/munge/munge.key bs=1 count=1024 status=none
        fi
    fi
    mkdir -p /run/munge /var/lib/munge /var/log/munge
    if id munge >/dev/null 2>&1; then
        # As its own user, like the Debian service: munged refuses a key or folders owned by others.
        chown munge:munge /etc/munge /etc/munge/munge.key /run/munge /var/lib/munge /var/log/munge
        chmod 0700 /etc/munge; chmod 0600 /etc/munge/munge.key; chmod 0755 /run/munge
        runuser -u munge -- munged || die "munged did not start: $(tail -n 5 /var/log/munge/munged.log 2>/dev/null)"
    else
        munged --force || die "munged did not start: $(tail -n 5 /var/log/munge/munged.log 2>/dev/null)"
    fi
    touch "$STATE/run/munged.ours"  # stop-cluster.sh stops it only if we started it
    for _ in $(seq 20); do
        munge -n 2>/dev/null | unmunge >/dev/null 2>&1 && break
        sleep 0.5
    done
    munge -n | unmunge >/dev/null || die "munge does not answer"
    say "started munged"
fi

# --- 5. slurmctld and slurmd -------------------------------------------------------------------
running() {  # is the daemon of pid file $1 alive?
    [[ -s $1 ]] && kill -0 "$(cat "$1")" 2>/dev/null
}
if running "$STATE/run/slurmctld.pid"; then
    say "slurmctld already running, reconfiguring"
    scontrol reconfigure || true
else
    # -i: ignore a saved state this conf cannot read (e.g. after the node's cpus changed).
    slurmctld -i || { tails; die "slurmctld did not start"; }
    say "started slurmctld"
fi
if running "$STATE/run/slurmd.pid"; then
    say "slurmd already running"
else
    slurmd -N "$NODE" || { tails; die "slurmd did not start"; }
    say "started slurmd"
fi

# --- 6. wait for the node ----------------------------------------------------------------------
deadline=$((SECONDS + TIMEOUT))
state=""
while ((SECONDS < deadline)); do
    state=$(node_state)
    case $state in
        idle* | mixed* | alloc*) break ;;
        down* | drain*)
            # e.g. after a restart: a node that was down comes back on its own (ReturnToService=2),
            # a drained one needs resuming.
            scontrol update NodeName="$NODE" State=RESUME >/dev/null 2>&1 || true ;;
    esac
    sleep 1
done
case $state in
    idle* | mixed* | alloc*) ;;
    *)
        tails
        timeout 10 sinfo -N -l >&2 || true
        timeout 10 scontrol show node "$NODE" >&2 || true
        die "node $NODE is not up after ${TIMEOUT}s (state: '${state:-no answer}'); logs in $STATE/log" ;;
esac
say "cluster up: node $NODE $state, partition $PARTITION"
timeout 10 sinfo
