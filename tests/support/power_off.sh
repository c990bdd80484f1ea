# namespace_pids PID: the processes in PID's UTS namespace, one a line (none if PID is gone).
namespace_pids() {
  local uts p
  uts=$(readlink "/proc/$1/ns/uts") || return 0
  for p in /proc/[0-9]*; do
    [ "$(readlink "$p/ns/uts" 2>/dev/null)" = "$uts" ] && echo "${p#/proc/}"
  done
  return 0
}

# power_off PID: ends every process in PID's UTS namespace (a simulated node: its daemons, ranks and
# tasks) as a node that loses power ends them: none of them sees another end. Each is stopped first
# (SIGSTOP), the namespace looked at again until no new process has appeared (a worker may have started
# a task meanwhile), then all are killed (SIGKILL). A plain `kill -9` of the list let a worker rank,
# still running, see its task die of signal 9 and report it as failed before its own turn came (a
# fresh-clone CI run of slurm_nodes.node_loss: "Task 15 ... failed with signal 9 ... on n3"). Sets
# POWERED_OFF to how many processes it ended. Sourced by tests/nodes/lib.sh (which also lists a node's
# processes with namespace_pids) and tests/slurm/test-node-loss.sh.
power_off() {
  local p found
  local -A stopped=()
  found=1
  while [ "$found" = 1 ]; do
    found=0
    for p in $(namespace_pids "$1"); do
      [ -z "${stopped[$p]:-}" ] || continue
      kill -STOP "$p" 2>/dev/null || true
      stopped[$p]=1
      found=1
    done
  done
  POWERED_OFF=${#stopped[@]}
  [ "$POWERED_OFF" = 0 ] || kill -KILL "${!stopped[@]}" 2>/dev/null || true
}
