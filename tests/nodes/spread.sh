# Three nodes: the hub alone on n1, two workers each on n2 and n3. Tasks spread over both worker
# nodes (MPIQ_HOST differs), all done; status.json names each worker's host. Then a run stopped
# mid-way (SIGUSR1 to mpirun, exit 3) resumes on other nodes (the hub on n3) and finishes, with no
# task that was recorded done run again.
source "$(dirname "$0")/lib.sh"
mkdir runs
for i in $(seq 1 40); do echo "echo \$MPIQ_HOST >> $WORK/runs/\$MPIQ_TASK_ID; sleep 0.05"; done > a.tasks
expect_code 0 nodes_mpirun n1:1,n2:2,n3:2 5 a.tasks > a.log 2>&1
[ "$(state_count a.mpiq done)" = 40 ] || fail "not every task is done: $(tail -5 a.log)"
hosts=$(cat runs/* | sort | uniq -c)
for n in n2 n3; do grep -q " $n\$" <<<"$hosts" || fail "no task ran on $n: $hosts"; done
grep -q " n1\$" <<<"$hosts" && fail "a task ran on the hub's node n1: $hosts"
for f in runs/*; do [ "$(wc -l < "$f")" = 1 ] || fail "task ${f#runs/} ran $(wc -l < "$f") times"; done
[ "$(json_field a.mpiq/status.json "d['hub']['host']")" = n1 ] || fail "status.json: the hub is not on n1"
[ "$(json_field a.mpiq/status.json "' '.join(sorted(w['host'] for w in d['workers']))")" = "n2 n2 n3 n3" ] ||
  fail "status.json: workers are not two on n2 and two on n3"
nodes=$(json_field a.mpiq/status.json "' '.join('%s:%d:%d:%d' % (n['host'], n['workers'], n['cores'], n['done']) for n in d['nodes'])")
n2_done=$(json_field a.mpiq/status.json "sum(w['done'] for w in d['workers'] if w['host'] == 'n2')")
n3_done=$(json_field a.mpiq/status.json "sum(w['done'] for w in d['workers'] if w['host'] == 'n3')")
[ "$nodes" = "n2:2:2:$n2_done n3:2:2:$n3_done" ] || [ "$nodes" = "n3:2:2:$n3_done n2:2:2:$n2_done" ] ||
  fail "status.json: nodes are $nodes, not n2 and n3 with 2 workers and 2 cores each"
[ $((n2_done + n3_done)) = 40 ] || fail "status.json: the nodes did $((n2_done + n3_done)) tasks, not 40"
"$MPIQ" status a.mpiq | grep -q "^n2 *2 *2 " || fail "mpiq status shows no row for node n2: $("$MPIQ" status a.mpiq)"

# Stopped mid-way, resumed with the hub on another node.
rm -rf runs; mkdir runs
for i in $(seq 1 60); do echo "echo \$MPIQ_HOST >> $WORK/runs/\$MPIQ_TASK_ID; sleep 0.2"; done > b.tasks
nodes_start n1:1,n2:2,n3:2 5 b.tasks --grace 1s > b1.log 2>&1
launcher=$!
started() { [ "$(ls runs | wc -l)" -ge "$1" ]; }
wait_until 30 started 12 || fail "the first run started too few tasks: $(tail -5 b1.log)"
kill -USR1 "$launcher"  # mpirun forwards USR1 to every rank (TERM makes it abort the job)
set +e; wait "$launcher"; code=$?; set -e
[ "$code" = 3 ] || fail "a stopped run exits $code, not 3: $(tail -5 b1.log)"
done_before=$(task_ids b.mpiq done)
[ -n "$done_before" ] || fail "nothing was done before the stop"
[ "$(echo "$done_before" | wc -l)" -lt 60 ] || fail "everything was done before the stop"
expect_code 0 nodes_mpirun n3:1,n1:2,n2:2 5 b.tasks > b2.log 2>&1
[ "$(state_count b.mpiq done)" = 60 ] || fail "the resumed run did not finish: $(tail -5 b2.log)"
for id in $done_before; do
  [ "$(wc -l < runs/$id)" = 1 ] || fail "task $id was done before the stop and ran again"
done
grep -q n1 runs/* || fail "no task ran on n1 after the resume"
# Tasks that the stop ended count no crash (the crashes column of `mpiq status --tasks`).
charged=$(task_ids b.mpiq done 't.get("crashes", 0) > 0' | wc -l)
[ "$charged" = 0 ] || fail "$charged task(s) count a crash after a stop that only ended them: $("$MPIQ" status b.mpiq --tasks done | awk '$5 != 0'); $(grep -v DEBUG b.mpiq/hub.log | tail -20)"
echo "ok: 40 tasks over n2 and n3; a run stopped with $(echo "$done_before" | wc -l) done resumed with the hub on n3"
