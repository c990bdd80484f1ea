# Shared helpers for the end-to-end tests: each test script sources this file.
# Usage of a test: bash TEST.sh MPIQ_BINARY NP   (NP = 1 runs without a launcher)
set -euo pipefail
exec 3>&2  # the test's own stderr: a failure is reported there even inside a redirected command
# An unexpected error stops a test with set -e; say where, or the log shows nothing.
trap '[[ $- != *e* ]] || echo "FAIL: unexpected error (exit $?) at $(basename "$0"):$LINENO: $BASH_COMMAND" >&3' ERR

MPIQ=${1:?usage: $0 MPIQ_BINARY NP}
NP=${2:-1}
TESTS_DIR=$(cd "$(dirname "$0")" && pwd)  # this directory, before the cd below
# shellcheck source=../support/task_ids.sh
source "$(dirname "${BASH_SOURCE[0]}")/../support/task_ids.sh"
WORK=$(mktemp -d /tmp/mpiq-e2e-XXXXXX)
[ -n "${KEEP:-}" ] || trap 'rm -rf "$WORK"' EXIT
cd "$WORK"

export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
# Keep Open MPI on shared memory and loopback TCP: CI machines have no fabric, and probing for one
# costs seconds per launch.
export OMPI_MCA_btl=self,vader,tcp OMPI_MCA_btl_tcp_if_include=lo OMPI_MCA_oob_tcp_if_include=lo
export OMPI_MCA_rmaps_base_oversubscribe=1 OMPI_MCA_hwloc_base_binding_policy=none

fail() { echo "FAIL: $*" >&3; exit 1; }

# The suite's skip rule (tests/CMakeLists.txt). skip_unless_ci REASON: this test cannot run here;
# skip (exit 77, SKIP_RETURN_CODE in tests/e2e/CMakeLists.txt) and say why, except under CI=true,
# where CI is supposed to have what the test needs (../shared/topologies, 2 or more CPUs, ...):
# there it is a failure.
skip_unless_ci() {
  [ "${CI:-}" != true ] || fail "CI=true, so this is a failure, not a skip: $*"
  echo "SKIP: $*" >&3
  exit 77
}
# skip_hardware REASON: this machine lacks hardware that CI machines may lack too (a real GPU): a skip
# everywhere, with the reason. Run every check that needs no hardware before calling it.
skip_hardware() {
  echo "SKIP: no such hardware here: $*" >&3
  exit 77
}

# mpiq_run ARGS...: `mpiq run ARGS` on NP ranks; prints nothing of its own; returns mpiq's exit code.
mpiq_run() {
  if [ "$NP" = 1 ]; then
    "$MPIQ" run "$@"
  else
    mpirun --allow-run-as-root --oversubscribe -np "$NP" "$MPIQ" run "$@"
  fi
}

# expect_code CODE CMD...: runs CMD, fails unless it exits with CODE.
expect_code() {
  local want=$1; shift
  set +e
  "$@"
  local got=$?
  set -e
  [ "$got" = "$want" ] || fail "expected exit code $want, got $got from: $*"
}

# state_count RUN_DIR STATE: how many tasks are in STATE according to `mpiq status --json`.
state_count() {
  "$MPIQ" status "$1" --json | python3 -c "import json,sys; print(json.load(sys.stdin)['counts']['$2'])"
}

# mpiq_start ARGS...: `mpiq run ARGS` on NP ranks in the background; $! is mpiq (or mpirun) itself.
mpiq_start() {
  if [ "$NP" = 1 ]; then
    "$MPIQ" run "$@" &
  else
    mpirun --allow-run-as-root --oversubscribe -np "$NP" "$MPIQ" run "$@" &
  fi
}
