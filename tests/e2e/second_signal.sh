# A second stop signal while the running tasks have their grace (a second Ctrl-C) kills them at once:
# the run ends in seconds, not after --grace, with exit 3 and the state saved; the killed attempt is
# interrupted (not counted, no crash), and the same command resumes. Each worker counts the signals it
# gets itself: under mpirun the signal is SIGUSR1 to mpirun, which forwards it to every rank
# (docs/design.md §8); two within 0.1 s count as one.
source "$(dirname "$0")/lib.sh"
cat > s.tasks <<TASKS
test -e $WORK/resumed && exit 0; trap '' TERM; touch $WORK/started; sleep 100
TASKS
sig=$([ "$NP" = 1 ] && echo INT || echo USR1)
mpiq_start s.tasks --run-dir rd --grace 60s > run1.log 2>&1
pid=$!
for _ in $(seq 1 200); do [ -e started ] && break; sleep 0.05; done
[ -e started ] || fail "the task did not start: $(cat run1.log)"
# One signal delivered twice at once (a closed terminal sends SIGHUP twice; Slurm signals every
# process of the step and mpirun forwards it again) is one stop, with its grace.
kill -$sig $pid; kill -$sig $pid
sleep 1.5
kill -0 $pid 2>/dev/null || fail "the run ended at the first (doubled) signal, within the task's 60 s grace: $(cat run1.log)"
start=$(date +%s)
kill -$sig $pid
set +e; wait $pid; code=$?; set -e
[ "$code" = 3 ] || fail "exit $code after two signals, not 3: $(cat run1.log)"
[ $(( $(date +%s) - start )) -le 15 ] || fail "the second signal did not end the task at once (grace 60 s)"
grep -q "another stop signal: killing 1 running task(s) now" run1.log || fail "the worker does not say so: $(cat run1.log)"
[ "$(task_ids rd 1 't["attempts"] == 0 and t.get("crashes", 0) == 0')" = 1 ] ||
  fail "the killed attempt was counted: $("$MPIQ" status rd --tasks 1)"
touch resumed
expect_code 0 mpiq_run s.tasks --run-dir rd > run2.log 2>&1
echo "ok: a second signal killed the running task at once, on $NP rank(s)"
