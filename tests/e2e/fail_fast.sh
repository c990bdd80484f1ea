# --fail-fast: the first failure stops dispatch. Tasks running then finish, nothing more starts, the
# run exits 1; the checkpoint says what ran (done/failed), what was skipped and what never ran.
source "$(dirname "$0")/lib.sh"
source "$TESTS_DIR/lib_extra.sh"
# Task 1 fails once task 3 runs, and task 3 outlives that failure by 3 s, so the hub has seen the
# failure before task 3 ends and would release tasks 4-8; without --fail-fast they run once task 3
# is done. (Both may first be handed to one worker; the idle one then steals the other.)
cat > ff.tasks <<TASKS
[% name=bad %] for i in \$(seq 200); do [ -e $WORK/started.3 ] && break; sleep 0.1; done; touch $WORK/bad_failed; exit 4
[# bad #] touch $WORK/ran.2
touch $WORK/started.3; for i in \$(seq 200); do [ -e $WORK/bad_failed ] && break; sleep 0.1; done; sleep 3; touch $WORK/ran.3
[# 3 #] touch $WORK/ran.4
[# 3 #] touch $WORK/ran.5
[# 3 #] touch $WORK/ran.6
[# 3 #] touch $WORK/ran.7
[# 3 #] touch $WORK/ran.8
TASKS
expect_code 1 mpiq_run ff.tasks --fail-fast > run.log 2>&1
[ -e ran.3 ] || fail "task 3, running at the failure, did not finish: $(cat run.log)"
ran=$(ls ran.* | tr '\n' ' ')
[ "$ran" = "ran.3 " ] || fail "tasks started after the first failure: $ran"
states=$(ckpt_column ff.mpiq state | tr '\n' ',')
[ "$states" = "1 failed,2 skipped,3 done,4 ready,5 ready,6 ready,7 ready,8 ready," ] ||
  fail "checkpoint states after --fail-fast: $states"
[ "$(json_field ff.mpiq/status.json 'd["state"], d["counts"]["done"], d["counts"]["failed"]')" = "finished 1 1" ] ||
  fail "status.json: $(cat ff.mpiq/status.json)"
[ "$(ckpt_value ff.mpiq exit_code 1)" = 4 ] || fail "task 1's exit code is not 4 in the checkpoint"
echo "ok: --fail-fast stopped dispatch at the first failure on $NP rank(s)"
