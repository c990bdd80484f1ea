#!/usr/bin/env bash
# End-to-end: `sbatch --wait` of a CPU job script on a task file, under the local Slurm.
#
#   MPIQ=build/bin/mpiq MPIQ_SLURM_DIR=/tmp/mpiq-slurm MPIQ_TEST_WORK=/tmp/w \
#     tests/slurm/test-jobscript.sh single-node.sbatch examples/hello.tasks [sbatch options...]
#
# Checks: the job exits 0, its log holds the job script's banner, status.json and `mpiq status` show
# every task done, every task's output readable with `mpiq cat`; with MPIQ_TEST_MIN_NODES=N (a cluster of
# several nodes), that tasks ran on N nodes or more. The run directory is given with --run-dir, so that
# passing arguments through the job script to `mpiq run` is checked too.
set -euo pipefail
# shellcheck source=tests/slurm/lib.sh
. "$(dirname "$0")/lib.sh"

[ $# -ge 2 ] || fail "usage: $0 JOBSCRIPT TASK_FILE [sbatch options...]"
jobscript=$jobscripts_dir/$1
task_file=$(cd "$(dirname "$2")" && pwd)/$(basename "$2")
shift 2
[ -f "$jobscript" ] || fail "no job script $jobscript"
[ -f "$task_file" ] || fail "no task file $task_file"
setup_test

name=mpiq-test-$$
note "sbatch --wait $* $jobscript $task_file --run-dir $work/run"
rc=0
sbatch --wait --job-name="$name" "$@" "$jobscript" "$task_file" --run-dir "$work/run" || rc=$?
log=$(ls "$work/$name"-*.out 2>/dev/null | head -n 1)
[ -n "$log" ] || fail "no job log $work/$name-<job id>.out"
cat "$log"
[ "$rc" -eq 0 ] || fail "the job ended with exit code $rc, expected 0"
grep -q "^mpiq: job [0-9]* on .*: 1 hub + [0-9]* worker ranks" "$log" ||
  fail "the job log lacks the job script's banner"
check_all_done "$work/run"
# On a cluster of several nodes (MPIQ_TEST_MIN_NODES): the tasks ran on workers of that many nodes.
if [ -n "${MPIQ_TEST_MIN_NODES:-}" ]; then
  spread=$(python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); print(len([n for n in d["nodes"] if n["done"] > 0]), " ".join(n["host"] for n in d["nodes"]))' "$work/run/status.json")
  [ "${spread%% *}" -ge "$MPIQ_TEST_MIN_NODES" ] ||
    fail "tasks ran on ${spread%% *} node(s) (${spread#* }), not on $MPIQ_TEST_MIN_NODES or more"
  note "tasks ran on ${spread%% *} nodes: ${spread#* }"
fi
echo "PASS: $(basename "$jobscript") ran $(basename "$task_file") to the end under Slurm"
