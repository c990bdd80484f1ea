# Draining: `mpiq cancel --drain RUN_DIR` and `mpiq run --drain` with a stop signal start no more tasks
# and let the running ones finish (not killed); the run saves and exits 3; the rerun does the rest.
# A cancel request sent while no hub runs waits in the inbox and the next run applies it first.
source "$(dirname "$0")/lib.sh"
for i in 1 2 3 4 5 6; do echo "sleep 2; touch $WORK/ran.\$MPIQ_TASK_ID"; done > t.tasks
ran() { ls ran.* 2>/dev/null | wc -l; }
wait_running() {
  for _ in $(seq 1 150); do
    python3 -c 'import json,sys; sys.exit(json.load(open("t.mpiq/status.json"))["counts"]["running"] == 0)' 2>/dev/null && return
    sleep 0.1
  done
  fail "no task started"
}
mpiq_start t.tasks --worker-cores 1 > run1.log 2>&1
pid=$!
wait_running
"$MPIQ" cancel --drain t.mpiq > drain.out || fail "drain: $(cat drain.out)"
grep -q "drains" drain.out || fail "drain verdict: $(cat drain.out)"
expect_code 3 wait $pid
n=$(ran)
[ "$n" -ge 1 ] && [ "$n" -lt 6 ] || fail "drain: $n task(s) ran (running ones must finish, no new one start)"
[ "$(state_count t.mpiq done)" = "$n" ] || fail "a task that ran to its end is not done"
[ "$(state_count t.mpiq failed)" = 0 ] || fail "drain killed a running task"
expect_code 2 "$MPIQ" cancel --drain t.mpiq 2> nohub.err  # no hub: nothing to drain

# Cancel while no hub runs: the request waits; the next run applies it before it starts anything.
"$MPIQ" cancel t.mpiq 6 > waiting.out
grep -q "waits in" waiting.out || fail "offline cancel: $(cat waiting.out)"
mpiq_start t.tasks --worker-cores 1 --drain > run2.log 2>&1
pid=$!
wait_running
kill -USR1 $pid
expect_code 3 wait $pid
[ "$(state_count t.mpiq failed)" = 0 ] || fail "--drain: a signal killed a running task"
[ "$(state_count t.mpiq cancelled)" = 1 ] && [ ! -e ran.6 ] || fail "the offline cancel was not applied"
expect_code 0 mpiq_run t.tasks > run3.log 2>&1
[ "$(ran)" = 5 ] || fail "the rerun did not finish the drained run"
echo "ok: drain on $NP rank(s)"
