#!/usr/bin/env bash
# End-to-end: jobscripts/checkpoint-chain.sbatch carries a run that needs more than its jobs' time
# limit through a chain of jobs, under the local Slurm.
#
#   MPIQ=build/bin/mpiq MPIQ_SLURM_DIR=/tmp/mpiq-slurm MPIQ_TEST_WORK=/tmp/w \
#     tests/slurm/test-checkpoint-chain.sh
#
# 15 tasks of `sleep 5` per worker rank (the job script starts one worker per core), about 75 s of
# work, with 1-minute jobs warned 15 s before their end (--signal=B:USR1@15). Slurm checks time limits
# about every 30 s and warns up to that much early, so each job works between 15 and 45 s: the run
# needs 2 to 5 jobs, about 2 to 3 minutes in all. Each task appends its id to a file when it ends.
#
# Checks: at least two jobs ran, as one chain (segment 1, 2, ... each submitted by the one before);
# every job but the last stopped with mpiq's exit code 3 and submitted its continuation; the signal
# reached the job script and was forwarded; the last job saw mpiq exit 0; status.json and
# `mpiq status` show every task done; every id is in the file, and more than once only for as many
# tasks as could have been running at the stops (they are stopped and run again); the checkpoint
# counts the restarts and names every job of the chain. One job in which a rank crashed in MPI's start
# before mpiq ran (lib.sh mpi_start_crashed), which the chain retries (MPIQ_CHAIN_RETRIES), is let pass.
set -euo pipefail
# shellcheck source=tests/slurm/lib.sh
. "$(dirname "$0")/lib.sh"
setup_test

# MPIQ_CHAIN_NODES=N: jobs of N nodes (a cluster of several, start-local-slurm.sh MPIQ_SLURM_NODES).
chain_nodes=${MPIQ_CHAIN_NODES:-1}
workers=$((chain_nodes * $(cores_here)))
ntasks=$((15 * workers))
id_tasks "$ntasks" 5 >"$work/chain.tasks"

name=mpiq-chain-test-$$
# The time limit and the job name as sbatch options: the job script carries them into each
# continuation (checked below: each job's log names its limit). The signal as an SBATCH_* variable,
# which stays in the jobs' environment (Slurm cannot tell a job its --signal). MPIQ_CHAIN_MAX stops a
# chain that makes no progress long before the test's own time limit.
export SBATCH_SIGNAL=B:USR1@15 MPIQ_CHAIN_MAX=8
# What a failure of the chain needs besides the job logs (which the exit's dump_work prints): Slurm's
# view of the jobs.
show_jobs() {
  echo "==== the jobs that ended (jobcomp)" >&2
  cat "$MPIQ_SLURM_DIR/log/jobcomp.txt" >&2 || true
  echo "==== the controller's last lines" >&2
  tail -n 30 "$MPIQ_SLURM_DIR/log/slurmctld.log" >&2 || true
}
started=$SECONDS
note "$ntasks tasks of 5 s for $workers workers; 1-minute jobs; chain $name"
# mpiq's own end-time watch (--stop-margin, default 2 min) would stop a 1-minute job at once: 5 s.
rc=0
sbatch --wait --time=1 --nodes="$chain_nodes" --job-name="$name" "$jobscripts_dir/checkpoint-chain.sbatch" "$work/chain.tasks" \
  --run-dir "$work/run" --stop-margin 5s || rc=$?
[ "$rc" -eq 0 ] || { show_jobs; fail "the first job of the chain ended with exit code $rc, expected 0"; }

# The first job submitted the next before it ended, so the chain is over when no job of it is left.
deadline=$((started + ${MPIQ_CHAIN_TEST_TIMEOUT:-400}))
while [ -n "$(squeue -h -n "$name" -o %i)" ]; do
  if [ $SECONDS -ge $deadline ]; then
    squeue -n "$name" >&2
    scancel -n "$name" || true
    show_jobs
    fail "the chain still had jobs after $((SECONDS - started)) s"
  fi
  sleep 2
done
note "chain over after $((SECONDS - started)) s"

mapfile -t logs < <(ls "$work/$name"-*.out | sort -V)
segments=${#logs[@]}
for log in "${logs[@]}"; do
  echo "==== $log"
  cat "$log"
done
[ "$segments" -ge 2 ] || fail "only $segments job ran; the run should have needed at least two"

forwarded=0
crashed=()  # jobs in which a rank crashed in MPI's start (lib.sh mpi_start_crashed), which the chain retries
for i in "${!logs[@]}"; do
  log=${logs[$i]}
  seg=$((i + 1))
  grep -q "(segment $seg of at most 8)" "$log" || fail "$log is not segment $seg of the chain"
  grep -q "time limit 00:01:00" "$log" || fail "$log: not the 1-minute limit of the first job's sbatch --time=1"
  if [ "$chain_nodes" -gt 1 ]; then
    nodelist=$(sed -n 's/^mpiq-chain: job [0-9]* (segment .*) on \([^ ]*\).*/\1/p' "$log" | head -n 1)
    [ "$(scontrol show hostnames "$nodelist" | wc -l)" = "$chain_nodes" ] ||
      fail "$log: the job ran on '$nodelist', not on $chain_nodes nodes (the chain carries --nodes)"
  fi
  grep -q "got SIGUSR1 at .*, forwarding it to mpiq's hub" "$log" && forwarded=$((forwarded + 1))
  if [ "$seg" -lt "$segments" ]; then
    next_id=$(basename "${logs[$seg]}" .out)
    next_id=${next_id##*-}
    if [ "${#crashed[@]}" -eq 0 ] && mpi_start_crashed "$log" &&
       grep -q "retry 1 of 1 (MPIQ_CHAIN_RETRIES): job $next_id will resume the run" "$log"; then
      note "$log: a rank crashed in MPI's start; the chain retried it as job $next_id"
      id=$(basename "$log" .out)
      crashed+=("${id##*-}")
      continue
    fi
    grep -q "mpiq exited with code 3 " "$log" || fail "$log: mpiq did not exit 3 (stopped with state saved)"
    grep -q "continuation submitted: job $next_id will resume the run" "$log" ||
      fail "$log did not submit job $next_id, the next log's job"
  else
    grep -q "mpiq exited with code 0 " "$log" || fail "$log: the last job's mpiq did not exit 0"
    grep -q "all tasks done, chain ends" "$log" || fail "$log: the chain did not end with all tasks done"
  fi
done
[ "$forwarded" -ge 1 ] || fail "no job log shows SIGUSR1 reaching the job script and being forwarded to mpiq's hub"

check_all_done "$work/run" "$ntasks"

# Each id at least once; more than once only for tasks running at one of the stops, and at most once
# per job.
python3 - "$work/ids" "$ntasks" "$segments" "$workers" <<'EOF' || fail "the tasks' id file is wrong (above)"
import collections, sys
path, ntasks, segments, workers = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
seen = collections.Counter(int(line) for line in open(path) if line.strip())
missing = [i for i in range(1, ntasks + 1) if seen[i] == 0]
extra = sorted(set(seen) - set(range(1, ntasks + 1)))
twice = {i: n for i, n in seen.items() if n > 1}
ok = True
if missing:
    print("ids never written:", missing, file=sys.stderr); ok = False
if extra:
    print("unknown ids written:", extra, file=sys.stderr); ok = False
if len(twice) > (segments - 1) * workers or any(n > segments for n in twice.values()):
    print(f"ids written more than once: {twice}, but only {segments - 1} stops of {workers} workers",
          file=sys.stderr); ok = False
print(f"ids: {ntasks} tasks, {len(twice)} written twice (running at a stop)")
sys.exit(0 if ok else 1)
EOF

# The checkpoint counts the resumes (attribute `restarts`, docs/design.md §7) and names the Slurm job of each
# run segment (attribute `slurm_job_ids`, a comma-separated list, issue 5).
attr() {  # attr NAME: the value of the checkpoint's root attribute NAME, as h5dump prints it
  h5dump -a "/$1" "$work/run/checkpoint.h5" 2>/dev/null | sed -n 's/^ *(0): //p' | tr -d '"'
}
command -v h5dump >/dev/null || fail "h5dump not found (hdf5-tools)"
restarts=$(attr restarts)
[ -n "$restarts" ] || fail "checkpoint.h5 has no attribute 'restarts'"
[ "$restarts" -ge $((segments - 1 - ${#crashed[@]})) ] ||
  fail "checkpoint.h5 says restarts=$restarts, but $segments jobs ran (${#crashed[@]} of them crashed at the start)"
job_ids=$(attr slurm_job_ids)
for log in "${logs[@]}"; do
  id=$(basename "$log" .out)
  id=${id##*-}
  [[ " ${crashed[*]} " == *" $id "* ]] && continue  # its mpiq never started
  [[ ",$job_ids," == *",$id,"* ]] || fail "checkpoint.h5 slurm_job_ids='$job_ids' lacks job $id of the chain"
done
note "checkpoint.h5: restarts=$restarts slurm_job_ids=$job_ids"

echo "PASS: $segments chained jobs ran all $ntasks tasks in $((SECONDS - started)) s"
