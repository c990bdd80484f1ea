# --retry-failed on resume: failed and skipped tasks run again, done tasks do not. Without the flag a
# resume leaves them as they are. Each task appends its id to `ran` every time it runs.
source "$(dirname "$0")/lib.sh"
source "$TESTS_DIR/lib_extra.sh"
cat > r.tasks <<TASKS
echo 1 >> $WORK/ran; test -e $WORK/fixed || exit 5
[# 1 #] echo 2 >> $WORK/ran
echo 3 >> $WORK/ran
TASKS
expect_code 1 mpiq_run r.tasks > run1.log 2>&1
[ "$(sort -n ran | tr '\n' ' ')" = "1 3 " ] || fail "first run: $(sort -n ran | tr '\n' ' ')"
[ "$(ckpt_column r.mpiq state | tr '\n' ,)" = "1 failed,2 skipped,3 done," ] || fail "first run's states"
touch fixed
expect_code 1 mpiq_run r.tasks > run2.log 2>&1  # a plain resume keeps failed failed
[ "$(sort -n ran | tr '\n' ' ')" = "1 3 " ] || fail "a resume without --retry-failed ran: $(sort -n ran | tr '\n' ' ')"
expect_code 0 mpiq_run r.tasks --retry-failed > run3.log 2>&1
[ "$(sort -n ran | tr '\n' ' ')" = "1 1 2 3 " ] ||
  fail "--retry-failed should run tasks 1 and 2 again and not 3: $(sort -n ran | tr '\n' ' ')"
[ "$(ckpt_column r.mpiq state | tr '\n' ,)" = "1 done,2 done,3 done," ] || fail "states after --retry-failed"
[ "$(json_field r.mpiq/status.json 'd["counts"]["done"]')" = 3 ] || fail "status.json: not 3 done"
echo "ok: --retry-failed reruns failed and skipped tasks only, on $NP rank(s)"
