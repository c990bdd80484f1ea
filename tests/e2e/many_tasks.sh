# 2,000 tasks each append their id to one file: every id appears exactly once.
source "$(dirname "$0")/lib.sh"
for i in $(seq 1 2000); do echo "echo \$MPIQ_TASK_ID >> $WORK/ids"; done > many.tasks
expect_code 0 mpiq_run many.tasks > run.log
[ "$(wc -l < ids)" = 2000 ] || fail "expected 2000 lines, got $(wc -l < ids)"
[ "$(sort -n ids | uniq | wc -l)" = 2000 ] || fail "some id ran twice: $(sort -n ids | uniq -d | head)"
[ "$(sort -n ids | head -1)" = 1 ] && [ "$(sort -n ids | tail -1)" = 2000 ] || fail "ids are not 1..2000"
[ "$(state_count many.mpiq done)" = 2000 ] || fail "status does not count 2000 done"
grep -q "done 2000" run.log || fail "summary does not show 2000 done: $(cat run.log)"
echo "ok: 2000 tasks, each once, on $NP rank(s)"
