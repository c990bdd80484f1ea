#!/usr/bin/env bash
# Stops the Slurm that start-local-slurm.sh started in STATE_DIR (one node or several), and nothing else.
#
#   tests/slurm/stop-local-slurm.sh [STATE_DIR]      (default: $MPIQ_SLURM_DIR or /tmp/mpiq-slurm)
#
# Cancels the cluster's jobs, then stops slurmd, slurmctld and munged: only the processes whose pids
# start-local-slurm.sh recorded in STATE_DIR/run/pids and whose command line still names STATE_DIR (a
# recycled pid is left alone), plus the job step daemons (slurmstepd) of this cluster, recognised by
# the SLURM_CONF in their environment. Leaves STATE_DIR's logs in place. Always exits 0 when nothing
# of ours is left running.
set -uo pipefail

state=${1:-${MPIQ_SLURM_DIR:-/tmp/mpiq-slurm}}
[[ $state == /* ]] || state=$PWD/$state
conf=$state/slurm.conf
pids_file=$state/run/pids

if [ ! -f "$pids_file" ]; then
  echo "stop-local-slurm: nothing recorded in $state, nothing to stop"
  exit 0
fi

ours() {  # ours PID: is PID still a process that names our state directory on its command line?
  [ -r "/proc/$1/cmdline" ] && tr '\0' ' ' <"/proc/$1/cmdline" | grep -qF -- "$state/"
}

stop_pid() {  # stop_pid NAME PID: SIGTERM, then SIGKILL after 10 s
  local name=$1 pid=$2
  ours "$pid" || return 0
  kill -TERM "$pid" 2>/dev/null || return 0
  for _ in $(seq 100); do
    ours "$pid" || { echo "stop-local-slurm: stopped $name ($pid)"; return 0; }
    sleep 0.1
  done
  echo "stop-local-slurm: $name ($pid) ignored SIGTERM for 10 s, killing it" >&2
  kill -KILL "$pid" 2>/dev/null
}

pid_of() { awk -v n="$1" '$1 == n { print $2 }' "$pids_file" | tail -n 1; }

# Jobs first, while slurmctld and slurmd are still there to end them cleanly.
ctld=$(pid_of slurmctld)
if [ -n "$ctld" ] && ours "$ctld"; then
  jobs=$(SLURM_CONF=$conf squeue -h -o %i 2>/dev/null | tr '\n' ' ')
  if [ -n "${jobs// /}" ]; then
    echo "stop-local-slurm: cancelling jobs $jobs"
    # shellcheck disable=SC2086 # one job id per word
    SLURM_CONF=$conf scancel $jobs 2>/dev/null
    for _ in $(seq 50); do
      [ -z "$(SLURM_CONF=$conf squeue -h -t running,completing -o %i 2>/dev/null)" ] && break
      sleep 0.2
    done
  fi
fi

# Every node's slurmd first (slurmd, or slurmd-n1 ... with several nodes), then the controller.
for name in $(awk '$1 ~ /^slurmd/ { print $1 }' "$pids_file" | sort -u) slurmctld munged; do
  pid=$(pid_of "$name")
  [ -n "$pid" ] && stop_pid "$name" "$pid"
done

# Step daemons that outlived slurmd (they do not exit with it) belong to this cluster when their
# environment carries our SLURM_CONF; their tasks go with them.
descendants() {  # descendants PID: every process below PID, children first listed last
  local child
  for child in $(ps -o pid= --ppid "$1" 2>/dev/null); do
    descendants "$child"
    echo "$child"
  done
}
for env_file in /proc/[0-9]*/environ; do
  pid=${env_file#/proc/}
  pid=${pid%/environ}
  [ "$(cat "/proc/$pid/comm" 2>/dev/null)" = slurmstepd ] || continue
  tr '\0' '\n' <"$env_file" 2>/dev/null | grep -qxF "SLURM_CONF=$conf" || continue
  echo "stop-local-slurm: killing leftover slurmstepd ($pid) and its processes"
  # shellcheck disable=SC2046 # one pid per word
  kill -KILL $(descendants "$pid") "$pid" 2>/dev/null
done

rm -f "$pids_file" "$state/env"
echo "stop-local-slurm: stopped the cluster in $state (logs kept in $state/log)"
exit 0
