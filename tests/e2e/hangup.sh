# A hangup (the terminal of an interactive one-rank run closed) is a stop like SIGTERM: exit 3, the
# state saved, the running tasks interrupted and not charged a crash, and the same command resumes.
# By default it killed mpiq at once, and the resume charged every running task its worker's loss
# (three hangups failed a task). Under nohup (SIGHUP ignored at the start) the run carries on.
source "$(dirname "$0")/lib.sh"
printf 'sleep 2\nsleep 2\n' > h.tasks
"$MPIQ" run h.tasks --run-dir rd --grace 1s > run1.log 2>&1 &
pid=$!
for _ in $(seq 1 100); do [ "$(task_ids rd 1-2 't["state"] == "running"' 2>/dev/null | wc -l)" = 2 ] && break; sleep 0.05; done
[ "$(task_ids rd 1-2 't["state"] == "running"' | wc -l)" = 2 ] || fail "the tasks did not start: $(cat run1.log)"
kill -HUP $pid
set +e; wait $pid; code=$?; set -e
[ "$code" = 3 ] || fail "exit $code after SIGHUP, not 3 (stopped, state saved): $(cat run1.log)"
grep -q "stopped early (the hub received SIGHUP): the state is saved" run1.log || fail "the summary: $(cat run1.log)"
[ -z "$(task_ids rd 1-2 't.get("crashes", 0) > 0')" ] || fail "the hangup charged tasks a crash: $(task_ids rd 1-2 't.get("crashes", 0) > 0')"
expect_code 0 "$MPIQ" run h.tasks --run-dir rd > run2.log 2>&1
[ "$(task_ids rd 1-2 't["state"] == "done" and t["attempts"] == 1')" = "$(printf '1\n2')" ] ||
  fail "after the resume: $("$MPIQ" status rd --tasks 1-2)"
# nohup's way: SIGHUP ignored when mpiq starts, so a hangup changes nothing.
(trap '' HUP; exec "$MPIQ" run h.tasks --run-dir rd2 > run3.log 2>&1) &
pid=$!
for _ in $(seq 1 100); do [ -e rd2/status.json ] && break; sleep 0.05; done
sleep 0.3
kill -HUP $pid
set +e; wait $pid; code=$?; set -e
[ "$code" = 0 ] || fail "exit $code after a SIGHUP that nohup ignores, not 0: $(cat run3.log)"
echo "ok: SIGHUP stops a run as SIGTERM does, and nohup's ignored one is left ignored"
