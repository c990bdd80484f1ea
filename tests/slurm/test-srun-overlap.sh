#!/usr/bin/env bash
# A task that starts a job step of its own (docs/design.md §2): inside `srun mpiq run` under the local
# Slurm, tasks run `srun --overlap --mpi=pmix -n 2 ./mpi_hello`, a 2-rank Open MPI program in a step of
# the same job, instead of taking themselves for ranks of mpiq's step (Slurm's step variables and
# the launcher's OMPI_*/PMIX_* are not passed on to tasks).
#
#   MPIQ=build/bin/mpiq MPIQ_SLURM_DIR=/tmp/mpiq-slurm MPIQ_TEST_WORK=/tmp/w tests/slurm/test-srun-overlap.sh
set -euo pipefail
# shellcheck source=tests/slurm/lib.sh
. "$(dirname "$0")/lib.sh"
setup_test
build_mpi_hello
for i in 1 2; do
  echo "srun --overlap --mpi=pmix -n 2 $work/mpi_hello > $work/hello.\$MPIQ_TASK_ID; env > $work/env.\$MPIQ_TASK_ID"
done > overlap.tasks
rc=0
sbatch --wait -o "$work/overlap-%j.out" --wrap "srun --mpi=pmix -n 3 --overcommit $MPIQ run $work/overlap.tasks" || rc=$?
cat "$work"/overlap-*.out
[ "$rc" -eq 0 ] || fail "the job ended with exit code $rc, expected 0"
check_all_done "$work/overlap.mpiq" 2
for i in 1 2; do
  [ "$(sort "$work/hello.$i" | tr '\n' ';')" = "rank 0 of 2 sum 1;rank 1 of 2 sum 1;" ] ||
    fail "task $i's own step: $(cat "$work/hello.$i")"
  ! grep -E "^(SLURM_STEP_ID|SLURM_PROCID|PMIX_RANK|OMPI_COMM_WORLD_RANK)=" "$work/env.$i" ||
    fail "task $i got its rank's step variables: $(grep -E '^(SLURM_STEP|SLURM_PROCID|PMIX_RANK|OMPI_COMM)' "$work/env.$i")"
  grep -q "^SLURM_JOB_ID=" "$work/env.$i" || fail "task $i lost the job's SLURM_JOB_ID (srun needs it)"
done
echo "PASS: tasks of srun mpiq run started 2-rank MPI steps of their own with srun --overlap"
