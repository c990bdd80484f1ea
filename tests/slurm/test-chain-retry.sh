#!/usr/bin/env bash
# End-to-end: jobscripts/checkpoint-chain.sbatch when mpiq ends abnormally, under the local Slurm.
#
#   MPIQ=build/bin/mpiq MPIQ_SLURM_DIR=/tmp/mpiq-slurm MPIQ_TEST_WORK=/tmp/w tests/slurm/test-chain-retry.sh
#
# mpiq is started through a wrapper whose every rank dies of SIGSEGV before mpiq runs (as when a rank
# crashes in MPI's start), in the first job of a chain only, or in every job. Checks:
#   - one crash: the job says so, resubmits (retry 1 of 1), and the next job finishes the run;
#   - a crash in every job: one retry, then the chain ends with the error, two jobs in all;
#   - MPIQ_CHAIN_RETRIES=0: no retry; MPIQ_CHAIN_RETRIES=x: exit 2 and a message, nothing submitted.
set -euo pipefail
# shellcheck source=tests/slurm/lib.sh
. "$(dirname "$0")/lib.sh"
setup_test

workers=$(cores_here)
ntasks=$((4 * workers))
id_tasks "$ntasks" 0 >"$work/chain.tasks"
cat >"$work/crashy-mpiq" <<EOF
#!/bin/bash
# CRASH_EVERY_JOB=1: crash in every job; else only in a chain's first (no retry counted yet).
if [ "\${CRASH_EVERY_JOB:-0}" = 1 ] || [ "\${MPIQ_CHAIN_CRASHES:-0}" = 0 ]; then kill -SEGV \$\$; fi
exec "$MPIQ" "\$@"
EOF
chmod +x "$work/crashy-mpiq"

# chain NAME [ENV...]: runs a chain to its end (every job of it), in $work/NAME/; prints nothing.
chain() {
  local name=$1 dir=$work/$1
  shift
  mkdir -p "$dir"
  (cd "$dir" && env MPIQ="$work/crashy-mpiq" "$@" sbatch --wait --time=5 --job-name="$name-$$" "$jobscripts_dir/checkpoint-chain.sbatch" \
    "$work/chain.tasks" --run-dir "$dir/run" >/dev/null) || true
  jobs_gone "$name-$$" 60 || { scancel -n "$name-$$" || true; fail "chain $name still had jobs after 60 s"; }
  local log
  for log in $(ls "$dir"/*.out | sort -V); do
    echo "==== $log"
    cat "$log"
  done
}
logs_of() { ls "$work/$1"/*.out | sort -V; }

note "one crash: a retry finishes the run"
chain once
mapfile -t logs < <(logs_of once)
[ "${#logs[@]}" -eq 2 ] || fail "chain 'once': ${#logs[@]} jobs, expected 2 (the crash, the retry)"
grep -q "mpiq exited with code 139 " "${logs[0]}" || fail "${logs[0]}: the crash is not exit code 139"
next=$(basename "${logs[1]}" .out)
next=${next##*-}
grep -q "mpiq ended abnormally (exit code 139); .*retry 1 of 1 (MPIQ_CHAIN_RETRIES): job $next will resume" \
  "${logs[0]}" || fail "${logs[0]}: no word of the retry as job $next"
grep -q "(segment 2 of at most 50)" "${logs[1]}" || fail "${logs[1]}: not segment 2 of the chain"
grep -q "all tasks done, chain ends" "${logs[1]}" || fail "${logs[1]}: the retry did not finish the run"
check_all_done "$work/once/run" "$ntasks"

note "a crash in every job: one retry, then the chain ends"
chain every CRASH_EVERY_JOB=1
mapfile -t logs < <(logs_of every)
[ "${#logs[@]}" -eq 2 ] || fail "chain 'every': ${#logs[@]} jobs, expected 2 (a crash, a retry that crashed)"
grep -q "retry 1 of 1" "${logs[0]}" || fail "${logs[0]}: no retry after the first crash"
grep -q "error: mpiq ended abnormally (exit code 139) in 2 jobs in a row, chain ends; its state is saved" \
  "${logs[1]}" || fail "${logs[1]}: the chain did not end after the second crash in a row"

note "MPIQ_CHAIN_RETRIES=0: no retry"
chain never MPIQ_CHAIN_RETRIES=0
mapfile -t logs < <(logs_of never)
[ "${#logs[@]}" -eq 1 ] || fail "chain 'never': ${#logs[@]} jobs, expected 1"
grep -q "error: mpiq ended abnormally (exit code 139), chain ends" "${logs[0]}" ||
  fail "${logs[0]}: no word that the chain ends"

note "MPIQ_CHAIN_RETRIES=x: refused"
rc=0
(cd "$work" && MPIQ=$work/crashy-mpiq MPIQ_CHAIN_RETRIES=x sbatch --wait --time=5 --job-name="bad-$$" --output="$work/bad.out" \
  "$jobscripts_dir/checkpoint-chain.sbatch" "$work/chain.tasks" --run-dir "$work/bad-run" >/dev/null) || rc=$?
cat "$work/bad.out"
[ "$rc" -eq 2 ] || fail "MPIQ_CHAIN_RETRIES=x: the job exited $rc, expected 2"
grep -q "error: MPIQ_CHAIN_RETRIES must be a whole number, not 'x'" "$work/bad.out" || fail "no message for MPIQ_CHAIN_RETRIES=x"
[ ! -e "$work/bad-run" ] || fail "MPIQ_CHAIN_RETRIES=x: the run directory was made"

echo "PASS: a crash retried once finishes the run; a crash in every job ends the chain after one retry"
