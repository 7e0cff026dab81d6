#!/usr/bin/env bash
# Start a single-node SLURM cluster with accounting on this machine, for tests/test_slurm.py (and for
# trying profiles/slurm by hand): munged, MariaDB, slurmdbd, slurmctld and slurmd, all on this host,
# as a real site runs them (the accounting database behind sacct, sacctmgr and the executor plugin's
# default status command; memory limits enforced).
#
#   bash tests/slurm/start-cluster.sh        # install if missing, write the confs, start, register, wait
#   sinfo; sacct; sacctmgr show assoc        # /etc/slurm/slurm.conf points at the test cluster
#   bash tests/slurm/stop-cluster.sh
#
# Everything lives in one state directory, $NWPFLOW_SLURM_DIR (default /tmp/nwpflow-slurm):
# slurm.conf, slurmdbd.conf (mode 600: it holds the database password), the daemons' logs, pid files,
# spool, saved state and MariaDB's data (mysql/, owned by the mysql user). /etc/slurm/slurm.conf
# (SLURM's compiled-in default) becomes a symbolic link to <state dir>/slurm.conf, so every SLURM
# command finds the cluster without SLURM_CONF: SLURM_CONF alone is not enough, because the plugin's
# job step (snakemake-executor-plugin-slurm-jobstep 0.6) removes every SLURM_* variable but the job's
# id from the environment of the `srun` it runs inside each job, and that srun then finds no
# configuration. An existing /etc/slurm/slurm.conf that is not such a link (a real cluster's) is never
# replaced: the script stops with an error instead. stop-cluster.sh removes the link.
#
# The daemons are plain background processes (no systemd), each stopped by its pid file. Accounting:
# cluster `nwpflow`, account `nwpflow`, user root in it (its default account); associations are
# enforced (AccountingStorageEnforce), so a job must name a valid account or have a default one, as on
# a production cluster. Memory: every job gets --mem; jobacct_gather/linux samples each step's memory
# every second (JobAcctGatherFrequency) and kills a step above its request (OverMemoryKill): the job's
# log says "exceeded memory limit", sacct shows it FAILED with signal 9 (ExitCode 0:9; a site with
# task/cgroup sees OUT_OF_MEMORY). No cgroups in a container: ProctrackType=proctrack/linuxproc.
#
# Needs root (the SLURM daemons run as root, SlurmUser=root; MariaDB as mysql) and, when something is
# not installed, apt-get: it installs the Debian packages slurmctld, slurmd, slurm-client, slurmdbd,
# munge and mariadb-server (SLURM 22.05, MariaDB 10.11 on bookworm).
# Idempotent: a daemon that is running is left running (slurmctld reconfigured), the database and the
# accounting entries are created only where missing; a second call changes nothing and exits 0.
#
# Environment:
#   NWPFLOW_SLURM_DIR        state directory (default /tmp/nwpflow-slurm)
#   NWPFLOW_SLURM_PARTITION  the partition's name (default debug)
#   NWPFLOW_SLURM_PORT       slurmctld's port; slurmd uses the next one, slurmdbd the one after, MariaDB
#                            the one after that (default 6817: 6817, 6818, 6819, 6820)
#   NWPFLOW_SLURM_TIMEOUT    seconds to wait for each daemon and the node to come up (default 60)
set -euo pipefail

STATE=${NWPFLOW_SLURM_DIR:-/tmp/nwpflow-slurm}
PARTITION=${NWPFLOW_SLURM_PARTITION:-debug}
PORT=${NWPFLOW_SLURM_PORT:-6817}
DBD_PORT=$((PORT + 2))
DB_PORT=$((PORT + 3))
TIMEOUT=${NWPFLOW_SLURM_TIMEOUT:-60}
CONF=$STATE/slurm.conf
DBD_CONF=$STATE/slurmdbd.conf
DB_DIR=$STATE/mysql
DB_RUN=$STATE/run/mysqld
DB_SOCKET=$DB_RUN/mysqld.sock
CLUSTER=nwpflow
ACCOUNT=nwpflow
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

running() {  # is the daemon of pid file $1 alive?
    [[ -s $1 ]] && kill -0 "$(cat "$1")" 2>/dev/null
}

wait_for() {  # wait_for WHAT COMMAND...: run COMMAND every 0.5 s until it succeeds, at most TIMEOUT s
    local what=$1 deadline=$((SECONDS + TIMEOUT))
    shift
    until "$@" >/dev/null 2>&1; do
        ((SECONDS < deadline)) || { tails; die "$what did not answer within ${TIMEOUT}s; logs in $STATE/log"; }
        sleep 0.5
    done
}

write_if_changed() {  # write_if_changed FILE MODE: standard input to FILE, only if it differs; 0 if written
    local file=$1 mode=$2 tmp
    tmp=$(mktemp "$file.XXXXXX")
    cat >"$tmp"
    chmod "$mode" "$tmp"
    if [[ -f $file ]] && cmp -s "$tmp" "$file"; then
        rm -f "$tmp"
        return 1
    fi
    mv -f "$tmp" "$file"
}

node_state() {  # the node's state as sinfo reports it (idle, mixed, down*, ...), empty if no answer
    timeout 10 sinfo --noheader --format=%T 2>/dev/null | head -n 1 || true
}

[[ $(id -u) -eq 0 ]] || die "must run as root (the test cluster's daemons run as root); skipping the cluster"
mkdir -p "$STATE"/{log,spool/slurmd,state,run}

# --- 1. install --------------------------------------------------------------------------------
PACKAGES=(slurmctld slurmd slurm-client slurmdbd munge mariadb-server)
missing=()
for exe in slurmctld slurmd sinfo sacct sacctmgr slurmdbd munged mariadbd mariadb-install-db; do
    command -v "$exe" >/dev/null 2>&1 || [[ -x /usr/sbin/$exe ]] || missing+=("$exe")
done
if ((${#missing[@]})); then
    command -v apt-get >/dev/null 2>&1 \
        || die "SLURM is not installed (${missing[*]} missing) and apt-get is unavailable"
    say "installing ${PACKAGES[*]} (missing: ${missing[*]})"
    export DEBIAN_FRONTEND=noninteractive
    APT_LOG=$STATE/log/apt.txt
    apt_install() { apt-get install -y --no-install-recommends "${PACKAGES[@]}" >>"$APT_LOG" 2>&1; }
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
id mysql >/dev/null 2>&1 || die "no user mysql (the mariadb-server package creates it)"

# --- 2. slurm.conf and slurmdbd.conf -----------------------------------------------------------
NODE=$(hostname -s)
CPUS=$(nproc)
total_mb=$(awk '/^MemTotal:/ {print int($2 / 1024)}' /proc/meminfo)
# A bit below the machine's memory: slurmd drains a node that has less than RealMemory.
MEM_MB=$((total_mb * 95 / 100))
conf_changed=""
write_if_changed "$CONF" 644 <<EOF && conf_changed=1
# Single-node test cluster of nwpflow, written by tests/slurm/start-cluster.sh: do not edit by hand.
ClusterName=$CLUSTER
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
# No cgroups in a container: track processes by parent id, no task binding.
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
# Accounting as on a production cluster: every job and step recorded by slurmdbd (sacct), jobs charged
# to an account whose association must exist (sacctmgr).
AccountingStorageType=accounting_storage/slurmdbd
AccountingStorageHost=127.0.0.1
AccountingStoragePort=$DBD_PORT
AccountingStorageEnforce=associations,limits,qos
# Keep each job's comment: the plugin writes the rule and wildcards there (its efficiency report's rule
# names; sacct --format=Comment).
AccountingStoreFlags=job_comment
JobCompType=jobcomp/none
# Each step's CPU time and memory sampled every second (sacct MaxRSS, the plugin's efficiency report);
# a step above its memory request is killed (signal 9), as the cgroup limit would on a real site.
JobAcctGatherType=jobacct_gather/linux
JobAcctGatherFrequency=task=1
JobAcctGatherParams=OverMemoryKill
# Consumable cores and memory: jobs share the node, each gets the cpus and memory it asks for.
SchedulerType=sched/backfill
SelectType=select/cons_tres
SelectTypeParameters=CR_Core_Memory
# SLURM's default: finished jobs are read from the accounting database (sacct), not from slurmctld.
MinJobAge=300
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
[[ -z $conf_changed ]] || say "wrote $CONF (node $NODE, $CPUS cpus, $MEM_MB MB, partition $PARTITION)"

# The database password: made once, kept in the state directory (mode 600) and slurmdbd.conf.
if [[ ! -s $STATE/db-password ]]; then
    (umask 077; head -c 18 /dev/urandom | base64 | tr -d '/+=' >"$STATE/db-password")
fi
DB_PASSWORD=$(cat "$STATE/db-password")
# slurmdbd reads slurmdbd.conf from the folder of SLURM_CONF, and refuses one that others can read.
write_if_changed "$DBD_CONF" 600 <<EOF && say "wrote $DBD_CONF" || true
# slurmdbd of nwpflow's test cluster, written by tests/slurm/start-cluster.sh: do not edit by hand.
AuthType=auth/munge
DbdHost=$NODE
DbdAddr=127.0.0.1
DbdPort=$DBD_PORT
SlurmUser=root
PidFile=$STATE/run/slurmdbd.pid
LogFile=$STATE/log/slurmdbd.log
DebugLevel=info
StorageType=accounting_storage/mysql
StorageHost=127.0.0.1
StoragePort=$DB_PORT
StorageUser=slurm
StoragePass=$DB_PASSWORD
StorageLoc=slurm_acct_db
EOF

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

# --- 3. munge ----------------------------------------------------------------------------------
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
    wait_for munged sh -c 'munge -n | unmunge'
    say "started munged"
fi

# --- 4. MariaDB (the accounting database) ------------------------------------------------------
# Its own data, socket and log folders, owned by mysql (mariadbd refuses others), on 127.0.0.1 only.
mkdir -p "$DB_DIR" "$DB_RUN"
touch "$STATE/log/mariadb.log"
chown mysql:mysql "$DB_DIR" "$DB_RUN" "$STATE/log/mariadb.log"
chmod 0750 "$DB_DIR"
db() { mariadb --no-defaults --protocol=socket --socket="$DB_SOCKET" -u root "$@"; }
if running "$DB_RUN/mysqld.pid"; then
    say "MariaDB already running"
else
    if [[ ! -d $DB_DIR/mysql ]]; then
        say "initialising MariaDB's data in $DB_DIR"
        mariadb-install-db --no-defaults --user=mysql --datadir="$DB_DIR" --skip-test-db \
            --auth-root-authentication-method=socket >>"$STATE/log/mariadb-install.log" 2>&1 \
            || { tail -n 20 "$STATE/log/mariadb-install.log" >&2; die "mariadb-install-db failed"; }
    fi
    # InnoDB settings of SLURM's accounting guide (lock wait, log size), a small buffer pool.
    setsid mariadbd --no-defaults --user=mysql --datadir="$DB_DIR" --socket="$DB_SOCKET" \
        --pid-file="$DB_RUN/mysqld.pid" --port="$DB_PORT" --bind-address=127.0.0.1 \
        --log-error="$STATE/log/mariadb.log" --innodb-buffer-pool-size=128M \
        --innodb-log-file-size=64M --innodb-lock-wait-timeout=900 </dev/null >/dev/null 2>&1 &
    wait_for MariaDB db -e 'SELECT 1'
    say "started MariaDB (port $DB_PORT)"
fi
db <<EOF
CREATE DATABASE IF NOT EXISTS slurm_acct_db;
CREATE USER IF NOT EXISTS 'slurm'@'127.0.0.1' IDENTIFIED BY '$DB_PASSWORD';
ALTER USER 'slurm'@'127.0.0.1' IDENTIFIED BY '$DB_PASSWORD';
GRANT ALL ON slurm_acct_db.* TO 'slurm'@'127.0.0.1';
EOF

# --- 5. slurmdbd, the cluster and the account --------------------------------------------------
if running "$STATE/run/slurmdbd.pid"; then
    say "slurmdbd already running"
else
    slurmdbd || { tails; die "slurmdbd did not start"; }
    wait_for slurmdbd sh -c 'sacctmgr --noheader --parsable2 list cluster </dev/null'
    say "started slurmdbd (port $DBD_PORT)"
fi
# sacctmgr reads commands from standard input when its arguments do not parse: never let it wait there.
listed() {  # listed ENTITY CONDITION...: does sacctmgr list such an entry?
    local entity=$1
    shift
    [[ -n $(sacctmgr --noheader --parsable2 list "$entity" where "$@" format=cluster </dev/null 2>/dev/null) ]]
}
add() { sacctmgr --immediate add "$@" </dev/null >/dev/null || die "sacctmgr add $* failed"; }
listed cluster name="$CLUSTER" || { add cluster "$CLUSTER"; say "registered cluster $CLUSTER"; }
listed association account="$ACCOUNT" cluster="$CLUSTER" \
    || { add account "$ACCOUNT" cluster="$CLUSTER" description="nwpflow tests" organization=nwpflow
         say "registered account $ACCOUNT"; }
listed association user=root account="$ACCOUNT" cluster="$CLUSTER" \
    || { add user root account="$ACCOUNT" defaultaccount="$ACCOUNT" cluster="$CLUSTER"
         say "registered user root in account $ACCOUNT (its default)"; }

# --- 6. slurmctld and slurmd -------------------------------------------------------------------
if running "$STATE/run/slurmctld.pid"; then
    if [[ -n $conf_changed ]]; then
        say "slurmctld already running, reconfiguring"
        scontrol reconfigure || true
    else
        say "slurmctld already running"
    fi
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

# --- 7. wait for the node ----------------------------------------------------------------------
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
# slurmctld registers with slurmdbd on its own; the cluster's entry then carries its address.
wait_for "slurmctld's registration with slurmdbd" \
    sh -c "sacctmgr --noheader --parsable2 list cluster where name=$CLUSTER format=ControlHost </dev/null | grep -q ."
say "cluster up: node $NODE $state, partition $PARTITION, accounting by slurmdbd (cluster $CLUSTER, account $ACCOUNT)"
timeout 10 sinfo
