# kill -9 of the whole job at random moments (5 seeds), 500 short tasks that append their id to a
# file; rerun until done. Every task ends done exactly once in the checkpoint; an id appears twice
# only if its task was not yet recorded as finished at a kill (it was running then), and no more
# tasks run again than kills x running slots x 2 (see the end).
source "$(dirname "$0")/lib.sh"
for i in $(seq 1 500); do echo "echo \$MPIQ_TASK_ID >> $WORK/ids; sleep 0.0\$((MPIQ_TASK_ID % 5))"; done > k.tasks
done_ids() {  # ids the checkpoint + journal record as done; a failing status fails the test
  local out
  out=$(task_ids k.mpiq done 2>status.err) || fail "mpiq status failed after kill $seed: $(cat status.err)"
  echo "$out"
}
lines() { [ -e ids ] && wc -l < ids || echo 0; }
: > allowed_twice
touch ids
kills=0
for seed in 1 2 3 4 5; do
  RANDOM=$seed
  # The moment: once this run has started a random 10-60 tasks (so it is mid-run, whatever the
  # machine's speed), plus up to 50 ms more.
  want=$(( $(lines) + 10 + RANDOM % 50 )); extra=$(( RANDOM % 50 ))
  setsid bash -c "exec mpirun --allow-run-as-root --oversubscribe -np $NP $MPIQ run $WORK/k.tasks --grace 1s > run.$seed.log 2>&1" &
  leader=$!
  for _ in $(seq 1 600); do [ "$(lines)" -ge "$want" ] && break; sleep 0.02; done
  [ "$(lines)" -ge "$want" ] || fail "run $seed did not get going: $(tail -3 run.$seed.log)"
  sleep "0.0$(printf '%02d' $extra)"
  # The whole job: the ranks (Open MPI puts each in a group of its own; killed after mpirun they
  # would stop gracefully, as they end with their launcher) and mpirun's group.
  pkill -9 -f "^$MPIQ run $WORK/k.tasks" 2>/dev/null || true
  kill -9 -- -"$leader" 2>/dev/null || true
  wait "$leader" 2>/dev/null || true
  kills=$((kills + 1))
  sleep 0.5  # the guard ends the orphaned tasks
  done_ids > done.$seed
  n=$(wc -l < done.$seed)
  [ "$n" -gt 0 ] && [ "$n" -lt 500 ] || fail "kill $seed did not land mid-run: $n of 500 done"
  # Ids in the file now whose task is not recorded done were running at the kill: they may run again.
  sort ids | uniq | comm -23 - <(sort done.$seed) >> allowed_twice
  # A recorded task's line count must never grow again: remember each done id's count.
  sort -n ids | uniq -c | awk '{print $2, $1}' > counts.$seed
done
for attempt in 1 2 3; do
  set +e; mpiq_run k.tasks > final.log 2>&1; code=$?; set -e
  [ "$code" = 0 ] && break
done
[ "$code" = 0 ] || fail "the run did not finish: $(tail -5 final.log)"
[ "$(state_count k.mpiq done)" = 500 ] || fail "not every task is done"
"$MPIQ" status k.mpiq --tasks done | tail -1 | grep -q "^500 task" || fail "status --tasks done does not list 500"
[ "$(sort -n ids | uniq | wc -l)" = 500 ] || fail "some task never ran"
for id in $(sort -n ids | uniq -d); do
  grep -qx "$id" allowed_twice || fail "task $id ran twice but was recorded done before a kill"
done
for seed in 1 2 3 4 5; do
  while read -r id n; do
    grep -qx "$id" done.$seed || continue
    now=$(grep -cx "$id" ids)
    [ "$now" = "$n" ] || fail "task $id was done at kill $seed ($n line(s)) and ran again ($now)"
  done < counts.$seed
done
# What may run again: only what was running at a kill: per slot (a core: every task here takes one)
# the task on it, and the one before it when it had ended but its report had not reached the hub
# (the worker starts the next task without waiting for the hub).
slots=$(nproc)
bound=$((kills * slots * 2))
again=$(( $(wc -l < ids) - 500 ))
[ "$again" -le "$bound" ] || fail "$again reruns after $kills kills with $slots slots (at most $bound)"
echo "ok: $kills kill -9s, every task done once; $again task run(s) cut short by a kill ran again (at most $bound)"
