# A second stop signal while the running tasks have their grace (a second Ctrl-C) kills them at once:
# the run ends in seconds, not after --grace, with exit 3 and the state saved; the killed attempt is
# interrupted (not counted, no crash), and the same command resumes. Under mpirun the signal is
# SIGUSR1 to mpirun, which forwards it to every rank (docs/design.md §8).
source "$(dirname "$0")/lib.sh"
cat > s.tasks <<TASKS
test -e $WORK/resumed && exit 0; trap '' TERM; touch $WORK/started; sleep 100
TASKS
sig=$([ "$NP" = 1 ] && echo INT || echo USR1)
mpiq_start s.tasks --run-dir rd --grace 60s > run1.log 2>&1
pid=$!
for _ in $(seq 1 200); do [ -e started ] && break; sleep 0.05; done
[ -e started ] || fail "the task did not start: $(cat run1.log)"
kill -$sig $pid
sleep 1
kill -0 $pid 2>/dev/null || fail "the run ended at the first signal, within the task's 60 s grace: $(cat run1.log)"
start=$(date +%s)
kill -$sig $pid
set +e; wait $pid; code=$?; set -e
[ "$code" = 3 ] || fail "exit $code after two signals, not 3: $(cat run1.log)"
[ $(( $(date +%s) - start )) -le 15 ] || fail "the second signal did not end the task at once (grace 60 s)"
grep -q "again: killing the running tasks now" rd/hub.log || fail "the hub's log does not say so: $(cat rd/hub.log)"
[ "$(task_ids rd 1 't["attempts"] == 0 and t.get("crashes", 0) == 0')" = 1 ] ||
  fail "the killed attempt was counted: $("$MPIQ" status rd --tasks 1)"
touch resumed
expect_code 0 mpiq_run s.tasks --run-dir rd > run2.log 2>&1
echo "ok: a second signal killed the running task at once, on $NP rank(s)"
