# Processes that leave a task's process group (setsid) end with the task, not with the machine
# (src/exec/orphans.hpp): after the task ends normally, after a timeout, with a TERM they ignore
# (KILL after --grace), and at the end of the run; one that dropped the task's variables is left alone;
# one that ended by itself is reaped (no zombie piles up in the worker).
source "$(dirname "$0")/lib.sh"
M="$$$RANDOM"  # in every escaped process's command line: no other test's process has it
alive() {  # alive PATTERN: this test's processes matching PATTERN that are not zombies
  local n=0
  for pid in $(pgrep -f "$1" || true); do
    [ "$(awk '{print $3}' /proc/$pid/stat 2>/dev/null || echo Z)" = Z ] || n=$((n + 1))
  done
  echo $n
}
cleanup() { pkill -9 -f "$M" 2>/dev/null || true; }
trap 'cleanup; rm -rf "$WORK"' EXIT
# Each escape says when it has left the group (after setsid) and its task waits for that: a task that
# ended before would take it down with its group, which tests nothing.
W=$WORK
cat > t.tasks <<TASKS
setsid sh -c 'touch $W/a.started; exec sleep 301.$M' & while [ ! -e $W/a.started ]; do sleep 0.01; done
setsid sh -c 'trap "" TERM; touch $W/b.started; while :; do sleep 0.2; done; : 302.$M' & while [ ! -e $W/b.started ]; do sleep 0.01; done
[% timeout=1 %] setsid sh -c 'touch $W/c.started; exec sleep 303.$M' & sleep 100
env -u MPIQ_TASK_ID setsid sh -c 'touch $W/d.started; exec sleep 304.$M' & while [ ! -e $W/d.started ]; do sleep 0.01; done
sleep 8; setsid sh -c 'touch $W/e.started; exec sleep 305.$M' & while [ ! -e $W/e.started ]; do sleep 0.01; done
(sleep 0.1 &); touch $W/f.done
TASKS
set +e; mpiq_run t.tasks --grace 1s > run.log 2>&1 & run=$!; set -e
for f in a b c d; do
  for _ in $(seq 1 100); do [ -e $f.started ] && break; sleep 0.05; done
  [ -e $f.started ] || fail "task $f did not start: $(cat run.log)"
done
# While the run goes on (task 5 sleeps 8 s), the escapes of tasks 1-3 end: 1 at the next look (once a
# second), 2 after the grace second since it ignores TERM, 3 once its timeout ended its task.
for _ in $(seq 1 140); do
  [ "$(alive "30[123]\\.$M")" = 0 ] && break
  sleep 0.05
done
[ "$(alive "30[123]\\.$M")" = 0 ] || fail "escaped processes outlived their tasks: $(pgrep -af "30[123]\\.$M")"
# What ended on its own before the worker's look (task 6's background sleep), and what the kill of a
# group left (task 3's sleep): zombie children of the worker, which it reaps at its next look.
zombies() {
  local n=0 p
  for p in $(pgrep -f "^$MPIQ run t.tasks" || true); do
    n=$((n + $(ps -o stat= --ppid "$p" | grep -c '^Z' || true)))
  done
  echo $n
}
for _ in $(seq 1 100); do [ -e f.done ] && break; sleep 0.05; done
[ -e f.done ] || fail "task 6 did not run: $(cat run.log)"
for _ in $(seq 1 60); do [ "$(zombies)" = 0 ] && break; sleep 0.05; done
[ "$(zombies)" = 0 ] || fail "zombies left in the worker: $(for p in $(pgrep -f "^$MPIQ run t.tasks"); do ps -o pid,stat,args --ppid $p; done)"
kill -0 $run 2>/dev/null || fail "the run ended before the check (it should take 8 s): $(cat run.log)"
set +e; wait $run; code=$?; set -e
# Task 3 timed out: the run has a failed task.
[ "$code" = 1 ] || fail "exit $code, not 1 (task 3 timed out): $(cat run.log)"
# Task 5's escape was started in its last moment: the run's end ends it.
[ -e e.started ] || fail "task 5 did not run: $(cat run.log)"
[ "$(alive "305\\.$M")" = 0 ] || fail "an escaped process outlived the run: $(pgrep -af "305\\.$M")"
# The one without MPIQ_TASK_ID cannot be told from a stranger's process: it is left alone.
[ "$(alive "304\\.$M")" = 1 ] || fail "a process without the task's variables was ended (or never ran)"
echo "ok: processes that left their task's group ended with the task and the run ($NP rank(s))"
