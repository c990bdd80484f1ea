# A worker passes a task's stdout and stderr pipes on to a later task only when nothing the task
# started lives on (src/worker/worker.cpp, Worker::reap): a process that left the task's group
# (setsid) and goes on writing to the task's stdout and stderr must not write into another task's
# output. And many tasks in a row on reused pipes each get exactly their own output.
source "$(dirname "$0")/lib.sh"
M="$$$RANDOM"
cleanup() { pkill -9 -f "leak\\.$M" 2>/dev/null || true; }
trap 'cleanup; rm -rf "$WORK"' EXIT
W=$WORK
# Task 1's escape ignores TERM and SIGPIPE (so that the orphan sweep's TERM and the closed pipe do not
# end it before --grace) and, once task 1 has ended, writes a line to each stream every 20 ms for 2 s;
# tasks 2-61 print their id on both streams while it does. Task 1 waits until the escape has started.
{
  echo "setsid sh -c 'trap \"\" TERM PIPE; touch $W/leak.started; sleep 0.3; i=0; while [ \$i -lt 100 ]; do echo LEAK-out.$M; echo LEAK-err.$M >&2; sleep 0.02; i=\$((i + 1)); done; : leak.$M' & while [ ! -e $W/leak.started ]; do sleep 0.01; done; echo first"
  for i in $(seq 2 61); do echo "sh -c 'echo out-$i; echo err-$i >&2; sleep 0.03'"; done
  # Then tasks with nothing left behind: their pipes go from task to task.
  for i in $(seq 62 261); do echo "echo quiet-$i"; done
} > t.tasks
mpiq_run t.tasks --grace 3s > run.log 2>&1 || fail "the run failed: $(tail -5 run.log)"
[ "$("$MPIQ" cat t.mpiq 1)" = first ] || fail "task 1's output: $("$MPIQ" cat t.mpiq 1)"
for i in $(seq 2 61); do
  out=$("$MPIQ" cat t.mpiq "$i")
  err=$("$MPIQ" cat t.mpiq "$i" --stderr)
  [ "$out" = "out-$i" ] || fail "task $i's stdout is not its own: '$out'"
  [ "$err" = "err-$i" ] || fail "task $i's stderr is not its own: '$err'"
done
for i in $(seq 62 261); do
  out=$("$MPIQ" cat t.mpiq "$i")
  [ "$out" = "quiet-$i" ] || fail "task $i's stdout is not its own: '$out'"
done
echo "ok: an escaped writer's lines reached no later task; 261 tasks each got their own output ($NP rank(s))"
