# A poison task (docs/design.md §3): `kill -9 $PPID` kills its own worker rank, and Open MPI then ends
# the whole job (the hub is ended as soon as it writes to the dead rank; every task running then
# counts a crash, so the poison waits for the other tasks here and runs alone). The journal holds its
# start, so each resume counts it a crash (kept in the checkpoint); at the crash limit (3) the fourth
# run fails it at once with the reason "its worker was lost 3 times", skips the task that depends on
# it, and exits 1. No other task is charged, and none runs twice.
source "$(dirname "$0")/lib.sh"
mkdir runs
{
  for i in $(seq 1 30); do echo "echo x >> $WORK/runs/\$MPIQ_TASK_ID; sleep 0.2"; done
  echo '[# 1-30 #] [% name=poison %] kill -9 $PPID'
  echo "[# poison #] echo after >> $WORK/runs/32"
} > p.tasks
# crashes_of ID: task ID's crash count as mpiq reads it (checkpoint and journal: a killed hub wrote
# no last snapshot).
crashes_of() {
  local st
  for st in waiting ready assigned running failed; do
    "$MPIQ" status p.mpiq --tasks "$st" | awk -v id="$1" '$1 == id { print $5 }'
  done
}
codes=""
for run in 1 2 3 4 5; do
  set +e; nodes_mpirun n1:1,n2:2,n3:2 5 p.tasks > p$run.log 2>&1; code=$?; set -e
  codes="$codes $code"
  [ "$code" = 1 ] && break
  [ "$code" != 0 ] || fail "run $run exited 0 with the poison task in it"
  # Charged when the next run loads the state: run 1 leaves it running with none.
  [ "$(crashes_of 31)" = "$((run - 1))" ] || fail "after run $run the poison task counts '$(crashes_of 31)' crash(es)"
done
[ "$code" = 1 ] || fail "the runs exited$codes, never 1"
[ "$run" = 4 ] || fail "the poison task failed after $run runs, not after 3 crashes and a fourth run:$codes"
[ "$(state_count p.mpiq done)" = 30 ] || fail "not every other task is done: $(tail -5 p$run.log)"
[ "$(state_count p.mpiq failed)" = 1 ] || fail "the poison task is not failed"
[ "$(state_count p.mpiq skipped)" = 1 ] || fail "the task after the poison is not skipped"
[ ! -e runs/32 ] || fail "the task after the poison ran"
"$MPIQ" status p.mpiq --tasks failed | grep -q "its worker was lost 3 times" ||
  fail "status does not say why the poison task failed: $("$MPIQ" status p.mpiq --tasks failed)"
grep -q "its worker was lost 3 times" p$run.log || fail "the summary does not say why the poison task failed"
ckpt_column p.mpiq crashes | awk '$1 != 31 && $2 > 0 {exit 1}' || fail "a task other than the poison counts a crash"
for f in runs/*; do [ "$(wc -l < "$f")" = 1 ] || fail "task ${f#runs/} ran $(wc -l < "$f") times"; done
echo "ok: exits$codes; the poison task failed after 3 crashes, the other 30 done"
