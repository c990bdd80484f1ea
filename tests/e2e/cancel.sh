# mpiq cancel: waiting and queued tasks become cancelled without running, a running one is ended
# (TERM, KILL after --grace), dependants are skipped; the cancel is journalled, so a kill -9 of the
# whole run and a resume keep it; an unknown task is exit 2 and writes nothing.
source "$(dirname "$0")/lib.sh"
cat > t.tasks <<TASKS
[% name=long %] sleep 30; touch $WORK/long.ran
[# long #] touch $WORK/dep.ran
[% name=later priority=-5 %] sleep 30; touch $WORK/later.ran
sleep 30; touch $WORK/four.ran
[% priority=-5 %] sleep 4; touch $WORK/five.ran
TASKS
# One core per worker and a queue of one. One worker: long runs, task 4 is queued, later waits in the
# hub. Two workers: long and later run, 4 and 5 are queued. Task 2 waits for long.
start() {
  if [ "$NP" = 1 ]; then
    setsid bash -c "exec $MPIQ run $WORK/t.tasks --worker-cores 1 --prefetch 1 > $1 2>&1" &
  else
    setsid bash -c "exec mpirun --allow-run-as-root --oversubscribe -np $NP $MPIQ run $WORK/t.tasks --worker-cores 1 --prefetch 1 > $1 2>&1" &
  fi
  leader=$!
}
running() {
  python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["counts"]["running"])' t.mpiq/status.json 2>/dev/null || echo 0
}
start run1.log
for _ in $(seq 1 150); do [ "$(running)" -gt 0 ] && break; sleep 0.1; done
[ "$(running)" -gt 0 ] || fail "no task started: $(cat run1.log)"

expect_code 2 "$MPIQ" cancel t.mpiq long nosuch 2> bad.err
grep -q "no task 'nosuch'" bad.err || fail "unknown task: $(cat bad.err)"
! ls t.mpiq/inbox | grep -q cancel || fail "a refused cancel left a request in the inbox"
expect_code 2 "$MPIQ" cancel t.mpiq 2> none.err

"$MPIQ" cancel t.mpiq long later 4 --grace 1s > cancel.out 2>&1 || fail "cancel: $(cat cancel.out)"
grep -q "^mpiq: cancelled 1 not started, 1 queued, 1 running" cancel.out ||
  grep -q "^mpiq: cancelled 0 not started, 1 queued, 2 running" cancel.out || fail "verdict: $(cat cancel.out)"
# Task 5 runs now; kill the whole job hard while it does (the journal has the cancel).
for _ in $(seq 1 100); do
  [ "$("$MPIQ" status t.mpiq --tasks running --json | python3 -c 'import json,sys; print([t["id"] for t in json.load(sys.stdin)])')" = "[5]" ] && break
  sleep 0.1
done
pkill -9 -f "^$MPIQ run $WORK/t.tasks" 2>/dev/null || true  # this test's ranks only
kill -9 -- -"$leader" 2>/dev/null || true
wait "$leader" 2>/dev/null || true
sleep 0.5
states() { "$MPIQ" status t.mpiq --tasks 1-5 --json | python3 -c 'import json,sys; print(" ".join(t["state"] for t in json.load(sys.stdin)))'; }
[ "$(states)" = "cancelled skipped cancelled cancelled ready" ] || fail "after the kill: $(states)"
[ ! -e long.ran ] && [ ! -e later.ran ] && [ ! -e dep.ran ] && [ ! -e four.ran ] || fail "a cancelled task ran"
grep -q "mpiq: cancelled" <("$MPIQ" cat t.mpiq long --stderr) || fail "the ended task's stderr does not say why"

# The resume runs task 5 only; cancelled and skipped tasks are not a failure: exit 0.
expect_code 0 mpiq_run "$WORK/t.tasks" > run2.log 2>&1
[ "$(states)" = "cancelled skipped cancelled cancelled done" ] || fail "after the resume: $(states)"
[ -e five.ran ] && [ ! -e long.ran ] || fail "resume ran the wrong tasks"
grep -q "cancelled 3" run2.log || fail "the summary does not count the cancelled tasks: $(cat run2.log)"
echo "ok: cancel, kill -9 and resume on $NP rank(s)"
