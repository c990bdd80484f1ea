# The Slurm end-time stop without a Slurm: SLURM_JOB_ID set and a fake `squeue` on PATH that prints
# an end time 16 s away. With --stop-margin 3s (less than half the time left) mpiq must stop about
# 3 s before that end, save, and exit 3, although the tasks need 17.5 s and no signal is sent. (The
# default margin, 2 min capped at half the time left, would stop it 8 s before the end.)
source "$(dirname "$0")/lib.sh"
source "$TESTS_DIR/lib_extra.sh"
mkdir fakebin
end=$(( $(date +%s) + 16 ))
cat > fakebin/squeue <<FAKE
#!/bin/sh
echo "\$*" >> $WORK/squeue.calls
date -d @$end +%Y-%m-%dT%H:%M:%S
FAKE
chmod +x fakebin/squeue
for i in $(seq 1 14); do echo "sleep 2.5; echo \$MPIQ_TASK_ID >> $WORK/ids"; done > e.tasks
touch ids
set +e
if [ "$NP" = 1 ]; then
  SLURM_JOB_ID=4242 PATH="$WORK/fakebin:$PATH" "$MPIQ" run e.tasks --stop-margin 3s --grace 1s > run1.log 2>&1
else
  # mpirun itself must not see SLURM_JOB_ID (it would look for a Slurm allocation): only the ranks.
  mpirun --allow-run-as-root --oversubscribe -np "$NP" -x SLURM_JOB_ID=4242 -x PATH="$WORK/fakebin:$PATH" \
    "$MPIQ" run e.tasks --stop-margin 3s --grace 1s > run1.log 2>&1
fi
code=$?
set -e
stopped=$(date +%s)
[ "$code" = 3 ] || fail "expected exit 3 before the job's end, got $code: $(tail -5 run1.log)"
grep -qx -- "-h -j 4242 -o %e" squeue.calls || fail "squeue was not asked for job 4242's end time: $(cat squeue.calls)"
# The stop is due at end - 3 s; ended tasks get 1 s of grace. Bounds for a loaded machine.
[ "$stopped" -ge $((end - 5)) ] || fail "stopped $((end - stopped)) s before the end: earlier than --stop-margin 3s"
[ "$stopped" -le "$end" ] || fail "stopped $((stopped - end)) s after the job's end"
[ "$(json_field e.mpiq/status.json 'd["state"], d["slurm"]["job_id"]')" = "stopped 4242" ] ||
  fail "status.json: $(cat e.mpiq/status.json)"
[ "$(state_count e.mpiq failed)" = 0 ] || fail "tasks ended by the stop count as failed"
[ "$(state_count e.mpiq done)" -lt 14 ] || fail "every task was done: nothing was stopped"
# Outside the job, the same command resumes and finishes; no task done before the stop runs again.
expect_code 0 mpiq_run e.tasks > run2.log 2>&1
[ "$(sort -n ids | uniq -d)" = "" ] && [ "$(sort -n ids | uniq | wc -l)" = 14 ] || fail "tasks lost or run twice: $(sort -n ids | tr '\n' ' ')"
echo "ok: stopped $((end - stopped)) s before a Slurm job's end on $NP rank(s)"
