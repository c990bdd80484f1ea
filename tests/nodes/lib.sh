# Several nodes on one machine, for the tests in this directory (docs/design.md §12). Each test
# script sources this file first: bash TEST.sh MPIQ_BINARY.
#
# - The script re-runs itself in a private mount namespace (unshare --mount), where /etc/hosts is a
#   copy with n1, n2, n3 on 127.0.0.11-13 bind-mounted over the real one: the machine's /etc/hosts is
#   never written, and the entries go with the namespace when the test ends, however it ends.
# - Open MPI starts one daemon per "node" through a stand-in for ssh ($WORK/fakessh) that runs the
#   daemon in a UTS namespace of its own with the node's host name; the names do not resolve to
#   127.0.0.1, so every one of them, n1 included, gets a daemon and mpirun itself runs no rank.
# - Open MPI's TCP stays on lo: the nodes share one network, and test traffic stays on loopback.
# Where namespaces cannot be made (no root, a container without CAP_SYS_ADMIN) the test is skipped
# with the reason, and fails under CI=true (the suite's skip rule).
set -euo pipefail

if [ -z "${MPIQ_NODES_NAMESPACE:-}" ]; then
  if ! why=$(unshare --mount --uts --propagation private /bin/sh -c 'hostname mpiq-probe' 2>&1); then
    [ "${CI:-}" != true ] || { echo "FAIL: CI=true, so this is a failure, not a skip: cannot make mount and UTS namespaces: $why" >&2; exit 1; }
    echo "SKIP: cannot make mount and UTS namespaces here (needs root or CAP_SYS_ADMIN): $why" >&2
    exit 77
  fi
  MPIQ_NODES_NAMESPACE=1 exec unshare --mount --propagation private bash "$0" "$@"
fi

source "$(cd "$(dirname "${BASH_SOURCE[0]}")/../e2e" && pwd)/lib.sh" "$1" 5
source "$TESTS_DIR/../e2e/lib_extra.sh"

# /etc/hosts with the nodes, for this namespace only.
cp /etc/hosts "$WORK/hosts"
printf '127.0.0.11 n1\n127.0.0.12 n2\n127.0.0.13 n3\n' >> "$WORK/hosts"
mount --bind "$WORK/hosts" /etc/hosts || skip_unless_ci "cannot bind-mount a private /etc/hosts"
getent hosts n2 | grep -q '^127\.0\.0\.12' || skip_unless_ci "n2 does not resolve to 127.0.0.12"

# The stand-in for ssh: Open MPI calls it as `fakessh [options] HOST COMMAND...`. The daemon's pid
# is written to $WORK/node-HOST.pid (the daemon is what `exec` leaves of this shell).
cat > "$WORK/fakessh" <<S
#!/bin/bash
while [[ \$1 == -* ]]; do shift; done
host=\$1; shift
exec unshare --uts /bin/sh -c "hostname \$host && echo \\\$\\\$ > $WORK/node-\$host.pid && exec \$*"
S
chmod +x "$WORK/fakessh"

# nodes_mpirun HOSTS NP ARGS...: `mpiq run ARGS` on NP ranks over HOSTS (Open MPI's --host syntax,
# `n1:1,n2:2,n3:2`: ranks are placed in that order, so rank 0, the hub, is on the first host).
nodes_mpirun() {
  local hosts=$1 np=$2; shift 2
  mpirun --allow-run-as-root --oversubscribe --mca plm_rsh_agent "$WORK/fakessh" --host "$hosts" -np "$np" \
    --mca btl self,vader,tcp --mca btl_tcp_if_include lo --mca oob_tcp_if_include lo \
    "$MPIQ" run "$@"
}
# nodes_start HOSTS NP ARGS...: nodes_mpirun in the background; $! is mpirun itself.
nodes_start() {
  local hosts=$1 np=$2; shift 2
  mpirun --allow-run-as-root --oversubscribe --mca plm_rsh_agent "$WORK/fakessh" --host "$hosts" -np "$np" \
    --mca btl self,vader,tcp --mca btl_tcp_if_include lo --mca oob_tcp_if_include lo \
    "$MPIQ" run "$@" &
}

# shellcheck source=../support/power_off.sh
source "$TESTS_DIR/../support/power_off.sh"

# node_pids HOST: every process on "node" HOST (its daemon, ranks and tasks: those in the daemon's
# UTS namespace).
node_pids() {
  namespace_pids "$(cat "$WORK/node-$1.pid")"
}

# node_ranks HOST: the mpiq processes on HOST (its ranks; their tasks are other programs).
node_ranks() {
  local p
  for p in $(node_pids "$1"); do
    if [ "$(cat "/proc/$p/comm" 2>/dev/null)" = mpiq ]; then echo "$p"; fi
  done
  return 0
}

# lose_node HOST: everything on HOST ends at once, as on a node that loses power (power_off).
lose_node() {
  power_off "$(cat "$WORK/node-$1.pid")"
  [ "$POWERED_OFF" -gt 0 ] || fail "no process runs on node $1"
}
