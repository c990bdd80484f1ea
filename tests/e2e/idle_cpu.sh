# While tasks sleep, the hub and workers must not spin. A spinning rank uses ~100% of a core; the
# bound here is loose (25%) so a busy CI machine cannot fail it; bench/ measures the real figure.
source "$(dirname "$0")/lib.sh"
hz=$(getconf CLK_TCK)
# expect_quiet LABEL WHAT PIDS...: each of PIDS uses under 25% of a core over 2 s, or the test fails
# saying WHAT.
expect_quiet() {
  local label=$1 what=$2 i pct a b
  shift 2
  ticks() { for p in "$@"; do awk '{print $14+$15}' /proc/$p/stat 2>/dev/null || echo 0; done; }
  a=($(ticks "$@")); sleep 2; b=($(ticks "$@"))
  for i in "${!a[@]}"; do
    pct=$(( (b[i] - a[i]) * 100 / (2 * hz) ))
    echo "$label $i: ${pct}% of a core"
    [ "$pct" -lt 25 ] || fail "$what (${pct}%)"
  done
}

printf 'sleep 4\nsleep 4\nsleep 4\n' > idle.tasks
mpiq_run idle.tasks > /dev/null 2>&1 &
launcher=$!
sleep 1.5
pids=$(pgrep -f "$MPIQ run idle.tasks" | grep -v "^$launcher\$" || true)
[ -n "$pids" ] || fail "no mpiq process found"
expect_quiet process "an mpiq rank spins while its tasks sleep" $pids
wait $launcher || fail "run failed"
echo "ok: idle ranks do not spin"

# Nor do the ranks yield in their loops: on a node with more ranks than cores (here, --oversubscribe)
# Open MPI calls sched_yield in every progress call that finds nothing, and a worker woken by a task's
# end gave its core away before it started the next task (src/mpi/mpi_transport.cpp). Only the start
# (MPI_Init and the first communicators) may yield, a few hundred times, more on a busy machine (374-847
# seen for a 1-task run, all in its first 0.3 s): a run of 3,000 tasks may make at most one more per
# task than a run of one (before the fix, some 4.5 more per task: 2,000 tasks made 9,124 against 412;
# after, 209-348 against 193-327).
if [ "$NP" != 1 ]; then
  command -v strace > /dev/null || skip_unless_ci "strace is not installed (scripts/install-deps.sh installs it)"
  yields() {  # yields TASKS: sched_yield calls of the whole run of TASKS `true`
    for _ in $(seq "$1"); do echo true; done > yield.tasks
    rm -rf yield.run
    strace -f -c -e trace=sched_yield -o yield.strace \
      mpirun --allow-run-as-root --oversubscribe -np "$NP" "$MPIQ" run yield.tasks --run-dir yield.run > /dev/null 2>&1 ||
      fail "a run of $1 true under strace failed"
    awk '$NF == "sched_yield" {print $4}' yield.strace | grep . || echo 0
  }
  one=$(yields 1)
  many=$(yields 3000)
  echo "sched_yield calls: $one for 1 task, $many for 3000"
  [ "$many" -lt $((one + 3000)) ] || fail "the ranks yield in their loops: $many sched_yield calls for 3000 tasks, $one for 1"
  echo "ok: ranks do not yield per task"
fi

# An embedding program's workers wait for their hub's run() without spinning either: the hub here
# sleeps 4 s after its submissions (ranks meet in run(), in collectives that Open MPI spins in when
# they block). EMBED_COUNT (the third argument) is tests/e2e/embed_count.cpp's program.
EMBED=${3:-}
if [ -n "$EMBED" ] && [ "$NP" != 1 ]; then
  MPIQ_TEST_HUB_DELAY_S=4 mpirun --allow-run-as-root --oversubscribe -np "$NP" "$EMBED" > embed.out 2>&1 &
  launcher=$!
  sleep 1.5
  pids=$(pgrep -f "^$EMBED" || true)
  [ -n "$pids" ] || fail "no embed-count process found"
  expect_quiet "embedding rank" "a rank of an embedding program spins while its hub has not called run()" $pids
  wait $launcher || { cat embed.out; fail "embed-count failed"; }
  [ "$(grep -c '^task ' embed.out)" = 10 ] || { cat embed.out; fail "embed-count did not end its 10 tasks"; }
  echo "ok: an embedding program's ranks do not spin before run()"
fi
