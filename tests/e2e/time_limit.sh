# --time-limit: stop, save and exit 3 before the limit; the rerun finishes the rest.
source "$(dirname "$0")/lib.sh"
for i in $(seq 1 6); do echo "sleep 1; echo \$MPIQ_TASK_ID >> $WORK/ids"; done > t.tasks
start=$(date +%s)
expect_code 3 mpiq_run t.tasks --time-limit 4s --stop-margin 2s --grace 1s > run1.log 2>&1
[ $(( $(date +%s) - start )) -le 12 ] || fail "did not stop in time (the bound leaves room for a loaded machine)"
expect_code 0 mpiq_run t.tasks > run2.log 2>&1
[ "$(sort -n ids | uniq -d)" = "" ] && [ "$(sort -n ids | uniq | wc -l)" = 6 ] || fail "tasks lost or run twice"
echo "ok: time limit on $NP rank(s)"
