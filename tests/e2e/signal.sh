# A stop signal mid-run: exit 3 within the grace period, state saved; the same command resumes and
# finishes the rest, and no task that finished runs again.
source "$(dirname "$0")/lib.sh"
# Tasks 1-3 finish at once, so they are done before the stop; 4-8 are running or queued at it.
{ for i in 1 2 3; do echo "echo \$MPIQ_TASK_ID >> $WORK/ids"; done
  for i in $(seq 4 8); do echo "sleep 2; echo \$MPIQ_TASK_ID >> $WORK/ids"; done; } > sig.tasks
touch ids
wait_for_first_three() {  # the signal comes once tasks 1-3 have finished and been recorded
  for _ in $(seq 1 200); do [ "$(sort -n ids | tr '\n' ' ')" = "1 2 3 " ] && break; sleep 0.05; done
  [ "$(sort -n ids | tr '\n' ' ')" = "1 2 3 " ] || fail "tasks 1-3 did not finish first: $(cat ids)"
  sleep 0.3  # their ends reach the hub (a report is sent within milliseconds)
}
if [ "$NP" = 1 ]; then
  mpiq_start sig.tasks --grace 2s > run1.log 2>&1
  # As srun and Slurm's time limit do: the signal reaches the tasks as well as mpiq. Tasks it ends
  # were interrupted by the stop: they must run again on resume, not count as failed.
  pid=$!; wait_for_first_three; kill -TERM $pid; pkill -TERM -f " -c sleep 2; echo .* >> $WORK/ids" || true  # this test's tasks only
else
  # mpirun forwards SIGUSR1 to every rank (SIGTERM makes mpirun itself abort the job with exit 1,
  # whatever the ranks return); under Slurm, srun forwards SIGTERM too.
  mpiq_start sig.tasks --grace 2s > run1.log 2>&1
  pid=$!
  wait_for_first_three; kill -USR1 $pid
fi
start=$(date +%s)
set +e; wait $pid; code=$?; set -e
[ "$code" = 3 ] || fail "expected exit 3 after the signal, got $code: $(cat run1.log)"
# Grace 2 s; the bound leaves room for a loaded CI machine.
[ $(( $(date +%s) - start )) -le 8 ] || fail "the stop took much longer than the grace period"
# The last lines say why it stopped and what to do; under mpirun, what mpirun's exit and banner mean.
sig=$([ "$NP" = 1 ] && echo SIGTERM || echo SIGUSR1)
grep -q "stopped early (.* received $sig): the state is saved; run the same command again" run1.log ||
  fail "the summary does not say why the run stopped: $(cat run1.log)"
[ "$NP" = 1 ] || grep -q "under mpirun: mpirun exits 3 too" run1.log || fail "no word of mpirun's banner: $(cat run1.log)"
before=$(sort -n ids | tr '\n' ' ')
# The stop came while the sleeps ran: some task was cut short, and tasks 1-3 were done before it.
[ "$(state_count sig.mpiq done)" -ge 3 ] && [ "$(state_count sig.mpiq done)" -lt 8 ] ||
  fail "the stop did not land mid-run: $(state_count sig.mpiq done) of 8 done"
done_at_stop=$(task_ids sig.mpiq done)
for i in 1 2 3; do grep -qx $i <<<"$done_at_stop" || fail "task $i is not recorded done at the stop"; done
[ "$("$MPIQ" status sig.mpiq --json | /usr/bin/python3 -c 'import json,sys; print(json.load(sys.stdin)["state"])')" = stopped ] \
  || fail "status does not say stopped"
expect_code 0 mpiq_run sig.tasks > run2.log 2>&1
[ "$(sort -n ids | uniq -d)" = "" ] || fail "a task ran twice: $(sort -n ids | uniq -d); before the stop: $before"
[ "$(sort -n ids | uniq | wc -l)" = 8 ] || fail "not every task ran"
grep -q "resuming run" sig.mpiq/hub.log || fail "the second run did not resume"
echo "ok: stop and resume on $NP rank(s)"
