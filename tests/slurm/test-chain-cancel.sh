#!/usr/bin/env bash
# End-to-end: `scancel` ends a checkpoint chain (jobscripts/checkpoint-chain.sbatch) under the local
# Slurm, and submitting the same command again resumes the run.
#
#   MPIQ=build/bin/mpiq MPIQ_SLURM_DIR=/tmp/mpiq-slurm MPIQ_TEST_WORK=/tmp/w tests/slurm/test-chain-cancel.sh
#
# 10 tasks of `sleep 2` per worker rank in a 5-minute job; once a few have ended, the job is cancelled.
# Checks: the job script saw the SIGTERM, forwarded it to mpiq's hub, said the chain ends and
# submitted no continuation (before the fix it resubmitted itself on every scancel); the run
# directory says stopped, with the tasks done before the cancel done and the rest not; the same
# sbatch again resumes and finishes the run, each task's id written once, more than once only for
# the tasks running at the cancel.
set -euo pipefail
# shellcheck source=tests/slurm/lib.sh
. "$(dirname "$0")/lib.sh"
setup_test

workers=$(cores_here)
ntasks=$((10 * workers))
id_tasks "$ntasks" 2 >"$work/chain.tasks"
name=mpiq-chain-cancel-$$
submit() {
  sbatch "$@" --time=5 --job-name="$name" "$jobscripts_dir/checkpoint-chain.sbatch" "$work/chain.tasks" \
    --run-dir "$work/run"
}
jobs_left() { squeue -h -n "$name" -o %i; }

job=$(submit --parsable) || fail "sbatch of the chain failed"
job=${job%%;*}
note "$ntasks tasks of 2 s for $workers workers; job $job"
# Cancel once some tasks have ended (their ids are written), so the saved state has work done and left.
for _ in $(seq 120); do
  [ -s "$work/ids" ] && break
  sleep 0.5
done
[ -s "$work/ids" ] || { scancel -n "$name" || true; fail "no task of job $job ended within 60 s"; }
scancel "$job"
if ! jobs_gone "$name" 60; then
  squeue -n "$name" >&2
  # Each job of a chain that resubmits itself would submit another: cancel until none is left.
  for _ in 1 2 3 4 5; do scancel -n "$name" || true; sleep 2; done
  fail "jobs of the chain were still queued or running 60 s after scancel of job $job"
fi
log=$work/$name-$job.out
[ -f "$log" ] || fail "no log $log"
echo "==== $log"
cat "$log"
logs=("$work/$name"-*.out)
[ "${#logs[@]}" -eq 1 ] || fail "${#logs[@]} job logs after the cancel (${logs[*]}): the chain went on"
grep -q "got SIGTERM at .*, forwarding it to mpiq's hub" "$log" || fail "$log: SIGTERM was not forwarded to the hub"
grep -q "mpiq exited with code 3 " "$log" || fail "$log: mpiq did not exit 3 (stopped with state saved)"
grep -q "was cancelled (SIGTERM before its time limit), chain ends" "$log" || fail "$log: no word that the chain ends"
! grep -q "continuation submitted" "$log" || fail "$log: a continuation was submitted after scancel"

done_before=$(python3 - "$work/run/status.json" "$ntasks" <<'EOF'
import json, sys
s = json.load(open(sys.argv[1]))
c = s["counts"]
assert s["state"] == "stopped", f"state {s['state']!r}, expected 'stopped'"
assert s["total"] == int(sys.argv[2]), s["total"]
assert 1 <= c["done"] < s["total"], f"done {c['done']} of {s['total']}: the cancel came after some, before all"
print(c["done"])
EOF
) || fail "status.json after the cancel is wrong (above)"
note "cancelled with $done_before of $ntasks tasks done"

# The same command again resumes: one job, which finishes the run.
rc=0
submit --wait || rc=$?
[ "$rc" -eq 0 ] || fail "the resubmitted chain ended with exit code $rc, expected 0"
[ -z "$(jobs_left)" ] || fail "the resumed chain left jobs behind: $(jobs_left)"
last=$(ls "$work/$name"-*.out | sort -V | tail -n 1)
echo "==== $last"
cat "$last"
grep -q "resuming run (restart 1): $done_before done" "$last" ||
  fail "$last: the resumed run did not start from the $done_before tasks done before the cancel"
grep -q "all tasks done, chain ends" "$last" || fail "$last: the chain did not end with all tasks done"
check_all_done "$work/run" "$ntasks"
python3 - "$work/ids" "$ntasks" "$workers" <<'EOF' || fail "the tasks' id file is wrong (above)"
import collections, sys
seen = collections.Counter(int(l) for l in open(sys.argv[1]) if l.strip())
ntasks, workers = int(sys.argv[2]), int(sys.argv[3])
missing = [i for i in range(1, ntasks + 1) if not seen[i]]
twice = {i: n for i, n in seen.items() if n > 1}
assert not missing, f"ids never written: {missing}"
assert len(twice) <= workers and all(n == 2 for n in twice.values()), \
    f"ids written more than once: {twice}; only the {workers} running at the cancel may run again"
print(f"ids: {ntasks} tasks, {len(twice)} run again after the cancel")
EOF
echo "PASS: scancel ended the chain after $done_before tasks; the same sbatch resumed and finished all $ntasks"
