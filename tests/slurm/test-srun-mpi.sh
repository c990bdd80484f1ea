#!/usr/bin/env bash
# The local Slurm itself, before mpiq is involved: srun starts tasks, srun --mpi=pmix starts an Open
# MPI program whose ranks talk to each other, and sbatch --wait returns the job's exit code (the job
# scripts and their tests rely on it).
#
#   MPIQ_SLURM_DIR=/tmp/mpiq-slurm MPIQ_TEST_WORK=/tmp/w tests/slurm/test-srun-mpi.sh
set -euo pipefail
# shellcheck source=tests/slurm/lib.sh
. "$(dirname "$0")/lib.sh"
setup_test --no-mpiq

note "srun --mpi=pmix -n 2 --overcommit hostname"
out=$(srun --mpi=pmix -n 2 --overcommit hostname) || fail "srun hostname failed: $out"
echo "$out"
[ "$(echo "$out" | grep -c .)" -eq 2 ] || fail "expected 2 lines of hostname, got: $out"

build_mpi_hello
# Open MPI started by srun needs no OMPI_ALLOW_RUN_AS_ROOT as root: only mpirun checks for root.
note "srun --mpi=pmix -n 3 --overcommit mpi_hello"
out=$(srun --mpi=pmix -n 3 --overcommit "$work/mpi_hello" 2>&1) || fail "srun of an MPI program failed: $out"
echo "$out"
for r in 0 1 2; do
  echo "$out" | grep -qx "rank $r of 3 sum 3" || fail "rank $r did not report 'rank $r of 3 sum 3'"
done

note "sbatch --wait of a job that exits 3"
rc=0
sbatch --wait -o "$work/exit3-%j.out" --wrap 'srun -n 1 true && exit 3' || rc=$?
[ "$rc" -eq 3 ] || fail "sbatch --wait returned $rc for a job that exited 3"
echo "PASS: srun, srun --mpi=pmix and sbatch --wait work on the local Slurm"
