#!/usr/bin/env bash
# Starts a private Slurm cluster on localhost for the Slurm tests: munged, slurmctld and slurmd with
# every file (config, key, socket, state, spool, logs, pids) under STATE_DIR. One node by default;
# with MPIQ_SLURM_NODES=N (2 or more), N nodes n1..nN on this one machine: each slurmd runs in a mount
# and UTS namespace of its own, with the node's host name, its own directory mounted over TmpFS
# (the PMIx plugin's per-step files would clash between nodes otherwise) and a /dev/shm of its own,
# so a job's ranks on n2 see host n2 and only n2's shared memory. Each node offers all of this
# machine's CPUs (srun --overcommit, or fewer tasks).
#
#   tests/slurm/start-local-slurm.sh [STATE_DIR]      (default: $MPIQ_SLURM_DIR or /tmp/mpiq-slurm)
#   . STATE_DIR/env                                   (sets SLURM_CONF for sinfo, sbatch, srun, ...)
#   tests/slurm/stop-local-slurm.sh [STATE_DIR]       (stops what this script started)
#
# Idempotent: when the daemons it started are still up with the same configuration it only waits for
# the node to be idle. It never touches a Slurm or munge of the system: its munged has its own key and
# socket, and its daemons read only STATE_DIR/slurm.conf. Ports: MPIQ_SLURM_PORT (slurmctld, default
# 6817) and the next one (slurmd), or the next N with N nodes.
#
# Exit codes: 0 running; 77 Slurm cannot run here (not root, a program missing, a port taken, a
# daemon that does not come up), with the reason on stderr, so that ctest reports the Slurm tests as
# skipped; with CI=true every such case exits 1 instead, because CI must run the Slurm tests.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
state=${1:-${MPIQ_SLURM_DIR:-/tmp/mpiq-slurm}}
[[ $state == /* ]] || state=$PWD/$state
ctld_port=${MPIQ_SLURM_PORT:-6817}
slurmd_port=$((ctld_port + 1))
host=$(hostname -s)
nodes_n=${MPIQ_SLURM_NODES:-1}
[[ $nodes_n =~ ^[1-9][0-9]*$ ]] || { echo "start-local-slurm: MPIQ_SLURM_NODES must be a number >= 1 (got '$nodes_n')" >&2; exit 2; }
if [ "$nodes_n" -eq 1 ]; then
  nodes=("$host")
else
  nodes=()
  for i in $(seq 1 "$nodes_n"); do nodes+=("n$i"); done
fi
node=${nodes[0]}
conf=$state/slurm.conf

cannot_start() {
  echo "start-local-slurm: cannot start Slurm: $*" >&2
  if [ "${CI:-}" = true ]; then
    echo "start-local-slurm: CI=true, so this is a failure, not a skip" >&2
    exit 1
  fi
  exit 77
}

show_logs() {
  local f
  for f in "$state"/log/*.log; do
    [ -f "$f" ] || continue
    echo "---- last lines of $f" >&2
    tail -n 25 "$f" >&2
  done
}

# Prerequisites. slurmd must run as root to start jobs as their users (here root too).
[ "$(id -u)" -eq 0 ] || cannot_start "must run as root (slurmd starts the jobs); run scripts/install-deps.sh and the tests as root"
for prog in munged slurmctld slurmd sinfo scontrol squeue sbatch srun scancel; do
  command -v "$prog" >/dev/null || cannot_start "'$prog' not found: scripts/install-deps.sh installs slurm-wlm, slurm-client and munge"
done
pmix_plugin=$(find /usr/lib*/ /usr/local/lib*/ -name 'mpi_pmix*.so' -path '*slurm*' 2>/dev/null | head -n 1 || true)
[ -n "$pmix_plugin" ] || cannot_start "Slurm's mpi/pmix plugin (mpi_pmix.so) not found"

export SLURM_CONF=$conf

# The configuration. Settings beyond the usual one-node ones, and why:
# - AuthInfo socket: our own munged, so a system munge (or its absence) does not matter.
# - SelectTypeParameters=CR_Core: cores only; memory is not a consumable resource, so a job without
#   --mem does not take the whole node's memory and block the next one.
# - KillWait=2, OverTimeLimit=0: a job at its time limit gets SIGTERM and 2 s later SIGKILL, no grace
#   minutes, so time-limit tests end fast. Slurm checks time limits (and sends --signal warnings) about
#   every 30 s, so a warning may come up to that much early and a kill that much late.
# - SlurmctldTimeout/SlurmdTimeout/MessageTimeout: short, for fast failure in tests.
# - MinJobAge=600: finished jobs stay visible to squeue/scontrol for 10 minutes (no accounting here);
#   JobCompType=jobcomp/filetxt keeps a line per finished job in log/jobcomp.txt.
# - ReturnToService=2: the node comes back by itself after a slurmd restart.
# - TmpFS: the PMIx plugin's per-job files go under STATE_DIR, not /tmp.
mem_kb=$(awk '/^MemTotal:/ { print $2 }' /proc/meminfo)
mem_mb=$((mem_kb / 1024 * 9 / 10 / nodes_n))
if [ "$nodes_n" -eq 1 ]; then
  node_paths="SlurmdSpoolDir=$state/spool
SlurmdPidFile=$state/run/slurmd.pid
SlurmdLogFile=$state/log/slurmd.log"
  node_lines="NodeName=$host NodeAddr=127.0.0.1 CPUs=$(nproc) RealMemory=$mem_mb State=UNKNOWN
PartitionName=debug Nodes=$host Default=YES MaxTime=INFINITE State=UP"
else
  # %n: each node's slurmd keeps its own spool, pid and log file.
  node_paths="SlurmdSpoolDir=$state/spool/%n
SlurmdPidFile=$state/run/slurmd-%n.pid
SlurmdLogFile=$state/log/slurmd-%n.log"
  node_lines="NodeName=n[1-$nodes_n] NodeHostname=$host NodeAddr=127.0.0.1 Port=$slurmd_port-$((slurmd_port + nodes_n - 1)) CPUs=$(nproc) RealMemory=$mem_mb State=UNKNOWN
PartitionName=debug Nodes=n[1-$nodes_n] Default=YES MaxTime=INFINITE State=UP"
fi
new_conf=$(cat <<EOF
# Written by tests/slurm/start-local-slurm.sh: a private cluster of $nodes_n node(s) for mpiq's Slurm tests.
ClusterName=mpiqtest
SlurmctldHost=localhost
SlurmctldPort=$ctld_port
SlurmdPort=$slurmd_port
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
CredType=cred/munge
AuthInfo=socket=$state/munge/munge.socket
StateSaveLocation=$state/ctld
$node_paths
TmpFS=$state/tmp
SlurmctldPidFile=$state/run/slurmctld.pid
SlurmctldLogFile=$state/log/slurmctld.log
SlurmctldDebug=info
SlurmdDebug=info
ProctrackType=proctrack/linuxproc
TaskPlugin=task/affinity
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
MpiDefault=pmix
SwitchType=switch/none
SchedulerType=sched/backfill
AccountingStorageType=accounting_storage/none
JobAcctGatherType=jobacct_gather/none
JobCompType=jobcomp/filetxt
JobCompLoc=$state/log/jobcomp.txt
ReturnToService=2
SlurmctldTimeout=10
SlurmdTimeout=10
MessageTimeout=10
InactiveLimit=0
MinJobAge=600
KillWait=2
OverTimeLimit=0
WaitTime=0
$node_lines
EOF
)

write_env() {
  printf 'export SLURM_CONF=%q\n' "$conf" >"$state/env"
  echo "export SLURM_CONF=$conf"
}

node_state() {
  sinfo -h -n "$1" -o %t 2>/dev/null | head -n 1 || true
}

wait_idle() {
  local deadline=$((SECONDS + ${MPIQ_SLURM_START_TIMEOUT:-60})) st="" n
  for n in "${nodes[@]}"; do
    while :; do
      st=$(node_state "$n")
      case $st in
        idle | mix | alloc) break ;;  # up; mix/alloc when an earlier test left a job running
      esac
      if [ $SECONDS -ge $deadline ]; then
        echo "start-local-slurm: node $n not idle after ${MPIQ_SLURM_START_TIMEOUT:-60} s (sinfo says '${st:-nothing}')" >&2
        scontrol show node "$n" >&2 2>&1 || true
        show_logs
        return 1
      fi
      sleep 1
    done
  done
  return 0
}

# slurmd_name NODE: how run/pids names NODE's slurmd.
slurmd_name() { [ "$nodes_n" -eq 1 ] && echo slurmd || echo "slurmd-$1"; }

# pid_of NAME: the pid this script recorded for NAME, if that process is still the one it started
# (its command line names this state directory, so a recycled pid is never taken for it).
pid_of() {
  local pid
  pid=$(awk -v n="$1" '$1 == n { print $2 }' "$state/run/pids" 2>/dev/null | tail -n 1)
  [ -n "$pid" ] && [ -r "/proc/$pid/cmdline" ] && tr '\0' ' ' <"/proc/$pid/cmdline" | grep -qF -- "$state/" &&
    echo "$pid"
}

all_slurmds_up() {
  local n
  for n in "${nodes[@]}"; do pid_of "$(slurmd_name "$n")" >/dev/null || return 1; done
}

# Already running with this configuration: nothing to start.
if [ -f "$conf" ] && [ "$(cat "$conf")" = "$new_conf" ] &&
   pid_of munged >/dev/null && pid_of slurmctld >/dev/null &&
   all_slurmds_up &&
   scontrol ping 2>/dev/null | grep -q UP; then
  echo "start-local-slurm: already running in $state"
  wait_idle || cannot_start "the running cluster's node is not usable"
  write_env
  exit 0
fi

# Something of ours left over, or running with another configuration: stop it first.
if [ -f "$state/run/pids" ]; then
  "$here/stop-local-slurm.sh" "$state"
fi

port_taken() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
for p in "$ctld_port" $(seq "$slurmd_port" $((slurmd_port + nodes_n - 1))); do
  port_taken "$p" && cannot_start "port $p is already in use (another Slurm?); set MPIQ_SLURM_PORT to use other ports"
done

# A fresh tree. 0755 on the munge directory: munged insists that every user can reach its socket.
rm -rf "$state/ctld" "$state/spool" "$state/tmp" "$state/tmpnode" "$state/run" "$state/log" "$state/munge"
mkdir -p "$state"/{ctld,spool,tmp,run,log,munge}
chmod 0755 "$state" "$state/munge"
printf '%s\n' "$new_conf" >"$conf"
: >"$state/run/pids"

# munged with its own key: as root it refuses a key owned by another user (/etc/munge/munge.key
# belongs to user munge), and our own key keeps this cluster apart from any other.
key=$state/munge/munge.key
if command -v mungekey >/dev/null; then
  mungekey --create --keyfile="$key" --bits=1024
else
  dd if=/dev/urandom of="$key" bs=128 count=1 status=none
fi
chmod 0600 "$key"
# The daemons fork and detach; their stdio goes to /dev/null so that they do not hold the pipes of
# whoever runs this script (ctest waits for those to close).
munged --socket="$state/munge/munge.socket" --key-file="$key" --pid-file="$state/munge/munged.pid" \
  --log-file="$state/log/munged.log" --seed-file="$state/munge/munged.seed" </dev/null >/dev/null 2>&1 ||
  { show_logs; cannot_start "munged did not start"; }
echo "munged $(cat "$state/munge/munged.pid")" >>"$state/run/pids"

# -c: start with no jobs from an earlier run. -f: the configuration (and our state dir on the command
# line, which is how stop-local-slurm.sh recognises these processes).
slurmctld -c -f "$conf" </dev/null >/dev/null 2>&1 || { show_logs; cannot_start "slurmctld did not start"; }
for _ in $(seq 50); do [ -s "$state/run/slurmctld.pid" ] && break; sleep 0.1; done
echo "slurmctld $(cat "$state/run/slurmctld.pid")" >>"$state/run/pids"

if [ "$nodes_n" -eq 1 ]; then
  slurmd -f "$conf" -N "$node" </dev/null >/dev/null 2>&1 || { show_logs; cannot_start "slurmd did not start"; }
  for _ in $(seq 50); do [ -s "$state/run/slurmd.pid" ] && break; sleep 0.1; done
  echo "slurmd $(cat "$state/run/slurmd.pid")" >>"$state/run/pids"
else
  # Each node's /dev/shm is a tmpfs of its own, as on separate machines: Open MPI's shared-memory
  # segments (/dev/shm/vader_segment.NODE.UID.JOBID.RANK) of one node are never seen by another, and
  # those of a node killed mid-job (test-node-loss.sh) go with its namespace instead of piling up in
  # the machine's /dev/shm. A rank of n3 once failed in MPI_Init with "shared memory initialization
  # ... open(2) ENOENT", then a segfault, while 150 such leftovers were there; that they caused it is
  # likely, not proven.
  shm_size=$((mem_kb / 4 / nodes_n))k
  for n in "${nodes[@]}"; do
    mkdir -p "$state/tmpnode/$n" "$state/spool/$n"
    unshare --mount --uts --propagation private /bin/sh -c \
      "hostname $n && mount --bind '$state/tmpnode/$n' '$state/tmp' &&
       mount -t tmpfs -o mode=1777,size=$shm_size mpiq-shm-$n /dev/shm && exec slurmd -f '$conf' -N $n" \
      </dev/null >/dev/null 2>&1 || { show_logs; cannot_start "slurmd of node $n did not start (needs mount and UTS namespaces)"; }
    for _ in $(seq 50); do [ -s "$state/run/slurmd-$n.pid" ] && break; sleep 0.1; done
    echo "slurmd-$n $(cat "$state/run/slurmd-$n.pid")" >>"$state/run/pids"
  done
fi

wait_idle || cannot_start "the nodes did not become idle"
echo "start-local-slurm: cluster up in $state (nodes ${nodes[*]}, $(nproc) CPUs each, ports $ctld_port/$slurmd_port..)"
write_env
