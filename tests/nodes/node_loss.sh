# Losing a node mid-run (docs/design.md §12): everything on n3 (its Open MPI daemon, both worker
# ranks, their tasks) is killed at once. Open MPI ends the job: the ranks left get SIGTERM, then
# SIGKILL a second later. The state is saved (the journal holds every start and every task that
# finished); the tasks that were running on n3 count a crash; a resume finishes, and no task that
# was recorded done is lost or runs again. The tasks running on n2 count none when the hub hears of
# their end within that second (on a quiet machine it does; on a loaded one, or when the hub writes to
# a rank of n3 before Open MPI has marked it dead, it is ended first and they count one too).
source "$(dirname "$0")/lib.sh"
mkdir runs
for i in $(seq 1 60); do echo "echo \$MPIQ_HOST >> $WORK/runs/\$MPIQ_TASK_ID; sleep 0.5"; done > l.tasks
started() { [ "$(ls runs | wc -l)" -ge "$1" ]; }
nodes_start n1:1,n2:2,n3:2 5 l.tasks --grace 1s > l1.log 2>&1
launcher=$!
wait_until 30 started 12 || fail "the run started too few tasks: $(tail -5 l1.log)"
lost_at=$(date +%s.%N)
lose_node n3
set +e; wait "$launcher"; code=$?; set -e
ended_at=$(date +%s.%N)
[ "$code" != 0 ] || fail "the job exited 0 after losing a node"
done_before=$(task_ids l.mpiq done)
[ "$(echo "$done_before" | grep -c .)" -lt 60 ] || fail "every task was done before the loss"
# The tasks that were running on n3: started there (the last line of their marker) and not done.
on_n3=$(for f in runs/*; do
  id=${f#runs/}
  if [ "$(tail -1 "$f")" = n3 ] && ! grep -qx "$id" <<<"$done_before"; then echo "$id"; fi
done | sort -n)
[ -n "$on_n3" ] || fail "no task was running on n3 at the loss"
expect_code 0 nodes_mpirun n1:1,n2:2,n3:2 5 l.tasks > l2.log 2>&1
[ "$(state_count l.mpiq done)" = 60 ] || fail "the resumed run did not finish: $(tail -5 l2.log)"
for id in $done_before; do
  [ "$(wc -l < runs/$id)" = 1 ] || fail "task $id was done before the loss and ran again"
done
# The crashes: the killed hub's journal left the tasks of n3 running, and the resumed run counted
# each a crash when it loaded the state (its final snapshot holds them).
charged=$(ckpt_column l.mpiq crashes | awk '$2 > 0 {print $1}' | sort -n)
missing=$(comm -23 <(echo "$on_n3" | sort) <(echo "$charged" | sort))
[ -z "$missing" ] || fail "tasks running on n3 count no crash: $(echo $missing) (charged: $(echo $charged))"
ckpt_column l.mpiq crashes | awk '$2 > 1 {exit 1}' || fail "a task counts more than one crash"
others=$(comm -13 <(echo "$on_n3" | sort) <(echo "$charged" | sort) | grep -c . || true)
echo "ok: n3 lost with $(echo "$done_before" | wc -l) done; the job ended $(echo "$ended_at - $lost_at" | bc) s later (exit $code); $(echo "$on_n3" | wc -l) task(s) on n3 count a crash, $others on n2"
