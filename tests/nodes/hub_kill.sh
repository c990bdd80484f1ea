# kill -9 of the hub alone, mid-run (docs/design.md §12). Open MPI then ends the job: its daemon on
# the hub's node sees the hub die and the other ranks get SIGTERM, then SIGKILL a second later
# (odls_base_sigkill_timeout). Workers start nothing after that signal (nor after a few seconds
# without the hub's heartbeat), so after the resume no task has run twice except those that were
# running at the kill: every start is before the kill (give or take the moment Open MPI takes to
# signal the workers) or in the resumed run.
source "$(dirname "$0")/lib.sh"
mkdir runs
# Each start of a task appends a line with the time to runs/ID.
for i in $(seq 1 80); do echo "date +%s.%N >> $WORK/runs/\$MPIQ_TASK_ID; sleep 0.2"; done > h.tasks
started() { [ "$(ls runs | wc -l)" -ge "$1" ]; }
# A deep prefetch: each worker holds many unstarted tasks when the hub goes.
nodes_start n1:1,n2:2,n3:2 5 h.tasks --prefetch 8 --grace 1s > h1.log 2>&1
launcher=$!
wait_until 30 started 12 || fail "the run started too few tasks: $(tail -5 h1.log)"
hub=$(node_ranks n1)
[ -n "$hub" ] || fail "no hub process on n1"
kill_at=$(date +%s.%N)
kill -9 "$hub"
set +e; wait "$launcher"; code=$?; set -e
ended_at=$(date +%s.%N)
[ "$code" != 0 ] || fail "the job exited 0 after its hub was killed"
done_before=$(task_ids h.mpiq done)
[ "$(echo "$done_before" | grep -c .)" -lt 80 ] || fail "every task was done before the kill"
resumed_at=$(date +%s.%N)
expect_code 0 nodes_mpirun n1:1,n2:2,n3:2 5 h.tasks > h2.log 2>&1
[ "$(state_count h.mpiq done)" = 80 ] || fail "the resumed run did not finish: $(tail -5 h2.log)"
# Open MPI's signal reaches the workers within milliseconds of the kill; 0.3 s leaves room for a
# loaded machine.
late=$(cat runs/* | awk -v k="$kill_at" -v r="$resumed_at" '$1 > k + 0.3 && $1 < r' | wc -l)
[ "$late" = 0 ] || fail "$late task(s) started after the hub was killed, before the resume"
for f in runs/*; do
  id=${f#runs/}
  n=$(wc -l < "$f")
  if grep -qx "$id" <<<"$done_before"; then
    [ "$n" = 1 ] || fail "task $id was recorded done before the kill and ran $n times"
  elif [ "$n" -gt 1 ]; then
    first=$(head -1 "$f")
    awk -v t="$first" -v k="$kill_at" 'BEGIN { exit !(t < k + 0.3) }' ||
      fail "task $id ran $n times, and was not running at the kill"
  fi
done
twice=$(for f in runs/*; do if [ "$(wc -l < "$f")" -gt 1 ]; then echo x; fi; done | wc -l)
echo "ok: hub killed with $(echo "$done_before" | grep -c .) done; the job ended $(echo "$ended_at - $kill_at" | bc) s later (exit $code); $twice task(s) running at the kill ran again"
