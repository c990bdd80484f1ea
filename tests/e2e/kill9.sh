# kill -9 of the whole job at random moments (5 seeds), 500 short tasks that append their id to a
# file; rerun until done. Every task ends done exactly once in the checkpoint; an id appears twice
# only if its task was not yet recorded as finished at a kill (it was running then).
source "$(dirname "$0")/lib.sh"
for i in $(seq 1 500); do echo "echo \$MPIQ_TASK_ID >> $WORK/ids; sleep 0.0\$((MPIQ_TASK_ID % 5))"; done > k.tasks
done_ids() {  # ids the checkpoint + journal record as done
  { "$MPIQ" status k.mpiq --tasks done 2>/dev/null || true; } | awk 'NR > 1 && $1 ~ /^[0-9]+$/ && $2 != "task(s)" {print $1}' | sort -n
}
: > allowed_twice
for seed in 1 2 3 4 5; do
  RANDOM=$seed
  delay=$(( 1000 + RANDOM % 2500 ))  # ms into the run (MPI start-up takes about 1 s here)
  setsid bash -c "exec mpirun --allow-run-as-root --oversubscribe -np $NP $MPIQ run $WORK/k.tasks --grace 1s > run.$seed.log 2>&1" &
  leader=$!
  sleep "$(printf '%d.%03d' $((delay / 1000)) $((delay % 1000)))"
  # The whole job: the ranks (Open MPI puts each in a group of its own; killed after mpirun they
  # would stop gracefully, as they end with their launcher) and mpirun's group.
  pkill -9 -f "^$MPIQ run $WORK/k.tasks" 2>/dev/null || true
  kill -9 -- -"$leader" 2>/dev/null || true
  wait "$leader" 2>/dev/null || true
  sleep 0.5  # the guard ends the orphaned tasks
  done_ids > done.$seed
  # Ids in the file now whose task is not recorded done were running at the kill: they may run again.
  touch ids
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
echo "ok: 5 kill -9s, every task done once; $(sort -n ids | uniq -d | wc -l) task(s) running at a kill ran again"
