#!/usr/bin/env bash
# End-to-end under a local Slurm of three nodes (start-local-slurm.sh with MPIQ_SLURM_NODES=3): a
# multi-node job loses node n3 mid-run (its slurmd, step daemon, ranks and tasks killed at once, as a
# node that loses power), then the same command submitted again on the nodes left finishes the run.
#
#   MPIQ=build/bin/mpiq MPIQ_SLURM_DIR=/tmp/mpiq-slurm-nodes MPIQ_TEST_WORK=/tmp/w \
#     tests/slurm/test-node-loss.sh
#
# Checks: the first job ends (whatever code Slurm gives it) with the state saved as far as the
# journal got; the second job exits 0 with every task done; no task recorded done before the loss ran
# again; only tasks that were running at the loss ran twice; the tasks that were on n3's workers count
# a crash. Then n3 is brought back for the tests after this one.
set -euo pipefail
# shellcheck source=tests/slurm/lib.sh
. "$(dirname "$0")/lib.sh"
setup_test
sinfo -h -o %N | grep -q 'n\[1-3\]' || fail "the cluster in $MPIQ_SLURM_DIR is not n[1-3] (MPIQ_SLURM_NODES=3)"

for i in $(seq 1 90); do echo "sleep 0.5; echo \$MPIQ_TASK_ID \$MPIQ_HOST >> $work/ids"; done > loss.tasks
name=mpiq-loss-$$
job_ended() { [ -z "$(squeue -h -j "$job" -o %i 2>/dev/null)" ]; }
# Once some tasks are done and some run on n3: n3 goes, everything on it at once.
for attempt in 1 2; do
  job=$(sbatch --parsable --nodes=3 --time=5 --job-name="$name" "$jobscripts_dir/multi-node.sbatch" \
    "$work/loss.tasks" --run-dir "$work/run")
  note "job $job on 3 nodes"
  for _ in $(seq 600); do
    [ -f ids ] && [ "$(wc -l < ids)" -ge 12 ] && grep -q ' n3$' ids && break
    job_ended && break
    sleep 0.1
  done
  [ -f ids ] && grep -q ' n3$' ids && break
  log=$work/$name-$job.out
  if [ "$attempt" = 1 ] && [ ! -f ids ] && job_ended && mpi_start_crashed "$log"; then
    cat "$log"
    note "job $job: a rank crashed in MPI's start before any task ran (above); submitting once more"
    continue
  fi
  fail "no task ran on n3 within 60 s"
done
n3=$(awk '$1 == "slurmd-n3" { print $2 }' "$MPIQ_SLURM_DIR/run/pids" | tail -n 1)
[ -n "$n3" ] || fail "no slurmd-n3 in $MPIQ_SLURM_DIR/run/pids"
# shellcheck source=tests/support/power_off.sh
. "$slurm_tests_dir/../support/power_off.sh"
lost_at=$SECONDS
power_off "$n3"
# Counted after the kill (and a moment for a write under way to land): a task of n3 that ended between
# a count and the kill would otherwise look as if it ran on n3 after the loss.
sleep 1
lines_at_loss=$(wc -l < ids)
note "killed n3: $POWERED_OFF processes (slurmd, slurmstepd, ranks, tasks) with $lines_at_loss tasks ended"

while [ -n "$(squeue -h -j "$job" -t running -o %i 2>/dev/null)" ]; do
  [ $((SECONDS - lost_at)) -lt 120 ] || fail "job $job still runs 120 s after n3 was lost"
  sleep 1
done
ended=$((SECONDS - lost_at))
log=$work/$name-$job.out
note "job $job ended $ended s after the loss"
tail -n 15 "$log"
[ -f run/checkpoint.h5 ] || [ -f run/journal ] || fail "the lost job left no state in run/"
done_recorded=$(task_ids run "done")
[ -n "$done_recorded" ] || fail "no task is recorded done after the loss"

# The same command again, on the nodes that are left.
rc=0
sbatch --wait --nodes=2 --nodelist=n1,n2 --time=5 --job-name="$name-2" "$jobscripts_dir/multi-node.sbatch" \
  "$work/loss.tasks" --run-dir "$work/run" || rc=$?
cat "$work/$name-2"-*.out
[ "$rc" -eq 0 ] || fail "the resumed job ended with exit code $rc, expected 0"
check_all_done "$work/run" 90
grep -q ' n3$' <(tail -n +$((lines_at_loss + 1)) ids) && fail "a task ran on n3 after it was lost"

# Every task ran; twice only tasks running at the loss (at most one per worker rank of the first job,
# 6, and as many whose end had not been journalled yet); done before the loss: never again (below).
python3 - ids <<'EOF' || fail "the tasks' id file is wrong (above)"
import collections, sys
runs = collections.defaultdict(list)
for n, line in enumerate(open(sys.argv[1])):
    task, host = line.split()
    runs[int(task)].append((n, host))
twice = {t: r for t, r in runs.items() if len(r) > 1}
missing = [t for t in range(1, 91) if t not in runs]
print(f"{len(runs)} tasks ran, {len(twice)} twice: {sorted(twice)}")
ok = not missing and len(twice) <= 12
if missing: print("never ran:", missing, file=sys.stderr)
if len(twice) > 12: print("too many tasks ran twice", file=sys.stderr)
sys.exit(0 if ok else 1)
EOF
for id in $done_recorded; do
  [ "$(grep -c "^$id " ids)" = 1 ] || fail "task $id was recorded done before the loss and ran again"
done
crashed=$(task_ids run "done" 't.get("crashes", 0) > 0' | wc -l)
[ "$crashed" -ge 1 ] || fail "no task counts a crash after its node was lost"
note "$crashed task(s) count a crash (they were running on n3's workers)"

# n3 back for the next test (a restart of the whole local cluster, which is idempotent otherwise).
"$slurm_tests_dir/start-local-slurm.sh" "$MPIQ_SLURM_DIR" > /dev/null
echo "PASS: node n3 lost mid-run: the job ended ${ended} s later; resumed on n1,n2, all 90 done, none done before ran again"
