#!/usr/bin/env bash
# End-to-end: mpiq stops on its own before the Slurm job's end time, under the local Slurm.
#
#   MPIQ=build/bin/mpiq MPIQ_SLURM_DIR=/tmp/mpiq-slurm MPIQ_TEST_WORK=/tmp/w tests/slurm/test-end-time.sh
#
# A 1-minute job (single-node.sbatch, no --signal: Slurm sends nothing before the limit) runs 75 s of
# tasks with --stop-margin 15s. mpiq reads the job's end time from squeue and must stop about 15 s
# before it (the default margin, 2 min capped at half the time left, would stop it about 30 s in).
#
# Checks: the job exits 3 on its own (ExitCode 3:0, not killed by a signal, not TIMEOUT) after 38 to
# 56 s; status.json says stopped under this job, with some tasks done, none failed, and not all done.
set -euo pipefail
# shellcheck source=tests/slurm/lib.sh
. "$(dirname "$0")/lib.sh"
setup_test

workers=$(cores_here)
ntasks=$((15 * workers))
id_tasks "$ntasks" 5 >"$work/end.tasks"

name=mpiq-end-time-test-$$
note "$ntasks tasks of 5 s for $workers workers in a 1-minute job, --stop-margin 15s"
rc=0
sbatch --wait --time=1 --job-name="$name" "$jobscripts_dir/single-node.sbatch" "$work/end.tasks" \
  --run-dir "$work/run" --stop-margin 15s --grace 2s || rc=$?
log=$(ls "$work/$name"-*.out 2>/dev/null | head -n 1)
[ -n "$log" ] || fail "no job log $work/$name-<job id>.out"
cat "$log"
job=$(basename "$log" .out)
job=${job##*-}
[ "$rc" -eq 3 ] || fail "the job ended with exit code $rc, expected 3 (stopped with its state saved)"

info=$(scontrol show job "$job" -o)
echo "$info"
field() { echo "$info" | tr ' ' '\n' | awk -F= -v k="$1" '$1 == k { print substr($0, length(k) + 2) }'; }
[ "$(field ExitCode)" = "3:0" ] || fail "job $job: ExitCode $(field ExitCode), expected 3:0 (exit 3, no signal)"
[ "$(field JobState)" != TIMEOUT ] || fail "job $job reached its time limit"
runtime=$(field RunTime | awk -F: '{ print $1 * 3600 + $2 * 60 + $3 }')
[ "$runtime" -ge 38 ] || fail "job $job stopped after $runtime s: earlier than --stop-margin 15s before its end"
[ "$runtime" -le 56 ] || fail "job $job ran $runtime s of its 60: not stopped well before its end"

python3 - "$work/run/status.json" "$job" <<'PY' || fail "status.json of the stopped run (above)"
import json, sys
s = json.load(open(sys.argv[1]))
c = s["counts"]
ok = (s["state"] == "stopped" and s.get("slurm", {}).get("job_id") == sys.argv[2]
      and 0 < c["done"] < s["total"] and c["failed"] == 0)
if not ok:
    print(json.dumps(s, indent=1), file=sys.stderr)
    sys.exit(1)
PY
echo "PASS: stopped $((60 - runtime)) s before the job's end (--stop-margin 15s), exit 3, state saved"
