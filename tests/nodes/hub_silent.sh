# The hub's heartbeat (docs/design.md §12): with the hub stopped (SIGSTOP: alive, silent, unseen by
# Open MPI) the workers start no new task after a few seconds (3 s) although their queues hold many;
# when the hub goes on (SIGCONT) so do they, and the run finishes with every task run once.
source "$(dirname "$0")/lib.sh"
mkdir runs
for i in $(seq 1 60); do echo "date +%s.%N >> $WORK/runs/\$MPIQ_TASK_ID; sleep 1"; done > s.tasks
started() { [ "$(ls runs | wc -l)" -ge "$1" ]; }
# Each worker holds 9 tasks (9 s of work): without the heartbeat they would go on starting for 9 s.
nodes_start n1:1,n2:2,n3:2 5 s.tasks --prefetch 8 > s.log 2>&1
launcher=$!
wait_until 30 started 4 || fail "the run started too few tasks: $(tail -5 s.log)"
hub=$(node_ranks n1)
kill -STOP "$hub"
stopped_at=$(date +%s.%N)
sleep 8
kill -CONT "$hub"
late=$(cat runs/* | awk -v s="$stopped_at" '$1 > s + 4.5 && $1 < s + 8' | wc -l)
before=$(cat runs/* | awk -v s="$stopped_at" '$1 > s && $1 < s + 2' | wc -l)
set +e; wait "$launcher"; code=$?; set -e
[ "$code" = 0 ] || fail "the run did not finish after the hub went on (exit $code): $(tail -5 s.log)"
[ "$late" = 0 ] || fail "$late task(s) started more than 4.5 s after the hub went silent"
[ "$before" -gt 0 ] || fail "no queued task started in the 2 s after the hub was stopped (the test shows nothing)"
[ "$(state_count s.mpiq done)" = 60 ] || fail "not every task is done"
for f in runs/*; do [ "$(wc -l < "$f")" = 1 ] || fail "task ${f#runs/} ran $(wc -l < "$f") times"; done
grep -q "no word from the hub" s.log || fail "no worker said that it stopped starting tasks"
echo "ok: $before task(s) started in the 2 s after the hub was stopped, none after 4.5 s; all 60 done once"
