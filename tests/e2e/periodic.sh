# --checkpoint-interval and --status-interval: while a task still runs, checkpoint.h5 is rewritten
# (it comes to show the finished task as done and the other as running) and status.json is
# rewritten again and again. With the defaults (60 s, 10 s) neither happens within the bounds below.
source "$(dirname "$0")/lib.sh"
source "$TESTS_DIR/lib_extra.sh"
cat > p.tasks <<TASKS
touch $WORK/first.done
for i in \$(seq 1 600); do [ -e $WORK/release ] && break; sleep 0.1; done; touch $WORK/second.done
TASKS
mpiq_start p.tasks --checkpoint-interval 1s --status-interval 1s > run.log 2>&1
pid=$!
trap 'touch "$WORK/release"; wait $pid 2>/dev/null; [ -n "${KEEP:-}" ] || rm -rf "$WORK"' EXIT
wait_until 30 test -e p.mpiq/status.json || fail "no status.json after 30 s: $(cat run.log)"
first_status=$SECONDS
# status.json: three different `updated` stamps (second resolution) with the run still running,
# within 8 s of the first one (the default interval would give one).
status_versions() {
  json_field p.mpiq/status.json 'd["state"] + " " + d["updated"]' >> seen 2>/dev/null || true
  [ "$(grep '^running ' seen | sort -u | wc -l)" -ge 3 ] || [ $((SECONDS - first_status)) -gt 8 ]
}
wait_until 30 status_versions || true
[ "$(grep '^running ' seen | sort -u | wc -l)" -ge 3 ] ||
  fail "status.json was not rewritten every second while the run ran: $(sort -u seen | tr '\n' ';')"
# checkpoint.h5: a snapshot taken while task 2 runs, after task 1 ended (the one written at start
# knows neither). Written by rename, so reading it as it is replaced is safe.
snapshot_mid_run() {
  [ "$(ckpt_column p.mpiq state 2>/dev/null | tr '\n' ,)" = "1 done,2 running," ]
}
wait_until 10 snapshot_mid_run || fail "no snapshot showed task 1 done and task 2 running: $(ckpt_column p.mpiq state | tr '\n' ,)"
[ ! -e second.done ] || fail "task 2 ended before the test let it"
touch release
set +e; wait $pid; code=$?; set -e
[ "$code" = 0 ] || fail "the run exited $code: $(cat run.log)"
[ "$(json_field p.mpiq/status.json 'd["state"]')" = finished ] || fail "status.json not finished at exit"
[ "$(ckpt_column p.mpiq state | tr '\n' ,)" = "1 done,2 done," ] || fail "final snapshot"
echo "ok: periodic snapshots and status rewrites during the run on $NP rank(s)"
